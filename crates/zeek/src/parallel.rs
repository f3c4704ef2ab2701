//! Reading many files on several threads, with results handed back in reading order.
//!
//! One thread reads (and decompresses) each file and cuts it into blocks of whole lines; worker
//! threads decode the blocks and turn each record into the caller's owned output; the calling
//! thread consumes the outputs block by block, in the order the lines were in the files. The
//! caller's results are therefore exactly those of a sequential read: the same records, the same
//! problems at the same lines, the same strict-mode stop.
//!
//! Only a block whose meaning cannot depend on lines before it goes to a worker: a TSV block, read
//! after the header is complete, containing no `#` line. Everything else (the start of each file,
//! header blocks, `#close` lines, every JSON line, whose header grows line by line) is decoded by
//! the reading thread itself, with the one [`Decoder`] that carries the stream's state. Memory is
//! bounded: at most a few blocks per thread are in flight.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::decoder::{Decoder, ReadOptions, Scanned};
use crate::discover::LogFile;
use crate::error::ZeekError;
use crate::header::{Format, Header};
use crate::input::{self, Lines, RawBlock};
use crate::problem::{Problem, Problems};
use crate::record::Record;

/// Bytes per block: large enough that handing a block over costs nothing next to decoding it,
/// small enough that several per thread stay in cache-friendly, bounded memory.
pub const BLOCK_BYTES: usize = 1 << 18;

/// How many threads decode, and how big the blocks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Decoding threads besides the reading thread and the caller's.
    pub workers: NonZeroUsize,
    /// Target block size in bytes (a block ends at a line break at or after it).
    pub block_bytes: usize,
}

impl Parallelism {
    /// One decoding thread per available core, 256 KiB blocks.
    pub fn available() -> Parallelism {
        Parallelism {
            workers: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            block_bytes: BLOCK_BYTES,
        }
    }
}

/// What a parallel read went through, once it is over.
#[derive(Debug, Clone, Default)]
pub struct ReadSummary {
    /// Records decoded (and handed to the caller's `decode`).
    pub records: u64,
    /// Lines that could not be read, located.
    pub problems: Problems,
    /// Files that held nothing.
    pub empty_files: Vec<std::path::PathBuf>,
}

/// One block's outcome, as the consumer receives it.
struct Decoded<O> {
    output: O,
    records: u64,
    problems: Vec<Problem>,
    /// Why decoding stopped before the block's end: a fatal error, or in strict mode the first
    /// bad line. The records before it are in `output`.
    stop: Option<ZeekError>,
    /// The file the block came from, when that file turned out empty.
    empty_file: Option<std::path::PathBuf>,
}

/// A block for a worker: its lines and the header in force for them.
struct Job {
    sequence: u64,
    block: RawBlock,
    header: Arc<Header>,
    file: usize,
}

type Outcome<O> = (u64, Decoded<O>);

