//! The `retraining_policy` file: who may request and approve a retrain, which conditions block
//! one, what provenance and logging a retrain must carry, and how it is validated afterwards.
//! This module reads and explains it; the model registry enforces it.

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::error::PolicyError;
use super::yaml::invalid;
use crate::governance::principal::Role;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetrainingPolicy {
    system_id: String,
    authorization: RawAuthorization,
    prohibited_conditions: Vec<RawCondition>,
    data_provenance_requirements: Vec<ProvenanceItem>,
    logging: RawLogging,
    post_retrain_validation: Vec<ValidationItem>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthorization {
    who_can_request: Spanned<Vec<String>>,
    who_must_approve: Spanned<Vec<String>>,
    minimum_approvals: Spanned<u32>,
    approval_must_precede_retrain: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    condition: Spanned<String>,
    description: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogging {
    retrain_events_log: String,
    log_fields: Vec<Spanned<String>>,
}

/// One `data_provenance_requirements` entry: a single key naming what must be logged.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvenanceItem {
    LogTrainingWindowStart(Spanned<String>),
    LogTrainingWindowEnd(Spanned<String>),
    LogDataSources(Spanned<String>),
    LogAnomalyAlertsInWindow(Spanned<String>),
    LogIncidentsInWindow(Spanned<String>),
    SignTrainingDatasetHash(Spanned<String>),
}

/// One `post_retrain_validation` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationItem {
    AdversarialRobustnessTest(Spanned<String>),
    ComparisonAgainstPreviousModel(Spanned<String>),
    StagingPeriodDays(u32),
}

/// A condition under which no retrain may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetrainBlocker {
    ActiveIncidentOpen,
    PostIncidentWindow,
    UnreviewedAnomalyCluster,
}

impl RetrainBlocker {
    fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "active_incident_open" => Some(Self::ActiveIncidentOpen),
            "post_incident_window" => Some(Self::PostIncidentWindow),
            "unreviewed_anomaly_cluster" => Some(Self::UnreviewedAnomalyCluster),
            _ => None,
        }
    }
}

/// The fields a retrain log record may carry.
pub const LOG_FIELDS: &[&str] = &[
    "timestamp",
    "requested_by",
    "approved_by",
    "approval_ticket_id",
    "training_window_start",
    "training_window_end",
    "training_dataset_sha256",
    "previous_model_sha256",
    "new_model_sha256",
    "adversarial_test_result",
];

/// Whether a requirement must be met, and any note the site wrote beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub required: bool,
    pub note: Option<String>,
}

fn requirement(
    origin: &str,
    key: &str,
    value: &Spanned<String>,
) -> Result<Requirement, PolicyError> {
    let text = value.value.trim();
    let (word, rest) = match text.split_once(char::is_whitespace) {
        Some((word, rest)) => (word, Some(rest.trim())),
        None => (text, None),
    };
    let required = match word {
        "required" => true,
        "optional" => false,
        _ => {
            return Err(invalid(
                origin,
                value,
                key,
                format!("`{text}` must start with required or optional"),
            ));
        }
    };
    let note = rest
        .map(|note| note.trim_matches(|c| c == '(' || c == ')').to_string())
        .filter(|note| !note.is_empty());
    Ok(Requirement { required, note })
}

/// A blocking condition with the site's own description.
#[derive(Debug, Clone)]
pub struct Condition {
    pub blocker: RetrainBlocker,
    pub name: String,
    pub description: String,
}

/// A validated `retraining_policy`.
#[derive(Debug, Clone)]
pub struct RetrainingPolicy {
    pub system_id: String,
    pub who_can_request: Vec<Role>,
    pub who_must_approve: Vec<Role>,
    pub minimum_approvals: usize,
    pub approval_must_precede_retrain: bool,
    pub prohibited_conditions: Vec<Condition>,
    /// Provenance item name (the YAML key) and its requirement.
    pub provenance: Vec<(String, Requirement)>,
    pub retrain_events_log: String,
    pub log_fields: Vec<String>,
    /// Validation step name (the YAML key) and its requirement.
    pub validations: Vec<(String, Requirement)>,
    pub staging_period_days: Option<u32>,
}

