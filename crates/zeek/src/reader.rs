//! Reading one file or stream: bytes → lines → records, skipping and counting bad lines (or
//! stopping at the first in strict mode), with the fatal errors a user needs for the rest.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::decoder::{Decoder, ReadOptions, Scanned};
use crate::error::ZeekError;
use crate::header::{Format, Header};
use crate::input::{self, Compression, Lines};
use crate::problem::Problems;
use crate::record::Record;

/// Reads the records of one Zeek log, plain or gzip, TSV or JSON.
///
/// Records are lent one at a time ([`FileReader::next_record`]) and borrow the reader's buffer,
/// so memory stays constant whatever the file size.
pub struct FileReader {
    lines: Lines,
    decoder: Decoder,
    problems: Problems,
    strict: bool,
    records: u64,
    path: Option<PathBuf>,
    current: Option<(usize, usize, u64)>,
}

impl FileReader {
    /// Opens `path`; gzip is detected from the content.
    pub fn open(path: &Path, options: &ReadOptions) -> Result<FileReader, ZeekError> {
        let (reader, compression) = input::open(path, options.source_tap.as_ref())?;
        Ok(FileReader::with_input(
            reader,
            compression,
            Some(path),
            options,
        ))
    }

    /// Reads from any byte stream (stdin, a socket, a test buffer); `name` is used in messages
    /// and to guess the log path of JSON and header-less input.
    pub fn from_reader(
        reader: impl Read + Send + 'static,
        name: Option<&Path>,
        options: &ReadOptions,
    ) -> Result<FileReader, ZeekError> {
        let (reader, compression) = input::decompressing(reader, name)?;
        Ok(FileReader::with_input(reader, compression, name, options))
    }

    fn with_input(
        reader: Box<dyn Read + Send>,
        compression: Compression,
        path: Option<&Path>,
        options: &ReadOptions,
    ) -> FileReader {
        FileReader {
            lines: Lines::new(reader, compression, path.map(Path::to_path_buf)),
            decoder: Decoder::new(path, options),
            problems: Problems::new(options.max_problems_kept),
            strict: options.strict,
            records: 0,
            path: path.map(Path::to_path_buf),
            current: None,
        }
    }

    /// The next record, or `None` at the end. Bad lines are skipped and counted in
    /// [`FileReader::problems`] (or returned as [`ZeekError::Strict`] in strict mode).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ZeekError> {
        if self.advance()? {
            Ok(self.current_record())
        } else {
            Ok(None)
        }
    }

    /// Moves to the next record without lending it, so callers that loop over several readers
    /// can decide before borrowing; [`FileReader::current_record`] then lends it.
    pub fn advance(&mut self) -> Result<bool, ZeekError> {
        self.current = None;
        loop {
            let Some((start, end, line_number)) = self.lines.next_line()? else {
                if !self.decoder.seen_content() {
                    return Err(ZeekError::Empty {
                        path: self.path.clone(),
                    });
                }
                return Ok(false);
            };
            match self
                .decoder
                .scan(&self.lines.buffer()[start..end], line_number)?
            {
                Scanned::Record => {
                    self.records += 1;
                    self.current = Some((start, end, line_number));
                    return Ok(true);
                }
                Scanned::Meta => {}
                Scanned::Problem(problem) if self.strict => return Err(ZeekError::Strict(problem)),
                Scanned::Problem(problem) => self.problems.push(problem),
            }
        }
    }

    /// The record [`FileReader::advance`] moved to, if it returned true.
    pub fn current_record(&self) -> Option<Record<'_>> {
        let (start, end, line_number) = self.current?;
        let line = &self.lines.buffer()[start..end];
        Some(self.decoder.record(line, line_number))
    }

    /// Calls `visit` with every remaining record; stops at the first error it returns.
    pub fn for_each<E>(
        &mut self,
        mut visit: impl FnMut(&Record<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<ZeekError>,
    {
        while let Some(record) = self.next_record()? {
            visit(&record)?;
        }
        Ok(())
    }

    /// Problems met so far.
    pub fn problems(&self) -> &Problems {
        &self.problems
    }

    /// Records returned so far.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Lines read so far (records, header lines, blank lines and problems).
    pub fn lines_read(&self) -> u64 {
        self.lines.line_number()
    }

    /// Decompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.lines.bytes_read()
    }

    /// The format, once the first non-blank line was read.
    pub fn format(&self) -> Option<Format> {
        self.decoder.format()
    }

    /// Whether the file was gzip.
    pub fn compression(&self) -> Compression {
        self.lines.compression()
    }

    /// The header in force.
    pub fn header(&self) -> Option<&Arc<Header>> {
        self.decoder.header()
    }

    /// The file being read, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}
