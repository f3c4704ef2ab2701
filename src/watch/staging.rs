//! The staging candidate beside production (`watch --staging`): a second instance of the same
//! [`Pipeline`] over the candidate model, fed the very events production's is fed, whose alerts
//! go to no sink at all. They are counted as would-be alerts (per log day, detector, rule and
//! severity) next to what production alerted on the same records, and handed, with the time the
//! candidate ran and the records it took, to a recorder (the registry database) every
//! `persist_every` and at the end of the run.
//!
//! The time handed on is time the candidate scored records: for each interval between two
//! recordings, the wall-clock time up to the end of its last poll that took records, but never
//! more than the log time its records advanced (the latest `ts` seen then against the latest
//! seen at the previous recording, or at the first recording of a run, also after a restart, the
//! earliest seen since the run began). An interval in which nothing arrived counts nothing, so a
//! watch left running on an idle sensor does not serve the staging period; a replay of old logs
//! counts its wall-clock seconds, not the days its records span.
//!
//! Production comes first: the candidate never stops or delays production's alerts beyond the
//! work of its own pipeline (its forest scores on its own thread; its detectors run on the watch
//! thread after production's). If the candidate's pipeline fails, it is dropped with a warning
//! and production goes on. The counts not yet recorded are lost at a crash (at most
//! `persist_every` of them), never counted twice: they are recorded after the checkpoint that
//! covers their records.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::alerts::{Alert, AlertState};
use crate::detect::Severity;
use crate::features::FlowEvent;
use crate::model::LoadedModel;
use crate::pipeline::{Pipeline, PipelineConfig, PipelineError, PipelineState};
use crate::sinks::{RowRecord, Sink, SinkError};
use crate::store::{StagingCount, StagingDelta, StagingSide};
use crate::triage::event::TriageEvent;

use super::diag::diag;

/// How often the evidence goes to the recorder by default.
pub const DEFAULT_PERSIST_EVERY: Duration = Duration::from_secs(60);

/// How often the evidence is recorded, in milliseconds, when set (the tests' restarts; the
/// default suits a live site).
pub const PERSIST_EVERY_ENV: &str = "OTSENTRY_STAGING_RECORD_MS";

/// Records one delta of evidence (the registry database); an error is reported and the delta
/// kept for the next attempt.
pub type Recorder = Box<dyn FnMut(&StagingDelta) -> Result<(), String>>;

/// What `watch` needs to run a staging candidate.
pub struct StagingRun {
    pub model: Arc<LoadedModel>,
    /// The registry version of the candidate (for messages).
    pub version_id: i64,
    pub record: Recorder,
    pub persist_every: Duration,
}

/// Opened alerts by (log day, detector, rule, severity).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    counts: BTreeMap<(String, String, String, Severity), u64>,
}

impl Tally {
    /// Counts `alert` if it opens; its other events (the close with its final count) are not
    /// new alerts.
    pub fn count(&mut self, alert: &Alert) {
        if alert.state != AlertState::Open {
            return;
        }
        let key = (
            utc_day(alert.first_seen),
            alert.detector.clone(),
            alert.rule.clone(),
            alert.severity,
        );
        *self.counts.entry(key).or_default() += 1;
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    fn drain_into(&mut self, side: StagingSide, out: &mut Vec<StagingCount>) {
        for ((day, detector, rule, severity), alerts) in std::mem::take(&mut self.counts) {
            out.push(StagingCount {
                day,
                side,
                detector,
                rule,
                severity: severity.to_string(),
                alerts,
            });
        }
    }
}

/// The UTC date of a Zeek `ts`, `YYYY-MM-DD` (`unknown` for a time no calendar holds).
pub fn utc_day(ts: f64) -> String {
    if !ts.is_finite() {
        return "unknown".to_string();
    }
    time::OffsetDateTime::from_unix_timestamp(ts.floor() as i64)
        .map(|time| time.date().to_string())
        .unwrap_or_else(|_| "unknown".to_string())
}

/// The candidate's sink: every alert is counted and goes nowhere.
struct WouldBe<'a>(&'a mut Tally);

