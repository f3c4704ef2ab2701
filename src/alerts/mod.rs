//! Alerts: the one `Alert` type, built from findings. Findings of the same detector and rule on
//! the same devices within a window (10 minutes of log time by default) are one alert with a
//! count and first/last seen.
//!
//! The first finding opens an alert and it is emitted at once, never held for the window; when
//! the window has passed (in log time: a later record's `ts`, or the end of the input) an alert
//! that gathered more findings is emitted again, closed, with its final count, under the same id.
//! Ids are stable (a digest of the detector, rule, devices, first record's time and uid), so the
//! same input gives the same ids and a SIEM can de-duplicate. The ECS JSON (`ecs`), the printed
//! forms (`crate::sinks`) and the governance queue's stored form are views of this type.
//!
//! **Architecture invariant:** the builder's output depends only on the findings and their log
//! times, in order: never on batch sizes, threads or the wall clock.

pub mod context;
pub mod ecs;
pub mod stored;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::detect::{Finding, Reason, Scores, Seen, Severity, Subject};
use crate::features::Schema;
use crate::inventory::Inventory;
pub use context::Ends;
pub use stored::stored_form;

/// The grouping window when none is configured: 10 minutes.
pub const DEFAULT_WINDOW_SECS: f64 = 600.0;

/// At most this many distinct reasons and uids are kept per alert; the count keeps counting.
const MAX_REASONS: usize = 12;
const MAX_UIDS: usize = 20;

/// Whether an alert event opens an alert or closes it with its final count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The first finding: emitted at once.
    Open,
    /// The window has passed; the alert gathered more findings than the first.
    Closed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Closed => "closed",
        }
    }
}

/// One alert: what was found, on which devices, how often, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id: 32 hex digits.
    pub id: String,
    pub state: AlertState,
    pub detector: String,
    pub rule: String,
    pub title: String,
    /// The most severe of its findings.
    pub severity: Severity,
    pub subject: Subject,
    /// Findings gathered.
    pub count: u64,
    /// Log time of the first and last finding.
    pub first_seen: f64,
    pub last_seen: f64,
    /// The first record.
    pub seen: Seen,
    /// Distinct uids of the records (the first few).
    pub uids: Vec<String>,
    /// Distinct reasons (the first few).
    pub reasons: Vec<Reason>,
    /// ATT&CK for ICS technique ids.
    pub techniques: Vec<String>,
    /// The lowest anomaly_score among the findings the forest scored.
    pub scores: Option<Scores>,
    /// SHA-256 of the model file that scored the records.
    pub model_sha256: String,
    /// Both ends' asset context at the first record's log time, when an inventory was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<Ends>,
}

impl Alert {
    fn open(finding: Finding, model_sha256: &str, assets: Option<Ends>) -> Alert {
        let id = alert_id(&finding);
        Alert {
            assets,
            id,
            state: AlertState::Open,
            uids: vec![finding.seen.uid.clone()],
            first_seen: finding.seen.ts,
            last_seen: finding.seen.ts,
            count: 1,
            detector: finding.detector,
            rule: finding.rule,
            title: finding.title,
            severity: finding.severity,
            subject: finding.subject,
            seen: finding.seen,
            reasons: finding.reasons,
            techniques: finding.techniques,
            scores: finding.scores,
            model_sha256: model_sha256.to_string(),
        }
    }

    fn absorb(&mut self, finding: Finding) {
        self.count += 1;
        self.first_seen = self.first_seen.min(finding.seen.ts);
        self.last_seen = self.last_seen.max(finding.seen.ts);
        self.severity = self.severity.max(finding.severity);
        if self.uids.len() < MAX_UIDS && !self.uids.contains(&finding.seen.uid) {
            self.uids.push(finding.seen.uid);
        }
        for reason in finding.reasons {
            if self.reasons.len() < MAX_REASONS && !self.reasons.contains(&reason) {
                self.reasons.push(reason);
            }
        }
        for technique in finding.techniques {
            if !self.techniques.contains(&technique) {
                self.techniques.push(technique);
            }
        }
        if let Some(scores) = finding.scores
            && self
                .scores
                .is_none_or(|kept| scores.anomaly_score < kept.anomaly_score)
        {
            self.scores = Some(scores);
        }
    }
}

/// The stable id of the alert a finding opens.
fn alert_id(finding: &Finding) -> String {
    let mut hasher = Sha256::new();
    let host = |host: Option<std::net::IpAddr>| host.map_or_else(String::new, |h| h.to_string());
    hasher.update(
        format!(
            "otsentry-alert-v1|{}|{}|{}|{}|{:016x}|{}",
            finding.detector,
            finding.rule,
            host(finding.subject.src),
            host(finding.subject.dst),
            finding.seen.ts.to_bits(),
            finding.seen.uid
        )
        .as_bytes(),
    );
    hex::encode(&hasher.finalize()[..16])
}

/// What groups findings: detector, rule, devices, and the log stream (connection records or
/// protocol records).
///
/// The two streams come from different files (conn.log, modbus.log, ...), which a batch read
/// takes one after the other: each is in log-time order, but between them time jumps back. So
/// each stream keeps its own log time and its own alerts, and the result does not depend on
/// which file was read first.
type GroupKey = (String, String, Subject, Schema);

fn stream(schema: Schema) -> usize {
    match schema {
        Schema::Conn => 0,
        Schema::Request => 1,
    }
}

