//! The transport: append, fsync, rotate by size. A batch is confirmed once it is fsynced (stdout:
//! once flushed).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{FileConfig, encode};
use crate::delivery::{DeliveryConfig, Record, SendError, Transport};

pub struct FileSink {
    config: FileConfig,
    max_bytes: u64,
    keep: usize,
    file: Option<(File, u64)>,
    confirmed: Option<u64>,
    buffer: Vec<u8>,
}

impl FileSink {
    pub fn new(config: FileConfig, delivery: &DeliveryConfig) -> FileSink {
        FileSink {
            config,
            max_bytes: delivery.file_max_bytes.max(1),
            keep: delivery.file_keep,
            file: None,
            confirmed: None,
            buffer: Vec::new(),
        }
    }

    fn failed(path: &Path, what: &str, error: std::io::Error) -> SendError {
        SendError::Failed(format!("{what} {}: {error}", path.display()))
    }
}

/// PATH.N
fn numbered(path: &Path, n: usize) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Shifts PATH.1..PATH.keep up by one (the oldest beyond `keep` goes) and PATH to PATH.1.
fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    if keep == 0 {
        return fs::remove_file(path);
    }
    let _ = fs::remove_file(numbered(path, keep));
    for n in (1..keep).rev() {
        let from = numbered(path, n);
        if from.exists() {
            fs::rename(&from, numbered(path, n + 1))?;
        }
    }
    fs::rename(path, numbered(path, 1))
}

impl Transport for FileSink {
    fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        self.buffer.clear();
        encode(records, &mut self.buffer);
        let Some(path) = self.config.path.clone() else {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&self.buffer)
                .and_then(|()| stdout.flush())
                .map_err(|error| SendError::Failed(format!("write to stdout: {error}")))?;
            self.confirmed = Some(last.seq + 1);
            return Ok(());
        };
        if let Some((_, size)) = &self.file
            && *size > 0
            && *size + self.buffer.len() as u64 > self.max_bytes
        {
            self.file = None;
            rotate(&path, self.keep).map_err(|error| Self::failed(&path, "rotate", error))?;
        }
        if self.file.is_none() {
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|error| Self::failed(&path, "open", error))?;
            let size = file
                .metadata()
                .map_err(|error| Self::failed(&path, "stat", error))?
                .len();
            self.file = Some((file, size));
        }
        let (file, size) = self.file.as_mut().expect("opened above");
        file.write_all(&self.buffer)
            .and_then(|()| file.sync_data())
            .map_err(|error| Self::failed(&path, "write", error))?;
        *size += self.buffer.len() as u64;
        self.confirmed = Some(last.seq + 1);
        Ok(())
    }

    fn confirmed(&mut self, _stopping: bool) -> Result<Option<u64>, SendError> {
        Ok(self.confirmed.take())
    }

    fn reset(&mut self) {
        self.file = None;
        self.confirmed = None;
    }
}
