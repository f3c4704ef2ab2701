//! The `ai_governance_policy` file: its serde mirror (exactly the documented shape, nothing more)
//! and the checked form the gate decides from.

use serde::Deserialize;
use serde_saphyr::Spanned;
use time::Date;

use super::error::PolicyError;
use super::yaml::invalid;
use crate::governance::action::{
    APPROVABLE_PHRASES, Action, PROHIBITED_PHRASES, approvable_phrase, prohibited_phrase,
};
use crate::governance::channel::{Channel, parse_channels};
use crate::governance::principal::Role;
use crate::governance::review::{Frequency, TriggerEvent};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAiPolicy {
    system_id: String,
    version: String,
    effective_date: Spanned<String>,
    owner: String,
    access_controls: RawAccessControls,
    prohibited_actions: Vec<Spanned<String>>,
    human_approval_requirements: Vec<RawApprovalRequirement>,
    review_schedule: RawReviewSchedule,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccessControls {
    data_sources: Vec<RawDataSource>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDataSource {
    name: String,
    access: Spanned<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprovalRequirement {
    action: Spanned<String>,
    approvers: Spanned<Vec<String>>,
    minimum_approvals: Spanned<u32>,
    approval_channel: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReviewSchedule {
    frequency: Spanned<String>,
    trigger_events: Vec<Spanned<String>>,
}

/// How the AI may touch a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataAccess {
    ReadOnly,
    WriteAlertOnly,
}

/// A data source the AI may use, with its access level.
#[derive(Debug, Clone)]
pub struct DataSource {
    pub name: String,
    pub access: DataAccess,
    pub path: Option<String>,
    pub scope: Option<String>,
}

/// One prohibited-action line and the actions it covers.
#[derive(Debug, Clone)]
pub struct Prohibition {
    pub text: String,
    pub actions: Vec<Action>,
}

/// An action that needs approvals from named roles through a named channel.
#[derive(Debug, Clone)]
pub struct ApprovalRequirement {
    pub action: Action,
    pub text: String,
    pub approvers: Vec<Role>,
    /// At least 1 and at most `approvers.len()`: checked when the file is read.
    pub minimum_approvals: usize,
    /// The policy's words for the channel.
    pub channel: String,
    /// The mechanisms those words name; an approval must use one of them.
    pub channels: Vec<Channel>,
}

/// A validated `ai_governance_policy`.
#[derive(Debug, Clone)]
pub struct AiGovernancePolicy {
    pub system_id: String,
    pub version: String,
    pub effective_date: Date,
    pub owner: String,
    pub data_sources: Vec<DataSource>,
    pub prohibitions: Vec<Prohibition>,
    pub approvals: Vec<ApprovalRequirement>,
    pub review_frequency: Frequency,
    pub trigger_events: Vec<TriggerEvent>,
}

impl AiGovernancePolicy {
    /// The prohibition line that covers `action`, if any.
    pub fn prohibition_for(&self, action: Action) -> Option<&Prohibition> {
        self.prohibitions
            .iter()
            .find(|prohibition| prohibition.actions.contains(&action))
    }

    /// The approval requirement for `action`, if the policy has one.
    pub fn approval_for(&self, action: Action) -> Option<&ApprovalRequirement> {
        let listed = self
            .approvals
            .iter()
            .find(|requirement| requirement.action == action);
        if listed.is_none() && action == Action::ChangePolicy {
            // A policy that does not say who approves its own change is changed under its
            // strictest requirement: the most approvals, then the first listed.
            return self
                .approvals
                .iter()
                .rev()
                .max_by_key(|requirement| requirement.minimum_approvals);
        }
        listed
    }

    /// Whether any data source grants the AI its alert-writing access.
    pub fn ai_may_write_alerts(&self) -> bool {
        self.data_sources
            .iter()
            .any(|source| source.access == DataAccess::WriteAlertOnly)
    }
}

/// Rejoins list items that a YAML flow sequence split at the commas inside parentheses.
///
/// The flow-style policy writes `[major OT reconfiguration (new PLC, new network
/// segment), ...]`; YAML reads that as two items, `major OT reconfiguration (new PLC` and
/// `new network segment)`. An item with an unclosed parenthesis is joined with the items after it
/// until the parenthesis closes, so both spellings of the policy mean the same thing.
fn rejoin_parenthesised(items: &[Spanned<String>]) -> Vec<(String, &Spanned<String>)> {
    let depth = |text: &str| {
        text.chars().fold(0i32, |depth, c| match c {
            '(' => depth + 1,
            ')' => depth - 1,
            _ => depth,
        })
    };
    let mut joined: Vec<(String, &Spanned<String>)> = Vec::new();
    let mut open = 0;
    for item in items {
        match joined.last_mut() {
            Some((text, _)) if open > 0 => {
                text.push_str(", ");
                text.push_str(item.value.trim());
            }
            _ => joined.push((item.value.trim().to_string(), item)),
        }
        open = joined.last().map_or(0, |(text, _)| depth(text));
    }
    joined
}

/// Parses a `YYYY-MM-DD` date.
pub(super) fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), format).ok()
}

