//! Training: one streaming pass over the logs fits the vocabularies and fills reservoir samples,
//! then one model per schema is fitted on the encoded samples and sealed into a model file.
//!
//! Memory is bounded whatever the baseline's size: the vocabularies are capped (see
//! `features::intern`), and each schema keeps two reservoirs of raw rows: a small one the trees
//! draw their `max_samples` rows from, and a larger one the offset (the contamination percentile
//! of the training scores) is computed on. The source files are hashed from the bytes the reader
//! reads (`sources`), and the detectors' learners and the dataset digest run on a thread of their
//! own (`learning`, `dataset`) that gets each decoded block after the pass, so neither reads a
//! file again nor slows the pass.

pub mod dataset;
pub mod digests;
mod learning;
pub mod window;

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use iforest::{
    Contamination, DataError, FitError, ForestParams, Matrix, MaxSamples, Model, Moments,
    ParamError, PathError, Reservoir, ScoringOptions, ValidForestParams, ValidZScoreParams,
    ZAggregate, ZScoreParams,
};
use sha2::{Digest, Sha256};
use thiserror::Error;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeek::ZeekError;

use crate::detect::baseline::BaselineError;
use crate::features::intern::KeyHashState;
use crate::features::{Extractor, FeatureRanges, RawRow, Schema, schema_of};
use crate::model::{Manifest, ModelFile, SchemaModel, Scope, TrainParams};
use crate::sources::{SourceOptions, SourceStats, walk_file_blocks};
use dataset::DigestError;
use digests::SourceDigests;
use learning::{Kept, KeptRecord, Learning};
use window::{MIN_DAYS, RECOMMENDED_DAYS, WindowTracker};

/// The kind of model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    Forest,
    ZScore,
}

impl ModelKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelKind::Forest => "forest",
            ModelKind::ZScore => "zscore",
        }
    }
}

/// Everything `train` needs.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub logs: Vec<PathBuf>,
    pub model_kind: ModelKind,
    pub n_estimators: usize,
    /// A fraction in (0, 0.5], or `None` for 'auto'.
    pub contamination: Option<f64>,
    pub seed: u64,
    pub allow_short_baseline: bool,
    pub tree_sample: usize,
    pub offset_sample: usize,
    pub vocab_cap: usize,
    /// The reader's options and the OT selection (recorded in the model: scoring uses it).
    pub source: SourceOptions,
    /// Only records with `ts` before this (epoch seconds) are used: the end of the window.
    pub until: Option<f64>,
    /// Only records with `ts` at or after this (epoch seconds) are used: the window's start (a
    /// governed retrain trains on its approved window only).
    pub since: Option<f64>,
    /// The forest's alert budget: the default threshold of each schema lets about this many
    /// training records a day fall below it (see [`calibrate_threshold`]).
    pub forest_rows_per_day: f64,
}

impl TrainConfig {
    /// The defaults: 200 trees, contamination 0.001, seed 42 (scikit-learn's, except
    /// contamination), 64 Ki tree-sample rows and 1 Mi offset-sample rows per schema.
    pub fn new(logs: Vec<PathBuf>) -> TrainConfig {
        TrainConfig {
            logs,
            model_kind: ModelKind::Forest,
            n_estimators: 200,
            contamination: Some(0.001),
            seed: 42,
            allow_short_baseline: false,
            tree_sample: 1 << 16,
            offset_sample: 1 << 20,
            vocab_cap: crate::features::intern::DEFAULT_CAP,
            source: SourceOptions::default(),
            until: None,
            since: None,
            forest_rows_per_day: DEFAULT_FOREST_ROWS_PER_DAY,
        }
    }
}

/// The forest's default alert budget: about one training record a day per schema. The
/// contamination fraction alone would flag a fixed share of every record, so a plant with ten
/// times the traffic would get ten times the forest alerts; a budget per day keeps the forest's
/// own findings at a rate an analyst reads, on any plant.
pub const DEFAULT_FOREST_ROWS_PER_DAY: f64 = 1.0;

