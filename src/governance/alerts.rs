//! Alert operations through the gate: creating, triaging, listing, and the analysts' decisions
//! (confirm, reject, close, dismiss, suppress, change severity). Closing or dismissing an alert
//! the AI recommended dismissing needs a written justification; without one it is refused.

use serde::Serialize;

use super::action::{Action, Resource};
use super::error::GovernanceError;
use super::review::TriggerEvent;
use super::service::{Actor, Governance, now_micros};
use crate::governance::principal::Principal;
use crate::store::{
    AlertChange, AlertDecision, AlertRecord, AlertStatus, DecisionRecord, NewAlert, NewTriage,
    Severity, Store, TriageRecommendation, TriageRecord,
};

/// An alert with its triage annotations and decisions.
#[derive(Debug, Clone, Serialize)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: AlertRecord,
    pub triage: Vec<TriageRecord>,
    pub decisions: Vec<DecisionRecord>,
}

/// What an analyst decides about an alert.
#[derive(Debug, Clone)]
pub struct AnalystDecision {
    pub decision: AlertDecision,
    pub justification: Option<String>,
    /// For `ChangeSeverity`: the new severity.
    pub severity: Option<Severity>,
    /// The version the analyst saw; when given, a concurrent change is a conflict.
    pub expected_version: Option<i64>,
}

fn action_for(decision: AlertDecision) -> Action {
    match decision {
        AlertDecision::Confirm => Action::ConfirmAlert,
        AlertDecision::Reject => Action::RejectAlert,
        AlertDecision::Close => Action::CloseAlert,
        AlertDecision::Dismiss => Action::DismissAlert,
        AlertDecision::Suppress => Action::SuppressAlert,
        AlertDecision::ChangeSeverity => Action::ChangeSeverity,
    }
}

/// The status a decision moves an alert to, if it may be taken from `from`.
fn transition(from: AlertStatus, decision: AlertDecision) -> Option<AlertStatus> {
    use AlertStatus::{Closed, Confirmed, Dismissed, Open, Rejected, Suppressed};
    match (from, decision) {
        (Open, AlertDecision::Confirm) => Some(Confirmed),
        (Open, AlertDecision::Reject) => Some(Rejected),
        (Open | Confirmed, AlertDecision::Close) => Some(Closed),
        (Open, AlertDecision::Dismiss) => Some(Dismissed),
        (Open | Confirmed, AlertDecision::Suppress) => Some(Suppressed),
        (Open | Confirmed, AlertDecision::ChangeSeverity) => Some(from),
        _ => None,
    }
}

/// What kind of JSON value `value` is, for messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn blank(text: &Option<String>) -> bool {
    text.as_deref().is_none_or(|text| text.trim().is_empty())
}

