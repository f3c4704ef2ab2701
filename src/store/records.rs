//! The records the store keeps, as plain data: the alert schema (which the detectors fill through
//! the AI handle), triage annotations, decisions, recommendations, change requests, approvals,
//! reviews and tokens. Times are epoch microseconds, UTC.

use serde::{Deserialize, Serialize};

/// Declares a closed set of snake_case names stored as TEXT, with `as_str` and `parse`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// Where an alert is in its lifecycle.
    AlertStatus {
        Open => "open",
        Confirmed => "confirmed",
        Rejected => "rejected",
        Closed => "closed",
        Dismissed => "dismissed",
        Suppressed => "suppressed",
    }
);

impl AlertStatus {
    /// Whether analysts may still act on the alert.
    pub fn is_terminal(self) -> bool {
        !matches!(self, AlertStatus::Open | AlertStatus::Confirmed)
    }
}

text_enum!(
    /// How urgent an alert is.
    Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

text_enum!(
    /// What the triage assistant advises; advice only, never an action.
    TriageRecommendation {
        Dismiss => "dismiss",
        Investigate => "investigate",
        Escalate => "escalate",
    }
);

text_enum!(
    /// An analyst's decision on an alert.
    AlertDecision {
        Confirm => "confirm",
        Reject => "reject",
        Close => "close",
        Dismiss => "dismiss",
        Suppress => "suppress",
        ChangeSeverity => "change_severity",
    }
);

text_enum!(
    /// What a drafted recommendation would change if a person carried it out.
    RecommendationKind {
        Setpoint => "setpoint",
        Threshold => "threshold",
        Suppression => "suppression",
        NetworkAcl => "network_acl",
        Playbook => "playbook",
        HistorianConfig => "historian_config",
        Other => "other",
    }
);

text_enum!(
    /// A recommendation waits for a person; nothing ever executes it.
    RecommendationStatus {
        PendingHumanApproval => "pending_human_approval",
        Confirmed => "confirmed",
        Rejected => "rejected",
    }
);

text_enum!(
    /// A change request is pending until its approvals are complete (then applied), its requester
    /// withdraws it, or it expires.
    ChangeStatus {
        Pending => "pending",
        Applied => "applied",
        Withdrawn => "withdrawn",
        Expired => "expired",
    }
);

/// A new alert as a detector (or a person) reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAlert {
    /// Log time of the triggering record (Zeek `ts`), epoch microseconds.
    pub ts: i64,
    #[serde(default)]
    pub uid: Option<String>,
    pub src: String,
    pub dst: String,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    /// The detector's score; for the Isolation Forest, the decision value (negative is anomalous).
    pub score: f64,
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Asset and zone context (owner, zone, criticality) as the inventory knows it.
    #[serde(default = "empty_object")]
    pub asset_context: serde_json::Value,
    /// MITRE ATT&CK for ICS technique id, such as `T0855`.
    #[serde(default)]
    pub attack_technique: Option<String>,
    pub detector: String,
    pub severity: Severity,
    /// The pipeline's stable alert id (the same input gives the same id): a second alert with
    /// an id already stored is refused as a conflict, so a re-run or a resumed watch cannot
    /// store one alert twice. `None` for alerts recorded without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_id: Option<String>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRecord {
    pub id: i64,
    #[serde(flatten)]
    pub alert: NewAlert,
    pub status: AlertStatus,
    pub created_by: i64,
    pub created_at: i64,
    /// Bumped on every change; a decision names the version it saw (optimistic concurrency).
    pub version: i64,
}

/// A triage annotation as the assistant writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewTriage {
    pub recommendation: TriageRecommendation,
    pub summary: String,
    #[serde(default)]
    pub confidence: Option<f64>,
    /// The assistant's whole advice (`triage::Advice` as JSON): contract fields, rewrites, drafts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageRecord {
    pub id: i64,
    pub alert_id: i64,
    pub principal_id: i64,
    #[serde(flatten)]
    pub triage: NewTriage,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub id: i64,
    pub alert_id: i64,
    pub principal_id: i64,
    pub decision: AlertDecision,
    pub justification: Option<String>,
    pub created_at: i64,
}

/// One alert change written atomically: the decision row plus the alert's new state.
#[derive(Debug, Clone)]
pub struct AlertChange {
    pub alert_id: i64,
    /// The version the decider saw; the change is refused if the alert moved on since.
    pub expected_version: i64,
    pub status: AlertStatus,
    pub severity: Severity,
    pub principal_id: i64,
    pub decision: AlertDecision,
    pub justification: Option<String>,
    pub at: i64,
}

