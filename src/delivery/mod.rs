//! Delivery to SIEMs: alerts go into a durable on-disk spool first (`spool`), then one worker
//! thread per sink URL reads them from its own cursor and sends them (`worker`), so the pipeline
//! never waits on the network and each sink's failure is its own.
//!
//! `Delivery` is a `crate::sinks::Sink`: `alert` appends to the spool (refused, never dropped,
//! when the spool is at its cap); `flush` makes every appended alert durable (the driver writes
//! its checkpoint only after it); `stats` tells per sink what was sent, what failed and what
//! waits; `shutdown` drains within a deadline. Dropping a `Delivery` without `shutdown` stops
//! the workers where they are: what they had not had confirmed is sent again after a restart.
//!
//! Delivery is at least once: an event whose confirmation was lost is sent again, under the
//! alert's stable id (ECS `event.id`, with `event.action` telling opened from closed), so the SIEM
//! can de-duplicate. What a driver hands over twice does not go out twice: an event whose id and
//! action the spool already holds is skipped and counted (`Spooled::AlreadyHeld`), which with
//! `hold_until_commit` and `commit` after each checkpoint closes the crash window between the
//! spool's fsync and the driver's checkpoint. The sinks themselves (wire formats, connections, acknowledgements) live in
//! `crate::sinks::{tcp, syslog, hec, file}`.

pub mod size;
mod spool;
mod stream;
pub(crate) mod target;
pub(crate) mod tls;
mod worker;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use thiserror::Error;

pub use size::{SizeError, format_size, parse_size};
pub use spool::{EventKey, Record};
pub use stream::{Conn, StreamConfirm};
pub use target::{Target, parse_url};
pub use tls::TlsOptions;
pub use worker::{SendError, Transport};

use crate::alerts::Alert;
use crate::sinks::{Sink, SinkError};
use crate::triage::TriageEvent;
use spool::Spool;

/// What `Delivery::open` needs. `Default` gives the documented defaults with no sinks.
#[derive(Clone, Debug)]
pub struct DeliveryConfig {
    /// The spool's directory (created if missing); one `Delivery` at a time may hold it.
    pub spool_dir: PathBuf,
    /// Sink URLs: `tcp://`, `tcp+tls://`, `syslog+udp://`, `syslog+tcp://`, `syslog+tls://`,
    /// `https://` (Splunk HEC), `file://PATH`, `-` (stdout).
    pub urls: Vec<String>,
    /// The spool refuses new alerts beyond this many bytes on disk.
    pub spool_cap_bytes: u64,
    /// A warning is logged, and shown in `stats`, from this fraction of the cap on.
    pub spool_warn_fraction: f64,
    pub tls: TlsOptions,
    /// The environment variable holding the Splunk HEC token.
    pub hec_token_env: String,
    /// Resend a HEC batch whose indexer acknowledgement has not come within this time.
    pub hec_ack_timeout: Duration,
    /// `file://` sinks rotate at this size, keeping this many old files.
    pub file_max_bytes: u64,
    pub file_keep: usize,
    /// The HOSTNAME of syslog messages; the machine's host name when `None`.
    pub syslog_hostname: Option<String>,
    /// Events per send.
    pub batch_max_events: u64,
    /// Appended alerts are fsynced at least this often even when the driver does not flush.
    pub sync_interval: Duration,
    /// On TCP sinks, a write counts as delivered once the peer's TCP acknowledged it and the
    /// connection stayed up this long; a failure before that sends it again.
    pub stream_confirm_after: Duration,
    /// Connect, write and HTTP timeouts.
    pub io_timeout: Duration,
    /// The longest wait between retries of a sink that is down.
    pub backoff_max: Duration,
    /// Keep the segments of events the driver has not `commit`ted (covered by its checkpoint),
    /// even once delivered, so a replay after a crash finds their ids and skips them.
    pub hold_until_commit: bool,
}

/// The smallest spool cap `open` accepts: a few segments' worth.
pub const MIN_SPOOL_CAP: u64 = 64 * 1024;

