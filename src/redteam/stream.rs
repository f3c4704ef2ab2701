//! The streaming and tallying every certification test shares: a fresh pipeline (the one `score`
//! runs, with the model's detectors) fed synthetic events, and a sink that counts, per detector
//! and combined, the flagged rows, the alerts opened and the log time of the first of each.
//! The slow-drift test, the register drift and the scenario tests all score through it, so they
//! judge the same detectors in the same way.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::alerts::{Alert, AlertState};
use crate::detect::Finding;
use crate::features::FlowEvent;
use crate::model::LoadedModel;
use crate::pipeline::{Pipeline, PipelineConfig, PipelineError, RowOutput};
use crate::sinks::{Sink, SinkError};

const DAY_SECS: f64 = 86_400.0;

/// The log time a test starts at: the UTC midnight a day after training ended, so nothing
/// overlaps the baseline.
pub fn test_start(model: &LoadedModel) -> f64 {
    (model.file.manifest.window.end / DAY_SECS).ceil() * DAY_SECS + DAY_SECS
}

/// A count and the log time of the first one.
pub type Hits = (u64, Option<f64>);

/// Counts, per detector, the flagged rows and opened alerts, and the first one's time.
#[derive(Debug, Default)]
pub struct Tally {
    pub start_ts: f64,
    /// Flagged rows per detector (a row counts once per detector that found something on it).
    pub by_detector: BTreeMap<String, Hits>,
    /// Rows with any finding.
    pub combined: Hits,
    /// Alerts opened per detector; value records give alerts but no rows.
    pub alerts: BTreeMap<String, Hits>,
    /// `detector.rule` of the earliest finding (row or alert) and its log time.
    pub first: Option<(f64, String)>,
}

impl Tally {
    fn hit(entry: &mut Hits, ts: f64) {
        entry.0 += 1;
        entry.1.get_or_insert(ts);
    }

    /// Keeps `detector.rule` as the first finding when it is earlier than the one kept; the
    /// name is only formatted then (a drift flags most polls, in log order).
    fn first_seen(&mut self, ts: f64, detector: &str, rule: &str) {
        if self.first.as_ref().is_none_or(|(first, _)| ts < *first) {
            self.first = Some((ts, format!("{detector}.{rule}")));
        }
    }

    /// Rows flagged by `detector`, with alerts as the count when it flags no rows (values).
    pub fn of(&self, detector: &str) -> Hits {
        self.by_detector
            .get(detector)
            .or_else(|| self.alerts.get(detector))
            .copied()
            .unwrap_or_default()
    }

    /// The detectors that found anything, in the order of their first finding.
    pub fn detectors_by_time(&self) -> Vec<String> {
        let mut firsts: BTreeMap<String, f64> = BTreeMap::new();
        for (name, (_, first)) in self.by_detector.iter().chain(self.alerts.iter()) {
            if let Some(ts) = first {
                let entry = firsts.entry(name.clone()).or_insert(*ts);
                *entry = entry.min(*ts);
            }
        }
        let mut names: Vec<(String, f64)> = firsts.into_iter().collect();
        names.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        names.into_iter().map(|(name, _)| name).collect()
    }
}

impl Sink for Tally {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        if alert.state == AlertState::Open {
            hit_in(&mut self.alerts, &alert.detector, alert.first_seen);
            self.first_seen(alert.first_seen, &alert.detector, &alert.rule);
        }
        Ok(())
    }

    fn findings(&mut self, ts: f64, findings: &[Finding]) -> Result<(), SinkError> {
        for (index, finding) in findings.iter().enumerate() {
            // A row counts once per detector, however many of its rules fired.
            if findings[..index]
                .iter()
                .all(|earlier| earlier.detector != finding.detector)
            {
                hit_in(&mut self.by_detector, finding.detector, ts);
            }
        }
        if let Some(finding) = findings.first() {
            Tally::hit(&mut self.combined, ts);
            self.first_seen(ts, finding.detector, finding.rule);
        }
        Ok(())
    }
}

/// Counts a hit of `detector`, looked up before inserting so a counted row allocates nothing.
fn hit_in(map: &mut BTreeMap<String, Hits>, detector: &str, ts: f64) {
    match map.get_mut(detector) {
        Some(entry) => Tally::hit(entry, ts),
        None => Tally::hit(map.entry(detector.to_string()).or_default(), ts),
    }
}

/// A fresh pipeline over the model and the tally of what it finds.
pub struct Stream {
    pipeline: Pipeline,
    tally: Tally,
}

impl Stream {
    /// `threshold` is the forest's (None: the model's calibrated one); `start_ts` is the log
    /// time the test starts at, kept in the tally.
    pub fn new(
        model: &Arc<LoadedModel>,
        threshold: Option<f64>,
        batch_rows: usize,
        start_ts: f64,
    ) -> Stream {
        let pipeline = Pipeline::new(
            Arc::clone(model),
            PipelineConfig {
                threshold,
                batch_rows,
                rows: RowOutput::Findings,
                ..PipelineConfig::default()
            },
        );
        Stream {
            pipeline,
            tally: Tally {
                start_ts,
                ..Tally::default()
            },
        }
    }

    /// The detectors the pipeline runs, the forest last.
    pub fn detector_names(&self) -> Vec<&'static str> {
        self.pipeline.detector_names()
    }

    pub fn push(&mut self, event: &FlowEvent<'_>) -> Result<(), PipelineError> {
        self.pipeline.push(event, &mut self.tally)
    }

    /// Flushes, closes every alert and returns the tally.
    pub fn finish(mut self) -> Result<Tally, PipelineError> {
        self.pipeline.finish(&mut self.tally)?;
        Ok(self.tally)
    }
}
