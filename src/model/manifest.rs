//! The manifest: what a model is, what it was trained on and how its threshold works. This is the
//! part `otsentry model show` prints and an auditor reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Training provenance and parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// `otsentry <version>` that trained the model.
    pub tool: String,
    /// Wall-clock time of training (provenance only; scoring never reads the clock).
    pub trained_at: String,
    /// `forest` or `zscore`.
    pub model_kind: String,
    pub params: TrainParams,
    pub window: Window,
    /// Every file read, with its SHA-256.
    pub sources: Vec<SourceFile>,
    /// SHA-256 over the canonical form of every training record, in reading order: it changes
    /// exactly when the training data changes, whatever the file layout.
    pub dataset_sha256: String,
    /// Records read in all files (every log kind).
    pub records_read: u64,
    /// Training records per schema (`conn`, `request`).
    pub records_per_schema: BTreeMap<String, u64>,
    /// Training records per OT service.
    pub records_per_service: BTreeMap<String, u64>,
    /// conn.log lines that are not OT traffic and touch no OT asset: outside the baseline.
    pub skipped_not_ot: u64,
    /// The OT selection training used; scoring uses the same. Absent in models of older builds,
    /// which used the defaults.
    #[serde(default)]
    pub ot_selection: Option<crate::ot::OtConfig>,
    /// Which records the baseline covers.
    #[serde(default)]
    pub scope: Scope,
    /// Lines that could not be read (malformed, missing columns, masked times).
    pub parse_errors: u64,
    /// Overrides used at training, such as `allow_short_baseline`.
    pub overrides: Vec<String>,
    /// Warnings printed at training, kept with the model.
    pub warnings: Vec<String>,
    /// How the threshold works, in words.
    pub threshold_semantics: String,
    /// Per schema (`conn`, `request`): the decision value below which the forest alone makes a
    /// finding when no `--threshold` is given, calibrated in training so that about
    /// `forest_rows_per_day` training records a day fall below it; never above 0, the
    /// contamination boundary. Absent in models of older builds, which flag below 0.
    #[serde(default)]
    pub forest_thresholds: BTreeMap<String, f64>,
    /// The forest's alert budget the thresholds were calibrated for (training records a day per
    /// schema); absent in models of older builds.
    #[serde(default)]
    pub forest_rows_per_day: Option<f64>,
}

/// Which records a baseline covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// OT traffic only (models of older builds).
    #[default]
    OtTraffic,
    /// OT traffic and every other record whose source or destination is an OT asset.
    OtAssets,
}

impl Scope {
    /// True when records touching OT assets were learnt too.
    pub fn includes_ot_assets(self) -> bool {
        self == Scope::OtAssets
    }
}

/// The parameters a model was trained with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub n_estimators: usize,
    /// A fraction in (0, 0.5], or `None` for scikit-learn's 'auto' (offset -0.5).
    pub contamination: Option<f64>,
    pub seed: u64,
    /// Rows kept in the reservoir the trees sample from.
    pub tree_sample: usize,
    /// Rows kept in the reservoir the offset is computed on.
    pub offset_sample: usize,
    /// The most keys a vocabulary holds before later keys share an "other" bucket.
    pub vocab_cap: usize,
}

/// The log-time window of the training data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// First and last `ts` (epoch seconds).
    pub start: f64,
    pub end: f64,
    /// The same in RFC 3339.
    pub start_utc: String,
    pub end_utc: String,
    /// (end - start) in days.
    pub span_days: f64,
    /// Calendar days (UTC) with at least one record.
    pub days_covered: usize,
    /// Weekdays (UTC) with at least one record, Monday first.
    pub weekdays: Vec<String>,
}

/// One file read at training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}
