//! Sinks: where alerts go. The console (a table for people, ECS JSON lines, CSV, or per-row
//! output) and the governance alert queue; the SIEM outputs (`tcp`, `syslog`, `hec`, `file`, one
//! folder each with the same files) are driven by `crate::delivery` from its durable spool.
//!
//! A sink receives every alert event the pipeline emits, in order: an alert when it opens, and
//! again under the same id when it closes with more than one finding. Row output (`--format
//! rows`) is for people who want every flagged row rather than alerts.
//!
//! **Architecture invariant:** a sink never drops an alert silently: a failure is returned to the
//! driver, which decides (the console stops; a SIEM sink spools).

pub mod console;
pub mod file;
pub mod hec;
pub mod queue;
pub mod sample;
pub mod syslog;
pub mod tcp;

use std::net::IpAddr;

use serde::Serialize;
use thiserror::Error;

use crate::alerts::{Alert, ecs};
use crate::detect::Finding;
use crate::triage::TriageEvent;

/// One scored row, as `--format rows` prints it.
#[derive(Clone, Debug, Serialize)]
pub struct RowRecord {
    pub ts: f64,
    pub uid: String,
    #[serde(rename = "id.orig_h")]
    pub orig_h: IpAddr,
    #[serde(rename = "id.orig_p")]
    pub orig_p: u16,
    #[serde(rename = "id.resp_h")]
    pub resp_h: IpAddr,
    #[serde(rename = "id.resp_p")]
    pub resp_p: u16,
    pub proto: &'static str,
    pub service: String,
    /// `conn` or `request`.
    pub record: &'static str,
    /// True when the record is OT traffic itself (false: it touches an OT asset).
    pub ot: bool,
    /// The decision value: score_samples - offset; negative is anomalous. NaN when not scored.
    pub anomaly_score: f64,
    pub score_samples: f64,
    /// True when a detector found something on the row.
    pub flagged: bool,
    /// `detector.rule` of every finding on the row.
    pub findings: Vec<String>,
    pub reasons: Vec<String>,
}

/// Why a sink could not take an event.
#[derive(Debug, Error)]
pub enum SinkError {
    #[error("cannot write to {sink}: {source}")]
    Io {
        sink: &'static str,
        source: std::io::Error,
    },
    #[error("{sink}: {message}")]
    Other { sink: &'static str, message: String },
}

impl SinkError {
    /// True when the error is a closed pipe (`otsentry score | head`): a reader that stopped
    /// reading is not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, SinkError::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// One event a SIEM receives: an alert, or a triage event (advice, a draft) beside one.
#[derive(Clone, Debug, PartialEq)]
pub enum SiemEvent {
    Alert(Alert),
    Triage(TriageEvent),
}

impl SiemEvent {
    /// The event's ECS form as one line of JSON (no newline).
    pub fn to_json_line(&self) -> String {
        match self {
            SiemEvent::Alert(alert) => ecs::to_json_line(alert),
            SiemEvent::Triage(event) => event.to_json_line(),
        }
    }

    /// The event's stable id (ECS `event.id`).
    pub fn id(&self) -> &str {
        match self {
            SiemEvent::Alert(alert) => &alert.id,
            SiemEvent::Triage(event) => &event.id,
        }
    }
}

/// Takes alert events (and, if asked for, rows) from the pipeline.
pub trait Sink {
    /// Takes one alert event.
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError>;

    /// Takes one triage event, always after the alert it belongs to; sinks that are not for
    /// SIEMs ignore it.
    fn triage(&mut self, _event: &TriageEvent) -> Result<(), SinkError> {
        Ok(())
    }

    /// Takes one row; only called when the pipeline is asked for rows.
    fn row(&mut self, _row: &RowRecord) -> Result<(), SinkError> {
        Ok(())
    }

    /// Takes the findings on one flagged row and its log time; only called when the pipeline is
    /// asked for findings (`RowOutput::Findings`), in place of `row`.
    fn findings(&mut self, _ts: f64, _findings: &[Finding]) -> Result<(), SinkError> {
        Ok(())
    }

    /// Makes everything taken so far durable (written out and synced, or in the spool): after
    /// it returns, a checkpoint that covers those alerts may be written.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

/// A sink that keeps everything in memory (the demo, tests, certification).
#[derive(Clone, Debug, Default)]
pub struct Collect {
    pub alerts: Vec<Alert>,
    pub rows: Vec<RowRecord>,
}

impl Sink for Collect {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.alerts.push(alert.clone());
        Ok(())
    }

    fn row(&mut self, row: &RowRecord) -> Result<(), SinkError> {
        self.rows.push(row.clone());
        Ok(())
    }
}

/// Several sinks at once, in order; the first failure stops the event.
pub struct Fanout<'a>(pub Vec<&'a mut dyn Sink>);

impl Sink for Fanout<'_> {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.0.iter_mut().try_for_each(|sink| sink.alert(alert))
    }

    fn triage(&mut self, event: &TriageEvent) -> Result<(), SinkError> {
        self.0.iter_mut().try_for_each(|sink| sink.triage(event))
    }

    fn row(&mut self, row: &RowRecord) -> Result<(), SinkError> {
        self.0.iter_mut().try_for_each(|sink| sink.row(row))
    }

    fn findings(&mut self, ts: f64, findings: &[Finding]) -> Result<(), SinkError> {
        self.0
            .iter_mut()
            .try_for_each(|sink| sink.findings(ts, findings))
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.0.iter_mut().try_for_each(|sink| sink.flush())
    }
}
