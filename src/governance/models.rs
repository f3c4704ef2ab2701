//! Governed changes to the model registry: registering a trained model (with its baseline diff
//! against production), staging it, recording its certification, acknowledging diff items,
//! promoting it to production and rolling back. Each runs in one transaction with its audit
//! entry; the registry's checks (`crate::registry`) decide inside that transaction, so what was
//! checked is what was written.

use serde::Serialize;

use super::action::{Action, Resource};
use super::error::GovernanceError;
use super::gate::{Verdict, decide};
use super::service::{Actor, ConsolePerson, Governance, now_micros};
use crate::registry::{
    Blocker, Clearance, DiffItem, PromotionInput, Transition, clear_for_production,
};
use crate::store::{
    DiffItemRecord, ModelStage, ModelVersionRecord, NewModelVersion, StagingEvidence, StagingTx,
    Store, StoreTx,
};

/// A version with its baseline-diff items and its staging evidence.
#[derive(Debug, Clone, Serialize)]
pub struct ModelDetail {
    pub version: ModelVersionRecord,
    pub diff_items: Vec<DiffItemRecord>,
    /// What it scored beside production in its staging period, if it ever did.
    pub staging: Option<StagingEvidence>,
}

/// An admin's override of the staging period: who (proved at the console) and why.
#[derive(Debug, Clone, Copy)]
pub struct StagingOverride<'a> {
    pub admin: &'a ConsolePerson,
    pub justification: &'a str,
}

/// Checks that a version's file is still the registered artifact; the reason when it is not.
pub type ArtifactCheck<'a> = &'a (dyn Fn(&ModelVersionRecord) -> Result<(), String> + Sync);

fn not_found(id: i64) -> GovernanceError {
    GovernanceError::NotFound(format!("model version {id}"))
}

/// The refusal message of a promotion the checks blocked.
fn refusal(id: i64, blockers: &[Blocker]) -> String {
    format!(
        "version {id} cannot be promoted: {}",
        blockers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    )
}

/// Runs the promotion checks on what `tx` reads: the version, and its clearance or every
/// blocker.
async fn promotion_checks<T: StoreTx + StagingTx>(
    tx: &mut T,
    id: i64,
    staging_period_days: u32,
    staging_override: bool,
) -> Result<(ModelVersionRecord, Result<Clearance, Vec<Blocker>>), GovernanceError> {
    let version = tx.model_version(id).await?.ok_or_else(|| not_found(id))?;
    let diff_items = tx.diff_items(id).await?;
    let staging = tx.staging_evidence(id).await?;
    let production = production_of(tx).await?;
    let checked = clear_for_production(PromotionInput {
        version: &version,
        diff_items: &diff_items,
        staging: staging.as_ref(),
        production_sha256: production.as_ref().map(|v| v.sha256.as_str()),
        staging_period_days,
        staging_override,
    });
    Ok((version, checked))
}

/// The refusal message of the promotion checks on what `tx` reads, if any check fails.
async fn promotion_blockers<T: StoreTx + StagingTx>(
    tx: &mut T,
    id: i64,
    staging_period_days: u32,
    staging_override: bool,
) -> Result<Option<String>, GovernanceError> {
    let (_, checked) = promotion_checks(tx, id, staging_period_days, staging_override).await?;
    Ok(checked.err().map(|blockers| refusal(id, &blockers)))
}

async fn production_of<T: StoreTx>(
    tx: &mut T,
) -> Result<Option<ModelVersionRecord>, GovernanceError> {
    Ok(tx
        .list_model_versions()
        .await?
        .into_iter()
        .find(|v| v.stage == ModelStage::Production))
}

fn wrong_stage(error: crate::registry::WrongStage) -> GovernanceError {
    GovernanceError::Invalid(error.to_string())
}

