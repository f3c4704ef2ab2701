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
//! fails is not deployable.

pub mod canary;
pub mod drift;
pub mod stream;
pub mod variants;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use canary::{CanaryError, CanaryResult};
pub use drift::{DetectorResult, DriftConfig, DriftError, DriftReport};
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
        variants: VariantConfig::default(),
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
    let canaries = canary::run(&model, canaries)?;
    let mut variant_config = config.variants.clone();
    // The variants judge the forest at the threshold the drift test uses.
    variant_config.threshold = config.drift.threshold;
    let mut variants = variants::run(&model, &variant_config)?;
    if let Some(production) = production {
        variants.push(variants::poisoning::check(&model, production, &canaries));
    }
    let failed = failures(&report, &canaries, &variants);
    Ok(Certification {
        model_sha256: model.sha256.clone(),
        tool: format!("otsentry {}", env!("CARGO_PKG_VERSION")),
        passed: failed.is_empty(),
        drift: report,
        canaries,
        variants,
        failed,
    })
}

/// Every test that failed: the verdict is a pass only when this is empty.
fn failures(
    drift: &DriftReport,
    canaries: &[CanaryResult],
    variants: &[VariantResult],
) -> Vec<String> {
    let mut failed = Vec::new();
    if !drift.combined.meets_requirement {
        failed.push(drift.test.clone());
    }
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
        assert!(failures(&old.drift, &old.canaries, std::slice::from_ref(&passing)).is_empty());
        assert_eq!(
            failures(&old.drift, &old.canaries, &[passing, missed]),
            vec!["timing_mimicry".to_string()]
        );
    }
}