/// The HEC token's environment variable when none is configured.
pub const DEFAULT_HEC_TOKEN_ENV: &str = "OTSENTRY_HEC_TOKEN";

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            spool_dir: PathBuf::from("spool"),
            urls: Vec::new(),
            spool_cap_bytes: 1 << 30,
            spool_warn_fraction: 0.8,
            tls: TlsOptions::default(),
            hec_token_env: DEFAULT_HEC_TOKEN_ENV.to_string(),
            hec_ack_timeout: Duration::from_secs(60),
            file_max_bytes: 64 << 20,
            file_keep: 5,
            syslog_hostname: None,
            batch_max_events: 500,
            sync_interval: Duration::from_millis(20),
            stream_confirm_after: Duration::from_millis(500),
            io_timeout: Duration::from_secs(10),
            backoff_max: Duration::from_secs(30),
            hold_until_commit: false,
        }
    }
}

/// Why delivery could not start, or why the spool failed.
#[derive(Debug, Error)]
pub enum DeliveryError {
    #[error("bad sink url {url:?}: {message}")]
    BadUrl { url: String, message: String },
    #[error("sink url {url:?} is given twice")]
    DuplicateUrl { url: String },
    #[error(
        "no sink url given (use tcp://, syslog+udp://, syslog+tcp://, https://, file://PATH or -)"
    )]
    NoSinks,
    #[error("spool cap of {cap} bytes is too small (at least 64 KiB)")]
    CapTooSmall { cap: u64 },
    #[error("{what} {path}: {source}")]
    Spool {
        path: PathBuf,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("spool {path} is in use by another otsentry process")]
    SpoolInUse { path: PathBuf },
    #[error("spool file {path} line {line}: {message}")]
    Corrupt {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("tls: {message}")]
    Tls { message: String },
    #[error(
        "splunk hec sink {url:?}: the token must be in the environment variable {var}, which is not set"
    )]
    MissingToken { url: String, var: String },
    #[error(
        "spool full: {bytes} bytes of the {cap} byte cap are waiting for {waiting}; the alert is refused, not dropped"
    )]
    Full {
        bytes: u64,
        cap: u64,
        waiting: String,
    },
    #[error("cannot start a delivery thread: {0}")]
    Thread(std::io::Error),
}

/// What one sink has done since `open`, and what waits for it.
#[derive(Clone, Debug, PartialEq)]
pub struct SinkStats {
    pub url: String,
    /// Events confirmed delivered since open.
    pub sent: u64,
    /// Failed attempts since open (each is retried).
    pub errors: u64,
    pub last_error: Option<String>,
    /// Events in the spool this sink has not had confirmed, and their bytes.
    pub depth_alerts: u64,
    pub depth_bytes: u64,
    /// How long the oldest of them has waited.
    pub oldest_undelivered: Option<Duration>,
}

/// The spool and every sink.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryStats {
    pub sinks: Vec<SinkStats>,
    /// Bytes on disk and the cap.
    pub spool_bytes: u64,
    pub spool_cap_bytes: u64,
    /// Events on disk (some may be delivered to every sink but share a segment with others).
    pub spool_alerts: u64,
    /// Set while the spool is above the warning fraction of its cap.
    pub spool_warning: Option<String>,
    /// Alerts refused because the spool was full.
    pub refused: u64,
    /// Events skipped since open because the spool already held their id and action.
    pub duplicates: u64,
}

/// What `append` did with an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spooled {
    Appended,
    /// The spool already holds an event with this id and action (a replay): skipped.
    AlreadyHeld,
}

/// Run state shared with the workers.
const RUNNING: u8 = 0;
const DRAINING: u8 = 1;
const STOPPING: u8 = 2;

pub(crate) struct SinkShared {
    url: String,
    key: String,
    counters: Mutex<SinkCounters>,
}

#[derive(Default)]
struct SinkCounters {
    sent: u64,
    errors: u64,
    last_error: Option<String>,
}

pub(crate) struct SpoolState {
    spool: Spool,
    /// Each sink's confirmed cursor, in `urls` order.
    cursors: Vec<u64>,
    warning: Option<String>,
    refused: u64,
    duplicates: u64,
}