/// Why training failed.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Read(#[from] ZeekError),
    #[error("cannot hash source file {0}: the reader did not read it once from start to end")]
    Hash(PathBuf),
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("cannot start the detectors' learning thread: {0}")]
    LearningThread(std::io::Error),
    #[error("the detectors' learning thread stopped unexpectedly")]
    LearningStopped,
    #[error(
        "no OT records to train on: read {records_read} records in {n_files} file(s), {not_ot} conn.log records were not OT traffic (no OT service, no OT port) and touched no OT asset, and {other_logs} were from logs the features do not use; give conn.log and/or modbus/dnp3/enip/cip logs of the OT network, or name the site's OT services and ports with --ot-services and --ot-ports"
    )]
    NoOtRecords {
        n_files: usize,
        records_read: u64,
        not_ot: u64,
        other_logs: u64,
    },
    #[error(
        "the training window is empty: no OT record has a usable time inside the window ({masked} had masked timestamps)"
    )]
    EmptyWindow { masked: u64 },
    #[error(
        "the baseline covers only {span_days:.1} days ({start} to {end}); at least {MIN_DAYS} are needed: OT plants run on a weekly cycle (maintenance windows, weekend shifts, weekly reports), and a baseline shorter than two weeks has seen each weekday at most once, so the next maintenance window would be flagged as an attack. Give more days of logs, or pass --allow-short-baseline to train anyway (the override is recorded in the model)"
    )]
    ShortBaseline {
        span_days: f64,
        start: String,
        end: String,
    },
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    #[error("invalid model parameters: {0}")]
    Params(#[from] ParamError),
    #[error("cannot score with the forest: {0}")]
    Scoring(#[from] PathError),
    #[error("cannot fit the {schema} model: {source}")]
    Fit {
        schema: &'static str,
        source: FitError,
    },
    #[error(
        "cannot score the {schema} offset sample to calibrate the forest's threshold: {source}"
    )]
    Calibrate {
        schema: &'static str,
        source: iforest::ScoreError,
    },
    #[error("the {schema} features are not finite: {source}")]
    Data {
        schema: &'static str,
        source: DataError,
    },
}

/// A trained model and what the pass saw.
#[derive(Clone, Debug)]
pub struct TrainOutcome {
    pub model: ModelFile,
    pub stats: SourceStats,
}

/// One schema's fitting state during the pass.
struct SchemaFit {
    extractor: Extractor,
    trees: Reservoir<RawRow>,
    offset: Reservoir<RawRow>,
}

impl SchemaFit {
    fn new(schema: Schema, config: &TrainConfig) -> SchemaFit {
        // Distinct, fixed seeds per schema and reservoir: the same logs give the same model.
        let salt = match schema {
            Schema::Conn => 0x636f_6e6e,
            Schema::Request => 0x7265_7175,
        };
        SchemaFit {
            extractor: Extractor::fit(schema, config.vocab_cap),
            trees: Reservoir::new(config.tree_sample, config.seed ^ salt),
            offset: Reservoir::new(config.offset_sample, config.seed ^ salt ^ 0x0ff5_e700),
        }
    }
}

