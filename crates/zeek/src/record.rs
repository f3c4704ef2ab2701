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

/// A failed parse of column `idx`, made into a [`FieldError`] by [`Record::explain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bad {
    pub(crate) idx: usize,
    pub(crate) expected: &'static str,
}

impl Bad {
    pub(crate) fn new(idx: usize, expected: &'static str) -> Bad {
        Bad { idx, expected }
    }
}

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
    #[inline]
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
        let raw = self.raw(idx).filter(|raw| !is_marker(raw, self.header));
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
    /// unset or empty. Values containing a backslash would need decoding, which costs an
    /// allocation the result can't hold, so they are reported as an error.
    pub fn plain(&self, idx: usize) -> Result<Option<&'a str>, FieldError> {
        self.plain_at(idx).map_err(|bad| self.explain(bad))
    }

    /// An unsigned integer (`count`, `port`); `None` when unset or empty. Accepts `0x` hex, which
    /// ICSNPP uses for function and service codes, and a `/tcp`-style suffix on ports.
    pub fn parse_u64(&self, idx: usize) -> Result<Option<u64>, FieldError> {
        self.u64_at(idx).map_err(|bad| self.explain(bad))
    }

    /// [`Record::parse_u64`] for a column that may be absent from the header.
    pub fn parse_u64_opt(&self, idx: Option<usize>) -> Result<Option<u64>, FieldError> {
        idx.map_or(Ok(None), |idx| self.parse_u64(idx))
    }

    /// A port number (0 to 65535).
    pub fn parse_port(&self, idx: usize) -> Result<Option<u16>, FieldError> {
        self.port_at(idx).map_err(|bad| self.explain(bad))
    }

    /// A floating-point number (`interval`, `double`).
    pub fn parse_f64(&self, idx: usize) -> Result<Option<f64>, FieldError> {
        self.f64_at(idx).map_err(|bad| self.explain(bad))
    }

    /// [`Record::parse_f64`] for a column that may be absent from the header.
    pub fn parse_f64_opt(&self, idx: Option<usize>) -> Result<Option<f64>, FieldError> {
        idx.map_or(Ok(None), |idx| self.parse_f64(idx))
    }

    /// A Zeek `bool` (`T` or `F`; JSON `true`/`false` arrive as `T`/`F`).
    pub fn parse_bool(&self, idx: usize) -> Result<Option<bool>, FieldError> {
        self.bool_at(idx).map_err(|bad| self.explain(bad))
    }

    /// [`Record::parse_bool`] for a column that may be absent from the header.
    pub fn parse_bool_opt(&self, idx: Option<usize>) -> Result<Option<bool>, FieldError> {
        idx.map_or(Ok(None), |idx| self.parse_bool(idx))
    }

    /// An IPv4 or IPv6 address.
    pub fn parse_addr(&self, idx: usize) -> Result<Option<IpAddr>, FieldError> {
        self.addr_at(idx).map_err(|bad| self.explain(bad))
    }

    /// A Zeek `time`: epoch seconds, an ISO-8601 string (JSON logs), or a btest mask.
    pub fn parse_time(&self, idx: usize) -> Result<Option<Timestamp>, FieldError> {
        self.time_at(idx).map_err(|bad| self.explain(bad))
    }

    // The typed views call the `*_at` parsers below. Their error is two words rather than a
    // full `FieldError` (paths and strings), which keeps the hot path free of large copies;
    // `explain` builds the full error once, on the cold path.

    #[inline]
    pub(crate) fn plain_at(&self, idx: usize) -> Result<Option<&'a str>, Bad> {
        match self.raw(idx) {
            None => Ok(None),
            Some(raw) if is_marker(raw, self.header) => Ok(None),
            Some(raw) if raw.bytes().any(|byte| byte == b'\\') => {
                Err(Bad::new(idx, "text without escapes"))
            }
            Some(raw) => Ok(Some(raw)),
        }
    }

    #[inline]
    pub(crate) fn plain_opt(&self, idx: Option<usize>) -> Result<Option<&'a str>, Bad> {
        idx.map_or(Ok(None), |idx| self.plain_at(idx))
    }

    #[inline]
    pub(crate) fn u64_at(&self, idx: usize) -> Result<Option<u64>, Bad> {
        // Numbers are far more common than markers, so they are tried first.
        let Some(raw) = self.raw(idx) else {
            return Ok(None);
        };
        if let Some(value) = parse_digits(raw) {
            return Ok(Some(value));
        }
        if raw.is_empty() || is_marker(raw, self.header) {
            return Ok(None);
        }
        parse_unsigned(raw)
            .map(Some)
            .ok_or(Bad::new(idx, "an unsigned integer"))
    }

    #[inline]
    pub(crate) fn u64_opt(&self, idx: Option<usize>) -> Result<Option<u64>, Bad> {
        idx.map_or(Ok(None), |idx| self.u64_at(idx))
    }

    #[inline]
    pub(crate) fn port_at(&self, idx: usize) -> Result<Option<u16>, Bad> {
        match self.u64_at(idx) {
            Ok(Some(port)) => u16::try_from(port)
                .map(Some)
                .map_err(|_| Bad::new(idx, "a port number")),
            Ok(None) => Ok(None),
            Err(_) => Err(Bad::new(idx, "a port number")),
        }
    }

    pub(crate) fn f64_at(&self, idx: usize) -> Result<Option<f64>, Bad> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        raw.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .map(Some)
            .ok_or(Bad::new(idx, "a number"))
    }

    pub(crate) fn f64_opt(&self, idx: Option<usize>) -> Result<Option<f64>, Bad> {
        idx.map_or(Ok(None), |idx| self.f64_at(idx))
    }

    #[inline]
    pub(crate) fn bool_at(&self, idx: usize) -> Result<Option<bool>, Bad> {
        match self.raw(idx) {
            None => Ok(None),
            Some("T") => Ok(Some(true)),
            Some("F") => Ok(Some(false)),
            Some(raw) if raw.is_empty() || is_marker(raw, self.header) => Ok(None),
            Some(_) => Err(Bad::new(idx, "T or F")),
        }
    }

    #[inline]
    pub(crate) fn bool_opt(&self, idx: Option<usize>) -> Result<Option<bool>, Bad> {
        idx.map_or(Ok(None), |idx| self.bool_at(idx))
    }

    #[inline]
    pub(crate) fn addr_at(&self, idx: usize) -> Result<Option<IpAddr>, Bad> {
        // Addresses are far more common than markers, so they are tried first.
        let Some(raw) = self.raw(idx) else {
            return Ok(None);
        };
        if let Some(address) = parse_ipv4(raw) {
            return Ok(Some(IpAddr::V4(address)));
        }
        if raw.is_empty() || is_marker(raw, self.header) {
            return Ok(None);
        }
        raw.parse::<IpAddr>()
            .map(Some)
            .map_err(|_| Bad::new(idx, "an IP address"))
    }

    pub(crate) fn time_at(&self, idx: usize) -> Result<Option<Timestamp>, Bad> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        Timestamp::parse(raw)
            .map(Some)
            .ok_or(Bad::new(idx, "a time (epoch seconds or ISO-8601)"))
    }

    /// The full error for a failed `*_at` parse.
    #[cold]
    pub(crate) fn explain(&self, bad: Bad) -> FieldError {
        self.error(bad.idx, self.raw(bad.idx).unwrap_or(""), bad.expected)
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
        self.raw(idx)
            .filter(|raw| !raw.is_empty() && !is_marker(raw, self.header))
    }
}