impl RawAiPolicy {
    pub(super) fn check(self, origin: &str) -> Result<AiGovernancePolicy, PolicyError> {
        let key = |name: &str| format!("ai_governance_policy.{name}");
        let effective_date = parse_date(&self.effective_date.value).ok_or_else(|| {
            invalid(
                origin,
                &self.effective_date,
                &key("effective_date"),
                format!(
                    "`{}` is not a calendar date in the form YYYY-MM-DD",
                    self.effective_date.value
                ),
            )
        })?;

        let mut data_sources = Vec::new();
        for source in self.access_controls.data_sources {
            let access = match source.access.value.trim() {
                "read-only" => DataAccess::ReadOnly,
                "write-alert-only" => DataAccess::WriteAlertOnly,
                other => {
                    return Err(invalid(
                        origin,
                        &source.access,
                        &key("access_controls.data_sources.access"),
                        format!("unknown access `{other}`; expected read-only or write-alert-only"),
                    ));
                }
            };
            data_sources.push(DataSource {
                name: source.name,
                access,
                path: source.path,
                scope: source.scope,
            });
        }

        let mut prohibitions = Vec::new();
        for phrase in &self.prohibited_actions {
            let actions = prohibited_phrase(&phrase.value).ok_or_else(|| {
                let known: Vec<&str> = PROHIBITED_PHRASES.iter().map(|(p, _)| *p).collect();
                invalid(
                    origin,
                    phrase,
                    &key("prohibited_actions"),
                    format!(
                        "unknown action `{}`; known actions: {}",
                        phrase.value,
                        known.join("; ")
                    ),
                )
            })?;
            prohibitions.push(Prohibition {
                text: phrase.value.clone(),
                actions: actions.to_vec(),
            });
        }

        let mut approvals = Vec::new();
        for requirement in self.human_approval_requirements {
            let action = approvable_phrase(&requirement.action.value).ok_or_else(|| {
                let known: Vec<&str> = APPROVABLE_PHRASES.iter().map(|(p, _)| *p).collect();
                invalid(
                    origin,
                    &requirement.action,
                    &key("human_approval_requirements.action"),
                    format!(
                        "unknown action `{}`; known actions: {}",
                        requirement.action.value,
                        known.join("; ")
                    ),
                )
            })?;
            let mut approvers = Vec::new();
            for name in &requirement.approvers.value {
                let role = Role::parse(name).map_err(|message| {
                    invalid(
                        origin,
                        &requirement.approvers,
                        &key("human_approval_requirements.approvers"),
                        message,
                    )
                })?;
                if approvers.contains(&role) {
                    return Err(invalid(
                        origin,
                        &requirement.approvers,
                        &key("human_approval_requirements.approvers"),
                        format!("role `{role}` is listed twice"),
                    ));
                }
                approvers.push(role);
            }
            let minimum = requirement.minimum_approvals.value as usize;
            if minimum == 0 || minimum > approvers.len() {
                return Err(invalid(
                    origin,
                    &requirement.minimum_approvals,
                    &key("human_approval_requirements.minimum_approvals"),
                    format!(
                        "minimum_approvals is {minimum} but {} approver role(s) are listed; it must be between 1 and the number of approvers",
                        approvers.len()
                    ),
                ));
            }
            let channels =
                parse_channels(&requirement.approval_channel.value).map_err(|message| {
                    invalid(
                        origin,
                        &requirement.approval_channel,
                        &key("human_approval_requirements.approval_channel"),
                        message,
                    )
                })?;
            approvals.push(ApprovalRequirement {
                action,
                text: requirement.action.value.clone(),
                approvers,
                minimum_approvals: minimum,
                channel: requirement.approval_channel.value,
                channels,
            });
        }

        let review_frequency =
            Frequency::parse(&self.review_schedule.frequency.value).ok_or_else(|| {
                invalid(
                    origin,
                    &self.review_schedule.frequency,
                    &key("review_schedule.frequency"),
                    format!(
                        "unknown frequency `{}`; expected weekly, monthly, quarterly, semiannually or annually",
                        self.review_schedule.frequency.value
                    ),
                )
            })?;
        let mut trigger_events = Vec::new();
        for (text, event) in rejoin_parenthesised(&self.review_schedule.trigger_events) {
            let trigger = TriggerEvent::parse(&text).map_err(|message| {
                invalid(
                    origin,
                    event,
                    &key("review_schedule.trigger_events"),
                    message,
                )
            })?;
            trigger_events.push(trigger);
        }

        Ok(AiGovernancePolicy {
            system_id: self.system_id,
            version: self.version,
            effective_date,
            owner: self.owner,
            data_sources,
            prohibitions,
            approvals,
            review_frequency,
            trigger_events,
        })
    }
}
