//! The realistic certification variants: attacks built from the model's own hosts, edges,
//! registers and rhythm, each scored through the model's deployed pipeline (the shared
//! `stream`), each reporting what was caught, by which detector, when (seconds after the
//! variant's first record), and whether it met its stated requirement.
//!
//! - `register_drift`: a register the process-value detector learnt, crept from its training
//!   level by a relative change over days, on its own edge and function.
//! - `scenarios`: a new source on 502, a write from a host that only read, a polled device
//!   opening sessions on 445 and 4444, a scan, and timing mimicry; each must be caught within
//!   one polling cycle of its first record.
//! - `poisoning`: what a candidate learnt that the production model did not know (the baseline
//!   diff), with the canaries of confirmed incidents: how an attacker present throughout the
//!   training window is caught.
//!
//! A variant that cannot be built from the model (no register learnt, no read-only host) is a
//! failure that says why, never a pass.

pub mod poisoning;
pub mod register_drift;
pub mod scenarios;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::stream::{Stream, Tally};
use crate::detect::roles::Roles;
use crate::features::{
    ConnFields, Direction, EdgeRef, EventKind, FlowEvent, Proto, RequestFields, Schema,
    ValueFields, Vocab,
};
use crate::model::LoadedModel;
use crate::pipeline::PipelineError;

/// The variants' parameters; the defaults are documented in docs/registry.md.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantConfig {
    /// The register drift's total relative change (0.10: +10 % of the training level).
    pub register_change: f64,
    /// Days the register drift lasts.
    pub register_days: u32,
    /// The last day (1-based) on which the register drift's first detection may fall.
    pub register_required_first_day: u32,
    /// Seconds between two reads of the drifted register (the edge's own cycle when slower).
    pub register_read_secs: f64,
    /// Records (polls, connections, probes) each scenario injects.
    pub scenario_records: u32,
    /// The forest's threshold, as in the drift test (None: the model's calibrated one).
    pub threshold: Option<f64>,
    pub batch_rows: usize,
}

impl Default for VariantConfig {
    fn default() -> VariantConfig {
        VariantConfig {
            register_change: 0.10,
            register_days: 7,
            register_required_first_day: 5,
            register_read_secs: 60.0,
            scenario_records: 20,
            threshold: None,
            batch_rows: crate::pipeline::BATCH_ROWS,
        }
    }
}

impl VariantConfig {
    /// Refuses parameters that would make a variant meaningless.
    pub fn check(&self) -> Result<(), VariantError> {
        if !(self.register_change.is_finite() && self.register_change != 0.0) {
            return Err(VariantError::Config(
                "a finite, non-zero register change".into(),
            ));
        }
        if self.register_days == 0 || self.scenario_records == 0 {
            return Err(VariantError::Config(
                "at least one register drift day and one scenario record".into(),
            ));
        }
        if !(self.register_read_secs.is_finite() && self.register_read_secs >= 1.0) {
            return Err(VariantError::Config(
                "register reads at least one second apart".into(),
            ));
        }
        Ok(())
    }
}

/// What one variant gave.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariantResult {
    /// The variant's name (`register_drift`, `new_source_502`, ...).
    pub test: String,
    /// What was injected, in words.
    pub injected: String,
    /// `detector.rule` of the first finding, `None` when nothing was caught.
    pub caught_by: Option<String>,
    /// Every detector that found something, in the order of its first finding.
    #[serde(default)]
    pub detectors: Vec<String>,
    pub caught: u64,
    pub total: u64,
    /// What `caught` and `total` count.
    pub unit: String,
    /// Seconds from the variant's first record to its first detection.
    pub first_detection_secs: Option<f64>,
    /// The pass rule, in words.
    pub requirement: String,
    pub passed: bool,
    /// Items behind the result (the poisoning's learnt items), or why it could not run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
}

impl VariantResult {
    /// A variant the model gives no material for: failed, with the reason.
    pub fn not_run(test: &str, requirement: String, why: String) -> VariantResult {
        VariantResult {
            test: test.to_string(),
            injected: "nothing: the variant could not be built from this model".to_string(),
            caught_by: None,
            detectors: Vec::new(),
            caught: 0,
            total: 0,
            unit: "records".to_string(),
            first_detection_secs: None,
            requirement,
            passed: false,
            details: vec![why],
        }
    }
}

