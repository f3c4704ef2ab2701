//! The fitted Isolation Forest: fitting from checked parameters (from all rows, or from reservoir
//! samples of a stream), scoring with scikit-learn's `score_samples` / `offset_` /
//! `decision_function` semantics, and explaining which features isolated a row.
//!
//! Fitting and scoring run on rayon's pool. Tree `t` draws all its randomness from a ChaCha8 stream
//! `t` seeded by `random_state`, and each row's path lengths are summed in tree order, so results do
//! not depend on the number of threads.

use rand::SeedableRng;
use rand::seq::index;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::matrix::Matrix;
use crate::metrics::percentile;
use crate::params::{Contamination, ForestParams, ValidForestParams};
use crate::path::{PathError, ScoringOptions};
use crate::scoring::{Plan, Scorer, Screen};
use crate::tree::{self, GrowInput, Tree, average_path_length};

/// Rows scored per rayon task; each task walks every tree over its block, so a block's features
/// stay in cache while the trees stream past.
const SCORE_BLOCK_ROWS: usize = 2048;

/// The deepest tree we build (`max_samples` up to 2^24 rows); deeper complete trees would need
/// gigabytes per tree.
const MAX_DEPTH: u32 = 24;

/// Why a model could not be fitted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FitError {
    #[error("cannot fit a model on zero rows")]
    NoRows,
    #[error("the fitting sample has {fit} features but the offset sample has {offset}")]
    FeatureMismatch { fit: usize, offset: usize },
    #[error(
        "max_samples resolves to {needed} rows per tree but the tree sample holds only {available}; \
         keep a larger reservoir"
    )]
    SampleTooSmall { needed: usize, available: usize },
    #[error("the tree sample has {sample} rows, more than the {seen} rows said to have been seen")]
    MoreSampledThanSeen { sample: usize, seen: u64 },
    #[error("max_samples {0} would need trees deeper than {MAX_DEPTH} levels")]
    TooDeep(usize),
    #[error("a tree sample of {0} rows is more than this implementation indexes (2^32 - 1)")]
    TooManyRows(usize),
    #[error("cannot score the offset sample: {0}")]
    Scoring(#[from] PathError),
}

/// Why rows could not be scored.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ScoreError {
    #[error("the model was fitted on {expected} features but the rows have {found}")]
    FeatureMismatch { expected: usize, found: usize },
    #[error(transparent)]
    Path(#[from] PathError),
}

/// A fitted Isolation Forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedForest")]
pub struct Forest {
    params: ForestParams,
    n_features: usize,
    /// The resolved number of rows each tree was grown on, scikit-learn's `max_samples_`.
    max_samples: usize,
    /// How many rows the training data had (the stream length when fitted from reservoirs).
    n_seen: u64,
    depth: u32,
    offset: f64,
    /// Per feature, the smallest and largest value in the tree sample.
    training_min: Vec<f32>,
    training_max: Vec<f32>,
    /// Per feature, the median of the tree sample: the "typical value" `explain` resets to.
    training_median: Vec<f32>,
    trees: Vec<Tree>,
    /// The trees in scoring layout, derived from `trees` (never serialised).
    #[serde(skip_serializing)]
    scorer: Scorer,
}

/// The serialised shape of a [`Forest`], checked before it becomes one (`Forest::try_from`).
/// Deserialise this rather than a `Forest` to keep the reason a stored forest is refused: formats
/// such as postcard replace a custom deserialisation message with a generic one.
#[derive(Deserialize)]
pub struct UncheckedForest {
    params: ForestParams,
    n_features: usize,
    max_samples: usize,
    n_seen: u64,
    depth: u32,
    offset: f64,
    training_min: Vec<f32>,
    training_max: Vec<f32>,
    /// Per feature, the median of the tree sample: the "typical value" `explain` resets to.
    training_median: Vec<f32>,
    trees: Vec<Tree>,
}

impl TryFrom<UncheckedForest> for Forest {
    type Error = String;

