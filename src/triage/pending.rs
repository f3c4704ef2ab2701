//! Triage inside `serve`: a background step that pre-classifies the stored open alerts that have
//! no triage annotation yet, through the same [`Triager`] (queue, SLA, breaker, contract) and the
//! same [`record`] (the triage assistant's AI handle: one audited annotation, drafts
//! `pending_human_approval`) as `otsentry triage ALERT_ID`. Advisory only: nothing here can
//! close, decide or downgrade an alert, because the handle cannot.
//!
//! A pass lists the newest alerts, submits the open ones without advice, at most as many as the
//! queue has room for (a backlog waits for the next pass rather than being skipped), and none
//! while the breaker is open. A recorder thread writes each outcome as it arrives. An alert
//! whose outcome was not yet recorded when the server stopped has no advice, so the next start
//! triages it.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::breaker::BreakerState;
use super::context::TriageContext;
use super::record::{record, siem_events};
use super::triager::{TriageJob, TriageMetrics, TriageOutcome, Triager};
use crate::governance::{Actor, AiAlertWriter, Governance, GovernanceError};
use crate::inventory::Inventory;
use crate::sinks::Sink;
use crate::store::{AlertStatus, Store};

/// How often passes run and how much each looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingConfig {
    pub every: Duration,
    /// The newest this many alerts are looked at (and give the pair history).
    pub batch: i64,
    /// The triager's queue limit, so that a pass fills only the room left.
    pub queue_limit: usize,
}

/// What the status endpoint shows.
#[derive(Debug, Clone, Serialize)]
pub struct PendingStatus {
    pub provider: String,
    pub model: String,
    pub passes_total: u64,
    pub submitted_total: u64,
    pub recorded_total: u64,
    pub record_errors_total: u64,
    pub siem_events_total: u64,
    pub siem_errors_total: u64,
    pub triager: TriageMetrics,
}

#[derive(Debug, Default)]
struct Counters {
    passes: AtomicU64,
    submitted: AtomicU64,
    recorded: AtomicU64,
    record_errors: AtomicU64,
    siem_events: AtomicU64,
    siem_errors: AtomicU64,
}

/// The background triage of stored alerts.
pub struct PendingTriage<S: Store> {
    governance: Governance<S>,
    triager: Triager,
    inventory: Option<Inventory>,
    config: PendingConfig,
    provider: (String, String),
    /// Alerts submitted in this run; removed again when recording failed, so a pass retries.
    seen: Mutex<HashSet<i64>>,
    counters: Counters,
}

impl<S: Store> std::fmt::Debug for PendingTriage<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingTriage")
            .field("config", &self.config)
            .field("triager", &self.triager)
            .finish()
    }
}

/// A SIEM output for the triage events, written from the recorder thread.
pub type TriageSiem = Box<dyn Sink + Send>;

impl<S: Store> PendingTriage<S> {
    /// Starts the recorder thread on the current tokio runtime; `writer` is the triage
    /// assistant's handle. Each recorded advice also goes to `siem`, when given.
    pub fn start(
        governance: Governance<S>,
        writer: AiAlertWriter<S>,
        triager: (Triager, Receiver<TriageOutcome>),
        inventory: Option<Inventory>,
        config: PendingConfig,
        siem: Option<TriageSiem>,
    ) -> std::io::Result<Arc<PendingTriage<S>>> {
        let (triager, outcomes) = triager;
        let metrics_provider = triager_provider(&triager);
        let pending = Arc::new(PendingTriage {
            governance,
            triager,
            inventory,
            config,
            provider: metrics_provider,
            seen: Mutex::new(HashSet::new()),
            counters: Counters::default(),
        });
        let handle = tokio::runtime::Handle::current();
        let recorder = Arc::clone(&pending);
        std::thread::Builder::new()
            .name("triage-recorder".into())
            .spawn(move || recorder.record_outcomes(&handle, &writer, &outcomes, siem))?;
        Ok(pending)
    }

    fn record_outcomes(
        &self,
        handle: &tokio::runtime::Handle,
        writer: &AiAlertWriter<S>,
        outcomes: &Receiver<TriageOutcome>,
        mut siem: Option<TriageSiem>,
    ) {
        for outcome in outcomes {
            let recorded = handle.block_on(record(writer, outcome.alert_id, &outcome.advice));
            let recorded = match recorded {
                Ok(recorded) => recorded,
                Err(error) => {
                    self.counters.record_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(alert_id = outcome.alert_id, %error, "Cannot record triage advice; the next pass tries again");
                    self.seen_mut().remove(&outcome.alert_id);
                    continue;
                }
            };
            self.counters.recorded.fetch_add(1, Ordering::Relaxed);
            let Some(siem) = siem.as_mut() else { continue };
            let events = siem_events(outcome.alert_id, &outcome.advice, &recorded);
            let sent = events
                .iter()
                .try_for_each(|event| siem.triage(event))
                .and_then(|()| siem.flush());
            match sent {
                Ok(()) => {
                    self.counters
                        .siem_events
                        .fetch_add(events.len() as u64, Ordering::Relaxed);
                }
                Err(error) => {
                    // The advice is in the store and its audit entry; only the copy is missing.
                    self.counters.siem_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(alert_id = outcome.alert_id, %error, "Cannot hand triage events to the SIEM output");
                }
            }
        }
    }

    fn seen_mut(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One pass; returns how many alerts it submitted.
    pub async fn pass(&self) -> Result<usize, GovernanceError> {
        self.counters.passes.fetch_add(1, Ordering::Relaxed);
        let metrics = self.triager.metrics();
        if metrics.breaker == BreakerState::Open {
            return Ok(0);
        }
        let mut room = (self.config.queue_limit as u64).saturating_sub(metrics.queue_depth());
        let alerts = self
            .governance
            .list_alerts(Actor::Local, None, self.config.batch)
            .await?;
        let mut submitted = 0;
        for alert in alerts
            .iter()
            .filter(|alert| alert.status == AlertStatus::Open)
        {
            if room == 0 {
                break;
            }
            if self.seen_mut().contains(&alert.id) {
                continue;
            }
            let detail = self.governance.alert_detail(Actor::Local, alert.id).await?;
            self.seen_mut().insert(alert.id);
            if !detail.triage.is_empty() {
                continue;
            }
            let context = TriageContext::build(alert, self.inventory.as_ref(), &alerts);
            self.triager.submit(TriageJob {
                alert_id: alert.id,
                context,
            });
            room -= 1;
            submitted += 1;
        }
        self.counters
            .submitted
            .fetch_add(submitted as u64, Ordering::Relaxed);
        Ok(submitted)
    }

    /// Runs a pass every `every` until `stop` resolves.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut ticks = tokio::time::interval(self.config.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(error) = self.pass().await {
                        tracing::error!(%error, "A triage pass failed; the next one tries again");
                    }
                }
                () = &mut stop => break,
            }
        }
    }

    pub fn status(&self) -> PendingStatus {
        let counters = &self.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PendingStatus {
            provider: self.provider.0.clone(),
            model: self.provider.1.clone(),
            passes_total: load(&counters.passes),
            submitted_total: load(&counters.submitted),
            recorded_total: load(&counters.recorded),
            record_errors_total: load(&counters.record_errors),
            siem_events_total: load(&counters.siem_events),
            siem_errors_total: load(&counters.siem_errors),
            triager: self.triager.metrics(),
        }
    }
}

fn triager_provider(triager: &Triager) -> (String, String) {
    let (name, model) = triager.provider();
    (name.to_string(), model.to_string())
}
