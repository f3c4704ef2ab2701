//! The Zeek file source read file by file, with each file's outcome: its format, compression,
//! records, malformed lines and why reading it stopped. `inspect` reads this way, where what
//! each file holds matters more than speed; `train` and `score` take the parallel walk
//! ([`super::walk`]). Both open files with the same [`SourceOptions`] (strictness, `--fields`),
//! so a file reads the same whichever command reads it.
//!
//! A file that cannot be opened or stops early is reported in its outcome and reading goes on
//! with the next file; only strict mode's first malformed line stops everything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use zeek::{
    Compression, FileReader, Format, Header, LogFile, Problem, ReadOptions, Record, ZeekError,
};

use super::SourceOptions;

/// What reading one file gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileOutcome {
    pub path: PathBuf,
    /// The `#path` of its (first) header, or the name the file suggests.
    pub log_path: String,
    /// `None` when the file could not be read far enough to tell.
    pub format: Option<Format>,
    pub compression: Option<Compression>,
    pub records: u64,
    /// Malformed lines, counted.
    pub problems: u64,
    /// Why reading stopped, if it did.
    pub error: Option<String>,
}

/// Reads every file under `paths` in order. `visit` sees each record with its file and the log
/// path its header names; `done` sees each file's outcome and the first `keep_problems`
/// malformed lines of that file, located. Fails when a path is missing, a directory holds no
/// logs, or (in strict mode) at the first malformed line.
pub fn read_by_file<P: AsRef<Path>>(
    paths: &[P],
    options: &SourceOptions,
    keep_problems: usize,
    mut visit: impl FnMut(&str, &Record<'_>),
    mut done: impl FnMut(FileOutcome, &[Problem]),
) -> Result<(), ZeekError> {
    let read = ReadOptions {
        max_problems_kept: keep_problems,
        ..options.read.clone()
    };
    for file in &zeek::discover(paths)? {
        read_file(file, &read, &mut visit, &mut done)?;
    }
    Ok(())
}

fn read_file(
    file: &LogFile,
    read: &ReadOptions,
    visit: &mut impl FnMut(&str, &Record<'_>),
    done: &mut impl FnMut(FileOutcome, &[Problem]),
) -> Result<(), ZeekError> {
    let mut outcome = FileOutcome {
        path: file.path.clone(),
        log_path: file.log_path.clone(),
        format: None,
        compression: None,
        records: 0,
        problems: 0,
        error: None,
    };
    let mut reader = match FileReader::open(&file.path, read) {
        Ok(reader) => reader,
        Err(error) => {
            outcome.error = Some(error.to_string());
            done(outcome, &[]);
            return Ok(());
        }
    };
    // The log path of the header in force, looked up again only when the header changes.
    let mut current: Option<(Arc<Header>, String)> = None;
    let stopped = loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                let stale = !current
                    .as_ref()
                    .is_some_and(|(header, _)| Arc::ptr_eq(header, record.header()));
                if stale {
                    let log_path = record
                        .header()
                        .path()
                        .map_or_else(|| file.log_path.clone(), str::to_owned);
                    current = Some((Arc::clone(record.header()), log_path));
                }
                if let Some((_, log_path)) = &current {
                    if outcome.records == 0 {
                        outcome.log_path.clone_from(log_path);
                    }
                    visit(log_path, &record);
                }
                outcome.records += 1;
            }
            Ok(None) => break None,
            Err(error @ ZeekError::Strict(_)) => return Err(error),
            Err(error) => break Some(error),
        }
    };
    outcome.format = reader.format();
    outcome.compression = Some(reader.compression());
    outcome.problems = reader.problems().total();
    outcome.error = stopped.map(|error| error.to_string());
    done(outcome, reader.problems().kept());
    Ok(())
}
