//! A record: one data line split into fields, borrowed from the reader's buffer, with access by
//! column index (fast) or by name (convenient), and typed parsing of single fields.
//!
//! Records never own their text: they live until the reader moves to the next line. Copy out
//! what must outlive it.

use std::borrow::Cow;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::field::{Field, SetItems};
use crate::header::Header;
use crate::time::Timestamp;
use crate::views::FieldError;

/// Where one field sits in the record's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

/// One data line of a log, split into fields according to its block's [`Header`].
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub(crate) header: &'a Arc<Header>,
    pub(crate) text: &'a str,
    pub(crate) spans: &'a [Span],
    pub(crate) line_number: u64,
    pub(crate) source: Option<&'a Path>,
}

impl<'a> Record<'a> {
    /// The header of the block this record belongs to.
    pub fn header(&self) -> &'a Arc<Header> {
        self.header
    }

    /// The 1-based line number in the stream it was read from.
    pub fn line_number(&self) -> u64 {
        self.line_number
    }

    /// The file it was read from, when read from a file.
    pub fn source(&self) -> Option<&'a Path> {
        self.source
    }

    /// The number of fields (always the header's column count).
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when the record has no fields.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The text of column `idx` exactly as written (still escaped, markers not interpreted).
    pub fn raw(&self, idx: usize) -> Option<&'a str> {
        let span = self.spans.get(idx)?;
        self.text.get(span.start as usize..span.end as usize)
    }

    /// The value of column `idx`; [`Field::Unset`] when the column does not exist.
    pub fn get(&self, idx: usize) -> Field<'a> {
        match self.raw(idx) {
            Some(raw) => Field::from_raw(raw, &self.header.unset_field, &self.header.empty_field),
            None => Field::Unset,
        }
    }

    /// The value of an optional column: [`Field::Unset`] when `idx` is `None`.
    pub fn get_opt(&self, idx: Option<usize>) -> Field<'a> {
        idx.map_or(Field::Unset, |idx| self.get(idx))
    }

    /// The value of the column named `name` (a linear search of the header: resolve the index
    /// once with [`Header::index`] when reading many records).
    pub fn by_name(&self, name: &str) -> Field<'a> {
        self.get_opt(self.header.index(name))
    }

    /// The items of a set or vector column.
    pub fn set(&self, idx: usize) -> SetItems<'a> {
        let raw = self
            .raw(idx)
            .filter(|raw| *raw != self.header.unset_field && *raw != self.header.empty_field);
        SetItems::new(raw, &self.header.set_separator)
    }

    /// Every column with its name, in header order.
    pub fn fields(&self) -> impl Iterator<Item = (&'a str, Field<'a>)> + '_ {
        let header: &'a Header = self.header;
        header
            .fields
            .iter()
            .enumerate()
            .map(|(idx, name)| (name.as_str(), self.get(idx)))
    }

    /// The name of column `idx`, for messages.
    pub fn column_name(&self, idx: usize) -> &'a str {
        let header: &'a Header = self.header;
        header.fields.get(idx).map_or("?", String::as_str)
    }

    /// A text column: `None` when unset, `Some("")` when empty.
    pub fn text(&self, idx: usize) -> Option<Cow<'a, str>> {
        match self.get(idx) {
            Field::Unset => None,
            Field::Empty => Some(Cow::Borrowed("")),
            Field::Value(value) => Some(value),
        }
    }

    /// A text column that may be absent from the header.
    pub fn text_opt(&self, idx: Option<usize>) -> Option<Cow<'a, str>> {
        idx.and_then(|idx| self.text(idx))
    }

    /// A column whose text needs no unescaping (uids, enum names): the raw text, or `None` when
    /// unset or empty. Values containing a backslash are decoded, which costs an allocation the
    /// result can't hold, so they are reported as an error.
    pub fn plain(&self, idx: usize) -> Result<Option<&'a str>, FieldError> {
        match self.raw(idx) {
            None => Ok(None),
            Some(raw) if raw == self.header.unset_field || raw == self.header.empty_field => {
                Ok(None)
            }
            Some(raw) if raw.contains('\\') => Err(self.error(idx, raw, "text without escapes")),
            Some(raw) => Ok(Some(raw)),
        }
    }

    /// An unsigned integer (`count`, `port`); `None` when unset or empty. Accepts `0x` hex, which
    /// ICSNPP uses for function and service codes, and a `/tcp`-style suffix on ports.
    pub fn parse_u64(&self, idx: usize) -> Result<Option<u64>, FieldError> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        parse_unsigned(raw)
            .map(Some)
            .ok_or_else(|| self.error(idx, raw, "an unsigned integer"))
    }

    /// [`Record::parse_u64`] for a column that may be absent from the header.
    pub fn parse_u64_opt(&self, idx: Option<usize>) -> Result<Option<u64>, FieldError> {
        idx.map_or(Ok(None), |idx| self.parse_u64(idx))
    }

    /// A port number (0 to 65535).
    pub fn parse_port(&self, idx: usize) -> Result<Option<u16>, FieldError> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        parse_unsigned(raw)
            .and_then(|port| u16::try_from(port).ok())
            .map(Some)
            .ok_or_else(|| self.error(idx, raw, "a port number"))
    }

    /// A floating-point number (`interval`, `double`).
    pub fn parse_f64(&self, idx: usize) -> Result<Option<f64>, FieldError> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        raw.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .map(Some)
            .ok_or_else(|| self.error(idx, raw, "a number"))
    }

    /// [`Record::parse_f64`] for a column that may be absent from the header.
    pub fn parse_f64_opt(&self, idx: Option<usize>) -> Result<Option<f64>, FieldError> {
        idx.map_or(Ok(None), |idx| self.parse_f64(idx))
    }

    /// A Zeek `bool` (`T` or `F`; JSON `true`/`false` arrive as `T`/`F`).
    pub fn parse_bool(&self, idx: usize) -> Result<Option<bool>, FieldError> {
        match self.value_text(idx) {
            None => Ok(None),
            Some("T") => Ok(Some(true)),
            Some("F") => Ok(Some(false)),
            Some(raw) => Err(self.error(idx, raw, "T or F")),
        }
    }

    /// [`Record::parse_bool`] for a column that may be absent from the header.
    pub fn parse_bool_opt(&self, idx: Option<usize>) -> Result<Option<bool>, FieldError> {
        idx.map_or(Ok(None), |idx| self.parse_bool(idx))
    }

    /// An IPv4 or IPv6 address.
    pub fn parse_addr(&self, idx: usize) -> Result<Option<IpAddr>, FieldError> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        raw.parse::<IpAddr>()
            .map(Some)
            .map_err(|_| self.error(idx, raw, "an IP address"))
    }

    /// A Zeek `time`: epoch seconds, an ISO-8601 string (JSON logs), or a btest mask.
    pub fn parse_time(&self, idx: usize) -> Result<Option<Timestamp>, FieldError> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        Timestamp::parse(raw)
            .map(Some)
            .ok_or_else(|| self.error(idx, raw, "a time (epoch seconds or ISO-8601)"))
    }

    /// Builds the error for column `idx` holding `raw` when `expected` was wanted.
    pub fn error(&self, idx: usize, raw: &str, expected: &'static str) -> FieldError {
        FieldError {
            file: self.source.map(Path::to_path_buf),
            line: self.line_number,
            column: self.column_name(idx).to_owned(),
            value: raw.chars().take(80).collect(),
            expected,
        }
    }

    /// The raw text of a value that is neither unset nor empty. Numbers, addresses and flags
    /// never need unescaping, so the raw text is what gets parsed.
    fn value_text(&self, idx: usize) -> Option<&'a str> {
        self.raw(idx).filter(|raw| {
            *raw != self.header.unset_field && *raw != self.header.empty_field && !raw.is_empty()
        })
    }
}

/// Parses decimal or `0x` hex, ignoring a `/proto` suffix (`502/tcp`).
pub(crate) fn parse_unsigned(raw: &str) -> Option<u64> {
    let number = raw.split_once('/').map_or(raw, |(number, _)| number);
    if let Some(hex) = number
        .strip_prefix("0x")
        .or_else(|| number.strip_prefix("0X"))
    {
        return u64::from_str_radix(hex, 16).ok();
    }
    // `u64::from_str` accepts a leading `+`; Zeek never writes one, so a `+` is an error.
    if number.starts_with('+') {
        return None;
    }
    number.parse::<u64>().ok()
}
