//! Generators for traffic that is planned ahead as a list: conn.log-only sessions (vendor remote
//! desktop, scan probes, telnet and web attempts) and short scripted protocol exchanges.

use std::sync::Arc;

use rand_chacha::ChaCha8Rng;
use zeek::write::WriteError;

use super::conn::{Attempt, Conn, Ending, write_attempt};
use super::engine::Generator;
use super::output::Sinks;
use super::rng::{UidSource, ephemeral_port, stream};

/// What a planned connection carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A session that exchanged data and closed normally.
    Data {
        orig_bytes: u64,
        resp_bytes: u64,
        /// Request/response round trips (packet counts follow from them).
        exchanges: u64,
    },
    /// A connection attempt without data.
    Attempt(Attempt),
}

/// A connection known in advance.
#[derive(Debug, Clone)]
pub struct PlannedConn {
    pub start: i64,
    pub end: i64,
    pub orig: Arc<str>,
    pub resp: Arc<str>,
    pub resp_p: u16,
    pub service: &'static str,
    pub shape: Shape,
}

/// Writes a list of planned connections to conn.log, each when it ends.
pub struct ConnSessions {
    rng: ChaCha8Rng,
    uids: UidSource,
    items: Vec<PlannedConn>,
    idx: usize,
    record_uids: bool,
    seen: Vec<String>,
}

impl ConnSessions {
    pub fn new(seed: u64, key: &str, mut items: Vec<PlannedConn>, record_uids: bool) -> Self {
        items.sort_by_key(|item| item.end);
        ConnSessions {
            rng: stream(seed, key),
            uids: UidSource::new(seed, key),
            items,
            idx: 0,
            record_uids,
            seen: Vec::new(),
        }
    }
}

impl Generator for ConnSessions {
    fn next_time(&self) -> Option<i64> {
        self.items.get(self.idx).map(|item| item.end)
    }

    fn step(&mut self, sinks: &mut Sinks) -> Result<(), WriteError> {
        let Some(item) = self.items.get(self.idx).cloned() else {
            return Ok(());
        };
        self.idx += 1;
        let uid = self.uids.next_uid();
        if self.record_uids {
            self.seen.push(uid.clone());
        }
        let orig_p = ephemeral_port(&mut self.rng);
        match item.shape {
            Shape::Data {
                orig_bytes,
                resp_bytes,
                exchanges,
            } => {
                let mut conn = Conn::tcp(
                    uid,
                    item.orig,
                    orig_p,
                    item.resp,
                    item.resp_p,
                    item.service,
                    item.start,
                    600,
                );
                let n = exchanges.max(1);
                for idx in 0..n {
                    let at =
                        item.start + (item.end - item.start) * (idx as i64 + 1) / (n as i64 + 1);
                    let orig_share = orig_bytes / n + u64::from(idx == 0) * (orig_bytes % n);
                    let resp_share = resp_bytes / n + u64::from(idx == 0) * (resp_bytes % n);
                    conn.exchange(orig_share, resp_share, at);
                }
                conn.write(&mut sinks.conn, Ending::Closed, item.end)?;
            }
            Shape::Attempt(attempt) => {
                write_attempt(
                    &mut sinks.conn,
                    &uid,
                    (&item.orig, orig_p),
                    (&item.resp, item.resp_p),
                    item.start,
                    item.end - item.start,
                    attempt,
                )?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, _end: i64, _sinks: &mut Sinks) -> Result<(), WriteError> {
        Ok(())
    }

    fn attack_uids(&self) -> &[String] {
        &self.seen
    }
}

/// A short protocol exchange written in one go at its start time.
pub type Script = Box<dyn FnMut(&mut Sinks) -> Result<(), WriteError>>;

/// A list of scripts run at their times; `uids` are the connections they use (for labels).
pub struct Scripted {
    items: Vec<(i64, Script)>,
    idx: usize,
    uids: Vec<String>,
}

impl Scripted {
    pub fn new(mut items: Vec<(i64, Script)>, uids: Vec<String>) -> Self {
        items.sort_by_key(|(time, _)| *time);
        Scripted {
            items,
            idx: 0,
            uids,
        }
    }
}

impl Generator for Scripted {
    fn next_time(&self) -> Option<i64> {
        self.items.get(self.idx).map(|(time, _)| *time)
    }

    fn step(&mut self, sinks: &mut Sinks) -> Result<(), WriteError> {
        if let Some((_, script)) = self.items.get_mut(self.idx) {
            script(sinks)?;
        }
        self.idx += 1;
        Ok(())
    }

    fn finish(&mut self, _end: i64, _sinks: &mut Sinks) -> Result<(), WriteError> {
        Ok(())
    }

    fn attack_uids(&self) -> &[String] {
        &self.uids
    }
}
