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
    /// False when the decoder found no backslash in the whole line, so no field needs
    /// unescaping; true when unknown.
    pub(crate) may_escape: bool,
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

    /// The bytes of column `idx`, for parsers of numbers, addresses and times, which look at
    /// ASCII only: slicing bytes skips the char-boundary checks `str` slicing pays, and the
    /// decoder already made the spans valid for this text.
    #[inline]
    fn raw_bytes(&self, idx: usize) -> Option<&'a [u8]> {
        let span = self.spans.get(idx)?;
        self.text
            .as_bytes()
            .get(span.start as usize..span.end as usize)
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
            Some(raw) if self.may_escape && raw.bytes().any(|byte| byte == b'\\') => {
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
        let Some(bytes) = self.raw_bytes(idx) else {
            return Ok(None);
        };
        if let Some(value) = parse_digits(bytes) {
            return Ok(Some(value));
        }
        self.u64_slow(idx)
    }

    /// Markers, hex and `/proto` suffixes: kept out of line so the common decimal case stays
    /// small enough to inline.
    #[cold]
    #[inline(never)]
    fn u64_slow(&self, idx: usize) -> Result<Option<u64>, Bad> {
        let Some(raw) = self.raw(idx) else {
            return Ok(None);
        };
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

    #[inline]
    pub(crate) fn f64_at(&self, idx: usize) -> Result<Option<f64>, Bad> {
        if let Some(value) = self.raw_bytes(idx).and_then(parse_decimal) {
            return Ok(Some(value));
        }
        self.f64_slow(idx)
    }

    /// Markers, exponents and long numbers: out of line, as in [`Record::u64_slow`].
    #[cold]
    #[inline(never)]
    fn f64_slow(&self, idx: usize) -> Result<Option<f64>, Bad> {
        let Some(raw) = self.value_text(idx) else {
            return Ok(None);
        };
        raw.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .map(Some)
            .ok_or(Bad::new(idx, "a number"))
    }

    #[inline]
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
        if let Some(address) = self.raw_bytes(idx).and_then(parse_ipv4) {
            return Ok(Some(IpAddr::V4(address)));
        }
        self.addr_slow(idx)
    }

    /// Markers and IPv6: out of line, as in [`Record::u64_slow`].
    #[cold]
    #[inline(never)]
    fn addr_slow(&self, idx: usize) -> Result<Option<IpAddr>, Bad> {
        let Some(raw) = self.raw(idx) else {
            return Ok(None);
        };
        if raw.is_empty() || is_marker(raw, self.header) {
            return Ok(None);
        }
        raw.parse::<IpAddr>()
            .map(Some)
            .map_err(|_| Bad::new(idx, "an IP address"))
    }

    #[inline]
    pub(crate) fn time_at(&self, idx: usize) -> Result<Option<Timestamp>, Bad> {
        if let Some(micros) = self.raw_bytes(idx).and_then(crate::time::parse_zeek_epoch) {
            return Ok(Some(Timestamp::Micros(micros)));
        }
        self.time_slow(idx)
    }

    /// Markers, masks and ISO-8601: out of line, as in [`Record::u64_slow`].
    #[cold]
    #[inline(never)]
    fn time_slow(&self, idx: usize) -> Result<Option<Timestamp>, Bad> {
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
fn parse_digits(bytes: &[u8]) -> Option<u64> {
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

/// Dotted-quad IPv4, octet by octet, several times faster than `Ipv4Addr::from_str`; `None`
/// sends the text to the standard parser, which also handles IPv6 (and rejects what this
/// rejects, such as leading zeros: the property tests check both agree on every string).
#[inline]
pub(crate) fn parse_ipv4(bytes: &[u8]) -> Option<std::net::Ipv4Addr> {
    if !(7..=15).contains(&bytes.len()) {
        return None;
    }
    let (first, rest) = parse_octet(bytes)?;
    let (second, rest) = parse_octet(rest.strip_prefix(b".")?)?;
    let (third, rest) = parse_octet(rest.strip_prefix(b".")?)?;
    let (fourth, rest) = parse_octet(rest.strip_prefix(b".")?)?;
    if !rest.is_empty() {
        return None;
    }
    Some(std::net::Ipv4Addr::new(first, second, third, fourth))
}

/// One octet: 1 to 3 digits without a leading zero, at most 255; returns the rest.
#[inline(always)]
fn parse_octet(bytes: &[u8]) -> Option<(u8, &[u8])> {
    let digit = |idx: usize| {
        bytes
            .get(idx)
            .map(|byte| byte.wrapping_sub(b'0'))
            .filter(|digit| *digit <= 9)
    };
    let first = digit(0)?;
    let Some(second) = digit(1) else {
        return Some((first, &bytes[1..]));
    };
    if first == 0 {
        return None;
    }
    let Some(third) = digit(2) else {
        return Some((first * 10 + second, &bytes[2..]));
    };
    let value = u16::from(first) * 100 + u16::from(second) * 10 + u16::from(third);
    Some((u8::try_from(value).ok()?, bytes.get(3..)?))
}

/// The powers of ten a `f64` holds exactly.
const EXACT_POWERS: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// `digits[.digits]` with at most 15 digits in all (how Zeek writes intervals: `12.345678`),
/// without going through the general float parser. With at most 15 digits the mantissa and the
/// power of ten are both exact in a `f64`, so one correctly rounded division gives the same
/// value as `str::parse::<f64>` (Clinger's fast path). `None` for anything else, which then
/// goes to the standard parser.
#[inline]
pub(crate) fn parse_decimal(bytes: &[u8]) -> Option<f64> {
    if bytes.is_empty() || bytes.len() > 16 {
        return None;
    }
    // Zeek writes intervals with exactly six decimals, which the timestamp's word-at-a-time
    // reader takes; at most 15 digits keep the microseconds exact, so the division rounds once.
    if let Some(micros) = crate::time::parse_zeek_epoch(bytes) {
        return Some(micros as f64 / 1e6);
    }
    let mut mantissa = 0u64;
    let mut point = None;
    for (idx, &byte) in bytes.iter().enumerate() {
        let digit = byte.wrapping_sub(b'0');
        if digit <= 9 {
            mantissa = mantissa * 10 + u64::from(digit);
        } else if byte == b'.' && point.is_none() {
            point = Some(idx);
        } else {
            return None;
        }
    }
    let fraction_digits = match point {
        // `5.` and `.5` are numbers to `f64::from_str`; keep them on that path.
        Some(idx) if idx == 0 || idx + 1 == bytes.len() => return None,
        Some(idx) => bytes.len() - idx - 1,
        None if bytes.len() > 15 => return None,
        None => 0,
    };
    Some(mantissa as f64 / *EXACT_POWERS.get(fraction_digits)?)
}

/// Parses decimal or `0x` hex, ignoring a `/proto` suffix (`502/tcp`).
pub(crate) fn parse_unsigned(raw: &str) -> Option<u64> {
    if let Some(value) = parse_digits(raw.as_bytes()) {
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

#[cfg(test)]
mod fast_parse_tests {
    //! The hand-written parsers must agree with the standard library's on every input, valid
    //! or not, since whatever they reject falls through to the standard parser.

    use std::net::Ipv4Addr;

    use proptest::prelude::*;

    use super::{parse_decimal, parse_digits, parse_ipv4};

    /// Text close to an address or a number, where the parsers' edge cases live.
    fn near_number() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9.]{0,17}",
            "[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}\\.[0-9]{1,4}",
            "[0-9+\\-.eE ]{0,17}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn ipv4_fast_path_agrees_with_std(text in near_number()) {
            prop_assert_eq!(parse_ipv4(text.as_bytes()), text.parse::<Ipv4Addr>().ok());
        }

        #[test]
        fn ipv4_reads_every_address(octets in any::<[u8; 4]>()) {
            let address = Ipv4Addr::from(octets);
            prop_assert_eq!(parse_ipv4(address.to_string().as_bytes()), Some(address));
        }

        #[test]
        fn decimal_fast_path_agrees_with_std(text in near_number()) {
            if let Some(value) = parse_decimal(text.as_bytes()) {
                prop_assert_eq!(Some(value.to_bits()), text.parse::<f64>().ok().map(f64::to_bits));
            }
        }

        #[test]
        fn decimal_reads_zeek_intervals(seconds in 0u64..1_000_000_000, micros in 0u32..1_000_000) {
            let text = format!("{seconds}.{micros:06}");
            prop_assert_eq!(parse_decimal(text.as_bytes()), text.parse::<f64>().ok());
        }

        #[test]
        fn digits_agree_with_std(text in near_number()) {
            if let Some(value) = parse_digits(text.as_bytes()) {
                prop_assert_eq!(Some(value), text.parse::<u64>().ok());
            }
        }
    }
}