pub(crate) struct Shared {
    state: Mutex<SpoolState>,
    /// Woken when events become durable and when the run state changes.
    wake: Condvar,
    mode: AtomicU8,
    drain_deadline: Mutex<Option<Instant>>,
    sinks: Vec<SinkShared>,
    config: DeliveryConfig,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, SpoolState> {
        // A worker that panicked leaves consistent data behind (every update is one assignment).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn mode(&self) -> u8 {
        self.mode.load(Ordering::Acquire)
    }

    fn set_mode(&self, mode: u8) {
        self.mode.store(mode, Ordering::Release);
        let _guard = self.lock();
        self.wake.notify_all();
    }
}

/// The spool and its sink workers.
pub struct Delivery {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Delivery {
    /// Checks every URL, opens the spool (cutting a torn tail), loads each sink's cursor and
    /// starts one worker per sink and the periodic fsync.
    pub fn open(config: DeliveryConfig) -> Result<Delivery, DeliveryError> {
        if config.urls.is_empty() {
            return Err(DeliveryError::NoSinks);
        }
        if config.spool_cap_bytes < MIN_SPOOL_CAP {
            return Err(DeliveryError::CapTooSmall {
                cap: config.spool_cap_bytes,
            });
        }
        let mut targets = Vec::with_capacity(config.urls.len());
        for url in &config.urls {
            if targets
                .iter()
                .any(|(seen, _): &(String, Target)| seen == url)
            {
                return Err(DeliveryError::DuplicateUrl { url: url.clone() });
            }
            targets.push((url.clone(), parse_url(url)?));
        }
        let tls = tls::Tls::load(&config.tls)?;
        let mut transports = Vec::with_capacity(targets.len());
        for (url, target) in &targets {
            transports.push(target::build(url, target, &config, &tls)?);
        }

        // A segment is a few percent of the cap, so deleting delivered ones frees space steadily.
        let segment_max = (config.spool_cap_bytes / 16).clamp(16 * 1024, 16 << 20);
        let mut spool = Spool::open(&config.spool_dir, segment_max)?;
        let mut sinks = Vec::with_capacity(targets.len());
        let mut loaded = Vec::with_capacity(targets.len());
        for (url, _) in &targets {
            let key = target::key_of(url);
            loaded.push(spool::load_cursor(&config.spool_dir, &key)?);
            sinks.push(SinkShared {
                url: url.clone(),
                key,
                counters: Mutex::new(SinkCounters::default()),
            });
        }
        // Cursors ahead of an emptied spool move its numbering on, so no sink skips new events.
        if let Some(max) = loaded.iter().flatten().max() {
            spool.advance_empty_head(*max)?;
        }
        if config.hold_until_commit {
            spool.hold();
        }
        let first = spool.first();
        let head = spool.head();
        let cursors = loaded
            .iter()
            .zip(&sinks)
            .map(|(cursor, sink)| match *cursor {
                // A sink new to this spool starts at the oldest event still held.
                None => first,
                Some(next) if next > head => {
                    tracing::warn!(sink = %sink.url, cursor = next, head, "A sink's cursor is past the end of the spool; starting it at the end");
                    head
                }
                Some(next) => next.max(first),
            })
            .collect();
        let shared = Arc::new(Shared {
            state: Mutex::new(SpoolState {
                spool,
                cursors,
                warning: None,
                refused: 0,
                duplicates: 0,
            }),
            wake: Condvar::new(),
            mode: AtomicU8::new(RUNNING),
            drain_deadline: Mutex::new(None),
            sinks,
            config,
        });
        let mut delivery = Delivery {
            shared: Arc::clone(&shared),
            threads: Vec::new(),
        };
        {
            let mut state = shared.lock();
            update_warning(&shared.config, &mut state);
        }
        for (idx, transport) in transports.into_iter().enumerate() {
            let worker_shared = Arc::clone(&shared);
            let handle = std::thread::Builder::new()
                .name(format!("otsentry-sink-{idx}"))
                .spawn(move || worker::run(&worker_shared, idx, transport))
                .map_err(DeliveryError::Thread)?;
            delivery.threads.push(handle);
        }
        let syncer_shared = Arc::clone(&shared);
        let handle = std::thread::Builder::new()
            .name("otsentry-spool-sync".into())
            .spawn(move || worker::sync_loop(&syncer_shared))
            .map_err(DeliveryError::Thread)?;
        delivery.threads.push(handle);
        Ok(delivery)
    }

