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

use super::event::{Direction, EventKind, FlowEvent};
use super::intern::OVERFLOW;
use super::schema::{Schema, col};
use super::vocab::{EdgeIds, Novelty, Vocab, bump, count};

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
}

impl Extractor {
    /// A fresh extractor that fits a vocabulary while it extracts.
    pub fn fit(schema: Schema, cap: usize) -> Extractor {
        Extractor {
            vocab: Vocab::new(schema, cap),
            mode: Mode::Fit,
            last_ts: Vec::new(),
        }
    }

    /// An extractor that scores against a trained vocabulary; its counts never change.
    pub fn score(vocab: Vocab) -> Extractor {
        Extractor {
            vocab,
            mode: Mode::Score,
            last_ts: Vec::new(),
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
        &self.vocab
    }

    /// Takes the fitted vocabulary out.
    pub fn into_vocab(self) -> Vocab {
        self.vocab
    }

    /// Feeds one event of this extractor's schema; `None` if the event is of the other schema.
    pub fn push(&mut self, event: &FlowEvent<'_>) -> Option<RawRow> {
        let (label, slot, specific) = match (self.vocab.schema, &event.kind) {
            (Schema::Conn, EventKind::Conn(conn)) => {
                let ln = |value: Option<u64>| (value.unwrap_or(0) as f64).ln_1p();
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

    /// Encodes a raw row into `out` (at least the schema's width) and says what was novel.
    ///
    /// Only meaningful once the vocabulary is complete: after [`Extractor::freeze`] in training,
    /// always when scoring.
    pub fn encode(&self, raw: &RawRow, out: &mut [f64]) -> Novelty {
        let vocab = &self.vocab;
        let orig_count = count(&vocab.orig_counts, raw.orig);
        let resp_count = count(&vocab.resp_counts, raw.resp);
        let edge_count = count(&vocab.edge_counts, raw.edge);
        let pair_count = count(&vocab.pair_counts, raw.pair);
        out[col::EDGE_FREQ] = (edge_count as f64).ln_1p();
        out[col::ORIG_FREQ] = (orig_count as f64).ln_1p();
        out[col::RESP_FREQ] = (resp_count as f64).ln_1p();
        out[col::PAIR_FREQ] = (pair_count as f64).ln_1p();
        // The first record on an edge has no interval; it is given the edge's typical one so
        // that the start of every file does not look like a broken rhythm.
        let mean = vocab.interval_mean(raw.edge);
        let interval = if raw.ln_interval.is_nan() {
            mean
        } else {
            raw.ln_interval
        };
        out[col::INTERVAL] = interval;
        out[col::INTERVAL_DEV] = interval - mean;
        let width = vocab.schema.width();
        out[col::SPECIFIC..width].copy_from_slice(&raw.specific[..width - col::SPECIFIC]);

        let mut novelty = Novelty::NONE;
        if orig_count == 0 {
            novelty.insert(Novelty::SOURCE);
        }
        if resp_count == 0 {
            novelty.insert(Novelty::DESTINATION);
        }
        if edge_count == 0 {
            novelty.insert(Novelty::EDGE);
        }
        if pair_count == 0 {
            novelty.insert(match vocab.schema {
                Schema::Conn => Novelty::CONN_STATE,
                Schema::Request => Novelty::FUNCTION,
            });
        }
        novelty
    }
}

impl Extractor {
    /// Pushes and encodes a batch of events (scoring only), appending `width` values per row of
    /// this schema to `rows` and its novelty to `novelty`; events of the other schema are skipped.
    /// Returns how many rows were appended. Used by batch scoring and the live tail alike.
    pub fn push_encode_batch(
        &mut self,
        events: &[FlowEvent<'_>],
        rows: &mut Vec<f64>,
        novelty: &mut Vec<Novelty>,
    ) -> usize {
        let width = self.schema().width();
        let mut n_rows = 0;
        let mut buffer = [0.0; super::schema::MAX_WIDTH];
        for event in events {
            if let Some(raw) = self.push(event) {
                novelty.push(self.encode(&raw, &mut buffer));
                rows.extend_from_slice(&buffer[..width]);
                n_rows += 1;
            }
        }
        n_rows
    }
}
