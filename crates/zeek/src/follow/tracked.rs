//! What the follower knows about one file: its identity, the decoder resumed at its position,
//! the bytes read and not yet handed on, where a restart would resume, and the open handle.

use std::path::PathBuf;
use std::time::SystemTime;

use super::FollowError;
use super::checkpoint::FileCheckpoint;
use super::fingerprint::Fingerprint;
use super::source::Source;
use crate::decoder::{Decoder, ReadOptions};

/// The offset and line count of the last line boundary outside a header block.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mark {
    pub(crate) offset: u64,
    pub(crate) lines: u64,
}

/// A file the follower knows.
#[derive(Debug)]
pub(crate) struct Tracked {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) path: PathBuf,
    pub(crate) decoder: Decoder,
    /// Bytes read and not yet handed on; `buffer[consumed..]` starts at `position.offset`.
    pub(crate) buffer: Vec<u8>,
    pub(crate) consumed: usize,
    pub(crate) position: Mark,
    /// Where a restarted follower would resume: `position`, or the start of the header block
    /// being read, so that the block is read again.
    pub(crate) resume: Mark,
    pub(crate) complete: bool,
    pub(crate) failed: bool,
    pub(crate) source: Option<Source>,
    /// The bytes behind `source` are final (a rotated, gzipped or deleted file): its unterminated
    /// last line is a line.
    pub(crate) final_bytes: bool,
    /// The content changed in place and no copy was found: finish with the lines read.
    pub(crate) truncated: bool,
    pub(crate) present: bool,
    /// Size at the last scan, for plain files.
    pub(crate) known_len: Option<u64>,
    pub(crate) last_seen: u64,
    /// Lines that start before this offset are consumed without being handed out.
    pub(crate) skip_before: u64,
    /// A gzip file that ended early, with its size and modification time then.
    pub(crate) gzip_wait: Option<(u64, Option<SystemTime>)>,
}

impl Tracked {
    pub(crate) fn new(fingerprint: Fingerprint, path: PathBuf, options: &ReadOptions) -> Tracked {
        Tracked {
            fingerprint,
            decoder: Decoder::new(Some(&path), options),
            path,
            buffer: Vec::new(),
            consumed: 0,
            position: Mark::default(),
            resume: Mark::default(),
            complete: false,
            failed: false,
            source: None,
            final_bytes: false,
            truncated: false,
            present: false,
            known_len: None,
            last_seen: 0,
            skip_before: 0,
            gzip_wait: None,
        }
    }

    pub(crate) fn from_checkpoint(file: &FileCheckpoint, options: &ReadOptions) -> Tracked {
        let mut tracked = Tracked::new(file.fingerprint, file.path.clone(), options);
        let source = Some(file.path.as_path());
        tracked.decoder = match (&file.header, file.format) {
            (Some(header), _) => Decoder::resume(source, options, header.clone()),
            (None, Some(format)) => Decoder::resume_format(source, options, format),
            (None, None) => Decoder::new(source, options),
        };
        let mark = Mark {
            offset: file.offset,
            lines: file.lines,
        };
        tracked.position = mark;
        tracked.resume = mark;
        tracked.complete = file.complete;
        tracked.last_seen = file.last_seen;
        tracked
    }

    /// The offset just after the bytes read so far.
    pub(crate) fn read_position(&self) -> u64 {
        self.position.offset + (self.buffer.len() - self.consumed) as u64
    }

    /// Starts over at offset 0: the file was rewritten in place with the same first lines.
    pub(crate) fn restart(&mut self, options: &ReadOptions) {
        self.decoder = Decoder::new(Some(&self.path), options);
        self.buffer.clear();
        self.consumed = 0;
        self.position = Mark::default();
        self.resume = Mark::default();
        self.complete = false;
        self.final_bytes = false;
        self.skip_before = 0;
    }

    pub(crate) fn finish(&mut self) {
        self.complete = true;
        self.source = None;
        self.buffer = Vec::new();
        self.consumed = 0;
    }

    pub(crate) fn entry(&self) -> FileCheckpoint {
        let keeps_state = self.resume.offset > 0 && !self.complete;
        FileCheckpoint {
            fingerprint: self.fingerprint,
            path: self.path.clone(),
            offset: self.resume.offset,
            lines: self.resume.lines,
            complete: self.complete,
            last_seen: self.last_seen,
            format: self.decoder.format().filter(|_| keeps_state),
            header: self.decoder.header().filter(|_| keeps_state).cloned(),
        }
    }

    /// Reads one more chunk; `Ok(0)` at the end for now.
    pub(crate) fn read_more(&mut self) -> std::io::Result<usize> {
        if self.consumed > 0 && self.consumed * 2 >= self.buffer.len() {
            self.buffer.drain(..self.consumed);
            self.consumed = 0;
        }
        let position = self.read_position();
        match &mut self.source {
            Some(source) => source.read(position, &mut self.buffer),
            None => Ok(0),
        }
    }
}

/// Turns a read failure into what the report says, and arranges a retry for gzip.
pub(crate) fn read_failure(file: &mut Tracked, error: std::io::Error) -> FollowError {
    let gzip = matches!(file.source, Some(Source::Gzip { .. }));
    file.source = None;
    if gzip
        && matches!(
            error.kind(),
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData
        )
    {
        let metadata = std::fs::metadata(&file.path).ok();
        file.gzip_wait = metadata.map(|metadata| (metadata.len(), metadata.modified().ok()));
        return FollowError::IncompleteGzip {
            path: file.path.clone(),
        };
    }
    FollowError::Io {
        path: file.path.clone(),
        source: error,
    }
}