    fn try_from(unchecked: UncheckedForest) -> Result<Forest, String> {
        if unchecked.depth == 0 || unchecked.depth > MAX_DEPTH {
            return Err(format!("tree depth {} is out of range", unchecked.depth));
        }
        if unchecked.n_features == 0
            || unchecked.training_min.len() != unchecked.n_features
            || unchecked.training_max.len() != unchecked.n_features
            || unchecked.training_median.len() != unchecked.n_features
        {
            return Err("feature ranges do not match the feature count".to_string());
        }
        if unchecked.trees.is_empty() || !unchecked.offset.is_finite() {
            return Err("a forest needs trees and a finite offset".to_string());
        }
        // Validates every tree against the depth and feature count.
        let scorer = Scorer::new(&unchecked.trees, unchecked.depth, unchecked.n_features)?;
        Ok(Forest {
            params: unchecked.params,
            n_features: unchecked.n_features,
            max_samples: unchecked.max_samples,
            n_seen: unchecked.n_seen,
            depth: unchecked.depth,
            offset: unchecked.offset,
            training_min: unchecked.training_min,
            training_max: unchecked.training_max,
            training_median: unchecked.training_median,
            trees: unchecked.trees,
            scorer,
        })
    }
}

/// A row's `score_samples` when only scores below a bound matter ([`Forest::screen_samples_with`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Screened {
    /// The row's `score_samples`, bit for bit.
    Exact(f64),
    /// The row scores at least the bound; it was not walked through every tree.
    NotBelow,
}

impl Screened {
    /// The exact score, if the row has one.
    pub fn exact(self) -> Option<f64> {
        match self {
            Screened::Exact(score) => Some(score),
            Screened::NotBelow => None,
        }
    }
}

impl ValidForestParams {
    /// Fits on all rows of `data`, exactly as scikit-learn's `IsolationForest.fit(X)`: each tree
    /// draws `max_samples` rows without replacement, and the offset comes from the scores of `data`.
    pub fn fit(&self, data: &Matrix) -> Result<Forest, FitError> {
        self.fit_from_sample(data, data.n_rows() as u64, data)
    }

    /// Fits from uniform samples of a stream too large to hold: `tree_sample` is a reservoir the
    /// trees draw their rows from, `n_seen` is the number of rows the stream had (it resolves
    /// `max_samples` as `fit` would on the whole stream), and the offset is set from the scores of
    /// `offset_sample`, another (usually larger) reservoir. `fit(x)` equals
    /// `fit_from_sample(x, x.n_rows(), x)`. docs/isolation-forest.md argues the equivalence.
    pub fn fit_from_sample(
        &self,
        tree_sample: &Matrix,
        n_seen: u64,
        offset_sample: &Matrix,
    ) -> Result<Forest, FitError> {
        match self.params().contamination {
            // scikit-learn's 'auto' offset needs no scores.
            Contamination::Auto => self.grow(tree_sample, n_seen, offset_sample),
            Contamination::Fraction(_) => self
                .fit_from_sample_scored(tree_sample, n_seen, offset_sample)
                .map(|(forest, _)| forest),
        }
    }

    /// [`ValidForestParams::fit_from_sample`], and the fitted forest's `score_samples` of every
    /// row of `offset_sample`: a caller that needs them (train calibrates its threshold on them)
    /// gets the scores the offset was computed from instead of walking the sample again.
    pub fn fit_from_sample_scored(
        &self,
        tree_sample: &Matrix,
        n_seen: u64,
        offset_sample: &Matrix,
    ) -> Result<(Forest, Vec<f64>), FitError> {
        let mut forest = self.grow(tree_sample, n_seen, offset_sample)?;
        let scores = forest.scores_unchecked(offset_sample, &ScoringOptions::from_env()?)?;
        if let Contamination::Fraction(contamination) = forest.params.contamination {
            forest.offset = percentile(&scores, 100.0 * contamination);
        }
        Ok((forest, scores))
    }

