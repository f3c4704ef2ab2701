//! Byte input: opening a file, detecting gzip by its magic bytes (never by name), and cutting the
//! stream into lines in one reusable buffer without copying each line.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::MultiGzDecoder;

use crate::error::ZeekError;

/// How a file was stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain text.
    None,
    /// gzip (one or more members).
    Gzip,
}

impl std::fmt::Display for Compression {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Compression::None => "plain",
            Compression::Gzip => "gzip",
        })
    }
}

/// The longest line accepted; anything longer is not a Zeek log.
pub const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

const CHUNK: usize = 256 * 1024;

/// Wraps `reader` in a gzip decoder when its first bytes are the gzip magic. Plain input is
/// read directly into the line buffer, without a second buffer in between.
pub(crate) fn decompressing(
    mut reader: impl Read + Send + 'static,
    path: Option<&Path>,
) -> Result<(Box<dyn Read + Send>, Compression), ZeekError> {
    let mut head = Vec::with_capacity(2);
    while head.len() < 2 {
        let mut byte = [0u8; 1];
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(ZeekError::Io {
                    path: path.map(Path::to_path_buf),
                    source,
                });
            }
        }
    }
    let is_gzip = head == [0x1f, 0x8b];
    let input = io::Cursor::new(head).chain(reader);
    if is_gzip {
        let buffered = BufReader::with_capacity(CHUNK, input);
        Ok((Box::new(MultiGzDecoder::new(buffered)), Compression::Gzip))
    } else {
        Ok((Box::new(input), Compression::None))
    }
}

/// Opens a file for reading, decompressing if needed.
pub(crate) fn open(path: &Path) -> Result<(Box<dyn Read + Send>, Compression), ZeekError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => ZeekError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ZeekError::Io {
            path: Some(path.to_path_buf()),
            source,
        },
    })?;
    decompressing(file, Some(path))
}

/// Cuts a byte stream into lines. Lines are handed out as ranges of an internal buffer that is
/// reused, so memory stays at one chunk plus the longest line.
pub(crate) struct Lines {
    input: Box<dyn Read + Send>,
    compression: Compression,
    path: Option<PathBuf>,
    buffer: Vec<u8>,
    start: usize,
    filled: usize,
    eof: bool,
    line_number: u64,
    bytes_read: u64,
}

impl Lines {
    pub(crate) fn new(
        input: Box<dyn Read + Send>,
        compression: Compression,
        path: Option<PathBuf>,
    ) -> Lines {
        Lines {
            input,
            compression,
            path,
            buffer: vec![0; CHUNK],
            start: 0,
            filled: 0,
            eof: false,
            line_number: 0,
            bytes_read: 0,
        }
    }

    pub(crate) fn compression(&self) -> Compression {
        self.compression
    }

    /// Decompressed bytes read so far.
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next line as a range of [`Lines::buffer`] and its 1-based number, or `None` at the
    /// end of the stream.
    pub(crate) fn next_line(&mut self) -> Result<Option<(usize, usize, u64)>, ZeekError> {
        let mut searched = self.start;
        loop {
            if let Some(offset) = memchr::memchr(b'\n', &self.buffer[searched..self.filled]) {
                let end = searched + offset;
                let start = self.start;
                self.start = end + 1;
                self.line_number += 1;
                return Ok(Some((start, end, self.line_number)));
            }
            if self.eof {
                if self.start < self.filled {
                    let start = self.start;
                    self.start = self.filled;
                    self.line_number += 1;
                    return Ok(Some((start, self.filled, self.line_number)));
                }
                return Ok(None);
            }
            searched = self.filled;
            let shift = self.refill()?;
            searched -= shift;
        }
    }

    /// Moves the unfinished line to the front, grows the buffer if that line fills it, and
    /// reads more. Returns how far the data moved.
    fn refill(&mut self) -> Result<usize, ZeekError> {
        let shift = self.start;
        if shift > 0 {
            self.buffer.copy_within(self.start..self.filled, 0);
            self.filled -= shift;
            self.start = 0;
        }
        if self.filled == self.buffer.len() {
            if self.buffer.len() >= MAX_LINE_BYTES {
                return Err(ZeekError::LineTooLong {
                    path: self.path.clone(),
                    line: self.line_number + 1,
                    limit: MAX_LINE_BYTES,
                });
            }
            let grown = (self.buffer.len() * 2).min(MAX_LINE_BYTES);
            self.buffer.resize(grown, 0);
        }
        loop {
            match self.input.read(&mut self.buffer[self.filled..]) {
                Ok(0) => self.eof = true,
                Ok(count) => {
                    self.filled += count;
                    self.bytes_read += count as u64;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(self.read_error(error)),
            }
            return Ok(shift);
        }
    }

    fn read_error(&self, source: io::Error) -> ZeekError {
        let path = self.path.clone();
        match (self.compression, source.kind()) {
            (Compression::Gzip, io::ErrorKind::UnexpectedEof) => ZeekError::TruncatedGzip { path },
            (Compression::Gzip, io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData) => {
                ZeekError::CorruptGzip {
                    path,
                    message: source.to_string(),
                }
            }
            _ => ZeekError::Io { path, source },
        }
    }

    /// Lines handed out so far.
    pub(crate) fn line_number(&self) -> u64 {
        self.line_number
    }

    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buffer
    }
}
