//! The row-major `f32` feature matrix every model reads, validated once at construction so the
//! models can assume finite values.
//!
//! scikit-learn casts its input to `float32` before fitting and scoring; holding `f32` here makes
//! our split thresholds compare exactly as its trees do.

use thiserror::Error;

/// A bad feature matrix, naming the row and column at fault.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DataError {
    #[error("a feature matrix needs at least one feature")]
    NoFeatures,
    #[error("{n_values} values do not fill whole rows of {n_features} features")]
    Ragged { n_values: usize, n_features: usize },
    #[error("row {row} has {found} features, expected {expected}")]
    RowLength {
        row: usize,
        found: usize,
        expected: usize,
    },
    #[error("row {row}, column {column}: value {value} is not a finite number")]
    NotFinite {
        row: usize,
        column: usize,
        value: f64,
    },
}

/// Rows of features, stored row-major as `f32`, all finite.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    n_features: usize,
    values: Vec<f32>,
}

impl Matrix {
    /// Wraps row-major values; fails on a ragged length or a NaN or infinite value.
    pub fn new(n_features: usize, values: Vec<f32>) -> Result<Matrix, DataError> {
        if n_features == 0 {
            return Err(DataError::NoFeatures);
        }
        if !values.len().is_multiple_of(n_features) {
            return Err(DataError::Ragged {
                n_values: values.len(),
                n_features,
            });
        }
        if let Some(position) = values.iter().position(|value| !value.is_finite()) {
            return Err(DataError::NotFinite {
                row: position / n_features,
                column: position % n_features,
                value: f64::from(values[position]),
            });
        }
        Ok(Matrix { n_features, values })
    }

    /// Builds a matrix from `f64` rows, rounding each value to the nearest `f32` as numpy's
    /// `astype(float32)` does.
    pub fn from_f64_rows<R: AsRef<[f64]>>(
        n_features: usize,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Matrix, DataError> {
        let mut values = Vec::new();
        for (row_idx, row) in rows.into_iter().enumerate() {
            let row = row.as_ref();
            if row.len() != n_features {
                return Err(DataError::RowLength {
                    row: row_idx,
                    found: row.len(),
                    expected: n_features,
                });
            }
            values.extend(row.iter().map(|&value| value as f32));
        }
        Matrix::new(n_features, values)
    }

    /// Builds a matrix from `f32` rows, such as the contents of a [`crate::Reservoir`].
    pub fn from_rows<R: AsRef<[f32]>>(
        n_features: usize,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<Matrix, DataError> {
        let mut values = Vec::new();
        for (row_idx, row) in rows.into_iter().enumerate() {
            let row = row.as_ref();
            if row.len() != n_features {
                return Err(DataError::RowLength {
                    row: row_idx,
                    found: row.len(),
                    expected: n_features,
                });
            }
            values.extend_from_slice(row);
        }
        Matrix::new(n_features, values)
    }

    pub fn n_rows(&self) -> usize {
        self.values.len() / self.n_features
    }

    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// All values, row after row.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }

    /// One row's features.
    ///
    /// # Panics
    /// When `row_idx >= n_rows()`.
    pub fn row(&self, row_idx: usize) -> &[f32] {
        &self.values[row_idx * self.n_features..(row_idx + 1) * self.n_features]
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = &[f32]> {
        self.values.chunks_exact(self.n_features)
    }

    /// Gives the values back, row-major.
    pub fn into_values(self) -> Vec<f32> {
        self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nan_is_reported_with_its_row_and_column() {
        let error = Matrix::new(3, vec![0.0, 1.0, 2.0, 3.0, f32::NAN, 5.0]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "row 1, column 1: value NaN is not a finite number"
        );
    }

    #[test]
    fn infinity_and_ragged_input_are_refused() {
        assert!(matches!(
            Matrix::from_f64_rows(2, [[1.0, f64::INFINITY]]),
            Err(DataError::NotFinite {
                row: 0,
                column: 1,
                ..
            })
        ));
        assert_eq!(
            Matrix::new(2, vec![1.0; 3]),
            Err(DataError::Ragged {
                n_values: 3,
                n_features: 2
            })
        );
        assert_eq!(
            Matrix::from_rows(2, [vec![1.0, 2.0], vec![3.0]]),
            Err(DataError::RowLength {
                row: 1,
                found: 1,
                expected: 2
            })
        );
        assert_eq!(Matrix::new(0, vec![]), Err(DataError::NoFeatures));
    }

    #[test]
    fn rows_come_back_in_order() {
        let matrix = Matrix::from_f64_rows(2, [[1.0, 2.0], [3.0, 4.0]]).expect("valid");
        assert_eq!(matrix.n_rows(), 2);
        assert_eq!(matrix.row(1), &[3.0, 4.0]);
        assert_eq!(matrix.rows().count(), 2);
    }
}
