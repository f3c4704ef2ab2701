//! The Zeek file source: reads log files and directories (batch) as events, the reading path
//! `train`, `score` and the demo share.
//!
//! It opens files and directories with the Zeek reader, decides each record's log kind from its
//! header's `#path` (or the file name, for JSON logs), adapts it to a [`FlowEvent`] tagged by the
//! OT selection and hands the event on. Decoding runs on other threads; the events arrive in
//! reading order. Nothing is dropped silently: records not turned into an event are counted, and
//! unreadable lines are kept with their file and line number, so the commands can report exactly
//! what they used.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Serialize;
use zeek::{Header, LogFile, Parallelism, Record, ZeekError};

use super::SourceOptions;
use crate::features::FlowEvent;
use crate::features::event_block::EventBlock;
use crate::features::from_zeek::{LogKind, Skip, ZeekAdapter};
use crate::ot::OtSelector;

/// How many unreadable records are kept with their message; the rest are counted.
const MAX_KEPT: usize = 20;

/// What a walk read and what it left out.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SourceStats {
    /// Files read, in order.
    pub files: Vec<PathBuf>,
    /// Records read from all files.
    pub records_read: u64,
    /// Records turned into events.
    pub events: u64,
    /// Of those, conn.log records that are not OT traffic (tagged, not dropped).
    pub not_ot: u64,
    /// Records of logs the features do not use (dns.log, modbus_detailed.log, ...).
    pub skipped_other_logs: u64,
    /// Records whose `ts` was masked (test baselines).
    pub masked_time: u64,
    /// Lines the reader could not parse plus records a typed view could not read.
    pub parse_errors: u64,
    /// The first few of those, as `file:line: message`.
    pub errors: Vec<String>,
}

impl SourceStats {
    pub(crate) fn note_error(&mut self, message: String) {
        self.parse_errors += 1;
        self.keep(message);
    }

    /// Keeps a message while fewer than [`MAX_KEPT`] are kept; the count is the caller's.
    fn keep(&mut self, message: String) {
        if self.errors.len() < MAX_KEPT {
            self.errors.push(message);
        }
    }

    /// Adds a block's counts; the kept messages stay the first ones in reading order.
    fn add(&mut self, block: &WalkBlock) {
        let counts = &block.counts;
        self.records_read += counts.records_read;
        self.events += counts.events;
        self.not_ot += counts.not_ot;
        self.skipped_other_logs += counts.skipped_other_logs;
        self.masked_time += counts.masked_time;
        self.parse_errors += counts.parse_errors;
        for message in &counts.errors {
            self.keep(message.clone());
        }
    }
}