/// Why a variant could not be scored.
#[derive(Debug, thiserror::Error)]
pub enum VariantError {
    #[error("the variants need {0}")]
    Config(String),
    #[error("scoring the {test} variant failed: {source}")]
    Pipeline {
        test: &'static str,
        source: PipelineError,
    },
    #[error("the model's process-value baseline cannot be read: {0}")]
    Baseline(#[from] crate::detect::baseline::BaselineError),
}

/// Runs the register drift and every scenario on the model.
pub fn run(
    model: &Arc<LoadedModel>,
    config: &VariantConfig,
) -> Result<Vec<VariantResult>, VariantError> {
    config.check()?;
    let plant = Plant::of(model);
    let mut results = vec![register_drift::run(model, &plant, config)?];
    results.extend(scenarios::run(model, &plant, config)?);
    Ok(results)
}

/// One edge of the model's vocabulary, resolved.
#[derive(Clone, Debug)]
pub(crate) struct Edge {
    pub orig: IpAddr,
    pub resp: IpAddr,
    pub port: u16,
    pub service: String,
    pub count: u64,
    /// The mean training interval between its records, in seconds.
    pub interval: Option<f64>,
    /// Its functions (request schema) or conn states (conn schema), most used first.
    pub labels: Vec<String>,
}

/// `window_secs`: the training window's length, over which an edge's records are spread.
fn edges_of(vocab: &Vocab, window_secs: f64) -> Vec<Edge> {
    let mut edges: Vec<Edge> = (0..vocab.edges.len())
        .filter_map(|id| {
            let count = vocab.edge_counts.get(id).copied().unwrap_or(0);
            let ids = vocab.edges.key(id as u32)?;
            let mut labels: Vec<(u64, String)> = (0..vocab.pairs.len() as u32)
                .filter_map(|pair| Some((pair, vocab.pairs.key(pair)?)))
                .filter(|(_, (edge, _))| *edge as usize == id)
                .filter_map(|(pair, (_, label))| {
                    let count = vocab.pair_counts.get(pair as usize).copied().unwrap_or(0);
                    Some((count, vocab.labels.key(label)?.to_string()))
                })
                .collect();
            labels.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            Some(Edge {
                orig: vocab.hosts.key(ids.orig)?,
                resp: vocab.hosts.key(ids.resp)?,
                port: ids.port,
                service: vocab.services.key(ids.service).unwrap_or("-").to_string(),
                count,
                // The mean interval over the window (the vocabulary's own interval statistic is
                // a mean of ln(1 + interval), which the requests of one poll pull to seconds).
                interval: (count > 1 && window_secs > 0.0).then(|| window_secs / count as f64),
                labels: labels.into_iter().map(|(_, label)| label).collect(),
            })
        })
        .filter(|edge| edge.count > 0)
        .collect();
    edges.sort_by_key(|edge| std::cmp::Reverse(edge.count));
    edges
}

/// A conn.log line's numbers.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConnShape {
    pub duration: f64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
}

/// What the variants build their attacks from: the model's hosts, edges, roles and rhythm.
pub(crate) struct Plant {
    pub roles: Roles,
    pub hosts: BTreeSet<IpAddr>,
    /// Request-schema edges (protocol logs), busiest first.
    pub requests: Vec<Edge>,
    /// Conn-schema edges, busiest first.
    pub conns: Vec<Edge>,
    /// A typical connection: the midpoint of every conn training range.
    pub conn: ConnShape,
    /// The polling cycle: the mean interval of the busiest request edge (else conn edge) over
    /// the training window, 60 s when the model has none.
    pub cycle: f64,
    pub start_ts: f64,
}

impl Plant {
    pub fn of(model: &LoadedModel) -> Plant {
        let vocabs = model.file.schemas.iter().map(|schema| &schema.vocab);
        let roles = Roles::learn(vocabs.clone(), &model.ot_selector());
        let mut hosts = BTreeSet::new();
        for vocab in vocabs {
            hosts.extend((0..vocab.hosts.len() as u32).filter_map(|id| vocab.hosts.key(id)));
        }
        let window = &model.file.manifest.window;
        let window_secs = window.end - window.start;
        let edges = |schema| {
            model
                .schema(schema)
                .map_or_else(Vec::new, |m| edges_of(&m.vocab, window_secs))
        };
        let requests = edges(Schema::Request);
        let conns = edges(Schema::Conn);
        let cycle = requests
            .iter()
            .chain(conns.iter())
            .find_map(|edge| edge.interval)
            .filter(|interval| interval.is_finite() && *interval > 0.0)
            .unwrap_or(60.0);
        let conn = match model.schema(Schema::Conn) {
            Some(conn) => {
                let mid = |feature| super::drift::range_midpoint(conn, feature);
                ConnShape {
                    duration: mid("duration"),
                    orig_bytes: mid("orig_bytes").round() as u64,
                    resp_bytes: mid("resp_bytes").round() as u64,
                    orig_pkts: mid("orig_pkts").round() as u64,
                    resp_pkts: mid("resp_pkts").round() as u64,
                }
            }
            None => ConnShape {
                duration: 0.01,
                orig_bytes: 12,
                resp_bytes: 20,
                orig_pkts: 4,
                resp_pkts: 3,
            },
        };
        Plant {
            roles,
            hosts,
            requests,
            conns,
            conn,
            cycle,
            start_ts: super::stream::test_start(model),
        }
    }

