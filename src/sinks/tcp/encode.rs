//! The wire format: the event's ECS JSON (an alert's, or a triage event's) and a newline per
//! event.

use crate::delivery::Record;

/// Appends the batch as JSON lines to `out`.
pub fn encode(records: &[Record], out: &mut Vec<u8>) {
    for record in records {
        out.extend_from_slice(record.event.to_json_line().as_bytes());
        out.push(b'\n');
    }
}
