//! Reading labelled benchmark sets: gzipped CSV with a header `x0,...,xN,label`, one row per sample,
//! `label` non-zero for an outlier (the layout of ../shared/data/odds/csv).

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use iforest::Matrix;

use super::EvalError;

/// A benchmark set: features and, per row, whether it is an outlier.
#[derive(Debug, Clone)]
pub struct LabelledData {
    pub name: String,
    pub features: Matrix,
    pub labels: Vec<bool>,
}

impl LabelledData {
    pub fn n_outliers(&self) -> usize {
        self.labels.iter().filter(|&&label| label).count()
    }
}

/// The `NAME.csv.gz` files in `dir`, sorted by name, as (NAME, path).
pub fn datasets_in(dir: &Path) -> Result<Vec<(String, PathBuf)>, EvalError> {
    let entries = std::fs::read_dir(dir).map_err(|source| EvalError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| EvalError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        if let Some(name) = file_name.strip_suffix(".csv.gz")
            && path.is_file()
            && !name.is_empty()
        {
            found.push((name.to_string(), path.clone()));
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(EvalError::NoDatasets(dir.to_path_buf()));
    }
    Ok(found)
}

/// Reads one labelled `.csv.gz`. Values are parsed as `f64` and rounded to `f32`, as
/// `pandas.read_csv` followed by scikit-learn's `float32` cast does.
pub fn read_labelled_csv_gz(name: &str, path: &Path) -> Result<LabelledData, EvalError> {
    let io_error = |source| EvalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_error)?;
    let mut lines = BufReader::new(MultiGzDecoder::new(file)).lines();
    let header = match lines.next() {
        Some(line) => line.map_err(io_error)?,
        None => {
            return Err(EvalError::Header {
                path: path.to_path_buf(),
                reason: "the file is empty".to_string(),
            });
        }
    };
    let n_features = check_header(path, header.trim_end())?;

    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (line_idx, line) in lines.enumerate() {
        let line = line.map_err(io_error)?;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        // Line numbers are 1-based and the header is line 1.
        let line_number = line_idx + 2;
        let mut n_fields = 0;
        for (column, field) in line.split(',').enumerate() {
            n_fields += 1;
            if column > n_features {
                break;
            }
            let value: f64 = field.trim().parse().map_err(|_| EvalError::Field {
                path: path.to_path_buf(),
                line: line_number,
                column: column + 1,
                value: field.to_string(),
            })?;
            if column == n_features {
                labels.push(value != 0.0);
            } else {
                values.push(value as f32);
            }
        }
        if n_fields != n_features + 1 {
            return Err(EvalError::FieldCount {
                path: path.to_path_buf(),
                line: line_number,
                found: n_fields,
                expected: n_features + 1,
            });
        }
    }
    let features = Matrix::new(n_features, values).map_err(|source| EvalError::Data {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(LabelledData {
        name: name.to_string(),
        features,
        labels,
    })
}

/// Checks the header is `x0,...,xN,label` and returns the number of features.
fn check_header(path: &Path, header: &str) -> Result<usize, EvalError> {
    let columns: Vec<&str> = header.split(',').map(str::trim).collect();
    let bad = |reason: String| EvalError::Header {
        path: path.to_path_buf(),
        reason,
    };
    if columns.last() != Some(&"label") {
        return Err(bad(format!(
            "the last column must be `label`, found `{}`",
            columns.last().unwrap_or(&"")
        )));
    }
    let n_features = columns.len() - 1;
    if n_features == 0 {
        return Err(bad("there are no feature columns".to_string()));
    }
    for (feature, column) in columns[..n_features].iter().enumerate() {
        if *column != format!("x{feature}") {
            return Err(bad(format!(
                "column {} must be `x{feature}`, found `{column}`",
                feature + 1
            )));
        }
    }
    Ok(n_features)
}
