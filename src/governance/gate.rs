//! The decision point: a pure function from (policy, principal, action, resource) to an allow or
//! a deny with its reason. The audited `authorize` in `service` wraps it so that every decision,
//! allow and deny alike, lands in the audit log.

use serde::Serialize;

use super::action::{Action, Resource};
use super::policy::PolicySet;
use super::principal::{AiComponent, Principal, PrincipalKind, Role};

/// What each AI component may do; everything else is refused.
pub const AI_ALLOWED: &[(AiComponent, &[Action])] = &[
    (
        AiComponent::Scorer,
        &[Action::CreateAlert, Action::ReportReconfiguration],
    ),
    (
        AiComponent::Triage,
        &[Action::AnnotateTriage, Action::DraftRecommendation],
    ),
];

/// What a person holding any operational (non-admin) role may do.
pub const HUMAN_OPERATOR_ACTIONS: &[Action] = &[
    Action::ReadAlerts,
    Action::CreateAlert,
    Action::ConfirmAlert,
    Action::RejectAlert,
    Action::CloseAlert,
    Action::DismissAlert,
    Action::SuppressAlert,
    Action::ChangeSeverity,
    Action::DecideRecommendation,
    Action::ReportFalseNegative,
    Action::ReportReconfiguration,
    Action::RequestChange,
    Action::WithdrawChange,
    Action::ReadModels,
    Action::RegisterModel,
    Action::CertifyModel,
    Action::RecordStagingEvidence,
    Action::AcknowledgeBaselineDiff,
    Action::PromoteModel,
    Action::RollbackModel,
    Action::RecordIncident,
    Action::ReviewIncidentData,
    Action::RunRetrain,
];

/// The outcome of a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Deny,
}

/// A decision and the reason recorded with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: String,
}

impl Decision {
    fn allow(reason: impl Into<String>) -> Self {
        Decision {
            verdict: Verdict::Allow,
            reason: reason.into(),
        }
    }

    fn deny(reason: impl Into<String>) -> Self {
        Decision {
            verdict: Verdict::Deny,
            reason: reason.into(),
        }
    }

    pub fn is_allowed(&self) -> bool {
        self.verdict == Verdict::Allow
    }
}

/// Decides whether `principal` may perform `action` on `resource` under `policies`.
pub fn decide(
    policies: &PolicySet,
    principal: &Principal,
    action: Action,
    resource: &Resource,
) -> Decision {
    match &principal.kind {
        PrincipalKind::Ai { component } => decide_ai(policies, *component, action),
        PrincipalKind::Human { roles } => decide_human(policies, roles, action, resource),
    }
}

fn decide_ai(policies: &PolicySet, component: AiComponent, action: Action) -> Decision {
    let allowed = AI_ALLOWED
        .iter()
        .find(|(c, _)| *c == component)
        .is_some_and(|(_, actions)| actions.contains(&action));
    if allowed {
        if action == Action::CreateAlert && !policies.ai.ai_may_write_alerts() {
            return Decision::deny(
                "no data source in access_controls grants the AI write-alert-only access",
            );
        }
        return Decision::allow(format!("AI component {} may {action}", component.name()));
    }
    if let Some(prohibition) = policies.ai.prohibition_for(action) {
        return Decision::deny(format!(
            "prohibited for AI principals by policy: {}",
            prohibition.text
        ));
    }
    if matches!(
        action,
        Action::ApproveChange | Action::RequestChange | Action::WithdrawChange
    ) || policies.ai.approval_for(action).is_some()
    {
        return Decision::deny(
            "AI principals can neither request nor approve changes; approvals are entered by people under their own identity",
        );
    }
    Decision::deny(format!(
        "AI component {} may not {action}; AI principals only create alerts, triage annotations and draft recommendations",
        component.name()
    ))
}

fn is_operator(roles: &[Role]) -> bool {
    roles.iter().any(|role| role.as_str() != Role::ADMIN)
}

fn decide_human(
    policies: &PolicySet,
    roles: &[Role],
    action: Action,
    resource: &Resource,
) -> Decision {
    let held = |name: &str| roles.iter().any(|role| role.as_str() == name);
    match action {
        Action::ManagePrincipals | Action::ReadAudit | Action::OverrideStagingPeriod => {
            if held(Role::ADMIN) {
                Decision::allow(format!("role admin may {action}"))
            } else {
                Decision::deny(format!("{action} needs the admin role"))
            }
        }
        Action::ApproveChange => {
            let Resource::ChangeRequest(_, requested) = resource else {
                return Decision::deny("an approval must name a change request");
            };
            let Some(requirement) = policies.ai.approval_for(*requested) else {
                return Decision::deny(format!(
                    "the policy has no approval requirement for {requested}"
                ));
            };
            // A retrain's approver must also hold a role the retraining policy names.
            let retraining = match (requested, &policies.retraining) {
                (Action::RetrainModel, Some(retraining)) => Some(retraining),
                _ => None,
            };
            if let Some(retraining) = retraining
                && !retraining
                    .who_must_approve
                    .iter()
                    .any(|role| held(role.as_str()))
            {
                return Decision::deny(format!(
                    "retraining_policy lets only {} approve a retrain",
                    retraining
                        .who_must_approve
                        .iter()
                        .map(Role::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            match requirement
                .approvers
                .iter()
                .find(|role| held(role.as_str()))
            {
                Some(role) => Decision::allow(format!("role {role} may approve {requested}")),
                None => Decision::deny(format!(
                    "approving {requested} needs one of the roles {}",
                    requirement
                        .approvers
                        .iter()
                        .map(Role::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        Action::RequestChange => {
            if !is_operator(roles) {
                return Decision::deny("requesting a change needs an operational role");
            }
            if let (Resource::ChangeRequest(_, Action::RetrainModel), Some(retraining)) =
                (resource, &policies.retraining)
            {
                return match retraining
                    .who_can_request
                    .iter()
                    .find(|role| held(role.as_str()))
                {
                    Some(role) => Decision::allow(format!("role {role} may request a retrain")),
                    None => {
                        Decision::deny("retraining_policy does not let this role request a retrain")
                    }
                };
            }
            Decision::allow("operational roles may request changes")
        }
        Action::ChangeThreshold | Action::RetrainModel | Action::ChangePolicy => {
            match policies.ai.approval_for(action) {
                Some(requirement) => Decision::deny(format!(
                    "{} takes effect only through a change request with {} approval(s)",
                    requirement.text, requirement.minimum_approvals
                )),
                None => Decision::deny(format!(
                    "{action} is only possible through a change request"
                )),
            }
        }
        Action::WriteSetpoint
        | Action::WriteHistorianConfig
        | Action::ModifyNetworkAcl
        | Action::TriggerPlaybook => Decision::deny(format!(
            "otsentry never performs {action}; record a decision on the draft recommendation and act through plant procedures"
        )),
        Action::AnnotateTriage => Decision::deny(
            "triage annotations come from the triage assistant; people record decisions",
        ),
        Action::Authenticate | Action::RedeemEnrollment => {
            Decision::deny("authentication is decided by the credential check")
        }
        Action::ExpireChange => Decision::deny("requests expire by time, not by anyone's decision"),
        _ if HUMAN_OPERATOR_ACTIONS.contains(&action) => {
            if is_operator(roles) {
                Decision::allow(format!("operational roles may {action}"))
            } else {
                Decision::deny(format!(
                    "{action} needs an operational role; admin alone manages identities (separation of duties)"
                ))
            }
        }
        _ => Decision::deny(format!("no rule allows people to {action}")),
    }
}
