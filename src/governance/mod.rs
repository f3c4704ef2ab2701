//! Governance: the policy files, the principals, the decision point every state change passes
//! through, the handle the AI code holds, approvals, recommendations and review triggers.
//!
//! **Architecture invariant:** no state change bypasses [`Governance`]; it asks the gate first,
//! makes the change with the gate's [`Permit`] (every store write takes one), and commits the
//! change together with the audit entry recording its outcome. Only governance can make a
//! permit or append to the audit log.
//!
//! **Architecture invariant:** AI code holds an [`AiAlertWriter`], which has no method that
//! closes, suppresses, changes severity, approves or acts on the plant.

pub mod action;
mod ai_handle;
mod alerts;
mod changes;
pub mod channel;
mod error;
pub mod gate;
mod models;
pub mod policy;
mod policy_change;
pub mod principal;
pub mod retraining;
pub mod review;
mod service;
mod staging;
pub mod token;

pub use action::{Action, Resource};
pub use ai_handle::AiAlertWriter;
pub use alerts::{AlertDetail, AnalystDecision, substantive};
pub use changes::{
    ApprovalEvidence, ChangeRequestDetail, FiledChangeRequest, GOVERNED_CHANGES, GovernanceStatus,
    POLICY_CHANGE_SETTING, THRESHOLD_SETTING,
};
pub use channel::Channel;
pub use error::GovernanceError;
pub use gate::{Decision, Verdict, decide};
pub use models::{ArtifactCheck, ModelDetail, StagingOverride};
pub use policy::{Policy, PolicyError, PolicyKind, PolicySet, load_policy, parse_policy};
pub use principal::{AiComponent, Principal, PrincipalKind, Role};
pub use retraining::{RetrainPlan, RetrainResult};
pub use service::{
    Actor, ConsolePerson, Governance, GovernanceConfig, IssuedEnrollment, IssuedToken,
    MAX_TOKEN_VALID_DAYS, Permit, Scribe, format_micros, now_micros, verify_store,
};
