//! The line-level state machine: feed it lines one at a time (from a file, a tail, a socket) and
//! it tells you whether each was a record, a header or comment line, or a problem.
//!
//! It owns no I/O, so the live tailer can resume it from a checkpointed offset by feeding the
//! lines that follow, and the batch reader and the tailer parse identically. It detects the
//! format from the first non-blank line: `#` starts a TSV header, `{` a JSON log.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::ZeekError;
use crate::header::{Directive, Format, Header, HeaderBuilder, parse_directive};
use crate::input::SourceTap;
use crate::json::JsonLines;
use crate::problem::{Problem, ProblemKind};
use crate::record::{Record, Span};

/// How to read: strictness, an explicit field list for header-less input, and how many problems
/// to keep for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Stop at the first bad line with [`ZeekError::Strict`] instead of skipping it.
    pub strict: bool,
    /// Column names for TSV input that has no `#fields` header (`zeek-cut` output). Ignored for
    /// input that has a header.
    pub fields: Option<Vec<String>>,
    /// How many problems to keep with their locations; the rest are only counted.
    pub max_problems_kept: usize,
    /// Sees every opened file's bytes as they are read (see [`SourceTap`]).
    pub source_tap: Option<SourceTap>,
}

impl Default for ReadOptions {
    fn default() -> ReadOptions {
        ReadOptions {
            strict: false,
            fields: None,
            max_problems_kept: 100,
            source_tap: None,
        }
    }
}

/// What one fed line turned out to be.
#[derive(Debug)]
pub enum Line<'a> {
    /// A data line.
    Record(Record<'a>),
    /// A header or comment line, or a blank line.
    Meta,
    /// A data line that could not be read; it is skipped.
    Problem(Problem),
}

/// The outcome of scanning a line, holding no borrow so the file reader can loop over lines.
#[derive(Debug)]
pub(crate) enum Scanned {
    Record,
    Meta,
    Problem(Problem),
}

/// Turns lines into records. See the module docs.
#[derive(Debug)]
pub struct Decoder {
    source: Option<PathBuf>,
    default_path: Option<String>,
    explicit_fields: Option<Vec<String>>,
    format: Option<Format>,
    pending: Option<HeaderBuilder>,
    current: Option<Arc<Header>>,
    spans: Vec<Span>,
    /// Address and length of the TSV line the last [`Decoder::scan`] found to be a valid record
    /// (valid UTF-8 included), so [`Decoder::record`] need not check it again.
    checked_line: (usize, usize),
    /// Whether that line holds a backslash anywhere: without one no field needs unescaping,
    /// and the records' text readers skip their per-field search for one.
    checked_line_escapes: bool,
    json: JsonLines,
    seen_content: bool,
}

impl Decoder {
    /// A decoder for a stream named `source` (used in messages and to guess the log path of
    /// header-less and JSON input from the file name).
    pub fn new(source: Option<&Path>, options: &ReadOptions) -> Decoder {
        Decoder {
            source: source.map(Path::to_path_buf),
            default_path: source.and_then(crate::discover::log_path_of),
            explicit_fields: options.fields.clone(),
            format: None,
            pending: None,
            current: None,
            spans: Vec::new(),
            checked_line: (0, 0),
            checked_line_escapes: true,
            json: JsonLines::default(),
            seen_content: false,
        }
    }

    /// Feeds one line (without its line break; a trailing `\r` is ignored) numbered
    /// `line_number`. Errors are fatal for the stream: it is not a Zeek log, or its header is
    /// unusable. Bad data lines come back as [`Line::Problem`].
    pub fn feed<'a>(&'a mut self, line: &'a [u8], line_number: u64) -> Result<Line<'a>, ZeekError> {
        match self.scan(line, line_number)? {
            Scanned::Record => Ok(Line::Record(self.record(line, line_number))),
            Scanned::Meta => Ok(Line::Meta),
            Scanned::Problem(problem) => Ok(Line::Problem(problem)),
        }
    }

