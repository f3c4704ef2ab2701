//! The polling-rhythm detector: per edge, how often records come (the interval distribution as
//! robust quantiles, and the most records in any one minute) and, for connections, how long and
//! how large a session is; per source, how many distinct destinations it reaches in one minute.
//!
//! Rules: `rhythm_changed` (the median of an edge's last intervals left its training band: a
//! poller on a new rhythm), `burst` (an edge carries far more records in a minute than it ever did:
//! injected requests on an operator's own session), `long_session` (a connection far longer or
//! larger than the edge's own), and `scan` (a source reaching far more destinations in a minute
//! than it ever did). Minutes are fixed buckets of log time, the same in training and scoring, so
//! a split run equals one run. Each rule reports a departure once and then stays quiet on that edge
//! or source for [`REPEAT_SECS`] of log time while it lasts: one alert per episode, not per record.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::attack::ids;
use super::baseline::{self, BaselineError, Learner, TrainingRecord};
use super::histogram::{self, StepCounts};
use super::{Detector, Finding, Observation, Reason, Seen, Severity, Subject};
use crate::features::extract::ln_1p_count;
use crate::features::intern::{KeyHashState, OVERFLOW};
use crate::features::{Direction, EventKind, Schema};
use crate::model::{BaselineSection, LoadedModel};

/// The detector's name in findings, metrics and the model's baseline section.
pub const NAME: &str = "rhythm";
const VERSION: u32 = 1;

/// Seconds of one counting bucket.
const BUCKET_SECS: f64 = 60.0;
/// Intervals in the window whose median is compared with the training band.
const WINDOW: usize = 8;
/// Training intervals an edge needs before its rhythm is judged.
const MIN_INTERVALS: u64 = 30;
/// Training sessions an edge needs before its session shape is judged.
const MIN_SESSIONS: u64 = 5;
/// A departure is reported again at most this often (log time) while it lasts.
pub const REPEAT_SECS: f64 = 3600.0;
/// Fewest distinct destinations in a minute that make a scan, whatever the baseline.
const MIN_SCAN: u32 = 10;
/// Histogram resolution: bins of 1/20 in ln(1 + x), about 5 %.
const BINS_PER_UNIT: f64 = 20.0;

/// A sparse histogram of ln(1 + x).
#[derive(Clone, Debug, Default)]
struct Hist {
    bins: StepCounts,
    max: f64,
}

impl Hist {
    fn add(&mut self, value: f64) {
        if !value.is_finite() || value < 0.0 {
            return;
        }
        self.add_ln(value, value.ln_1p());
    }

    /// Adds a count: the same as `add(count as f64)`, its `ln_1p` read from a table.
    fn add_count(&mut self, count: u64) {
        self.add_ln(count as f64, ln_1p_count(count));
    }

    /// Adds a value whose `ln_1p` the caller already has (bit for bit `value.ln_1p()`).
    fn add_with_ln(&mut self, value: f64, ln: f64) {
        if !value.is_finite() || value < 0.0 {
            return;
        }
        debug_assert!(ln == value.ln_1p(), "{value}");
        self.add_ln(value, ln);
    }

    fn add_ln(&mut self, value: f64, ln: f64) {
        let bin = histogram::round(ln * BINS_PER_UNIT).min(f64::from(u16::MAX)) as u16;
        self.bins.add(bin);
        self.max = self.max.max(value);
    }

    fn summary(&self) -> Dist {
        let summary = self.bins.summary(BINS_PER_UNIT);
        Dist {
            n: self.bins.n(),
            q01: summary.q01,
            median: summary.median,
            q99: summary.q99,
            mad: summary.mad,
            max: self.max,
        }
    }
}

/// A learnt distribution, in ln(1 + x) units except `max` (plain units).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Dist {
    pub n: u64,
    pub q01: f64,
    pub median: f64,
    pub q99: f64,
    pub mad: f64,
    pub max: f64,
}

/// `ln(1 + x)` back to x.
fn plain(ln: f64) -> f64 {
    ln.exp_m1()
}

/// One edge's learnt rhythm.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EdgeRhythm {
    /// Seconds between successive requests (or connections) on the edge.
    pub interval: Dist,
    /// The most records in any one minute.
    pub max_per_minute: u32,
    /// Connection duration in seconds and packets (both directions); conn.log edges only.
    pub duration: Dist,
    pub packets: Dist,
}

