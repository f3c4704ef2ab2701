//! The slow-drift injection test: a baseline poll on one of the model's own edges, repeated
//! every `86400 / polls_per_day` seconds for `drift_days` days, with `orig_bytes` moving
//! linearly from `initial` to `target`. Every poll goes through the pipeline `score` runs (the
//! same scope, feature state machine, detectors and forest decision, in batches), and the report
//! says, per detector and combined, how many polls were caught and on which day the first was.
//!
//! A control stream (one day of the same poll at the initial value, no drift) runs first through
//! a fresh pipeline: a detector that flags the undrifted poll as often as the drifted one has
//! not detected the drift, it has rejected the baseline sample, and the report shows both rates
//! side by side so such a "pass" is visible.

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::stream::{Stream, Tally};
use crate::features::{ConnFields, EdgeRef, EventKind, FlowEvent, Proto, Schema};
use crate::model::LoadedModel;
use crate::pipeline::PipelineError;

const DAY_SECS: f64 = 86_400.0;

/// The test's parameters; the defaults are the issue's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftConfig {
    pub drift_days: u32,
    pub polls_per_day: u64,
    /// `orig_bytes` of the first poll and of the last.
    pub initial: f64,
    pub target: f64,
    /// The forest's threshold on the decision value (0: the model's own boundary).
    pub threshold: Option<f64>,
    /// Rows per scoring batch.
    pub batch_rows: usize,
    /// The detection rate a detector must reach.
    pub required_rate: f64,
    /// The last day (1-based) on which the first detection may fall.
    pub required_first_day: u32,
    /// The highest rate a detector may flag the undrifted control at and still pass: above it,
    /// its "detections" say nothing about the drift.
    pub max_control_rate: f64,
}

impl Default for DriftConfig {
    fn default() -> DriftConfig {
        DriftConfig {
            drift_days: 7,
            polls_per_day: 172_800,
            initial: 250.0,
            target: 450.0,
            threshold: None,
            batch_rows: crate::pipeline::BATCH_ROWS,
            required_rate: 0.90,
            required_first_day: 5,
            max_control_rate: 0.10,
        }
    }
}

/// Why the test could not run.
#[derive(Debug, thiserror::Error)]
pub enum DriftError {
    #[error("the drift test needs {0}")]
    Config(String),
    #[error(
        "the model has no conn model (it was trained without conn.log); the drift test drifts a conn.log field"
    )]
    NoConnModel,
    #[error("the model's conn vocabulary has no edge to drift on")]
    NoEdge,
    #[error("scoring the drift failed: {0}")]
    Pipeline(#[from] PipelineError),
}

/// The poll the test repeats: one of the model's edges with a baseline sample of its fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BaselinePoll {
    pub orig_h: IpAddr,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub proto: Proto,
    pub service: String,
    pub conn_state: String,
    pub duration: f64,
    pub resp_bytes: u64,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    /// How the poll was chosen, in words.
    pub chosen: String,
}

/// What one detector (or all of them together) caught.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DetectorResult {
    pub detector: String,
    pub drift_days: u32,
    pub initial_value: f64,
    pub target_value: f64,
    pub total_polls: u64,
    pub detected: u64,
    pub detection_rate: f64,
    /// 1-based day of the first detection, `None` when nothing was caught.
    pub first_detection_day: Option<u32>,
    /// The rate on the undrifted control day: what the detector flags without any drift.
    pub control_rate: f64,
    pub meets_requirement: bool,
}

/// The report of one drift test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub test: String,
    pub model_sha256: String,
    pub config: DriftConfig,
    pub poll: BaselinePoll,
    /// One entry per detector the pipeline runs, in its order.
    pub detectors: Vec<DetectorResult>,
    /// Any detector's finding counts as a detection.
    pub combined: DetectorResult,
}

/// The training median of a feature is not kept; the midpoint of its training range (0.1th to
/// 99.9th percentile, in the feature's ln(1 + x) domain) stands in for it.
pub(crate) fn range_midpoint(model: &crate::model::SchemaModel, feature: &str) -> f64 {
    let names = Schema::Conn.feature_names();
    let Some(index) = names.iter().position(|name| *name == feature) else {
        return 0.0;
    };
    let low = model.ranges.low.get(index).copied().unwrap_or(0.0);
    let high = model.ranges.high.get(index).copied().unwrap_or(0.0);
    ((low + high) / 2.0).exp_m1().max(0.0)
}