    /// The trees of a fit from samples, with scikit-learn's 'auto' offset (-0.5).
    fn grow(
        &self,
        tree_sample: &Matrix,
        n_seen: u64,
        offset_sample: &Matrix,
    ) -> Result<Forest, FitError> {
        let n_rows = tree_sample.n_rows();
        if n_rows == 0 || offset_sample.n_rows() == 0 {
            return Err(FitError::NoRows);
        }
        if tree_sample.n_features() != offset_sample.n_features() {
            return Err(FitError::FeatureMismatch {
                fit: tree_sample.n_features(),
                offset: offset_sample.n_features(),
            });
        }
        if (n_rows as u64) > n_seen {
            return Err(FitError::MoreSampledThanSeen {
                sample: n_rows,
                seen: n_seen,
            });
        }
        if u32::try_from(n_rows).is_err() {
            return Err(FitError::TooManyRows(n_rows));
        }
        let max_samples = self.resolved_max_samples(n_seen);
        if max_samples > n_rows {
            return Err(FitError::SampleTooSmall {
                needed: max_samples,
                available: n_rows,
            });
        }
        let depth = tree::depth_limit(max_samples);
        if depth > MAX_DEPTH {
            return Err(FitError::TooDeep(max_samples));
        }
        let params = *self.params();
        let n_features = tree_sample.n_features();
        let n_tree_features = self.resolved_max_features(n_features);
        let trees: Vec<Tree> = (0..params.n_estimators)
            .into_par_iter()
            .map(|tree_idx| {
                // One independent ChaCha stream per tree: the tree does not depend on which
                // thread grows it, and forests with neighbouring seeds share no trees.
                let mut rng = ChaCha8Rng::seed_from_u64(params.random_state);
                rng.set_stream(tree_idx as u64);
                let sample = index::sample(&mut rng, n_rows, max_samples)
                    .into_iter()
                    .map(|row| row as u32)
                    .collect();
                let features = if n_tree_features == n_features {
                    (0..n_features as u32).collect()
                } else {
                    let mut drawn: Vec<u32> = index::sample(&mut rng, n_features, n_tree_features)
                        .into_iter()
                        .map(|feature| feature as u32)
                        .collect();
                    drawn.sort_unstable();
                    drawn
                };
                let input = GrowInput {
                    data: tree_sample,
                    sample,
                    features,
                    depth,
                };
                tree::grow(input, &mut rng)
            })
            .collect();
        let (training_min, training_max) = feature_ranges(tree_sample);
        let training_median = feature_medians(tree_sample);
        let scorer = Scorer::new(&trees, depth, n_features)
            .expect("grown trees are complete and split only on features of the sample");
        Ok(Forest {
            params,
            n_features,
            max_samples,
            n_seen,
            depth,
            offset: -0.5,
            training_min,
            training_max,
            training_median,
            trees,
            scorer,
        })
    }
}

fn feature_ranges(data: &Matrix) -> (Vec<f32>, Vec<f32>) {
    let mut min = vec![f32::INFINITY; data.n_features()];
    let mut max = vec![f32::NEG_INFINITY; data.n_features()];
    for row in data.rows() {
        for (feature, &value) in row.iter().enumerate() {
            min[feature] = min[feature].min(value);
            max[feature] = max[feature].max(value);
        }
    }
    (min, max)
}

/// Per feature, the median (the lower middle value for an even count) of the rows of `data`.
fn feature_medians(data: &Matrix) -> Vec<f32> {
    let mut column = Vec::with_capacity(data.n_rows());
    (0..data.n_features())
        .map(|feature| {
            column.clear();
            column.extend(data.rows().map(|row| row[feature]));
            let middle = (column.len() - 1) / 2;
            *column.select_nth_unstable_by(middle, f32::total_cmp).1
        })
        .collect()
}