    /// A decoder that continues a stream from the middle, for example a tail resuming at a
    /// checkpointed offset: `header` (saved from [`Decoder::header`] before stopping, or read
    /// again from the file's start) is in force for the lines fed next, exactly as if the
    /// stream had been fed from its beginning. A new header block in the lines replaces it as
    /// usual.
    pub fn resume(source: Option<&Path>, options: &ReadOptions, header: Arc<Header>) -> Decoder {
        let mut decoder = Decoder::new(source, options);
        decoder.format = Some(header.format);
        decoder.seen_content = true;
        match header.format {
            Format::Tsv => decoder.current = Some(header),
            Format::Json => decoder.json.resume(header),
        }
        decoder
    }

    /// A decoder that continues a stream whose format is known but which has no header in
    /// force yet (a tail resuming after lines that were all blank, comments or problems).
    pub(crate) fn resume_format(
        source: Option<&Path>,
        options: &ReadOptions,
        format: Format,
    ) -> Decoder {
        let mut decoder = Decoder::new(source, options);
        decoder.format = Some(format);
        decoder.seen_content = true;
        decoder
    }

    /// The header in force (for TSV the last one that reached a data line, for JSON the keys
    /// seen so far).
    pub fn header(&self) -> Option<&Arc<Header>> {
        match self.format {
            Some(Format::Json) => self.json.header(),
            _ => self.current.as_ref(),
        }
    }

    /// The detected format, once a non-blank line was fed.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// True once a non-blank line was fed.
    pub fn seen_content(&self) -> bool {
        self.seen_content
    }

    /// True between a header block's first `#` line and the data line that completes it.
    pub(crate) fn is_mid_header(&self) -> bool {
        self.pending.is_some()
    }

