//! The [`Triager`]: the queue between a driver (`watch`, `serve`, the CLI) and a provider, which
//! keeps triage off the delivery path. [`Triager::submit`] never blocks: it queues the alert, or
//! skips it at once (`queue_depth` when the queue holds `queue_limit` alerts, `breaker_open` while
//! the breaker cools down). Workers call the provider under the SLA (`timeout` past it) and send
//! every alert's outcome, triaged or skipped, on the outcomes channel; the driver records them.
//!
//! [`triage_one`] is the same call for one alert, without the queue.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::breaker::{Breaker, BreakerConfig, BreakerState};
use super::context::TriageContext;
use super::contract::{Advice, SkipReason, Stamp, enforce};
use super::http::CallError;
use super::provider::Provider;
use crate::governance::{format_micros, now_micros};

/// How the queue runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriagerConfig {
    /// The time one provider call may take.
    pub sla: Duration,
    /// Alerts waiting or in progress beyond which new ones bypass triage.
    pub queue_limit: usize,
    /// Provider calls in parallel.
    pub workers: usize,
    pub breaker: BreakerConfig,
}

impl Default for TriagerConfig {
    fn default() -> Self {
        TriagerConfig {
            sla: Duration::from_secs(30),
            queue_limit: 100,
            workers: 2,
            breaker: BreakerConfig::default(),
        }
    }
}

/// One alert to triage.
#[derive(Debug, Clone)]
pub struct TriageJob {
    pub alert_id: i64,
    pub context: TriageContext,
}

/// What became of one alert.
#[derive(Debug, Clone)]
pub struct TriageOutcome {
    pub alert_id: i64,
    pub advice: Advice,
}

/// What `submit` did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Submission {
    Queued,
    Skipped(SkipReason),
}

/// Counters a metrics layer reads: the queue depth is `enqueued - finished` (a counter pair, not
/// a gauge), plus the breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TriageMetrics {
    pub breaker: BreakerState,
    pub enqueued_total: u64,
    pub finished_total: u64,
    pub triaged_total: u64,
    pub skipped_timeout_total: u64,
    pub skipped_queue_depth_total: u64,
    pub skipped_breaker_open_total: u64,
    pub skipped_provider_error_total: u64,
}

impl TriageMetrics {
    pub fn queue_depth(&self) -> u64 {
        self.enqueued_total.saturating_sub(self.finished_total)
    }
}

#[derive(Debug, Default)]
struct Counters {
    enqueued: AtomicU64,
    finished: AtomicU64,
    triaged: AtomicU64,
    skipped: [AtomicU64; 4],
}

fn skip_index(reason: SkipReason) -> usize {
    match reason {
        SkipReason::Timeout => 0,
        SkipReason::QueueDepth => 1,
        SkipReason::BreakerOpen => 2,
        SkipReason::ProviderError => 3,
    }
}

struct Shared {
    provider: Arc<dyn Provider>,
    breaker: Breaker,
    counters: Counters,
    config: TriagerConfig,
    outcomes: Mutex<Sender<TriageOutcome>>,
}

impl Shared {
    fn stamp(&self) -> Stamp {
        stamp(self.provider.as_ref())
    }

    fn emit(&self, alert_id: i64, advice: Advice) {
        match advice.llm_triage_skipped {
            Some(reason) => {
                self.counters.skipped[skip_index(reason)].fetch_add(1, Ordering::Relaxed);
                tracing::info!(alert_id, reason = reason.name(), "Triage skipped");
            }
            None => {
                self.counters.triaged.fetch_add(1, Ordering::Relaxed);
            }
        }
        let sender = self
            .outcomes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // The driver may have stopped listening; the alert itself was delivered regardless.
        let _ = sender.send(TriageOutcome { alert_id, advice });
    }
}

fn stamp(provider: &dyn Provider) -> Stamp {
    Stamp {
        provider: provider.name().to_string(),
        model: provider.model().to_string(),
        triage_timestamp: format_micros(now_micros()),
    }
}

/// Calls the provider on its own thread and waits at most the SLA, so that not even a provider
/// that ignores its deadline holds the caller longer.
fn call_within_sla(
    provider: &Arc<dyn Provider>,
    context: &TriageContext,
    sla: Duration,
) -> Result<String, CallError> {
    let deadline = Instant::now() + sla;
    let (sender, receiver) = mpsc::channel();
    let provider = Arc::clone(provider);
    let context = context.clone();
    let spawned = thread::Builder::new()
        .name("triage-call".into())
        .spawn(move || {
            let _ = sender.send(provider.advise(&context, deadline));
        });
    if let Err(error) = spawned {
        return Err(CallError::Transient {
            attempts: 0,
            detail: format!("cannot start the call's thread: {error}"),
        });
    }
    // A little grace for the call's own timeout to report first, with its detail.
    match receiver.recv_timeout(sla + Duration::from_millis(200)) {
        Ok(result) => result,
        Err(_) => Err(CallError::Timeout(format!(
            "{} s passed",
            sla.as_secs_f64()
        ))),
    }
}

