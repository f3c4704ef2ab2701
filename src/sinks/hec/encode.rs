//! The wire format: one HEC event object per alert (`time` in epoch seconds of log time,
//! `sourcetype` `otsentry:alert`, the ECS form as `event`), concatenated as HEC takes a batch.

use serde::Serialize;

use crate::alerts::ecs::EcsAlert;
use crate::delivery::Record;

#[derive(Serialize)]
struct HecEvent<'a> {
    time: f64,
    source: &'static str,
    sourcetype: &'static str,
    event: EcsAlert<'a>,
}

/// One event object.
pub fn event_of(record: &Record) -> String {
    serde_json::to_string(&HecEvent {
        time: (record.alert.first_seen * 1000.0).round() / 1000.0,
        source: "otsentry",
        sourcetype: "otsentry:alert",
        event: EcsAlert::of(&record.alert),
    })
    .unwrap_or_default()
}

/// The body of one POST: the events one after another, newline-separated.
pub fn encode(records: &[Record], out: &mut Vec<u8>) {
    for record in records {
        out.extend_from_slice(event_of(record).as_bytes());
        out.push(b'\n');
    }
}