/// True when `raw` is the unset or empty marker. Written out so the common one-byte compare
/// does not go through `memcmp`.
#[inline]
pub(crate) fn is_marker(raw: &str, header: &Header) -> bool {
    let same = |marker: &str| {
        raw.len() == marker.len()
            && raw
                .bytes()
                .zip(marker.bytes())
                .all(|(left, right)| left == right)
    };
    same(&header.unset_field) || same(&header.empty_field)
}

/// Parses 1 to 19 decimal digits (which can't overflow a u64); `None` for anything else.
#[inline]
fn parse_digits(raw: &str) -> Option<u64> {
    let bytes = raw.as_bytes();
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    let mut value = 0u64;
    for &byte in bytes {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value * 10 + u64::from(digit);
    }
    Some(value)
}

/// Dotted-quad IPv4 in one pass over the bytes, several times faster than `Ipv4Addr::from_str`;
/// `None` sends the text to the standard parser, which also handles IPv6 (and rejects what this
/// rejects, such as leading zeros).
#[inline]
fn parse_ipv4(raw: &str) -> Option<std::net::Ipv4Addr> {
    let bytes = raw.as_bytes();
    if !(7..=15).contains(&bytes.len()) {
        return None;
    }
    let mut octets = [0u8; 4];
    let mut octet_idx = 0;
    let mut value = 0u32;
    let mut digits = 0;
    for &byte in bytes {
        if byte == b'.' {
            if digits == 0 || octet_idx == 3 {
                return None;
            }
            octets[octet_idx] = u8::try_from(value).ok()?;
            octet_idx += 1;
            value = 0;
            digits = 0;
        } else {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 || (digits == 1 && value == 0) || digits == 3 {
                return None;
            }
            value = value * 10 + u32::from(digit);
            digits += 1;
        }
    }
    if octet_idx != 3 || digits == 0 {
        return None;
    }
    octets[3] = u8::try_from(value).ok()?;
    Some(std::net::Ipv4Addr::from(octets))
}

/// Parses decimal or `0x` hex, ignoring a `/proto` suffix (`502/tcp`).
pub(crate) fn parse_unsigned(raw: &str) -> Option<u64> {
    if let Some(value) = parse_digits(raw) {
        return Some(value);
    }
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
