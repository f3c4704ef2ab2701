//! The feature state machine: one `Extractor` per schema turns events into rows, the same code in
//! training, batch scoring and (later) the live tail.
//!
//! Pushing an event does two things in order: it interns the event's keys and updates the per-edge
//! state (the time of the previous record on the edge and direction), yielding a [`RawRow`]; then
//! [`Extractor::encode`] turns a raw row into the numeric row the forest sees, using the frozen
//! vocabulary. Training needs the split because the vocabulary is only complete after the last
//! record: raw rows are sampled during the pass and encoded at its end, by the same `encode`
//! scoring uses. The same events in the same order give the same rows whether they arrive in one
//! batch or in chunks, since all state lives in the extractor and all time is the log's `ts`.
//!
//! The hot path avoids recomputing `ln_1p`: byte and packet counts are small integers, read from a
//! table of their exact `ln_1p`, and once the vocabulary is frozen the frequency columns and the
//! per-edge mean intervals are computed once per vocabulary entry (`Frozen`). Both give the very
//! values the direct computation gives, so rows are bit-for-bit the same either way.

use std::sync::LazyLock;

use super::event::{Direction, EventKind, FlowEvent};
use super::intern::OVERFLOW;
use super::schema::{Schema, col};
use super::vocab::{EdgeIds, Vocab, bump, count};

/// A record after interning and state update, before encoding.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawRow {
    pub orig: u32,
    pub resp: u32,
    pub edge: u32,
    /// The (edge, function) or (edge, conn_state) pair.
    pub pair: u32,
    /// ln(1 + seconds since the previous record on this edge and direction); NaN on the first.
    pub ln_interval: f64,
    /// The schema-specific columns, already transformed.
    pub specific: [f64; 5],
}

impl RawRow {
    /// A connection row's ln(1 + duration in seconds), a missing or negative duration as 0:
    /// bit for bit `duration.ln_1p()` of a non-negative duration (the learners reuse it).
    pub fn ln_duration(&self) -> f64 {
        self.specific[0]
    }
}

/// Whether the vocabulary is still being fitted or is frozen for scoring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Fit,
    Score,
}

/// The per-schema feature state machine.
#[derive(Clone, Debug)]
pub struct Extractor {
    vocab: Vocab,
    mode: Mode,
    /// Time of the previous record per edge id and direction (request, response, both).
    last_ts: Vec<[f64; 3]>,
    /// The encoding's per-entry values, computed when the vocabulary is frozen.
    frozen: Option<Frozen>,
}

/// How many small integers [`ln_1p_count`] reads from a table: Modbus and DNP3 payloads and
/// packet counts are almost always below this; the table is 32 KiB and only the used lines stay
/// in cache.
const SMALL_COUNTS: usize = 4096;

/// `ln_1p` of 0..SMALL_COUNTS, computed by the same `f64::ln_1p` the direct path calls.
static SMALL_LN_1P: LazyLock<Box<[f64]>> =
    LazyLock::new(|| (0..SMALL_COUNTS).map(|n| (n as f64).ln_1p()).collect());

/// `ln(1 + count)` of a byte or packet count, exactly as `(count as f64).ln_1p()`.
pub(crate) fn ln_1p_count(count: u64) -> f64 {
    usize::try_from(count)
        .ok()
        .and_then(|idx| SMALL_LN_1P.get(idx))
        .copied()
        .unwrap_or_else(|| (count as f64).ln_1p())
}

/// The encoding of a frozen vocabulary, per entry: ln(1 + training count) of every host, edge
/// and pair id, and every edge's mean interval. Counts never change once frozen, so these are
/// computed once instead of once per row; ids past the end (never seen in training) encode as
/// a count of 0, whose `ln_1p` is exactly 0.
#[derive(Clone, Debug)]
struct Frozen {
    orig_freq: Vec<f64>,
    resp_freq: Vec<f64>,
    edge_freq: Vec<f64>,
    pair_freq: Vec<f64>,
    /// [`Vocab::interval_mean`] of every edge id with interval statistics.
    edge_mean: Vec<f64>,
    /// [`Vocab::interval_mean`] of any other edge id.
    other_mean: f64,
}

impl Frozen {
    fn new(vocab: &Vocab) -> Frozen {
        let freqs = |counts: &[u64]| -> Vec<f64> {
            counts.iter().map(|&count| (count as f64).ln_1p()).collect()
        };
        let edge_mean = (0..vocab.edge_intervals.len())
            .map(|idx| vocab.interval_mean(idx as u32))
            .collect();
        Frozen {
            orig_freq: freqs(&vocab.orig_counts),
            resp_freq: freqs(&vocab.resp_counts),
            edge_freq: freqs(&vocab.edge_counts),
            pair_freq: freqs(&vocab.pair_counts),
            edge_mean,
            other_mean: vocab.all_intervals.mean().unwrap_or(0.0),
        }
    }

