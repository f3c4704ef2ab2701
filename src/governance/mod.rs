//! Governance: the policy files, the principals, the decision point every state change passes
//! through, the handle the AI code holds, approvals, recommendations and review triggers.
//!
//! **Architecture invariant:** no state change bypasses [`Governance`]; it asks the gate first
//! and audits the decision, allow and deny alike.
//!
//! **Architecture invariant:** AI code holds an [`AiAlertWriter`], which has no method that
//! closes, suppresses, changes severity, approves or acts on the plant.

pub mod action;
mod ai_handle;
mod alerts;
mod changes;
mod error;
pub mod gate;
pub mod policy;
pub mod principal;
pub mod review;
mod service;
pub mod token;

pub use action::{Action, Resource};
pub use ai_handle::AiAlertWriter;
pub use alerts::{AlertDetail, AnalystDecision};
pub use changes::{ChangeRequestDetail, GovernanceStatus, THRESHOLD_SETTING};
pub use error::GovernanceError;
pub use gate::{Decision, Verdict, decide};
pub use policy::{Policy, PolicyError, PolicyKind, PolicySet, load_policy, parse_policy};
pub use principal::{AiComponent, Principal, PrincipalKind, Role};
pub use service::{
    Actor, Governance, GovernanceConfig, IssuedToken, MAX_TOKEN_VALID_DAYS, Permit, format_micros,
    now_micros,
};
