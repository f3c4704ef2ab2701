//! Walking Zeek logs as feature events: the reading loop `train` and `score` share.
//!
//! It opens files and directories with the Zeek reader, decides each record's log kind from its
//! header's `#path` (or the file name, for JSON logs), adapts it to a [`FlowEvent`] and hands the
//! event on. Everything not turned into an event is counted, and unreadable lines are kept with
//! their file and line number, so the commands can report exactly what they used.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use zeek::{Header, LogFile, LogReader, ReadOptions, ZeekError};

use super::event::FlowEvent;
use super::from_zeek::{LogKind, Skip, ZeekAdapter};

/// How many unreadable records are kept with their message; the rest are counted.
const MAX_KEPT: usize = 20;

/// What a walk read and what it left out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WalkStats {
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// Records read from all files.
    pub records_read: u64,
    /// Records turned into events.
    pub events: u64,
    /// conn.log records that are not OT traffic.
    pub skipped_not_ot: u64,
    /// Records of logs the features do not use (dns.log, modbus_detailed.log, ...).
    pub skipped_other_logs: u64,
    /// Records whose `ts` was masked (test baselines).
    pub masked_time: u64,
    /// Lines the reader could not parse plus records a typed view could not read.
    pub parse_errors: u64,
    /// The first few of those, as `file:line: message`.
    pub errors: Vec<String>,
}

impl WalkStats {
    fn note_error(&mut self, message: String) {
        self.parse_errors += 1;
        if self.errors.len() < MAX_KEPT {
            self.errors.push(message);
        }
    }
}

/// Reads every record under `paths` and calls `visit` with each event, in reading order.
/// `progress` is called with the records read so far, every 64 Ki records.
pub fn walk<P: AsRef<Path>>(
    paths: &[P],
    options: &ReadOptions,
    progress: impl FnMut(u64),
    visit: impl FnMut(&FlowEvent<'_>),
) -> Result<WalkStats, ZeekError> {
    walk_files(zeek::discover(paths)?, options, progress, visit)
}

/// Like [`walk`], over files already discovered.
pub fn walk_files(
    files: Vec<LogFile>,
    options: &ReadOptions,
    mut progress: impl FnMut(u64),
    mut visit: impl FnMut(&FlowEvent<'_>),
) -> Result<WalkStats, ZeekError> {
    let mut reader = LogReader::from_files(files, options);
    let mut stats = WalkStats {
        files: reader
            .files()
            .iter()
            .map(|file| file.path.clone())
            .collect(),
        ..WalkStats::default()
    };
    let mut adapter = ZeekAdapter::new();
    let mut current: Option<(Arc<Header>, LogKind)> = None;
    while let Some(record) = reader.next_record()? {
        stats.records_read += 1;
        if stats.records_read.is_multiple_of(1 << 16) {
            progress(stats.records_read);
        }
        let header = record.header();
        let kind = match &current {
            Some((cached, kind)) if Arc::ptr_eq(cached, header) => *kind,
            _ => {
                let path = header
                    .path()
                    .map(str::to_owned)
                    .or_else(|| record.source().and_then(zeek::log_path_of))
                    .unwrap_or_default();
                let kind = LogKind::of_path(&path);
                current = Some((Arc::clone(header), kind));
                kind
            }
        };
        match adapter.with_event(kind, &record, &mut visit) {
            Ok(Ok(())) => stats.events += 1,
            Ok(Err(Skip::NotOt)) => stats.skipped_not_ot += 1,
            Ok(Err(Skip::OtherLog)) => stats.skipped_other_logs += 1,
            Ok(Err(Skip::MaskedTime)) => stats.masked_time += 1,
            Err(error) => {
                let location = match record.source() {
                    Some(file) => format!("{}:{}", file.display(), record.line_number()),
                    None => format!("line {}", record.line_number()),
                };
                stats.note_error(format!("{location}: {error}"));
            }
        }
    }
    let problems = reader.problems();
    stats.parse_errors += problems.total();
    for problem in problems.kept() {
        if stats.errors.len() < MAX_KEPT {
            stats.errors.push(problem.to_string());
        }
    }
    progress(stats.records_read);
    Ok(stats)
}
