//! Byte input: opening a file, detecting gzip by its magic bytes (never by name), and cutting the
//! stream into lines in one reusable buffer without copying each line.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// Sees the bytes of every file a reader opens, as they come from the file (before any
/// decompression), so that a caller can digest or count them without reading the file again.
///
/// It is called once with no bytes when a file is opened, then with each run of bytes read, in
/// order, on the thread that reads the file. A reader that reaches the end of a file has passed
/// every byte of it; one that stops early (an error, a strict-mode stop) has passed a prefix.
#[derive(Clone)]
pub struct SourceTap(Arc<TapFn>);

/// The callback a [`SourceTap`] holds: the file's path and the bytes just read.
type TapFn = dyn Fn(&Path, &[u8]) + Send + Sync;

impl SourceTap {
    pub fn new(tap: impl Fn(&Path, &[u8]) + Send + Sync + 'static) -> SourceTap {
        SourceTap(Arc::new(tap))
    }
}

impl std::fmt::Debug for SourceTap {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SourceTap")
    }
}

/// Two taps are equal when they are the same callback.
impl PartialEq for SourceTap {
    fn eq(&self, other: &SourceTap) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SourceTap {}

/// A file whose bytes pass through a [`SourceTap`] as they are read.
struct Tapped {
    file: File,
    path: PathBuf,
    tap: SourceTap,
}

impl Read for Tapped {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.file.read(buffer)?;
        if count > 0 {
            (self.tap.0)(&self.path, &buffer[..count]);
        }
        Ok(count)
    }
}

/// Opens a file for reading, decompressing if needed; `tap` sees its bytes as they are read.
pub(crate) fn open(
    path: &Path,
    tap: Option<&SourceTap>,
) -> Result<(Box<dyn Read + Send>, Compression), ZeekError> {
    let file = File::open(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => ZeekError::NotFound {
            path: path.to_path_buf(),
        },
        _ => ZeekError::Io {
            path: Some(path.to_path_buf()),
            source,
        },
    })?;
    match tap {
        Some(tap) => {
            (tap.0)(path, &[]);
            let tapped = Tapped {
                file,
                path: path.to_path_buf(),
                tap: tap.clone(),
            };
            decompressing(tapped, Some(path))
        }
        None => decompressing(file, Some(path)),
    }
}

/// Whole lines cut from a stream for decoding elsewhere: see [`Lines::next_block`].
pub(crate) struct RawBlock {
    pub(crate) bytes: Vec<u8>,
    /// The 1-based number of the block's first line in its stream.
    pub(crate) first_line: u64,
}

impl RawBlock {
    /// The block's lines without their line breaks, numbered.
    pub(crate) fn lines(&self) -> impl Iterator<Item = (&[u8], u64)> {
        let bytes = self.bytes.as_slice();
        let unterminated = (bytes.last().is_some_and(|&last| last != b'\n')).then_some(bytes.len());
        // Line ends: every line break, then the end of an unterminated last line.
        let ends = memchr::memchr_iter(b'\n', bytes).chain(unterminated);
        let mut start = 0;
        ends.zip(self.first_line..).map(move |(end, number)| {
            let line = &bytes[start..end];
            start = end + 1;
            (line, number)
        })
    }
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
    /// A read error held back until the lines read before it are handed out.
    deferred_error: Option<ZeekError>,
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
            deferred_error: None,
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

    /// The next block of whole lines, at least `target` bytes unless the stream ends first, as an
    /// owned copy (so another thread can decode it) with the number of its first line. Lines
    /// are cut exactly as [`Lines::next_line`] cuts them; the two must not be mixed on one stream.
    /// A read error comes after the whole lines read before it, as from [`Lines::next_line`].
    /// `spare` is a finished block's buffer to fill again, which spares the allocation.
    pub(crate) fn next_block(
        &mut self,
        target: usize,
        spare: Option<Vec<u8>>,
    ) -> Result<Option<RawBlock>, ZeekError> {
        if let Some(error) = self.deferred_error.take() {
            return Err(error);
        }
        let target = target.max(1);
        // Room for several blocks, so that a refill moves at most half a block to the front.
        let room = target.saturating_mul(4).min(MAX_LINE_BYTES);
        if self.buffer.len() < room {
            self.buffer.resize(room, 0);
        }
        loop {
            let available = self.filled - self.start;
            if self.eof {
                return Ok(self.cut(available, spare));
            }
            // The block ends at the first line break at or after the target size.
            let from = self.start + target - 1;
            if from < self.filled
                && let Some(offset) = memchr::memchr(b'\n', &self.buffer[from..self.filled])
            {
                return Ok(self.cut(from - self.start + offset + 1, spare));
            }
            // Near the end of the buffer, a shorter block beats moving the rest to the front.
            if available >= target / 2
                && let Some(last) = memchr::memrchr(b'\n', &self.buffer[self.start..self.filled])
            {
                return Ok(self.cut(last + 1, spare));
            }
            if let Err(error) = self.refill() {
                let whole = memchr::memrchr(b'\n', &self.buffer[self.start..self.filled]);
                return match whole {
                    Some(last) => {
                        self.deferred_error = Some(error);
                        Ok(self.cut(last + 1, spare))
                    }
                    None => Err(error),
                };
            }
        }
    }

    /// Hands out the next `length` bytes as a block; `None` when there are none.
    fn cut(&mut self, length: usize, spare: Option<Vec<u8>>) -> Option<RawBlock> {
        if length == 0 {
            return None;
        }
        let mut bytes = spare.unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(&self.buffer[self.start..self.start + length]);
        let unterminated = u64::from(bytes.last() != Some(&b'\n'));
        let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64 + unterminated;
        let first_line = self.line_number + 1;
        self.line_number += lines;
        self.start += length;
        Some(RawBlock { bytes, first_line })
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
