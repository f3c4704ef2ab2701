//! `otsentry eval`: fitting a model on labelled benchmark sets (ODDS as gzipped CSV), scoring the
//! same rows, and reporting ROC AUC and timings; plus the comparison with stored scikit-learn
//! reference output that the parity tests use.

mod dataset;
pub mod parity;
pub mod report;

use std::path::PathBuf;
use std::time::Instant;

use iforest::metrics::{MetricError, roc_auc};
use iforest::{
    DataError, FitError, ForestParams, Matrix, Model, ParamError, ScoreError, ZScoreParams,
};
use serde::Serialize;
use thiserror::Error;

pub use dataset::{LabelledData, datasets_in, read_labelled_csv_gz};

/// What went wrong in an evaluation, naming the file, line or dataset.
#[derive(Debug, Error)]
pub enum EvalError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no NAME.csv.gz files in {0}")]
    NoDatasets(PathBuf),
    #[error("{path}: bad header: {reason}")]
    Header { path: PathBuf, reason: String },
    #[error("{path}, line {line}, column {column}: `{value}` is not a number")]
    Field {
        path: PathBuf,
        line: usize,
        column: usize,
        value: String,
    },
    #[error("{path}, line {line}: {found} fields, expected {expected}")]
    FieldCount {
        path: PathBuf,
        line: usize,
        found: usize,
        expected: usize,
    },
    #[error("{path}: bad feature values")]
    Data {
        path: PathBuf,
        #[source]
        source: DataError,
    },
    #[error("invalid model parameters")]
    Params(#[from] ParamError),
    #[error("dataset {name}: fitting failed")]
    Fit {
        name: String,
        #[source]
        source: FitError,
    },
    #[error("dataset {name}: scoring failed")]
    Score {
        name: String,
        #[source]
        source: ScoreError,
    },
    #[error("dataset {name}: cannot compute the metric")]
    Metric {
        name: String,
        #[source]
        source: MetricError,
    },
    #[error("{path}: bad reference file: {reason}")]
    Reference { path: PathBuf, reason: String },
    #[error("the reference output has no dataset {0}")]
    MissingReference(String),
}

/// Which model to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// The Isolation Forest (scikit-learn semantics).
    Forest,
    /// Per-feature z-scores, the largest |z| per row.
    #[value(name = "zscore")]
    #[serde(rename = "zscore")]
    ZScore,
}

/// How to evaluate each dataset.
#[derive(Debug, Clone, Copy)]
pub struct EvalOptions {
    pub model_kind: ModelKind,
    /// Fits per dataset, with seeds `first_seed`, `first_seed + 1`, ...; the AUC is their mean.
    pub repeat: usize,
    pub first_seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            model_kind: ModelKind::Forest,
            repeat: 1,
            first_seed: ForestParams::default().random_state,
        }
    }
}

/// One dataset's evaluation.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    pub name: String,
    pub rows: usize,
    pub features: usize,
    pub outliers: usize,
    pub model_kind: ModelKind,
    /// Mean ROC AUC over the repeats.
    pub auc: f64,
    /// Population standard deviation of the AUC over the repeats (0 for one repeat).
    pub auc_std: f64,
    pub aucs: Vec<f64>,
    /// Mean of the fitted models' offsets.
    pub offset: f64,
    /// Mean wall-clock milliseconds to fit, and to score every row.
    pub fit_ms: f64,
    pub score_ms: f64,
}

/// Fits a model of `kind` with the default parameters and `seed` on `features`.
pub fn fit_model(
    kind: ModelKind,
    seed: u64,
    name: &str,
    features: &Matrix,
) -> Result<Model, EvalError> {
    let fit_error = |source| EvalError::Fit {
        name: name.to_string(),
        source,
    };
    Ok(match kind {
        ModelKind::Forest => {
            let params = ForestParams {
                random_state: seed,
                ..ForestParams::default()
            }
            .check()?;
            Model::Forest(params.fit(features).map_err(fit_error)?)
        }
        ModelKind::ZScore => Model::ZScore(
            ZScoreParams::default()
                .check()?
                .fit(features)
                .map_err(fit_error)?,
        ),
    })
}

/// ROC AUC of `score_samples` output against outlier labels (low scores are anomalous).
pub fn auc_of_scores(name: &str, scores: &[f64], labels: &[bool]) -> Result<f64, EvalError> {
    let anomaly: Vec<f64> = scores.iter().map(|score| -score).collect();
    roc_auc(&anomaly, labels).map_err(|source| EvalError::Metric {
        name: name.to_string(),
        source,
    })
}

/// Fits and scores `data` `options.repeat` times, as scikit-learn's benchmarks do: unsupervised,
/// on all rows, scoring the same rows.
pub fn evaluate(data: &LabelledData, options: &EvalOptions) -> Result<EvalResult, EvalError> {
    let repeat = options.repeat.max(1);
    let (mut aucs, mut offsets) = (Vec::new(), Vec::new());
    let (mut fit_ms, mut score_ms) = (0.0, 0.0);
    for run in 0..repeat {
        let seed = options.first_seed.wrapping_add(run as u64);
        let started = Instant::now();
        let model = fit_model(options.model_kind, seed, &data.name, &data.features)?;
        let fitted = Instant::now();
        let scores = model
            .score_samples(&data.features)
            .map_err(|source| EvalError::Score {
                name: data.name.clone(),
                source,
            })?;
        let scored = Instant::now();
        fit_ms += (fitted - started).as_secs_f64() * 1000.0;
        score_ms += (scored - fitted).as_secs_f64() * 1000.0;
        aucs.push(auc_of_scores(&data.name, &scores, &data.labels)?);
        offsets.push(model.offset());
    }
    let n = repeat as f64;
    let auc = aucs.iter().sum::<f64>() / n;
    let auc_std = (aucs.iter().map(|a| (a - auc) * (a - auc)).sum::<f64>() / n).sqrt();
    Ok(EvalResult {
        name: data.name.clone(),
        rows: data.features.n_rows(),
        features: data.features.n_features(),
        outliers: data.n_outliers(),
        model_kind: options.model_kind,
        auc,
        auc_std,
        aucs,
        offset: offsets.iter().sum::<f64>() / n,
        fit_ms: fit_ms / n,
        score_ms: score_ms / n,
    })
}
