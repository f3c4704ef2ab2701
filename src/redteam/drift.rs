//! The slow-drift injection test: a baseline poll on one of the model's own edges, repeated
//! every `86400 / polls_per_day` seconds for `drift_days` days, with `orig_bytes` moving
//! linearly from `initial` to `target`. Every poll goes through the pipeline `score` runs (the
//! same scope, feature state machine, detectors and forest decision, in batches), and the report
//! says, per detector and combined, how many polls were caught and on which day the first was.
//!
//! A control stream (one day of the same poll at the initial value, no drift) runs first through
//! a fresh pipeline: a detector that flags the undrifted poll more often than the control rate
//! allows has not detected the drift, it has rejected the baseline sample. Its result, and the
//! test's when the detectors together reject the control, is `inconclusive`: neither a pass nor
//! a detection, with the reason and what to run instead (the drift from the edge's own median).

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::stream::{Stream, Tally};
use crate::detect::flow_shape::{EdgeShape, Quantity, ShapeBaseline};
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
    /// Start the drift at the chosen edge's own median orig_bytes per record with the same
    /// relative change (initial = median, target = median x target / initial): the attacker's
    /// choice, a drift that begins exactly where the edge is. The report's `initial` and
    /// `target` are then the values used.
    #[serde(default)]
    pub from_edge_median: bool,
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
            from_edge_median: false,
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
    #[error(transparent)]
    Baseline(#[from] crate::detect::baseline::BaselineError),
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
    /// The edge's median orig_bytes per record in training, when the model keeps it.
    #[serde(default)]
    pub typical_orig_bytes: Option<f64>,
    /// How the poll was chosen, in words.
    pub chosen: String,
}

/// What a drift result says about the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftOutcome {
    /// The drift was caught at the required rate and day, the control was not rejected.
    Pass,
    /// The control was accepted but the drift was not caught as required: a miss.
    Fail,
    /// The undrifted control was flagged above the allowed control rate: the poll is no
    /// baseline sample of the edge, so the result says nothing about the drift.
    Inconclusive,
}

impl DriftOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftOutcome::Pass => "pass",
            DriftOutcome::Fail => "fail",
            DriftOutcome::Inconclusive => "inconclusive",
        }
    }
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
    /// Pass only when the outcome is `pass`.
    pub meets_requirement: bool,
    /// `None` in a result stored by an otsentry before the outcome existed (see
    /// [`DetectorResult::outcome`]).
    #[serde(default)]
    pub outcome: Option<DriftOutcome>,
}

impl DetectorResult {
    /// The outcome; a result stored before it existed passed or failed on `meets_requirement`.
    pub fn outcome(&self) -> DriftOutcome {
        self.outcome.unwrap_or(if self.meets_requirement {
            DriftOutcome::Pass
        } else {
            DriftOutcome::Fail
        })
    }
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
    /// Why the test is inconclusive and what to run instead, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inconclusive: Option<String>,
}

impl DriftReport {
    /// The test's outcome: the combined result's.
    pub fn outcome(&self) -> DriftOutcome {
        self.combined.outcome()
    }
}

/// The midpoint of a feature's schema-wide training range (0.1th to 99.9th percentile, in the
/// feature's ln(1 + x) domain): the stand-in for an edge's own values in a model trained before
/// the flow-shape baseline kept them.
pub(crate) fn range_midpoint(model: &crate::model::SchemaModel, feature: &str) -> f64 {
    let names = Schema::Conn.feature_names();
    let Some(index) = names.iter().position(|name| *name == feature) else {
        return 0.0;
    };
    let low = model.ranges.low.get(index).copied().unwrap_or(0.0);
    let high = model.ranges.high.get(index).copied().unwrap_or(0.0);
    ((low + high) / 2.0).exp_m1().max(0.0)
}

/// The most frequent conn state of conn edge `edge_id` in training.
fn conn_state_of(vocab: &crate::features::Vocab, edge_id: usize) -> String {
    (0..vocab.pairs.len() as u32)
        .filter_map(|pair| vocab.pairs.key(pair).map(|key| (pair, key)))
        .filter(|(_, (edge, _))| *edge as usize == edge_id)
        .max_by_key(|(pair, _)| vocab.pair_counts.get(*pair as usize).copied().unwrap_or(0))
        .and_then(|(_, (_, label))| vocab.labels.key(label))
        .unwrap_or("SF")
        .to_string()
}

