//! Adversarial certification: tests that attack a model the way an evasive adversary would and
//! report, per detector and combined, what was caught and when. Every test scores through the
//! pipeline `score` and `watch` run (`crate::pipeline`), so it certifies the detectors the model
//! is deployed with, whatever they are, never a copy of them.
//!
//! Today: the slow-drift injection test (`drift`). A model is certified when the combined result
//! of every test meets its requirement; a model that fails is not deployable.

pub mod drift;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use drift::{DetectorResult, DriftConfig, DriftError, DriftReport};

use crate::model::LoadedModel;

/// The certification of one artifact: every test's report and the verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certification {
    /// The SHA-256 of the artifact certified; the registry accepts it for that artifact only.
    pub model_sha256: String,
    /// `otsentry <version>` that ran the tests.
    pub tool: String,
    pub passed: bool,
    pub drift: DriftReport,
}

/// Runs every test on the model.
pub fn certify(model: Arc<LoadedModel>, drift: &DriftConfig) -> Result<Certification, DriftError> {
    let report = drift::run(Arc::clone(&model), drift)?;
    Ok(Certification {
        model_sha256: model.sha256.clone(),
        tool: format!("otsentry {}", env!("CARGO_PKG_VERSION")),
        passed: report.combined.meets_requirement,
        drift: report,
    })
}