impl Forest {
    /// scikit-learn's `score_samples`: `-2^(-E[h(x)] / c(max_samples))`, in [-1, 0]; lower is
    /// more anomalous, ordinary rows score about -0.5.
    ///
    /// The walk and the cell cache are [`ScoringOptions::from_env`]'s: the fastest the CPU runs
    /// unless `OTSENTRY_FOREST_PATH` or `OTSENTRY_FOREST_CACHE` say otherwise. Every choice gives
    /// the same scores bit for bit.
    pub fn score_samples(&self, data: &Matrix) -> Result<Vec<f64>, ScoreError> {
        self.score_samples_with(data, &ScoringOptions::from_env()?)
    }

    /// [`Forest::score_samples`] with the walk and the cell cache `options` choose; an error
    /// when they force a path this CPU does not run.
    pub fn score_samples_with(
        &self,
        data: &Matrix,
        options: &ScoringOptions,
    ) -> Result<Vec<f64>, ScoreError> {
        self.check_features(data.n_features())?;
        Ok(self.scores_unchecked(data, options)?)
    }

    /// `score_samples` where it is below `below`: every row scoring under `below` comes back
    /// [`Screened::Exact`], bit for bit what [`Forest::score_samples_with`] gives; a row that
    /// scores at least `below` may come back [`Screened::NotBelow`] instead, once the trees it has
    /// been walked through prove it whatever the others give (its sum so far plus the smallest
    /// leaf of each tree left reaches the sum of that score). A caller that only flags low scores
    /// (the pipeline's forest threshold) skips most of the walk of ordinary rows this way.
    pub fn screen_samples_with(
        &self,
        data: &Matrix,
        below: f64,
        options: &ScoringOptions,
    ) -> Result<Vec<Screened>, ScoreError> {
        self.check_features(data.n_features())?;
        Ok(self.screened_unchecked(data, below, options)?)
    }

    /// How many distinct cells of the forest's partition the rows of `data` fall in: rows of
    /// one cell land in the same leaf of every tree, so the cell cache walks each cell once
    /// while it stays in the table. `None` when a feature has more distinct thresholds than the
    /// cache keys hold (then it is not used).
    pub fn distinct_cells(&self, data: &Matrix) -> Result<Option<usize>, ScoreError> {
        self.check_features(data.n_features())?;
        Ok(self.scorer.distinct_cells(data.as_slice()))
    }

    /// scikit-learn's `decision_function`: `score_samples - offset`; negative means anomalous.
    pub fn decision_function(&self, data: &Matrix) -> Result<Vec<f64>, ScoreError> {
        let mut scores = self.score_samples(data)?;
        for score in &mut scores {
            *score -= self.offset;
        }
        Ok(scores)
    }

    /// `score_samples` for a single row.
    pub fn score_row(&self, row: &[f32]) -> Result<f64, ScoreError> {
        self.check_features(row.len())?;
        let sum: f64 = self
            .trees
            .iter()
            .map(|tree| tree.leaves[tree.leaf_of(row)])
            .sum();
        Ok(self.score_from_sum(sum))
    }

    /// scikit-learn's `offset_`: the decision boundary in `score_samples` units.
    pub fn offset(&self) -> f64 {
        self.offset
    }

