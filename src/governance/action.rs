//! The typed vocabulary of the decision point: every action a principal can attempt, the
//! resources actions apply to, and the mapping from the policy files' human-readable phrases
//! ("close or suppress SIEM alerts") to those actions.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Something a principal attempts; the gate decides every one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Record a new alert (the scorer's one write).
    CreateAlert,
    /// Attach an advisory triage annotation to an alert (the triage assistant's write).
    AnnotateTriage,
    /// Store a recommendation as a draft awaiting a human decision.
    DraftRecommendation,
    /// Report a topology change (new PLC, new segment) seen in traffic.
    ReportReconfiguration,
    /// List and inspect alerts.
    ReadAlerts,
    /// Confirm an alert as a true positive.
    ConfirmAlert,
    /// Reject an alert as a false positive.
    RejectAlert,
    /// Close an alert.
    CloseAlert,
    /// Dismiss an alert as benign.
    DismissAlert,
    /// Suppress an alert (and its kind) from the queue.
    SuppressAlert,
    /// Change an alert's severity.
    ChangeSeverity,
    /// Confirm or reject a drafted recommendation.
    DecideRecommendation,
    /// Report a missed incident (a confirmed false negative).
    ReportFalseNegative,
    /// Ask for a change that needs approvals (threshold, retrain).
    RequestChange,
    /// Enter an approval on a change request.
    ApproveChange,
    /// Change the detection threshold directly.
    ChangeThreshold,
    /// Retrain the model.
    RetrainModel,
    /// Write a PLC setpoint.
    WriteSetpoint,
    /// Write the historian's configuration.
    WriteHistorianConfig,
    /// Modify network ACLs or firewall rules.
    ModifyNetworkAcl,
    /// Run an automated response playbook.
    TriggerPlaybook,
    /// Create principals, issue and revoke tokens.
    ManagePrincipals,
    /// Read and verify the audit log.
    ReadAudit,
    /// Present a bearer token or a passphrase (audited when it fails).
    Authenticate,
    /// Redeem an enrollment code: a person sets their own passphrase and first token.
    RedeemEnrollment,
    /// The requester takes back a pending change request.
    WithdrawChange,
    /// Put a different policy file in force (a governed change like any other).
    ChangePolicy,
    /// A pending change request ran out of time (a consequence governance records).
    ExpireChange,
    /// List and inspect registered model versions.
    ReadModels,
    /// Register a trained model as a candidate, or stage one.
    RegisterModel,
    /// Record the adversarial certification of a registered model.
    CertifyModel,
    /// Acknowledge a baseline-diff item, with a justification.
    AcknowledgeBaselineDiff,
    /// Promote a staging model to production.
    PromoteModel,
    /// Put an earlier model back into production.
    RollbackModel,
    /// Skip a candidate's staging period (an admin's override, audited).
    OverrideStagingPeriod,
    /// Add what a staging model scored beside production (`watch --staging`).
    RecordStagingEvidence,
    /// Open or close a security incident, or keep its records as a canary set.
    RecordIncident,
    /// Record the manual review of the data around a closed incident.
    ReviewIncidentData,
    /// Train, certify and register the model an approved retrain request authorised.
    RunRetrain,
}

