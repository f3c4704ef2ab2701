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

/// The bounds a parity check holds our forest to.
#[derive(Debug, Clone, Copy)]
pub struct ParityBounds {
    pub max_auc_gap: f64,
    pub min_spearman: f64,
    /// `None` leaves the offset unchecked.
    pub max_offset_gap: Option<f64>,
}

impl Parity {
    /// Every bound this comparison breaks, each as a sentence naming the dataset and the figures.
    pub fn breaches(&self, bounds: &ParityBounds) -> Vec<String> {
        let name = &self.name;
        let mut breaches = Vec::new();
        if self.auc_gap > bounds.max_auc_gap {
            breaches.push(format!(
                "{name}: auc {:.4} is more than {} from scikit-learn's {:.4}",
                self.our_auc, bounds.max_auc_gap, self.sklearn_auc
            ));
        }
        if self.spearman < bounds.min_spearman {
            breaches.push(format!(
                "{name}: rank correlation {:.4} with scikit-learn's scores is below {}",
                self.spearman, bounds.min_spearman
            ));
        }
        if let Some(max_offset_gap) = bounds.max_offset_gap
            && (self.our_offset - self.sklearn_offset).abs() > max_offset_gap
        {
            breaches.push(format!(
                "{name}: offset {:.4} is more than {max_offset_gap} from scikit-learn's {:.4}",
                self.our_offset, self.sklearn_offset
            ));
        }
        breaches
    }
}

impl std::fmt::Display for Parity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{}: auc {:.4} vs scikit-learn {:.4} (gap {:.4}), spearman {:.4}, offset {:.4} vs {:.4}",
            self.name,
            self.our_auc,
            self.sklearn_auc,
            self.auc_gap,
            self.spearman,
            self.our_offset,
            self.sklearn_offset
        )
    }
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

#[cfg(test)]
mod breach_tests {
    use super::{Parity, ParityBounds};

    fn parity(auc_gap: f64, spearman: f64, offset_gap: f64) -> Parity {
        Parity {
            name: "set".to_string(),
            seeds: 1,
            our_auc: 0.9,
            sklearn_auc: 0.9 + auc_gap,
            auc_gap,
            spearman,
            our_offset: -0.5,
            sklearn_offset: -0.5 + offset_gap,
        }
    }

    const BOUNDS: ParityBounds = ParityBounds {
        max_auc_gap: 0.02,
        min_spearman: 0.95,
        max_offset_gap: Some(0.02),
    };

    #[test]
    fn each_broken_bound_is_named_once() {
        assert!(parity(0.01, 0.99, 0.01).breaches(&BOUNDS).is_empty());
        let breaches = parity(0.03, 0.90, 0.05).breaches(&BOUNDS);
        assert_eq!(breaches.len(), 3, "{breaches:?}");
        assert!(breaches[0].starts_with("set: auc 0.9000 is more than 0.02"));
        assert!(breaches[1].contains("rank correlation 0.9000"));
        assert!(breaches[2].contains("offset -0.5000"));
    }

    #[test]
    fn an_unchecked_offset_is_never_a_breach() {
        let bounds = ParityBounds {
            max_offset_gap: None,
            ..BOUNDS
        };
        assert!(parity(0.0, 1.0, 0.5).breaches(&bounds).is_empty());
    }
}