/// The rhythm baseline: per schema, per edge id of the training vocabulary; per source, the most
/// distinct destinations it reached in one minute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RhythmBaseline {
    /// Indexed by schema (conn, request), then by edge id.
    pub edges: [Vec<Option<EdgeRhythm>>; 2],
    pub sources: Vec<(IpAddr, u32)>,
}

fn slot(schema: Schema) -> usize {
    match schema {
        Schema::Conn => 0,
        Schema::Request => 1,
    }
}

/// True for records that start an exchange: responses follow their request's rhythm.
fn counts(observation_kind: &EventKind<'_>) -> bool {
    match observation_kind {
        EventKind::Request(request) => request.direction != Direction::Response,
        EventKind::Conn(_) => true,
        // Value records repeat a request already counted from its protocol log.
        EventKind::Values(_) | EventKind::Control(_) => false,
    }
}

/// Per-edge counting state shared by training and scoring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Minute {
    bucket: i64,
    count: u32,
}

impl Minute {
    /// Counts a record at `ts`; returns the count of its minute (0 for a record that arrived
    /// after its minute had passed: conn.log is written when connections end).
    fn add(&mut self, ts: f64) -> u32 {
        let bucket = (ts / BUCKET_SECS).floor() as i64;
        if bucket > self.bucket || self.count == 0 {
            self.bucket = bucket;
            self.count = 0;
        } else if bucket < self.bucket {
            return 0;
        }
        self.count += 1;
        self.count
    }
}

/// A source's distinct destinations in the current minute.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Reach {
    bucket: i64,
    seen: Vec<(IpAddr, u16)>,
}

impl Reach {
    /// Adds a destination at `ts`; the distinct count of its minute.
    fn add(&mut self, ts: f64, dst: IpAddr, port: u16) -> u32 {
        let bucket = (ts / BUCKET_SECS).floor() as i64;
        if bucket > self.bucket || self.seen.is_empty() {
            self.bucket = bucket;
            self.seen.clear();
        } else if bucket < self.bucket {
            return 0;
        }
        // Bounded: past a few thousand the answer is already "a scan".
        if self.seen.len() < 4096 && !self.seen.contains(&(dst, port)) {
            self.seen.push((dst, port));
        }
        self.seen.len() as u32
    }
}

#[derive(Default)]
struct EdgeLearning {
    last_ts: Option<f64>,
    interval: Hist,
    minute: Minute,
    max_per_minute: u32,
    duration: Hist,
    packets: Hist,
}

/// Learns the rhythm baseline in training.
#[derive(Default)]
pub struct RhythmLearner {
    edges: [Vec<Option<EdgeLearning>>; 2],
    sources: HashMap<IpAddr, (Reach, u32), KeyHashState>,
}

impl Learner for RhythmLearner {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, record: &TrainingRecord<'_>) {
        let (event, raw) = (record.event, record.raw);
        if raw.edge == OVERFLOW || !event.ts.is_finite() {
            return;
        }
        let edges = &mut self.edges[slot(record.schema)];
        let idx = raw.edge as usize;
        if edges.len() <= idx {
            edges.resize_with(idx + 1, || None);
        }
        let edge = edges[idx].get_or_insert_with(EdgeLearning::default);
        if counts(&event.kind) {
            if let Some(last) = edge.last_ts.replace(event.ts) {
                let interval = (event.ts - last).max(0.0);
                // A connection's row measured the same interval: the feature state machine's
                // conn slot follows every record of the edge, as this does, so its ln_1p is in
                // the row already. Requests share one clock here over two of its slots.
                match record.schema {
                    Schema::Conn if !raw.ln_interval.is_nan() => {
                        edge.interval.add_with_ln(interval, raw.ln_interval);
                    }
                    _ => edge.interval.add(interval),
                }
            }
            edge.max_per_minute = edge.max_per_minute.max(edge.minute.add(event.ts));
        }
        if let EventKind::Conn(conn) = &event.kind {
            if let Some(duration) = conn.duration {
                // The row holds ln(1 + duration) of a connection's (non-negative) duration.
                match record.schema {
                    Schema::Conn => edge.duration.add_with_ln(duration, raw.ln_duration()),
                    Schema::Request => edge.duration.add(duration),
                }
            }
            edge.packets
                .add_count(conn.orig_pkts.unwrap_or(0) + conn.resp_pkts.unwrap_or(0));
            let (reach, max) = self.sources.entry(event.edge.orig_h).or_default();
            *max = (*max).max(reach.add(event.ts, event.edge.resp_h, event.edge.resp_p));
        }
    }

    fn finish(self: Box<Self>) -> Result<BaselineSection, BaselineError> {
        let edges = self.edges.map(|edges| {
            edges
                .into_iter()
                .map(|edge| {
                    edge.map(|edge| EdgeRhythm {
                        interval: edge.interval.summary(),
                        max_per_minute: edge.max_per_minute,
                        duration: edge.duration.summary(),
                        packets: edge.packets.summary(),
                    })
                })
                .collect()
        });
        let mut sources: Vec<(IpAddr, u32)> = self
            .sources
            .into_iter()
            .map(|(ip, (_, max))| (ip, max))
            .collect();
        sources.sort();
        baseline::encode(NAME, VERSION, &RhythmBaseline { edges, sources })
    }
}

