//! Governed retraining: security incidents (opened and closed by a person, the manual review of
//! the data around them, the canary set kept from their records), the retrain request (a change
//! request for `retrain model`, filed by a role the retraining policy lets request and approved
//! through the existing approvals), the check of the policy's prohibited conditions before a run,
//! and the record of the run: the new model registered as a candidate, its certification, and a
//! `retrain_runs` row with every field the policy's logging lists, in one transaction with its
//! audit entry. The prohibited conditions are checked again inside that transaction, so an
//! incident opened while the model trained still refuses the run.

use serde::Serialize;

use super::action::{Action, Resource};
use super::changes::{FiledChangeRequest, ticket_of};
use super::error::GovernanceError;
use super::policy::RetrainingPolicy;
use super::service::{Actor, ConsolePerson, Governance, Permit, format_micros, now_micros};
use crate::registry::retrain::incidents_in_window;
use crate::registry::{DiffItem, RetrainWindow, retrain_blockers};
use crate::store::{
    AlertStatus, CanarySet, ChangeRequestRecord, ChangeStatus, IncidentRecord, ModelStage,
    NewIncident, NewModelVersion, RetrainRun, RetrainRunRecord, RetrainingTx, Store, StoreTx,
};

/// What an approved, unblocked retrain request authorises, read from the store.
#[derive(Debug, Clone, Serialize)]
pub struct RetrainPlan {
    pub request: ChangeRequestRecord,
    #[serde(skip)]
    pub window: RetrainWindow,
    pub requested_by: String,
    pub approved_by: Vec<String>,
    pub approval_ticket_id: String,
    /// The production model a run would replace in time (its SHA-256), if any.
    pub previous_model_sha256: Option<String>,
    /// Alerts in the window by status (the policy's `log_anomaly_alerts_in_window`).
    pub alerts_in_window: serde_json::Value,
    /// Incidents whose span or tainted days meet the window (`log_incidents_in_window`).
    pub incidents_in_window: Vec<i64>,
    /// Whether the request's approvals were complete before the run; false only under a
    /// retraining policy with `approval_must_precede_retrain: false`.
    pub approved_before_run: bool,
    /// The approval state at the run, for the record's provenance.
    #[serde(skip)]
    pub approval: serde_json::Value,
}

/// What a run produced, for [`Governance::record_retrain`].
#[derive(Debug, Clone)]
pub struct RetrainResult<'a> {
    pub version: NewModelVersion,
    /// The baseline diff against the production version named.
    pub diff: Option<(i64, &'a [DiffItem])>,
    /// The certification report of the new artifact, and whether it passed.
    pub certification: &'a serde_json::Value,
    pub passed: bool,
    pub dataset_signature: Option<String>,
    pub signing_key: Option<String>,
    /// The training data sources with their digests.
    pub data_sources: serde_json::Value,
}

async fn name_of(tx: &mut impl StoreTx, principal_id: i64) -> Result<String, GovernanceError> {
    Ok(tx
        .principal(principal_id)
        .await?
        .map_or_else(|| format!("principal:{principal_id}"), |p| p.audit_name()))
}

fn not_found(id: i64) -> GovernanceError {
    GovernanceError::NotFound(format!("incident {id}"))
}

fn required(text: &str, what: &str) -> Result<String, GovernanceError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(GovernanceError::Invalid(format!(
            "{what} must not be empty"
        )));
    }
    Ok(text.to_string())
}

impl<S: Store> Governance<S> {
    /// The retraining policy in force; retraining is refused without one.
    pub fn retraining_policy(&self) -> Result<&RetrainingPolicy, GovernanceError> {
        self.policies.retraining.as_ref().ok_or_else(|| {
            GovernanceError::Invalid(
                "no retraining_policy is in force; give it with --policy beside the ai_governance_policy"
                    .into(),
            )
        })
    }

