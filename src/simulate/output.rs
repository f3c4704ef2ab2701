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
use super::schemas;

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

/// What one file received.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LogFileSummary {
    pub path: String,
    pub file: String,
    pub lines: u64,
    /// Bytes formatted (before compression, without the `#close` line).
    pub bytes: u64,
    /// Size of the file on disk.
    pub file_bytes: u64,
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
}

/// The file name of the log at `path` (`conn.log`, `conn.log.gz`).
pub fn file_name(path: &str, gzip: bool) -> String {
    if gzip {
        format!("{path}.log.gz")
    } else {
        format!("{path}.log")
    }
}

impl Sinks {
    /// Creates every log file in `dir` and writes the TSV headers with `#open` at `open_us`.
    pub fn create(
        dir: &Path,
        format: LogFormat,
        gzip: bool,
        open_us: i64,
    ) -> Result<Sinks, SimulateError> {
        let open = |schema: LogSchema| -> Result<Log, SimulateError> {
            let path = dir.join(file_name(&schema.path, gzip));
            let mut log = LogWriter::new(FileSink::create(&path, gzip)?, format, schema);
            log.write_header(open_us)?;
            Ok(log)
        };
        Ok(Sinks {
            conn: open(schemas::conn())?,
            modbus: open(schemas::modbus())?,
            modbus_detailed: open(schemas::modbus_detailed())?,
            dnp3: open(schemas::dnp3())?,
            dnp3_control: open(schemas::dnp3_control())?,
            enip: open(schemas::enip())?,
            cip: open(schemas::cip())?,
            cip_io: open(schemas::cip_io())?,
        })
    }

    /// Lines written so far over all logs.
    pub fn total_lines(&self) -> u64 {
        self.all().iter().map(|log| log.n_rows()).sum()
    }

    /// Bytes written so far over all logs (before compression).
    pub fn total_bytes(&self) -> u64 {
        self.all().iter().map(|log| log.n_bytes()).sum()
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

    /// Writes `#close` at `close_us`, closes every file and reports what each received.
    pub fn finish(self, close_us: i64, gzip: bool) -> Result<Vec<LogFileSummary>, SimulateError> {
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
        let mut summaries = Vec::with_capacity(logs.len());
        for log in logs {
            let path = log.schema().path.clone();
            let lines = log.n_rows();
            let bytes = log.n_bytes();
            let sink = log.finish(close_us)?;
            let file_path = sink.path.clone();
            sink.close()?;
            let file_bytes = file_path.metadata().map(|meta| meta.len()).unwrap_or(0);
            summaries.push(LogFileSummary {
                file: file_name(&path, gzip),
                path,
                lines,
                bytes,
                file_bytes,
            });
        }
        Ok(summaries)
    }
}
