//! The handle AI code holds. Its methods are the AI's whole write surface: create an alert,
//! annotate one with triage advice, draft a recommendation, report a topology change. There is
//! no method that closes, suppresses, changes severity, approves or writes to the plant, and
//! each method still passes the gate, which refuses and audits anything the policy prohibits.
//!
//! The handle has no method that decides an alert, so this does not compile; the call is
//! otherwise exactly the one a person makes through the service (the twin below, with the same
//! scaffolding, compiles), so it fails for that reason alone:
//!
//! ```compile_fail,E0599
//! # use otsentry::governance::{AiAlertWriter, AnalystDecision, Governance, Principal};
//! # use otsentry::store::SqliteStore;
//! # async fn f(
//! #     writer: AiAlertWriter<SqliteStore>,
//! #     governance: Governance<SqliteStore>,
//! #     person: Principal,
//! #     decision: AnalystDecision,
//! # ) {
//! let _ = writer.decide_alert(&person, 1, decision).await;
//! # }
//! ```
//!
//! ```no_run
//! # use otsentry::governance::{AiAlertWriter, AnalystDecision, Governance, Principal};
//! # use otsentry::store::SqliteStore;
//! # async fn f(
//! #     writer: AiAlertWriter<SqliteStore>,
//! #     governance: Governance<SqliteStore>,
//! #     person: Principal,
//! #     decision: AnalystDecision,
//! # ) {
//! let _ = governance.decide_alert(&person, 1, decision).await;
//! # }
//! ```

use super::error::GovernanceError;
use super::principal::{Principal, PrincipalKind};
use super::service::Governance;
use crate::store::{
    AlertRecord, NewAlert, NewRecommendation, NewTriage, RecommendationRecord, ReviewRecord, Store,
    TriageRecord,
};

/// An AI component's only way to write.
#[derive(Debug, Clone)]
pub struct AiAlertWriter<S> {
    governance: Governance<S>,
    principal: Principal,
}

impl<S: Store> Governance<S> {
    /// The handle for an AI principal; refuses a person (people use the governance service).
    pub fn ai_writer(&self, principal: Principal) -> Result<AiAlertWriter<S>, GovernanceError> {
        match principal.kind {
            PrincipalKind::Ai { .. } => Ok(AiAlertWriter {
                governance: self.clone(),
                principal,
            }),
            PrincipalKind::Human { .. } => Err(GovernanceError::Invalid(format!(
                "{} is a person, not an AI component",
                principal.name
            ))),
        }
    }
}

impl<S: Store> AiAlertWriter<S> {
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub async fn create_alert(&self, alert: NewAlert) -> Result<AlertRecord, GovernanceError> {
        self.governance
            .create_alert_as(&self.principal, alert)
            .await
    }

    pub async fn annotate_triage(
        &self,
        alert_id: i64,
        triage: NewTriage,
    ) -> Result<TriageRecord, GovernanceError> {
        self.governance
            .annotate_triage(&self.principal, alert_id, triage)
            .await
    }

    /// Stores a recommendation as a draft `pending_human_approval`; nothing executes it.
    pub async fn draft_recommendation(
        &self,
        draft: NewRecommendation,
    ) -> Result<RecommendationRecord, GovernanceError> {
        self.governance
            .draft_recommendation_as(&self.principal, draft)
            .await
    }

    /// Reports a new PLC or network segment, which opens a review.
    pub async fn report_reconfiguration(
        &self,
        description: &str,
    ) -> Result<Option<ReviewRecord>, GovernanceError> {
        self.governance
            .report_reconfiguration(&self.principal, description)
            .await
    }
}
