//! The governance alert queue: every alert, when it opens, stored in the governance database
//! through the detectors' AI handle ([`AiAlertWriter`]), so the policy decides whether the
//! detectors may write alerts at all and every stored alert is an entry of the audit log.
//!
//! The stored row is a view of the [`Alert`] (as the ECS line is another): log time of the
//! first record, both ends, the score, every reason, the asset context and the first suggested
//! technique. An alert's closing event (its final count) is not stored again: the queue holds
//! what an analyst decides on, once per alert; the SIEM events carry the counts.

use crate::alerts::{Alert, AlertState};
use crate::detect::Severity;
use crate::governance::AiAlertWriter;
use crate::store::{NewAlert, Severity as StoredSeverity, SqliteStore};

use super::{Sink, SinkError};

/// The sink's name in errors.
const NAME: &str = "the governance alert queue";

/// Stores opened alerts through an AI handle, on a runtime of its own (the pipeline is
/// synchronous; the store is not).
pub struct AlertQueue {
    runtime: tokio::runtime::Runtime,
    writer: AiAlertWriter<SqliteStore>,
    stored: u64,
}

impl AlertQueue {
    pub fn new(runtime: tokio::runtime::Runtime, writer: AiAlertWriter<SqliteStore>) -> AlertQueue {
        AlertQueue {
            runtime,
            writer,
            stored: 0,
        }
    }

    /// Alerts stored so far.
    pub fn stored(&self) -> u64 {
        self.stored
    }
}

impl Sink for AlertQueue {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        if alert.state != AlertState::Open {
            return Ok(());
        }
        self.runtime
            .block_on(self.writer.create_alert(stored_form(alert)))
            .map_err(|error| SinkError::Other {
                sink: NAME,
                message: format!("alert {} was not stored: {error}", alert.id),
            })?;
        self.stored += 1;
        Ok(())
    }
}

/// The row the alert queue stores for `alert`.
pub fn stored_form(alert: &Alert) -> NewAlert {
    let seen = &alert.seen;
    let asset_context = alert
        .assets
        .as_ref()
        .and_then(|ends| serde_json::to_value(ends).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
    NewAlert {
        ts: (alert.first_seen * 1e6).round() as i64,
        uid: alert
            .uids
            .first()
            .cloned()
            .or_else(|| Some(seen.uid.clone())),
        src: seen.src.to_string(),
        dst: seen.dst.to_string(),
        port: Some(seen.dst_port),
        protocol: Some(seen.transport.clone()),
        service: Some(seen.service.clone()),
        // The forest's decision value where the forest scored the record; 0 for findings of
        // the deterministic detectors, which have no score.
        score: alert
            .scores
            .as_ref()
            .map(|scores| scores.anomaly_score)
            .filter(|score| score.is_finite())
            .unwrap_or(0.0),
        reasons: std::iter::once(alert.title.clone())
            .chain(alert.reasons.iter().map(ToString::to_string))
            .collect(),
        asset_context,
        attack_technique: alert.techniques.first().cloned(),
        detector: format!("{}.{}", alert.detector, alert.rule),
        severity: match alert.severity {
            Severity::Low => StoredSeverity::Low,
            Severity::Medium => StoredSeverity::Medium,
            Severity::High => StoredSeverity::High,
            Severity::Critical => StoredSeverity::Critical,
        },
    }
}