fn key_of(detector: &str, rule: &str, subject: Subject, schema: Schema) -> GroupKey {
    (detector.to_string(), rule.to_string(), subject, schema)
}

/// Groups findings into alerts, in log time.
#[derive(Clone, Debug)]
pub struct AlertBuilder {
    window: f64,
    /// The asset inventory that enriches alerts, if one was given.
    inventory: Option<Arc<Inventory>>,
    model_sha256: String,
    open: HashMap<GroupKey, (u64, Alert)>,
    /// Open alerts per stream by (window end in order-preserving bits, opening sequence).
    closing: [BTreeMap<(u64, u64), GroupKey>; 2],
    next_seq: u64,
    /// The latest log time seen per stream.
    watermark: [f64; 2],
}

/// The builder's state in a checkpoint: its open alerts in opening order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BuilderState {
    pub window: f64,
    pub next_seq: u64,
    /// The latest log time seen per stream (conn, request), if any.
    pub watermark: [Option<f64>; 2],
    pub open: Vec<(u64, Alert)>,
}

/// Order-preserving bits of a finite or infinite f64 (total order for the keys).
fn order_bits(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 0 {
        bits | (1 << 63)
    } else {
        !bits
    }
}

impl AlertBuilder {
    pub fn new(window_secs: f64, model_sha256: &str) -> AlertBuilder {
        AlertBuilder {
            window: window_secs.max(0.0),
            inventory: None,
            model_sha256: model_sha256.to_string(),
            open: HashMap::new(),
            closing: [BTreeMap::new(), BTreeMap::new()],
            next_seq: 0,
            watermark: [f64::NEG_INFINITY; 2],
        }
    }

    /// Enriches every alert with both ends' asset context from `inventory`, and applies its
    /// maintenance windows to severity (`context`).
    pub fn with_inventory(mut self, inventory: Option<Arc<Inventory>>) -> AlertBuilder {
        self.inventory = inventory;
        self
    }

    /// Log time of a stream moves on to `ts`: its alerts whose window ended before it are closed.
    pub fn advance(&mut self, schema: Schema, ts: f64, out: &mut Vec<Alert>) {
        let stream = stream(schema);
        if ts.is_nan() || ts <= self.watermark[stream] {
            return;
        }
        self.watermark[stream] = ts;
        let cut = order_bits(ts);
        while let Some(entry) = self.closing[stream].first_entry() {
            if entry.key().0 >= cut {
                break;
            }
            let key = entry.remove();
            self.close(&key, out);
        }
    }

    fn close(&mut self, key: &GroupKey, out: &mut Vec<Alert>) {
        if let Some((_, mut alert)) = self.open.remove(key)
            && alert.count > 1
        {
            alert.state = AlertState::Closed;
            out.push(alert);
        }
    }

    /// Adds a finding: a new alert is emitted at once; a finding within an open alert's window
    /// joins it.
    pub fn add(&mut self, mut finding: Finding, out: &mut Vec<Alert>) {
        let schema = finding.seen.record;
        let ends = self.inventory.as_deref().map(|inventory| {
            let ends = Ends::of(inventory, &finding);
            context::apply_maintenance(&ends, &mut finding);
            ends
        });
        self.advance(schema, finding.seen.ts, out);
        let key = key_of(&finding.detector, &finding.rule, finding.subject, schema);
        if let Some((_, alert)) = self.open.get_mut(&key) {
            alert.absorb(finding);
            return;
        }
        let alert = Alert::open(finding, &self.model_sha256, ends);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.closing[stream(schema)].insert(
            (order_bits(alert.first_seen + self.window), seq),
            key.clone(),
        );
        out.push(alert.clone());
        self.open.insert(key, (seq, alert));
    }

    /// Closes every open alert, in the order their windows end (the end of the input).
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        let mut closing: Vec<((u64, u64), GroupKey)> =
            self.closing.iter_mut().flat_map(std::mem::take).collect();
        closing.sort_by_key(|(order, _)| *order);
        for (_, key) in closing {
            self.close(&key, out);
        }
    }

    /// Alerts still open.
    pub fn open_alerts(&self) -> usize {
        self.open.len()
    }

    /// The state to checkpoint.
    pub fn state(&self) -> BuilderState {
        let mut open: Vec<(u64, Alert)> = self.open.values().cloned().collect();
        open.sort_by_key(|(seq, _)| *seq);
        BuilderState {
            window: self.window,
            next_seq: self.next_seq,
            watermark: self.watermark.map(|ts| ts.is_finite().then_some(ts)),
            open,
        }
    }

    /// A builder that continues from a checkpointed state.
    pub fn restore(state: BuilderState, model_sha256: &str) -> AlertBuilder {
        let mut builder = AlertBuilder::new(state.window, model_sha256);
        builder.next_seq = state.next_seq;
        builder.watermark = state.watermark.map(|ts| ts.unwrap_or(f64::NEG_INFINITY));
        for (seq, alert) in state.open {
            let schema = alert.seen.record;
            let key = key_of(&alert.detector, &alert.rule, alert.subject, schema);
            builder.closing[stream(schema)].insert(
                (order_bits(alert.first_seen + builder.window), seq),
                key.clone(),
            );
            builder.open.insert(key, (seq, alert));
        }
        builder
    }
}

/// Sorts alerts most severe first, then by first seen (the order a table or queue shows).
pub fn sort_most_severe_first(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.first_seen.total_cmp(&b.first_seen))
            .then_with(|| a.id.cmp(&b.id))
    });
}

#[cfg(test)]
mod tests;
