//! Where simulated records go: one Zeek log writer per log file, each feeding a writer thread.
//!
//! The simulation thread formats rows into 1 MiB chunks; a thread per file writes the chunks to
//! disk (and gzips them with `--gzip`), so formatting, compression and disk I/O overlap on a
//! multi-core machine while memory stays bounded by a few chunks per file.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use flate2::Compression;
use flate2::write::GzEncoder;
use zeek::write::{LogFormat, LogSchema, LogWriter};

use super::SimulateError;
use super::{live, schemas};

const CHUNK_BYTES: usize = 1 << 20;
const CHUNKS_IN_FLIGHT: usize = 4;

/// A [`Write`] that hands full chunks to a thread owning the file.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    buffer: Vec<u8>,
    sender: Option<SyncSender<Vec<u8>>>,
    recycled: Receiver<Vec<u8>>,
    worker: Option<JoinHandle<io::Result<()>>>,
}

impl FileSink {
    pub fn create(path: &Path, gzip: bool) -> Result<FileSink, SimulateError> {
        let file = File::create(path).map_err(|source| SimulateError::Io {
            path: path.to_owned(),
            source,
        })?;
        let (sender, receiver) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT);
        let (recycle_sender, recycled) = sync_channel::<Vec<u8>>(CHUNKS_IN_FLIGHT + 2);
        let worker = std::thread::spawn(move || -> io::Result<()> {
            let mut out: Box<dyn Write> = if gzip {
                Box::new(GzEncoder::new(
                    BufWriter::with_capacity(CHUNK_BYTES, file),
                    Compression::fast(),
                ))
            } else {
                Box::new(file)
            };
            for mut chunk in receiver {
                out.write_all(&chunk)?;
                chunk.clear();
                // The simulation thread may have stopped taking chunks back; that is fine.
                let _ = recycle_sender.try_send(chunk);
            }
            out.flush()?;
            drop(out);
            Ok(())
        });
        Ok(FileSink {
            path: path.to_owned(),
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sender: Some(sender),
            recycled,
            worker: Some(worker),
        })
    }

    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let fresh = self
            .recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK_BYTES));
        let full = std::mem::replace(&mut self.buffer, fresh);
        match &self.sender {
            Some(sender) => sender
                .send(full)
                .map_err(|_| io::Error::other("the file writer thread stopped")),
            None => Err(io::Error::other("the file is already closed")),
        }
    }

    /// Sends what is left, waits for the writer thread and reports its error, if any.
    pub fn close(mut self) -> Result<(), SimulateError> {
        let path = self.path.clone();
        let sent = self.send_buffer();
        self.sender = None;
        let joined = match self.worker.take() {
            Some(worker) => worker
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the file writer thread panicked"))),
            None => Ok(()),
        };
        sent.and(joined)
            .map_err(|source| SimulateError::Io { path, source })
    }
}

impl Write for FileSink {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            self.send_buffer()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_buffer()
    }
}

pub type Log = LogWriter<FileSink>;

/// What one log received over the run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogFileSummary {
    /// The log's `#path` (`conn`, `modbus`, ...).
    pub path: String,
    /// The live file (`conn.log`, `conn.log.gz`).
    pub file: String,
    /// Rotated files, oldest first (`conn.2026-10-01-00-00-00.log`), when rotation is on.
    pub rotated: Vec<String>,
    pub lines: u64,
    /// Bytes formatted (before compression, without the `#close` lines).
    pub bytes: u64,
    /// Size on disk of all its files.
    pub file_bytes: u64,
}

/// How the log files are named and cut.
#[derive(Debug)]
struct SinkState {
    dir: PathBuf,
    format: LogFormat,
    gzip: bool,
    /// Batch rotation: files carry their opening stamp until the last ones are renamed.
    rotating: bool,
    /// Live: the files keep their live names and rotation archives them as zeekctl does.
    live: bool,
    /// When the open files were opened.
    opened_us: i64,
    /// Totals of the files already rotated, by log path.
    done: Vec<LogFileSummary>,
}