/// Moves a version by `transition` from the stage it is in, and returns it as it now stands.
async fn move_version<T: StoreTx>(
    tx: &mut T,
    permit: &super::Permit,
    id: i64,
    transition: Transition,
    actor: Actor<'_>,
) -> Result<ModelVersionRecord, GovernanceError> {
    let version = tx.model_version(id).await?.ok_or_else(|| not_found(id))?;
    let stage = transition.apply(version.stage).map_err(wrong_stage)?;
    tx.set_model_stage(permit, id, stage, &actor.audit_name(), now_micros())
        .await?;
    tx.model_version(id).await?.ok_or_else(|| not_found(id))
}

impl<S: Store> Governance<S> {
    /// The staging period the retraining policy sets, or the default.
    pub fn staging_period_days(&self) -> u32 {
        self.policies
            .retraining
            .as_ref()
            .and_then(|policy| policy.staging_period_days)
            .unwrap_or(crate::registry::DEFAULT_STAGING_PERIOD_DAYS)
    }

    /// Every registered version, oldest first.
    pub async fn list_models(
        &self,
        actor: Actor<'_>,
    ) -> Result<Vec<ModelVersionRecord>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadModels, &Resource::ModelVersion(0))
            .await?;
        Ok(self.store.read().await?.list_model_versions().await?)
    }

    /// One version (by id) with its diff items.
    pub async fn model_detail(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<ModelDetail, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadModels, &Resource::ModelVersion(id))
            .await?;
        let mut read = self.store.read().await?;
        let version = read.model_version(id).await?.ok_or_else(|| not_found(id))?;
        let diff_items = read.diff_items(id).await?;
        let staging = read.staging_evidence(id).await?;
        Ok(ModelDetail {
            version,
            diff_items,
            staging,
        })
    }

    /// Registers a trained model as a candidate. `diff` is its baseline diff against the
    /// production version named (computed by the caller from both files); the registration is
    /// refused if production changed meanwhile. The parent is that production version.
    pub async fn register_model(
        &self,
        actor: Actor<'_>,
        version: NewModelVersion,
        diff: Option<(i64, &[DiffItem])>,
    ) -> Result<ModelVersionRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::RegisterModel, &Resource::ModelVersion(0))
            .await?;
        let outcome = self
            .insert_candidate(&mut tx, &permit, actor, version, diff)
            .await;
        self.finish(tx, pending, outcome, |(record, n_items)| {
            format!(
                "registered model {} as version {} (candidate, parent {}), {n_items} baseline-diff item(s) to acknowledge",
                record.sha256,
                record.id,
                record
                    .parent_id
                    .map_or("none".to_string(), |id| id.to_string())
            )
        })
        .await
        .map(|(record, _)| record)
    }

    /// Inserts a candidate and its baseline-diff items inside the caller's transaction; the
    /// diff must have been computed against the production version of this transaction.
    /// Returns the record and the number of diff items.
    pub(super) async fn insert_candidate(
        &self,
        tx: &mut S::Tx,
        permit: &super::Permit,
        actor: Actor<'_>,
        version: NewModelVersion,
        diff: Option<(i64, &[DiffItem])>,
    ) -> Result<(ModelVersionRecord, usize), GovernanceError> {
        let production = tx
            .list_model_versions()
            .await?
            .into_iter()
            .find(|v| v.stage == ModelStage::Production);
        let against = diff.map(|(id, _)| id);
        if production.as_ref().map(|v| v.id) != against {
            return Err(GovernanceError::Conflict(format!(
                "the baseline diff was computed against {}, but production is {}; compute it again",
                against.map_or("no model".to_string(), |id| format!("version {id}")),
                production
                    .as_ref()
                    .map_or("no model".to_string(), |v| format!("version {}", v.id))
            )));
        }
        let new = NewModelVersion {
            parent_id: production.as_ref().map(|v| v.id),
            registered_by: actor.audit_name(),
            ..version
        };
        let record = tx.insert_model_version(permit, &new).await?;
        if let Some((against, items)) = diff {
            for item in items {
                tx.insert_diff_item(permit, record.id, against, item.kind, &item.item)
                    .await?;
            }
        }
        Ok((record, diff.map_or(0, |(_, items)| items.len())))
    }

    /// Records the certification report of a version; it must name this exact artifact.
    pub async fn record_certification(
        &self,
        actor: Actor<'_>,
        id: i64,
        report: &serde_json::Value,
        passed: bool,
    ) -> Result<ModelVersionRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::CertifyModel, &Resource::ModelVersion(id))
            .await?;
        let outcome = async {
            let version = tx.model_version(id).await?.ok_or_else(|| not_found(id))?;
            let certified = report
                .get("model_sha256")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("none");
            if certified != version.sha256 {
                return Err(GovernanceError::Invalid(format!(
                    "the report certifies artifact {certified}, not version {id} ({})",
                    version.sha256
                )));
            }
            tx.set_model_certification(&permit, id, report, passed)
                .await?;
            tx.model_version(id).await?.ok_or_else(|| not_found(id))
        }
        .await;
        self.finish(tx, pending, outcome, |record| {
            format!(
                "certification of version {} ({}) recorded: {}",
                record.id,
                record.sha256,
                if passed { "passed" } else { "failed" }
            )
        })
        .await
    }

    /// Moves a candidate to staging; its staging period starts now.
    pub async fn stage_model(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<ModelVersionRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::RegisterModel, &Resource::ModelVersion(id))
            .await?;
        let outcome =
            async { move_version(&mut tx, &permit, id, Transition::Stage, actor).await }.await;
        self.finish(tx, pending, outcome, |record| {
            format!("version {} ({}) staged", record.id, record.sha256)
        })
        .await
    }

    /// Rejects a candidate or staging version: it is archived without ever running, and a
    /// rollback cannot restore it.
    pub async fn reject_model(
        &self,
        actor: Actor<'_>,
        id: i64,
        reason: &str,
    ) -> Result<ModelVersionRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::RegisterModel, &Resource::ModelVersion(id))
            .await?;
        let outcome = async {
            if reason.trim().is_empty() {
                return Err(GovernanceError::Invalid(
                    "a rejection needs a reason".into(),
                ));
            }
            move_version(&mut tx, &permit, id, Transition::Reject, actor).await
        }
        .await;
        let reason = reason.trim();
        self.finish(tx, pending, outcome, |record| {
            format!(
                "version {} ({}) rejected: {reason}",
                record.id, record.sha256
            )
        })
        .await
    }

    /// A person acknowledges one baseline-diff item with a justification.
    pub async fn acknowledge_diff_item(
        &self,
        person: &ConsolePerson,
        item_id: i64,
        justification: &str,
    ) -> Result<DiffItemRecord, GovernanceError> {
        let actor = Actor::Principal(person.principal());
        let (mut tx, permit, pending) = self
            .begin_change(
                actor,
                Action::AcknowledgeBaselineDiff,
                &Resource::DiffItem(item_id),
            )
            .await?;
        let outcome = async {
            if justification.trim().is_empty() {
                return Err(GovernanceError::Invalid(
                    "an acknowledgement needs a justification".into(),
                ));
            }
            let done = tx
                .acknowledge_diff_item(
                    &permit,
                    item_id,
                    &actor.audit_name(),
                    justification.trim(),
                    now_micros(),
                )
                .await?;
            if !done {
                return Err(GovernanceError::Conflict(format!(
                    "baseline-diff item {item_id} does not exist or is already acknowledged"
                )));
            }
            // The item's version is not known by id alone; find it among the versions.
            for version in tx.list_model_versions().await? {
                if let Some(item) = tx
                    .diff_items(version.id)
                    .await?
                    .into_iter()
                    .find(|item| item.id == item_id)
                {
                    return Ok(item);
                }
            }
            Err(GovernanceError::NotFound(format!(
                "baseline-diff item {item_id}"
            )))
        }
        .await;
        self.finish(tx, pending, outcome, |item| {
            format!(
                "acknowledged that version {} learns {} {}: {}",
                item.version_id,
                item.kind,
                item.item,
                item.justification.as_deref().unwrap_or_default()
            )
        })
        .await
    }

    /// Promotes a staging version to production, retiring the current one, after every check of
    /// `crate::registry::promotion` passed. Skipping the staging period takes an admin's
    /// override, decided by the gate and audited with its justification.
    pub async fn promote_model(
        &self,
        actor: Actor<'_>,
        id: i64,
        staging_override: Option<StagingOverride<'_>>,
    ) -> Result<ModelVersionRecord, GovernanceError> {
        let staging_period_days = self.staging_period_days();
        let resource = Resource::ModelVersion(id);
        let mut override_note = String::new();
        if let Some(over) = staging_override {
            let admin = over.admin.principal();
            let decision = decide(
                &self.policies,
                admin,
                Action::OverrideStagingPeriod,
                &resource,
            );
            let verdict = if !decision.is_allowed() {
                (Verdict::Deny, decision.reason)
            } else if over.justification.trim().is_empty() {
                (
                    Verdict::Deny,
                    "an override of the staging period needs a justification".to_string(),
                )
            } else {
                (Verdict::Allow, decision.reason)
            };
            // The override is its own audited decision, allow or deny, by the admin; but it is
            // applied only to a promotion that then passes every other check. Checked first on
            // a read, so a refused promotion leaves the override refused, not applied.
            let justification = over.justification.trim().to_string();
            let blockers = match verdict.0 {
                Verdict::Allow => {
                    let mut read = self.store.read().await?;
                    promotion_blockers(&mut read, id, staging_period_days, true).await?
                }
                Verdict::Deny => None,
            };
            let (tx, _permit, pending) = self
                .open_change(
                    Actor::Principal(admin),
                    Action::OverrideStagingPeriod,
                    &resource,
                    verdict,
                    Action::OverrideStagingPeriod.name(),
                )
                .await?;
            let outcome = match blockers {
                Some(message) => Err(GovernanceError::Invalid(format!(
                    "the override of the staging period is not applied: {message}"
                ))),
                None => Ok(()),
            };
            self.finish(tx, pending, outcome, |_| {
                format!("staging period of version {id} skipped: {justification}")
            })
            .await?;
            override_note = format!(
                "; staging period skipped by {}'s override: {justification}",
                admin.audit_name()
            );
        }
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::PromoteModel, &resource)
            .await?;
        let outcome = async {
            let (version, checked) =
                promotion_checks(&mut tx, id, staging_period_days, staging_override.is_some())
                    .await?;
            let clearance =
                checked.map_err(|blockers| GovernanceError::Invalid(refusal(id, &blockers)))?;
            let retired = self.retire_production(&mut tx, &permit, actor).await?;
            let stage = Transition::Promote(clearance)
                .apply(version.stage)
                .map_err(wrong_stage)?;
            tx.set_model_stage(&permit, id, stage, &actor.audit_name(), now_micros())
                .await?;
            let record = tx.model_version(id).await?.ok_or_else(|| not_found(id))?;
            Ok((record, retired))
        }
        .await;
        self.finish(tx, pending, outcome, |(record, retired)| {
            format!(
                "version {} ({}) promoted to production, replacing {}{override_note}",
                record.id,
                record.sha256,
                retired.map_or("no model".to_string(), |id| format!("version {id}"))
            )
        })
        .await
        .map(|(record, _)| record)
    }

    /// Archives the production version, if any; returns its id.
    async fn retire_production(
        &self,
        tx: &mut S::Tx,
        permit: &super::Permit,
        actor: Actor<'_>,
    ) -> Result<Option<i64>, GovernanceError> {
        let Some(production) = tx
            .list_model_versions()
            .await?
            .into_iter()
            .find(|v| v.stage == ModelStage::Production)
        else {
            return Ok(None);
        };
        let stage = Transition::Retire
            .apply(production.stage)
            .map_err(wrong_stage)?;
        tx.set_model_stage(
            permit,
            production.id,
            stage,
            &actor.audit_name(),
            now_micros(),
        )
        .await?;
        Ok(Some(production.id))
    }

    /// Puts an archived version back into production (by default the current production's
    /// parent), retiring the current one. Only a version that was in production before (the
    /// audit log shows it) and still holds a passed certification of its exact artifact can
    /// return: a version archived without ever running (rejected) goes up only by promotion.
    /// `artifact` checks, before anything changes, that the version's file is still the
    /// artifact registered (the caller reads the file; governance holds only its path and digest):
    /// a rollback to a file that is gone or altered would leave production with nothing that runs.
    pub async fn rollback_model(
        &self,
        actor: Actor<'_>,
        to: Option<i64>,
        artifact: ArtifactCheck<'_>,
    ) -> Result<ModelVersionRecord, GovernanceError> {
        let resource = Resource::ModelVersion(to.unwrap_or(0));
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::RollbackModel, &resource)
            .await?;
        let outcome = async {
            let versions = tx.list_model_versions().await?;
            let production = versions.iter().find(|v| v.stage == ModelStage::Production);
            let target_id = match (to, production) {
                (Some(id), _) => id,
                (None, Some(production)) => production.parent_id.ok_or_else(|| {
                    GovernanceError::Invalid(format!(
                        "production version {} has no parent to roll back to; name a version",
                        production.id
                    ))
                })?,
                (None, None) => {
                    return Err(GovernanceError::Invalid(
                        "no model is in production; name the version to restore".into(),
                    ));
                }
            };
            let target = versions
                .iter()
                .find(|v| v.id == target_id)
                .cloned()
                .ok_or_else(|| not_found(target_id))?;
            let stage = Transition::Restore
                .apply(target.stage)
                .map_err(wrong_stage)?;
            if !tx.production_history().await?.contains(&target_id) {
                return Err(GovernanceError::Invalid(format!(
                    "version {target_id} was never in production (it was archived without running), so a rollback cannot restore it: a model reaches production the first time only through `otsentry model promote`, after its certification, staging period and baseline diff"
                )));
            }
            let certified = target
                .certification
                .as_ref()
                .and_then(|report| report.get("model_sha256"))
                .and_then(serde_json::Value::as_str);
            if target.certified != Some(true) || certified != Some(target.sha256.as_str()) {
                return Err(GovernanceError::Invalid(format!(
                    "version {target_id} has no passed certification of its artifact {} ({}); only a certified model can run in production: certify it again (`otsentry certify MODEL --db DB`) and roll back then",
                    target.sha256,
                    match target.certified {
                        None => "not certified",
                        Some(false) => "its certification failed",
                        Some(true) => "the certification on record is of another artifact",
                    }
                )));
            }
            artifact(&target).map_err(|reason| {
                GovernanceError::Invalid(format!(
                    "version {target_id}'s artifact {} cannot be restored: {reason}; production is unchanged",
                    target.path
                ))
            })?;
            let retired = self.retire_production(&mut tx, &permit, actor).await?;
            tx.set_model_stage(&permit, target_id, stage, &actor.audit_name(), now_micros())
                .await?;
            let record = tx
                .model_version(target_id)
                .await?
                .ok_or_else(|| not_found(target_id))?;
            Ok((record, retired))
        }
        .await;
        self.finish(tx, pending, outcome, |(record, retired)| {
            format!(
                "rolled back to version {} ({}), retiring {}",
                record.id,
                record.sha256,
                retired.map_or("no model".to_string(), |id| format!("version {id}"))
            )
        })
        .await
        .map(|(record, _)| record)
    }
}