    pub fn params(&self) -> &ForestParams {
        &self.params
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The resolved rows per tree, scikit-learn's `max_samples_`.
    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// The number of training rows the forest represents (the whole stream for reservoir fits).
    pub fn n_seen(&self) -> u64 {
        self.n_seen
    }

    /// Which features made `row` anomalous, strongest first. For each feature, the row is scored
    /// again with that one value replaced by the training sample's median; the contribution is how
    /// much `score_samples` rises (the row looks more normal) when that feature is made typical.
    /// A row that is extreme in one feature becomes ordinary when that feature alone is reset, so
    /// that feature carries nearly all the weight. Features whose reset does not raise the score
    /// are left out; ties keep feature order, so the result is deterministic. Contributions are in
    /// score units, so they compare directly with the decision value.
    pub fn explain(&self, row: &[f32]) -> Result<Vec<(usize, f64)>, ScoreError> {
        let base = self.score_row(row)?;
        let mut probe = row.to_vec();
        let mut contributions = Vec::new();
        for (feature, &median) in self.training_median.iter().enumerate() {
            if row[feature] == median {
                continue;
            }
            probe[feature] = median;
            let gain = self.score_row(&probe)? - base;
            probe[feature] = row[feature];
            if gain > 0.0 {
                contributions.push((feature, gain));
            }
        }
        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(contributions)
    }

    /// The features of `row` that lie outside the range seen in the training sample.
    pub fn outside_training_range(&self, row: &[f32]) -> Result<Vec<usize>, ScoreError> {
        self.check_features(row.len())?;
        Ok(row
            .iter()
            .enumerate()
            .filter(|&(feature, &value)| {
                value < self.training_min[feature] || value > self.training_max[feature]
            })
            .map(|(feature, _)| feature)
            .collect())
    }

    fn check_features(&self, found: usize) -> Result<(), ScoreError> {
        if found == self.n_features {
            Ok(())
        } else {
            Err(ScoreError::FeatureMismatch {
                expected: self.n_features,
                found,
            })
        }
    }

    /// Scores rows that the caller has checked are `self.n_features` wide.
    fn scores_unchecked(
        &self,
        data: &Matrix,
        options: &ScoringOptions,
    ) -> Result<Vec<f64>, PathError> {
        let plan = Plan::new(options.resolve()?, options.cache);
        let n_features = self.n_features;
        debug_assert_eq!(data.n_features(), n_features);
        let mut sums = vec![0.0f64; data.n_rows()];
        sums.par_chunks_mut(SCORE_BLOCK_ROWS)
            .zip(data.as_slice().par_chunks(SCORE_BLOCK_ROWS * n_features))
            .for_each(|(block_sums, block_rows)| {
                self.scorer.score_block(block_rows, block_sums, plan, None);
            });
        Ok(sums
            .into_iter()
            .map(|sum| self.score_from_sum(sum))
            .collect())
    }

    /// [`Forest::screen_samples_with`] for rows the caller has checked are `self.n_features`
    /// wide.
    fn screened_unchecked(
        &self,
        data: &Matrix,
        below: f64,
        options: &ScoringOptions,
    ) -> Result<Vec<Screened>, PathError> {
        let plan = Plan::new(options.resolve()?, options.cache);
        let n_features = self.n_features;
        let floor = self.sum_floor(below);
        let mut sums = vec![0.0f64; data.n_rows()];
        let mut settled = vec![false; data.n_rows()];
        sums.par_chunks_mut(SCORE_BLOCK_ROWS)
            .zip(settled.par_chunks_mut(SCORE_BLOCK_ROWS))
            .zip(data.as_slice().par_chunks(SCORE_BLOCK_ROWS * n_features))
            .for_each(|((block_sums, block_settled), block_rows)| {
                let screen = Screen {
                    floor,
                    settled: block_settled,
                };
                self.scorer
                    .score_block(block_rows, block_sums, plan, Some(screen));
            });
        Ok(sums
            .into_iter()
            .zip(settled)
            .map(|(sum, settled)| {
                if settled {
                    Screened::NotBelow
                } else {
                    Screened::Exact(self.score_from_sum(sum))
                }
            })
            .collect())
    }

    /// The least sum of path lengths whose score is at least `below`: the inverse of
    /// [`Forest::score_from_sum`] (scores rise with the sum). Infinite where no sum proves it:
    /// `below` at or above 0, not a number, or a forest of one training row (every score -0.5).
    fn sum_floor(&self, below: f64) -> f64 {
        let denominator = self.trees.len() as f64 * average_path_length(self.max_samples);
        if denominator == 0.0 || below.is_nan() || below >= 0.0 {
            return f64::INFINITY;
        }
        -denominator * (-below).log2()
    }

    fn score_from_sum(&self, sum: f64) -> f64 {
        let denominator = self.trees.len() as f64 * average_path_length(self.max_samples);
        // scikit-learn sets the exponent to -1 when the denominator is zero (one training row).
        let exponent = if denominator != 0.0 {
            -sum / denominator
        } else {
            -1.0
        };
        -(2f64.powf(exponent))
    }
}