    /// The stream name given at construction.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    pub(crate) fn scan(&mut self, line: &[u8], line_number: u64) -> Result<Scanned, ZeekError> {
        self.checked_line = (0, 0);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Tabs are content: a line of separators is a record of empty values.
        if line.iter().all(|byte| *byte == b' ') {
            return Ok(Scanned::Meta);
        }
        self.seen_content = true;
        let format = match self.format {
            Some(format) => format,
            None => {
                let format = self.detect(line, line_number)?;
                self.format = Some(format);
                format
            }
        };
        match format {
            Format::Tsv => self.scan_tsv(line, line_number),
            Format::Json => Ok(self.scan_json(line, line_number)),
        }
    }

    /// Builds the record of the line just scanned. Only valid right after [`Decoder::scan`]
    /// returned [`Scanned::Record`] for the same `line`.
    pub(crate) fn record<'a>(&'a self, line: &'a [u8], line_number: u64) -> Record<'a> {
        // Only a TSV line just scanned is known to hold no backslash; anything else is searched
        // field by field as needed.
        let (header, text, spans, may_escape) = match self.format {
            Some(Format::Json) => (
                self.json.header(),
                self.json.text(),
                self.json.spans(),
                true,
            ),
            _ => {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let checked = (line.as_ptr() as usize, line.len()) == self.checked_line;
                let text = if checked {
                    // SAFETY: `scan_tsv` checked exactly these bytes (same address and length)
                    // for UTF-8 when it returned `Scanned::Record`, and they cannot have changed
                    // since: every caller in this crate calls `record` right after that `scan`,
                    // with the same borrowed line and no write to its buffer in between (the
                    // file reader's buffer only changes in `advance`, which scans again and so
                    // resets `checked_line` first). Checking again costs about 5 % of reading.
                    unsafe { std::str::from_utf8_unchecked(line) }
                } else {
                    std::str::from_utf8(line).unwrap_or_default()
                };
                let may_escape = !checked || self.checked_line_escapes;
                (
                    self.current.as_ref(),
                    text,
                    self.spans.as_slice(),
                    may_escape,
                )
            }
        };
        Record {
            header: header.unwrap_or(&EMPTY_HEADER),
            text,
            spans,
            may_escape,
            line_number,
            source: self.source.as_deref(),
        }
    }

    fn detect(&self, line: &[u8], line_number: u64) -> Result<Format, ZeekError> {
        let first = line.iter().find(|byte| !byte.is_ascii_whitespace());
        if line.first() == Some(&b'#') {
            return Ok(Format::Tsv);
        }
        if first == Some(&b'{') {
            return Ok(Format::Json);
        }
        if line.contains(&0) || std::str::from_utf8(line).is_err() {
            return Err(ZeekError::Binary {
                path: self.source.clone(),
            });
        }
        if self.explicit_fields.is_some() {
            return Ok(Format::Tsv);
        }
        if line.contains(&b'\t') {
            return Err(self.headerless(line, line_number));
        }
        Err(ZeekError::UnknownFormat {
            path: self.source.clone(),
            line: line_number,
            found: String::from_utf8_lossy(line).chars().take(60).collect(),
        })
    }

    fn headerless(&self, line: &[u8], line_number: u64) -> ZeekError {
        ZeekError::Headerless {
            path: self.source.clone(),
            line: line_number,
            columns: memchr::memchr_iter(b'\t', line).count() + 1,
        }
    }

    fn scan_tsv(&mut self, line: &[u8], line_number: u64) -> Result<Scanned, ZeekError> {
        if line[0] == b'#' {
            self.directive(line, line_number)?;
            return Ok(Scanned::Meta);
        }
        if let Some(builder) = self.pending.take() {
            self.current = Some(self.finish_header(builder, line_number)?);
        }
        let header = match &self.current {
            Some(header) => header,
            None => match &self.explicit_fields {
                Some(fields) => self.current.insert(Arc::new(Header::with_fields(
                    self.default_path.as_deref(),
                    fields.iter().cloned(),
                ))),
                None => return Err(self.headerless(line, line_number)),
            },
        };
        if u32::try_from(line.len()).is_err() {
            return Ok(Scanned::Problem(
                self.problem(line_number, ProblemKind::TooLarge),
            ));
        }
        let split = split_fields(&mut self.spans, line, header.separator);
        // ASCII is valid UTF-8; only lines with other bytes need the full check.
        if !split.all_ascii
            && let Err(error) = std::str::from_utf8(line)
        {
            return Ok(Scanned::Problem(self.problem(
                line_number,
                ProblemKind::InvalidUtf8 {
                    byte_offset: error.valid_up_to(),
                },
            )));
        }
        let expected = header.fields.len();
        if self.spans.len() != expected {
            let found = self.spans.len();
            return Ok(Scanned::Problem(self.problem(
                line_number,
                ProblemKind::FieldCount { expected, found },
            )));
        }
        self.checked_line = (line.as_ptr() as usize, line.len());
        self.checked_line_escapes = split.has_backslash;
        Ok(Scanned::Record)
    }

    fn directive(&mut self, line: &[u8], line_number: u64) -> Result<(), ZeekError> {
        let text = String::from_utf8_lossy(line);
        let separator = self
            .pending
            .as_ref()
            .map(|builder| builder.header.separator)
            .or(self.current.as_ref().map(|header| header.separator))
            .unwrap_or(b'\t');
        let directive = parse_directive(&text, separator);
        if matches!(directive, Directive::Comment | Directive::Close) {
            return Ok(());
        }
        let current = self.current.as_deref();
        let builder = self
            .pending
            .get_or_insert_with(|| HeaderBuilder::new(current, line_number));
        let header = &mut builder.header;
        match directive {
            Directive::Separator(separator) => match separator.as_slice() {
                [byte] => header.separator = *byte,
                _ => {
                    return Err(ZeekError::BadSeparator {
                        path: self.source.clone(),
                        line: line_number,
                        separator: String::from_utf8_lossy(&separator).into_owned(),
                    });
                }
            },
            Directive::SetSeparator(value) => header.set_separator = value,
            Directive::EmptyField(value) => header.empty_field = value,
            Directive::UnsetField(value) => header.unset_field = value,
            Directive::Path(value) => header.path = Some(value),
            Directive::Open(value) => header.open = Some(value),
            Directive::Fields(fields) => {
                header.fields = fields;
                builder.has_fields = true;
            }
            Directive::Types(types) => header.types = types,
            Directive::Comment | Directive::Close => {}
        }
        Ok(())
    }

    fn finish_header(
        &self,
        builder: HeaderBuilder,
        line_number: u64,
    ) -> Result<Arc<Header>, ZeekError> {
        if !builder.has_fields {
            return Err(ZeekError::MissingFields {
                path: self.source.clone(),
                line: line_number,
                block_line: builder.first_line,
            });
        }
        let (fields, types) = (builder.header.fields.len(), builder.header.types.len());
        if types != 0 && types != fields {
            return Err(ZeekError::TypesMismatch {
                path: self.source.clone(),
                line: line_number,
                fields,
                types,
            });
        }
        Ok(builder.finish(line_number))
    }

    fn scan_json(&mut self, line: &[u8], line_number: u64) -> Scanned {
        if line[0] == b'#' {
            return Scanned::Problem(self.problem(line_number, ProblemKind::UnexpectedDirective));
        }
        match self
            .json
            .parse(line, line_number, self.default_path.as_deref())
        {
            Ok(()) => Scanned::Record,
            Err(kind) => Scanned::Problem(self.problem(line_number, kind)),
        }
    }

    fn problem(&self, line: u64, kind: ProblemKind) -> Problem {
        Problem {
            file: self.source.clone(),
            line,
            kind,
        }
    }
}

