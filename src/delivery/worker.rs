//! One worker thread per sink: read durable events from the sink's cursor, send them in order,
//! move and persist the cursor as the sink confirms them, and back off while the sink is down.
//! Also the periodic fsync that bounds how long an appended alert waits when the driver does not
//! flush.
//!
//! The `Transport` trait is what every sink in `crate::sinks` implements: `send` writes a batch
//! (connecting first if needed), `confirmed` says how far delivery is confirmed (a TCP peer's
//! acknowledgement, a HEC indexer acknowledgement, an fsync), `reset` forgets a broken
//! connection. After any failure the worker resends everything after the confirmed cursor, in
//! order.

use std::time::{Duration, Instant};

use super::spool::{self, Record};
use super::{DRAINING, RUNNING, STOPPING, Shared};

/// Why a send or a confirmation failed; both are retried after a backoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The sink said it is busy (HEC 503): wait and retry.
    Busy(String),
    /// Anything else: connection refused or reset, timeout, rejected request.
    Failed(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Busy(message) => write!(f, "busy: {message}"),
            SendError::Failed(message) => f.write_str(message),
        }
    }
}

/// A sink's wire side.
pub trait Transport: Send {
    /// Sends the events in order; they follow the last batch sent since the last `reset`.
    fn send(&mut self, records: &[Record]) -> Result<(), SendError>;

    /// The sequence number after the last event whose delivery is now confirmed, if that moved.
    /// `stopping` asks for a last check before the worker exits (no waiting period).
    fn confirmed(&mut self, stopping: bool) -> Result<Option<u64>, SendError>;

    /// Forgets the connection after a failure; unconfirmed events will be sent again.
    fn reset(&mut self);
}

/// Exponential backoff with jitter, from 100 ms up to the configured maximum.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(100);

    fn new(max: Duration) -> Backoff {
        Backoff {
            next: Backoff::FIRST,
            max,
        }
    }

    fn step(&mut self) -> Duration {
        let jitter = 0.8 + rand::random::<f64>() * 0.4;
        let wait = self.next.mul_f64(jitter).min(self.max);
        self.next = (self.next * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }
}

/// The worker of sink `idx`.
pub fn run(shared: &Shared, idx: usize, mut transport: Box<dyn Transport>) {
    let sink = &shared.sinks[idx];
    let config = &shared.config;
    let mut confirmed = shared.lock().cursors[idx];
    let mut sent = confirmed;
    let mut backoff = Backoff::new(config.backoff_max);
    let mut failing = false;

    let fail = |error: SendError,
                transport: &mut Box<dyn Transport>,
                backoff: &mut Backoff,
                failing: &mut bool| {
        transport.reset();
        let mut counters = sink
            .counters
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        counters.errors += 1;
        if !*failing {
            tracing::warn!(sink = %sink.url, %error, "Sink failed; alerts wait in the spool and are retried with backoff");
        }
        counters.last_error = Some(error.to_string());
        drop(counters);
        *failing = true;
        wait(shared, backoff.step());
    };

    loop {
        let mode = shared.mode();
        if mode == STOPPING || (mode == DRAINING && drain_expired(shared)) {
            if sent > confirmed
                && let Ok(Some(next)) = transport.confirmed(true)
            {
                advance(shared, idx, &mut confirmed, next);
            }
            return;
        }

        match transport.confirmed(false) {
            Ok(Some(next)) if next > confirmed => advance(shared, idx, &mut confirmed, next),
            Ok(_) => {}
            Err(error) => {
                sent = confirmed;
                fail(error, &mut transport, &mut backoff, &mut failing);
                continue;
            }
        }

        let plan = shared.lock().spool.locate(sent, config.batch_max_events);
        let Some(plan) = plan else {
            if sent > confirmed {
                if mode == DRAINING {
                    match transport.confirmed(true) {
                        Ok(Some(next)) => advance(shared, idx, &mut confirmed, next),
                        Ok(None) => wait(shared, Duration::from_millis(10)),
                        Err(error) => {
                            sent = confirmed;
                            fail(error, &mut transport, &mut backoff, &mut failing);
                        }
                    }
                } else {
                    // Sent, not yet confirmed: look again soon.
                    wait(shared, Duration::from_millis(20));
                }
                continue;
            }
            if mode == DRAINING {
                return;
            }
            let state = shared.lock();
            if state.spool.durable() <= sent && shared.mode() == RUNNING {
                let _ = shared
                    .wake
                    .wait_timeout(state, Duration::from_millis(500))
                    .map(|(guard, _)| drop(guard));
            }
            continue;
        };
        let records = match plan.read() {
            Ok(records) => records,
            Err(error) => {
                tracing::error!(sink = %sink.url, %error, "Cannot read the spool");
                fail(
                    SendError::Failed(error.to_string()),
                    &mut transport,
                    &mut backoff,
                    &mut failing,
                );
                continue;
            }
        };
        match transport.send(&records) {
            Ok(()) => {
                sent = plan.to;
                if failing {
                    tracing::info!(sink = %sink.url, "Sink is back; sending what waited, in order");
                    failing = false;
                }
                backoff.reset();
            }
            Err(error) => {
                sent = confirmed;
                fail(error, &mut transport, &mut backoff, &mut failing);
            }
        }
    }
}

fn drain_expired(shared: &Shared) -> bool {
    shared
        .drain_deadline
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .is_none_or(|deadline| Instant::now() >= deadline)
}

/// Sleeps up to `duration`, waking early when the run state changes.
fn wait(shared: &Shared, duration: Duration) {
    let state = shared.lock();
    let mode = shared.mode();
    if mode == STOPPING {
        return;
    }
    let _ = shared
        .wake
        .wait_timeout_while(state, duration, |_| shared.mode() == mode)
        .map(|(guard, _)| drop(guard));
}

/// Records a confirmation: persist the cursor, count, and delete segments every sink passed.
fn advance(shared: &Shared, idx: usize, confirmed: &mut u64, next: u64) {
    if next <= *confirmed {
        return;
    }
    let sink = &shared.sinks[idx];
    if let Err(error) = spool::store_cursor(&shared.config.spool_dir, &sink.key, &sink.url, next) {
        // The events are delivered; without a stored cursor a restart sends them again.
        tracing::error!(sink = %sink.url, %error, "Cannot store the sink's cursor");
    }
    sink.counters
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .sent += next - *confirmed;
    *confirmed = next;
    let mut state = shared.lock();
    state.cursors[idx] = next;
    let min_cursor = state.cursors.iter().copied().min().unwrap_or(next);
    state.spool.collect(min_cursor);
    super::update_warning(&shared.config, &mut state);
}

/// Fsyncs appended alerts every `sync_interval` until the delivery stops.
pub fn sync_loop(shared: &Shared) {
    let interval = shared.config.sync_interval;
    let mut state = shared.lock();
    loop {
        if shared.mode() == STOPPING {
            return;
        }
        if state.spool.durable() < state.spool.head() {
            match state.spool.sync() {
                Ok(()) => shared.wake.notify_all(),
                Err(error) => tracing::error!(%error, "Cannot fsync the spool"),
            }
        }
        state = match shared.wake.wait_timeout(state, interval) {
            Ok((guard, _)) => guard,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}
