//! `watch`: the live driver of the pipeline. It follows Zeek's logs as they are written
//! (`zeek::follow`: appends, rotation, truncation, files that appear later), adapts each record
//! with the file source's [`RecordAdapter`], and pushes it into the same [`Pipeline`] `score`
//! drives; no detection logic lives here.
//!
//! Each poll: the new complete lines are pushed, the pipeline is flushed so every alert they
//! raise is out within the polling cycle, the sinks are flushed (after which the alerts are
//! durable), and only then is the checkpoint written: the follower's offsets and the pipeline's
//! state in one atomic file (`state`). A restart resumes from it, so no line is skipped; alerts
//! handed to the spool after the last checkpoint (a crash between the spool's fsync and the
//! checkpoint's rename) come again under the same ids, and the spool, which holds them already,
//! skips them: each reaches each SIEM sink once. After the checkpoint the spool is told
//! (`commit`), so it may let those events' segments go once delivered.
//!
//! A stop request (SIGTERM, SIGINT) ends the poll in progress at a record boundary, flushes
//! everything and writes the checkpoint; open alerts stay open in it, so a restart continues as
//! one run. With `exit_when_idle` the end of the input is the first poll that finds nothing new:
//! open alerts are closed as `score` closes them, which makes a replay give `score`'s alerts.

pub mod diag;
pub mod lock;
pub mod siem;
pub mod staging;
pub mod state;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;
use zeek::ZeekError;
use zeek::follow::{FollowOptions, Follower};

use crate::alerts::{Alert, AlertState};
use crate::delivery::Delivery;
use crate::metrics::{Metrics, names};
use crate::model::LoadedModel;
use crate::pipeline::{Pipeline, PipelineConfig, PipelineError, PipelineStats};
use crate::sinks::{RowRecord, Sink, SinkError};
use crate::sources::{RecordAdapter, SourceOptions, SourceStats};
use crate::triage::live::LiveTriage;
use diag::diag;
use staging::{Candidate, Counted, StagingRun};
use state::{StateError, WatchState};

/// The default pause between polls: inside the one-second alerting target with room to spare.
pub const DEFAULT_POLL: Duration = Duration::from_millis(500);

/// How often a stop request is looked at while records are pushed.
const STOP_CHECK_RECORDS: u64 = 4096;

/// What `watch` needs besides the model and the outputs.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    pub logs: Vec<PathBuf>,
    pub source: SourceOptions,
    pub pipeline: PipelineConfig,
    /// Where the checkpoint lives; without one nothing is resumed.
    pub state_dir: Option<PathBuf>,
    pub poll: Duration,
    /// End at the first poll that finds nothing new, closing open alerts (replays, backfills).
    pub exit_when_idle: bool,
    /// How often the health line is printed on stderr.
    pub health_every: Duration,
    /// Test-only ([`HALT_AFTER_SPOOL_SYNC`]): the poll with this number among those that
    /// spooled alerts stops right after the spool's fsync, before its checkpoint.
    pub halt_after_sync: Option<u64>,
}

/// Test-only environment variable, read by the CLI: `N` makes the Nth poll that spooled
/// alerts print [`HALTED`] on stderr right after the spool's fsync and then wait, without
/// writing its checkpoint, to be killed. The tests kill -9 it there: the crash window the
/// spool's de-duplication closes. Nothing else reads it; never set it in production.
pub const HALT_AFTER_SPOOL_SYNC: &str = "OTSENTRY_TEST_HALT_AFTER_SPOOL_SYNC";

/// What a halted watch prints (see [`HALT_AFTER_SPOOL_SYNC`]).
pub const HALTED: &str = "test hook: halted after the spool's fsync, before the checkpoint";

