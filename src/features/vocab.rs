//! The vocabulary of one schema: every host, service, edge and (edge, function) pair seen in
//! training, with its training count, fitted in the training pass and saved with the model.
//!
//! Categorical values reach the forest as ln(1 + training count): a common edge is a large number,
//! a rare one a small number, and a value never seen in training is exactly 0, below everything
//! the forest was trained on, so it is isolated early. Novelty is also reported on its own, by the
//! new-communication detector (`crate::detect::novelty`), because a new source or a new function
//! code is evidence whatever the forest says.
//! Nothing is re-fitted at scoring: counts are frozen; only the interners keep growing so that
//! a novel edge still gets its own rhythm state.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::event::Proto;
use super::intern::{KeyInterner, OVERFLOW, StrInterner};
use super::schema::Schema;

/// An edge in interned form: (orig_h, resp_h, resp_p, proto, service).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EdgeIds {
    pub orig: u32,
    pub resp: u32,
    pub port: u16,
    pub proto: Proto,
    pub service: u32,
}

/// Running mean of ln(1 + interval) for one edge.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IntervalStats {
    pub n: u64,
    pub sum: f64,
}

impl IntervalStats {
    pub fn add(&mut self, value: f64) {
        self.n += 1;
        self.sum += value;
    }

    pub fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// Records whose key did not fit under the cap and went to the "other" bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overflow {
    pub hosts: u64,
    pub labels: u64,
    pub services: u64,
    pub edges: u64,
    pub pairs: u64,
}

impl Overflow {
    pub fn total(&self) -> u64 {
        self.hosts + self.labels + self.services + self.edges + self.pairs
    }
}

/// The fitted vocabulary of one schema.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Vocab {
    pub schema: Schema,
    /// The most keys any one interner holds; later keys share the "other" bucket.
    pub cap: usize,
    pub hosts: KeyInterner<IpAddr>,
    pub services: StrInterner,
    /// Function names (request schema) or conn states (conn schema).
    pub labels: StrInterner,
    pub edges: KeyInterner<EdgeIds>,
    /// (edge id, label id).
    pub pairs: KeyInterner<(u32, u32)>,
    /// Training counts by id; an id past the end was never seen in training.
    pub orig_counts: Vec<u64>,
    pub resp_counts: Vec<u64>,
    pub edge_counts: Vec<u64>,
    pub pair_counts: Vec<u64>,
    pub label_counts: Vec<u64>,
    pub service_counts: Vec<u64>,
    pub edge_intervals: Vec<IntervalStats>,
    pub all_intervals: IntervalStats,
    pub overflow: Overflow,
    pub n_records: u64,
}

impl Vocab {
    pub fn new(schema: Schema, cap: usize) -> Vocab {
        Vocab {
            schema,
            cap,
            hosts: KeyInterner::default(),
            services: StrInterner::default(),
            labels: StrInterner::default(),
            edges: KeyInterner::default(),
            pairs: KeyInterner::default(),
            orig_counts: Vec::new(),
            resp_counts: Vec::new(),
            edge_counts: Vec::new(),
            pair_counts: Vec::new(),
            label_counts: Vec::new(),
            service_counts: Vec::new(),
            edge_intervals: Vec::new(),
            all_intervals: IntervalStats::default(),
            overflow: Overflow::default(),
            n_records: 0,
        }
    }

    /// The mean ln(1 + interval) of an edge in training, else of all edges, else 0.
    pub fn interval_mean(&self, edge: u32) -> f64 {
        self.edge_intervals
            .get(edge as usize)
            .and_then(IntervalStats::mean)
            .or_else(|| self.all_intervals.mean())
            .unwrap_or(0.0)
    }

    /// The number of records per service in training, most first.
    pub fn service_counts(&self) -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = self
            .services
            .keys()
            .zip(&self.service_counts)
            .map(|(service, &count)| (service.to_string(), count))
            .collect();
        out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// Human-readable form of an edge id: `orig -> resp:port/proto service`.
    pub fn edge_label(&self, edge: u32) -> String {
        match self.edges.key(edge) {
            Some(ids) => format!(
                "{} -> {}:{}/{} {}",
                host_label(self.hosts.key(ids.orig)),
                host_label(self.hosts.key(ids.resp)),
                ids.port,
                ids.proto.as_str(),
                self.services.key(ids.service).unwrap_or("-"),
            ),
            None => "(other)".to_string(),
        }
    }
}

/// Adds one to `counts[id]`, growing the vector for a new id; an overflowed id counts in `other`.
pub(crate) fn bump(counts: &mut Vec<u64>, id: u32, other: &mut u64) {
    if id == OVERFLOW {
        *other += 1;
        return;
    }
    let idx = id as usize;
    if counts.len() <= idx {
        counts.resize(idx + 1, 0);
    }
    counts[idx] += 1;
}

/// The training count of an id, 0 when never seen in training.
pub(crate) fn count(counts: &[u64], id: u32) -> u64 {
    counts.get(id as usize).copied().unwrap_or(0)
}

fn host_label(host: Option<IpAddr>) -> String {
    host.map_or_else(|| "?".to_string(), |host| host.to_string())
}
