//! Governed writes of staging evidence: `watch --staging` adds what the candidate scored beside
//! production (time, records, would-be alerts and production's on the same records) in one
//! audited transaction per write, and only while the version is in stage staging, so evidence
//! cannot be gathered for a candidate that was never staged or was already promoted, and every
//! row the promotion check reads is explained by the audit log.

use super::action::{Action, Resource};
use super::error::GovernanceError;
use super::service::{Actor, Governance};
use crate::store::{
    ModelStage, StagingDelta, StagingEvidence, StagingSide, StagingTx, Store, StoreTx,
};

impl<S: Store> Governance<S> {
    /// Adds one watch session's evidence to a staging version's.
    pub async fn record_staging_evidence(
        &self,
        actor: Actor<'_>,
        id: i64,
        delta: &StagingDelta,
    ) -> Result<(), GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(
                actor,
                Action::RecordStagingEvidence,
                &Resource::ModelVersion(id),
            )
            .await?;
        let outcome = async {
            let version = tx
                .model_version(id)
                .await?
                .ok_or_else(|| GovernanceError::NotFound(format!("model version {id}")))?;
            if version.stage != ModelStage::Staging {
                return Err(GovernanceError::Invalid(format!(
                    "version {id} is in stage {}; staging evidence is recorded only for a staging model",
                    version.stage
                )));
            }
            tx.add_staging_evidence(&permit, id, delta).await?;
            Ok(())
        }
        .await;
        let would_be: u64 = alerts_of(delta, StagingSide::Staging);
        let production: u64 = alerts_of(delta, StagingSide::Production);
        self.finish(tx, pending, outcome, |()| {
            format!(
                "staging evidence of version {id}: {} record(s) scored beside production {} over {:.0} s, {would_be} would-be alert(s), production {production}",
                delta.records,
                delta.production_sha256,
                delta.scored_micros as f64 / 1e6
            )
        })
        .await
    }

    /// A version's staging evidence, if it ever scored beside production.
    pub async fn staging_evidence(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<Option<StagingEvidence>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadModels, &Resource::ModelVersion(id))
            .await?;
        Ok(self.store.read().await?.staging_evidence(id).await?)
    }
}

fn alerts_of(delta: &StagingDelta, side: StagingSide) -> u64 {
    delta
        .counts
        .iter()
        .filter(|count| count.side == side)
        .map(|count| count.alerts)
        .sum()
}
