//! Changes that act on the plant or on the AI: drafted recommendations that only a person can
//! confirm or reject (and nothing executes), and change requests (threshold, retrain) that take
//! effect only when the policy's approvals are complete. Each approval comes from a distinct
//! person other than the requester, under their own identity, through a channel the policy names
//! and the code verifies (`channel.rs`); counting the approvals and applying the change happen in
//! the approval's own serialised transaction. A request can be withdrawn by its requester, and
//! expires if its approvals do not complete in time. Also review records and the governance status.

use ed25519_dalek::Signature;
use serde::Serialize;
use time::OffsetDateTime;

use super::action::{Action, Resource};
use super::alerts::substantive;
use super::channel::{Channel, ticket_message};
use super::error::GovernanceError;
use super::gate::Verdict;
use super::policy::ApprovalRequirement;
use super::review::{TriggerEvent, next_review_date};
use super::service::{Actor, ConsolePerson, Governance, HOUR_MICROS, Permit, now_micros};
use super::token;
use crate::governance::principal::Principal;
use crate::store::{
    ApprovalRecord, ChangeRequestRecord, ChangeStatus, NewApproval, NewChangeRequest,
    NewRecommendation, NewReview, RecommendationRecord, RecommendationStatus, ReviewRecord, Store,
    StoreTx,
};

/// The setting a completed threshold change writes.
pub const THRESHOLD_SETTING: &str = "detection_threshold";

/// The setting a completed policy change writes: the SHA-256 of the policy set that may be put
/// in force next.
pub const POLICY_CHANGE_SETTING: &str = "policy_change_authorized";

/// The actions a change request may ask for.
pub const GOVERNED_CHANGES: &[Action] = &[
    Action::ChangeThreshold,
    Action::RetrainModel,
    Action::ChangePolicy,
];

/// A change request with its approvals so far.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRequestDetail {
    #[serde(flatten)]
    pub request: ChangeRequestRecord,
    pub approvals: Vec<ApprovalRecord>,
    pub minimum_approvals: usize,
    pub required_roles: Vec<String>,
    pub approval_channel: String,
    pub accepted_channels: Vec<Channel>,
}

/// A change request just filed. For an out-of-band channel it carries the one-time confirmation
/// codes, shown only to the requester, who reads one to each approver in person or by voice.
#[derive(Debug, Clone, Serialize)]
pub struct FiledChangeRequest {
    #[serde(flatten)]
    pub request: ChangeRequestRecord,
    pub confirmation_codes: Vec<String>,
}