/// Why `watch` stopped.
#[derive(Debug, Error)]
pub enum WatchError {
    #[error("cannot create the state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    State(Box<StateError>),
    #[error("the checkpoint does not fit this run: {0}")]
    Restore(Box<crate::pipeline::CheckpointError>),
    #[error("the staging candidate cannot start: {0}")]
    Staging(Box<PipelineError>),
    #[error(transparent)]
    Read(#[from] ZeekError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

impl From<StateError> for WatchError {
    fn from(error: StateError) -> WatchError {
        WatchError::State(Box::new(error))
    }
}

/// Totals of a watch run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WatchSummary {
    /// True when the run continued from a checkpoint.
    pub resumed: bool,
    pub polls: u64,
    pub source: SourceStats,
    pub pipeline: PipelineStats,
    /// The staging candidate's closing line, when one ran beside production.
    pub staging: Option<String>,
}

/// One output with the name metrics and messages use for it.
pub struct NamedSink {
    pub name: String,
    pub sink: Box<dyn Sink>,
}

/// Every output at once, counting what each takes in the metrics. The first failure stops the
/// event and is returned: `watch` never goes on past an alert a sink did not take.
pub struct Outputs {
    sinks: Vec<NamedSink>,
    /// The spool and its senders, when the outputs are SIEM URLs.
    delivery: Option<Delivery>,
    metrics: Arc<Metrics>,
    /// Alert events taken since the last [`Outputs::take_count`].
    taken: u64,
    /// `--triage`: opened alerts are submitted after delivery, their events follow them.
    triage: Option<LiveTriage>,
}

impl Outputs {
    pub fn new(sinks: Vec<NamedSink>, metrics: Arc<Metrics>) -> Outputs {
        Outputs {
            sinks,
            delivery: None,
            metrics,
            taken: 0,
            triage: None,
        }
    }

    /// Triages every opened alert after it was handed to the outputs (`watch --triage`).
    pub fn with_triage(self, triage: LiveTriage) -> Outputs {
        Outputs {
            triage: Some(triage),
            ..self
        }
    }

    /// Hands the triage events that are ready to every output, after their alerts; `finishing`
    /// waits up to the SLA for those still with the provider.
    fn triage_events(&mut self, finishing: bool) -> Result<(), SinkError> {
        let Some(triage) = &mut self.triage else {
            return Ok(());
        };
        let events = match finishing {
            true => triage.finish(triage.sla() + Duration::from_millis(500)),
            false => triage.ready(),
        };
        crate::triage::live::record_metrics(&self.metrics, &triage.metrics());
        for event in &events {
            for named in &mut self.sinks {
                named.sink.triage(event)?;
            }
            if let Some(delivery) = &mut self.delivery {
                delivery.triage(event)?;
            }
        }
        Ok(())
    }

    /// Adds an output that takes each alert before the spool (the governance alert queue).
    pub fn with_sink(mut self, named: NamedSink) -> Outputs {
        self.sinks.push(named);
        self
    }

    /// Outputs through the spool.
    pub fn spooled(delivery: Delivery, metrics: Arc<Metrics>) -> Outputs {
        Outputs {
            delivery: Some(delivery),
            ..Outputs::new(Vec::new(), metrics)
        }
    }

    /// Drains the spool's senders until `deadline`; what they could not send stays spooled.
    pub fn shutdown(mut self, deadline: Duration) {
        if let Err(error) = self.triage_events(true).and_then(|()| self.flush()) {
            diag!("warning: the last triage events were not delivered: {error}");
        }
        if let Some(triage) = &self.triage {
            diag!("{}", crate::triage::live::summary(&triage.metrics()));
        }
        if let Some(delivery) = self.delivery {
            let duplicates = delivery.stats().duplicates;
            if duplicates > 0 {
                diag!(
                    "skipped {duplicates} alert events the spool already held (replayed after a stop before the checkpoint): each went to the sinks once"
                );
            }
            delivery.shutdown(deadline);
        }
    }

    /// The checkpoint now covers everything handed over so far (see the module docs).
    fn commit(&mut self) {
        if let Some(delivery) = &mut self.delivery {
            delivery.commit();
        }
    }

