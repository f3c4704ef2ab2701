//! Isolation Forest with scikit-learn's semantics, and a z-score baseline. Pure computation: no I/O.
//!
//! # A short tour
//!
//! - [`Matrix`] holds rows of `f32` features (scikit-learn casts to `float32` too), checked finite.
//! - [`ForestParams`] are unchecked parameters; [`ForestParams::check`] gives
//!   [`ValidForestParams`], which alone can [`fit`](ValidForestParams::fit) a [`Forest`].
//! - A [`Forest`] has scikit-learn's `score_samples` (in [-1, 0], about -0.5 for ordinary rows),
//!   `offset_` and `decision_function` (negative = anomalous), and [`Forest::explain`] to say which
//!   features isolated a row.
//! - For streams too large to hold, fill [`Reservoir`]s in one pass and use
//!   [`ValidForestParams::fit_from_sample`]; docs/isolation-forest.md argues why that matches a fit
//!   on every row.
//! - [`ZScoreModel`] is a simpler alternative with the same conventions; [`Model`] holds either.
//! - [`metrics`] has ROC AUC and Spearman correlation for evaluation.
//! - Scoring picks the fastest walk the CPU runs and caches the sums of repeated cells;
//!   [`ScoringOptions`] (or the variables [`PATH_VAR`] and [`CACHE_VAR`]) force a path, and every
//!   path gives the same scores bit for bit.
//!
//! Fitting and scoring use rayon; results do not depend on the number of threads.
//!
//! ```
//! use iforest::{ForestParams, Matrix};
//!
//! // 200 ordinary rows around (0, 0) and one far away.
//! let mut rows: Vec<[f64; 2]> = (0..200)
//!     .map(|i| [f64::from(i % 20) / 20.0, f64::from(i / 20) / 10.0])
//!     .collect();
//! rows.push([25.0, -30.0]);
//! let data = Matrix::from_f64_rows(2, &rows)?;
//!
//! let forest = ForestParams::default().check()?.fit(&data)?;
//! let decision = forest.decision_function(&data)?;
//! assert!(decision[200] < 0.0, "the far row is anomalous");
//! assert!(decision[..200].iter().filter(|d| **d < 0.0).count() <= 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cells;
mod forest;
mod matrix;
pub mod metrics;
mod model;
mod params;
mod path;
mod reservoir;
mod scoring;
#[cfg(target_arch = "x86_64")]
mod scoring_x86;
mod tree;
mod zscore;

pub use forest::{FitError, Forest, ScoreError, Screened, UncheckedForest};
pub use matrix::{DataError, Matrix};
pub use model::Model;
pub use params::{Contamination, ForestParams, MaxSamples, ParamError, ValidForestParams};
pub use path::{CACHE_VAR, CacheMode, PATH_VAR, PathError, ScoringOptions, ScoringPath};
pub use reservoir::Reservoir;
pub use tree::average_path_length;
pub use zscore::{
    Moments, UncheckedZScoreModel, ValidZScoreParams, ZAggregate, ZScoreModel, ZScoreParams,
};