/// One edge's live state in scoring.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct EdgeLive {
    last_ts: Option<f64>,
    /// The last intervals, ln(1 + seconds), oldest first.
    window: Vec<f64>,
    minute: Minute,
    /// Log time of the last report per rule (changed, burst, long session).
    reported: [Option<f64>; 3],
}

/// The detector's checkpointed state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct RhythmState {
    edges: [Vec<(u32, EdgeLive)>; 2],
    sources: Vec<(IpAddr, Reach, Option<f64>)>,
}

/// What scoring compares an edge's records with, computed once from its [`EdgeRhythm`]: the
/// limits each record needs, which otherwise cost an `exp_m1` each per record.
#[derive(Clone, Copy, Debug)]
struct EdgeLimits {
    /// A session longer than this (seconds) or with more packets than this is long.
    duration: f64,
    packets: f64,
}

impl EdgeLimits {
    fn of(learnt: &EdgeRhythm) -> EdgeLimits {
        EdgeLimits {
            duration: (2.0 * learnt.duration.max)
                .max(4.0 * plain(learnt.duration.q99))
                .max(60.0),
            packets: (2.0 * learnt.packets.max)
                .max(4.0 * plain(learnt.packets.q99))
                .max(100.0),
        }
    }
}

/// The polling-rhythm detector.
#[derive(Debug)]
pub struct RhythmDetector {
    baseline: RhythmBaseline,
    /// Per schema and edge id of the baseline, the edge's limits.
    limits: [Vec<Option<EdgeLimits>>; 2],
    source_max: HashMap<IpAddr, u32, KeyHashState>,
    /// Per schema and edge id of the baseline, the edge's live state once a record of it came.
    edges: [Vec<Option<EdgeLive>>; 2],
    sources: HashMap<IpAddr, (Reach, Option<f64>), KeyHashState>,
}

/// A report is due when none was made in the last [`REPEAT_SECS`].
fn due(reported: &mut Option<f64>, ts: f64) -> bool {
    if reported.is_some_and(|last| ts - last < REPEAT_SECS && ts >= last) {
        return false;
    }
    *reported = Some(ts);
    true
}

