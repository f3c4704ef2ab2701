//! The function-code detector: what each source asks each device to do, against training.
//!
//! Three rules, strongest first, one finding per record:
//!
//! - `new_operation`: a write, control, restart or program/firmware operation from a source that
//!   never issued an operation of that kind in training, to any device ("this HMI only ever read
//!   and now it writes"). High, or critical for restarts, program transfers, and a source that
//!   never changed anything at all.
//! - `new_function`: a function code never used on this edge in training (from the request
//!   vocabulary's (edge, function) counts). Medium for a read, high for a changing operation.
//! - `exception_burst`: more exception responses on an edge within a minute than its training
//!   rate allows (Modbus exceptions, DNP3 IIN error flags, CIP/ENIP error statuses). An
//!   enumeration of addresses or function codes shows as a burst of `ILLEGAL_DATA_ADDRESS` or
//!   `ILLEGAL_FUNCTION` answers. The finding is made on the record that crosses the limit and
//!   names every exception type seen so far with its count; when the minute is over (the edge's
//!   next record, or any request record, falls in a later minute) and more exceptions came after
//!   it, a second finding of the same rule and devices gives the whole minute's counts
//!   (`ILLEGAL_DATA_ADDRESS x41, ILLEGAL_FUNCTION x3`), so the alert names every type.
//!
//! Only edges seen in training are judged by the first two rules: a record on a new edge is the
//! new-communication detector's (`novelty`), which names the function in its reasons. The
//! exception counts of the open minute per edge are the detector's checkpointed state.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::attack::ids;
use super::baseline;
use super::{Detector, Finding, Observation, Reason, Seen, Severity, Subject};
use crate::features::functions::{Operation, operation};
use crate::features::intern::KeyHashState;
use crate::features::vocab::count;
use crate::features::{Direction, EventKind, FlowEvent, Schema};
use crate::model::{BaselineSection, LoadedModel};

/// The detector's name in findings, metrics and the model's baselines.
pub const NAME: &str = "function_code";
/// The version of the baseline section this build writes and reads.
pub const BASELINE_VERSION: u32 = 1;

/// The exception-burst window, in seconds of log time.
pub const WINDOW_SECS: f64 = 60.0;
/// Fewer exceptions than this in a window are never a burst.
pub const MIN_BURST: u64 = 10;
/// The weight, in records, of the network's pooled exception rate in an edge's rate.
const PRIOR_RECORDS: f64 = 100.0;

/// An edge without its service: the OT port names the protocol, and a key without text needs no
/// allocation per record.
type EdgeKey = (IpAddr, IpAddr, u16);

/// What training saw of one edge's answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeCounts {
    /// Protocol records (requests and responses).
    pub records: u64,
    /// Of those, exception or error answers.
    pub errors: u64,
}

/// The baseline saved in the model: per source, the operations it issued; per edge, its
/// records and exceptions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionBaseline {
    /// Source and the bit set of [`Operation`]s it issued ([`Operation::bit`]).
    pub sources: Vec<(IpAddr, u8)>,
    pub edges: Vec<(IpAddr, IpAddr, u16, EdgeCounts)>,
}

/// The training pass of the detector.
#[derive(Debug, Default)]
pub struct Learner {
    sources: BTreeMap<IpAddr, u8>,
    edges: BTreeMap<EdgeKey, EdgeCounts>,
}

impl baseline::Learner for Learner {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, record: &baseline::TrainingRecord<'_>) {
        let event = record.event;
        let EventKind::Request(request) = &event.kind else {
            return;
        };
        if request.direction != Direction::Response {
            *self.sources.entry(event.edge.orig_h).or_default() |=
                operation(request.function).bit();
        }
        let counts = self.edges.entry(key_of(event)).or_default();
        counts.records += 1;
        counts.errors += u64::from(request.is_error);
    }

    fn finish(self: Box<Self>) -> Result<BaselineSection, baseline::BaselineError> {
        let baseline = FunctionBaseline {
            sources: self.sources.into_iter().collect(),
            edges: self
                .edges
                .into_iter()
                .map(|((src, dst, port), counts)| (src, dst, port, counts))
                .collect(),
        };
        baseline::encode(NAME, BASELINE_VERSION, &baseline)
    }
}

fn key_of(event: &FlowEvent<'_>) -> EdgeKey {
    (event.edge.orig_h, event.edge.resp_h, event.edge.resp_p)
}

/// The exceptions of one edge in the open window.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Window {
    /// The window's index: floor(ts / WINDOW_SECS).
    index: i64,
    records: u64,
    errors: u64,
    /// Exception names and their counts in the window.
    names: BTreeMap<String, u64>,
    /// A burst was reported in this window.
    reported: bool,
    /// The exceptions counted when the burst was reported.
    #[serde(default)]
    reported_errors: u64,
    /// The record the burst was reported on, until the minute's summary is given.
    #[serde(default)]
    seen: Option<Seen>,
    /// The burst's place among the bursts reported, so that summaries keep their order
    /// across a checkpoint.
    #[serde(default)]
    order: u64,
}

