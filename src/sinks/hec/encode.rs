//! The wire format: one HEC event object per alert (`time` in epoch seconds of log time,
//! `sourcetype` `otsentry:alert`, the ECS form as `event`), concatenated as HEC takes a batch.
//! A triage event is `sourcetype` `otsentry:triage` with its ECS form and no `time`, so that
//! HEC stamps it on arrival (it has no log time of its own).

use serde::Serialize;

use crate::alerts::ecs::EcsAlert;
use crate::delivery::Record;
use crate::sinks::SiemEvent;

#[derive(Serialize)]
struct HecEvent<E> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<f64>,
    source: &'static str,
    sourcetype: &'static str,
    event: E,
}

/// One event object.
pub fn event_of(record: &Record) -> String {
    match &record.event {
        SiemEvent::Alert(alert) => serde_json::to_string(&HecEvent {
            time: Some((alert.first_seen * 1000.0).round() / 1000.0),
            source: "otsentry",
            sourcetype: "otsentry:alert",
            event: EcsAlert::of(alert),
        }),
        SiemEvent::Triage(event) => serde_json::to_string(&HecEvent {
            time: None,
            source: "otsentry",
            sourcetype: "otsentry:triage",
            event: event.ecs(),
        }),
    }
    .unwrap_or_default()
}

/// The body of one POST: the events one after another, newline-separated.
pub fn encode(records: &[Record], out: &mut Vec<u8>) {
    for record in records {
        out.extend_from_slice(event_of(record).as_bytes());
        out.push(b'\n');
    }
}
