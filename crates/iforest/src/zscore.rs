//! The z-score model, a simpler alternative to the forest over the same features: per-feature mean
//! and standard deviation, a row scored by how many standard deviations it strays.
//!
//! Its scores follow the forest's sign convention so the two are interchangeable behind
//! [`crate::Model`]: `score_samples` is `-max|z|` (or `-sum|z|`), higher is more normal, and
//! `decision_function = score_samples - offset` is negative for anomalies.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::forest::{FitError, ScoreError};
use crate::matrix::{DataError, Matrix};
use crate::metrics::percentile;
use crate::params::{Contamination, ParamError};

/// How a row's per-feature |z| values combine into one score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZAggregate {
    /// The largest |z|: one wild feature is enough.
    Max,
    /// The sum of |z|: many slightly unusual features add up.
    Sum,
}

/// Unchecked z-score parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZScoreParams {
    pub aggregate: ZAggregate,
    /// `Auto` puts the boundary three standard deviations out (see [`ZScoreModel::offset`]);
    /// a fraction takes that percentile of the training scores, as the forest does.
    pub contamination: Contamination,
}

impl Default for ZScoreParams {
    fn default() -> Self {
        ZScoreParams {
            aggregate: ZAggregate::Max,
            contamination: Contamination::Fraction(0.001),
        }
    }
}

/// Parameters that passed `ZScoreParams::check`; only these can fit a z-score model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidZScoreParams(ZScoreParams);

impl ZScoreParams {
    pub fn check(self) -> Result<ValidZScoreParams, ParamError> {
        self.contamination.check()?;
        Ok(ValidZScoreParams(self))
    }
}

/// Running per-feature count, mean and sum of squared deviations (Welford), so the app can fit the
/// z-score model on every row of a stream in one pass and constant memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    count: u64,
    mean: Vec<f64>,
    sum_squared_deviations: Vec<f64>,
}

impl Moments {
    pub fn new(n_features: usize) -> Moments {
        Moments {
            count: 0,
            mean: vec![0.0; n_features],
            sum_squared_deviations: vec![0.0; n_features],
        }
    }

    /// The moments of every row of `data`.
    pub fn of_matrix(data: &Matrix) -> Moments {
        let mut moments = Moments::new(data.n_features());
        for row in data.rows() {
            // Every row of a matrix has `n_features` values, so no length check is needed.
            moments.count += 1;
            moments.add_to_means(row);
        }
        moments
    }

    /// Adds one row; a row of the wrong length is refused and not counted.
    pub fn push(&mut self, row: &[f32]) -> Result<(), DataError> {
        if row.len() != self.mean.len() {
            return Err(DataError::RowLength {
                row: usize::try_from(self.count).unwrap_or(usize::MAX),
                found: row.len(),
                expected: self.mean.len(),
            });
        }
        self.count += 1;
        self.add_to_means(row);
        Ok(())
    }