/// The poll the test repeats: a real sample of one of the model's edges.
///
/// With the model's flow-shape baseline (per-edge medians), the edge is the one whose median
/// orig_bytes per record is nearest the test's initial value (in ln(1 + x), ties to the edge
/// seen most), or with `from_edge_median` the edge seen most; every other field is that edge's
/// own training median. A model without that baseline gets the conn edge seen most in training
/// and the midpoint of each schema-wide training range, as before it existed.
pub fn baseline_poll(
    model: &LoadedModel,
    config: &DriftConfig,
) -> Result<BaselinePoll, DriftError> {
    let conn = model.schema(Schema::Conn).ok_or(DriftError::NoConnModel)?;
    let vocab = &conn.vocab;
    let known = |id: usize| vocab.edges.key(id as u32);
    let shapes = ShapeBaseline::from_model(model)?;
    let shaped = shapes.as_ref().and_then(|shapes| {
        let candidates = shapes
            .edges
            .iter()
            .enumerate()
            .filter_map(|(id, shape)| Some((id, shape.as_ref()?)))
            .filter(|(id, _)| known(*id).is_some());
        let wanted = config.initial.max(0.0).ln_1p();
        let distance = |shape: &EdgeShape| {
            (shape.quantities[Quantity::OrigPerRecord as usize]
                .dist
                .median
                - wanted)
                .abs()
        };
        candidates.min_by(|(a_id, a), (b_id, b)| {
            let nearer = if config.from_edge_median {
                std::cmp::Ordering::Equal
            } else {
                distance(a).total_cmp(&distance(b))
            };
            nearer.then(b.records.cmp(&a.records)).then(a_id.cmp(b_id))
        })
    });
    let host = |id| vocab.hosts.key(id).ok_or(DriftError::NoEdge);
    let poll = |edge_id: usize| -> Result<BaselinePoll, DriftError> {
        let ids = known(edge_id).ok_or(DriftError::NoEdge)?;
        Ok(BaselinePoll {
            orig_h: host(ids.orig)?,
            resp_h: host(ids.resp)?,
            resp_p: ids.port,
            proto: ids.proto,
            service: vocab.services.key(ids.service).unwrap_or("").to_string(),
            conn_state: conn_state_of(vocab, edge_id),
            duration: 0.0,
            resp_bytes: 0,
            orig_pkts: 0,
            resp_pkts: 0,
            typical_orig_bytes: None,
            chosen: String::new(),
        })
    };
    if let Some((edge_id, shape)) = shaped {
        let median = |dist: &crate::detect::flow_shape::Dist| EdgeShape::median_of(dist);
        let count = |dist| median(dist).round().max(0.0) as u64;
        // Byte counts are whole: the median rounds off the learnt quantization.
        let typical = median(&shape.quantities[Quantity::OrigPerRecord as usize].dist).round();
        let why = if config.from_edge_median {
            "the conn edge seen most in training".to_string()
        } else {
            format!(
                "the conn edge whose median orig_bytes per record ({typical:.0}) is nearest the initial value {}",
                config.initial
            )
        };
        return Ok(BaselinePoll {
            duration: median(&shape.duration),
            resp_bytes: count(&shape.quantities[Quantity::RespPerRecord as usize].dist),
            orig_pkts: count(&shape.packets[0]),
            resp_pkts: count(&shape.packets[1]),
            typical_orig_bytes: Some(typical),
            chosen: format!(
                "{why} ({} records), its most frequent conn state, and its own median duration, resp_bytes and packets",
                shape.records
            ),
            ..poll(edge_id)?
        });
    }
    let (edge_id, _) = vocab
        .edge_counts
        .iter()
        .enumerate()
        .filter(|(id, _)| known(*id).is_some())
        .max_by_key(|(id, count)| (**count, std::cmp::Reverse(*id)))
        .ok_or(DriftError::NoEdge)?;
    let count = |feature| range_midpoint(conn, feature).round() as u64;
    Ok(BaselinePoll {
        duration: range_midpoint(conn, "duration"),
        resp_bytes: count("resp_bytes"),
        orig_pkts: count("orig_pkts"),
        resp_pkts: count("resp_pkts"),
        chosen: format!(
            "the conn edge seen most in training ({} records), its most frequent conn state, and the midpoint of each schema-wide training range (the model has no flow_shape baseline: retrain it for a real sample of the edge)",
            vocab.edge_counts[edge_id]
        ),
        ..poll(edge_id)?
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
    let poll = baseline_poll(&model, config)?;
    // The drift the attacker chooses: from where the edge is, by the same relative change.
    let mut config = config.clone();
    if config.from_edge_median {
        let Some(median) = poll.typical_orig_bytes else {
            return Err(DriftError::Config(
                "a model with a flow_shape baseline to start at the edge's median (retrain it with this otsentry)".into(),
            ));
        };
        if config.initial <= 0.0 {
            return Err(DriftError::Config(
                "a positive initial value to scale from the edge's median".into(),
            ));
        }
        config.target = median * config.target / config.initial;
        config.initial = median;
    }
    let config = &config;
    let start_ts = super::stream::test_start(&model);
    let initial = config.initial;
    let total = u64::from(config.drift_days) * config.polls_per_day;
    let step = (config.target - config.initial) / (total - 1) as f64;
    // The control day and the drift are independent streams, each through its own pipeline, so
    // the control day runs on a thread of its own beside the drift: one stream keeps about one
    // core busy, and the machine has two.
    let control_day = || {
        run_stream(
            &model,
            config,
            &poll,
            start_ts,
            config.polls_per_day,
            |_| initial,
        )
    };
    let (control, drift) = std::thread::scope(|scope| {
        let control = std::thread::Builder::new()
            .name("certify-control".into())
            .spawn_scoped(scope, control_day);
        let drift = run_stream(&model, config, &poll, start_ts, total, |index| {
            initial + step * index as f64
        });
        let control = match control {
            Ok(handle) => handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            // No thread to spare: the control day runs after the drift.
            Err(_) => control_day(),
        };
        (control, drift)
    });
    let (control, _) = control?;
    let (drift, names) = drift?;
    let result = |detector: &str, (detected, first): (u64, Option<f64>), control_hits: u64| {
        let detection_rate = detected as f64 / total as f64;
        let first_detection_day =
            first.map(|ts| ((ts - drift.start_ts) / DAY_SECS).floor() as u32 + 1);
        let control_rate = control_hits as f64 / config.polls_per_day as f64;
        let caught = detection_rate >= config.required_rate
            && first_detection_day.is_some_and(|day| day <= config.required_first_day);
        let outcome = if control_rate > config.max_control_rate {
            DriftOutcome::Inconclusive
        } else if caught {
            DriftOutcome::Pass
        } else {
            DriftOutcome::Fail
        };
        DetectorResult {
            detector: detector.to_string(),
            drift_days: config.drift_days,
            initial_value: config.initial,
            target_value: config.target,
            total_polls: total,
            detected,
            detection_rate,
            first_detection_day,
            control_rate,
            meets_requirement: outcome == DriftOutcome::Pass,
            outcome: Some(outcome),
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
    let inconclusive = (combined.outcome() == DriftOutcome::Inconclusive)
        .then(|| inconclusive_reason(config, &poll, &detectors, &combined));
    Ok(DriftReport {
        test: test_name(config).to_string(),
        model_sha256: model.sha256.clone(),
        config: config.clone(),
        poll,
        detectors,
        combined,
        inconclusive,
    })
}

/// The test's name in the table and the verdict: the seed's fixed drift or the attacker's.
pub fn test_name(config: &DriftConfig) -> &'static str {
    if config.from_edge_median {
        "slow_drift_from_edge_median"
    } else {
        "slow_drift"
    }
}

/// Why the control day was rejected, by whom, and what to run instead.
fn inconclusive_reason(
    config: &DriftConfig,
    poll: &BaselinePoll,
    detectors: &[DetectorResult],
    combined: &DetectorResult,
) -> String {
    let rejecting: Vec<String> = detectors
        .iter()
        .filter(|result| result.outcome() == DriftOutcome::Inconclusive)
        .map(|result| format!("{} at rate {:.4}", result.detector, result.control_rate))
        .collect();
    let by = if rejecting.is_empty() {
        format!(
            "the detectors together at rate {:.4}",
            combined.control_rate
        )
    } else {
        rejecting.join(", ")
    };
    let why = format!(
        "the undrifted control day (orig_bytes {} on every poll) is itself flagged, by {by} (at most {} allowed)",
        config.initial, config.max_control_rate
    );
    match (config.from_edge_median, poll.typical_orig_bytes) {
        (false, Some(median)) => format!(
            "{why}: the poll is no baseline sample of the edge, whose median orig_bytes per record is {median:.0}, so a detection says nothing about the drift; run the drift from the edge's own median instead (certify --from-edge-median), or with --initial near {median:.0}"
        ),
        (false, None) => format!(
            "{why}: the poll is no baseline sample of the model's traffic, so a detection says nothing about the drift; retrain the model with this otsentry (it keeps each edge's medians) and run the drift from the edge's own median (certify --from-edge-median)"
        ),
        (true, _) => format!(
            "{why}: the poll is the edge's own median sample and the model still rejects it, so the model flags its own baseline; check the thresholds it was calibrated with (otsentry model show) before certifying it"
        ),
    }
}