/// Reads `files` in order on several threads.
///
/// Each thread keeps its own `S` (made by `new_state`, for example view caches); `decode` turns
/// one record into the caller's form and appends it to the block's `O`; `consume` receives the
/// blocks' outputs in reading order on the calling thread. Bad lines are skipped and counted as
/// in [`crate::LogReader`] (or end the read with [`ZeekError::Strict`] after the records before
/// them were consumed). The first error `consume` returns stops the read.
pub fn read_files<S, O, E>(
    files: &[LogFile],
    options: &ReadOptions,
    parallelism: Parallelism,
    new_state: impl Fn() -> S + Sync,
    decode: impl Fn(&mut S, &Record<'_>, &mut O) + Sync,
    mut consume: impl FnMut(O) -> Result<(), E>,
) -> Result<ReadSummary, E>
where
    O: Default + Send,
    E: From<ZeekError>,
{
    let in_flight = 4 * (parallelism.workers.get() + 1);
    let (job_tx, job_rx) = sync_channel::<Job>(in_flight);
    let job_rx = Mutex::new(job_rx);
    let (out_tx, out_rx) = sync_channel::<Outcome<O>>(in_flight);
    // Slots bound the blocks between the reading thread and the consumer.
    let (slot_tx, slot_rx) = sync_channel::<()>(in_flight);
    // Decoded blocks' buffers go back to the reading thread to be filled again: allocating a
    // fresh buffer per block costs more in page faults than decoding it.
    let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    for _ in 0..in_flight {
        // The channel holds exactly `in_flight` slots, so this cannot block or fail.
        let _ = slot_tx.send(());
    }
    let new_state = &new_state;
    let decode = &decode;
    std::thread::scope(|scope| {
        for _ in 0..parallelism.workers.get() {
            let (job_rx, out_tx, spare_tx) = (&job_rx, out_tx.clone(), spare_tx.clone());
            scope.spawn(move || {
                work(job_rx, out_tx, spare_tx, files, options, new_state, decode);
            });
        }
        let reader_out = out_tx;
        scope.spawn(move || {
            let mut reading = Reading {
                files,
                options,
                block_bytes: parallelism.block_bytes.max(1),
                state: new_state(),
                decode,
                sequence: 0,
                slots: slot_rx,
                jobs: job_tx,
                out: reader_out,
                spares: spare_rx,
            };
            reading.run();
        });
        let result = collect(&out_rx, &slot_tx, options, &mut consume);
        // Dropping the receivers stops the other threads when the consumer stops early.
        drop(out_rx);
        drop(slot_tx);
        result
    })
}

/// The consumer side: reorders outcomes and hands them on.
fn collect<O, E: From<ZeekError>>(
    outcomes: &Receiver<Outcome<O>>,
    slots: &SyncSender<()>,
    options: &ReadOptions,
    consume: &mut impl FnMut(O) -> Result<(), E>,
) -> Result<ReadSummary, E> {
    let mut summary = ReadSummary {
        problems: Problems::new(options.max_problems_kept),
        ..ReadSummary::default()
    };
    let mut waiting = BTreeMap::new();
    let mut next = 0u64;
    // The channel closes when the reading thread and every worker have finished.
    for (sequence, outcome) in outcomes.iter() {
        waiting.insert(sequence, outcome);
        while let Some(outcome) = waiting.remove(&next) {
            next += 1;
            let decoded = outcome;
            summary.records += decoded.records;
            for problem in decoded.problems {
                summary.problems.push(problem);
            }
            summary.empty_files.extend(decoded.empty_file);
            consume(decoded.output)?;
            if let Some(error) = decoded.stop {
                return Err(error.into());
            }
            // The reading thread may have stopped already; a missing slot changes nothing then.
            let _ = slots.try_send(());
        }
    }
    Ok(summary)
}

/// A worker: decodes blocks until the reading thread stops sending them.
fn work<S, O: Default>(
    jobs: &Mutex<Receiver<Job>>,
    out: SyncSender<Outcome<O>>,
    spares: std::sync::mpsc::Sender<Vec<u8>>,
    files: &[LogFile],
    options: &ReadOptions,
    new_state: &(impl Fn() -> S + Sync),
    decode: &(impl Fn(&mut S, &Record<'_>, &mut O) + Sync),
) {
    let mut state = new_state();
    loop {
        // A poisoned lock means another worker panicked; stop like at the end of the jobs.
        let job = match jobs.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let source = files.get(job.file).map(|file| file.path.as_path());
        let mut decoder = Decoder::resume(source, options, job.header);
        let outcome = decode_block(&mut decoder, &job.block, options, &mut state, decode);
        // The reading thread may have finished; then the buffer is simply freed.
        let _ = spares.send(job.block.bytes);
        if out.send((job.sequence, outcome)).is_err() {
            return;
        }
    }
}

/// Decodes every line of `block` with `decoder`, which carries the stream's state.
fn decode_block<S, O: Default>(
    decoder: &mut Decoder,
    block: &RawBlock,
    options: &ReadOptions,
    state: &mut S,
    decode: &impl Fn(&mut S, &Record<'_>, &mut O),
) -> Decoded<O> {
    let mut decoded = Decoded::new();
    for (line, line_number) in block.lines() {
        match decoder.scan(line, line_number) {
            Ok(Scanned::Record) => {
                decoded.records += 1;
                decode(
                    state,
                    &decoder.record(line, line_number),
                    &mut decoded.output,
                );
            }
            Ok(Scanned::Meta) => {}
            Ok(Scanned::Problem(problem)) if options.strict => {
                decoded.stop = Some(ZeekError::Strict(problem));
                break;
            }
            Ok(Scanned::Problem(problem)) => decoded.problems.push(problem),
            Err(error) => {
                decoded.stop = Some(error);
                break;
            }
        }
    }
    decoded
}

impl<O: Default> Decoded<O> {
    fn new() -> Decoded<O> {
        Decoded {
            output: O::default(),
            records: 0,
            problems: Vec::new(),
            stop: None,
            empty_file: None,
        }
    }

    fn stopped(error: ZeekError) -> Decoded<O> {
        Decoded {
            stop: Some(error),
            ..Decoded::new()
        }
    }
}

/// The reading thread's state.
struct Reading<'a, S, O, D> {
    files: &'a [LogFile],
    options: &'a ReadOptions,
    block_bytes: usize,
    state: S,
    decode: &'a D,
    sequence: u64,
    slots: Receiver<()>,
    jobs: SyncSender<Job>,
    out: SyncSender<Outcome<O>>,
    spares: Receiver<Vec<u8>>,
}

impl<S, O, D> Reading<'_, S, O, D>
where
    O: Default,
    D: Fn(&mut S, &Record<'_>, &mut O),
{
    fn run(&mut self) {
        for (index, file) in self.files.iter().enumerate() {
            match self.read_file(index, file) {
                Ok(true) => {}
                // The consumer stopped, or an error was sent in its place.
                Ok(false) => return,
                Err(error) => {
                    if self.take_slot() {
                        let sequence = self.next_sequence();
                        let _ = self.out.send((sequence, Decoded::stopped(error)));
                    }
                    return;
                }
            }
        }
    }

    /// Reads one file; false when reading must stop (the consumer is gone or will stop).
    fn read_file(&mut self, index: usize, file: &LogFile) -> Result<bool, ZeekError> {
        let (input, compression) = input::open(&file.path, self.options.source_tap.as_ref())?;
        let mut lines = Lines::new(input, compression, Some(file.path.clone()));
        let mut decoder = Decoder::new(Some(&file.path), self.options);
        let mut own_spare = None;
        loop {
            let spare = own_spare.take().or_else(|| self.spares.try_recv().ok());
            let Some(block) = lines.next_block(self.block_bytes, spare)? else {
                break;
            };
            if !self.take_slot() {
                return Ok(false);
            }
            let sequence = self.next_sequence();
            if let Some(header) = steady_header(&decoder, &block) {
                let job = Job {
                    sequence,
                    block,
                    header: Arc::clone(header),
                    file: index,
                };
                if self.jobs.send(job).is_err() {
                    return Ok(false);
                }
                continue;
            }
            let outcome = decode_block(
                &mut decoder,
                &block,
                self.options,
                &mut self.state,
                self.decode,
            );
            own_spare = Some(block.bytes);
            let go_on = outcome.stop.is_none();
            if self.out.send((sequence, outcome)).is_err() || !go_on {
                return Ok(false);
            }
        }
        if !decoder.seen_content() {
            if !self.take_slot() {
                return Ok(false);
            }
            let sequence = self.next_sequence();
            let empty = Decoded {
                empty_file: Some(file.path.clone()),
                ..Decoded::new()
            };
            return Ok(self.out.send((sequence, empty)).is_ok());
        }
        Ok(true)
    }

    /// Waits until the consumer has room for one more block; false when it has stopped.
    fn take_slot(&self) -> bool {
        self.slots.recv().is_ok()
    }

    fn next_sequence(&mut self) -> u64 {
        let sequence = self.sequence;
        self.sequence += 1;
        sequence
    }
}

/// The header a worker can decode `block` with on its own, if it can: the stream is TSV, its
/// header block is complete, and the block holds no `#` line that could change it.
fn steady_header<'d>(decoder: &'d Decoder, block: &RawBlock) -> Option<&'d Arc<Header>> {
    if decoder.format() != Some(Format::Tsv) || decoder.is_mid_header() {
        return None;
    }
    let bytes = &block.bytes;
    if bytes.first() == Some(&b'#') || memchr::memmem::find(bytes, b"\n#").is_some() {
        return None;
    }
    decoder.header()
}