fn advice_for(
    provider: &Arc<dyn Provider>,
    breaker: &Breaker,
    context: &TriageContext,
    sla: Duration,
) -> Advice {
    if !breaker.admit() {
        return Advice::skipped(
            SkipReason::BreakerOpen,
            "the provider failed repeatedly; the breaker is cooling down",
            stamp(provider.as_ref()),
        );
    }
    match call_within_sla(provider, context, sla) {
        Ok(raw) => {
            breaker.record_success();
            enforce(&raw, &context.untrusted_text(), stamp(provider.as_ref()))
        }
        Err(error) => {
            breaker.record_failure();
            let reason = match error {
                CallError::Timeout(_) => SkipReason::Timeout,
                CallError::Transient { .. } | CallError::Permanent(_) => SkipReason::ProviderError,
            };
            Advice::skipped(reason, &error.to_string(), stamp(provider.as_ref()))
        }
    }
}

/// Triage of one alert without a queue (the `triage ALERT_ID` command, the backtest).
pub fn triage_one(provider: &Arc<dyn Provider>, context: &TriageContext, sla: Duration) -> Advice {
    let breaker = Breaker::new(BreakerConfig::default());
    advice_for(provider, &breaker, context, sla)
}

/// The queue and its workers.
pub struct Triager {
    sender: Option<Sender<TriageJob>>,
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Triager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Triager")
            .field("provider", &self.shared.provider.name())
            .field("metrics", &self.metrics())
            .finish()
    }
}

impl Triager {
    /// Starts the workers; every submitted alert's outcome arrives on the receiver.
    pub fn start(
        config: TriagerConfig,
        provider: Arc<dyn Provider>,
    ) -> (Triager, Receiver<TriageOutcome>) {
        let (outcome_sender, outcomes) = mpsc::channel();
        let (sender, jobs) = mpsc::channel::<TriageJob>();
        let jobs = Arc::new(Mutex::new(jobs));
        let shared = Arc::new(Shared {
            provider,
            breaker: Breaker::new(config.breaker),
            counters: Counters::default(),
            config,
            outcomes: Mutex::new(outcome_sender),
        });
        let workers = (0..config.workers.max(1))
            .filter_map(|index| {
                let shared = Arc::clone(&shared);
                let jobs = Arc::clone(&jobs);
                thread::Builder::new()
                    .name(format!("triage-{index}"))
                    .spawn(move || worker(&shared, &jobs))
                    .ok()
            })
            .collect();
        (
            Triager {
                sender: Some(sender),
                shared,
                workers,
            },
            outcomes,
        )
    }

    /// Queues an alert or skips it at once; never waits for the provider.
    pub fn submit(&self, job: TriageJob) -> Submission {
        let counters = &self.shared.counters;
        let depth = counters
            .enqueued
            .load(Ordering::SeqCst)
            .saturating_sub(counters.finished.load(Ordering::SeqCst));
        let skip = if depth >= self.shared.config.queue_limit as u64 {
            Some((
                SkipReason::QueueDepth,
                format!(
                    "{depth} alerts already wait for triage (limit {})",
                    self.shared.config.queue_limit
                ),
            ))
        } else if self.shared.breaker.rejecting() {
            Some((
                SkipReason::BreakerOpen,
                "the provider failed repeatedly; the breaker is cooling down".to_string(),
            ))
        } else {
            None
        };
        if let Some((reason, detail)) = skip {
            let advice = Advice::skipped(reason, &detail, self.shared.stamp());
            self.shared.emit(job.alert_id, advice);
            return Submission::Skipped(reason);
        }
        counters.enqueued.fetch_add(1, Ordering::SeqCst);
        let alert_id = job.alert_id;
        let sent = self
            .sender
            .as_ref()
            .is_some_and(|sender| sender.send(job).is_ok());
        if sent {
            Submission::Queued
        } else {
            counters.finished.fetch_add(1, Ordering::SeqCst);
            let advice = Advice::skipped(
                SkipReason::ProviderError,
                "the triage workers have stopped",
                self.shared.stamp(),
            );
            self.shared.emit(alert_id, advice);
            Submission::Skipped(SkipReason::ProviderError)
        }
    }

    /// The time one provider call may take.
    pub fn sla(&self) -> Duration {
        self.shared.config.sla
    }

    /// The provider's name and model.
    pub fn provider(&self) -> (&str, &str) {
        (self.shared.provider.name(), self.shared.provider.model())
    }

    pub fn metrics(&self) -> TriageMetrics {
        let counters = &self.shared.counters;
        let skipped = |reason| counters.skipped[skip_index(reason)].load(Ordering::Relaxed);
        TriageMetrics {
            breaker: self.shared.breaker.state(),
            enqueued_total: counters.enqueued.load(Ordering::SeqCst),
            finished_total: counters.finished.load(Ordering::SeqCst),
            triaged_total: counters.triaged.load(Ordering::Relaxed),
            skipped_timeout_total: skipped(SkipReason::Timeout),
            skipped_queue_depth_total: skipped(SkipReason::QueueDepth),
            skipped_breaker_open_total: skipped(SkipReason::BreakerOpen),
            skipped_provider_error_total: skipped(SkipReason::ProviderError),
        }
    }

    /// Stops taking alerts, lets the workers finish the queue, and waits for them.
    pub fn shutdown(mut self) {
        self.sender = None;
        for worker in std::mem::take(&mut self.workers) {
            let _ = worker.join();
        }
    }
}

fn worker(shared: &Shared, jobs: &Mutex<Receiver<TriageJob>>) {
    loop {
        let job = {
            let jobs = jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            jobs.recv()
        };
        let Ok(job) = job else { return };
        let advice = advice_for(
            &shared.provider,
            &shared.breaker,
            &job.context,
            shared.config.sla,
        );
        shared.counters.finished.fetch_add(1, Ordering::SeqCst);
        shared.emit(job.alert_id, advice);
    }
}