impl SinkState {
    fn open(&self, schema: LogSchema, open_us: i64) -> Result<Log, SimulateError> {
        let name = if self.rotating && !self.live {
            rotated_name(&schema.path, open_us, self.gzip)
        } else {
            file_name(&schema.path, self.gzip)
        };
        let sink = FileSink::create(&self.dir.join(name), self.gzip)?;
        let mut log = LogWriter::new(sink, self.format, schema);
        log.write_header(open_us)?;
        Ok(log)
    }

    /// Closes `log` at `close_us` and adds what it received to the totals of its path. A live
    /// log `rotated` (renamed) before is then archived as zeekctl does.
    fn close(
        &mut self,
        log: Log,
        close_us: i64,
        rotated: Option<PathBuf>,
    ) -> Result<(), SimulateError> {
        let path = log.schema().path.clone();
        let (lines, bytes) = (log.n_rows(), log.n_bytes());
        let sink = log.finish(close_us)?;
        let mut file_path = sink.path.clone();
        sink.close()?;
        if let Some(rotated) = rotated {
            let archive = live::archive_name(&path, self.opened_us, close_us);
            file_path = live::archive(&rotated, &self.dir, &archive)?;
        }
        let file_bytes = file_path.metadata().map(|meta| meta.len()).unwrap_or(0);
        // Archives live in dated directories: names are relative to the log directory.
        let name = file_path
            .strip_prefix(&self.dir)
            .unwrap_or(&file_path)
            .to_string_lossy()
            .into_owned();
        let live = file_name(&path, self.gzip);
        let totals = match self.done.iter_mut().find(|totals| totals.path == path) {
            Some(totals) => totals,
            None => {
                self.done.push(LogFileSummary {
                    path: path.clone(),
                    file: live.clone(),
                    rotated: Vec::new(),
                    lines: 0,
                    bytes: 0,
                    file_bytes: 0,
                });
                let last = self.done.len() - 1;
                &mut self.done[last]
            }
        };
        totals.lines += lines;
        totals.bytes += bytes;
        totals.file_bytes += file_bytes;
        if name != live {
            totals.rotated.push(name);
        }
        Ok(())
    }
}

/// Every log the simulator writes.
#[derive(Debug)]
pub struct Sinks {
    pub conn: Log,
    pub modbus: Log,
    pub modbus_detailed: Log,
    pub dnp3: Log,
    pub dnp3_control: Log,
    pub enip: Log,
    pub cip: Log,
    pub cip_io: Log,
    state: SinkState,
}

/// The file name of the live log at `path` (`conn.log`, `conn.log.gz`).
pub fn file_name(path: &str, gzip: bool) -> String {
    if gzip {
        format!("{path}.log.gz")
    } else {
        format!("{path}.log")
    }
}

/// The name Zeek gives a rotated log: its path and the time the file was opened
/// (`conn.2026-10-01-00-00-00.log`).
pub fn rotated_name(path: &str, open_us: i64, gzip: bool) -> String {
    let stamp = zeek::write::zeek_timestamp(open_us);
    if gzip {
        format!("{path}.{stamp}.log.gz")
    } else {
        format!("{path}.{stamp}.log")
    }
}

impl Sinks {
    /// Creates every log file in `dir` and writes the TSV headers with `#open` at `open_us`.
    /// With `rotating`, files carry their opening time in their names until [`Sinks::finish`]
    /// gives the last ones their live names; `live` keeps the live names throughout and
    /// archives rotated files as zeekctl does.
    pub fn create(
        dir: &Path,
        format: LogFormat,
        gzip: bool,
        rotating: bool,
        live: bool,
        open_us: i64,
    ) -> Result<Sinks, SimulateError> {
        let state = SinkState {
            dir: dir.to_owned(),
            format,
            gzip,
            rotating,
            live,
            opened_us: open_us,
            done: Vec::new(),
        };
        Ok(Sinks {
            conn: state.open(schemas::conn(), open_us)?,
            modbus: state.open(schemas::modbus(), open_us)?,
            modbus_detailed: state.open(schemas::modbus_detailed(), open_us)?,
            dnp3: state.open(schemas::dnp3(), open_us)?,
            dnp3_control: state.open(schemas::dnp3_control(), open_us)?,
            enip: state.open(schemas::enip(), open_us)?,
            cip: state.open(schemas::cip(), open_us)?,
            cip_io: state.open(schemas::cip_io(), open_us)?,
            state,
        })
    }

