//! Sources: where records come from. Today the Zeek file source (batch over files and
//! directories: `zeek_file`'s parallel walk for `train` and `score`, `by_file` file by file with
//! each file's outcome for `inspect`); `otsentry watch` follows Zeek as it writes with `zeek::follow` and
//! adapts its records with the same [`RecordAdapter`].
//!
//! A source yields every record it can read as a [`crate::features::FlowEvent`], tagged by the
//! OT selection: OT is a tag, not a deletion, because attacks on OT networks often arrive in IT
//! protocols that touch OT assets. Which records reach the detectors is the pipeline's decision.
//!
//! **Architecture invariant:** a source never drops a record silently: what it does not turn into
//! an event (other logs, masked times, unreadable lines) is counted, and unreadable lines are
//! kept with their location.

pub mod by_file;
pub mod zeek_file;

use zeek::ReadOptions;

use crate::ot::OtSelector;
pub use by_file::{FileOutcome, read_by_file};
pub use zeek_file::{RecordAdapter, SourceStats, walk, walk_blocks, walk_file_blocks, walk_files};

/// How a source reads: the reader's options (strictness, `--fields` for header-less logs) and
/// the OT selection that tags each record.
#[derive(Clone, Debug, Default)]
pub struct SourceOptions {
    pub read: ReadOptions,
    pub ot: OtSelector,
}