/// A recommendation as the triage assistant drafts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRecommendation {
    #[serde(default)]
    pub alert_id: Option<i64>,
    pub kind: RecommendationKind,
    /// What it would act on: a PLC register, a detector, a firewall rule.
    pub target: String,
    pub proposed_value: String,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecommendationRecord {
    pub id: i64,
    #[serde(flatten)]
    pub recommendation: NewRecommendation,
    pub drafted_by: i64,
    pub status: RecommendationStatus,
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    pub justification: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequestRecord {
    pub id: i64,
    /// The governed action's name, such as `change_threshold`.
    pub action: String,
    pub proposed_value: String,
    pub reason: String,
    pub requested_by: i64,
    pub status: ChangeStatus,
    pub created_at: i64,
    pub applied_at: Option<i64>,
    /// After this time a pending request expires (and is audited as expired).
    pub expires_at: Option<i64>,
    /// When it was withdrawn or expired.
    pub closed_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    pub id: i64,
    pub request_id: i64,
    pub principal_id: i64,
    pub role: String,
    pub channel: String,
    /// What the channel verified: `console`, `one-time code`, or the signed ticket's id.
    pub evidence: Option<String>,
    pub note: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRecord {
    pub id: i64,
    pub trigger_event: String,
    pub detail: String,
    pub opened_by: String,
    pub opened_at: i64,
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The non-secret id the token is looked up by.
    pub id: String,
    pub principal_id: i64,
    /// Hex SHA-256 of the secret (a 256-bit random value, so a fast digest is enough).
    pub digest: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A one-time enrollment code issued for a person; only the secret's digest is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRecord {
    pub id: String,
    pub principal_id: i64,
    pub digest: String,
    /// Who issued it (`human:root`, `local:cli`).
    pub issued_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub redeemed_at: Option<i64>,
}

/// An out-of-band confirmation code of a change request (only its digest is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalCodeRecord {
    pub id: i64,
    pub request_id: i64,
    pub digest: String,
    pub used_by: Option<i64>,
}

/// A change request as governance files it.
#[derive(Debug, Clone)]
pub struct NewChangeRequest {
    pub action: String,
    pub proposed_value: String,
    pub reason: String,
    pub requested_by: i64,
    pub at: i64,
    pub expires_at: i64,
}

/// One approval as governance enters it, with the evidence its channel verified.
#[derive(Debug, Clone)]
pub struct NewApproval {
    pub request_id: i64,
    pub principal_id: i64,
    pub role: String,
    pub channel: String,
    pub evidence: String,
    pub note: Option<String>,
    pub at: i64,
}

/// A review to open.
#[derive(Debug, Clone)]
pub struct NewReview<'a> {
    pub trigger_event: &'a str,
    pub detail: &'a str,
    pub opened_by: &'a str,
    pub dedupe_key: Option<&'a str>,
    pub at: i64,
}

/// A policy file's copy, kept the first time it is enforced.
#[derive(Debug, Clone)]
pub struct PolicyCopy<'a> {
    pub sha256: &'a str,
    pub kind: &'a str,
    pub system_id: &'a str,
    pub text: &'a str,
    pub at: i64,
}

text_enum!(
    /// Where a model version is in its life; the registry decides which moves are allowed.
    ModelStage {
        Candidate => "candidate",
        Staging => "staging",
        Production => "production",
        Archived => "archived",
    }
);

/// One registered model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVersionRecord {
    pub id: i64,
    pub sha256: String,
    pub parent_id: Option<i64>,
    pub path: String,
    /// The training provenance, as JSON.
    pub provenance: serde_json::Value,
    pub stage: ModelStage,
    pub stage_since: i64,
    /// The certification report of this artifact, as JSON.
    pub certification: Option<serde_json::Value>,
    pub certified: Option<bool>,
    pub registered_by: String,
    pub registered_at: i64,
    pub stage_changed_by: String,
}

/// A model version to register.
#[derive(Debug, Clone)]
pub struct NewModelVersion {
    pub sha256: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub provenance: serde_json::Value,
    pub registered_by: String,
    pub at: i64,
}

/// One thing a candidate would treat as normal that the model it is compared with did not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffItemRecord {
    pub id: i64,
    pub version_id: i64,
    pub against_id: i64,
    pub kind: String,
    pub item: String,
    pub acknowledged_by: Option<String>,
    pub justification: Option<String>,
    pub acknowledged_at: Option<i64>,
}
