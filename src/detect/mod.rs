//! Detectors: each turns what the pipeline observed into findings with a severity, reasons that
//! name the observed value beside the baseline it left, and the ATT&CK for ICS techniques the
//! finding suggests.
//!
//! Two kinds exist. An event detector ([`Detector`]) sees every in-scope record in log order and
//! may keep state (the new-communication detector looks the record up in the training baseline);
//! what a detector learnt in training beyond the vocabularies is its section of the model's
//! baselines (`baseline`).
//! The forest ([`forest::ForestDetector`]) judges whole batches of rows, because the Isolation
//! Forest scores many rows at once far faster than one at a time. A new kind of evidence is a new
//! detector here, never a new bit in the feature encoder.
//!
//! **Architecture invariant:** detectors never write to a store or a sink; they return findings,
//! and the alert builder (`crate::alerts`) turns findings into alerts.

pub mod attack;
pub mod baseline;
pub mod conduit;
pub mod flow_shape;
pub mod forest;
pub mod function_code;
mod histogram;
pub mod novelty;
pub mod process_value;
pub mod reasons;
pub mod rhythm;
pub mod roles;
pub mod schedule;

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::features::{FlowEvent, RawRow, Schema, Vocab};
pub use attack::Technique;

/// How urgent a finding is, decided by what was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// ECS `event.severity`: a number where larger is more severe (21, 47, 73, 99, the Elastic
    /// detection engine's low, medium, high and critical bands).
    pub fn ecs_number(self) -> u8 {
        match self {
            Severity::Low => 21,
            Severity::Medium => 47,
            Severity::High => 73,
            Severity::Critical => 99,
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One reason: what was observed, and the baseline it left.
///
/// A reason is only given when the observed value is outside its baseline: a value inside its
/// training range, or equal to its typical value, is never a reason (see `reasons`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reason {
    /// What was seen, e.g. `new source 10.10.3.77`, `interval 0.01 s since the previous record`.
    /// Shared text: a detector that gives the same reason on thousands of records (a drift)
    /// hands out the one it formatted, and an alert compares a repeated reason by pointer.
    pub observed: Arc<str>,
    /// What training saw, e.g. `never originated in training`, `typical 5.81 s on this edge`.
    pub baseline: Arc<str>,
}

impl Reason {
    pub fn new(observed: impl Into<Arc<str>>, baseline: impl Into<Arc<str>>) -> Reason {
        Reason {
            observed: observed.into(),
            baseline: baseline.into(),
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} ({})", self.observed, self.baseline)
    }
}

/// The devices a finding is about: its grouping key. A scan from one new source is one alert,
/// so the new-source rule names only the source; a new edge names both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
}

/// The record a finding was made on, as the alert shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// Zeek `ts` (log time).
    pub ts: f64,
    pub uid: String,
    pub src: IpAddr,
    pub src_port: u16,
    pub dst: IpAddr,
    pub dst_port: u16,
    /// `tcp`, `udp`, `icmp`.
    pub transport: String,
    /// The conn.log service or the protocol log's protocol (`modbus`, `smb`, `-`).
    pub service: String,
    /// `conn` or `request`.
    pub record: Schema,
    /// True when the record itself is OT traffic (not only touching an OT asset).
    pub ot: bool,
}

impl Seen {
    pub fn of(event: &FlowEvent<'_>, record: Schema) -> Seen {
        Seen {
            ts: event.ts,
            uid: event.uid.to_string(),
            src: event.edge.orig_h,
            src_port: event.orig_p,
            dst: event.edge.resp_h,
            dst_port: event.edge.resp_p,
            transport: event.edge.proto.as_str().to_string(),
            service: event.edge.service.to_string(),
            record,
            ot: event.ot,
        }
    }
}

/// The forest's numbers for a row, when the forest scored it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// The decision value `score_samples - offset`: negative is anomalous.
    pub anomaly_score: f64,
    /// scikit-learn's `score_samples`, in [-1, 0], about -0.5 for ordinary rows.
    pub score_samples: f64,
}

/// What one detector found on one record. Its names, title and technique ids are the
/// detector's fixed text: a finding allocates only what differs per record (the alert builder
/// and the sinks copy what they keep).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    /// The detector's name (`novelty`, `forest`).
    pub detector: &'static str,
    /// The rule inside the detector (`new_source`, `new_edge`, `outlier`): with the subject, it
    /// decides which findings group into one alert.
    pub rule: &'static str,
    /// The rule in words, the alert's title (`New source on an OT network`).
    pub title: &'static str,
    pub severity: Severity,
    pub subject: Subject,
    pub reasons: Vec<Reason>,
    /// ATT&CK for ICS technique ids the finding suggests, from the shipped list.
    pub techniques: Vec<&'static str>,
    pub seen: Seen,
    pub scores: Option<Scores>,
}

/// What an event detector sees of one in-scope record.
#[derive(Clone, Copy, Debug)]
pub struct Observation<'a> {
    pub event: &'a FlowEvent<'a>,
    pub schema: Schema,
    /// The record after the feature state machine: its interned ids and state.
    pub raw: &'a RawRow,
    /// The training vocabulary of the record's schema.
    pub vocab: &'a Vocab,
}

/// A detector that sees every in-scope record, in log order.
pub trait Detector: Send {
    /// The detector's name, as findings and metrics carry it.
    fn name(&self) -> &'static str;

    /// Looks at one record and appends what it found to `findings`.
    fn observe(&mut self, observation: &Observation<'_>, findings: &mut Vec<Finding>);

    /// Looks at one value record (`modbus_detailed`: register values, no schema, no forest row),
    /// in log order among the other records; most detectors ignore them.
    fn observe_values(&mut self, _event: &FlowEvent<'_>, _findings: &mut Vec<Finding>) {}

    /// The detector's state for a checkpoint; a stateless detector keeps the default.
    fn checkpoint(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores what [`Detector::checkpoint`] saved; the error says what is wrong with it.
    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        match state {
            serde_json::Value::Null => Ok(()),
            _ => Err(format!("{} keeps no state", self.name())),
        }
    }
}