/// Trains a model from the logs in `config`; `progress` gets the records read so far.
pub fn train(config: &TrainConfig, progress: impl FnMut(u64)) -> Result<TrainOutcome, TrainError> {
    // Bad parameters are reported before a long pass, not after it.
    let params = check_params(config)?;
    let files = zeek::discover(&config.logs)?;
    let mut fits = [
        SchemaFit::new(Schema::Conn, config),
        SchemaFit::new(Schema::Request, config),
    ];
    let mut tracker = WindowTracker::default();
    let mut per_service: BTreeMap<String, u64> = BTreeMap::new();
    // Hosts seen in OT traffic so far: records that are not OT traffic join the baseline when
    // they touch one (an engineering workstation's RDP to an HMI is part of normal).
    // Keyed foldhash, not SipHash: two lookups per record, and the set is never iterated.
    let mut ot_hosts: HashSet<IpAddr, KeyHashState> = HashSet::default();
    // The last OT record's hosts: a poller's records repeat them, so most need no lookup.
    let mut last_ot_pair: Option<(IpAddr, IpAddr)> = None;
    let mut in_scope = 0u64;
    let mut out_of_scope = 0u64;
    // The event detectors' own baselines, learnt from the same records (`detect::baseline`),
    // and the dataset digest, on a thread of their own that gets each block after this pass.
    let mut learning = Learning::start()?;

    let digests = SourceDigests::default();
    let mut source = config.source.clone();
    source.read.source_tap = Some(digests.tap());
    let until = config.until.unwrap_or(f64::INFINITY);
    let since = config.since.unwrap_or(f64::NEG_INFINITY);
    let stats = walk_file_blocks(files.clone(), &source, progress, |block| {
        let mut kept = learning.kept_list();
        for (index, event) in block.iter().enumerate() {
            if event.ts >= until || event.ts < since {
                continue;
            }
            if event.ot {
                let pair = (event.edge.orig_h, event.edge.resp_h);
                if last_ot_pair != Some(pair) {
                    ot_hosts.insert(pair.0);
                    ot_hosts.insert(pair.1);
                    last_ot_pair = Some(pair);
                }
            } else if !ot_hosts.contains(&event.edge.orig_h)
                && !ot_hosts.contains(&event.edge.resp_h)
            {
                out_of_scope += 1;
                continue;
            }
            // A block holds a few thousand events (`zeek::BLOCK_BYTES` of lines).
            let index = index as u32;
            // Value records feed only the detectors' baselines: the request they belong to is
            // counted once, from its protocol log.
            let Some(schema) = schema_of(&event) else {
                kept.push(Kept {
                    index,
                    record: KeptRecord::Values,
                });
                continue;
            };
            in_scope += 1;
            tracker.add(event.ts);
            match per_service.get_mut(event.edge.service) {
                Some(count) => *count += 1,
                None => {
                    per_service.insert(event.edge.service.to_string(), 1);
                }
            }
            let fit = match schema {
                Schema::Conn => &mut fits[0],
                Schema::Request => &mut fits[1],
            };
            let record = match fit.extractor.push(&event) {
                Some(raw) => {
                    fit.trees.offer(raw);
                    fit.offset.offer(raw);
                    KeptRecord::Row(schema, raw)
                }
                None => KeptRecord::Digested,
            };
            kept.push(Kept { index, record });
        }
        learning.hand_over(block, kept)
    })?;
    let sources = digests.finish(&files).map_err(TrainError::Hash)?;

    if in_scope == 0 {
        if stats.masked_time > 0 {
            return Err(TrainError::EmptyWindow {
                masked: stats.masked_time,
            });
        }
        return Err(TrainError::NoOtRecords {
            n_files: stats.files.len(),
            records_read: stats.records_read,
            not_ot: out_of_scope,
            other_logs: stats.skipped_other_logs,
        });
    }
    let window = tracker.finish().ok_or(TrainError::EmptyWindow {
        masked: stats.masked_time,
    })?;
    let mut overrides = Vec::new();
    let mut warnings = Vec::new();
    // Compared at the precision printed, so that 30 days of logs (midnight to 23:59:59) are
    // not reported as "29.99 days, under 30".
    let span_days = (window.span_days * 10.0).round() / 10.0;
    if span_days < MIN_DAYS {
        if !config.allow_short_baseline {
            return Err(TrainError::ShortBaseline {
                span_days: window.span_days,
                start: window.start_utc.clone(),
                end: window.end_utc.clone(),
            });
        }
        overrides.push("allow_short_baseline".to_string());
        warnings.push(format!(
            "the baseline covers only {:.1} days, under the {MIN_DAYS} required; trained anyway because of --allow-short-baseline",
            window.span_days
        ));
    } else if span_days < RECOMMENDED_DAYS {
        warnings.push(format!(
            "the baseline covers {:.1} days; {RECOMMENDED_DAYS} or more are recommended so that monthly events are part of normal",
            window.span_days
        ));
    }
    if stats.parse_errors > 0 {
        warnings.push(format!(
            "{} lines could not be read and were skipped",
            stats.parse_errors
        ));
    }

    let mut schemas = Vec::new();
    let mut per_schema = BTreeMap::new();
    let mut forest_thresholds = BTreeMap::new();
    let budget = Budget {
        rows_per_day: config.forest_rows_per_day,
        span_days: window.span_days,
    };
    for fit in fits {
        let n_records = fit.extractor.vocab().n_records;
        if n_records == 0 {
            continue;
        }
        let schema = fit.extractor.schema();
        per_schema.insert(schema.as_str().to_string(), n_records);
        let overflow = fit.extractor.vocab().overflow.total();
        if overflow > 0 {
            warnings.push(format!(
                "{overflow} {} records had a key past the vocabulary cap of {} and share its \"other\" bucket",
                schema.as_str(),
                config.vocab_cap
            ));
        }
        let (model, threshold) = fit_schema(fit, params, budget)?;
        forest_thresholds.insert(schema.as_str().to_string(), threshold);
        schemas.push(model);
    }

    // The learning thread learnt and hashed alongside the pass, and finished its baselines and
    // the digest alongside the fits.
    let (baselines, dataset_sha256) = learning.finish()?;
    let manifest = Manifest {
        tool: format!("otsentry {}", env!("CARGO_PKG_VERSION")),
        trained_at: OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default(),
        model_kind: config.model_kind.as_str().to_string(),
        params: TrainParams {
            n_estimators: config.n_estimators,
            contamination: config.contamination,
            seed: config.seed,
            tree_sample: config.tree_sample,
            offset_sample: config.offset_sample,
            vocab_cap: config.vocab_cap,
        },
        window,
        sources,
        dataset_sha256,
        records_read: stats.records_read,
        records_per_schema: per_schema,
        records_per_service: per_service,
        skipped_not_ot: out_of_scope,
        ot_selection: Some(config.source.ot.config()),
        scope: Scope::OtAssets,
        parse_errors: stats.parse_errors,
        overrides,
        warnings,
        threshold_semantics: THRESHOLD_SEMANTICS.to_string(),
        forest_thresholds,
        forest_rows_per_day: Some(config.forest_rows_per_day),
    };
    Ok(TrainOutcome {
        model: ModelFile {
            manifest,
            schemas,
            baselines,
        },
        stats,
    })
}