impl Sink for WouldBe<'_> {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.0.count(alert);
        Ok(())
    }

    fn triage(&mut self, _event: &TriageEvent) -> Result<(), SinkError> {
        Ok(())
    }

    fn row(&mut self, _row: &RowRecord) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Production's outputs with its opened alerts counted on the way (only while a candidate runs).
pub struct Counted<'a> {
    pub inner: &'a mut dyn Sink,
    pub tally: Option<&'a mut Tally>,
}

impl Sink for Counted<'_> {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.inner.alert(alert)?;
        if let Some(tally) = &mut self.tally {
            tally.count(alert);
        }
        Ok(())
    }

    fn triage(&mut self, event: &TriageEvent) -> Result<(), SinkError> {
        self.inner.triage(event)
    }

    fn row(&mut self, row: &RowRecord) -> Result<(), SinkError> {
        self.inner.row(row)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.inner.flush()
    }
}

/// A running candidate: its pipeline, both tallies and what is not yet recorded.
pub struct Candidate {
    run: StagingRun,
    pipeline: Pipeline,
    production_sha256: String,
    would_be: Tally,
    /// Production's opened alerts over the same records.
    pub production: Tally,
    recorded_events: u64,
    recorded_rows: u64,
    last_record: Instant,
    /// The latest log time (`ts`) the candidate took, and the one at the last recording: the
    /// log time an interval's records advanced bounds the time it counts.
    latest_ts: Option<f64>,
    recorded_ts: Option<f64>,
    /// Until the first recording, the earliest log time taken: the first interval (also the
    /// first after a restart) counts from its own earliest record.
    earliest_ts: Option<f64>,
    /// Whether records came since the poll's last landing, and when the last poll that took
    /// some landed them: wall-clock time after it, until the next recording, was idle.
    took_records: bool,
    last_busy: Option<Instant>,
    /// Evidence the recorder refused, kept for the next attempt.
    unrecorded: StagingDelta,
    /// Set when the candidate's pipeline failed: it is out of the run.
    failed: bool,
    /// Run totals, for the closing line.
    total_would_be: u64,
    total_production: u64,
}

impl Candidate {
    /// The candidate's pipeline over the production pipeline's configuration, resumed from
    /// `saved` when it is the same candidate's state.
    pub fn start(
        run: StagingRun,
        config: PipelineConfig,
        production_sha256: &str,
        saved: Option<PipelineState>,
    ) -> Result<Candidate, PipelineError> {
        let mut pipeline = Pipeline::new(Arc::clone(&run.model), config);
        if let Some(saved) = saved {
            if saved.model_sha256 == run.model.sha256 {
                pipeline.restore(saved)?;
            } else {
                diag!(
                    "staging: the checkpoint holds the state of another candidate ({}); version {} starts from a fresh state",
                    saved.model_sha256,
                    run.version_id
                );
            }
        }
        let events = pipeline.stats().events;
        let rows = pipeline.stats().rows_scored;
        Ok(Candidate {
            run,
            pipeline,
            production_sha256: production_sha256.to_string(),
            would_be: Tally::default(),
            production: Tally::default(),
            recorded_events: events,
            recorded_rows: rows,
            last_record: Instant::now(),
            latest_ts: None,
            recorded_ts: None,
            earliest_ts: None,
            took_records: false,
            last_busy: None,
            unrecorded: StagingDelta::default(),
            failed: false,
            total_would_be: 0,
            total_production: 0,
        })
    }

    /// True while the candidate runs (it has not failed).
    pub fn running(&self) -> bool {
        !self.failed
    }

