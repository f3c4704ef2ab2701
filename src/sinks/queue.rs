//! The governance alert queue: every alert, when it opens, stored in the governance database
//! through the detectors' AI handle ([`AiAlertWriter`]), so the policy decides whether the
//! detectors may write alerts at all and every stored alert is an entry of the audit log.
//!
//! The stored row is the alert's stored form ([`stored_form`]), keyed by the pipeline's stable
//! alert id: an alert already in the queue (a second run over the same logs, a watch resumed
//! after a crash) is refused by the store as a conflict and counted here, not stored twice. An
//! alert's closing event (its final count) is not stored again: the queue holds what an analyst
//! decides on, once per alert; the SIEM events carry the counts.

use crate::alerts::{Alert, AlertState, stored_form};
use crate::governance::{AiAlertWriter, GovernanceError};
use crate::store::SqliteStore;

use super::{Sink, SinkError};

/// The sink's name in errors.
const NAME: &str = "the governance alert queue";

/// Stores opened alerts through an AI handle, on a runtime of its own (the pipeline is
/// synchronous; the store is not).
pub struct AlertQueue {
    runtime: tokio::runtime::Runtime,
    writer: AiAlertWriter<SqliteStore>,
    stored: u64,
    already_stored: u64,
}

impl AlertQueue {
    pub fn new(runtime: tokio::runtime::Runtime, writer: AiAlertWriter<SqliteStore>) -> AlertQueue {
        AlertQueue {
            runtime,
            writer,
            stored: 0,
            already_stored: 0,
        }
    }

    /// Alerts stored so far.
    pub fn stored(&self) -> u64 {
        self.stored
    }

    /// Alerts the queue already held under their stable id, so not stored again.
    pub fn already_stored(&self) -> u64 {
        self.already_stored
    }
}

impl Sink for AlertQueue {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        if alert.state != AlertState::Open {
            return Ok(());
        }
        match self
            .runtime
            .block_on(self.writer.create_alert(stored_form(alert)))
        {
            Ok(_) => self.stored += 1,
            Err(GovernanceError::Conflict(_)) => self.already_stored += 1,
            Err(error) => {
                return Err(SinkError::Other {
                    sink: NAME,
                    message: format!("alert {} was not stored: {error}", alert.id),
                });
            }
        }
        Ok(())
    }
}