    fn interval_mean(&self, edge: u32) -> f64 {
        self.edge_mean
            .get(edge as usize)
            .copied()
            .unwrap_or(self.other_mean)
    }
}

/// ln(1 + count) of an id, 0 for an id with no training count.
fn freq(freqs: &[f64], id: u32) -> f64 {
    freqs.get(id as usize).copied().unwrap_or(0.0)
}

impl Extractor {
    /// A fresh extractor that fits a vocabulary while it extracts.
    pub fn fit(schema: Schema, cap: usize) -> Extractor {
        Extractor {
            vocab: Vocab::new(schema, cap),
            mode: Mode::Fit,
            last_ts: Vec::new(),
            frozen: None,
        }
    }

    /// An extractor that scores against a trained vocabulary; its counts never change.
    pub fn score(vocab: Vocab) -> Extractor {
        let frozen = Some(Frozen::new(&vocab));
        Extractor {
            vocab,
            mode: Mode::Score,
            last_ts: Vec::new(),
            frozen,
        }
    }

    pub fn schema(&self) -> Schema {
        self.vocab.schema
    }

    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }

    /// Ends fitting and returns the vocabulary to save; the extractor can then encode rows.
    pub fn freeze(&mut self) -> &Vocab {
        self.mode = Mode::Score;
        self.frozen = Some(Frozen::new(&self.vocab));
        &self.vocab
    }

    /// Takes the fitted vocabulary out.
    pub fn into_vocab(self) -> Vocab {
        self.vocab
    }

    /// The per-edge rhythm state (for checkpoints).
    pub(crate) fn last_ts(&self) -> &[[f64; 3]] {
        &self.last_ts
    }

    /// Replaces the per-edge rhythm state (restoring a checkpoint).
    pub(crate) fn set_last_ts(&mut self, last_ts: Vec<[f64; 3]>) {
        self.last_ts = last_ts;
    }

    /// Feeds one event of this extractor's schema; `None` if the event is of the other schema.
    pub fn push(&mut self, event: &FlowEvent<'_>) -> Option<RawRow> {
        let (label, slot, specific) = match (self.vocab.schema, &event.kind) {
            (Schema::Conn, EventKind::Conn(conn)) => {
                let ln = |value: Option<u64>| ln_1p_count(value.unwrap_or(0));
                let specific = [
                    conn.duration.unwrap_or(0.0).max(0.0).ln_1p(),
                    ln(conn.orig_bytes),
                    ln(conn.resp_bytes),
                    ln(conn.orig_pkts),
                    ln(conn.resp_pkts),
                ];
                (conn.conn_state, 2, specific)
            }
            (Schema::Request, EventKind::Request(request)) => {
                let flag = |value: bool| if value { 1.0 } else { 0.0 };
                let slot = match request.direction {
                    Direction::Request => 0,
                    Direction::Response => 1,
                    Direction::Both => 2,
                };
                let specific = [
                    flag(request.is_write),
                    flag(request.is_error),
                    flag(request.direction == Direction::Response),
                    0.0,
                    0.0,
                ];
                (request.function, slot, specific)
            }
            _ => return None,
        };
        let fitting = self.mode == Mode::Fit;
        let vocab = &mut self.vocab;
        let cap = vocab.cap;
        let orig = vocab.hosts.intern(event.edge.orig_h, cap);
        let resp = vocab.hosts.intern(event.edge.resp_h, cap);
        let service = vocab.services.intern(event.edge.service, cap);
        let label = vocab.labels.intern(label, cap);
        let edge = if orig == OVERFLOW || resp == OVERFLOW || service == OVERFLOW {
            OVERFLOW
        } else {
            let ids = EdgeIds {
                orig,
                resp,
                port: event.edge.resp_p,
                proto: event.edge.proto,
                service,
            };
            vocab.edges.intern(ids, cap)
        };
        let pair = if edge == OVERFLOW || label == OVERFLOW {
            OVERFLOW
        } else {
            vocab.pairs.intern((edge, label), cap)
        };

        let ln_interval = self.interval(edge, slot, event.ts);
        if fitting {
            let vocab = &mut self.vocab;
            let other = &mut vocab.overflow;
            bump(&mut vocab.orig_counts, orig, &mut other.hosts);
            bump(&mut vocab.resp_counts, resp, &mut other.hosts);
            bump(&mut vocab.service_counts, service, &mut other.services);
            bump(&mut vocab.label_counts, label, &mut other.labels);
            bump(&mut vocab.edge_counts, edge, &mut other.edges);
            bump(&mut vocab.pair_counts, pair, &mut other.pairs);
            vocab.n_records += 1;
            if !ln_interval.is_nan() && edge != OVERFLOW {
                let idx = edge as usize;
                if vocab.edge_intervals.len() <= idx {
                    vocab.edge_intervals.resize(idx + 1, Default::default());
                }
                vocab.edge_intervals[idx].add(ln_interval);
                vocab.all_intervals.add(ln_interval);
            }
        }
        Some(RawRow {
            orig,
            resp,
            edge,
            pair,
            ln_interval,
            specific,
        })
    }

    /// Updates the edge's rhythm state and returns ln(1 + seconds since its previous record).
    /// Out-of-order records (conn.log is written when connections end) count as 0 seconds.
    fn interval(&mut self, edge: u32, slot: usize, ts: f64) -> f64 {
        if edge == OVERFLOW || !ts.is_finite() {
            return f64::NAN;
        }
        let idx = edge as usize;
        if self.last_ts.len() <= idx {
            self.last_ts.resize(idx + 1, [f64::NAN; 3]);
        }
        let previous = std::mem::replace(&mut self.last_ts[idx][slot], ts);
        if previous.is_nan() {
            f64::NAN
        } else {
            (ts - previous).max(0.0).ln_1p()
        }
    }

    /// Encodes a raw row into `out` (at least the schema's width). What was never seen in
    /// training is the new-communication detector's to say (`crate::detect::novelty`), not the
    /// encoder's.
    ///
    /// Only meaningful once the vocabulary is complete: after [`Extractor::freeze`] in training,
    /// always when scoring.
    pub fn encode(&self, raw: &RawRow, out: &mut [f64]) {
        let vocab = &self.vocab;
        let mean = match &self.frozen {
            Some(frozen) => {
                out[col::EDGE_FREQ] = freq(&frozen.edge_freq, raw.edge);
                out[col::ORIG_FREQ] = freq(&frozen.orig_freq, raw.orig);
                out[col::RESP_FREQ] = freq(&frozen.resp_freq, raw.resp);
                out[col::PAIR_FREQ] = freq(&frozen.pair_freq, raw.pair);
                frozen.interval_mean(raw.edge)
            }
            None => {
                out[col::EDGE_FREQ] = (count(&vocab.edge_counts, raw.edge) as f64).ln_1p();
                out[col::ORIG_FREQ] = (count(&vocab.orig_counts, raw.orig) as f64).ln_1p();
                out[col::RESP_FREQ] = (count(&vocab.resp_counts, raw.resp) as f64).ln_1p();
                out[col::PAIR_FREQ] = (count(&vocab.pair_counts, raw.pair) as f64).ln_1p();
                vocab.interval_mean(raw.edge)
            }
        };
        // The first record on an edge has no interval; it is given the edge's typical one so
        // that the start of every file does not look like a broken rhythm.
        let interval = if raw.ln_interval.is_nan() {
            mean
        } else {
            raw.ln_interval
        };
        out[col::INTERVAL] = interval;
        out[col::INTERVAL_DEV] = interval - mean;
        let width = vocab.schema.width();
        out[col::SPECIFIC..width].copy_from_slice(&raw.specific[..width - col::SPECIFIC]);
    }
}

