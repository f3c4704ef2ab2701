//! Parity with scikit-learn: reading the reference output that scripts/sklearn_reference writes
//! (gzipped JSON) and comparing our forest with it on one dataset. Kept apart from the tests so
//! that other suites (simulated plant features) can reuse it with their own reference files.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use iforest::metrics::spearman;
use serde::{Deserialize, Serialize};

use super::{EvalError, LabelledData, ModelKind, auc_of_scores, fit_model};

/// The whole reference file.
#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub sklearn_version: String,
    /// The `random_state` values scikit-learn was run with.
    pub seeds: Vec<u64>,
    pub datasets: BTreeMap<String, ReferenceDataset>,
}

/// scikit-learn's results on one dataset.
#[derive(Debug, Clone, Deserialize)]
pub struct ReferenceDataset {
    pub rows: usize,
    pub features: usize,
    pub outliers: usize,
    pub auc_seed42: f64,
    /// Mean ROC AUC over `Reference::seeds`.
    pub auc_mean: f64,
    pub auc_std: f64,
    pub offset_seed42: f64,
    pub offset_mean: f64,
    pub fit_ms_median: f64,
    pub score_ms_median: f64,
    /// The rows whose scores are stored (all rows of small sets, a fixed subsample of large ones).
    pub rows_index: Vec<usize>,
    pub score_samples_seed42: Vec<f64>,
    /// `score_samples` averaged over the seeds, at `rows_index`.
    pub score_samples_mean: Vec<f64>,
}

/// Reads a reference file written by scripts/sklearn_reference/run.sh.
pub fn load_reference(path: &Path) -> Result<Reference, EvalError> {
    let file = File::open(path).map_err(|source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_reader(MultiGzDecoder::new(file)).map_err(|error| EvalError::Reference {
        path: path.to_path_buf(),
        reason: error.to_string(),
    })
}

/// How our forest compares with scikit-learn's on one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct Parity {
    pub name: String,
    pub seeds: usize,
    /// Our mean ROC AUC over the seeds, and scikit-learn's over its seeds.
    pub our_auc: f64,
    pub sklearn_auc: f64,
    pub auc_gap: f64,
    /// Spearman correlation between our seed-averaged `score_samples` and scikit-learn's, on the
    /// stored rows.
    pub spearman: f64,
    pub our_offset: f64,
    pub sklearn_offset: f64,
}

/// Fits our forest with default parameters and each of `seeds` on `data`, and compares AUC, scores
/// and offset with scikit-learn's stored results for the same dataset.
pub fn compare(
    data: &LabelledData,
    reference: &ReferenceDataset,
    seeds: &[u64],
) -> Result<Parity, EvalError> {
    let n_rows = data.features.n_rows();
    let mismatch = |reason: String| EvalError::Reference {
        path: data.name.clone().into(),
        reason,
    };
    if reference.rows != n_rows || reference.features != data.features.n_features() {
        return Err(mismatch(format!(
            "the reference has {} rows of {} features, the data {} of {}",
            reference.rows,
            reference.features,
            n_rows,
            data.features.n_features()
        )));
    }
    if reference.rows_index.iter().any(|&row| row >= n_rows)
        || reference.rows_index.len() != reference.score_samples_mean.len()
    {
        return Err(mismatch("stored rows do not fit the data".to_string()));
    }
    let seeds = if seeds.is_empty() { &[42][..] } else { seeds };

    let mut score_sums = vec![0.0; reference.rows_index.len()];
    let (mut auc_sum, mut offset_sum) = (0.0, 0.0);
    for &seed in seeds {
        let model = fit_model(ModelKind::Forest, seed, &data.name, &data.features)?;
        let scores = model
            .score_samples(&data.features)
            .map_err(|source| EvalError::Score {
                name: data.name.clone(),
                source,
            })?;
        auc_sum += auc_of_scores(&data.name, &scores, &data.labels)?;
        offset_sum += model.offset();
        for (sum, &row) in score_sums.iter_mut().zip(&reference.rows_index) {
            *sum += scores[row];
        }
    }
    let n = seeds.len() as f64;
    let our_auc = auc_sum / n;
    let rho = spearman(&score_sums, &reference.score_samples_mean).map_err(|source| {
        EvalError::Metric {
            name: data.name.clone(),
            source,
        }
    })?;
    Ok(Parity {
        name: data.name.clone(),
        seeds: seeds.len(),
        our_auc,
        sklearn_auc: reference.auc_mean,
        auc_gap: (our_auc - reference.auc_mean).abs(),
        spearman: rho,
        our_offset: offset_sum / n,
        sklearn_offset: reference.offset_mean,
    })
}
