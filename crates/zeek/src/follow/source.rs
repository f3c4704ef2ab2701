//! An open followed file: a plain file read at an offset, or a gzip archive decompressed as a
//! stream. The handle is kept open between polls, so a file that is renamed, moved out of the
//! watched directories or deleted can still be read to its end.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};

use flate2::bufread::MultiGzDecoder;

use super::fingerprint::{FINGERPRINT_BYTES, Fingerprint};
use super::scan::{Candidate, FileKey};

/// How much is read from a file at a time.
const READ_CHUNK: usize = 256 * 1024;

pub(crate) enum Source {
    Plain {
        file: File,
        key: FileKey,
    },
    Gzip {
        stream: Box<MultiGzDecoder<BufReader<File>>>,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Plain { key, .. } => write!(formatter, "Plain({key:?})"),
            Source::Gzip { .. } => formatter.write_str("Gzip"),
        }
    }
}

/// What opening a candidate at a position gave.
pub(crate) enum Opened {
    /// Open and positioned.
    At(Source),
    /// The file now holds fewer bytes than the position (plain files: truncated in place).
    Shorter,
    /// The path now names another file than the scan saw; try again next poll.
    Replaced,
}

impl Source {
    /// Opens `candidate` positioned at `position` (decompressed bytes for gzip, which are
    /// decompressed and dropped up to there).
    pub(crate) fn open(candidate: &Candidate, position: u64) -> io::Result<Opened> {
        let file = File::open(&candidate.path)?;
        let metadata = file.metadata()?;
        if FileKey::of(&candidate.path, &metadata) != candidate.key {
            return Ok(Opened::Replaced);
        }
        if !candidate.gzip {
            if metadata.len() < position {
                return Ok(Opened::Shorter);
            }
            return Ok(Opened::At(Source::Plain {
                file,
                key: candidate.key.clone(),
            }));
        }
        let mut stream = Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            READ_CHUNK, file,
        )));
        let skipped = io::copy(&mut (&mut *stream).take(position), &mut io::sink())?;
        if skipped < position {
            return Ok(Opened::Shorter);
        }
        Ok(Opened::At(Source::Gzip { stream }))
    }

    /// The fingerprint and size of what a plain source holds open now, read through the handle
    /// itself: a deleted file cannot be looked at by its path, and its inode may have been
    /// truncated and rewritten before it was deleted.
    pub(crate) fn plain_identity(&mut self) -> io::Result<Option<(Option<Fingerprint>, u64)>> {
        let Source::Plain { file, .. } = self else {
            return Ok(None);
        };
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(0))?;
        let mut prefix = Vec::with_capacity(FINGERPRINT_BYTES);
        file.take(FINGERPRINT_BYTES as u64)
            .read_to_end(&mut prefix)?;
        Ok(Some((Fingerprint::of_prefix(&prefix), len)))
    }

    /// The key of the file a plain source holds open.
    pub(crate) fn plain_key(&self) -> Option<&FileKey> {
        match self {
            Source::Plain { key, .. } => Some(key),
            Source::Gzip { .. } => None,
        }
    }

    /// Appends what follows `position` to `buffer`, up to about one chunk; 0 at the end (for
    /// now, for a plain file that may still grow). For gzip `position` must be where the last
    /// read ended.
    pub(crate) fn read(&mut self, position: u64, buffer: &mut Vec<u8>) -> io::Result<usize> {
        let filled = buffer.len();
        buffer.resize(filled + READ_CHUNK, 0);
        let result = loop {
            let result = match self {
                Source::Plain { file, .. } => file
                    .seek(SeekFrom::Start(position))
                    .and_then(|_| file.read(&mut buffer[filled..])),
                Source::Gzip { stream } => stream.read(&mut buffer[filled..]),
            };
            match result {
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        buffer.truncate(filled + *result.as_ref().unwrap_or(&0));
        result
    }
}