    /// Appends one alert event to the spool; skips it when the spool holds it already, and
    /// refuses it with `DeliveryError::Full` at the cap.
    pub fn append(&mut self, alert: &Alert) -> Result<Spooled, DeliveryError> {
        let key = EventKey::of_alert(alert);
        if self.already_held(&key) {
            return Ok(Spooled::AlreadyHeld);
        }
        let alert_json = serde_json::to_string(alert).unwrap_or_default();
        self.append_line("alert", &alert_json, key)
    }

    /// Appends one triage event (advice or a draft, beside its alert), like an alert event.
    pub fn append_triage(&mut self, event: &TriageEvent) -> Result<Spooled, DeliveryError> {
        let key = EventKey::of_triage(event);
        if self.already_held(&key) {
            return Ok(Spooled::AlreadyHeld);
        }
        let event_json = serde_json::to_string(event).unwrap_or_default();
        self.append_line("triage", &event_json, key)
    }

    /// True (and counted) when the spool holds an event with this key.
    fn already_held(&self, key: &EventKey) -> bool {
        let mut state = self.shared.lock();
        let held = state.spool.holds(key);
        if held {
            state.duplicates += 1;
            if state.duplicates == 1 || state.duplicates.is_power_of_two() {
                tracing::info!(
                    duplicates = state.duplicates,
                    "Skipping events the spool already holds (records replayed after a stop before the checkpoint)"
                );
            }
        }
        held
    }

    /// The driver's checkpoint now covers every event appended so far: with
    /// `hold_until_commit`, their segments may go once delivered.
    pub fn commit(&mut self) {
        let shared = Arc::clone(&self.shared);
        let mut state = shared.lock();
        state.spool.commit();
        if let Some(min_cursor) = state.cursors.iter().copied().min() {
            state.spool.collect(min_cursor);
        }
        update_warning(&shared.config, &mut state);
    }

    fn append_line(
        &mut self,
        kind: &str,
        alert_json: &str,
        key: EventKey,
    ) -> Result<Spooled, DeliveryError> {
        let mut state = self.shared.lock();
        let seq = state.spool.head();
        let spooled_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as u64);
        let line = format!("{{\"seq\":{seq},\"t\":{spooled_ms},\"{kind}\":{alert_json}}}\n");
        let cap = self.shared.config.spool_cap_bytes;
        let bytes = state.spool.total_bytes();
        if bytes + line.len() as u64 > cap {
            state.refused += 1;
            let waiting = self.waiting_for(&state);
            if state.refused == 1 || state.refused.is_power_of_two() {
                tracing::error!(bytes, cap, waiting = %waiting, refused = state.refused, "Spool full: refusing alerts until a sink catches up");
            }
            return Err(DeliveryError::Full {
                bytes,
                cap,
                waiting,
            });
        }
        state.spool.append(line.as_bytes(), spooled_ms, Some(key))?;
        update_warning(&self.shared.config, &mut state);
        Ok(Spooled::Appended)
    }

    /// The sinks holding the spool back, for messages.
    fn waiting_for(&self, state: &SpoolState) -> String {
        let first = state.spool.first();
        let names: Vec<&str> = self
            .shared
            .sinks
            .iter()
            .zip(&state.cursors)
            .filter(|(_, cursor)| **cursor <= first)
            .map(|(sink, _)| sink.url.as_str())
            .collect();
        if names.is_empty() {
            "the sinks".to_string()
        } else {
            names.join(", ")
        }
    }