    /// Brings the delivery metrics up to date; the number of alerts some sink still waits for.
    fn record_delivery(&self) -> Option<u64> {
        let stats = self.delivery.as_ref()?.stats();
        let mut depth = 0;
        let mut oldest = Duration::ZERO;
        for sink in &stats.sinks {
            self.metrics
                .set(&names::SINK_ERRORS, &[&sink.url], sink.errors as f64);
            self.metrics
                .set(&names::DELIVERED, &[&sink.url], sink.sent as f64);
            depth = depth.max(sink.depth_alerts);
            oldest = oldest.max(sink.oldest_undelivered.unwrap_or_default());
        }
        self.metrics.set(&names::SPOOL_DEPTH, &[], depth as f64);
        self.metrics
            .set(&names::SPOOL_AGE, &[], oldest.as_secs_f64());
        self.metrics
            .set(&names::SPOOL_BYTES, &[], stats.spool_bytes as f64);
        self.metrics
            .set(&names::SPOOL_DUPLICATES, &[], stats.duplicates as f64);
        Some(depth)
    }

    fn take_count(&mut self) -> u64 {
        std::mem::take(&mut self.taken)
    }

    fn failed(&self, name: &str, error: SinkError) -> SinkError {
        self.metrics.add(&names::SINK_ERRORS, &[name], 1.0);
        error
    }
}

impl Sink for Outputs {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let action = match alert.state {
            AlertState::Open => "opened",
            AlertState::Closed => "closed",
        };
        for idx in 0..self.sinks.len() {
            let named = &mut self.sinks[idx];
            if let Err(error) = named.sink.alert(alert) {
                let name = named.name.clone();
                return Err(self.failed(&name, error));
            }
            self.metrics
                .add(&names::ALERTS, &[&self.sinks[idx].name, action], 1.0);
        }
        if let Some(delivery) = &mut self.delivery {
            if let Err(error) = delivery.alert(alert) {
                return Err(self.failed(SPOOL, error));
            }
            self.metrics.add(&names::ALERTS, &[SPOOL, action], 1.0);
        }
        self.taken += 1;
        if let Some(triage) = &mut self.triage {
            triage.submit(alert);
        }
        Ok(())
    }