    /// Every incident, oldest first.
    pub async fn list_incidents(
        &self,
        actor: Actor<'_>,
    ) -> Result<Vec<IncidentRecord>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::Incident(0))
            .await?;
        Ok(self.store.read().await?.list_incidents().await?)
    }

    /// Every retrain run recorded, oldest first.
    pub async fn list_retrain_runs(
        &self,
        actor: Actor<'_>,
    ) -> Result<Vec<RetrainRunRecord>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadModels, &Resource::ModelVersion(0))
            .await?;
        Ok(self.store.read().await?.list_retrain_runs().await?)
    }

    /// Opens an incident whose activity started at `started_ts` (log time, epoch microseconds),
    /// with the alerts that belong to it.
    pub async fn open_incident(
        &self,
        actor: Actor<'_>,
        title: &str,
        started_ts: i64,
        alerts: &[i64],
    ) -> Result<IncidentRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::RecordIncident, &Resource::Incident(0))
            .await?;
        let outcome = async {
            let title = required(title, "an incident's title")?;
            for id in alerts {
                if tx.alert(*id).await?.is_none() {
                    return Err(GovernanceError::NotFound(format!("alert {id}")));
                }
            }
            let incident = NewIncident {
                title,
                started_ts,
                alerts: alerts.to_vec(),
                opened_by: actor.audit_name(),
                at: now_micros(),
            };
            Ok(tx.insert_incident(&permit, &incident).await?)
        }
        .await;
        self.finish(tx, pending, outcome, |incident| {
            format!(
                "incident {} opened: {} (activity from {}, alerts {:?})",
                incident.id,
                incident.title,
                format_micros(incident.started_ts),
                incident.alerts
            )
        })
        .await
    }

    /// Closes an open incident whose activity ended at `ended_ts` (log time).
    pub async fn close_incident(
        &self,
        actor: Actor<'_>,
        id: i64,
        ended_ts: i64,
        note: &str,
    ) -> Result<IncidentRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::RecordIncident, &Resource::Incident(id))
            .await?;
        let outcome = async {
            let note = required(note, "a closure note")?;
            let incident = tx.incident(id).await?.ok_or_else(|| not_found(id))?;
            if ended_ts < incident.started_ts {
                return Err(GovernanceError::Invalid(format!(
                    "incident {id} started at {}; it cannot end before that ({})",
                    format_micros(incident.started_ts),
                    format_micros(ended_ts)
                )));
            }
            let by = actor.audit_name();
            if !tx
                .close_incident(&permit, id, ended_ts, &by, &note, now_micros())
                .await?
            {
                return Err(GovernanceError::Conflict(format!(
                    "incident {id} is already closed"
                )));
            }
            tx.incident(id).await?.ok_or_else(|| not_found(id))
        }
        .await;
        self.finish(tx, pending, outcome, |incident| {
            format!(
                "incident {} closed: activity ended {}; {}",
                incident.id,
                incident.ended_ts.map(format_micros).unwrap_or_default(),
                incident.closure_note.as_deref().unwrap_or_default()
            )
        })
        .await
    }

    /// A person records that they reviewed the data around a closed incident by hand, which
    /// lifts `post_incident_window` for it.
    pub async fn review_incident_data(
        &self,
        person: &ConsolePerson,
        id: i64,
        note: &str,
    ) -> Result<IncidentRecord, GovernanceError> {
        let actor = Actor::Principal(person.principal());
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::ReviewIncidentData, &Resource::Incident(id))
            .await?;
        let outcome = async {
            let note = required(note, "a data review's note")?;
            let incident = tx.incident(id).await?.ok_or_else(|| not_found(id))?;
            if incident.is_open() {
                return Err(GovernanceError::Conflict(format!(
                    "incident {id} is open; its data can be reviewed once it is closed"
                )));
            }
            if !tx
                .review_incident_data(&permit, id, &actor.audit_name(), &note, now_micros())
                .await?
            {
                return Err(GovernanceError::Conflict(format!(
                    "the data of incident {id} were already reviewed by {}",
                    incident.data_reviewed_by.unwrap_or_default()
                )));
            }
            tx.incident(id).await?.ok_or_else(|| not_found(id))
        }
        .await;
        self.finish(tx, pending, outcome, |incident| {
            format!(
                "data of incident {} reviewed: {}",
                incident.id,
                incident.data_review_note.as_deref().unwrap_or_default()
            )
        })
        .await
    }

    /// Records the canary set kept from an incident's records (the files were copied by the
    /// caller; their digests are what certification checks).
    pub async fn keep_canary(
        &self,
        actor: Actor<'_>,
        id: i64,
        canary: CanarySet,
    ) -> Result<IncidentRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(actor, Action::RecordIncident, &Resource::Incident(id))
            .await?;
        let outcome = async {
            if canary.files.is_empty() {
                return Err(GovernanceError::Invalid(
                    "a canary set needs at least one file of the incident's records".into(),
                ));
            }
            tx.incident(id).await?.ok_or_else(|| not_found(id))?;
            tx.set_incident_canary(&permit, id, &canary).await?;
            tx.incident(id).await?.ok_or_else(|| not_found(id))
        }
        .await;
        self.finish(tx, pending, outcome, |incident| {
            let files = incident
                .canary
                .as_ref()
                .map_or(0, |canary| canary.files.len());
            format!("incident {} keeps {files} canary file(s)", incident.id)
        })
        .await
    }

    /// Every canary set kept, with its incident's id.
    pub async fn canaries(
        &self,
        actor: Actor<'_>,
    ) -> Result<Vec<(i64, CanarySet)>, GovernanceError> {
        Ok(self
            .list_incidents(actor)
            .await?
            .into_iter()
            .filter_map(|incident| incident.canary.map(|canary| (incident.id, canary)))
            .collect())
    }

    /// Files a retrain request for `window`: a change request for `retrain model`, which the
    /// gate lets only the retraining policy's `who_can_request` roles file.
    pub async fn request_retrain(
        &self,
        person: &ConsolePerson,
        window: RetrainWindow,
        reason: &str,
    ) -> Result<FiledChangeRequest, GovernanceError> {
        self.retraining_policy()?;
        self.request_change(
            person.principal(),
            Action::RetrainModel,
            &window.to_string(),
            reason,
        )
        .await
    }

    /// Everything a run of request `id` must satisfy, read inside `tx`: a retraining policy,
    /// an applied retrain request not run before, and no prohibited condition.
    async fn retrain_checks(
        &self,
        tx: &mut S::Tx,
        id: i64,
    ) -> Result<RetrainPlan, GovernanceError> {
        let policy = self.retraining_policy()?;
        let request = tx
            .change_request(id)
            .await?
            .ok_or_else(|| GovernanceError::NotFound(format!("change request {id}")))?;
        if request.action != Action::RetrainModel.name() {
            return Err(GovernanceError::Invalid(format!(
                "change request {id} asks for {}, not a retrain",
                request.action
            )));
        }
        // With `approval_must_precede_retrain: false` a pending (unexpired) request may run
        // before its approvals, recorded as such; a withdrawn or expired one never runs.
        let approved = request.status == ChangeStatus::Applied;
        let expired = request
            .expires_at
            .is_some_and(|expiry| expiry <= now_micros());
        let pending = request.status == ChangeStatus::Pending && !expired;
        let may_run = approved || (pending && !policy.approval_must_precede_retrain);
        if !may_run {
            return Err(GovernanceError::Denied(if pending {
                format!(
                    "change request {id} is pending: a retrain runs only after its approvals are complete (the retraining policy's approval_must_precede_retrain is true)"
                )
            } else {
                format!(
                    "change request {id} is {}: a retrain runs only on a request that is approved{}",
                    request.status,
                    if policy.approval_must_precede_retrain {
                        ""
                    } else {
                        " or pending"
                    }
                )
            }));
        }
        if let Some(run) = tx.retrain_run_of(id).await? {
            return Err(GovernanceError::Conflict(format!(
                "change request {id} was already run (model version {}); request a new retrain",
                run.run.model_version_id
            )));
        }
        let window = RetrainWindow::parse(&request.proposed_value).map_err(|message| {
            GovernanceError::Internal(format!("change request {id}: {message}"))
        })?;
        let incidents = tx.list_incidents().await?;
        let alerts = tx.alerts_between(window.start, window.end).await?;
        let refusals = retrain_blockers(policy, window, &incidents, &alerts);
        if !refusals.is_empty() {
            return Err(GovernanceError::Denied(format!(
                "retrain of change request {id} on {window}: {}",
                refusals
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        let requested_by = name_of(tx, request.requested_by).await?;
        let approvals = tx.approvals(id).await?;
        let mut approved_by = Vec::new();
        let mut tickets = Vec::new();
        for approval in &approvals {
            approved_by.push(name_of(tx, approval.principal_id).await?);
            if let Some(ticket) = approval.evidence.as_deref().and_then(ticket_of) {
                tickets.push(ticket.to_string());
            }
        }
        let approval = serde_json::json!({
            "approval_must_precede_retrain": policy.approval_must_precede_retrain,
            "approved_before_run": approved,
            "approvals_at_run": approvals.len(),
        });
        if approved_by.is_empty() {
            approved_by.push(
                "none (run before approval: approval_must_precede_retrain is false)".to_string(),
            );
        }
        let approval_ticket_id = if tickets.is_empty() {
            format!("change_request:{id}")
        } else {
            tickets.join(",")
        };
        let mut by_status = serde_json::Map::new();
        for status in [
            AlertStatus::Open,
            AlertStatus::Confirmed,
            AlertStatus::Rejected,
            AlertStatus::Closed,
            AlertStatus::Dismissed,
            AlertStatus::Suppressed,
        ] {
            let n = alerts.iter().filter(|alert| alert.status == status).count();
            by_status.insert(status.as_str().to_string(), n.into());
        }
        let previous_model_sha256 = tx
            .list_model_versions()
            .await?
            .into_iter()
            .find(|v| v.stage == ModelStage::Production)
            .map(|v| v.sha256);
        Ok(RetrainPlan {
            approved_before_run: approved,
            approval,
            window,
            requested_by,
            approved_by,
            approval_ticket_id,
            previous_model_sha256,
            alerts_in_window: serde_json::json!({ "total": alerts.len(), "by_status": by_status }),
            incidents_in_window: incidents_in_window(window, &incidents),
            request,
        })
    }

    /// Checks that request `id` may run now; the check and its outcome are audited (a refusal
    /// names the condition and the incident or alerts behind it).
    pub async fn begin_retrain(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<RetrainPlan, GovernanceError> {
        let (mut tx, _permit, pending) = self
            .begin_change(
                actor,
                Action::RunRetrain,
                &Resource::ChangeRequest(id, Action::RetrainModel),
            )
            .await?;
        let outcome = self.retrain_checks(&mut tx, id).await;
        self.finish(tx, pending, outcome, |plan| {
            format!(
                "retrain of change request {id} on {} may start: no prohibited condition holds{}",
                plan.window,
                if plan.approved_before_run {
                    String::new()
                } else {
                    format!(
                        "; it runs before its approvals are complete ({} of {}), as the retraining policy's approval_must_precede_retrain: false allows, and is recorded as unapproved",
                        plan.approval["approvals_at_run"],
                        self.retraining_policy()
                            .map_or(0, |policy| policy.minimum_approvals)
                    )
                }
            )
        })
        .await
    }

    /// Records a finished run: the new model as a candidate (never promoted), its certification,
    /// and the retrain record, after checking the request and the prohibited conditions again.
    /// The audit entry carries the record's row with every field the policy's logging lists.
    pub async fn record_retrain(
        &self,
        actor: Actor<'_>,
        id: i64,
        result: RetrainResult<'_>,
    ) -> Result<RetrainRunRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(
                actor,
                Action::RunRetrain,
                &Resource::ChangeRequest(id, Action::RetrainModel),
            )
            .await?;
        let outcome = self
            .write_retrain(&mut tx, &permit, actor, id, result)
            .await;
        self.finish(tx, pending, outcome, |record| {
            serde_json::to_string(&record.run).unwrap_or_default()
        })
        .await
    }

    async fn write_retrain(
        &self,
        tx: &mut S::Tx,
        permit: &Permit,
        actor: Actor<'_>,
        id: i64,
        result: RetrainResult<'_>,
    ) -> Result<RetrainRunRecord, GovernanceError> {
        let plan = self.retrain_checks(tx, id).await?;
        let sha256 = result.version.sha256.clone();
        let (version, _) = self
            .insert_candidate(tx, permit, actor, result.version, result.diff)
            .await?;
        tx.set_model_certification(permit, version.id, result.certification, result.passed)
            .await?;
        let run = RetrainRun {
            request_id: id,
            model_version_id: version.id,
            timestamp: format_micros(now_micros()),
            requested_by: plan.requested_by,
            approved_by: plan.approved_by.join(","),
            approval_ticket_id: plan.approval_ticket_id,
            training_window_start: plan.window.start_utc(),
            training_window_end: plan.window.end_utc(),
            training_dataset_sha256: version.provenance["dataset_sha256"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            previous_model_sha256: plan
                .previous_model_sha256
                .unwrap_or_else(|| "none".to_string()),
            new_model_sha256: sha256,
            adversarial_test_result: if result.passed { "passed" } else { "failed" }.to_string(),
            dataset_signature: result.dataset_signature,
            signing_key: result.signing_key,
            provenance: serde_json::json!({
                "approval": plan.approval,
                "data_sources": result.data_sources,
                "anomaly_alerts_in_window": plan.alerts_in_window,
                "incidents_in_window": plan.incidents_in_window,
            }),
        };
        Ok(tx.insert_retrain_run(permit, &run).await?)
    }
}
