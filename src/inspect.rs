//! `otsentry inspect`: a summary of any set of Zeek logs: the files (format, compression, log
//! path, record count, errors), records by log path and by conn.log service, OT records (by the
//! [`crate::ot`] selection), the time span, and the problems met with their locations.
//!
//! This module computes the summary; `cli::inspect` prints it as a table or JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use zeek::{
    Compression, FileReader, Format, Header, LogFile, Problem, ReadOptions, Record, Timestamp,
    ZeekError,
};

use crate::ot::OtSelector;

/// What to read and how.
#[derive(Debug, Clone)]
pub struct InspectOptions {
    /// Stop at the first malformed line (the whole inspection fails with its location).
    pub strict: bool,
    /// Column names for header-less (zeek-cut) input.
    pub fields: Option<Vec<String>>,
    /// How many problems to list with their locations (all are counted).
    pub max_problems_listed: usize,
    /// The OT selection.
    pub ot: OtSelector,
}

impl Default for InspectOptions {
    fn default() -> InspectOptions {
        InspectOptions {
            strict: false,
            fields: None,
            max_problems_listed: 20,
            ot: OtSelector::default(),
        }
    }
}

/// One file's summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileSummary {
    pub path: PathBuf,
    /// The `#path` of its (first) header, or the name the file suggests.
    pub log_path: String,
    /// `None` when the file could not be read far enough to tell.
    pub format: Option<Format>,
    pub compression: Option<Compression>,
    pub records: u64,
    pub problems: u64,
    /// Why reading stopped, if it did.
    pub error: Option<String>,
}

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
    log_path: String,
    ts: Option<usize>,
    service: Option<usize>,
    resp_p: Option<usize>,
}

impl InspectColumns {
    fn resolve(header: &Arc<Header>, file: &LogFile) -> InspectColumns {
        InspectColumns {
            header: Arc::clone(header),
            log_path: header
                .path()
                .map_or_else(|| file.log_path.clone(), str::to_owned),
            ts: header.index("ts"),
            service: header.index("service"),
            resp_p: header.index("id.resp_p"),
        }
    }
}

/// Accumulates the summary record by record.
struct Tally<'o> {
    options: &'o InspectOptions,
    summary: Summary,
}

impl Tally<'_> {
    fn record(&mut self, columns: &InspectColumns, record: &Record<'_>) {
        let summary = &mut self.summary;
        summary.records += 1;
        bump(&mut summary.records_by_log_path, &columns.log_path);
        if let Some(Ok(Some(timestamp))) = columns.ts.map(|idx| record.parse_time(idx)) {
            summary.time_span.add(timestamp);
        }
        let mut services: Vec<String> = columns
            .service
            .map(|idx| record.set(idx).map(|item| item.into_owned()).collect())
            .unwrap_or_default();
        if columns.log_path == "conn" {
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
        if let Some(reason) = self
            .options
            .ot
            .classify(&columns.log_path, &services, resp_p)
        {
            summary.ot_records += 1;
            *summary
                .ot_records_by_reason
                .entry(reason.to_string())
                .or_default() += 1;
        }
    }

    fn problems(&mut self, reader: &FileReader) {
        let problems = reader.problems();
        self.summary.problem_count += problems.total();
        for problem in problems.kept() {
            if self.summary.problems.len() < self.options.max_problems_listed {
                self.summary.problems.push(problem.clone());
            }
        }
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
    let files = zeek::discover(paths)?;
    let read_options = ReadOptions {
        strict: options.strict,
        fields: options.fields.clone(),
        max_problems_kept: options.max_problems_listed,
        ..ReadOptions::default()
    };
    let mut tally = Tally {
        options,
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
    };
    for file in &files {
        let file_summary = inspect_file(file, &read_options, &mut tally)?;
        if file_summary.error.is_some() {
            tally.summary.files_with_errors += 1;
        }
        on_file(&file_summary);
        tally.summary.files.push(file_summary);
    }
    Ok(tally.summary)
}

fn inspect_file(
    file: &LogFile,
    read_options: &ReadOptions,
    tally: &mut Tally<'_>,
) -> Result<FileSummary, ZeekError> {
    let mut file_summary = FileSummary {
        path: file.path.clone(),
        log_path: file.log_path.clone(),
        format: None,
        compression: None,
        records: 0,
        problems: 0,
        error: None,
    };
    let mut reader = match FileReader::open(&file.path, read_options) {
        Ok(reader) => reader,
        Err(error) => {
            file_summary.error = Some(error.to_string());
            return Ok(file_summary);
        }
    };
    let mut columns: Option<InspectColumns> = None;
    let outcome = loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                let stale = !columns
                    .as_ref()
                    .is_some_and(|columns| Arc::ptr_eq(&columns.header, record.header()));
                if stale {
                    columns = Some(InspectColumns::resolve(record.header(), file));
                }
                if let Some(columns) = &columns {
                    if file_summary.records == 0 {
                        file_summary.log_path.clone_from(&columns.log_path);
                    }
                    tally.record(columns, &record);
                }
                file_summary.records += 1;
            }
            Ok(None) => break Ok(()),
            Err(error @ ZeekError::Strict(_)) => return Err(error),
            Err(error) => break Err(error),
        }
    };
    file_summary.format = reader.format();
    file_summary.compression = Some(reader.compression());
    file_summary.problems = reader.problems().total();
    tally.problems(&reader);
    if let Err(error) = outcome {
        file_summary.error = Some(error.to_string());
    }
    Ok(file_summary)
}
