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
use crate::features::intern::KeyHashState;
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
            detector: finding.detector.to_string(),
            rule: finding.rule.to_string(),
            title: finding.title.to_string(),
            severity: finding.severity,
            subject: finding.subject,
            seen: finding.seen,
            reasons: finding.reasons,
            techniques: finding.techniques.iter().map(ToString::to_string).collect(),
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
            if !self.techniques.iter().any(|kept| kept == technique) {
                self.techniques.push(technique.to_string());
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
/// each stream keeps its own log time and its own alerts. The same fact seen through both logs
/// (one new edge in conn.log and in modbus.log) is still one alert: a finding is not alerted
/// again when the other stream's alert of the same detector, rule and devices covers its time
/// and is at least as severe (a more severe sighting must be seen). It never changes that
/// alert, open or closed, so a live run, where both logs advance together, and a batch run,
/// which reads one file after the other, give the same alerts.
type GroupKey = (String, String, Subject, Schema);

fn stream(schema: Schema) -> usize {
    match schema {
        Schema::Conn => 0,
        Schema::Request => 1,
    }
}

fn other(schema: Schema) -> Schema {
    match schema {
        Schema::Conn => Schema::Request,
        Schema::Request => Schema::Conn,
    }
}

fn key_of(detector: &str, rule: &str, subject: Subject, schema: Schema) -> GroupKey {
    (detector.to_string(), rule.to_string(), subject, schema)
}

/// At most this many closed alerts are remembered for the other stream to join; the oldest
/// are forgotten first (only a batch run whose first file holds more alerts than this meets it).
const MAX_REPORTED: usize = 1 << 16;

/// An alert being gathered, and when its window closes in log time.
#[derive(Clone, Debug)]
struct Gathering {
    seq: u64,
    closes_at: f64,
    alert: Alert,
}

/// A closed alert that a finding of the other stream may still join.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    pub seq: u64,
    pub schema: Schema,
    pub detector: String,
    pub rule: String,
    pub subject: Subject,
    /// The alert's first finding less the window, and when its window closed (log time).
    pub from: f64,
    pub until: f64,
    pub severity: Severity,
}

impl Reported {
    fn key(&self) -> GroupKey {
        key_of(&self.detector, &self.rule, self.subject, self.schema)
    }

    fn joins(&self, finding: &Finding) -> bool {
        self.from <= finding.seen.ts
            && finding.seen.ts <= self.until
            && finding.severity <= self.severity
    }
}

/// Groups findings into alerts, in log time.
#[derive(Clone, Debug)]
pub struct AlertBuilder {
    window: f64,
    /// The asset inventory that enriches alerts, if one was given.
    inventory: Option<Arc<Inventory>>,
    model_sha256: String,
    /// Looked up once per finding: foldhash, keyed per process (the keys carry addresses from
    /// the network); nothing iterates it in hash order.
    open: HashMap<GroupKey, Gathering, KeyHashState>,
    /// Open alerts per stream by (window end in order-preserving bits, opening sequence).
    closing: [BTreeMap<(u64, u64), GroupKey>; 2],
    /// Closed alerts per stream, by (window end in order-preserving bits, sequence).
    reported: [BTreeMap<(u64, u64), Reported>; 2],
    /// The sequences of `reported` by group key.
    reported_by_key: HashMap<GroupKey, Vec<(u64, u64)>>,
    next_seq: u64,
    /// The latest log time seen per stream.
    watermark: [f64; 2],
    /// The key of the group the last finding went to: a run of findings on one fact (a drift
    /// flags every poll) finds its open alert without building a key for each.
    last: Option<GroupKey>,
}