    /// Welford's update for one row already counted in `count`.
    fn add_to_means(&mut self, row: &[f32]) {
        let count = self.count as f64;
        for ((mean, ssd), &value) in self
            .mean
            .iter_mut()
            .zip(&mut self.sum_squared_deviations)
            .zip(row)
        {
            let value = f64::from(value);
            let delta = value - *mean;
            *mean += delta / count;
            *ssd += delta * (value - *mean);
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn n_features(&self) -> usize {
        self.mean.len()
    }
}

/// A fitted z-score model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "UncheckedZScoreModel")]
pub struct ZScoreModel {
    params: ZScoreParams,
    n_seen: u64,
    mean: Vec<f64>,
    /// Population standard deviation per feature, 1.0 where the feature was constant (as
    /// scikit-learn's `StandardScaler` does), so a change in a constant feature scores its size.
    scale: Vec<f64>,
    offset: f64,
}

/// The serialised shape of a [`ZScoreModel`], checked before it becomes one (see
/// [`crate::UncheckedForest`] for why it is public).
#[derive(Deserialize)]
pub struct UncheckedZScoreModel {
    params: ZScoreParams,
    n_seen: u64,
    mean: Vec<f64>,
    scale: Vec<f64>,
    offset: f64,
}

impl TryFrom<UncheckedZScoreModel> for ZScoreModel {
    type Error = String;

    fn try_from(unchecked: UncheckedZScoreModel) -> Result<ZScoreModel, String> {
        if unchecked.mean.is_empty() || unchecked.mean.len() != unchecked.scale.len() {
            return Err("means and scales must be non-empty and of equal length".to_string());
        }
        if unchecked.scale.iter().any(|scale| {
            scale.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !scale.is_finite()
        }) || unchecked.mean.iter().any(|mean| !mean.is_finite())
            || !unchecked.offset.is_finite()
        {
            return Err("means, scales and offset must be finite, scales positive".to_string());
        }
        Ok(ZScoreModel {
            params: unchecked.params,
            n_seen: unchecked.n_seen,
            mean: unchecked.mean,
            scale: unchecked.scale,
            offset: unchecked.offset,
        })
    }
}

impl ValidZScoreParams {
    pub fn params(&self) -> &ZScoreParams {
        &self.0
    }

    /// Fits on all rows of `data`; the offset comes from their scores.
    pub fn fit(&self, data: &Matrix) -> Result<ZScoreModel, FitError> {
        self.fit_from_moments(&Moments::of_matrix(data), data)
    }

    /// Fits from moments accumulated over a stream, the offset from the scores of `offset_sample`
    /// (a reservoir sample of the same stream).
    pub fn fit_from_moments(
        &self,
        moments: &Moments,
        offset_sample: &Matrix,
    ) -> Result<ZScoreModel, FitError> {
        if moments.count == 0 || offset_sample.n_rows() == 0 {
            return Err(FitError::NoRows);
        }
        if moments.n_features() != offset_sample.n_features() {
            return Err(FitError::FeatureMismatch {
                fit: moments.n_features(),
                offset: offset_sample.n_features(),
            });
        }
        let count = moments.count as f64;
        let scale = moments
            .sum_squared_deviations
            .iter()
            .map(|ssd| {
                let std = (ssd / count).sqrt();
                if std > 0.0 && std.is_finite() {
                    std
                } else {
                    1.0
                }
            })
            .collect();
        let mut model = ZScoreModel {
            params: self.0,
            n_seen: moments.count,
            mean: moments.mean.clone(),
            scale,
            offset: 0.0,
        };
        model.offset = match self.0.contamination {
            Contamination::Auto => model.auto_offset(),
            Contamination::Fraction(contamination) => percentile(
                &model.scores_unchecked(offset_sample),
                100.0 * contamination,
            ),
        };
        Ok(model)
    }
}

impl ZScoreModel {
    /// `-max|z|` or `-sum|z|` per row: 0 at the mean, lower is more anomalous.
    pub fn score_samples(&self, data: &Matrix) -> Result<Vec<f64>, ScoreError> {
        self.check_features(data.n_features())?;
        Ok(self.scores_unchecked(data))
    }

    /// `score_samples - offset`; negative means anomalous.
    pub fn decision_function(&self, data: &Matrix) -> Result<Vec<f64>, ScoreError> {
        let mut scores = self.score_samples(data)?;
        scores.iter_mut().for_each(|score| *score -= self.offset);
        Ok(scores)
    }

    pub fn score_row(&self, row: &[f32]) -> Result<f64, ScoreError> {
        self.check_features(row.len())?;
        Ok(self.score_of(row))
    }

    /// The decision boundary in `score_samples` units. With `Contamination::Auto` it is a
    /// three-sigma rule: -3 for `Max`; for `Sum`, three standard deviations beyond the mean of a
    /// sum of `n` independent standard-normal |z| (mean `0.798 n`, deviation `0.603 sqrt(n)`).
    pub fn offset(&self) -> f64 {
        self.offset
    }

    pub fn params(&self) -> &ZScoreParams {
        &self.params
    }

    pub fn n_features(&self) -> usize {
        self.mean.len()
    }

    pub fn n_seen(&self) -> u64 {
        self.n_seen
    }

    /// Each feature's |z| for `row`, largest first, leaving out features exactly at their mean.
    pub fn explain(&self, row: &[f32]) -> Result<Vec<(usize, f64)>, ScoreError> {
        self.check_features(row.len())?;
        let mut contributions: Vec<(usize, f64)> = self
            .abs_z(row)
            .enumerate()
            .filter(|(_, z)| *z > 0.0)
            .collect();
        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(contributions)
    }

    fn auto_offset(&self) -> f64 {
        match self.params.aggregate {
            ZAggregate::Max => -3.0,
            ZAggregate::Sum => {
                let n = self.mean.len() as f64;
                -(0.797_884_560_802_865_4 * n + 3.0 * 0.602_810_275_638_838 * n.sqrt())
            }
        }
    }

    fn abs_z<'a>(&'a self, row: &'a [f32]) -> impl Iterator<Item = f64> + 'a {
        row.iter()
            .zip(self.mean.iter().zip(&self.scale))
            .map(|(&value, (mean, scale))| ((f64::from(value) - mean) / scale).abs())
    }

    fn score_of(&self, row: &[f32]) -> f64 {
        match self.params.aggregate {
            ZAggregate::Max => -self.abs_z(row).fold(0.0, f64::max),
            ZAggregate::Sum => -self.abs_z(row).sum::<f64>(),
        }
    }

    fn scores_unchecked(&self, data: &Matrix) -> Vec<f64> {
        let n_features = data.n_features();
        data.as_slice()
            .par_chunks(n_features)
            .map(|row| self.score_of(row))
            .collect()
    }

    fn check_features(&self, found: usize) -> Result<(), ScoreError> {
        if found == self.mean.len() {
            Ok(())
        } else {
            Err(ScoreError::FeatureMismatch {
                expected: self.mean.len(),
                found,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Matrix {
        Matrix::from_f64_rows(2, (0..100).map(|i| [f64::from(i), 5.0])).expect("valid")
    }

    #[test]
    fn moments_match_the_two_pass_formula() {
        let moments = Moments::of_matrix(&data());
        assert_eq!(moments.count(), 100);
        let model = ZScoreParams::default()
            .check()
            .expect("valid")
            .fit(&data())
            .expect("fit");
        // 0..100 has mean 49.5 and population variance (100^2 - 1) / 12.
        assert!((model.mean[0] - 49.5).abs() < 1e-9);
        assert!((model.scale[0] - (9999.0f64 / 12.0).sqrt()).abs() < 1e-9);
        // A constant feature gets scale 1, as StandardScaler does.
        assert_eq!(model.scale[1], 1.0);
    }

    #[test]
    fn scores_follow_the_forest_sign_convention() {
        let model = ZScoreParams {
            aggregate: ZAggregate::Max,
            contamination: Contamination::Auto,
        }
        .check()
        .expect("valid")
        .fit(&data())
        .expect("fit");
        assert_eq!(model.offset(), -3.0);
        let rows = Matrix::from_f64_rows(2, [[49.5, 5.0], [49.5, 9.0]]).expect("valid");
        let scores = model.score_samples(&rows).expect("score");
        assert_eq!(scores[0], 0.0);
        assert_eq!(scores[1], -4.0);
        let decision = model.decision_function(&rows).expect("decide");
        assert!(decision[0] > 0.0 && decision[1] < 0.0);
        assert_eq!(
            model.explain(&[49.5, 9.0]).expect("explain"),
            vec![(1, 4.0)]
        );
    }

    #[test]
    fn a_mismatched_row_is_an_error() {
        let model = ZScoreParams::default()
            .check()
            .expect("valid")
            .fit(&data())
            .expect("fit");
        assert_eq!(
            model.score_row(&[1.0]),
            Err(ScoreError::FeatureMismatch {
                expected: 2,
                found: 1
            })
        );
    }
}