fn roles(origin: &str, key: &str, names: &Spanned<Vec<String>>) -> Result<Vec<Role>, PolicyError> {
    let mut roles = Vec::new();
    for name in &names.value {
        let role = Role::parse(name).map_err(|message| invalid(origin, names, key, message))?;
        roles.push(role);
    }
    if roles.is_empty() {
        return Err(invalid(origin, names, key, "at least one role is needed"));
    }
    Ok(roles)
}

impl RawRetrainingPolicy {
    pub(super) fn check(self, origin: &str) -> Result<RetrainingPolicy, PolicyError> {
        let key = |name: &str| format!("retraining_policy.{name}");
        let auth = self.authorization;
        let who_can_request = roles(
            origin,
            &key("authorization.who_can_request"),
            &auth.who_can_request,
        )?;
        let who_must_approve = roles(
            origin,
            &key("authorization.who_must_approve"),
            &auth.who_must_approve,
        )?;
        let minimum = auth.minimum_approvals.value as usize;
        if minimum == 0 || minimum > who_must_approve.len() {
            return Err(invalid(
                origin,
                &auth.minimum_approvals,
                &key("authorization.minimum_approvals"),
                format!(
                    "minimum_approvals is {minimum} but {} approver role(s) are listed; it must be between 1 and the number of approvers",
                    who_must_approve.len()
                ),
            ));
        }

        let mut prohibited_conditions = Vec::new();
        for condition in self.prohibited_conditions {
            let blocker = RetrainBlocker::parse(&condition.condition.value).ok_or_else(|| {
                invalid(
                    origin,
                    &condition.condition,
                    &key("prohibited_conditions.condition"),
                    format!(
                        "unknown condition `{}`; known conditions: active_incident_open, post_incident_window, unreviewed_anomaly_cluster",
                        condition.condition.value
                    ),
                )
            })?;
            prohibited_conditions.push(Condition {
                blocker,
                name: condition.condition.value.trim().to_string(),
                description: condition.description,
            });
        }

        let provenance_key = key("data_provenance_requirements");
        let mut provenance = Vec::new();
        for item in &self.data_provenance_requirements {
            let (name, value) = match item {
                ProvenanceItem::LogTrainingWindowStart(v) => ("log_training_window_start", v),
                ProvenanceItem::LogTrainingWindowEnd(v) => ("log_training_window_end", v),
                ProvenanceItem::LogDataSources(v) => ("log_data_sources", v),
                ProvenanceItem::LogAnomalyAlertsInWindow(v) => ("log_anomaly_alerts_in_window", v),
                ProvenanceItem::LogIncidentsInWindow(v) => ("log_incidents_in_window", v),
                ProvenanceItem::SignTrainingDatasetHash(v) => ("sign_training_dataset_hash", v),
            };
            provenance.push((
                name.to_string(),
                requirement(origin, &provenance_key, value)?,
            ));
        }

        let mut log_fields = Vec::new();
        for field in &self.logging.log_fields {
            if !LOG_FIELDS.contains(&field.value.trim()) {
                return Err(invalid(
                    origin,
                    field,
                    &key("logging.log_fields"),
                    format!(
                        "unknown log field `{}`; known fields: {}",
                        field.value,
                        LOG_FIELDS.join(", ")
                    ),
                ));
            }
            log_fields.push(field.value.trim().to_string());
        }

        let validation_key = key("post_retrain_validation");
        let mut validations = Vec::new();
        let mut staging_period_days = None;
        for item in &self.post_retrain_validation {
            match item {
                ValidationItem::AdversarialRobustnessTest(v) => validations.push((
                    "adversarial_robustness_test".to_string(),
                    requirement(origin, &validation_key, v)?,
                )),
                ValidationItem::ComparisonAgainstPreviousModel(v) => validations.push((
                    "comparison_against_previous_model".to_string(),
                    requirement(origin, &validation_key, v)?,
                )),
                ValidationItem::StagingPeriodDays(days) => staging_period_days = Some(*days),
            }
        }

        Ok(RetrainingPolicy {
            system_id: self.system_id,
            who_can_request,
            who_must_approve,
            minimum_approvals: minimum,
            approval_must_precede_retrain: auth.approval_must_precede_retrain,
            prohibited_conditions,
            provenance,
            retrain_events_log: self.logging.retrain_events_log,
            log_fields,
            validations,
            staging_period_days,
        })
    }
}
