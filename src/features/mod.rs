//! Turning log records into feature rows: events, vocabularies, the per-edge state machine.
//!
//! The module owns everything between a parsed record and the numbers a forest sees. Records
//! become borrowed [`FlowEvent`]s (see `from_zeek`), an [`Extractor`] per [`Schema`] interns their
//! keys and keeps per-edge state, and [`Extractor::encode`] maps a row through the training
//! [`Vocab`]. docs/model.md explains the feature choices.
//!
//! **Architecture invariant:** nothing here reads the clock or re-fits at scoring time; the same
//! events in the same order give the same rows, in batch or live.

pub mod event;
pub mod event_block;
pub mod extract;
pub mod from_zeek;
pub mod functions;
pub mod intern;
pub mod schema;
pub mod state;
pub mod vocab;

pub use event::{
    ConnFields, ControlFields, Direction, EdgeRef, EventKind, FlowEvent, Proto, RequestFields,
    ValueFields,
};
pub use extract::{Extractor, RawRow};
pub use schema::{FeatureRanges, MAX_WIDTH, Schema};
pub use vocab::Vocab;

/// Which schema an event belongs to; `None` for value and control records, which feed no forest.
pub fn schema_of(event: &FlowEvent<'_>) -> Option<Schema> {
    match event.kind {
        EventKind::Conn(_) => Some(Schema::Conn),
        EventKind::Request(_) => Some(Schema::Request),
        EventKind::Values(_) | EventKind::Control(_) => None,
    }
}

#[cfg(test)]
mod tests;