    fn row(&mut self, row: &RowRecord) -> Result<(), SinkError> {
        for named in &mut self.sinks {
            named.sink.row(row)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.triage_events(false)?;
        for idx in 0..self.sinks.len() {
            if let Err(error) = self.sinks[idx].sink.flush() {
                let name = self.sinks[idx].name.clone();
                return Err(self.failed(&name, error));
            }
        }
        if let Some(delivery) = &mut self.delivery
            && let Err(error) = delivery.flush()
        {
            return Err(self.failed(SPOOL, error));
        }
        Ok(())
    }
}

/// The name metrics give the spool as an output.
const SPOOL: &str = "spool";

/// Follows `config.logs` and drives the pipeline over `model` until `stop` is set (or, with
/// `exit_when_idle`, the input ends). See the module docs.
pub fn watch(
    model: Arc<LoadedModel>,
    config: &WatchConfig,
    outputs: &mut Outputs,
    staging: Option<StagingRun>,
    stop: &AtomicBool,
) -> Result<WatchSummary, WatchError> {
    let metrics = Arc::clone(&outputs.metrics);
    let state_path = match &config.state_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|source| WatchError::StateDir {
                path: dir.clone(),
                source,
            })?;
            Some(state::path_in(dir))
        }
        None => None,
    };
    let saved = match &state_path {
        Some(path) => WatchState::read_if_exists(path)?,
        None => None,
    };
    let production_sha256 = model.sha256.clone();
    let mut pipeline = Pipeline::new(model, config.pipeline.clone());
    let mut summary = WatchSummary {
        resumed: saved.is_some(),
        ..WatchSummary::default()
    };
    let (follower_checkpoint, saved_staging) = match saved {
        Some(saved) => {
            pipeline
                .restore(saved.pipeline)
                .map_err(|error| WatchError::Restore(Box::new(error)))?;
            (Some(saved.follower), saved.staging)
        }
        None => (None, None),
    };
    let mut candidate = match staging {
        Some(run) => Some(
            Candidate::start(
                run,
                config.pipeline.clone(),
                &production_sha256,
                saved_staging,
            )
            .map_err(|error| WatchError::Staging(Box::new(error)))?,
        ),
        None => None,
    };
    let mut options = FollowOptions::new(config.logs.clone());
    options.read = config.source.read.clone();
    options.poll_interval = config.poll;
    let mut follower = Follower::new(options, follower_checkpoint);
    let mut adapter = RecordAdapter::new(config.source.ot.clone());
    let mut stats = SourceStats::default();
    let mut reported = Reported::default();
    let mut health = Health::new(config.health_every);
    let mut polls_with_alerts = 0u64;
    loop {
        let started = Instant::now();
        let mut per_log: BTreeMap<String, u64> = BTreeMap::new();
        let report = follower.poll(|batch| {
            let log = zeek::log_path_of(batch.path()).unwrap_or_else(|| "unknown".to_string());
            let mut taken = 0u64;
            let mut result = Ok(());
            loop {
                if taken % STOP_CHECK_RECORDS == STOP_CHECK_RECORDS - 1
                    && stop.load(Ordering::Relaxed)
                {
                    // Lines left in the batch end the poll; they come again after a restart.
                    break;
                }
                let record = match batch.next_record() {
                    Ok(Some(record)) => record,
                    Ok(None) => break,
                    Err(error) => {
                        result = Err(WatchError::from(error));
                        break;
                    }
                };
                taken += 1;
                let pushed = adapter.adapt(&record, &mut stats, |event| match &mut candidate {
                    // Production first: its alerts are out before the candidate sees the event.
                    Some(candidate) => {
                        let pushed = pipeline.push(
                            event,
                            &mut Counted {
                                inner: &mut *outputs,
                                tally: Some(&mut candidate.production),
                            },
                        );
                        candidate.push(event);
                        pushed
                    }
                    None => pipeline.push(event, &mut *outputs),
                });
                if let Some(Err(error)) = pushed {
                    result = Err(error.into());
                    break;
                }
            }
            *per_log.entry(log).or_default() += taken;
            result
        })?;
        summary.polls += 1;
        for error in &report.errors {
            metrics.add(&names::FOLLOW_ERRORS, &[], 1.0);
            diag!(
                "warning: {}",
                crate::text::escape_terminal(&error.to_string())
            );
        }
        reported.print_new(&stats, follower.problems());
        let fresh = report.lines > 0;
        let stopping = stop.load(Ordering::Relaxed);
        let idle_end = config.exit_when_idle
            && !fresh
            && !report.stopped_early
            && follower.backlog_bytes() == 0;
        let mut sink = Counted {
            inner: &mut *outputs,
            tally: candidate
                .as_mut()
                .map(|candidate| &mut candidate.production),
        };
        if idle_end && !stopping {
            pipeline.finish(&mut sink)?;
        }
        let checkpoint = match &state_path {
            Some(_) if fresh || idle_end || stopping => Some(pipeline.checkpoint(&mut sink)?),
            _ => {
                pipeline.flush(&mut sink)?;
                None
            }
        };
        // The candidate lands the same records after production's alerts are out.
        let staging_state = match &mut candidate {
            Some(candidate) => {
                if idle_end && !stopping {
                    candidate.finish();
                }
                match &checkpoint {
                    Some(_) => candidate.checkpoint(),
                    None => {
                        candidate.flush();
                        None
                    }
                }
            }
            None => None,
        };
        // The alerts are durable before the checkpoint that covers them is written.
        outputs.flush()?;
        let alerts = outputs.take_count();
        if alerts > 0 {
            polls_with_alerts += 1;
            if config.halt_after_sync == Some(polls_with_alerts) {
                halt();
            }
        }
        metrics.observe(
            &names::LATENCY,
            &[],
            started.elapsed().as_secs_f64(),
            alerts,
        );
        if let (Some(path), Some(pipeline_state)) = (&state_path, checkpoint) {
            WatchState {
                follower: follower.checkpoint(),
                pipeline: pipeline_state,
                staging: staging_state,
            }
            .write(path)?;
            metrics.add(&names::CHECKPOINTS, &[], 1.0);
        }
        // After the checkpoint that covers them: a crash loses these counts, never doubles them.
        if let Some(candidate) = &mut candidate {
            candidate.record(idle_end || stopping);
        }
        outputs.commit();
        let took = started.elapsed();
        record_poll(
            &metrics,
            &per_log,
            &stats,
            &follower,
            pipeline.stats(),
            took,
        );
        let backlog = follower.backlog_bytes();
        let behind = took > config.poll || (report.stopped_early && !stopping);
        metrics.set(&names::FALLING_BEHIND, &[], f64::from(u8::from(behind)));
        let spool = outputs.record_delivery();
        health.tick(report.records, alerts, backlog, behind, spool);
        if idle_end || stopping {
            break;
        }
        // An interruptible pause until the next poll is due.
        let due = started + config.poll;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= due {
                break;
            }
            std::thread::sleep((due - now).min(Duration::from_millis(20)));
        }
    }
    stats.parse_errors += follower.problems().total();
    summary.source = stats;
    summary.pipeline = pipeline.stats().clone();
    summary.staging = candidate.as_ref().map(Candidate::summary);
    Ok(summary)
}

