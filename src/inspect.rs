//! `otsentry inspect`: a summary of any set of Zeek logs: the files (format, compression, log
//! path, record count, errors), records by log path and by conn.log service, OT records (by the
//! [`crate::ot`] selection), the time span, and the problems met with their locations.
//!
//! This module computes the summary; `cli::inspect` prints it as a table or JSON.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use zeek::{Header, Problem, Record, Timestamp, ZeekError};

use crate::sources::{FileOutcome, SourceOptions, read_by_file};

/// What to read and how.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// How the source reads (strictness, `--fields` for header-less input) and the OT selection,
    /// the same as `train` and `score` read with.
    pub source: SourceOptions,
    /// How many problems to list with their locations (all are counted).
    pub max_problems_listed: usize,
}

impl Default for InspectOptions {
    fn default() -> InspectOptions {
        InspectOptions {
            source: SourceOptions::default(),
            max_problems_listed: 20,
        }
    }
}

/// One file's summary: the source's outcome for it.
pub type FileSummary = FileOutcome;

/// The time covered by the records read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct TimeSpan {
    /// The earliest real timestamp.
    pub first: Option<Timestamp>,
    /// The latest real timestamp.
    pub last: Option<Timestamp>,
    /// Records whose timestamp a test baseline masked (`XXXXXXXXXX.XXXXXX`).
    pub masked_records: u64,
}

impl TimeSpan {
    fn add(&mut self, timestamp: Timestamp) {
        match timestamp {
            Timestamp::Masked => self.masked_records += 1,
            Timestamp::Micros(_) => {
                self.first = Some(self.first.map_or(timestamp, |first| first.min(timestamp)));
                self.last = Some(self.last.map_or(timestamp, |last| last.max(timestamp)));
            }
        }
    }
}

/// Everything `inspect` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub files: Vec<FileSummary>,
    pub records: u64,
    /// Records per log path (`conn`, `modbus`, ...).
    pub records_by_log_path: BTreeMap<String, u64>,
    /// conn.log records per `service` set, items sorted (`cotp,s7comm`); `-` when unset.
    pub records_by_service: BTreeMap<String, u64>,
    /// Records selected as OT.
    pub ot_records: u64,
    /// OT records per reason (`service modbus`, `port 102`, `modbus.log`).
    pub ot_records_by_reason: BTreeMap<String, u64>,
    pub time_span: TimeSpan,
    /// Malformed lines, in total.
    pub problem_count: u64,
    /// The first malformed lines, with file and line.
    pub problems: Vec<Problem>,
    /// Files that could not be read (also marked in `files`).
    pub files_with_errors: u64,
}

/// Columns `inspect` looks at, resolved once per header.
struct InspectColumns {
    header: Arc<Header>,
    ts: Option<usize>,
    service: Option<usize>,
    resp_p: Option<usize>,
}

impl InspectColumns {
    fn resolve(header: &Arc<Header>) -> InspectColumns {
        InspectColumns {
            header: Arc::clone(header),
            ts: header.index("ts"),
            service: header.index("service"),
            resp_p: header.index("id.resp_p"),
        }
    }
}

/// Accumulates the summary record by record.
struct Tally<'o> {
    options: &'o InspectOptions,
    columns: Option<InspectColumns>,
    summary: Summary,
}

impl Tally<'_> {
    fn record(&mut self, log_path: &str, record: &Record<'_>) {
        let stale = !self
            .columns
            .as_ref()
            .is_some_and(|columns| Arc::ptr_eq(&columns.header, record.header()));
        if stale {
            self.columns = Some(InspectColumns::resolve(record.header()));
        }
        let Some(columns) = &self.columns else {
            return;
        };
        let summary = &mut self.summary;
        summary.records += 1;
        bump(&mut summary.records_by_log_path, log_path);
        if let Some(Ok(Some(timestamp))) = columns.ts.map(|idx| record.parse_time(idx)) {
            summary.time_span.add(timestamp);
        }
        let mut services: Vec<String> = columns
            .service
            .map(|idx| record.set(idx).map(|item| item.into_owned()).collect())
            .unwrap_or_default();
        if log_path == "conn" {
            services.sort();
            let label = if services.is_empty() {
                "-".to_owned()
            } else {
                services.join(",")
            };
            bump(&mut summary.records_by_service, &label);
        }
        let resp_p = columns
            .resp_p
            .and_then(|idx| record.parse_port(idx).ok().flatten());
        if let Some(reason) = self.options.source.ot.classify(log_path, &services, resp_p) {
            summary.ot_records += 1;
            *summary
                .ot_records_by_reason
                .entry(reason.to_string())
                .or_default() += 1;
        }
    }

    fn file(&mut self, file: FileSummary, problems: &[Problem]) {
        self.summary.problem_count += file.problems;
        for problem in problems {
            if self.summary.problems.len() < self.options.max_problems_listed {
                self.summary.problems.push(problem.clone());
            }
        }
        if file.error.is_some() {
            self.summary.files_with_errors += 1;
        }
        self.summary.files.push(file);
    }
}

/// Counts one more under `key`, allocating the key only the first time.
fn bump(counts: &mut BTreeMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            counts.insert(key.to_owned(), 1);
        }
    }
}

/// Summarises the logs under `paths` (files or directories). `on_file` is called after each
/// file, for progress. Fails when a path is missing, a directory holds no logs, or (in strict
/// mode) at the first malformed line; other per-file errors are reported in the summary.
pub fn inspect<P: AsRef<Path>>(
    paths: &[P],
    options: &InspectOptions,
    mut on_file: impl FnMut(&FileSummary),
) -> Result<Summary, ZeekError> {
    let tally = std::cell::RefCell::new(Tally {
        options,
        columns: None,
        summary: Summary {
            files: Vec::new(),
            records: 0,
            records_by_log_path: BTreeMap::new(),
            records_by_service: BTreeMap::new(),
            ot_records: 0,
            ot_records_by_reason: BTreeMap::new(),
            time_span: TimeSpan::default(),
            problem_count: 0,
            problems: Vec::new(),
            files_with_errors: 0,
        },
    });
    read_by_file(
        paths,
        &options.source,
        options.max_problems_listed,
        |log_path, record| tally.borrow_mut().record(log_path, record),
        |file, problems| {
            on_file(&file);
            tally.borrow_mut().file(file, problems);
        },
    )?;
    Ok(tally.into_inner().summary)
}
