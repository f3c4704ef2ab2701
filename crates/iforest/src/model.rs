//! `Model`: either fitted model behind one interface, so the app can switch with `--model-kind`
//! and store either in its artifact.

use serde::{Deserialize, Serialize};

use crate::forest::{Forest, ScoreError, Screened};
use crate::matrix::Matrix;
use crate::path::ScoringOptions;
use crate::zscore::ZScoreModel;

/// A fitted anomaly model; both kinds share the forest's score conventions (`score_samples`
/// higher is more normal, `decision_function = score_samples - offset`, negative is anomalous).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "model", rename_all = "snake_case")]
pub enum Model {
    Forest(Forest),
    /// Tagged `zscore`, the name `--model-kind` uses.
    #[serde(rename = "zscore")]
    ZScore(ZScoreModel),
}

impl Model {
    /// A short name for manifests and logs: `forest` or `zscore`.
    pub fn kind(&self) -> &'static str {
        match self {
            Model::Forest(_) => "forest",
            Model::ZScore(_) => "zscore",
        }
    }

    pub fn score_samples(&self, data: &Matrix) -> Result<Vec<f64>, ScoreError> {
        match self {
            Model::Forest(forest) => forest.score_samples(data),
            Model::ZScore(zscore) => zscore.score_samples(data),
        }
    }

    /// `score_samples` where it is below `below` ([`Forest::screen_samples_with`], on the walk
    /// the environment chooses); a z-score model, cheap to score, gives every row exactly.
    pub fn screen_samples(&self, data: &Matrix, below: f64) -> Result<Vec<Screened>, ScoreError> {
        match self {
            Model::Forest(forest) => {
                forest.screen_samples_with(data, below, &ScoringOptions::from_env()?)
            }
            Model::ZScore(zscore) => Ok(zscore
                .score_samples(data)?
                .into_iter()
                .map(Screened::Exact)
                .collect()),
        }
    }

    pub fn decision_function(&self, data: &Matrix) -> Result<Vec<f64>, ScoreError> {
        match self {
            Model::Forest(forest) => forest.decision_function(data),
            Model::ZScore(zscore) => zscore.decision_function(data),
        }
    }

    pub fn score_row(&self, row: &[f32]) -> Result<f64, ScoreError> {
        match self {
            Model::Forest(forest) => forest.score_row(row),
            Model::ZScore(zscore) => zscore.score_row(row),
        }
    }

    pub fn offset(&self) -> f64 {
        match self {
            Model::Forest(forest) => forest.offset(),
            Model::ZScore(zscore) => zscore.offset(),
        }
    }

    pub fn n_features(&self) -> usize {
        match self {
            Model::Forest(forest) => forest.n_features(),
            Model::ZScore(zscore) => zscore.n_features(),
        }
    }

    /// The features that made `row` unusual, strongest first (see each model's `explain`).
    pub fn explain(&self, row: &[f32]) -> Result<Vec<(usize, f64)>, ScoreError> {
        match self {
            Model::Forest(forest) => forest.explain(row),
            Model::ZScore(zscore) => zscore.explain(row),
        }
    }
}
