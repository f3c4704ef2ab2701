//! The promotion checks: what must hold before a staging model may replace production. Each
//! unmet condition is a [`Blocker`] naming what is missing, and all of them are reported at once,
//! so a person learns everything left to do from one refusal.

use super::stage::Clearance;
use crate::store::{DiffItemRecord, ModelStage, ModelVersionRecord};

/// The staging period when no policy sets one.
pub const DEFAULT_STAGING_PERIOD_DAYS: u32 = 3;

const DAY_MICROS: i64 = 86_400_000_000;

/// What the checks look at.
#[derive(Debug, Clone, Copy)]
pub struct PromotionInput<'a> {
    pub version: &'a ModelVersionRecord,
    pub diff_items: &'a [DiffItemRecord],
    /// Wall-clock now, epoch microseconds.
    pub now: i64,
    pub staging_period_days: u32,
    /// An admin's audited override of the staging period (the only way to skip it).
    pub staging_override: bool,
}

/// One reason a model cannot go to production yet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Blocker {
    #[error("the model is in stage {0}; only a staging model can be promoted")]
    NotStaging(ModelStage),
    #[error("the model has no certification; run `otsentry certify` on this artifact")]
    NotCertified,
    #[error("the model failed its adversarial certification; a failed model is not deployable")]
    CertificationFailed,
    #[error(
        "the certification on record is of artifact {certified}, not of this one ({actual}); certify this exact artifact"
    )]
    OtherArtifact { certified: String, actual: String },
    #[error(
        "the staging period of {days} day(s) is not over: {hours_left} hour(s) left (an admin can override it, audited)"
    )]
    Staging { days: u32, hours_left: i64 },
    #[error(
        "{} baseline-diff item(s) are not acknowledged: {}",
        .0.len(),
        .0.join("; ")
    )]
    UnacknowledgedDiff(Vec<String>),
}

/// Checks every condition; gives the clearance the move to production takes, or every blocker.
pub fn clear_for_production(input: PromotionInput<'_>) -> Result<Clearance, Vec<Blocker>> {
    let version = input.version;
    let mut blockers = Vec::new();
    if version.stage != ModelStage::Staging {
        blockers.push(Blocker::NotStaging(version.stage));
    }
    match version.certified {
        None => blockers.push(Blocker::NotCertified),
        Some(false) => blockers.push(Blocker::CertificationFailed),
        Some(true) => {
            let certified = version
                .certification
                .as_ref()
                .and_then(|report| report.get("model_sha256"))
                .and_then(serde_json::Value::as_str)
                .unwrap_or("none");
            if certified != version.sha256 {
                blockers.push(Blocker::OtherArtifact {
                    certified: certified.to_string(),
                    actual: version.sha256.clone(),
                });
            }
        }
    }
    if version.stage == ModelStage::Staging && !input.staging_override {
        let ends = version.stage_since + i64::from(input.staging_period_days) * DAY_MICROS;
        if input.now < ends {
            let hour = DAY_MICROS / 24;
            let hours_left = (ends - input.now + hour - 1) / hour;
            blockers.push(Blocker::Staging {
                days: input.staging_period_days,
                hours_left,
            });
        }
    }
    let open: Vec<String> = input
        .diff_items
        .iter()
        .filter(|item| item.acknowledged_by.is_none())
        .map(|item| format!("#{} {} {}", item.id, item.kind, item.item))
        .collect();
    if !open.is_empty() {
        blockers.push(Blocker::UnacknowledgedDiff(open));
    }
    if blockers.is_empty() {
        Ok(Clearance { _checked: () })
    } else {
        Err(blockers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "ab";

    fn version(
        stage: ModelStage,
        certified: Option<bool>,
        certified_sha: &str,
    ) -> ModelVersionRecord {
        ModelVersionRecord {
            id: 1,
            sha256: SHA.into(),
            parent_id: None,
            path: "m.otm".into(),
            provenance: serde_json::json!({}),
            stage,
            stage_since: 0,
            certification: certified.map(|_| serde_json::json!({ "model_sha256": certified_sha })),
            certified,
            registered_by: "local:cli".into(),
            registered_at: 0,
            stage_changed_by: "local:cli".into(),
        }
    }

    fn item(acknowledged: bool) -> DiffItemRecord {
        DiffItemRecord {
            id: 7,
            version_id: 1,
            against_id: 2,
            kind: "edge".into(),
            item: "10.0.0.1 -> 10.0.0.5:4444/tcp".into(),
            acknowledged_by: acknowledged.then(|| "ana".into()),
            justification: acknowledged.then(|| "new HMI".into()),
            acknowledged_at: acknowledged.then_some(1),
        }
    }

    /// Runs the checks `days` days after staging began and returns the blockers.
    fn check(
        version: &ModelVersionRecord,
        items: &[DiffItemRecord],
        days: i64,
        over: bool,
    ) -> Vec<Blocker> {
        clear_for_production(PromotionInput {
            version,
            diff_items: items,
            now: days * DAY_MICROS,
            staging_period_days: 3,
            staging_override: over,
        })
        .err()
        .unwrap_or_default()
    }

    #[test]
    fn a_certified_staged_acknowledged_model_is_cleared() {
        let v = version(ModelStage::Staging, Some(true), SHA);
        assert_eq!(check(&v, &[item(true)], 3, false), vec![]);
    }

    #[test]
    fn every_missing_condition_is_named() {
        let v = version(ModelStage::Staging, None, SHA);
        assert_eq!(
            check(&v, &[item(false)], 1, false),
            vec![
                Blocker::NotCertified,
                Blocker::Staging {
                    days: 3,
                    hours_left: 48
                },
                Blocker::UnacknowledgedDiff(vec!["#7 edge 10.0.0.1 -> 10.0.0.5:4444/tcp".into()]),
            ]
        );
    }

    #[test]
    fn a_failed_or_foreign_certification_blocks() {
        let failed = version(ModelStage::Staging, Some(false), SHA);
        assert_eq!(
            check(&failed, &[], 5, false),
            vec![Blocker::CertificationFailed]
        );
        let foreign = version(ModelStage::Staging, Some(true), "cd");
        assert_eq!(
            check(&foreign, &[], 5, false),
            vec![Blocker::OtherArtifact {
                certified: "cd".into(),
                actual: SHA.into()
            }]
        );
    }

    #[test]
    fn only_the_override_skips_the_staging_period() {
        let v = version(ModelStage::Staging, Some(true), SHA);
        assert_eq!(check(&v, &[], 0, true), vec![]);
        assert_eq!(check(&v, &[], 0, false).len(), 1);
    }

    #[test]
    fn a_candidate_cannot_be_promoted() {
        let v = version(ModelStage::Candidate, Some(true), SHA);
        assert_eq!(
            check(&v, &[], 9, false),
            vec![Blocker::NotStaging(ModelStage::Candidate)]
        );
    }
}
