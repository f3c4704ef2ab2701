//! Alert operations through the gate: creating, triaging, listing, and the analysts' decisions
//! (confirm, reject, close, dismiss, suppress, change severity). Closing, dismissing,
//! suppressing or changing the severity of an alert always needs a justification of substance
//! in the analyst's own words, whatever the triage assistant said before or after.

use serde::Serialize;

use super::action::{Action, Resource};
use super::error::GovernanceError;
use super::review::TriggerEvent;
use super::service::{Actor, Governance, Permit, now_micros};
use crate::governance::principal::Principal;
use crate::store::{
    AlertChange, AlertDecision, AlertRecord, AlertStatus, DecisionRecord, NewAlert, NewTriage,
    ReviewRecord, Severity, Store, StoreTx, TriageRecommendation, TriageRecord,
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

/// The least a justification must be: a few words saying why, not "." or "ok".
pub const MIN_JUSTIFICATION_WORDS: usize = 3;
pub const MIN_JUSTIFICATION_CHARS: usize = 15;

/// Checks that a justification has substance: at least [`MIN_JUSTIFICATION_WORDS`] words with
/// letters in them and [`MIN_JUSTIFICATION_CHARS`] characters. Returns the trimmed text.
pub fn substantive(text: Option<&str>, what: &str) -> Result<String, String> {
    let text = text.unwrap_or("").trim();
    let words = text
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphabetic))
        .count();
    if words >= MIN_JUSTIFICATION_WORDS && text.chars().count() >= MIN_JUSTIFICATION_CHARS {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{what} needs a justification of substance: at least {MIN_JUSTIFICATION_WORDS} words and {MIN_JUSTIFICATION_CHARS} characters saying why{}",
            if text.is_empty() {
                String::new()
            } else {
                format!(", not `{text}`")
            }
        ))
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
        let (mut tx, permit, pending) = self
            .begin_change(
                Actor::Principal(principal),
                Action::CreateAlert,
                &Resource::AlertQueue,
            )
            .await?;
        let outcome = tx
            .insert_alert(&permit, &alert, principal.id, now_micros())
            .await
            .map_err(GovernanceError::from);
        self.finish(tx, pending, outcome, |record| {
            format!(
                "alert {} created ({} severity)",
                record.id, record.alert.severity
            )
        })
        .await
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
        let (mut tx, permit, pending) = self
            .begin_change(
                Actor::Principal(principal),
                Action::AnnotateTriage,
                &Resource::Alert(alert_id),
            )
            .await?;
        let outcome = async {
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
            existing_alert(&mut tx, alert_id).await?;
            Ok(tx
                .insert_triage(&permit, alert_id, &triage, principal.id, now_micros())
                .await?)
        }
        .await;
        self.finish(tx, pending, outcome, |record| {
            format!(
                "triage note {} on alert {alert_id}: {}",
                record.id, record.triage.recommendation
            )
        })
        .await
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
            .read()
            .await?
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
        let mut read = self.store.read().await?;
        let alert = existing_alert(&mut read, alert_id).await?;
        Ok(AlertDetail {
            triage: read.triage(alert_id).await?,
            decisions: read.decisions(alert_id).await?,
            alert,
        })
    }

    /// An analyst's decision on an alert, through the gate and the lifecycle rules, in one
    /// transaction with its audit entry (which says whether it was applied or refused, and why).
    pub async fn decide_alert(
        &self,
        principal: &Principal,
        alert_id: i64,
        decision: AnalystDecision,
    ) -> Result<DecisionRecord, GovernanceError> {
        let actor = Actor::Principal(principal);
        let (mut tx, permit, pending) = self
            .begin_change(
                actor,
                action_for(decision.decision),
                &Resource::Alert(alert_id),
            )
            .await?;
        let outcome = async {
            let alert = existing_alert(&mut tx, alert_id).await?;
            let status = transition(alert.status, decision.decision).ok_or_else(|| {
                GovernanceError::Conflict(format!(
                    "alert {alert_id} is {} and cannot be given decision {}",
                    alert.status, decision.decision
                ))
            })?;
            let justification = match decision.decision {
                AlertDecision::Close
                | AlertDecision::Dismiss
                | AlertDecision::Suppress
                | AlertDecision::ChangeSeverity => {
                    let ai_said_dismiss =
                        tx.triage(alert_id).await?.iter().any(|note| {
                            note.triage.recommendation == TriageRecommendation::Dismiss
                        });
                    let what = format!(
                        "{} alert {alert_id}{}",
                        decision.decision,
                        if ai_said_dismiss {
                            " (which the triage assistant recommended dismissing)"
                        } else {
                            ""
                        }
                    );
                    Some(
                        substantive(decision.justification.as_deref(), &what)
                            .map_err(GovernanceError::Invalid)?,
                    )
                }
                AlertDecision::Confirm | AlertDecision::Reject => decision
                    .justification
                    .as_deref()
                    .map(str::trim)
                    .filter(|text| !text.is_empty())
                    .map(str::to_string),
            };
            let severity = match (decision.decision, decision.severity) {
                (AlertDecision::ChangeSeverity, Some(severity)) => severity,
                (AlertDecision::ChangeSeverity, None) => {
                    return Err(GovernanceError::Invalid(
                        "change_severity needs a severity".into(),
                    ));
                }
                _ => alert.alert.severity,
            };
            let record = tx
                .apply_alert_change(
                    &permit,
                    &AlertChange {
                        alert_id,
                        expected_version: decision.expected_version.unwrap_or(alert.version),
                        status,
                        severity,
                        principal_id: principal.id,
                        decision: decision.decision,
                        justification,
                        at: now_micros(),
                    },
                )
                .await?;
            let review = if decision.decision == AlertDecision::Reject {
                self.check_false_positive_cluster(&mut tx, &permit, record.created_at)
                    .await?
            } else {
                None
            };
            Ok::<_, GovernanceError>((record, alert.status, status, review))
        }
        .await;
        self.finish(tx, pending, outcome, |(record, from, to, review)| {
            let mut reason = format!(
                "decision {} on alert {alert_id}: {from} -> {to}",
                record.decision
            );
            if let Some(review) = review {
                reason.push_str(&format!("; review {} opened: {}", review.id, review.detail));
            }
            reason
        })
        .await
        .map(|(record, ..)| record)
    }

    /// Opens a review when more alerts than the policy allows were rejected in this shift.
    async fn check_false_positive_cluster(
        &self,
        tx: &mut S::Tx,
        permit: &Permit,
        at: i64,
    ) -> Result<Option<ReviewRecord>, GovernanceError> {
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
            return Ok(None);
        };
        let shift = i64::from(self.config.shift_hours.max(1)) * 3_600_000_000;
        let shift_start = at - at.rem_euclid(shift);
        let rejected = tx
            .count_decisions(AlertDecision::Reject, shift_start, shift_start + shift)
            .await?;
        if rejected <= i64::from(more_than) {
            return Ok(None);
        }
        let detail = format!(
            "{rejected} alerts rejected as false positives in the {}-hour shift starting {} (policy: more than {more_than})",
            self.config.shift_hours,
            super::service::format_micros(shift_start)
        );
        self.open_review(
            tx,
            permit,
            TriggerEvent::FalsePositiveCluster { more_than },
            &detail,
            "governance",
            Some(&format!("fp-cluster:{shift_start}")),
        )
        .await
    }
}

async fn existing_alert<T: StoreTx>(
    tx: &mut T,
    alert_id: i64,
) -> Result<AlertRecord, GovernanceError> {
    tx.alert(alert_id)
        .await?
        .ok_or_else(|| GovernanceError::NotFound(format!("alert {alert_id}")))
}
