//! Isolation Forest hyper-parameters: the unchecked `ForestParams` a caller fills in, and the
//! `ValidForestParams` that `check()` returns and that alone can fit a forest (linfa's ParamGuard).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How many training rows each tree sees, as scikit-learn's `max_samples`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaxSamples {
    /// `min(256, n_rows)`, scikit-learn's `'auto'`.
    Auto,
    /// A fixed number of rows; more rows than the data has is reduced to `n_rows`, as scikit-learn does.
    Count(usize),
    /// A fraction in (0, 1] of the training rows, truncated as scikit-learn's `int(f * n)`.
    Fraction(f64),
}

/// How the decision threshold (`offset`) is set, as scikit-learn's `contamination`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Contamination {
    /// `offset = -0.5`, the Isolation Forest paper's boundary.
    Auto,
    /// The expected share of anomalies in (0, 0.5]: `offset` is that percentile of the training scores.
    Fraction(f64),
}

impl Contamination {
    /// A fraction must lie in (0, 0.5], as scikit-learn requires.
    pub(crate) fn check(self) -> Result<(), ParamError> {
        match self {
            Contamination::Fraction(f) if !(f > 0.0 && f <= 0.5) => {
                Err(ParamError::Contamination(f))
            }
            _ => Ok(()),
        }
    }
}

/// Unchecked Isolation Forest parameters; the defaults are otsentry's (and scikit-learn's, except
/// `contamination`, which scikit-learn defaults to `'auto'`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    pub n_estimators: usize,
    pub max_samples: MaxSamples,
    pub contamination: Contamination,
    pub random_state: u64,
    /// Share of the features each tree may split on, in (0, 1]; 1.0 uses them all.
    pub max_features: f64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            n_estimators: 200,
            max_samples: MaxSamples::Auto,
            contamination: Contamination::Fraction(0.001),
            random_state: 42,
            max_features: 1.0,
        }
    }
}

/// A parameter outside the range scikit-learn accepts.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamError {
    #[error("n_estimators must be at least 1, got {0}")]
    NoEstimators(usize),
    #[error("max_samples as a count must be at least 1, got {0}")]
    MaxSamplesCount(usize),
    #[error("max_samples as a fraction must be in (0, 1], got {0}")]
    MaxSamplesFraction(f64),
    #[error("contamination must be in (0, 0.5], got {0}")]
    Contamination(f64),
    #[error("max_features must be in (0, 1], got {0}")]
    MaxFeatures(f64),
}

/// Parameters that passed `ForestParams::check`; only these can fit a forest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidForestParams(ForestParams);

impl ForestParams {
    /// Checks every parameter against the range scikit-learn's `IsolationForest` accepts.
    pub fn check(self) -> Result<ValidForestParams, ParamError> {
        if self.n_estimators == 0 {
            return Err(ParamError::NoEstimators(self.n_estimators));
        }
        match self.max_samples {
            MaxSamples::Auto => {}
            MaxSamples::Count(0) => return Err(ParamError::MaxSamplesCount(0)),
            MaxSamples::Count(_) => {}
            MaxSamples::Fraction(f) => {
                if !(f > 0.0 && f <= 1.0) {
                    return Err(ParamError::MaxSamplesFraction(f));
                }
            }
        }
        self.contamination.check()?;
        if !(self.max_features > 0.0 && self.max_features <= 1.0) {
            return Err(ParamError::MaxFeatures(self.max_features));
        }
        Ok(ValidForestParams(self))
    }
}

impl ValidForestParams {
    /// The checked parameters.
    pub fn params(&self) -> &ForestParams {
        &self.0
    }

    /// The number of rows each tree draws when the training data has `n_rows` rows, resolved as
    /// scikit-learn resolves `max_samples` (never below 1 for non-empty data).
    pub fn resolved_max_samples(&self, n_rows: u64) -> usize {
        let n_rows_usize = usize::try_from(n_rows).unwrap_or(usize::MAX);
        let resolved = match self.0.max_samples {
            MaxSamples::Auto => n_rows_usize.min(256),
            MaxSamples::Count(count) => count.min(n_rows_usize),
            // scikit-learn truncates `max_samples * n_samples` to an integer.
            MaxSamples::Fraction(f) => (f * n_rows as f64) as usize,
        };
        resolved.max(1)
    }

    /// The number of features each tree may split on, as scikit-learn's bagging resolves a float
    /// `max_features`: `max(1, int(max_features * n_features))`.
    pub fn resolved_max_features(&self, n_features: usize) -> usize {
        ((self.0.max_features * n_features as f64) as usize).clamp(1, n_features.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_err(params: ForestParams, expected: ParamError) {
        assert_eq!(params.check(), Err(expected));
    }

    #[test]
    fn defaults_are_valid() {
        let valid = ForestParams::default().check().expect("defaults are valid");
        assert_eq!(valid.params().n_estimators, 200);
        assert_eq!(valid.resolved_max_samples(1_000_000), 256);
        assert_eq!(valid.resolved_max_samples(100), 100);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let base = ForestParams::default();
        check_err(
            ForestParams {
                n_estimators: 0,
                ..base
            },
            ParamError::NoEstimators(0),
        );
        check_err(
            ForestParams {
                max_samples: MaxSamples::Count(0),
                ..base
            },
            ParamError::MaxSamplesCount(0),
        );
        check_err(
            ForestParams {
                max_samples: MaxSamples::Fraction(1.5),
                ..base
            },
            ParamError::MaxSamplesFraction(1.5),
        );
        check_err(
            ForestParams {
                contamination: Contamination::Fraction(0.6),
                ..base
            },
            ParamError::Contamination(0.6),
        );
        // NaN never equals itself, so match on the variant.
        let nan = ForestParams {
            max_features: f64::NAN,
            ..base
        };
        assert!(matches!(nan.check(), Err(ParamError::MaxFeatures(_))));
    }

    #[test]
    fn fractions_truncate_like_scikit_learn() {
        let valid = ForestParams {
            max_samples: MaxSamples::Fraction(0.5),
            max_features: 0.5,
            ..ForestParams::default()
        }
        .check()
        .expect("valid");
        assert_eq!(valid.resolved_max_samples(11), 5);
        assert_eq!(valid.resolved_max_features(7), 3);
        assert_eq!(valid.resolved_max_features(1), 1);
    }
}