/// How the threshold works, stored in every manifest.
pub const THRESHOLD_SEMANTICS: &str = "anomaly_score is the decision value score_samples - offset, as scikit-learn's decision_function: negative is anomalous and 0 is the contamination boundary (offset = the contamination percentile of the training scores). score --threshold T flags rows with anomaly_score < T; without it, each record type's threshold calibrated in training (forest_thresholds: about forest_rows_per_day training records a day fall below it, never above 0). A record with a value never seen in training (new source, destination, edge or function on an edge) is flagged whatever its score. Raw score_samples lie in [-1, 0] with ordinary rows near -0.5, so comparing them with a threshold such as -0.15 would flag every row.";

/// Model parameters that passed their checks; only these reach fitting.
#[derive(Clone, Copy, Debug)]
enum ValidParams {
    Forest(ValidForestParams),
    ZScore(ValidZScoreParams),
}

/// The model parameters of `config`, checked.
fn check_params(config: &TrainConfig) -> Result<ValidParams, TrainError> {
    // Fitting a forest scores its offset sample on the path the environment forces, if any.
    ScoringOptions::from_env()?.resolve()?;
    let contamination = match config.contamination {
        Some(fraction) => Contamination::Fraction(fraction),
        None => Contamination::Auto,
    };
    Ok(match config.model_kind {
        ModelKind::Forest => ValidParams::Forest(
            ForestParams {
                n_estimators: config.n_estimators,
                max_samples: MaxSamples::Auto,
                contamination,
                random_state: config.seed,
                max_features: 1.0,
            }
            .check()?,
        ),
        ModelKind::ZScore => ValidParams::ZScore(
            ZScoreParams {
                aggregate: ZAggregate::Max,
                contamination,
            }
            .check()?,
        ),
    })
}

/// The forest's alert budget over the training window.
#[derive(Clone, Copy, Debug)]
struct Budget {
    rows_per_day: f64,
    span_days: f64,
}

/// The decision value below which about `budget.rows_per_day` training records a day fall,
/// estimated on the offset sample (a uniform sample of `n_seen` records); never above 0. The
/// sample's share of records below the result is the budget's share of all records.
pub fn calibrate_threshold(
    sample_decisions: &[f64],
    n_seen: u64,
    rows_per_day: f64,
    span_days: f64,
) -> f64 {
    if sample_decisions.is_empty() || n_seen == 0 || rows_per_day.is_nan() || rows_per_day <= 0.0 {
        return 0.0;
    }
    let share = (rows_per_day * span_days.max(1.0) / n_seen as f64).min(1.0);
    let below = (share * sample_decisions.len() as f64).floor() as usize;
    let mut finite: Vec<f64> = sample_decisions
        .iter()
        .copied()
        .filter(|d| d.is_finite())
        .collect();
    if below >= finite.len() {
        return 0.0;
    }
    // `below` sample rows lie strictly under the k-th smallest value (selected, not sorted).
    let (_, &mut kth, _) = finite.select_nth_unstable_by(below, f64::total_cmp);
    kth.min(0.0)
}