    /// Makes every appended alert durable (flush and fsync) and hands it to the workers.
    pub fn sync(&mut self) -> Result<(), DeliveryError> {
        let mut state = self.shared.lock();
        state.spool.sync()?;
        self.shared.wake.notify_all();
        Ok(())
    }

    pub fn stats(&self) -> DeliveryStats {
        let state = self.shared.lock();
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis() as u64);
        let head = state.spool.head();
        let sinks = self
            .shared
            .sinks
            .iter()
            .zip(&state.cursors)
            .map(|(sink, &cursor)| {
                let counters = sink
                    .counters
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                let (depth_alerts, depth_bytes) = state.spool.depth(cursor, head);
                SinkStats {
                    url: sink.url.clone(),
                    sent: counters.sent,
                    errors: counters.errors,
                    last_error: counters.last_error.clone(),
                    depth_alerts,
                    depth_bytes,
                    oldest_undelivered: state
                        .spool
                        .spooled_ms(cursor)
                        .map(|ms| Duration::from_millis(now_ms.saturating_sub(ms))),
                }
            })
            .collect();
        DeliveryStats {
            sinks,
            spool_bytes: state.spool.total_bytes(),
            spool_cap_bytes: self.shared.config.spool_cap_bytes,
            spool_alerts: head - state.spool.first(),
            spool_warning: state.warning.clone(),
            refused: state.refused,
            duplicates: state.duplicates,
        }
    }

    /// Flushes, lets the workers drain until the deadline, then stops them. What was not
    /// confirmed stays in the spool for the next start.
    pub fn shutdown(mut self, deadline: Duration) {
        if let Err(error) = self.sync() {
            tracing::error!(%error, "Cannot make the last alerts durable at shutdown");
        }
        *self
            .shared
            .drain_deadline
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(Instant::now() + deadline);
        self.shared.set_mode(DRAINING);
        self.join();
    }

    fn join(&mut self) {
        let workers: Vec<_> = self.threads.drain(..).collect();
        let n_sinks = self.shared.sinks.len();
        for (idx, handle) in workers.into_iter().enumerate() {
            // The sync thread is last; stop it once the sink workers are done.
            if idx == n_sinks {
                self.shared.set_mode(STOPPING);
            }
            if handle.join().is_err() {
                tracing::error!(
                    "A delivery thread panicked; its sink resumes from its cursor at the next start"
                );
            }
        }
    }
}

/// Sets or clears the loud warning as the spool crosses the warning fraction of its cap.
fn update_warning(config: &DeliveryConfig, state: &mut SpoolState) {
    let bytes = state.spool.total_bytes();
    let cap = config.spool_cap_bytes;
    let warn_at = (cap as f64 * config.spool_warn_fraction) as u64;
    if bytes >= warn_at {
        if state.warning.is_none() {
            let percent = bytes as f64 * 100.0 / cap as f64;
            let message = format!(
                "spool {} is {percent:.0}% full ({bytes} of {cap} bytes): a sink is not keeping up; at the cap new alerts are refused",
                state.spool.dir().display()
            );
            tracing::warn!("{message}");
            state.warning = Some(message);
        }
    } else if bytes < warn_at - warn_at / 10 {
        // Re-armed a little below the threshold so a spool hovering at it does not flap.
        state.warning = None;
    }
}

impl Drop for Delivery {
    /// Stops the workers where they are (no drain): a crash-like stop that keeps the spool.
    fn drop(&mut self) {
        if !self.threads.is_empty() {
            self.shared.set_mode(STOPPING);
            self.join();
        }
    }
}

impl Sink for Delivery {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.append(alert)
            .map(drop)
            .map_err(|error| SinkError::Other {
                sink: "spool",
                message: error.to_string(),
            })
    }

    fn triage(&mut self, event: &TriageEvent) -> Result<(), SinkError> {
        self.append_triage(event)
            .map(drop)
            .map_err(|error| SinkError::Other {
                sink: "spool",
                message: error.to_string(),
            })
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.sync().map_err(|error| SinkError::Other {
            sink: "spool",
            message: error.to_string(),
        })
    }
}