/// The checkpointed state: the open windows, by edge.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    windows: Vec<(IpAddr, IpAddr, u16, Window)>,
}

/// The function-code detector.
#[derive(Debug)]
pub struct FunctionCodeDetector {
    /// Whether the model had a baseline for this detector at all.
    trained: bool,
    sources: HashMap<IpAddr, u8, KeyHashState>,
    edges: HashMap<EdgeKey, EdgeCounts, KeyHashState>,
    /// The exception rate of all training edges together: the prior of every edge's rate.
    pooled_rate: f64,
    windows: HashMap<EdgeKey, Window, KeyHashState>,
    /// Edges whose reported window still owes its summary, in the order they were reported.
    pending: Vec<EdgeKey>,
    /// Bursts reported so far: the next one's `order`.
    bursts: u64,
}

impl FunctionCodeDetector {
    /// A detector over the model's baseline; without one (a model trained before this detector
    /// existed) only the vocabulary rule runs.
    pub fn new(baseline: Option<FunctionBaseline>) -> FunctionCodeDetector {
        let trained = baseline.is_some();
        let baseline = baseline.unwrap_or_default();
        let (errors, records) =
            baseline
                .edges
                .iter()
                .fold((0u64, 0u64), |(errors, records), (_, _, _, counts)| {
                    (errors + counts.errors, records + counts.records)
                });
        // Half an exception of prior, so a network that never answered with one has a rate.
        let pooled_rate = (errors as f64 + 0.5) / (records as f64 + 1.0);
        FunctionCodeDetector {
            trained,
            pooled_rate,
            sources: baseline.sources.into_iter().collect(),
            edges: baseline
                .edges
                .into_iter()
                .map(|(src, dst, port, counts)| ((src, dst, port), counts))
                .collect(),
            windows: HashMap::default(),
            pending: Vec::new(),
            bursts: 0,
        }
    }

    /// The detector over a model's baseline section; `Ok(None)` when the model has none.
    pub fn from_model(
        model: &LoadedModel,
    ) -> Result<Option<FunctionCodeDetector>, baseline::BaselineError> {
        let section = baseline::decode(model, NAME, BASELINE_VERSION)?;
        Ok(section.map(|section| FunctionCodeDetector::new(Some(section))))
    }

    /// The operations `source` issued in training, as a bit set.
    fn issued(&self, source: IpAddr) -> u8 {
        self.sources.get(&source).copied().unwrap_or(0)
    }

    /// Counts the record in its edge's window; returns the burst finding's reasons and exception
    /// names when this record makes the window a burst.
    fn count_exception(
        &mut self,
        event: &FlowEvent<'_>,
        is_error: bool,
        error: &str,
    ) -> Option<(Vec<Reason>, bool)> {
        let key = key_of(event);
        let index = (event.ts / WINDOW_SECS).floor() as i64;
        let window = self.windows.entry(key).or_default();
        if window.index != index {
            *window = Window {
                index,
                ..Window::default()
            };
        }
        window.records += 1;
        if !is_error {
            return None;
        }
        window.errors += 1;
        let name = if error.is_empty() { "error" } else { error };
        match window.names.get_mut(name) {
            Some(count) => *count += 1,
            None => {
                window.names.insert(name.to_string(), 1);
            }
        }
        if window.reported {
            return None;
        }
        let trained = self.edges.get(&key).copied().unwrap_or_default();
        let limit = burst_limit(trained, self.pooled_rate, window.records);
        if window.errors < limit {
            return None;
        }
        window.reported = true;
        window.reported_errors = window.errors;
        window.seen = Some(Seen::of(event, Schema::Request));
        window.order = self.bursts;
        self.bursts += 1;
        self.pending.push(key);
        let reasons = vec![Reason::new(
            format!(
                "{} exception answers in {} records within a minute ({})",
                window.errors,
                window.records,
                names_text(&window.names)
            ),
            baseline_text(trained, limit),
        )];
        Some((reasons, is_enumeration(&window.names)))
    }