/// Picks the conn edge seen most often in training and its most frequent conn state.
pub fn baseline_poll(model: &LoadedModel) -> Result<BaselinePoll, DriftError> {
    let conn = model.schema(Schema::Conn).ok_or(DriftError::NoConnModel)?;
    let vocab = &conn.vocab;
    let (edge_id, _) = vocab
        .edge_counts
        .iter()
        .enumerate()
        .filter(|(id, _)| vocab.edges.key(*id as u32).is_some())
        .max_by_key(|(id, count)| (**count, std::cmp::Reverse(*id)))
        .ok_or(DriftError::NoEdge)?;
    let ids = vocab.edges.key(edge_id as u32).ok_or(DriftError::NoEdge)?;
    let host = |id| vocab.hosts.key(id).ok_or(DriftError::NoEdge);
    let conn_state = (0..vocab.pairs.len() as u32)
        .filter_map(|pair| vocab.pairs.key(pair).map(|key| (pair, key)))
        .filter(|(_, (edge, _))| *edge as usize == edge_id)
        .max_by_key(|(pair, _)| vocab.pair_counts.get(*pair as usize).copied().unwrap_or(0))
        .and_then(|(_, (_, label))| vocab.labels.key(label))
        .unwrap_or("SF")
        .to_string();
    let count = |feature| range_midpoint(conn, feature).round() as u64;
    Ok(BaselinePoll {
        orig_h: host(ids.orig)?,
        resp_h: host(ids.resp)?,
        resp_p: ids.port,
        proto: ids.proto,
        service: vocab.services.key(ids.service).unwrap_or("").to_string(),
        conn_state,
        duration: range_midpoint(conn, "duration"),
        resp_bytes: count("resp_bytes"),
        orig_pkts: count("orig_pkts"),
        resp_pkts: count("resp_pkts"),
        chosen: format!(
            "the conn edge seen most in training ({} records), its most frequent conn state, and the midpoint of each training range",
            vocab.edge_counts[edge_id]
        ),
    })
}

/// Pushes `n_polls` polls through a fresh pipeline; `value(i)` is poll i's `orig_bytes`.
fn run_stream(
    model: &Arc<LoadedModel>,
    config: &DriftConfig,
    poll: &BaselinePoll,
    start_ts: f64,
    n_polls: u64,
    value: impl Fn(u64) -> f64,
) -> Result<(Tally, Vec<&'static str>), DriftError> {
    let mut stream = Stream::new(model, config.threshold, config.batch_rows, start_ts);
    let names = stream.detector_names();
    let interval = DAY_SECS / config.polls_per_day as f64;
    for index in 0..n_polls {
        let event = FlowEvent {
            ts: start_ts + index as f64 * interval,
            uid: "Credteam-drift",
            orig_p: 50_000,
            edge: EdgeRef {
                orig_h: poll.orig_h,
                resp_h: poll.resp_h,
                resp_p: poll.resp_p,
                proto: poll.proto,
                service: &poll.service,
            },
            ot: true,
            kind: EventKind::Conn(ConnFields {
                duration: Some(poll.duration),
                orig_bytes: Some(value(index).round().max(0.0) as u64),
                resp_bytes: Some(poll.resp_bytes),
                orig_pkts: Some(poll.orig_pkts),
                resp_pkts: Some(poll.resp_pkts),
                conn_state: &poll.conn_state,
            }),
        };
        stream.push(&event)?;
    }
    Ok((stream.finish()?, names))
}

/// Runs the control day and the drift and reports per detector and combined.
pub fn run(model: Arc<LoadedModel>, config: &DriftConfig) -> Result<DriftReport, DriftError> {
    if config.drift_days == 0 {
        return Err(DriftError::Config("at least one drift day".into()));
    }
    if config.polls_per_day < 2 {
        return Err(DriftError::Config("at least two polls per day".into()));
    }
    if !(config.initial.is_finite() && config.target.is_finite())
        || config.initial < 0.0
        || config.target < 0.0
    {
        return Err(DriftError::Config(
            "finite, non-negative initial and target values".into(),
        ));
    }
    let poll = baseline_poll(&model)?;
    let start_ts = super::stream::test_start(&model);
    let initial = config.initial;
    let (control, _) = run_stream(
        &model,
        config,
        &poll,
        start_ts,
        config.polls_per_day,
        |_| initial,
    )?;
    let total = u64::from(config.drift_days) * config.polls_per_day;
    let step = (config.target - config.initial) / (total - 1) as f64;
    let (drift, names) = run_stream(&model, config, &poll, start_ts, total, |index| {
        initial + step * index as f64
    })?;
    let result = |detector: &str, (detected, first): (u64, Option<f64>), control_hits: u64| {
        let detection_rate = detected as f64 / total as f64;
        let first_detection_day =
            first.map(|ts| ((ts - drift.start_ts) / DAY_SECS).floor() as u32 + 1);
        DetectorResult {
            detector: detector.to_string(),
            drift_days: config.drift_days,
            initial_value: config.initial,
            target_value: config.target,
            total_polls: total,
            detected,
            detection_rate,
            first_detection_day,
            control_rate: control_hits as f64 / config.polls_per_day as f64,
            meets_requirement: detection_rate >= config.required_rate
                && first_detection_day.is_some_and(|day| day <= config.required_first_day)
                && control_hits as f64 / config.polls_per_day as f64 <= config.max_control_rate,
        }
    };
    let mut detectors: Vec<DetectorResult> = names
        .iter()
        .map(|name| {
            result(
                name,
                drift.by_detector.get(*name).copied().unwrap_or_default(),
                control.by_detector.get(*name).map_or(0, |entry| entry.0),
            )
        })
        .collect();
    // A finding from a detector the pipeline did not list (none today) is still reported.
    for (name, entry) in &drift.by_detector {
        if !names.contains(&name.as_str()) {
            detectors.push(result(name, *entry, 0));
        }
    }
    let combined = result("combined", drift.combined, control.combined.0);
    Ok(DriftReport {
        test: "slow_drift".to_string(),
        model_sha256: model.sha256.clone(),
        config: config.clone(),
        poll,
        detectors,
        combined,
    })
}