    fn fail(&mut self, error: PipelineError) {
        diag!(
            "warning: staging: the candidate (version {}) stopped: {error}; production goes on, and the evidence so far is kept",
            self.run.version_id
        );
        self.failed = true;
    }

    /// The candidate takes the event production took.
    pub fn push(&mut self, event: &FlowEvent<'_>) {
        if self.failed {
            return;
        }
        self.took_records = true;
        if event.ts.is_finite() {
            self.latest_ts = Some(
                self.latest_ts
                    .map_or(event.ts, |latest| latest.max(event.ts)),
            );
            if self.recorded_ts.is_none() {
                self.earliest_ts = Some(
                    self.earliest_ts
                        .map_or(event.ts, |earliest| earliest.min(event.ts)),
                );
            }
        }
        if let Err(error) = self.pipeline.push(event, &mut WouldBe(&mut self.would_be)) {
            self.fail(error);
        }
    }

    /// Notes the end of a poll that took records.
    fn landed(&mut self) {
        if std::mem::take(&mut self.took_records) {
            self.last_busy = Some(Instant::now());
        }
    }

    /// Lands every pushed event (the poll's end).
    pub fn flush(&mut self) {
        self.landed();
        if self.failed {
            return;
        }
        if let Err(error) = self.pipeline.flush(&mut WouldBe(&mut self.would_be)) {
            self.fail(error);
        }
    }

    /// The end of the input: closes the candidate's open alerts as production's are.
    pub fn finish(&mut self) {
        self.landed();
        if self.failed {
            return;
        }
        if let Err(error) = self.pipeline.finish(&mut WouldBe(&mut self.would_be)) {
            self.fail(error);
        }
    }

    /// The candidate's state for the checkpoint (its alerts, as always, go nowhere).
    pub fn checkpoint(&mut self) -> Option<PipelineState> {
        self.landed();
        if self.failed {
            return None;
        }
        match self.pipeline.checkpoint(&mut WouldBe(&mut self.would_be)) {
            Ok(state) => Some(state),
            Err(error) => {
                self.fail(error);
                None
            }
        }
    }

    /// Hands the evidence to the recorder when `persist_every` passed or `last` is set (the run
    /// ends). Called after the checkpoint covering the records is written.
    pub fn record(&mut self, last: bool) {
        let elapsed = self.last_record.elapsed();
        if !last && elapsed < self.run.persist_every {
            return;
        }
        // Busy time: from the last recording to the end of the last poll that took records.
        let busy = self.last_busy.map_or(Duration::ZERO, |busy| {
            busy.saturating_duration_since(self.last_record)
        });
        self.last_record = Instant::now();
        let stats = self.pipeline.stats();
        let mut delta = std::mem::take(&mut self.unrecorded);
        if !self.failed {
            delta.scored_micros +=
                scored_micros(busy, self.recorded_ts.or(self.earliest_ts), self.latest_ts);
        }
        self.recorded_ts = self.latest_ts;
        delta.records += stats.events - self.recorded_events;
        delta.rows_scored += stats.rows_scored - self.recorded_rows;
        self.recorded_events = stats.events;
        self.recorded_rows = stats.rows_scored;
        self.total_would_be += self.would_be.total();
        self.total_production += self.production.total();
        let mut fresh = Vec::new();
        self.would_be.drain_into(StagingSide::Staging, &mut fresh);
        self.production
            .drain_into(StagingSide::Production, &mut fresh);
        delta.counts = merge(std::mem::take(&mut delta.counts), fresh);
        delta.production_sha256 = self.production_sha256.clone();
        delta.at = crate::governance::now_micros();
        if delta.is_empty() {
            return;
        }
        if let Err(error) = (self.run.record)(&delta) {
            diag!(
                "warning: staging: the evidence of version {} was not recorded ({error}); it is kept and offered again",
                self.run.version_id
            );
            self.unrecorded = delta;
        }
    }

