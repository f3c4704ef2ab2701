//! Adversarial certification: tests that attack a model the way an evasive adversary would and
//! report, per detector and combined, what was caught and when. Every test scores through the
//! pipeline `score` and `watch` run (`crate::pipeline`), so it certifies the detectors the model
//! is deployed with, whatever they are, never a copy of them.
//!
//! The tests: the slow-drift injection test (`drift`), the canary test (`canary`: the kept
//! records of every confirmed incident must still raise an alert), and the realistic variants
//! (`variants`: a register-value drift, scenario attacks built from the model's own edges, and,
//! against a production model, the poisoning check), all streaming through `stream`. A model
//! is certified only when the drift test, every canary and every variant pass; a model that
//! fails is not deployable. A drift test whose undrifted control day is rejected is
//! inconclusive: it counts neither way, and a model with no conclusive drift test is not
//! certified (the verdict says what to run instead). Further drift tests can run beside the
//! first (`otsentry demo` runs the drift from the edge's own median, with the seed's fixed
//! drift beside it): each conclusive one must pass.

pub mod canary;
pub mod drift;
pub mod stream;
pub mod variants;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use canary::{CanaryError, CanaryResult};
pub use drift::{DetectorResult, DriftConfig, DriftError, DriftOutcome, DriftReport};
pub use variants::{VariantConfig, VariantError, VariantResult};

use crate::model::LoadedModel;
use crate::store::CanarySet;

/// The certification of one artifact: every test's report and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certification {
    /// The SHA-256 of the artifact certified; the registry accepts it for that artifact only.
    pub model_sha256: String,
    /// `otsentry <version>` that ran the tests.
    pub tool: String,
    pub passed: bool,
    pub drift: DriftReport,
    /// Further drift tests run beside `drift`, in the order configured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_drifts: Vec<DriftReport>,
    /// One result per incident canary set given; every one must be caught.
    #[serde(default)]
    pub canaries: Vec<CanaryResult>,
    /// The realistic variants, in report order; empty in a certification stored by an
    /// otsentry that did not run them.
    #[serde(default)]
    pub variants: Vec<VariantResult>,
    /// The tests that failed (`slow_drift`, `canary of incident N`, a variant's name).
    #[serde(default)]
    pub failed: Vec<String>,
    /// The drift tests that were inconclusive (their control day was rejected).
    #[serde(default)]
    pub inconclusive: Vec<String>,
}

impl Certification {
    /// Every drift test run, the first one first.
    pub fn drifts(&self) -> impl Iterator<Item = &DriftReport> {
        std::iter::once(&self.drift).chain(self.extra_drifts.iter())
    }

    /// Whether no drift test was conclusive, so the certification cannot pass on any.
    pub fn no_conclusive_drift(&self) -> bool {
        self.drifts()
            .all(|drift| drift.outcome() == DriftOutcome::Inconclusive)
    }
}