/// How an approver proves the approval came through the policy's channel.
#[derive(Debug, Clone, Copy)]
pub enum ApprovalEvidence<'a> {
    /// The approver signed in at the console with their own passphrase.
    PhysicalPresence(&'a ConsolePerson),
    /// A confirmation code the requester read to the approver.
    OutOfBand { code: &'a str },
    /// A ticket id and the ticketing system's hex ed25519 signature over [`ticket_message`].
    SignedTicket {
        ticket_id: &'a str,
        signature: &'a str,
    },
}

impl ApprovalEvidence<'_> {
    pub fn channel(&self) -> Channel {
        match self {
            ApprovalEvidence::PhysicalPresence(_) => Channel::PhysicalPresence,
            ApprovalEvidence::OutOfBand { .. } => Channel::OutOfBand,
            ApprovalEvidence::SignedTicket { .. } => Channel::SignedTicket,
        }
    }
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

fn requested_action(request: &ChangeRequestRecord) -> Result<Action, GovernanceError> {
    GOVERNED_CHANGES
        .iter()
        .copied()
        .find(|action| action.name() == request.action)
        .ok_or_else(|| {
            GovernanceError::Internal(format!(
                "change request {} names unknown action {}",
                request.id, request.action
            ))
        })
}

/// What an approval through a signed ticket records as its evidence.
fn ticket_evidence(ticket_id: &str) -> String {
    format!("ticket {ticket_id}, signature verified")
}

/// The ticket id of an approval that came through a signed ticket ([`ticket_evidence`]'s form).
pub fn ticket_of(evidence: &str) -> Option<&str> {
    evidence
        .strip_prefix("ticket ")?
        .strip_suffix(", signature verified")
}

impl<S: Store> Governance<S> {
    /// The approvals an action needs: the AI governance policy's, and for a retrain at least
    /// the retraining policy's `minimum_approvals`.
    fn minimum_approvals(&self, action: Action, requirement: &ApprovalRequirement) -> usize {
        let retraining = match action {
            Action::RetrainModel => self.policies.retraining.as_ref(),
            _ => None,
        };
        requirement
            .minimum_approvals
            .max(retraining.map_or(0, |policy| policy.minimum_approvals))
    }

    fn requirement(&self, action: Action) -> Result<&ApprovalRequirement, GovernanceError> {
        self.policies.ai.approval_for(action).ok_or_else(|| {
            GovernanceError::Internal(format!("no approval requirement for {action}"))
        })
    }

    pub(super) async fn draft_recommendation_as(
        &self,
        principal: &Principal,
        draft: NewRecommendation,
    ) -> Result<RecommendationRecord, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(
                Actor::Principal(principal),
                Action::DraftRecommendation,
                &Resource::Plant(draft.target.clone()),
            )
            .await?;
        let outcome = async {
            required_text(&draft.rationale, "rationale")?;
            Ok(tx
                .insert_recommendation(&permit, &draft, principal.id, now_micros())
                .await?)
        }
        .await;
        self.finish(tx, pending, outcome, |record| {
            format!(
                "recommendation {} drafted, pending_human_approval",
                record.id
            )
        })
        .await
    }

    pub async fn list_recommendations(
        &self,
        actor: Actor<'_>,
        status: Option<RecommendationStatus>,
    ) -> Result<Vec<RecommendationRecord>, GovernanceError> {
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::AlertQueue)
            .await?;
        Ok(self
            .store
            .read()
            .await?
            .list_recommendations(status)
            .await?)
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
        let (mut tx, permit, pending) = self
            .begin_change(
                Actor::Principal(principal),
                Action::DecideRecommendation,
                &Resource::Recommendation(id),
            )
            .await?;
        let outcome = async {
            let what = format!("deciding recommendation {id}");
            let justification =
                substantive(Some(justification), &what).map_err(GovernanceError::Invalid)?;
            if tx.recommendation(id).await?.is_none() {
                return Err(GovernanceError::NotFound(format!("recommendation {id}")));
            }
            let status = if confirm {
                RecommendationStatus::Confirmed
            } else {
                RecommendationStatus::Rejected
            };
            Ok(tx
                .decide_recommendation(
                    &permit,
                    id,
                    status,
                    principal.id,
                    &justification,
                    now_micros(),
                )
                .await?)
        }
        .await;
        self.finish(tx, pending, outcome, |record| {
            format!("recommendation {id} {}", record.status)
        })
        .await
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

    /// Opens a change request for an action that needs approvals. With an out-of-band channel
    /// the request comes with one confirmation code per approval needed.
    pub async fn request_change(
        &self,
        principal: &Principal,
        action: Action,
        proposed_value: &str,
        reason: &str,
    ) -> Result<FiledChangeRequest, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(
                Actor::Principal(principal),
                Action::RequestChange,
                &Resource::ChangeRequest(0, action),
            )
            .await?;
        let outcome = async {
            let requirement = self.policies.ai.approval_for(action).ok_or_else(|| {
                GovernanceError::Invalid(format!(
                    "the policy has no approval requirement for {action}"
                ))
            })?;
            let reason = required_text(reason, "reason")?;
            let value = required_text(proposed_value, "proposed_value")?;
            if action == Action::ChangeThreshold && !value.parse::<f64>().is_ok_and(f64::is_finite)
            {
                return Err(GovernanceError::Invalid(format!(
                    "threshold `{value}` is not a number"
                )));
            }
            if action == Action::ChangePolicy
                && !(value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            {
                return Err(GovernanceError::Invalid(format!(
                    "a policy change names the SHA-256 of the new policy set (64 hex digits), not `{value}`"
                )));
            }
            let at = now_micros();
            let ttl = i64::from(self.config.request_ttl_hours.max(1)) * HOUR_MICROS;
            let request = tx
                .insert_change_request(
                    &permit,
                    &NewChangeRequest {
                        action: action.name().to_string(),
                        proposed_value: value,
                        reason,
                        requested_by: principal.id,
                        at,
                        expires_at: at.saturating_add(ttl),
                    },
                )
                .await?;
            let mut confirmation_codes = Vec::new();
            if requirement.channels.contains(&Channel::OutOfBand) {
                for _ in 0..requirement.minimum_approvals {
                    let code = token::generate("");
                    tx.insert_approval_code(&permit, request.id, &token::digest(&code.text))
                        .await?;
                    confirmation_codes.push(code.text);
                }
            }
            Ok(FiledChangeRequest {
                request,
                confirmation_codes,
            })
        }
        .await;
        self.finish(tx, pending, outcome, |filed| {
            format!(
                "change request {} filed: {} = {}; {} confirmation code(s) shown to the requester",
                filed.request.id,
                filed.request.action,
                filed.request.proposed_value,
                filed.confirmation_codes.len()
            )
        })
        .await
    }

    /// Marks every pending request whose time ran out as expired, one audited entry each.
    pub async fn expire_stale_requests(&self) -> Result<usize, GovernanceError> {
        let now = now_micros();
        let stale: Vec<ChangeRequestRecord> = self
            .store
            .read()
            .await?
            .list_change_requests(Some(ChangeStatus::Pending))
            .await?
            .into_iter()
            .filter(|request| request.expires_at.is_some_and(|expiry| expiry <= now))
            .collect();
        let mut expired = 0;
        for request in stale {
            let action = requested_action(&request)?;
            let (mut tx, permit, pending) = self
                .open_change(
                    Actor::System,
                    Action::ExpireChange,
                    &Resource::ChangeRequest(request.id, action),
                    (Verdict::Allow, String::new()),
                    Action::ExpireChange.name(),
                )
                .await?;
            let outcome = tx
                .close_change_request(&permit, request.id, ChangeStatus::Expired, now)
                .await
                .map_err(GovernanceError::from);
            let closed = self
                .finish(tx, pending, outcome, |_| {
                    format!(
                        "change request {} expired: its approvals were not complete in time",
                        request.id
                    )
                })
                .await?;
            expired += usize::from(closed);
        }
        Ok(expired)
    }

    pub async fn change_request(
        &self,
        actor: Actor<'_>,
        id: i64,
    ) -> Result<ChangeRequestDetail, GovernanceError> {
        self.expire_stale_requests().await?;
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::Review)
            .await?;
        let mut read = self.store.read().await?;
        let request = read
            .change_request(id)
            .await?
            .ok_or_else(|| GovernanceError::NotFound(format!("change request {id}")))?;
        let requirement = self.requirement(requested_action(&request)?)?;
        Ok(ChangeRequestDetail {
            approvals: read.approvals(id).await?,
            minimum_approvals: self.minimum_approvals(requested_action(&request)?, requirement),
            required_roles: requirement
                .approvers
                .iter()
                .map(|role| role.to_string())
                .collect(),
            approval_channel: requirement.channel.clone(),
            accepted_channels: requirement.channels.clone(),
            request,
        })
    }

    pub async fn list_change_requests(
        &self,
        actor: Actor<'_>,
        status: Option<ChangeStatus>,
    ) -> Result<Vec<ChangeRequestRecord>, GovernanceError> {
        self.expire_stale_requests().await?;
        let _permit = self
            .authorize(actor, Action::ReadAlerts, &Resource::Review)
            .await?;
        Ok(self
            .store
            .read()
            .await?
            .list_change_requests(status)
            .await?)
    }

    /// The requester takes back their pending request.
    pub async fn withdraw_change(
        &self,
        principal: &Principal,
        id: i64,
    ) -> Result<ChangeRequestRecord, GovernanceError> {
        self.expire_stale_requests().await?;
        let request = self.store.read().await?.change_request(id).await?;
        let action = match &request {
            Some(request) => requested_action(request)?,
            None => Action::ChangeThreshold,
        };
        let resource = Resource::ChangeRequest(id, action);
        let actor = Actor::Principal(principal);
        let verdict = match &request {
            Some(request) if request.requested_by != principal.id => (
                Verdict::Deny,
                format!("only the requester may withdraw change request {id}"),
            ),
            _ => self.verdict(actor, Action::WithdrawChange, &resource),
        };
        let (mut tx, permit, pending) = self
            .open_change(
                actor,
                Action::WithdrawChange,
                &resource,
                verdict,
                Action::WithdrawChange.name(),
            )
            .await?;
        let outcome = async {
            let request = tx
                .change_request(id)
                .await?
                .ok_or_else(|| GovernanceError::NotFound(format!("change request {id}")))?;
            if !tx
                .close_change_request(&permit, id, ChangeStatus::Withdrawn, now_micros())
                .await?
            {
                return Err(GovernanceError::Conflict(format!(
                    "change request {id} is already {}",
                    request.status
                )));
            }
            Ok(tx.change_request(id).await?.unwrap_or(request))
        }
        .await;
        self.finish(tx, pending, outcome, |_| {
            format!("change request {id} withdrawn by its requester")
        })
        .await
    }

    /// Enters one person's approval with the evidence its channel needs. The approval counts for
    /// one of the policy's roles that the person holds and nobody has approved for yet; when
    /// enough distinct people have approved, the change applies in the same transaction.
    pub async fn approve(
        &self,
        principal: &Principal,
        id: i64,
        evidence: ApprovalEvidence<'_>,
        note: Option<&str>,
    ) -> Result<ChangeRequestDetail, GovernanceError> {
        self.expire_stale_requests().await?;
        let request = self.store.read().await?.change_request(id).await?;
        let action = match &request {
            Some(request) => requested_action(request)?,
            None => Action::ChangeThreshold,
        };
        let actor = Actor::Principal(principal);
        let resource = Resource::ChangeRequest(id, action);
        let verdict = match &request {
            Some(request) if request.requested_by == principal.id => (
                Verdict::Deny,
                format!(
                    "{} requested change request {id} and cannot approve it (separation of duties)",
                    principal.name
                ),
            ),
            _ => self.verdict(actor, Action::ApproveChange, &resource),
        };
        let (mut tx, permit, pending) = self
            .open_change(
                actor,
                Action::ApproveChange,
                &resource,
                verdict,
                Action::ApproveChange.name(),
            )
            .await?;
        let outcome = self
            .enter_approval(&mut tx, &permit, principal, id, action, evidence, note)
            .await;
        self.finish(tx, pending, outcome, |(approval, applied)| {
            let mut reason = format!(
                "approved as {} via {} ({})",
                approval.role,
                approval.channel,
                approval.evidence.as_deref().unwrap_or("")
            );
            if let Some(applied) = applied {
                reason.push_str("; ");
                reason.push_str(applied);
            }
            reason
        })
        .await?;
        self.change_request(actor, id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn enter_approval(
        &self,
        tx: &mut S::Tx,
        permit: &Permit,
        principal: &Principal,
        id: i64,
        action: Action,
        evidence: ApprovalEvidence<'_>,
        note: Option<&str>,
    ) -> Result<(ApprovalRecord, Option<String>), GovernanceError> {
        let request = tx
            .change_request(id)
            .await?
            .ok_or_else(|| GovernanceError::NotFound(format!("change request {id}")))?;
        if request.status != ChangeStatus::Pending {
            return Err(GovernanceError::Conflict(format!(
                "change request {id} is already {}",
                request.status
            )));
        }
        let now = now_micros();
        if request.expires_at.is_some_and(|expiry| expiry <= now) {
            return Err(GovernanceError::Conflict(format!(
                "change request {id} has expired; file a new one"
            )));
        }
        if request.requested_by == principal.id {
            return Err(GovernanceError::Denied(format!(
                "{} requested change request {id} and cannot approve it (separation of duties)",
                principal.name
            )));
        }
        let requirement = self.requirement(action)?;
        let channel = evidence.channel();
        if !requirement.channels.contains(&channel) {
            return Err(GovernanceError::Invalid(format!(
                "the policy requires {} for {}: approval via {channel} is not accepted",
                requirement.channel, requirement.text
            )));
        }
        let approvals = tx.approvals(id).await?;
        if approvals
            .iter()
            .any(|approval| approval.principal_id == principal.id)
        {
            return Err(GovernanceError::Conflict(format!(
                "{} already approved change request {id}; a second approval must come from a different person",
                principal.name
            )));
        }
        // A retrain also answers to the retraining policy: its approver roles and its minimum.
        let retraining = match action {
            Action::RetrainModel => self.policies.retraining.as_ref(),
            _ => None,
        };
        let minimum_approvals = self.minimum_approvals(action, requirement);
        let role = requirement
            .approvers
            .iter()
            .find(|role| {
                principal.has_role(role.as_str())
                    && retraining.is_none_or(|policy| policy.who_must_approve.contains(role))
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
        let evidence_text = self
            .verify_evidence(tx, permit, principal, &request, evidence)
            .await?;
        let approval = tx
            .insert_approval(
                permit,
                &NewApproval {
                    request_id: id,
                    principal_id: principal.id,
                    role: role.to_string(),
                    channel: channel.name().to_string(),
                    evidence: evidence_text,
                    note: note.map(str::to_string),
                    at: now,
                },
            )
            .await?;
        let applied = if approvals.len() + 1 >= minimum_approvals {
            Some(self.complete_change(tx, permit, &request, action).await?)
        } else {
            None
        };
        Ok((approval, applied))
    }

    /// Checks the channel's evidence; returns what the approval records about it.
    async fn verify_evidence(
        &self,
        tx: &mut S::Tx,
        permit: &Permit,
        principal: &Principal,
        request: &ChangeRequestRecord,
        evidence: ApprovalEvidence<'_>,
    ) -> Result<String, GovernanceError> {
        match evidence {
            ApprovalEvidence::PhysicalPresence(person) => {
                if person.principal().id != principal.id {
                    return Err(GovernanceError::Invalid(format!(
                        "the console sign-in is {}'s, not {}'s",
                        person.principal().name,
                        principal.name
                    )));
                }
                Ok("console sign-in with the approver's passphrase".to_string())
            }
            ApprovalEvidence::OutOfBand { code } => {
                let presented = token::digest(code.trim());
                let codes = tx.approval_codes(request.id).await?;
                let matching = codes.iter().find(|stored| {
                    token::constant_time_eq(stored.digest.as_bytes(), presented.as_bytes())
                });
                match matching {
                    Some(stored) if stored.used_by.is_none() => {
                        tx.use_approval_code(permit, stored.id, principal.id, now_micros())
                            .await?;
                        Ok(format!("one-time code {} read back", stored.id))
                    }
                    Some(_) => Err(GovernanceError::Invalid(format!(
                        "this confirmation code of change request {} was already used; ask the requester for another",
                        request.id
                    ))),
                    None => Err(GovernanceError::Invalid(format!(
                        "the confirmation code does not match any code of change request {}; the requester reads it to you",
                        request.id
                    ))),
                }
            }
            ApprovalEvidence::SignedTicket {
                ticket_id,
                signature,
            } => {
                let ticket_id = ticket_id.trim();
                if ticket_id.is_empty() {
                    return Err(GovernanceError::Invalid(
                        "a signed ticket needs its ticket id".into(),
                    ));
                }
                let key = self.config.ticket_key.as_ref().ok_or_else(|| {
                    GovernanceError::Invalid(
                        "no ticketing key is configured on this host (--ticket-key), so signed tickets cannot be verified".into(),
                    )
                })?;
                let message = ticket_message(
                    request.id,
                    &request.action,
                    &request.proposed_value,
                    ticket_id,
                );
                let valid = hex::decode(signature.trim())
                    .ok()
                    .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
                    .map(|bytes| Signature::from_bytes(&bytes))
                    .is_some_and(|signature| {
                        key.verify_strict(message.as_bytes(), &signature).is_ok()
                    });
                if valid {
                    Ok(ticket_evidence(ticket_id))
                } else {
                    Err(GovernanceError::Invalid(format!(
                        "the signature of ticket {ticket_id} does not verify against the ticketing key for change request {}",
                        request.id
                    )))
                }
            }
        }
    }

    async fn complete_change(
        &self,
        tx: &mut S::Tx,
        permit: &Permit,
        request: &ChangeRequestRecord,
        action: Action,
    ) -> Result<String, GovernanceError> {
        let (setting, value) = match action {
            Action::ChangeThreshold => (THRESHOLD_SETTING, request.proposed_value.clone()),
            Action::ChangePolicy => (POLICY_CHANGE_SETTING, request.proposed_value.to_lowercase()),
            _ => ("retrain_authorized_request", request.id.to_string()),
        };
        tx.apply_change_request(permit, request.id, setting, &value, now_micros())
            .await?;
        let mut outcome = format!("approvals complete: {setting} = {value}");
        if action == Action::RetrainModel
            && let Some(review) = self
                .open_review(
                    tx,
                    permit,
                    TriggerEvent::ModelRetrain,
                    &format!("retrain authorised by change request {}", request.id),
                    "governance",
                    Some(&format!("retrain:{}", request.id)),
                )
                .await?
        {
            outcome.push_str(&format!("; review {} opened", review.id));
        }
        Ok(outcome)
    }

    /// Opens a review for `trigger` if the policy lists that trigger, inside the caller's
    /// transaction.
    pub(super) async fn open_review(
        &self,
        tx: &mut S::Tx,
        permit: &Permit,
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
        Ok(tx
            .open_review(
                permit,
                &NewReview {
                    trigger_event: trigger.name(),
                    detail,
                    opened_by,
                    dedupe_key,
                    at: now_micros(),
                },
            )
            .await?)
    }

    async fn report(
        &self,
        principal: &Principal,
        action: Action,
        trigger: TriggerEvent,
        detail: String,
        dedupe_key: Option<String>,
    ) -> Result<Option<ReviewRecord>, GovernanceError> {
        let (mut tx, permit, pending) = self
            .begin_change(Actor::Principal(principal), action, &Resource::Review)
            .await?;
        let outcome = self
            .open_review(
                &mut tx,
                &permit,
                trigger,
                &detail,
                &principal.audit_name(),
                dedupe_key.as_deref(),
            )
            .await;
        self.finish(tx, pending, outcome, |review| match review {
            Some(review) => format!("review {} opened: {}", review.id, review.detail),
            None => "no new review (already open, or the policy lists no such trigger)".into(),
        })
        .await
    }

    /// An analyst reports a missed incident.
    pub async fn report_false_negative(
        &self,
        principal: &Principal,
        description: &str,
    ) -> Result<Option<ReviewRecord>, GovernanceError> {
        let description = required_text(description, "description")?;
        self.report(
            principal,
            Action::ReportFalseNegative,
            TriggerEvent::ConfirmedFalseNegative,
            format!("reported by {}: {description}", principal.name),
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
        let description = required_text(description, "description")?;
        self.report(
            principal,
            Action::ReportReconfiguration,
            TriggerEvent::MajorReconfiguration,
            description.clone(),
            Some(format!("reconfiguration:{description}")),
        )
        .await
    }

    /// The review schedule, open reviews and pending work.
    pub async fn status(&self) -> Result<GovernanceStatus, GovernanceError> {
        self.expire_stale_requests().await?;
        let ai = &self.policies.ai;
        let today = OffsetDateTime::now_utc().date();
        let mut read = self.store.read().await?;
        Ok(GovernanceStatus {
            system_id: ai.system_id.clone(),
            policy_version: ai.version.clone(),
            policy_sha256: self.policies.sha256.clone(),
            review_frequency: ai.review_frequency.name().to_string(),
            next_review_date: next_review_date(ai.effective_date, ai.review_frequency, today)
                .to_string(),
            open_reviews: read.list_reviews(true).await?,
            pending_recommendations: read
                .list_recommendations(Some(RecommendationStatus::PendingHumanApproval))
                .await?
                .len(),
            pending_change_requests: read
                .list_change_requests(Some(ChangeStatus::Pending))
                .await?
                .len(),
            detection_threshold: read.setting(THRESHOLD_SETTING).await?,
        })
    }
}