impl<S: Store> Governance<S> {
    pub(super) async fn create_alert_as(
        &self,
        principal: &Principal,
        alert: NewAlert,
    ) -> Result<AlertRecord, GovernanceError> {
        if alert.src.trim().is_empty()
            || alert.dst.trim().is_empty()
            || alert.detector.trim().is_empty()
        {
            return Err(GovernanceError::Invalid(
                "an alert needs src, dst and detector".into(),
            ));
        }
        if !alert.score.is_finite() {
            return Err(GovernanceError::Invalid(
                "an alert's score must be a finite number".into(),
            ));
        }
        // Documented as a JSON object (asset, zone, criticality); anything else would reach the
        // SIEM and the console as something they cannot read.
        if !alert.asset_context.is_object() {
            return Err(GovernanceError::Invalid(format!(
                "asset_context must be a JSON object, not {}",
                json_kind(&alert.asset_context)
            )));
        }
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                Action::CreateAlert,
                &Resource::AlertQueue,
            )
            .await?;
        Ok(self
            .store
            .insert_alert(&alert, principal.id, now_micros())
            .await?)
    }

    /// Records an alert on behalf of a person (AI code uses [`super::AiAlertWriter`]).
    pub async fn create_alert(
        &self,
        principal: &Principal,
        alert: NewAlert,
    ) -> Result<AlertRecord, GovernanceError> {
        self.create_alert_as(principal, alert).await
    }

    /// Attaches a triage annotation; only the triage assistant is allowed to.
    pub async fn annotate_triage(
        &self,
        principal: &Principal,
        alert_id: i64,
        triage: NewTriage,
    ) -> Result<TriageRecord, GovernanceError> {
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                Action::AnnotateTriage,
                &Resource::Alert(alert_id),
            )
            .await?;
        if triage.summary.trim().is_empty() {
            return Err(GovernanceError::Invalid(
                "a triage annotation needs a summary".into(),
            ));
        }
        if let Some(confidence) = triage.confidence
            && !(0.0..=1.0).contains(&confidence)
        {
            return Err(GovernanceError::Invalid(format!(
                "confidence must be a number from 0 to 1, not {confidence}"
            )));
        }
        self.existing_alert(alert_id).await?;
        Ok(self
            .store
            .insert_triage(alert_id, &triage, principal.id, now_micros())
            .await?)
    }

    async fn existing_alert(&self, alert_id: i64) -> Result<AlertRecord, GovernanceError> {
        self.store
            .alert(alert_id)
            .await?
            .ok_or_else(|| GovernanceError::NotFound(format!("alert {alert_id}")))
    }

    pub async fn list_alerts(
        &self,
        actor: Actor<'_>,
        status: Option<AlertStatus>,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::AlertQueue)
            .await?;
        Ok(self
            .store
            .list_alerts(status, limit.clamp(1, 10_000))
            .await?)
    }

    pub async fn alert_detail(
        &self,
        actor: Actor<'_>,
        alert_id: i64,
    ) -> Result<AlertDetail, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::Alert(alert_id))
            .await?;
        let alert = self.existing_alert(alert_id).await?;
        Ok(AlertDetail {
            triage: self.store.triage(alert_id).await?,
            decisions: self.store.decisions(alert_id).await?,
            alert,
        })
    }

    /// An analyst's decision on an alert, through the gate and the lifecycle rules.
    pub async fn decide_alert(
        &self,
        principal: &Principal,
        alert_id: i64,
        decision: AnalystDecision,
    ) -> Result<DecisionRecord, GovernanceError> {
        let actor = Actor::Principal(principal);
        let resource = Resource::Alert(alert_id);
        let _permit = self
            .authorize(actor, action_for(decision.decision), &resource)
            .await?;
        let alert = self.existing_alert(alert_id).await?;
        let status = transition(alert.status, decision.decision).ok_or_else(|| {
            GovernanceError::Conflict(format!(
                "alert {alert_id} is {} and cannot be given decision {}",
                alert.status, decision.decision
            ))
        })?;

        if let Some(reason) = self.missing_justification(alert_id, &decision).await? {
            self.audit(crate::audit::AuditDraft {
                principal: principal.audit_name(),
                action: action_for(decision.decision).name().to_string(),
                resource: resource.to_string(),
                decision: "refuse".to_string(),
                reason: reason.clone(),
                policy_sha256: self.policies.sha256.clone(),
            })
            .await?;
            return Err(GovernanceError::Invalid(reason));
        }

        let severity = match (decision.decision, decision.severity) {
            (AlertDecision::ChangeSeverity, Some(severity)) => severity,
            (AlertDecision::ChangeSeverity, None) => {
                return Err(GovernanceError::Invalid(
                    "change_severity needs a severity".into(),
                ));
            }
            _ => alert.alert.severity,
        };
        let record = self
            .store
            .apply_alert_change(&AlertChange {
                alert_id,
                expected_version: decision.expected_version.unwrap_or(alert.version),
                status,
                severity,
                principal_id: principal.id,
                decision: decision.decision,
                justification: decision.justification.map(|text| text.trim().to_string()),
                at: now_micros(),
            })
            .await?;
        if decision.decision == AlertDecision::Reject {
            self.check_false_positive_cluster(record.created_at).await?;
        }
        Ok(record)
    }

    /// The refusal reason when a decision needs a justification it does not have.
    async fn missing_justification(
        &self,
        alert_id: i64,
        decision: &AnalystDecision,
    ) -> Result<Option<String>, GovernanceError> {
        if !blank(&decision.justification) {
            return Ok(None);
        }
        match decision.decision {
            AlertDecision::Close | AlertDecision::Dismiss => {
                let ai_said_dismiss =
                    self.store
                        .triage(alert_id)
                        .await?
                        .last()
                        .is_some_and(|note| {
                            note.triage.recommendation == TriageRecommendation::Dismiss
                        });
                Ok(ai_said_dismiss.then(|| {
                    format!(
                        "the triage assistant recommended dismissing alert {alert_id}; {} it needs your own written justification",
                        if decision.decision == AlertDecision::Close { "closing" } else { "dismissing" }
                    )
                }))
            }
            AlertDecision::Suppress | AlertDecision::ChangeSeverity => Ok(Some(format!(
                "{} needs a written justification",
                decision.decision
            ))),
            AlertDecision::Confirm | AlertDecision::Reject => Ok(None),
        }
    }

    /// Opens a review when more alerts than the policy allows were rejected in this shift.
    async fn check_false_positive_cluster(&self, at: i64) -> Result<(), GovernanceError> {
        let Some(more_than) =
            self.policies
                .ai
                .trigger_events
                .iter()
                .find_map(|event| match event {
                    TriggerEvent::FalsePositiveCluster { more_than } => Some(*more_than),
                    _ => None,
                })
        else {
            return Ok(());
        };
        let shift = i64::from(self.config.shift_hours.max(1)) * 3_600_000_000;
        let shift_start = at - at.rem_euclid(shift);
        let rejected = self
            .store
            .count_decisions(AlertDecision::Reject, shift_start, shift_start + shift)
            .await?;
        if rejected > i64::from(more_than) {
            let detail = format!(
                "{rejected} alerts rejected as false positives in the {}-hour shift starting {} (policy: more than {more_than})",
                self.config.shift_hours,
                super::service::format_micros(shift_start)
            );
            self.open_review(
                TriggerEvent::FalsePositiveCluster { more_than },
                &detail,
                "governance",
                Some(&format!("fp-cluster:{shift_start}")),
            )
            .await?;
        }
        Ok(())
    }
}
