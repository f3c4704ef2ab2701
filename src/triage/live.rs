//! Triage inside `watch` (`--triage [CONFIG]`): each opened alert is submitted to a [`Triager`]
//! after its delivery, never before, and never waiting: the queue is bounded and a full queue
//! or an open breaker sends the alert on untriaged, tagged `llm_triage_skipped` in its triage
//! event and counted in the triager's metrics. The outcomes come back as [`TriageEvent`]s keyed
//! by the alert's stable id, which the driver hands to the same outputs after the alert.
//!
//! `watch` has no governance database, so nothing is recorded through the AI handle here; the
//! SIEM gets the advice and any draft (`pending_human_approval`) as events of their own. The
//! enrichment is the alert's own asset context and the pair's earlier alerts of this run.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use super::config::TriageSettings;
use super::context::TriageContext;
use super::event::{TriageEvent, unstored_events};
use super::triager::{Submission, TriageJob, TriageMetrics, TriageOutcome, Triager};
use crate::alerts::{Alert, AlertState, stored_form};
use crate::metrics::{Metrics, names};
use crate::store::{AlertRecord, AlertStatus};

/// How many earlier alerts of the run are kept for the pair history.
const RECENT_ALERTS: usize = 512;

/// The triage of a live run.
pub struct LiveTriage {
    triager: Triager,
    outcomes: Receiver<TriageOutcome>,
    /// Job numbers (the triager's alert ids) to the alerts' stable ids.
    ids: HashMap<i64, String>,
    next_job: i64,
    recent: VecDeque<AlertRecord>,
}

impl std::fmt::Debug for LiveTriage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveTriage")
            .field("triager", &self.triager)
            .field("waiting", &self.ids.len())
            .finish()
    }
}

/// The alert as the triage context reads it (the store's shape, without a store).
pub fn as_record(alert: &Alert, job: i64) -> AlertRecord {
    AlertRecord {
        id: job,
        alert: stored_form(alert),
        status: AlertStatus::Open,
        created_by: 0,
        created_at: 0,
        version: 1,
    }
}

impl LiveTriage {
    pub fn start(settings: &TriageSettings) -> LiveTriage {
        let (triager, outcomes) = Triager::start(settings.triager, settings.build_provider());
        LiveTriage {
            triager,
            outcomes,
            ids: HashMap::new(),
            next_job: 1,
            recent: VecDeque::new(),
        }
    }

    /// Submits an opened alert (a closing one was triaged when it opened); never blocks.
    pub fn submit(&mut self, alert: &Alert) -> Option<Submission> {
        if alert.state != AlertState::Open {
            return None;
        }
        let job = self.next_job;
        self.next_job += 1;
        let record = as_record(alert, job);
        let context = TriageContext::build(&record, None, self.recent.make_contiguous());
        if self.recent.len() == RECENT_ALERTS {
            self.recent.pop_front();
        }
        self.recent.push_back(record);
        self.ids.insert(job, alert.id.clone());
        Some(self.triager.submit(TriageJob {
            alert_id: job,
            context,
        }))
    }

    /// The triage events of every outcome that has arrived, in arrival order.
    pub fn ready(&mut self) -> Vec<TriageEvent> {
        let mut events = Vec::new();
        while let Ok(outcome) = self.outcomes.try_recv() {
            if let Some(alert_id) = self.ids.remove(&outcome.alert_id) {
                events.extend(unstored_events(&alert_id, &outcome.advice));
            }
        }
        events
    }

    /// Alerts submitted whose outcome has not been taken yet.
    pub fn waiting(&self) -> usize {
        self.ids.len()
    }

    /// At the end of a run: waits at most `wait` for the queue to empty, then returns what is
    /// ready. Alerts still with the provider go without their triage event.
    pub fn finish(&mut self, wait: Duration) -> Vec<TriageEvent> {
        let deadline = Instant::now() + wait;
        let mut events = self.ready();
        while !self.ids.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            events.extend(self.ready());
        }
        events
    }

    pub fn metrics(&self) -> TriageMetrics {
        self.triager.metrics()
    }

    /// The longest one triage may take, for the wait at the end of a run.
    pub fn sla(&self) -> Duration {
        self.triager.sla()
    }
}

/// Brings the triage metrics up to date.
pub fn record_metrics(metrics: &Metrics, triage: &TriageMetrics) {
    for (outcome, count) in [
        ("triaged", triage.triaged_total),
        ("timeout", triage.skipped_timeout_total),
        ("queue_depth", triage.skipped_queue_depth_total),
        ("breaker_open", triage.skipped_breaker_open_total),
        ("provider_error", triage.skipped_provider_error_total),
    ] {
        metrics.set(&names::TRIAGE, &[outcome], count as f64);
    }
    metrics.set(
        &names::TRIAGE_BREAKER,
        &[],
        f64::from(triage.breaker.gauge()),
    );
}

/// The run's triage totals, for the line `watch` prints when it stops.
pub fn summary(triage: &TriageMetrics) -> String {
    format!(
        "triage: {} alerts triaged, {} went out untriaged (timeout {}, queue_depth {}, breaker_open {}, provider_error {}), breaker {}",
        triage.triaged_total,
        triage.skipped_timeout_total
            + triage.skipped_queue_depth_total
            + triage.skipped_breaker_open_total
            + triage.skipped_provider_error_total,
        triage.skipped_timeout_total,
        triage.skipped_queue_depth_total,
        triage.skipped_breaker_open_total,
        triage.skipped_provider_error_total,
        triage.breaker.name(),
    )
}