/// Seconds in words: `0.01 s`, `5.2 s`, `3.5 min`, `2.4 h`.
pub fn seconds_text(seconds: f64) -> String {
    if seconds < 100.0 {
        format!("{seconds:.2} s")
    } else if seconds < 3600.0 * 2.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

impl RhythmDetector {
    /// The detector over the model's rhythm baseline; `None` when the model has none.
    pub fn from_model(model: &LoadedModel) -> Result<Option<RhythmDetector>, BaselineError> {
        Ok(baseline::decode::<RhythmBaseline>(model, NAME, VERSION)?.map(RhythmDetector::new))
    }

    pub fn new(baseline: RhythmBaseline) -> RhythmDetector {
        let limits = [0, 1].map(|slot| {
            baseline.edges[slot]
                .iter()
                .map(|edge| edge.as_ref().map(EdgeLimits::of))
                .collect()
        });
        RhythmDetector {
            source_max: baseline.sources.iter().copied().collect(),
            edges: [0, 1].map(|slot| vec![None; baseline.edges[slot].len()]),
            limits,
            baseline,
            sources: HashMap::default(),
        }
    }
}

fn finding(
    observation: &Observation<'_>,
    rule: &'static str,
    title: &'static str,
    severity: Severity,
    subject: Subject,
    reasons: Vec<Reason>,
    techniques: &[&'static str],
) -> Finding {
    Finding {
        detector: NAME,
        rule,
        title,
        severity,
        subject,
        reasons,
        techniques: techniques.to_vec(),
        seen: Seen::of(observation.event, observation.schema),
        scores: None,
    }
}

fn edge_text(observation: &Observation<'_>) -> String {
    let edge = &observation.event.edge;
    format!(
        "{} -> {}:{}/{} {}",
        edge.orig_h,
        edge.resp_h,
        edge.resp_p,
        edge.proto.as_str(),
        edge.service
    )
}

/// The middle of the window: `sorted[WINDOW / 2]` (of a full window, the only kind judged).
fn median(values: &[f64]) -> f64 {
    let mut sorted = [0.0; WINDOW];
    let sorted = &mut sorted[..values.len().min(WINDOW)];
    sorted.copy_from_slice(&values[..sorted.len()]);
    // Elements equal under `total_cmp` have the same bits, so any sort gives this order.
    sorted.sort_unstable_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

impl Detector for RhythmDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, observation: &Observation<'_>, findings: &mut Vec<Finding>) {
        let (event, raw) = (observation.event, observation.raw);
        if !event.ts.is_finite() {
            return;
        }
        let both = Subject {
            src: Some(event.edge.orig_h),
            dst: Some(event.edge.resp_h),
        };
        if let EventKind::Conn(_) = &event.kind {
            let src = event.edge.orig_h;
            let learnt_max = self.source_max.get(&src).copied().unwrap_or(0);
            let (reach, reported) = self.sources.entry(src).or_default();
            let reached = reach.add(event.ts, event.edge.resp_h, event.edge.resp_p);
            let limit = (2 * learnt_max).max(learnt_max + 8).max(MIN_SCAN);
            if reached > limit && due(reported, event.ts) {
                findings.push(finding(
                    observation,
                    "scan",
                    "Host reaching far more destinations than it ever did",
                    if event.ot {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    Subject {
                        src: Some(src),
                        dst: None,
                    },
                    vec![Reason::new(
                        format!("{src} reached {reached} distinct destinations (host and port) within one minute"),
                        if learnt_max == 0 {
                            "never originated connections in training".to_string()
                        } else {
                            format!("at most {learnt_max} in any minute of training")
                        },
                    )],
                    &[ids::REMOTE_SYSTEM_DISCOVERY, ids::NETWORK_CONNECTION_ENUMERATION],
                ));
            }
        }
        if raw.edge == OVERFLOW {
            return;
        }
        let schema_slot = slot(observation.schema);
        let Some(learnt) = self.baseline.edges[schema_slot]
            .get(raw.edge as usize)
            .and_then(Option::as_ref)
        else {
            // An edge never seen in training is the new-communication detector's to report.
            return;
        };
        let edge = raw.edge as usize;
        let limits = self.limits[schema_slot][edge];
        let live = self.edges[schema_slot][edge].get_or_insert_with(EdgeLive::default);
        if counts(&event.kind) {
            if let Some(last) = live.last_ts.replace(event.ts) {
                live.window.push((event.ts - last).max(0.0).ln_1p());
                if live.window.len() > WINDOW {
                    live.window.remove(0);
                }
            }
            let in_minute = live.minute.add(event.ts);
            let burst_limit = (2 * learnt.max_per_minute).max(learnt.max_per_minute + 10);
            if learnt.interval.n >= MIN_INTERVALS
                && in_minute > burst_limit
                && due(&mut live.reported[1], event.ts)
            {
                findings.push(finding(
                    observation,
                    "burst",
                    "Burst of records on an edge far above its own rate",
                    if event.ot {
                        Severity::High
                    } else {
                        Severity::Medium
                    },
                    both,
                    vec![Reason::new(
                        format!(
                            "{in_minute} records within one minute on {}",
                            edge_text(observation)
                        ),
                        format!(
                            "at most {} in any minute of training (typical interval {})",
                            learnt.max_per_minute,
                            seconds_text(plain(learnt.interval.median))
                        ),
                    )],
                    &[ids::UNAUTHORIZED_COMMAND, ids::BRUTE_FORCE_IO],
                ));
            }
            let interval = learnt.interval;
            if interval.n >= MIN_INTERVALS && live.window.len() == WINDOW {
                let margin = (3.0 * 1.4826 * interval.mad).max(std::f64::consts::LN_2);
                let (low, high) = (interval.q01 - margin, interval.q99 + margin);
                // The median lies between the window's least and greatest values: when those are
                // inside, so is it, and the window needs no sorting (the usual case, per record).
                let (least, greatest) = live.window.iter().fold(
                    (f64::INFINITY, f64::NEG_INFINITY),
                    |(least, greatest), &value| (least.min(value), greatest.max(value)),
                );
                let now = if least >= low && greatest <= high {
                    None
                } else {
                    Some(median(&live.window))
                };
                if let Some(now) = now.filter(|&now| now < low || now > high)
                    && due(&mut live.reported[0], event.ts)
                {
                    findings.push(finding(
                        observation,
                        "rhythm_changed",
                        "Polling rhythm of an edge changed",
                        Severity::Medium,
                        both,
                        vec![Reason::new(
                            format!(
                                "median interval {} over the last {WINDOW} records on {}",
                                seconds_text(plain(now)),
                                edge_text(observation)
                            ),
                            format!(
                                "median {} in training, 1st to 99th percentile {} to {}",
                                seconds_text(plain(interval.median)),
                                seconds_text(plain(interval.q01)),
                                seconds_text(plain(interval.q99))
                            ),
                        )],
                        &[ids::MANIPULATION_OF_CONTROL],
                    ));
                }
            }
        }
        if let EventKind::Conn(conn) = &event.kind
            && learnt.duration.n >= MIN_SESSIONS
        {
            let mut reasons = Vec::new();
            let limits = limits.unwrap_or_else(|| EdgeLimits::of(learnt));
            if let Some(duration) = conn.duration
                && duration > limits.duration
            {
                reasons.push(Reason::new(
                    format!(
                        "session of {} on {}",
                        seconds_text(duration),
                        edge_text(observation)
                    ),
                    format!(
                        "at most {} in training (median {})",
                        seconds_text(learnt.duration.max),
                        seconds_text(plain(learnt.duration.median))
                    ),
                ));
            }
            let packets = (conn.orig_pkts.unwrap_or(0) + conn.resp_pkts.unwrap_or(0)) as f64;
            if packets > limits.packets {
                reasons.push(Reason::new(
                    format!(
                        "{packets:.0} packets in one session on {}",
                        edge_text(observation)
                    ),
                    format!(
                        "at most {:.0} in training (median {:.0})",
                        learnt.packets.max,
                        plain(learnt.packets.median)
                    ),
                ));
            }
            if !reasons.is_empty() && due(&mut live.reported[2], event.ts) {
                findings.push(finding(
                    observation,
                    "long_session",
                    "Session far longer or larger than the edge's own",
                    Severity::Medium,
                    both,
                    reasons,
                    &[ids::REMOTE_SERVICES],
                ));
            }
        }
    }

    fn checkpoint(&self) -> serde_json::Value {
        let mut state = RhythmState::default();
        for (slot, edges) in self.edges.iter().enumerate() {
            state.edges[slot] = edges
                .iter()
                .enumerate()
                .filter_map(|(id, live)| Some((id as u32, live.clone()?)))
                .collect();
        }
        let mut sources: Vec<(IpAddr, Reach, Option<f64>)> = self
            .sources
            .iter()
            .map(|(ip, (reach, reported))| (*ip, reach.clone(), *reported))
            .collect();
        sources.sort_by_key(|(ip, _, _)| *ip);
        state.sources = sources;
        serde_json::to_value(state).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let state: RhythmState = serde_json::from_value(state)
            .map_err(|error| format!("the rhythm state is not valid: {error}"))?;
        for (slot, edges) in state.edges.into_iter().enumerate() {
            let live_edges = &mut self.edges[slot];
            live_edges.iter_mut().for_each(|live| *live = None);
            for (id, live) in edges {
                // Live state only exists for edges of the baseline the checkpoint was made with.
                let entry = live_edges.get_mut(id as usize).ok_or_else(|| {
                    format!(
                        "the rhythm state names edge {id}, which the model's baseline does not have"
                    )
                })?;
                *entry = Some(live);
            }
        }
        self.sources = state
            .sources
            .into_iter()
            .map(|(ip, reach, reported)| (ip, (reach, reported)))
            .collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
