//! The canary test: every confirmed incident's records are kept (a canary set, referenced from
//! the incident in the store), and a model must still raise an alert on each set. A retrain
//! whose window held the attacker learns the attacker as normal; this test is where that shows.
//! Each set is scored through the same `score` driver and pipeline as live traffic, after its
//! files are checked against the digests recorded when they were kept.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::LoadedModel;
use crate::score::{ScoreConfig, ScoreError, score};
use crate::sinks::Collect;
use crate::store::CanarySet;

/// What one incident's canary set gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CanaryResult {
    pub incident: i64,
    pub files: usize,
    pub records: u64,
    /// Distinct alerts the model raised on the set.
    pub alerts: usize,
    /// The detectors behind them.
    pub detectors: Vec<String>,
    pub caught: bool,
}

/// Why a canary set could not be tested: a test that cannot run is a failure, never a pass.
#[derive(Debug, thiserror::Error)]
pub enum CanaryError {
    #[error("canary file {path} of incident {incident} cannot be read: {source}")]
    Read {
        incident: i64,
        path: String,
        source: std::io::Error,
    },
    #[error(
        "canary file {path} of incident {incident} changed since it was kept (sha256 {actual}, kept {kept})"
    )]
    Changed {
        incident: i64,
        path: String,
        actual: String,
        kept: String,
    },
    #[error("scoring the canary set of incident {incident} failed: {source}")]
    Score { incident: i64, source: ScoreError },
}

/// The set's files, each checked against the digest recorded when it was kept: a changed or
/// missing canary is an error, never a silent pass.
pub fn verify_files(incident: i64, set: &CanarySet) -> Result<Vec<PathBuf>, CanaryError> {
    let mut paths = Vec::new();
    for file in &set.files {
        let bytes = std::fs::read(&file.path).map_err(|source| CanaryError::Read {
            incident,
            path: file.path.clone(),
            source,
        })?;
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != file.sha256 {
            return Err(CanaryError::Changed {
                incident,
                path: file.path.clone(),
                actual,
                kept: file.sha256.clone(),
            });
        }
        paths.push(PathBuf::from(&file.path));
    }
    Ok(paths)
}

/// Scores every canary set with the model; one result per set, in the order given.
pub fn run(
    model: &Arc<LoadedModel>,
    sets: &[(i64, CanarySet)],
) -> Result<Vec<CanaryResult>, CanaryError> {
    let mut results = Vec::new();
    for (incident, set) in sets {
        let incident = *incident;
        let paths = verify_files(incident, set)?;
        let config = ScoreConfig::new(paths, model);
        let mut sink = Collect::default();
        let summary = score(Arc::clone(model), &config, |_| {}, &mut sink)
            .map_err(|source| CanaryError::Score { incident, source })?;
        let ids: BTreeSet<&str> = sink.alerts.iter().map(|alert| alert.id.as_str()).collect();
        let detectors: BTreeSet<String> = sink
            .alerts
            .iter()
            .map(|alert| alert.detector.clone())
            .collect();
        results.push(CanaryResult {
            incident,
            files: set.files.len(),
            records: summary.source.records_read,
            alerts: ids.len(),
            detectors: detectors.into_iter().collect(),
            caught: !ids.is_empty(),
        });
    }
    Ok(results)
}