    /// The summaries of reported windows whose minute ended before `ts`: a second finding with
    /// the whole minute's counts per exception type, when more exceptions came after the report.
    fn close_windows(&mut self, event: &FlowEvent<'_>, findings: &mut Vec<Finding>) {
        let index = (event.ts / WINDOW_SECS).floor() as i64;
        let own = key_of(event);
        let mut kept = Vec::new();
        for key in std::mem::take(&mut self.pending) {
            let Some(window) = self.windows.get_mut(&key) else {
                continue;
            };
            // A window ends when any request record is past it; the edge's own next record
            // ends it too, should another log's records come earlier in time.
            let ended = window.index < index || (key == own && window.index != index);
            if !ended {
                kept.push(key);
                continue;
            }
            let Some(seen) = window.seen.take() else {
                continue;
            };
            if window.errors == window.reported_errors {
                continue;
            }
            let trained = self.edges.get(&key).copied().unwrap_or_default();
            let limit = burst_limit(trained, self.pooled_rate, window.records);
            let enumeration = is_enumeration(&window.names);
            let (severity, techniques) = burst_grade(enumeration);
            findings.push(Finding {
                detector: NAME,
                rule: "exception_burst",
                title: BURST_TITLE,
                severity,
                subject: Subject {
                    src: Some(seen.src),
                    dst: Some(seen.dst),
                },
                reasons: vec![Reason::new(
                    format!(
                        "{} exception answers in {} records in the whole minute ({})",
                        window.errors,
                        window.records,
                        names_text(&window.names)
                    ),
                    baseline_text(trained, limit),
                )],
                techniques: techniques.to_vec(),
                seen,
                scores: None,
            });
        }
        self.pending = kept;
    }
}

const BURST_TITLE: &str = "Burst of exception answers (enumeration of addresses or function codes)";