/// The builder's state in a checkpoint: its open alerts in opening order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BuilderState {
    pub window: f64,
    pub next_seq: u64,
    /// The latest log time seen per stream (conn, request), if any.
    pub watermark: [Option<f64>; 2],
    pub open: Vec<(u64, Alert)>,
    /// When each open alert's window closes, by sequence, where it is not the alert's first
    /// finding plus the window (a maintenance session).
    #[serde(default)]
    pub closes_at: BTreeMap<u64, f64>,
    /// Closed alerts the other stream may still join.
    #[serde(default)]
    pub reported: Vec<Reported>,
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
            open: HashMap::default(),
            closing: [BTreeMap::new(), BTreeMap::new()],
            reported: [BTreeMap::new(), BTreeMap::new()],
            reported_by_key: HashMap::new(),
            next_seq: 0,
            watermark: [f64::NEG_INFINITY; 2],
            last: None,
        }
    }

    /// Enriches every alert with both ends' asset context from `inventory`, and applies its
    /// maintenance windows to severity and grouping (`context`).
    pub fn with_inventory(mut self, inventory: Option<Arc<Inventory>>) -> AlertBuilder {
        self.inventory = inventory;
        self
    }

    /// Log time of a stream moves on to `ts`: its alerts whose window ended before it are
    /// closed, and the other stream's closed alerts it can no longer join are forgotten.
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
        // conn.log is written when a connection ends, so its records come a little out of
        // order: keep one window of slack before forgetting.
        let forget = order_bits(ts - self.window);
        let others = self::stream(other(schema));
        while self.reported[others]
            .first_key_value()
            .is_some_and(|(order, _)| order.0 < forget)
        {
            self.forget_oldest(others);
        }
    }

    fn close(&mut self, key: &GroupKey, out: &mut Vec<Alert>) {
        let Some(gathering) = self.open.remove(key) else {
            return;
        };
        let Gathering {
            seq,
            closes_at,
            mut alert,
        } = gathering;
        self.remember(Reported {
            seq,
            schema: key.3,
            detector: alert.detector.clone(),
            rule: alert.rule.clone(),
            subject: alert.subject,
            from: alert.first_seen - self.window,
            until: closes_at,
            severity: alert.severity,
        });
        if alert.count > 1 {
            alert.state = AlertState::Closed;
            out.push(alert);
        }
    }

    fn remember(&mut self, reported: Reported) {
        let stream = stream(reported.schema);
        let order = (order_bits(reported.until), reported.seq);
        self.reported_by_key
            .entry(reported.key())
            .or_default()
            .push(order);
        self.reported[stream].insert(order, reported);
        while self.reported.iter().map(BTreeMap::len).sum::<usize>() > MAX_REPORTED {
            let oldest = (0..2)
                .filter_map(|s| self.reported[s].first_key_value().map(|(o, _)| (*o, s)))
                .min()
                .map(|(_, s)| s);
            match oldest {
                Some(stream) => self.forget_oldest(stream),
                None => break,
            }
        }
    }

    fn forget_oldest(&mut self, stream: usize) {
        let Some((order, reported)) = self.reported[stream].pop_first() else {
            return;
        };
        let key = reported.key();
        if let Some(orders) = self.reported_by_key.get_mut(&key) {
            orders.retain(|kept| *kept != order);
            if orders.is_empty() {
                self.reported_by_key.remove(&key);
            }
        }
    }

    /// The finding back, unless the other stream already alerted on its fact (open or closed,
    /// in its window) and the finding is not more severe.
    fn unless_other_stream_has(&mut self, key: &GroupKey, finding: Finding) -> Option<Finding> {
        let mut other_key = key.clone();
        other_key.3 = other(key.3);
        let ts = finding.seen.ts;
        if let Some(gathering) = self.open.get(&other_key)
            && gathering.alert.first_seen - self.window <= ts
            && ts <= gathering.closes_at
            && finding.severity <= gathering.alert.severity
        {
            return None;
        }
        let reported = &self.reported[stream(other_key.3)];
        let known = self.reported_by_key.get(&other_key).is_some_and(|orders| {
            orders
                .iter()
                .any(|order| reported.get(order).is_some_and(|r| r.joins(&finding)))
        });
        (!known).then_some(finding)
    }

    /// Adds a finding: a new alert is emitted at once; a finding within an open alert's window
    /// joins it.
    ///
    /// With an inventory, a finding that a maintenance window explains (both ends listed, one
    /// inside its window) is grouped by its source until that window closes: one engineering
    /// session on several devices is one alert that lists them all, at the lowered severity.
    pub fn add(&mut self, mut finding: Finding, out: &mut Vec<Alert>) {
        let schema = finding.seen.record;
        let mut closes_at = finding.seen.ts + self.window;
        let ends = self.inventory.as_deref().map(|inventory| {
            let ends = Ends::of(inventory, &finding);
            if context::apply_maintenance(&ends, &mut finding)
                && let Some(end) = context::maintenance_closes_at(inventory, &finding)
            {
                group_as_session(&mut finding, end);
                closes_at = closes_at.max(end);
            }
            ends
        });
        self.advance(schema, finding.seen.ts, out);
        if let Some(last) = &self.last
            && last.0 == finding.detector
            && last.1 == finding.rule
            && last.2 == finding.subject
            && last.3 == schema
            && let Some(gathering) = self.open.get_mut(last)
        {
            gathering.alert.absorb(finding);
            return;
        }
        let key = key_of(finding.detector, finding.rule, finding.subject, schema);
        if let Some(gathering) = self.open.get_mut(&key) {
            gathering.alert.absorb(finding);
            self.last = Some(key);
            return;
        }
        let Some(finding) = self.unless_other_stream_has(&key, finding) else {
            return;
        };
        let alert = Alert::open(finding, &self.model_sha256, ends);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.closing[stream(schema)].insert((order_bits(closes_at), seq), key.clone());
        out.push(alert.clone());
        self.last = Some(key.clone());
        self.open.insert(
            key,
            Gathering {
                seq,
                closes_at,
                alert,
            },
        );
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
        let mut open: Vec<&Gathering> = self.open.values().collect();
        open.sort_by_key(|gathering| gathering.seq);
        BuilderState {
            window: self.window,
            next_seq: self.next_seq,
            watermark: self.watermark.map(|ts| ts.is_finite().then_some(ts)),
            closes_at: open
                .iter()
                .filter(|g| g.closes_at != g.alert.first_seen + self.window)
                .map(|g| (g.seq, g.closes_at))
                .collect(),
            open: open.into_iter().map(|g| (g.seq, g.alert.clone())).collect(),
            reported: self
                .reported
                .iter()
                .flat_map(|reported| reported.values().cloned())
                .collect(),
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
            let closes_at = state
                .closes_at
                .get(&seq)
                .copied()
                .unwrap_or(alert.first_seen + builder.window);
            builder.closing[stream(schema)].insert((order_bits(closes_at), seq), key.clone());
            builder.open.insert(
                key,
                Gathering {
                    seq,
                    closes_at,
                    alert,
                },
            );
        }
        for reported in state.reported {
            builder.remember(reported);
        }
        builder
    }
}

/// Groups a finding that maintenance explains by its source until the window closes at `end`,
/// and says so.
fn group_as_session(finding: &mut Finding, end: f64) {
    let source = finding.seen.src;
    finding.subject = Subject {
        src: Some(source),
        dst: None,
    };
    finding.reasons.push(Reason::new(
        format!(
            "one alert for {source}'s {} findings until the maintenance window closes at {}",
            finding.rule,
            crate::text::rfc3339(end)
        ),
        "a maintenance session is grouped by its source; every device it reached is listed",
    ));
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
