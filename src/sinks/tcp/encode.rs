//! The wire format: the alert's ECS JSON and a newline per event.

use crate::alerts::ecs;
use crate::delivery::Record;

/// Appends the batch as JSON lines to `out`.
pub fn encode(records: &[Record], out: &mut Vec<u8>) {
    for record in records {
        out.extend_from_slice(ecs::to_json_line(&record.alert).as_bytes());
        out.push(b'\n');
    }
}