/// Reads every record under `paths` and calls `visit` with each event, in reading order; an
/// error from `visit` stops reading and is returned.
/// `progress` is called with the records read so far, every 64 Ki records or so.
pub fn walk<P: AsRef<Path>, E: From<ZeekError>>(
    paths: &[P],
    options: &SourceOptions,
    progress: impl FnMut(u64),
    visit: impl FnMut(&FlowEvent<'_>) -> Result<(), E>,
) -> Result<SourceStats, E> {
    walk_files(zeek::discover(paths)?, options, progress, visit)
}

/// Like [`walk`], over files already discovered.
///
/// Lines are decoded into events on other threads ([`zeek::read_files`]) and handed to `visit`
/// on this one, in reading order: the events, their order and the counts are exactly those of
/// reading the files one line after the other.
pub fn walk_files<E: From<ZeekError>>(
    files: Vec<LogFile>,
    options: &SourceOptions,
    progress: impl FnMut(u64),
    mut visit: impl FnMut(&FlowEvent<'_>) -> Result<(), E>,
) -> Result<SourceStats, E> {
    walk_file_blocks(files, options, progress, |block| {
        for event in block.iter() {
            visit(&event)?;
        }
        Ok(block)
    })
}

/// Like [`walk`], handing over whole blocks of events instead of lending them one by one, so a
/// consumer that keeps events for a while (the pipeline's batches) keeps the block instead of
/// copying each event.
///
/// `visit` gets each block in reading order and gives back a block to fill again: the same one,
/// or one it is done with (its contents are cleared here). Blocks are recycled because fresh
/// memory for every block of events costs more in page faults than filling it.
pub fn walk_blocks<P: AsRef<Path>, E: From<ZeekError>>(
    paths: &[P],
    options: &SourceOptions,
    progress: impl FnMut(u64),
    visit: impl FnMut(EventBlock) -> Result<EventBlock, E>,
) -> Result<SourceStats, E> {
    walk_file_blocks(zeek::discover(paths)?, options, progress, visit)
}

/// [`walk_blocks`] over files already discovered.
pub fn walk_file_blocks<E: From<ZeekError>>(
    files: Vec<LogFile>,
    options: &SourceOptions,
    mut progress: impl FnMut(u64),
    mut visit: impl FnMut(EventBlock) -> Result<EventBlock, E>,
) -> Result<SourceStats, E> {
    let mut stats = SourceStats {
        files: files.iter().map(|file| file.path.clone()).collect(),
        ..SourceStats::default()
    };
    let mut reported = 0;
    // Read blocks go back to the decoding threads to be filled again: fresh memory for every
    // block of events costs more in page faults than filling it.
    let spares = Mutex::new(Vec::new());
    let summary = zeek::read_files(
        &files,
        &options.read,
        Parallelism::available(),
        || Decoding {
            records: RecordAdapter::new(options.ot.clone()),
            spares: &spares,
        },
        Decoding::decode,
        |mut block: WalkBlock| {
            stats.add(&block);
            block.events = visit(std::mem::take(&mut block.events))?;
            if stats.records_read - reported >= 1 << 16 {
                reported = stats.records_read;
                progress(reported);
            }
            block.clear();
            if let Ok(mut spares) = spares.lock() {
                spares.push(block);
            }
            Ok::<(), E>(())
        },
    )?;
    stats.parse_errors += summary.problems.total();
    for problem in summary.problems.kept() {
        stats.keep(problem.to_string());
    }
    progress(stats.records_read);
    Ok(stats)
}

/// What a decoding thread keeps between records: the record adapter, and where to find emptied
/// blocks.
struct Decoding<'s> {
    records: RecordAdapter,
    spares: &'s Mutex<Vec<WalkBlock>>,
}

/// Turns records into events, counting what it does with each: the typed views and the log kind
/// of the current header. The batch walk and the live source (`crate::watch`) share it, so both
/// count and adapt a record the same way.
#[derive(Debug)]
pub struct RecordAdapter {
    adapter: ZeekAdapter,
    current: Option<(Arc<Header>, LogKind)>,
}

impl RecordAdapter {
    pub fn new(ot: OtSelector) -> RecordAdapter {
        RecordAdapter {
            adapter: ZeekAdapter::with_selector(ot),
            current: None,
        }
    }

    /// Adapts `record`, counting it in `stats`, and hands its event (if it makes one) to
    /// `visit`, whose value is returned.
    pub fn adapt<R>(
        &mut self,
        record: &Record<'_>,
        stats: &mut SourceStats,
        visit: impl FnOnce(&FlowEvent<'_>) -> R,
    ) -> Option<R> {
        stats.records_read += 1;
        let header = record.header();
        let kind = match &self.current {
            Some((cached, kind)) if Arc::ptr_eq(cached, header) => *kind,
            _ => {
                let path = header
                    .path()
                    .map(str::to_owned)
                    .or_else(|| record.source().and_then(zeek::log_path_of))
                    .unwrap_or_default();
                let kind = LogKind::of_path(&path);
                self.current = Some((Arc::clone(header), kind));
                kind
            }
        };
        match self.adapter.with_event(kind, record, |event| {
            let ot = event.ot;
            (visit(event), ot)
        }) {
            Ok(Ok((value, ot))) => {
                stats.events += 1;
                stats.not_ot += u64::from(!ot);
                Some(value)
            }
            Ok(Err(Skip::OtherLog)) => {
                stats.skipped_other_logs += 1;
                None
            }
            Ok(Err(Skip::MaskedTime)) => {
                stats.masked_time += 1;
                None
            }
            Err(error) => {
                let location = match record.source() {
                    Some(file) => format!("{}:{}", file.display(), record.line_number()),
                    None => format!("line {}", record.line_number()),
                };
                stats.note_error(format!("{location}: {error}"));
                None
            }
        }
    }
}

/// One block's events and counts, as the decoding thread hands them over.
#[derive(Default)]
struct WalkBlock {
    events: EventBlock,
    counts: SourceStats,
}

impl WalkBlock {
    fn clear(&mut self) {
        self.events.clear();
        self.counts = SourceStats::default();
    }
}

impl Decoding<'_> {
    fn decode(&mut self, record: &Record<'_>, block: &mut WalkBlock) {
        if block.counts.records_read == 0
            && let Some(spare) = self.spares.lock().ok().and_then(|mut spares| spares.pop())
        {
            *block = spare;
        }
        let events = &mut block.events;
        self.records
            .adapt(record, &mut block.counts, |event| events.push(event));
    }
}
