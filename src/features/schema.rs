//! The two feature schemas, their column names, and the per-feature training ranges used to say
//! which features of an anomalous row were unusual.
//!
//! Connection records (conn.log, one line per connection) and protocol-request records (ICSNPP
//! logs, one line per request) describe different things at different rates: a persistent Modbus
//! connection is one conn.log line a day but 170,000 requests. Mixing them in one matrix would let
//! the request rows drown the connection rows, so each schema has its own columns and its own
//! forest inside one model.

use serde::{Deserialize, Serialize};

/// Which kind of record a row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schema {
    /// conn.log: one row per connection.
    Conn,
    /// Protocol logs (Modbus, DNP3, EtherNet/IP, CIP): one row per request or response.
    Request,
}

impl Schema {
    pub const ALL: [Schema; 2] = [Schema::Conn, Schema::Request];

    /// The column names, in matrix order.
    pub fn feature_names(self) -> &'static [&'static str] {
        match self {
            Schema::Conn => &CONN_FEATURES,
            Schema::Request => &REQUEST_FEATURES,
        }
    }

    pub fn width(self) -> usize {
        self.feature_names().len()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Schema::Conn => "conn",
            Schema::Request => "request",
        }
    }
}

/// Columns shared by both schemas, at the same positions.
pub mod col {
    /// ln(1 + training count of the edge); 0 for an edge never seen.
    pub const EDGE_FREQ: usize = 0;
    /// ln(1 + training count of the source as an originator); 0 for a new source.
    pub const ORIG_FREQ: usize = 1;
    /// ln(1 + training count of the destination as a responder); 0 for a new destination.
    pub const RESP_FREQ: usize = 2;
    /// ln(1 + training count of the (edge, function) or (edge, conn_state) pair).
    pub const PAIR_FREQ: usize = 3;
    /// ln(1 + seconds since the previous record on the same edge and direction).
    pub const INTERVAL: usize = 4;
    /// INTERVAL minus the edge's mean INTERVAL in training: the broken-rhythm signal.
    pub const INTERVAL_DEV: usize = 5;
    /// First schema-specific column.
    pub const SPECIFIC: usize = 6;
}

/// The widest schema, for fixed-size row buffers.
pub const MAX_WIDTH: usize = 11;

const CONN_FEATURES: [&str; 11] = [
    "edge_freq",
    "orig_freq",
    "resp_freq",
    "conn_state_freq",
    "interval",
    "interval_dev",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "orig_pkts",
    "resp_pkts",
];

const REQUEST_FEATURES: [&str; 9] = [
    "edge_freq",
    "orig_freq",
    "resp_freq",
    "function_freq",
    "interval",
    "interval_dev",
    "is_write",
    "is_error",
    "is_response",
];

/// Per-feature ranges seen in the training sample, used to explain rows (never to score them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureRanges {
    /// 0.1th percentile of each column in the training sample.
    pub low: Vec<f64>,
    /// 99.9th percentile of each column in the training sample.
    pub high: Vec<f64>,
}

impl FeatureRanges {
    /// Computes the ranges from a row-major matrix of `width` columns.
    pub fn fit(rows: &[f64], width: usize) -> FeatureRanges {
        let n_rows = rows.len().checked_div(width).unwrap_or(0);
        let mut low = Vec::with_capacity(width);
        let mut high = Vec::with_capacity(width);
        let mut column = Vec::with_capacity(n_rows);
        for col_idx in 0..width {
            column.clear();
            column.extend((0..n_rows).map(|row_idx| rows[row_idx * width + col_idx]));
            column.sort_by(f64::total_cmp);
            low.push(quantile(&column, 0.001));
            high.push(quantile(&column, 0.999));
        }
        FeatureRanges { low, high }
    }

    /// Columns of `row` outside the training range, most out of range first, as
    /// (column, how far outside in units of the range's width).
    pub fn unusual(&self, row: &[f64]) -> Vec<(usize, f64)> {
        let mut out: Vec<(usize, f64)> = row
            .iter()
            .enumerate()
            .filter_map(|(col_idx, &value)| {
                let (low, high) = (*self.low.get(col_idx)?, *self.high.get(col_idx)?);
                let span = (high - low).max(0.1);
                if value < low {
                    Some((col_idx, (low - value) / span))
                } else if value > high {
                    Some((col_idx, (value - high) / span))
                } else {
                    None
                }
            })
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1));
        out
    }
}

/// Nearest-rank quantile of sorted values; 0 for no values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}