    /// The closing line.
    pub fn summary(&self) -> String {
        let stats = self.pipeline.stats();
        format!(
            "staging: version {} ({}) scored {} records beside production ({} rows by the forest): {} would-be alerts, production opened {} on the same records{}",
            self.run.version_id,
            self.run.model.sha256,
            stats.events,
            stats.rows_scored,
            self.total_would_be + self.would_be.total(),
            self.total_production + self.production.total(),
            if self.failed {
                " (the candidate stopped early)"
            } else {
                ""
            }
        )
    }
}

/// The time an interval that was busy for `elapsed` (wall-clock) counts toward the staging
/// period: at most the log time its records advanced, from the latest `ts` at the previous
/// recording (`from`; at the first recording, also the first after a restart, the interval's own
/// earliest record's, so the log time between the last recording before a restart and the first
/// record after it is lost, never added) to the latest now (`to`). Nothing taken, nothing counted.
fn scored_micros(elapsed: Duration, from: Option<f64>, to: Option<f64>) -> i64 {
    let wall = i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX);
    let (Some(from), Some(to)) = (from, to) else {
        return 0;
    };
    let advanced = to - from;
    if advanced.is_nan() || advanced <= 0.0 {
        return 0;
    }
    wall.min((advanced * 1e6) as i64)
}

/// Adds `fresh` counts into `kept` (the same key is one row).
fn merge(kept: Vec<StagingCount>, fresh: Vec<StagingCount>) -> Vec<StagingCount> {
    let mut all: BTreeMap<(String, StagingSide, String, String, String), u64> = BTreeMap::new();
    for count in kept.into_iter().chain(fresh) {
        *all.entry((
            count.day,
            count.side,
            count.detector,
            count.rule,
            count.severity,
        ))
        .or_default() += count.alerts;
    }
    all.into_iter()
        .map(
            |((day, side, detector, rule, severity), alerts)| StagingCount {
                day,
                side,
                detector,
                rule,
                severity,
                alerts,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_dates_of_log_time() {
        assert_eq!(utc_day(0.0), "1970-01-01");
        assert_eq!(utc_day(1_700_000_000.5), "2023-11-14");
        assert_eq!(utc_day(f64::NAN), "unknown");
        assert_eq!(utc_day(1e300), "unknown");
    }

    #[test]
    fn only_time_in_which_records_advanced_counts() {
        let minute = Duration::from_secs(60);
        // Nothing ever taken: nothing counts, however long the watch ran.
        assert_eq!(scored_micros(minute, None, None), 0);
        // Nothing new since the last recording: an idle interval.
        assert_eq!(scored_micros(minute, Some(100.0), Some(100.0)), 0);
        // Live traffic: a minute of records in a minute.
        assert_eq!(scored_micros(minute, Some(100.0), Some(160.0)), 60_000_000);
        // A trickle: one record 5 s on counts 5 s of the minute.
        assert_eq!(scored_micros(minute, Some(100.0), Some(105.0)), 5_000_000);
        // A replay: days of records in a minute count the minute.
        assert_eq!(
            scored_micros(minute, Some(0.0), Some(3.0 * 86_400.0)),
            60_000_000
        );
        // The first interval (after a start or a restart) counts from its own earliest record:
        // a replayed backlog of 5 s of log time counts 5 s, not the minute it took.
        assert_eq!(scored_micros(minute, Some(0.0), Some(5.0)), 5_000_000);
        // A first interval of one record advanced no log time.
        assert_eq!(scored_micros(minute, Some(7.0), Some(7.0)), 0);
    }

    #[test]
    fn a_refused_delta_is_merged_with_the_next() {
        let count = |alerts| StagingCount {
            day: "2026-01-01".into(),
            side: StagingSide::Staging,
            detector: "novelty".into(),
            rule: "new_source".into(),
            severity: "high".into(),
            alerts,
        };
        assert_eq!(merge(vec![count(2)], vec![count(3)]), vec![count(5)]);
    }
}
