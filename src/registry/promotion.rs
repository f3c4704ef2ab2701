//! The promotion checks: what must hold before a staging model may replace production. Each
//! unmet condition is a [`Blocker`] naming what is missing, and all of them are reported at once,
//! so a person learns everything left to do from one refusal.
//!
//! The staging period is time the candidate spent scoring live traffic beside production
//! (`watch --staging`, its evidence in the store), not time since `model stage`: a candidate
//! that never ran beside production has no evidence, however long ago it was staged.

use super::stage::Clearance;
use crate::store::{DiffItemRecord, ModelStage, ModelVersionRecord, StagingEvidence};

/// The staging period when no policy sets one.
pub const DEFAULT_STAGING_PERIOD_DAYS: u32 = 3;

const DAY_MICROS: i64 = 86_400_000_000;

/// What the checks look at.
#[derive(Debug, Clone, Copy)]
pub struct PromotionInput<'a> {
    pub version: &'a ModelVersionRecord,
    pub diff_items: &'a [DiffItemRecord],
    pub staging_period_days: u32,
    /// What the candidate scored beside production, if it ever did.
    pub staging: Option<&'a StagingEvidence>,
    /// The production model's SHA-256, if one runs (the first model has nothing to score
    /// beside); evidence gathered beside another production model does not count.
    pub production_sha256: Option<&'a str>,
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
        "the staging period of {days} day(s) is not over: the candidate has never scored live traffic beside production, so there is no staging evidence; run `otsentry watch --staging --db DB` beside production for {days} day(s) (an admin can override it, audited)"
    )]
    NoStagingEvidence { days: u32 },
    #[error(
        "the staging period of {days} day(s) cannot run: no model is in production for the candidate to score beside, so the first model goes to production only with an admin's audited override (`model promote VERSION --override-staging ADMIN --justification TEXT`)"
    )]
    NothingToStageBeside { days: u32 },
    #[error(
        "the staging period of {days} day(s) is not over: the candidate's evidence was gathered beside production model {scored_beside}, but production is now {production}; run `otsentry watch --staging --db DB` beside the current production for {days} day(s) (an admin can override it, audited)"
    )]
    BesideAnotherProduction {
        days: u32,
        scored_beside: String,
        production: String,
    },
    #[error(
        "the staging period of {days} day(s) is not over: the candidate scored live traffic beside production for {hours_scored} of {hours_needed} hour(s) ({records} records), {hours_left} hour(s) left (an admin can override it, audited)"
    )]
    Staging {
        days: u32,
        hours_scored: i64,
        hours_needed: i64,
        records: u64,
        hours_left: i64,
    },
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
        let needed = i64::from(input.staging_period_days) * DAY_MICROS;
        let hour = DAY_MICROS / 24;
        match input.staging {
            None if input.production_sha256.is_none() => {
                blockers.push(Blocker::NothingToStageBeside {
                    days: input.staging_period_days,
                });
            }
            Some(evidence)
                if input
                    .production_sha256
                    .is_some_and(|production| production != evidence.production_sha256) =>
            {
                blockers.push(Blocker::BesideAnotherProduction {
                    days: input.staging_period_days,
                    scored_beside: evidence.production_sha256.clone(),
                    production: input.production_sha256.unwrap_or_default().to_string(),
                });
            }
            None => blockers.push(Blocker::NoStagingEvidence {
                days: input.staging_period_days,
            }),
            Some(evidence) if evidence.records == 0 => blockers.push(Blocker::NoStagingEvidence {
                days: input.staging_period_days,
            }),
            Some(evidence) if evidence.scored_micros < needed => blockers.push(Blocker::Staging {
                days: input.staging_period_days,
                hours_scored: evidence.scored_micros / hour,
                hours_needed: needed / hour,
                records: evidence.records,
                hours_left: (needed - evidence.scored_micros + hour - 1) / hour,
            }),
            Some(_) => {}
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

    fn evidence(micros: i64, records: u64) -> StagingEvidence {
        StagingEvidence {
            version_id: 1,
            first_scored_at: 0,
            last_scored_at: micros,
            scored_micros: micros,
            records,
            rows_scored: records,
            production_sha256: "cd".into(),
            counts: Vec::new(),
        }
    }

    /// Runs the checks after the candidate scored `days` days beside production.
    fn check(
        version: &ModelVersionRecord,
        items: &[DiffItemRecord],
        days: i64,
        over: bool,
    ) -> Vec<Blocker> {
        let scored = evidence(days * DAY_MICROS, 1_000);
        clear_for_production(PromotionInput {
            version,
            diff_items: items,
            staging: Some(&scored),
            production_sha256: Some("cd"),
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
                    hours_scored: 24,
                    hours_needed: 72,
                    records: 1_000,
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
    fn a_candidate_that_never_scored_beside_production_has_no_evidence() {
        let v = version(ModelStage::Staging, Some(true), SHA);
        let idle = evidence(9 * DAY_MICROS, 0);
        for staging in [None, Some(&idle)] {
            let blockers = clear_for_production(PromotionInput {
                version: &v,
                diff_items: &[],
                staging,
                production_sha256: Some("cd"),
                staging_period_days: 3,
                staging_override: false,
            })
            .unwrap_err();
            assert_eq!(blockers, vec![Blocker::NoStagingEvidence { days: 3 }]);
            assert!(
                blockers[0]
                    .to_string()
                    .contains("never scored live traffic"),
                "{}",
                blockers[0]
            );
        }
        // Even a period of 0 days needs the candidate to have scored something.
        let blockers = clear_for_production(PromotionInput {
            version: &v,
            diff_items: &[],
            staging: None,
            production_sha256: Some("cd"),
            staging_period_days: 0,
            staging_override: false,
        })
        .unwrap_err();
        assert_eq!(blockers, vec![Blocker::NoStagingEvidence { days: 0 }]);
        // With nothing in production the period cannot run; the refusal says the override is
        // the way.
        let blockers = clear_for_production(PromotionInput {
            version: &v,
            diff_items: &[],
            staging: None,
            production_sha256: None,
            staging_period_days: 3,
            staging_override: false,
        })
        .unwrap_err();
        assert_eq!(blockers, vec![Blocker::NothingToStageBeside { days: 3 }]);
        assert!(blockers[0].to_string().contains("--override-staging"));
    }

    #[test]
    fn evidence_beside_another_production_model_does_not_count() {
        let v = version(ModelStage::Staging, Some(true), SHA);
        let scored = evidence(9 * DAY_MICROS, 1_000);
        let blockers = clear_for_production(PromotionInput {
            version: &v,
            diff_items: &[],
            staging: Some(&scored),
            production_sha256: Some("ef"),
            staging_period_days: 3,
            staging_override: false,
        })
        .unwrap_err();
        assert_eq!(
            blockers,
            vec![Blocker::BesideAnotherProduction {
                days: 3,
                scored_beside: "cd".into(),
                production: "ef".into()
            }]
        );
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
