//! Adversarial certification: tests that attack a model the way an evasive adversary would and
//! report, per detector and combined, what was caught and when. Every test scores through the
//! pipeline `score` and `watch` run (`crate::pipeline`), so it certifies the detectors the model
//! is deployed with, whatever they are, never a copy of them.
//!
//! Today: the slow-drift injection test (`drift`) and the canary test (`canary`: the kept records
//! of every confirmed incident must still raise an alert). A model is certified when the
//! combined result of every test meets its requirement; a model that fails is not deployable.

pub mod canary;
pub mod drift;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use canary::{CanaryError, CanaryResult};
pub use drift::{DetectorResult, DriftConfig, DriftError, DriftReport};

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
}

/// Why certification could not run.
#[derive(Debug, thiserror::Error)]
pub enum CertifyError {
    #[error(transparent)]
    Drift(#[from] DriftError),
    #[error(transparent)]
    Canary(#[from] CanaryError),
}

/// Runs every test on the model: the drift test, and the canary test on every set given.
pub fn certify(
    model: Arc<LoadedModel>,
    drift: &DriftConfig,
    canaries: &[(i64, CanarySet)],
) -> Result<Certification, CertifyError> {
    let report = drift::run(Arc::clone(&model), drift)?;
    let canaries = canary::run(&model, canaries)?;
    Ok(Certification {
        model_sha256: model.sha256.clone(),
        tool: format!("otsentry {}", env!("CARGO_PKG_VERSION")),
        passed: report.combined.meets_requirement && canaries.iter().all(|result| result.caught),
        drift: report,
        canaries,
    })
}