/// The test hook of [`HALT_AFTER_SPOOL_SYNC`]: says so and waits to be killed.
fn halt() -> ! {
    diag!("{HALTED}");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// Brings the metrics up to date after a poll.
fn record_poll(
    metrics: &Metrics,
    per_log: &BTreeMap<String, u64>,
    stats: &SourceStats,
    follower: &Follower,
    pipeline: &PipelineStats,
    took: Duration,
) {
    for (log, lines) in per_log {
        metrics.add(&names::LINES_READ, &[log], *lines as f64);
    }
    metrics.set(
        &names::PARSE_ERRORS,
        &[],
        (stats.parse_errors + follower.problems().total()) as f64,
    );
    for (detector, count) in &pipeline.findings_by_detector {
        metrics.set(&names::FINDINGS, &[detector], *count as f64);
    }
    for (severity, count) in &pipeline.findings_by_severity {
        metrics.set(
            &names::FINDINGS_BY_SEVERITY,
            &[&severity.to_string()],
            *count as f64,
        );
    }
    metrics.set(&names::BACKLOG, &[], follower.backlog_bytes() as f64);
    metrics.set(&names::POLL_SECONDS, &[], took.as_secs_f64());
}

/// Which unreadable lines have been printed, so each is printed once.
#[derive(Default)]
struct Reported {
    adapter: usize,
    follower: usize,
}

impl Reported {
    fn print_new(&mut self, stats: &SourceStats, problems: &zeek::Problems) {
        for message in &stats.errors[self.adapter.min(stats.errors.len())..] {
            diag!("skipped: {}", crate::text::escape_terminal(message));
        }
        self.adapter = stats.errors.len();
        let kept = problems.kept();
        for problem in &kept[self.follower.min(kept.len())..] {
            diag!(
                "skipped: {}",
                crate::text::escape_terminal(&problem.to_string())
            );
        }
        self.follower = kept.len();
    }
}

/// The health line on stderr: throughput, alerts, backlog, every `every`.
struct Health {
    every: Duration,
    since: Instant,
    records: u64,
    alerts: u64,
    total_alerts: u64,
}

impl Health {
    fn new(every: Duration) -> Health {
        Health {
            every,
            since: Instant::now(),
            records: 0,
            alerts: 0,
            total_alerts: 0,
        }
    }

    fn tick(&mut self, records: u64, alerts: u64, backlog: u64, behind: bool, spool: Option<u64>) {
        self.records += records;
        self.alerts += alerts;
        self.total_alerts += alerts;
        let elapsed = self.since.elapsed();
        if elapsed < self.every {
            return;
        }
        let rate = self.records as f64 / elapsed.as_secs_f64().max(1e-9);
        diag!(
            "watch: {rate:.0} lines/s, {} alerts in the last {:.0} s ({} in all), backlog {backlog} bytes{}, spool {}",
            self.alerts,
            elapsed.as_secs_f64(),
            self.total_alerts,
            if behind { " (falling behind)" } else { "" },
            spool.map_or("-".to_string(), |depth| format!("{depth} alerts waiting")),
        );
        self.since = Instant::now();
        self.records = 0;
        self.alerts = 0;
    }
}