/// Why certification could not run.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error(transparent)]
    Drift(#[from] DriftError),
    #[error(transparent)]
    Canary(#[from] CanaryError),
    #[error(transparent)]
    Variant(#[from] VariantError),
}

/// What to run besides the canaries.
#[derive(Clone, Debug, Default)]
pub struct CertifyConfig {
    pub drift: DriftConfig,
    /// Further drift tests to run beside `drift` (none for `otsentry certify`).
    pub extra_drifts: Vec<DriftConfig>,
    pub variants: VariantConfig,
}

/// Runs every test on the model with the default variants: the drift test, the variants, and
/// the canary test on every set given.
pub fn certify(
    model: Arc<LoadedModel>,
    drift: &DriftConfig,
    canaries: &[(i64, CanarySet)],
) -> Result<Certification, CertifyError> {
    let config = CertifyConfig {
        drift: drift.clone(),
        ..CertifyConfig::default()
    };
    certify_with(model, &config, canaries, None)
}

/// Runs every test; with `production`, the poisoning check against it as well.
pub fn certify_with(
    model: Arc<LoadedModel>,
    config: &CertifyConfig,
    canaries: &[(i64, CanarySet)],
    production: Option<&LoadedModel>,
) -> Result<Certification, CertifyError> {
    config.variants.check()?;
    let report = drift::run(Arc::clone(&model), &config.drift)?;
    let extra_drifts = config
        .extra_drifts
        .iter()
        .map(|extra| drift::run(Arc::clone(&model), extra))
        .collect::<Result<Vec<_>, _>>()?;
    let canaries = canary::run(&model, canaries)?;
    let mut variant_config = config.variants.clone();
    // The variants judge the forest at the threshold the drift test uses.
    variant_config.threshold = config.drift.threshold;
    let mut variants = variants::run(&model, &variant_config)?;
    if let Some(production) = production {
        variants.push(variants::poisoning::check(&model, production, &canaries));
    }
    let mut certification = Certification {
        model_sha256: model.sha256.clone(),
        tool: format!("otsentry {}", env!("CARGO_PKG_VERSION")),
        passed: false,
        drift: report,
        extra_drifts,
        canaries,
        variants,
        failed: Vec::new(),
        inconclusive: Vec::new(),
    };
    certification.judge();
    Ok(certification)
}

impl Certification {
    /// Sets the verdict from the tests: what failed, which drift tests were inconclusive, and
    /// a pass only with nothing failed and at least one conclusive drift test.
    fn judge(&mut self) {
        self.failed = failures(self.drifts(), &self.canaries, &self.variants);
        self.inconclusive = self
            .drifts()
            .filter(|drift| drift.outcome() == DriftOutcome::Inconclusive)
            .map(|drift| drift.test.clone())
            .collect();
        self.passed = self.failed.is_empty() && !self.no_conclusive_drift();
    }
}

/// Every test that failed (an inconclusive drift test did not): the verdict is a pass only
/// when this is empty and a drift test was conclusive.
fn failures<'a>(
    drifts: impl Iterator<Item = &'a DriftReport>,
    canaries: &[CanaryResult],
    variants: &[VariantResult],
) -> Vec<String> {
    let mut failed: Vec<String> = drifts
        .filter(|drift| drift.outcome() == DriftOutcome::Fail)
        .map(|drift| drift.test.clone())
        .collect();
    for canary in canaries.iter().filter(|canary| !canary.caught) {
        failed.push(format!("canary of incident {}", canary.incident));
    }
    for variant in variants.iter().filter(|variant| !variant.passed) {
        failed.push(variant.test.clone());
    }
    failed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certification as an otsentry before the variants stored it.
    fn stored_before_variants() -> serde_json::Value {
        let poll = serde_json::json!({
            "orig_h": "10.0.0.5", "resp_h": "10.0.1.1", "resp_p": 502, "proto": "tcp",
            "service": "modbus", "conn_state": "SF", "duration": 0.01, "resp_bytes": 20,
            "orig_pkts": 4, "resp_pkts": 3, "chosen": "test"
        });
        let result = serde_json::json!({
            "detector": "combined", "drift_days": 7, "initial_value": 250.0,
            "target_value": 450.0, "total_polls": 10, "detected": 10, "detection_rate": 1.0,
            "first_detection_day": 1, "control_rate": 0.0, "meets_requirement": true
        });
        serde_json::json!({
            "model_sha256": "ab", "tool": "otsentry 0.1.0", "passed": true,
            "drift": {
                "test": "slow_drift", "model_sha256": "ab", "config": DriftConfig::default(),
                "poll": poll, "detectors": [result.clone()], "combined": result
            }
        })
    }

    #[test]
    fn a_certification_stored_before_the_variants_still_loads() {
        let old: Certification = serde_json::from_value(stored_before_variants()).unwrap();
        assert!(old.variants.is_empty());
        assert!(old.failed.is_empty());
        assert!(old.passed);
        // Stored before the outcome: its pass is read from meets_requirement.
        assert_eq!(old.drift.outcome(), DriftOutcome::Pass);
        assert!(old.inconclusive.is_empty());
    }

    #[test]
    fn an_inconclusive_drift_neither_fails_nor_passes_and_a_conclusive_one_decides() {
        let mut certification: Certification =
            serde_json::from_value(stored_before_variants()).unwrap();
        assert_eq!(certification.drift.outcome(), DriftOutcome::Pass);
        let rejected = DetectorResult {
            control_rate: 1.0,
            meets_requirement: false,
            outcome: Some(DriftOutcome::Inconclusive),
            ..certification.drift.combined.clone()
        };
        certification.drift.combined = rejected.clone();
        certification.judge();
        assert!(certification.failed.is_empty());
        assert_eq!(certification.inconclusive, ["slow_drift"]);
        assert!(!certification.passed, "no conclusive drift test");

        // The drift from the edge's median beside it decides, either way.
        let mut from_median: DriftReport = certification.drift.clone();
        from_median.test = "slow_drift_from_edge_median".into();
        from_median.combined = DetectorResult {
            control_rate: 0.0,
            meets_requirement: true,
            outcome: Some(DriftOutcome::Pass),
            ..rejected.clone()
        };
        certification.extra_drifts = vec![from_median.clone()];
        certification.judge();
        assert!(certification.passed);
        assert_eq!(certification.inconclusive, ["slow_drift"]);
        from_median.combined.outcome = Some(DriftOutcome::Fail);
        from_median.combined.meets_requirement = false;
        certification.extra_drifts = vec![from_median];
        certification.judge();
        assert!(!certification.passed);
        assert_eq!(certification.failed, ["slow_drift_from_edge_median"]);
    }

    #[test]
    fn one_failed_variant_fails_the_verdict_and_is_named() {
        let old: Certification = serde_json::from_value(stored_before_variants()).unwrap();
        let passing = VariantResult {
            test: "network_scan".into(),
            injected: String::new(),
            caught_by: Some("novelty.new_destination".into()),
            detectors: vec!["novelty".into()],
            caught: 1,
            total: 1,
            unit: "records flagged".into(),
            first_detection_secs: Some(0.0),
            requirement: String::new(),
            passed: true,
            details: Vec::new(),
        };
        let missed = VariantResult {
            test: "timing_mimicry".into(),
            caught_by: None,
            passed: false,
            ..passing.clone()
        };
        assert!(failures(old.drifts(), &old.canaries, std::slice::from_ref(&passing)).is_empty());
        assert_eq!(
            failures(old.drifts(), &old.canaries, &[passing, missed]),
            vec!["timing_mimicry".to_string()]
        );
    }
}