impl Action {
    /// The stable snake_case name written into the audit log.
    pub fn name(self) -> &'static str {
        match self {
            Action::CreateAlert => "create_alert",
            Action::AnnotateTriage => "annotate_triage",
            Action::DraftRecommendation => "draft_recommendation",
            Action::ReportReconfiguration => "report_reconfiguration",
            Action::ReadAlerts => "read_alerts",
            Action::ConfirmAlert => "confirm_alert",
            Action::RejectAlert => "reject_alert",
            Action::CloseAlert => "close_alert",
            Action::DismissAlert => "dismiss_alert",
            Action::SuppressAlert => "suppress_alert",
            Action::ChangeSeverity => "change_severity",
            Action::DecideRecommendation => "decide_recommendation",
            Action::ReportFalseNegative => "report_false_negative",
            Action::RequestChange => "request_change",
            Action::ApproveChange => "approve_change",
            Action::ChangeThreshold => "change_threshold",
            Action::RetrainModel => "retrain_model",
            Action::WriteSetpoint => "write_setpoint",
            Action::WriteHistorianConfig => "write_historian_config",
            Action::ModifyNetworkAcl => "modify_network_acl",
            Action::TriggerPlaybook => "trigger_playbook",
            Action::ManagePrincipals => "manage_principals",
            Action::ReadAudit => "read_audit",
            Action::Authenticate => "authenticate",
            Action::RedeemEnrollment => "redeem_enrollment",
            Action::WithdrawChange => "withdraw_change",
            Action::ChangePolicy => "change_policy",
            Action::ExpireChange => "expire_change",
            Action::ReadModels => "read_models",
            Action::RegisterModel => "register_model",
            Action::CertifyModel => "certify_model",
            Action::AcknowledgeBaselineDiff => "acknowledge_baseline_diff",
            Action::PromoteModel => "promote_model",
            Action::RollbackModel => "rollback_model",
            Action::OverrideStagingPeriod => "override_staging_period",
            Action::RecordStagingEvidence => "record_staging_evidence",
            Action::RecordIncident => "record_incident",
            Action::ReviewIncidentData => "review_incident_data",
            Action::RunRetrain => "run_retrain",
        }
    }

    /// Actions that act on the plant or on the AI itself; an AI may only draft them.
    pub fn acts_on_plant_or_ai(self) -> bool {
        matches!(
            self,
            Action::WriteSetpoint
                | Action::WriteHistorianConfig
                | Action::ModifyNetworkAcl
                | Action::TriggerPlaybook
                | Action::ChangeThreshold
                | Action::RetrainModel
                | Action::ChangePolicy
                | Action::SuppressAlert
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The prohibited-action phrases a policy may use, and the actions each one covers.
///
/// Matching ignores case and repeated whitespace; anything else is an error naming the line,
/// because a phrase we silently ignored would be a prohibition nobody enforces.
pub const PROHIBITED_PHRASES: &[(&str, &[Action])] = &[
    ("write to PLC setpoints", &[Action::WriteSetpoint]),
    (
        "write to historian configuration",
        &[Action::WriteHistorianConfig],
    ),
    (
        "close or suppress SIEM alerts",
        &[
            Action::CloseAlert,
            Action::DismissAlert,
            Action::SuppressAlert,
        ],
    ),
    ("update alert severity", &[Action::ChangeSeverity]),
    (
        "modify network ACLs or firewall rules",
        &[Action::ModifyNetworkAcl],
    ),
    (
        "trigger automated response playbooks without human approval",
        &[Action::TriggerPlaybook],
    ),
    ("change detection threshold", &[Action::ChangeThreshold]),
    ("retrain model", &[Action::RetrainModel]),
];

/// The actions a `human_approval_requirements` entry may name.
pub const APPROVABLE_PHRASES: &[(&str, Action)] = &[
    ("change detection threshold", Action::ChangeThreshold),
    ("retrain model", Action::RetrainModel),
    ("change governance policy", Action::ChangePolicy),
    ("write to PLC setpoints", Action::WriteSetpoint),
    (
        "modify network ACLs or firewall rules",
        Action::ModifyNetworkAcl,
    ),
    (
        "trigger automated response playbooks",
        Action::TriggerPlaybook,
    ),
];

/// Lower-cases and collapses whitespace so phrase matching forgives formatting, not wording.
pub fn normalise_phrase(text: &str) -> String {
    text.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Looks a prohibited-action phrase up.
pub fn prohibited_phrase(text: &str) -> Option<&'static [Action]> {
    let wanted = normalise_phrase(text);
    PROHIBITED_PHRASES
        .iter()
        .find(|(phrase, _)| normalise_phrase(phrase) == wanted)
        .map(|(_, actions)| *actions)
}

/// Looks an approvable action phrase up.
pub fn approvable_phrase(text: &str) -> Option<Action> {
    let wanted = normalise_phrase(text);
    APPROVABLE_PHRASES
        .iter()
        .find(|(phrase, _)| normalise_phrase(phrase) == wanted)
        .map(|(_, action)| *action)
}

/// What an action applies to, written into the audit log as `kind:id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Resource {
    Alert(i64),
    AlertQueue,
    Recommendation(i64),
    /// A change request (0 while it is being created) and the action it asks for.
    ChangeRequest(i64, Action),
    Principal(String),
    Token(String),
    Setting(String),
    Plant(String),
    AuditLog,
    Review,
    Api,
    /// A registered model version (0 while it is being registered).
    ModelVersion(i64),
    /// A baseline-diff item.
    DiffItem(i64),
    /// A security incident (0 while it is being opened).
    Incident(i64),
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resource::Alert(id) => write!(f, "alert:{id}"),
            Resource::AlertQueue => f.write_str("alerts"),
            Resource::Recommendation(id) => write!(f, "recommendation:{id}"),
            Resource::ChangeRequest(id, action) => write!(f, "change_request:{id}:{action}"),
            Resource::Principal(name) => write!(f, "principal:{name}"),
            Resource::Token(id) => write!(f, "token:{id}"),
            Resource::Setting(name) => write!(f, "setting:{name}"),
            Resource::Plant(target) => write!(f, "plant:{target}"),
            Resource::AuditLog => f.write_str("audit_log"),
            Resource::Review => f.write_str("reviews"),
            Resource::Api => f.write_str("api"),
            Resource::ModelVersion(id) => write!(f, "model_version:{id}"),
            Resource::DiffItem(id) => write!(f, "baseline_diff_item:{id}"),
            Resource::Incident(id) => write!(f, "incident:{id}"),
        }
    }
}