    /// Lines written so far over all logs.
    pub fn total_lines(&self) -> u64 {
        let done: u64 = self.state.done.iter().map(|totals| totals.lines).sum();
        done + self.all().iter().map(|log| log.n_rows()).sum::<u64>()
    }

    /// Bytes written so far over all logs (before compression).
    pub fn total_bytes(&self) -> u64 {
        let done: u64 = self.state.done.iter().map(|totals| totals.bytes).sum();
        done + self.all().iter().map(|log| log.n_bytes()).sum::<u64>()
    }

    fn all(&self) -> [&Log; 8] {
        [
            &self.conn,
            &self.modbus,
            &self.modbus_detailed,
            &self.dnp3,
            &self.dnp3_control,
            &self.enip,
            &self.cip,
            &self.cip_io,
        ]
    }

    /// Closes every file at `at` and opens the next ones, as Zeek's log rotation does.
    pub fn rotate(&mut self, at: i64) -> Result<(), SimulateError> {
        let Sinks {
            conn,
            modbus,
            modbus_detailed,
            dnp3,
            dnp3_control,
            enip,
            cip,
            cip_io,
            state,
        } = self;
        for log in [
            conn,
            modbus,
            modbus_detailed,
            dnp3,
            dnp3_control,
            enip,
            cip,
            cip_io,
        ] {
            // Live, Zeek's order: rename the open file, start the new one, finish the old one
            // (its writer still holds it), then archive it.
            let rotated = if state.live {
                let path = &log.schema().path;
                let live = state.dir.join(file_name(path, false));
                let rotated = state.dir.join(rotated_name(path, state.opened_us, false));
                std::fs::rename(&live, &rotated).map_err(|source| SimulateError::Io {
                    path: live.clone(),
                    source,
                })?;
                Some(rotated)
            } else {
                None
            };
            let next = state.open(log.schema().clone(), at)?;
            let previous = std::mem::replace(log, next);
            state.close(previous, at, rotated)?;
        }
        state.opened_us = at;
        Ok(())
    }

    /// Hands every line written so far to the files.
    pub fn flush(&mut self) -> Result<(), SimulateError> {
        for log in [
            &mut self.conn,
            &mut self.modbus,
            &mut self.modbus_detailed,
            &mut self.dnp3,
            &mut self.dnp3_control,
            &mut self.enip,
            &mut self.cip,
            &mut self.cip_io,
        ] {
            log.flush()?;
        }
        Ok(())
    }

    /// Writes `#close` at `close_us`, closes every file, gives the last files of a rotating
    /// run their live names, and reports what each log received.
    pub fn finish(self, close_us: i64) -> Result<Vec<LogFileSummary>, SimulateError> {
        let mut state = self.state;
        let logs = [
            self.conn,
            self.modbus,
            self.modbus_detailed,
            self.dnp3,
            self.dnp3_control,
            self.enip,
            self.cip,
            self.cip_io,
        ];
        let mut current = Vec::with_capacity(logs.len());
        for log in logs {
            let path = log.schema().path.clone();
            current.push((path, log.get_ref().path.clone()));
            state.close(log, close_us, None)?;
        }
        if state.rotating && !state.live {
            for (path, file) in current {
                let live = state.dir.join(file_name(&path, state.gzip));
                std::fs::rename(&file, &live).map_err(|source| SimulateError::Io {
                    path: file.clone(),
                    source,
                })?;
                if let (Some(totals), Some(name)) = (
                    state.done.iter_mut().find(|totals| totals.path == path),
                    file.file_name()
                        .map(|name| name.to_string_lossy().into_owned()),
                ) {
                    totals.rotated.retain(|rotated| *rotated != name);
                }
            }
        }
        Ok(state.done)
    }
}