/// What [`split_fields`] learnt about a line besides its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Split {
    /// No byte above 0x7f: the line is valid UTF-8 without a further check.
    pub(crate) all_ascii: bool,
    /// Some byte is a backslash (a separator one included): fields may need unescaping.
    pub(crate) has_backslash: bool,
}

/// Splits `line` at every `separator` into `spans` and reports whether the line is all ASCII
/// and whether it holds a backslash.
///
/// This is the hot loop of TSV reading. On x86-64 it takes whole 16-byte chunks with SSE2
/// first (`split_wide`); what is left, and every line elsewhere, it looks at eight bytes at a
/// time (SWAR): XOR with the
/// separator turns separator bytes into zero bytes, and the exact zero-byte test below sets the
/// high bit of exactly those bytes, whose positions the loop then walks. Calling `memchr` per
/// field costs more than it saves on fields this short. The backslash test rides along in the
/// same pass (the classic any-zero-byte test, exact for "some byte is zero", is enough there),
/// which is cheaper than each text field searching itself for one later. The caller has checked
/// that the line length fits in a `u32`.
pub(crate) fn split_fields(spans: &mut Vec<Span>, line: &[u8], separator: u8) -> Split {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const ONES: u64 = 0x0101_0101_0101_0101;
    const BACKSLASHES: u64 = 0x5c5c_5c5c_5c5c_5c5c;
    spans.clear();
    let pattern = u64::from_ne_bytes([separator; 8]);
    let mut start = 0u32;
    let mut seen_bits = 0u64;
    let mut backslash_bits = 0u64;
    let mut offset = 0usize;
    // x86-64 takes whole 16-byte chunks first; the SWAR loop then takes what is left.
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline, so every x86-64 CPU has it.
        let (wide_seen, wide_backslashes) =
            unsafe { split_wide(spans, line, separator, &mut start, &mut offset) };
        seen_bits |= wide_seen;
        backslash_bits |= wide_backslashes;
    }
    let mut chunks = line[offset..].chunks_exact(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        seen_bits |= word;
        let backslash = word ^ BACKSLASHES;
        backslash_bits |= backslash.wrapping_sub(ONES) & !backslash & HIGH;
        let x = word ^ pattern;
        let mut found = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
        while found != 0 {
            let end = (offset + (found.trailing_zeros() / 8) as usize) as u32;
            spans.push(Span { start, end });
            start = end + 1;
            found &= found - 1;
        }
        offset += 8;
    }
    for (position, &byte) in chunks.remainder().iter().enumerate() {
        seen_bits |= u64::from(byte);
        if byte == b'\\' {
            backslash_bits |= HIGH;
        }
        if byte == separator {
            let end = (offset + position) as u32;
            spans.push(Span { start, end });
            start = end + 1;
        }
    }
    spans.push(Span {
        start,
        end: line.len() as u32,
    });
    Split {
        all_ascii: seen_bits & HIGH == 0,
        has_backslash: backslash_bits != 0,
    }
}