    /// An address never seen in training, in the same /24 (or /120) as `near`.
    pub fn unused_host(&self, near: IpAddr, skip: &[IpAddr]) -> IpAddr {
        let taken = |ip: &IpAddr| self.hosts.contains(ip) || skip.contains(ip);
        let candidates: Box<dyn Iterator<Item = IpAddr>> = match near {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                Box::new((2..=254u8).rev().map(move |d| IpAddr::from([a, b, c, d])))
            }
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                Box::new((2..=0xfeu16).rev().map(move |last| {
                    segments[7] = last;
                    IpAddr::from(segments)
                }))
            }
        };
        candidates
            .into_iter()
            .find(|ip| !taken(ip))
            .unwrap_or(IpAddr::from([198, 51, 100, 77]))
    }

    /// Whether a conn edge on (service, port) is OT traffic for the model.
    pub fn is_ot(model: &LoadedModel, service: &str, port: u16) -> bool {
        model.ot_selector().is_ot_edge(service, port)
    }
}

/// What a synthetic record says, owned so a variant can build its whole stream first.
#[derive(Clone, Debug)]
pub(crate) enum RecordKind {
    Conn {
        shape: ConnShape,
        state: String,
    },
    Request {
        function: String,
    },
    Values {
        unit: Option<u64>,
        function: String,
        address: u64,
        values: String,
    },
}

/// One synthetic log record.
#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub ts: f64,
    pub uid: String,
    pub orig: IpAddr,
    pub orig_p: u16,
    pub resp: IpAddr,
    pub port: u16,
    pub proto: Proto,
    pub service: String,
    pub ot: bool,
    pub kind: RecordKind,
}

impl Record {
    fn event(&self) -> FlowEvent<'_> {
        let kind = match &self.kind {
            RecordKind::Conn { shape, state } => EventKind::Conn(ConnFields {
                duration: Some(shape.duration),
                orig_bytes: Some(shape.orig_bytes),
                resp_bytes: Some(shape.resp_bytes),
                orig_pkts: Some(shape.orig_pkts),
                resp_pkts: Some(shape.resp_pkts),
                conn_state: state,
            }),
            RecordKind::Request { function } => EventKind::Request(RequestFields {
                function,
                is_write: crate::features::functions::is_write(function),
                is_error: false,
                error: "",
                direction: Direction::Both,
            }),
            RecordKind::Values {
                unit,
                function,
                address,
                values,
            } => EventKind::Values(ValueFields {
                unit: *unit,
                function,
                address: Some(*address),
                values,
                separator: ",",
                direction: Direction::Response,
            }),
        };
        FlowEvent {
            ts: self.ts,
            uid: &self.uid,
            orig_p: self.orig_p,
            edge: EdgeRef {
                orig_h: self.orig,
                resp_h: self.resp,
                resp_p: self.port,
                proto: self.proto,
                service: &self.service,
            },
            ot: self.ot,
            kind,
        }
    }
}

/// Scores the records (sorted by time) through a fresh pipeline.
pub(crate) fn score(
    model: &Arc<LoadedModel>,
    config: &VariantConfig,
    test: &'static str,
    records: &[Record],
) -> Result<Tally, VariantError> {
    let start = records.first().map_or(0.0, |record| record.ts);
    let mut stream = Stream::new(model, config.threshold, config.batch_rows, start);
    let failed = |source| VariantError::Pipeline { test, source };
    for record in records {
        stream.push(&record.event()).map_err(failed)?;
    }
    stream.finish().map_err(failed)
}

/// A poll: a conn.log line and its protocol-log request line, sharing a uid.
pub(crate) fn poll(
    model: &LoadedModel,
    plant: &Plant,
    edge: (IpAddr, IpAddr, u16, &str),
    function: &str,
    ts: f64,
    uid: String,
) -> [Record; 2] {
    let (orig, resp, port, service) = edge;
    let conn = Record {
        ts,
        uid: uid.clone(),
        orig,
        orig_p: 40_000 + (ts as u64 % 20_000) as u16,
        resp,
        port,
        proto: Proto::Tcp,
        service: service.to_string(),
        ot: Plant::is_ot(model, service, port),
        kind: RecordKind::Conn {
            shape: plant.conn,
            state: "SF".to_string(),
        },
    };
    let request = Record {
        ts: ts + 0.001,
        ot: true,
        kind: RecordKind::Request {
            function: function.to_string(),
        },
        ..conn.clone()
    };
    [conn, request]
}
