//! Changes that act on the plant or on the AI: drafted recommendations that only a person can
//! confirm or reject (and nothing executes), and change requests (threshold, retrain) that take
//! effect only when the policy's approvals are complete, each entered by a distinct person under
//! their own identity with its channel. Also review records and the governance status.

use serde::Serialize;
use time::OffsetDateTime;

use super::action::{Action, Resource};
use super::error::GovernanceError;
use super::review::{TriggerEvent, next_review_date};
use super::service::{Actor, Governance, now_micros};
use crate::governance::principal::Principal;
use crate::store::{
    ApprovalRecord, ChangeRequestRecord, ChangeStatus, NewRecommendation, RecommendationRecord,
    RecommendationStatus, ReviewRecord, Store,
};

/// The setting a completed threshold change writes.
pub const THRESHOLD_SETTING: &str = "detection_threshold";

/// A change request with its approvals so far.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRequestDetail {
    #[serde(flatten)]
    pub request: ChangeRequestRecord,
    pub approvals: Vec<ApprovalRecord>,
    pub minimum_approvals: usize,
    pub required_roles: Vec<String>,
    pub approval_channel: String,
}

/// What `governance status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct GovernanceStatus {
    pub system_id: String,
    pub policy_version: String,
    pub policy_sha256: String,
    pub review_frequency: String,
    pub next_review_date: String,
    pub open_reviews: Vec<ReviewRecord>,
    pub pending_recommendations: usize,
    pub pending_change_requests: usize,
    pub detection_threshold: Option<String>,
}

fn required_text(text: &str, what: &str) -> Result<String, GovernanceError> {
    let text = text.trim();
    if text.is_empty() {
        Err(GovernanceError::Invalid(format!(
            "{what} must not be empty"
        )))
    } else {
        Ok(text.to_string())
    }
}