/// The part of [`split_fields`] that takes sixteen bytes at a time with SSE2: one compare each
/// hands over the separator, backslash and high bits as masks, about half the instructions of
/// the eight-byte SWAR loop. Walks `line` from `offset` in whole 16-byte chunks, pushing spans
/// and moving `start` and `offset` on; returns whether it saw a byte above 0x7f (bit 7 set in
/// the first value) and a backslash (second value non-zero), as the SWAR loop accumulates them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn split_wide(
    spans: &mut Vec<Span>,
    line: &[u8],
    separator: u8,
    start: &mut u32,
    offset: &mut usize,
) -> (u64, u64) {
    use std::arch::x86_64::{_mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
    let separators = _mm_set1_epi8(separator as i8);
    let backslashes = _mm_set1_epi8(b'\\' as i8);
    let (mut high_bits, mut backslash_bits) = (0u32, 0u32);
    let mut wide = line[*offset..].chunks_exact(16);
    for chunk in &mut wide {
        // SAFETY: `chunk` is 16 readable bytes, and `_mm_loadu_si128` needs no alignment.
        let bytes = unsafe { _mm_loadu_si128(chunk.as_ptr().cast()) };
        high_bits |= _mm_movemask_epi8(bytes) as u32;
        backslash_bits |= _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, backslashes)) as u32;
        let mut found = _mm_movemask_epi8(_mm_cmpeq_epi8(bytes, separators)) as u32;
        while found != 0 {
            let end = (*offset + found.trailing_zeros() as usize) as u32;
            spans.push(Span { start: *start, end });
            *start = end + 1;
            found &= found - 1;
        }
        *offset += 16;
    }
    // Any high bit becomes bit 7, where the SWAR loop's ASCII test looks.
    (
        if high_bits != 0 { 0x80 } else { 0 },
        u64::from(backslash_bits),
    )
}

/// Stands in for a header in the impossible case of building a record before any header.
static EMPTY_HEADER: std::sync::LazyLock<Arc<Header>> =
    std::sync::LazyLock::new(|| Arc::new(Header::with_fields(None, Vec::<String>::new())));

#[cfg(test)]
mod split_tests {
    //! The word-at-a-time splitter must find exactly what a byte-by-byte reading finds, at
    //! every length and position (16-byte chunks, 8-byte chunks, the tail).

    use proptest::prelude::*;

    use super::{Split, split_fields};
    use crate::record::Span;

    /// The obvious byte-by-byte reading of a line.
    fn reference(line: &[u8], separator: u8) -> (Vec<Span>, Split) {
        let mut spans = Vec::new();
        let mut start = 0u32;
        for (idx, &byte) in line.iter().enumerate() {
            if byte == separator {
                spans.push(Span {
                    start,
                    end: idx as u32,
                });
                start = idx as u32 + 1;
            }
        }
        spans.push(Span {
            start,
            end: line.len() as u32,
        });
        let split = Split {
            all_ascii: line.is_ascii(),
            has_backslash: line.contains(&b'\\'),
        };
        (spans, split)
    }

    /// Lines of separators, backslashes, ASCII and high bytes, up to a few chunks long.
    fn line() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(
            prop_oneof![
                4 => Just(b'\t'),
                1 => Just(b'\\'),
                1 => Just(b','),
                6 => 0x20u8..0x7f,
                1 => 0x80u8..=0xff,
                1 => any::<u8>(),
            ],
            0..80,
        )
    }

    proptest! {
        #[test]
        fn split_agrees_with_a_byte_by_byte_reading(
            line in line(),
            separator in prop_oneof![Just(b'\t'), Just(b','), Just(b'\\'), any::<u8>()],
        ) {
            let mut spans = vec![Span { start: 7, end: 7 }];
            let split = split_fields(&mut spans, &line, separator);
            prop_assert_eq!((spans, split), reference(&line, separator));
        }
    }
}