/// Encodes the reservoirs and fits one schema's model; with it, the schema's default forest
/// threshold for `budget`.
fn fit_schema(
    mut fit: SchemaFit,
    params: ValidParams,
    budget: Budget,
) -> Result<(SchemaModel, f64), TrainError> {
    let schema = fit.extractor.schema();
    fit.extractor.freeze();
    let width = schema.width();
    let encode = |rows: &[RawRow]| -> Vec<f64> {
        let mut values = Vec::with_capacity(rows.len() * width);
        let mut buffer = [0.0; crate::features::MAX_WIDTH];
        for raw in rows {
            fit.extractor.encode(raw, &mut buffer);
            values.extend_from_slice(&buffer[..width]);
        }
        values
    };
    let tree_values = encode(fit.trees.items());
    let offset_values = encode(fit.offset.items());
    let ranges = FeatureRanges::fit(&offset_values, width);
    let matrix = |values: &[f64]| {
        Matrix::new(width, values.iter().map(|&value| value as f32).collect()).map_err(|source| {
            TrainError::Data {
                schema: schema.as_str(),
                source,
            }
        })
    };
    let tree_matrix = matrix(&tree_values)?;
    let offset_matrix = matrix(&offset_values)?;
    let n_seen = fit.trees.seen();
    let fit_error = |source| TrainError::Fit {
        schema: schema.as_str(),
        source,
    };
    let (model, decisions) = match params {
        ValidParams::Forest(params) => {
            // The fit scored the offset sample for the offset: the decisions are those scores
            // less it (what `decision_function` computes), without a second walk of a million
            // rows through every tree.
            let (forest, mut decisions) = params
                .fit_from_sample_scored(&tree_matrix, n_seen, &offset_matrix)
                .map_err(fit_error)?;
            for decision in &mut decisions {
                *decision -= forest.offset();
            }
            (Model::Forest(forest), decisions)
        }
        ValidParams::ZScore(params) => {
            // The moments come from the offset reservoir: the rows can only be encoded once the
            // vocabulary is complete, and a uniform sample of a million rows pins them down.
            let moments = Moments::of_matrix(&offset_matrix);
            let model = params
                .fit_from_moments(&moments, &offset_matrix)
                .map_err(fit_error)?;
            let decisions = model.decision_function(&offset_matrix).map_err(|source| {
                TrainError::Calibrate {
                    schema: schema.as_str(),
                    source,
                }
            })?;
            (Model::ZScore(model), decisions)
        }
    };
    let threshold = calibrate_threshold(&decisions, n_seen, budget.rows_per_day, budget.span_days);
    let vocab = fit.extractor.into_vocab();
    let model = SchemaModel {
        schema,
        feature_names: schema
            .feature_names()
            .iter()
            .map(|name| name.to_string())
            .collect(),
        n_records: vocab.n_records,
        vocab,
        ranges,
        model,
    };
    Ok((model, threshold))
}

/// Streams a file through SHA-256.
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((hex::encode(hasher.finalize()), total))
}

#[cfg(test)]
mod tests {
    use super::calibrate_threshold;

    /// 10 000 sample decisions evenly spread over [-0.5, 0.5).
    fn sample() -> Vec<f64> {
        (0..10_000).map(|i| i as f64 / 10_000.0 - 0.5).collect()
    }

    #[test]
    fn the_budget_sets_how_many_training_records_fall_below_the_threshold() {
        let sample = sample();
        // 5 records a day over 20 days of 10 000 records: 1 % of them.
        let threshold = calibrate_threshold(&sample, 10_000, 5.0, 20.0);
        let below = sample.iter().filter(|&&d| d < threshold).count();
        assert_eq!(below, 100, "threshold {threshold}");
        // The sample stands for ten times as many records: the same budget is a tenth the share.
        let threshold = calibrate_threshold(&sample, 100_000, 5.0, 20.0);
        assert_eq!(sample.iter().filter(|&&d| d < threshold).count(), 10);
    }

    #[test]
    fn the_threshold_never_rises_above_the_contamination_boundary() {
        let sample = sample();
        assert_eq!(calibrate_threshold(&sample, 10_000, 1e9, 30.0), 0.0);
        assert_eq!(calibrate_threshold(&sample, 10_000, 0.0, 30.0), 0.0);
        assert_eq!(calibrate_threshold(&[], 10_000, 1.0, 30.0), 0.0);
        // Only 10 % are above 0.4: a budget of 95 % of the records still stops at 0.
        assert_eq!(calibrate_threshold(&sample, 10_000, 9_500.0, 1.0), 0.0);
    }
}