impl Extractor {
    /// Pushes and encodes a batch of events (scoring only), appending `width` values per row of
    /// this schema to `rows`; events of the other schema are skipped.
    /// Returns how many rows were appended. Used by batch scoring and the live tail alike.
    pub fn push_encode_batch(&mut self, events: &[FlowEvent<'_>], rows: &mut Vec<f64>) -> usize {
        let width = self.schema().width();
        let mut n_rows = 0;
        let mut buffer = [0.0; super::schema::MAX_WIDTH];
        for event in events {
            if let Some(raw) = self.push(event) {
                self.encode(&raw, &mut buffer);
                rows.extend_from_slice(&buffer[..width]);
                n_rows += 1;
            }
        }
        n_rows
    }
}

#[cfg(test)]
mod tests {
    use super::{SMALL_COUNTS, ln_1p_count};

    #[test]
    fn the_small_count_table_holds_exact_ln_1p() {
        let edges = [
            0,
            1,
            2,
            SMALL_COUNTS as u64 - 1,
            SMALL_COUNTS as u64,
            u64::MAX,
        ];
        for count in (0..SMALL_COUNTS as u64 + 10).chain(edges) {
            assert_eq!(
                ln_1p_count(count).to_bits(),
                (count as f64).ln_1p().to_bits(),
                "{count}"
            );
        }
    }
}