/// Every exception type of a window with its count, most frequent first
/// (`ILLEGAL_DATA_ADDRESS x41, ILLEGAL_FUNCTION x3`).
fn names_text(names: &BTreeMap<String, u64>) -> String {
    let mut counted: Vec<(&String, &u64)> = names.iter().collect();
    counted.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    counted
        .iter()
        .map(|(name, count)| format!("{name} x{count}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Exceptions that answer requests for things that do not exist: an enumeration.
fn is_enumeration(names: &BTreeMap<String, u64>) -> bool {
    names.keys().any(|name| {
        name.contains("ILLEGAL") || name.contains("UNKNOWN") || name.contains("NO_FUNC")
    })
}

/// A burst's severity and techniques.
fn burst_grade(enumeration: bool) -> (Severity, Vec<&'static str>) {
    if enumeration {
        (
            Severity::High,
            vec![
                ids::POINT_AND_TAG_IDENTIFICATION,
                ids::REMOTE_SYSTEM_INFORMATION_DISCOVERY,
            ],
        )
    } else {
        (
            Severity::Medium,
            vec![ids::REMOTE_SYSTEM_INFORMATION_DISCOVERY],
        )
    }
}

fn baseline_text(trained: EdgeCounts, limit: u64) -> String {
    if trained.records == 0 {
        format!(
            "no answers on this edge in training; at most {} expected",
            limit - 1
        )
    } else {
        format!(
            "{} exceptions in {} records on this edge in training; at most {} expected in this minute",
            trained.errors,
            trained.records,
            limit - 1
        )
    }
}

/// The fewest exceptions that make a window of `records` records a burst: three times the
/// training rate's expectation plus six Poisson deviations (exceptions come in clusters: one
/// unsupported request polled every cycle fails every cycle), never under [`MIN_BURST`].
///
/// The edge's rate is its training rate shrunk towards the network's pooled rate with the weight
/// of [`PRIOR_RECORDS`] records: an edge seen a few times, or never, takes the network's rate.
fn burst_limit(trained: EdgeCounts, pooled_rate: f64, records: u64) -> u64 {
    let rate = (trained.errors as f64 + pooled_rate * PRIOR_RECORDS)
        / (trained.records as f64 + PRIOR_RECORDS);
    let expected = rate * records as f64;
    let limit = (3.0 * expected + 6.0 * expected.sqrt() + 1.0).ceil() as u64;
    limit.max(MIN_BURST)
}

impl Detector for FunctionCodeDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, observation: &Observation<'_>, findings: &mut Vec<Finding>) {
        let event = observation.event;
        let EventKind::Request(request) = &event.kind else {
            return;
        };
        if observation.schema != Schema::Request {
            return;
        }
        if !self.pending.is_empty() {
            self.close_windows(event, findings);
        }
        let (src, dst) = (event.edge.orig_h, event.edge.resp_h);
        let vocab = observation.vocab;
        let known_edge = count(&vocab.edge_counts, observation.raw.edge) > 0;
        // The answer to a new function repeats its request's finding.
        let new_function = known_edge
            && request.direction != Direction::Response
            && count(&vocab.pair_counts, observation.raw.pair) == 0;
        let op = operation(request.function);
        let issued = self.issued(src);
        let new_operation = self.trained
            && known_edge
            && op != Operation::Read
            && request.direction != Direction::Response
            && issued & op.bit() == 0;
        let burst = self.count_exception(event, request.is_error, request.error);

        let edge_text = format!(
            "{src} -> {dst}:{} {} {}",
            event.edge.resp_p, event.edge.service, request.function
        );
        let mut reasons = Vec::new();
        let (rule, title, severity, mut techniques) = if new_operation {
            let never_changed = Operation::CHANGING.iter().all(|op| issued & op.bit() == 0);
            reasons.push(Reason::new(
                format!("{} operation from {src}: {edge_text}", op.as_str()),
                if never_changed {
                    "this source only ever read in training".to_string()
                } else {
                    format!(
                        "this source never issued a {} operation in training (it issued: {})",
                        op.as_str(),
                        issued_text(issued)
                    )
                },
            ));
            let severity = if never_changed || matches!(op, Operation::Restart | Operation::Program)
            {
                Severity::Critical
            } else {
                Severity::High
            };
            (
                "new_operation",
                "Source issuing a kind of operation it never issued in training",
                severity,
                operation_techniques(op, request.function),
            )
        } else if new_function {
            let severity = if op == Operation::Read {
                Severity::Medium
            } else {
                Severity::High
            };
            let techniques = if op == Operation::Read {
                vec![ids::POINT_AND_TAG_IDENTIFICATION]
            } else {
                operation_techniques(op, request.function)
            };
            (
                "new_function",
                "Function never used on this edge in training",
                severity,
                techniques,
            )
        } else if let Some((burst_reasons, enumeration)) = &burst {
            reasons.extend(burst_reasons.iter().cloned());
            let (severity, techniques) = burst_grade(*enumeration);
            ("exception_burst", BURST_TITLE, severity, techniques)
        } else {
            return;
        };
        if new_function {
            let kind = if op == Operation::Read {
                String::new()
            } else {
                format!(" (a {} operation)", op.as_str())
            };
            reasons.push(Reason::new(
                format!("function {}{kind} on {edge_text}", request.function),
                "never used on this edge in training",
            ));
        }
        if rule != "exception_burst"
            && let Some((burst_reasons, _)) = burst
        {
            reasons.extend(burst_reasons);
            techniques.push(ids::REMOTE_SYSTEM_INFORMATION_DISCOVERY);
        }
        techniques.dedup();
        findings.push(Finding {
            detector: NAME,
            rule,
            title,
            severity,
            subject: Subject {
                src: Some(src),
                dst: Some(dst),
            },
            reasons,
            techniques: techniques.to_vec(),
            seen: Seen::of(event, observation.schema),
            scores: None,
        });
    }

    fn checkpoint(&self) -> serde_json::Value {
        let mut windows: Vec<_> = self
            .windows
            .iter()
            .map(|(&(src, dst, port), window)| (src, dst, port, window.clone()))
            .collect();
        // Map order is random; a checkpoint of the same state is the same file.
        windows.sort_by_key(|window| (window.0, window.1, window.2));
        serde_json::to_value(State { windows }).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            self.windows.clear();
            self.pending.clear();
            self.bursts = 0;
            return Ok(());
        }
        let state: State = serde_json::from_value(state).map_err(|error| error.to_string())?;
        // The windows owing a summary, in the order their bursts were reported.
        let mut pending: Vec<(u64, EdgeKey)> = state
            .windows
            .iter()
            .filter(|(_, _, _, window)| window.seen.is_some())
            .map(|(src, dst, port, window)| (window.order, (*src, *dst, *port)))
            .collect();
        pending.sort_unstable();
        self.bursts = state
            .windows
            .iter()
            .map(|(_, _, _, window)| window.order + 1)
            .max()
            .unwrap_or(0);
        self.pending = pending.into_iter().map(|(_, key)| key).collect();
        self.windows = state
            .windows
            .into_iter()
            .map(|(src, dst, port, window)| ((src, dst, port), window))
            .collect();
        Ok(())
    }
}

/// The techniques a changing operation suggests.
fn operation_techniques(op: Operation, function: &str) -> Vec<&'static str> {
    match op {
        Operation::Read => vec![],
        Operation::Write => {
            let upper = function.to_ascii_uppercase();
            if upper.contains("REGISTER") || upper.starts_with("SET_") || upper == "WRITE" {
                vec![ids::UNAUTHORIZED_COMMAND, ids::MODIFY_PARAMETER]
            } else {
                vec![ids::UNAUTHORIZED_COMMAND]
            }
        }
        Operation::Control => vec![ids::UNAUTHORIZED_COMMAND, ids::MANIPULATION_OF_CONTROL],
        Operation::Restart => vec![ids::DEVICE_RESTART, ids::UNAUTHORIZED_COMMAND],
        Operation::Program => vec![ids::PROGRAM_DOWNLOAD],
    }
}

fn issued_text(issued: u8) -> String {
    let names: Vec<&str> = [Operation::Read]
        .into_iter()
        .chain(Operation::CHANGING)
        .filter(|op| issued & op.bit() != 0)
        .map(Operation::as_str)
        .collect();
    if names.is_empty() {
        "nothing".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests;