impl<S: Store> Governance<S> {
    pub(super) async fn draft_recommendation_as(
        &self,
        principal: &Principal,
        draft: NewRecommendation,
    ) -> Result<RecommendationRecord, GovernanceError> {
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                Action::DraftRecommendation,
                &Resource::Plant(draft.target.clone()),
            )
            .await?;
        required_text(&draft.rationale, "rationale")?;
        Ok(self
            .store
            .insert_recommendation(&draft, principal.id, now_micros())
            .await?)
    }

    pub async fn list_recommendations(
        &self,
        actor: Actor<'_>,
        status: Option<RecommendationStatus>,
    ) -> Result<Vec<RecommendationRecord>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::AlertQueue)
            .await?;
        Ok(self.store.list_recommendations(status).await?)
    }

    /// A person confirms or rejects a drafted recommendation. Confirming records the decision;
    /// it executes nothing (a person acts through plant procedures).
    pub async fn decide_recommendation(
        &self,
        principal: &Principal,
        id: i64,
        confirm: bool,
        justification: &str,
    ) -> Result<RecommendationRecord, GovernanceError> {
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                Action::DecideRecommendation,
                &Resource::Recommendation(id),
            )
            .await?;
        let justification = required_text(justification, "justification")?;
        if self.store.recommendation(id).await?.is_none() {
            return Err(GovernanceError::NotFound(format!("recommendation {id}")));
        }
        let status = if confirm {
            RecommendationStatus::Confirmed
        } else {
            RecommendationStatus::Rejected
        };
        Ok(self
            .store
            .decide_recommendation(id, status, principal.id, &justification, now_micros())
            .await?)
    }

    /// Any attempt to act on the plant directly: always decided (and refused) by the gate.
    pub async fn attempt_plant_action(
        &self,
        principal: &Principal,
        action: Action,
        target: &str,
    ) -> Result<(), GovernanceError> {
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                action,
                &Resource::Plant(target.to_string()),
            )
            .await?;
        Err(GovernanceError::Internal(format!(
            "the gate allowed {action}, which has no implementation"
        )))
    }

    /// Opens a change request for an action that needs approvals.
    pub async fn request_change(
        &self,
        principal: &Principal,
        action: Action,
        proposed_value: &str,
        reason: &str,
    ) -> Result<ChangeRequestRecord, GovernanceError> {
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                Action::RequestChange,
                &Resource::ChangeRequest(0, action),
            )
            .await?;
        if self.policies.ai.approval_for(action).is_none() {
            return Err(GovernanceError::Invalid(format!(
                "the policy has no approval requirement for {action}"
            )));
        }
        let reason = required_text(reason, "reason")?;
        let value = required_text(proposed_value, "proposed_value")?;
        if action == Action::ChangeThreshold && !value.parse::<f64>().is_ok_and(f64::is_finite) {
            return Err(GovernanceError::Invalid(format!(
                "threshold `{value}` is not a number"
            )));
        }
        Ok(self
            .store
            .insert_change_request(action.name(), &value, &reason, principal.id, now_micros())
            .await?)
    }

    fn requested_action(request: &ChangeRequestRecord) -> Result<Action, GovernanceError> {
        [Action::ChangeThreshold, Action::RetrainModel]
            .into_iter()
            .find(|action| action.name() == request.action)
            .ok_or_else(|| {
                GovernanceError::Internal(format!(
                    "change request {} names unknown action {}",
                    request.id, request.action
                ))
            })
    }

    pub async fn change_request(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<ChangeRequestDetail, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::Review)
            .await?;
        let request = self
            .store
            .change_request(id)
            .await?
            .ok_or_else(|| GovernanceError::NotFound(format!("change request {id}")))?;
        let action = Self::requested_action(&request)?;
        let requirement = self.policies.ai.approval_for(action).ok_or_else(|| {
            GovernanceError::Internal(format!("no approval requirement for {action}"))
        })?;
        Ok(ChangeRequestDetail {
            approvals: self.store.approvals(id).await?,
            minimum_approvals: requirement.minimum_approvals,
            required_roles: requirement
                .approvers
                .iter()
                .map(|role| role.to_string())
                .collect(),
            approval_channel: requirement.channel.clone(),
            request,
        })
    }

    pub async fn list_change_requests(
        &self,
        actor: Actor<'_>,
        status: Option<ChangeStatus>,
    ) -> Result<Vec<ChangeRequestRecord>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::Review)
            .await?;
        Ok(self.store.list_change_requests(status).await?)
    }

    /// Enters one person's approval. The approval counts for one of the policy's roles that the
    /// person holds and nobody has approved for yet; the change applies when enough distinct
    /// people have approved.
    pub async fn approve(
        &self,
        principal: &Principal,
        id: i64,
        channel: &str,
        note: Option<&str>,
    ) -> Result<ChangeRequestDetail, GovernanceError> {
        let request = self.store.change_request(id).await?;
        let action = match &request {
            Some(request) => Self::requested_action(request)?,
            None => Action::ChangeThreshold,
        };
        let actor = Actor::Principal(principal);
        let _permit = self
            .authorize(
                actor,
                Action::ApproveChange,
                &Resource::ChangeRequest(id, action),
            )
            .await?;
        let request =
            request.ok_or_else(|| GovernanceError::NotFound(format!("change request {id}")))?;
        if request.status != ChangeStatus::Pending {
            return Err(GovernanceError::Conflict(format!(
                "change request {id} is already {}",
                request.status
            )));
        }
        let channel = required_text(channel, "approval channel")?;
        let requirement = self.policies.ai.approval_for(action).ok_or_else(|| {
            GovernanceError::Internal(format!("no approval requirement for {action}"))
        })?;
        let approvals = self.store.approvals(id).await?;
        if approvals
            .iter()
            .any(|approval| approval.principal_id == principal.id)
        {
            return Err(GovernanceError::Conflict(format!(
                "{} already approved change request {id}; a second approval must come from a different person",
                principal.name
            )));
        }
        let role = requirement
            .approvers
            .iter()
            .find(|role| {
                principal.has_role(role.as_str())
                    && !approvals
                        .iter()
                        .any(|approval| approval.role == role.as_str())
            })
            .ok_or_else(|| {
                GovernanceError::Conflict(format!(
                    "every role {} holds has already approved change request {id}",
                    principal.name
                ))
            })?;
        let approval = self
            .store
            .insert_approval(
                id,
                principal.id,
                role.as_str(),
                &channel,
                note,
                now_micros(),
            )
            .await?;
        self.record(
            actor,
            "approval_entered",
            &Resource::ChangeRequest(id, action),
            &format!("approved as {} via {}", approval.role, approval.channel),
        )
        .await?;

        if approvals.len() + 1 >= requirement.minimum_approvals {
            self.complete_change(&request, action).await?;
        }
        self.change_request(actor, id).await
    }

    async fn complete_change(
        &self,
        request: &ChangeRequestRecord,
        action: Action,
    ) -> Result<(), GovernanceError> {
        let setting = match action {
            Action::ChangeThreshold => THRESHOLD_SETTING,
            _ => "retrain_authorized_request",
        };
        let value = match action {
            Action::ChangeThreshold => request.proposed_value.clone(),
            _ => request.id.to_string(),
        };
        self.store
            .apply_change_request(request.id, setting, &value, now_micros())
            .await?;
        let resource = Resource::ChangeRequest(request.id, action);
        self.record(
            Actor::System,
            "change_applied",
            &resource,
            &format!("approvals complete; {setting} = {value}"),
        )
        .await?;
        if action == Action::RetrainModel {
            self.open_review(
                TriggerEvent::ModelRetrain,
                &format!("retrain authorised by change request {}", request.id),
                "governance",
                Some(&format!("retrain:{}", request.id)),
            )
            .await?;
        }
        Ok(())
    }

    /// Opens a review for `trigger` if the policy lists that trigger.
    pub(super) async fn open_review(
        &self,
        trigger: TriggerEvent,
        detail: &str,
        opened_by: &str,
        dedupe_key: Option<&str>,
    ) -> Result<Option<ReviewRecord>, GovernanceError> {
        let listed = self
            .policies
            .ai
            .trigger_events
            .iter()
            .any(|event| event.name() == trigger.name());
        if !listed {
            return Ok(None);
        }
        let review = self
            .store
            .open_review(trigger.name(), detail, opened_by, dedupe_key, now_micros())
            .await?;
        if let Some(review) = &review {
            self.record(
                Actor::System,
                "open_review",
                &Resource::Review,
                &format!("review {} opened: {detail}", review.id),
            )
            .await?;
        }
        Ok(review)
    }

    /// An analyst reports a missed incident.
    pub async fn report_false_negative(
        &self,
        principal: &Principal,
        description: &str,
    ) -> Result<Option<ReviewRecord>, GovernanceError> {
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                Action::ReportFalseNegative,
                &Resource::Review,
            )
            .await?;
        let description = required_text(description, "description")?;
        self.open_review(
            TriggerEvent::ConfirmedFalseNegative,
            &format!("reported by {}: {description}", principal.name),
            &principal.audit_name(),
            None,
        )
        .await
    }

    /// A new PLC or network segment, reported by a person or (through the AI handle) a detector.
    pub async fn report_reconfiguration(
        &self,
        principal: &Principal,
        description: &str,
    ) -> Result<Option<ReviewRecord>, GovernanceError> {
        let _permit = self
            .authorize(
                Actor::Principal(principal),
                Action::ReportReconfiguration,
                &Resource::Review,
            )
            .await?;
        let description = required_text(description, "description")?;
        self.open_review(
            TriggerEvent::MajorReconfiguration,
            &description,
            &principal.audit_name(),
            Some(&format!("reconfiguration:{description}")),
        )
        .await
    }

    /// The review schedule, open reviews and pending work.
    pub async fn status(&self) -> Result<GovernanceStatus, GovernanceError> {
        let ai = &self.policies.ai;
        let today = OffsetDateTime::now_utc().date();
        Ok(GovernanceStatus {
            system_id: ai.system_id.clone(),
            policy_version: ai.version.clone(),
            policy_sha256: self.policies.sha256.clone(),
            review_frequency: ai.review_frequency.name().to_string(),
            next_review_date: next_review_date(ai.effective_date, ai.review_frequency, today)
                .to_string(),
            open_reviews: self.store.list_reviews(true).await?,
            pending_recommendations: self
                .store
                .list_recommendations(Some(RecommendationStatus::PendingHumanApproval))
                .await?
                .len(),
            pending_change_requests: self
                .store
                .list_change_requests(Some(ChangeStatus::Pending))
                .await?
                .len(),
            detection_threshold: self.store.setting(THRESHOLD_SETTING).await?,
        })
    }
}
