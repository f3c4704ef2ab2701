//! Writing Zeek logs in Zeek's own TSV and JSON formats (used by the plant simulator and tests).
//!
//! A [`LogWriter`] is generic over [`std::io::Write`] and writes one log stream: in TSV it opens with
//! the header block Zeek writes (`#separator \x09`, `#set_separator`, `#empty_field`,
//! `#unset_field`, `#path`, `#open`, `#fields`, `#types`) and ends with `#close`; in JSON it writes
//! one object per line with Zeek's dotted names (`id.orig_h`) and leaves unset fields out, as Zeek
//! does. Rows are built field by field with typed calls (`time`, `string`, `count`, ...), which keeps
//! the hot path free of allocation: numbers are formatted with `itoa`, times are integers of
//! microseconds, and nothing is buffered beyond the current row.
//!
//! Strings are escaped as Zeek's ASCII writer escapes them: a backslash, any byte that is not
//! printable ASCII, and every byte of the separator (and, inside sets and vectors, of the set
//! separator) become `\xNN` with lower-case hex digits; an empty string is written as the empty-field
//! marker and a string equal to the unset-field marker gets its first byte escaped.
//!
//! ```
//! use zeek::write::{FieldType, LogFormat, LogSchema, LogWriter};
//!
//! let schema = LogSchema::new("demo", &[("ts", FieldType::Time), ("id.orig_h", FieldType::Addr)]);
//! let mut writer = LogWriter::new(Vec::new(), LogFormat::Json, schema);
//! writer.begin_row().time(1_600_000_000_250_000).addr("10.0.0.1");
//! writer.end_row().unwrap();
//! let bytes = writer.finish(1_600_000_001_000_000).unwrap();
//! assert_eq!(String::from_utf8(bytes).unwrap(), "{\"ts\":1600000000.25,\"id.orig_h\":\"10.0.0.1\"}\n");
//! ```

use std::io::{self, Write};

/// The default separators of Zeek's ASCII writer.
pub const SEPARATOR: u8 = b'\t';
pub const SET_SEPARATOR: u8 = b',';
pub const EMPTY_FIELD: &str = "(empty)";
pub const UNSET_FIELD: &str = "-";

/// Which of Zeek's two log encodings to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Zeek's ASCII TSV with its `#` header block.
    Tsv,
    /// One JSON object per line (`LogAscii::use_json=T`).
    Json,
}

/// A Zeek field type, as written in the `#types` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Time,
    Interval,
    String,
    Addr,
    Port,
    Count,
    Bool,
    Enum,
    SetString,
    VectorCount,
    VectorString,
}

impl FieldType {
    /// The name Zeek writes in the `#types` header line.
    pub fn zeek_name(self) -> &'static str {
        match self {
            FieldType::Time => "time",
            FieldType::Interval => "interval",
            FieldType::String => "string",
            FieldType::Addr => "addr",
            FieldType::Port => "port",
            FieldType::Count => "count",
            FieldType::Bool => "bool",
            FieldType::Enum => "enum",
            FieldType::SetString => "set[string]",
            FieldType::VectorCount => "vector[count]",
            FieldType::VectorString => "vector[string]",
        }
    }
}

/// The path and field layout of one log stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSchema {
    pub path: String,
    pub fields: Vec<(String, FieldType)>,
}

impl LogSchema {
    /// A schema from a path and a list of (name, type) pairs in column order.
    pub fn new(path: &str, fields: &[(&str, FieldType)]) -> Self {
        LogSchema {
            path: path.to_owned(),
            fields: fields
                .iter()
                .map(|(name, kind)| ((*name).to_owned(), *kind))
                .collect(),
        }
    }
}

/// Errors from writing a log stream.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing log {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("log {path}: row has {got} values but the schema has {expected} fields")]
    FieldCount {
        path: String,
        got: usize,
        expected: usize,
    },
}

/// Writes one Zeek log stream, row by row, to any [`Write`].
///
/// The header is written lazily before the first row (or by [`LogWriter::finish`] for an empty
/// log), with `#open` set to the timestamp of that first call: log time, not wall-clock time, so
/// that the same records give byte-identical files.
#[derive(Debug)]
pub struct LogWriter<W: Write> {
    out: W,
    format: LogFormat,
    schema: LogSchema,
    row: Vec<u8>,
    field_idx: usize,
    header_written: bool,
    n_rows: u64,
    n_bytes: u64,
}

impl<W: Write> LogWriter<W> {
    pub fn new(out: W, format: LogFormat, schema: LogSchema) -> Self {
        LogWriter {
            out,
            format,
            schema,
            row: Vec::with_capacity(512),
            field_idx: 0,
            header_written: false,
            n_rows: 0,
            n_bytes: 0,
        }
    }

    pub fn schema(&self) -> &LogSchema {
        &self.schema
    }

    /// The writer the rows go to.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// Rows written so far.
    pub fn n_rows(&self) -> u64 {
        self.n_rows
    }

    /// Bytes written so far, header included.
    pub fn n_bytes(&self) -> u64 {
        self.n_bytes
    }

    /// Writes the TSV header block with `#open` at `open_micros` (epoch microseconds); a no-op
    /// for JSON and when the header is already written.
    pub fn write_header(&mut self, open_micros: i64) -> Result<(), WriteError> {
        if self.header_written {
            return Ok(());
        }
        self.header_written = true;
        if self.format == LogFormat::Json {
            return Ok(());
        }
        let mut header = String::with_capacity(512);
        header.push_str("#separator \\x09\n");
        header.push_str("#set_separator\t,\n");
        header.push_str("#empty_field\t(empty)\n");
        header.push_str("#unset_field\t-\n");
        header.push_str("#path\t");
        header.push_str(&self.schema.path);
        header.push_str("\n#open\t");
        header.push_str(&zeek_timestamp(open_micros));
        header.push_str("\n#fields");
        for (name, _) in &self.schema.fields {
            header.push('\t');
            header.push_str(name);
        }
        header.push_str("\n#types");
        for (_, kind) in &self.schema.fields {
            header.push('\t');
            header.push_str(kind.zeek_name());
        }
        header.push('\n');
        self.put(header.as_bytes())
    }

    /// Starts a row; follow with one typed call per field, then [`LogWriter::end_row`].
    pub fn begin_row(&mut self) -> &mut Self {
        self.row.clear();
        self.field_idx = 0;
        if self.format == LogFormat::Json {
            self.row.push(b'{');
        }
        self
    }

    /// Finishes the row and writes it; fails if the row has the wrong number of fields.
    pub fn end_row(&mut self) -> Result<(), WriteError> {
        let expected = self.schema.fields.len();
        if self.field_idx != expected {
            return Err(WriteError::FieldCount {
                path: self.schema.path.clone(),
                got: self.field_idx,
                expected,
            });
        }
        if !self.header_written {
            let open = self.first_row_time();
            self.write_header(open)?;
        }
        match self.format {
            LogFormat::Tsv => self.row.push(b'\n'),
            LogFormat::Json => self.row.extend_from_slice(b"}\n"),
        }
        let row = std::mem::take(&mut self.row);
        let result = self.put(&row);
        self.row = row;
        self.n_rows += 1;
        result
    }

    /// Flushes the inner writer. Rows are handed to it whole, so a live reader of the file
    /// sees complete lines up to here.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.out.flush().map_err(|source| WriteError::Io {
            path: self.schema.path.clone(),
            source,
        })
    }

    /// Writes `#close` (TSV) at `close_micros`, flushes, and returns the inner writer.
    pub fn finish(mut self, close_micros: i64) -> Result<W, WriteError> {
        if !self.header_written {
            self.write_header(close_micros)?;
        }
        if self.format == LogFormat::Tsv {
            let close = format!("#close\t{}\n", zeek_timestamp(close_micros));
            self.put(close.as_bytes())?;
        }
        let path = self.schema.path.clone();
        self.out
            .flush()
            .map_err(|source| WriteError::Io { path, source })?;
        Ok(self.out)
    }

    /// A `time` field from epoch microseconds.
    pub fn time(&mut self, micros: i64) -> &mut Self {
        self.key();
        match self.format {
            LogFormat::Tsv => push_micros_fixed(&mut self.row, micros),
            LogFormat::Json => push_micros_short(&mut self.row, micros),
        }
        self
    }

    /// An `interval` field from microseconds.
    pub fn interval(&mut self, micros: i64) -> &mut Self {
        self.time(micros)
    }

    /// A `count` field.
    pub fn count(&mut self, value: u64) -> &mut Self {
        self.key();
        push_u64(&mut self.row, value);
        self
    }

    /// A `port` field.
    pub fn port(&mut self, value: u16) -> &mut Self {
        self.count(u64::from(value))
    }

    /// A `bool` field (`T`/`F` in TSV, `true`/`false` in JSON).
    pub fn bool(&mut self, value: bool) -> &mut Self {
        self.key();
        let text: &[u8] = match (self.format, value) {
            (LogFormat::Tsv, true) => b"T",
            (LogFormat::Tsv, false) => b"F",
            (LogFormat::Json, true) => b"true",
            (LogFormat::Json, false) => b"false",
        };
        self.row.extend_from_slice(text);
        self
    }

    /// An `addr` field (written as given; addresses need no escaping).
    pub fn addr(&mut self, value: &str) -> &mut Self {
        self.string(value)
    }

    /// A `string` or `enum` field, escaped as Zeek escapes it.
    pub fn string(&mut self, value: &str) -> &mut Self {
        self.key();
        match self.format {
            LogFormat::Tsv => push_tsv_string(&mut self.row, value.as_bytes(), false),
            LogFormat::Json => push_json_string(&mut self.row, value),
        }
        self
    }

    /// An unset field: `-` in TSV, left out of the object in JSON.
    pub fn unset(&mut self) -> &mut Self {
        match self.format {
            LogFormat::Tsv => {
                if self.field_idx > 0 {
                    self.row.push(SEPARATOR);
                }
                self.row.extend_from_slice(UNSET_FIELD.as_bytes());
            }
            LogFormat::Json => {}
        }
        self.field_idx += 1;
        self
    }

    /// A `vector[count]` field; an empty slice is written as the empty-field marker.
    pub fn counts(&mut self, values: &[u64]) -> &mut Self {
        self.key();
        match self.format {
            LogFormat::Tsv if values.is_empty() => {
                self.row.extend_from_slice(EMPTY_FIELD.as_bytes());
            }
            LogFormat::Tsv => {
                for (idx, value) in values.iter().enumerate() {
                    if idx > 0 {
                        self.row.push(SET_SEPARATOR);
                    }
                    push_u64(&mut self.row, *value);
                }
            }
            LogFormat::Json => {
                self.row.push(b'[');
                for (idx, value) in values.iter().enumerate() {
                    if idx > 0 {
                        self.row.push(b',');
                    }
                    push_u64(&mut self.row, *value);
                }
                self.row.push(b']');
            }
        }
        self
    }

    /// A `set[string]` or `vector[string]` field; an empty slice is the empty-field marker.
    pub fn strings(&mut self, values: &[&str]) -> &mut Self {
        self.key();
        match self.format {
            LogFormat::Tsv if values.is_empty() => {
                self.row.extend_from_slice(EMPTY_FIELD.as_bytes());
            }
            LogFormat::Tsv => {
                for (idx, value) in values.iter().enumerate() {
                    if idx > 0 {
                        self.row.push(SET_SEPARATOR);
                    }
                    push_tsv_string(&mut self.row, value.as_bytes(), true);
                }
            }
            LogFormat::Json => {
                self.row.push(b'[');
                for (idx, value) in values.iter().enumerate() {
                    if idx > 0 {
                        self.row.push(b',');
                    }
                    push_json_string(&mut self.row, value);
                }
                self.row.push(b']');
            }
        }
        self
    }

    /// Writes the separator (TSV) or `"name":` (JSON) before a set value.
    fn key(&mut self) {
        match self.format {
            LogFormat::Tsv => {
                if self.field_idx > 0 {
                    self.row.push(SEPARATOR);
                }
            }
            LogFormat::Json => {
                if self.row.len() > 1 {
                    self.row.push(b',');
                }
                self.row.push(b'"');
                let name = self
                    .schema
                    .fields
                    .get(self.field_idx)
                    .map_or("", |(name, _)| name.as_str());
                self.row.extend_from_slice(name.as_bytes());
                self.row.extend_from_slice(b"\":");
            }
        }
        self.field_idx += 1;
    }

    /// The first row's `ts` when it is the first column (as in every Zeek log), else 0.
    fn first_row_time(&self) -> i64 {
        if self.format != LogFormat::Tsv {
            return 0;
        }
        let end = memchr_tab(&self.row).unwrap_or(self.row.len());
        parse_micros(&self.row[..end]).unwrap_or(0)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        self.n_bytes += bytes.len() as u64;
        self.out.write_all(bytes).map_err(|source| WriteError::Io {
            path: self.schema.path.clone(),
            source,
        })
    }
}

fn memchr_tab(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|byte| *byte == SEPARATOR)
}

/// Parses `secs.micros` as written by [`push_micros_fixed`].
fn parse_micros(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let (secs, frac) = text.split_once('.')?;
    let secs: i64 = secs.parse().ok()?;
    let frac: i64 = frac.parse().ok()?;
    Some(secs * 1_000_000 + frac)
}

/// Zeek's `#open`/`#close` timestamp (`%Y-%m-%d-%H-%M-%S`, UTC) for epoch microseconds.
pub fn zeek_timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let secs_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}-{:02}-{:02}-{:02}",
        secs_of_day / 3600,
        (secs_of_day / 60) % 60,
        secs_of_day % 60
    )
}

/// Days since 1970-01-01 to a (year, month, day) civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn push_u64(row: &mut Vec<u8>, value: u64) {
    let mut buffer = itoa::Buffer::new();
    row.extend_from_slice(buffer.format(value).as_bytes());
}

/// `secs.uuuuuu`, the fixed six decimals of Zeek's TSV `time` and `interval`.
fn push_micros_fixed(row: &mut Vec<u8>, micros: i64) {
    if micros < 0 {
        row.push(b'-');
    }
    let magnitude = micros.unsigned_abs();
    push_u64(row, magnitude / 1_000_000);
    row.push(b'.');
    let frac = magnitude % 1_000_000;
    let mut digits = [b'0'; 6];
    let mut rest = frac;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    row.extend_from_slice(&digits);
}

/// The shortest decimal that reads back as the same microsecond value, as Zeek's JSON writer
/// prints doubles (`1424273686.9526`, `1424273687.0`).
fn push_micros_short(row: &mut Vec<u8>, micros: i64) {
    let start = row.len();
    push_micros_fixed(row, micros);
    while row.len() > start && row.last() == Some(&b'0') {
        row.pop();
    }
    if row.last() == Some(&b'.') {
        row.push(b'0');
    }
}

/// Escapes `value` as Zeek's ASCII writer does; `in_container` also escapes the set separator.
fn push_tsv_string(row: &mut Vec<u8>, value: &[u8], in_container: bool) {
    if value.is_empty() {
        row.extend_from_slice(EMPTY_FIELD.as_bytes());
        return;
    }
    let mut rest = value;
    if value == UNSET_FIELD.as_bytes() {
        push_hex_escape(row, value[0]);
        rest = &value[1..];
    }
    let needs_escape = |byte: u8| {
        byte == b'\\'
            || !(0x20..0x7f).contains(&byte)
            || byte == SEPARATOR
            || (in_container && byte == SET_SEPARATOR)
    };
    // Almost every value (uids, addresses, names) needs no escape: copy it in one go.
    let Some(first) = rest.iter().position(|byte| needs_escape(*byte)) else {
        row.extend_from_slice(rest);
        return;
    };
    row.extend_from_slice(&rest[..first]);
    for &byte in &rest[first..] {
        if needs_escape(byte) {
            push_hex_escape(row, byte);
        } else {
            row.push(byte);
        }
    }
}

fn push_hex_escape(row: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    row.extend_from_slice(&[
        b'\\',
        b'x',
        HEX[usize::from(byte >> 4)],
        HEX[usize::from(byte & 0x0f)],
    ]);
}

/// A JSON string literal with the escapes JSON requires.
fn push_json_string(row: &mut Vec<u8>, value: &str) {
    row.push(b'"');
    for &byte in value.as_bytes() {
        match byte {
            b'"' => row.extend_from_slice(b"\\\""),
            b'\\' => row.extend_from_slice(b"\\\\"),
            b'\n' => row.extend_from_slice(b"\\n"),
            b'\r' => row.extend_from_slice(b"\\r"),
            b'\t' => row.extend_from_slice(b"\\t"),
            0x00..=0x1f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                row.extend_from_slice(b"\\u00");
                row.push(HEX[usize::from(byte >> 4)]);
                row.push(HEX[usize::from(byte & 0x0f)]);
            }
            _ => row.push(byte),
        }
    }
    row.push(b'"');
}

/// Escapes one string value for a TSV field exactly as Zeek's ASCII writer does.
pub fn escape_tsv(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len());
    push_tsv_string(&mut out, value.as_bytes(), false);
    // Every byte written is ASCII: non-ASCII input bytes were escaped.
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_escape(input: &str, expected: &str) {
        assert_eq!(escape_tsv(input), expected, "escaping {input:?}");
    }

    #[test]
    fn escapes_like_zeek() {
        check_escape("plain text", "plain text");
        check_escape("", "(empty)");
        check_escape("-", "\\x2d");
        check_escape("--", "--");
        check_escape("a\tb", "a\\x09b");
        check_escape("back\\slash", "back\\x5cslash");
        check_escape("nul\0", "nul\\x00");
        check_escape("é", "\\xc3\\xa9");
        check_escape("a,b", "a,b");
    }

    fn schema() -> LogSchema {
        LogSchema::new(
            "test",
            &[
                ("ts", FieldType::Time),
                ("id.orig_h", FieldType::Addr),
                ("n", FieldType::Count),
                ("ok", FieldType::Bool),
                ("tags", FieldType::SetString),
                ("values", FieldType::VectorCount),
                ("note", FieldType::String),
            ],
        )
    }

    fn one_row(format: LogFormat) -> String {
        let mut writer = LogWriter::new(Vec::new(), format, schema());
        writer
            .begin_row()
            .time(1_790_000_000_000_123)
            .addr("10.0.0.1")
            .count(42)
            .bool(true)
            .strings(&["a", "b,c"])
            .counts(&[])
            .unset();
        writer.end_row().unwrap();
        String::from_utf8(writer.finish(1_790_000_060_000_000).unwrap()).unwrap()
    }

    #[test]
    fn tsv_has_zeek_header_and_close() {
        let text = one_row(LogFormat::Tsv);
        let expected = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n\
            #path\ttest\n#open\t2026-09-21-14-13-20\n\
            #fields\tts\tid.orig_h\tn\tok\ttags\tvalues\tnote\n\
            #types\ttime\taddr\tcount\tbool\tset[string]\tvector[count]\tstring\n\
            1790000000.000123\t10.0.0.1\t42\tT\ta,b\\x2cc\t(empty)\t-\n\
            #close\t2026-09-21-14-14-20\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_uses_dotted_names_and_omits_unset() {
        let text = one_row(LogFormat::Json);
        assert_eq!(
            text,
            "{\"ts\":1790000000.000123,\"id.orig_h\":\"10.0.0.1\",\"n\":42,\"ok\":true,\
             \"tags\":[\"a\",\"b,c\"],\"values\":[]}\n"
        );
        let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(value["id.orig_h"], "10.0.0.1");
    }

    #[test]
    fn wrong_field_count_is_an_error() {
        let mut writer = LogWriter::new(Vec::new(), LogFormat::Tsv, schema());
        writer.begin_row().time(0);
        let error = writer.end_row().unwrap_err();
        assert!(error.to_string().contains("1 values but the schema has 7"));
    }

    proptest::proptest! {
        /// Whatever the value, the written field holds no separator or line end, and the
        /// reader's unescaping gives the value back.
        #[test]
        fn escaped_values_read_back(value in "\\PC*|[\t\n\\,x-]{0,6}") {
            let escaped = escape_tsv(&value);
            proptest::prop_assert!(!escaped.contains(['\t', '\n', '\r']));
            if !value.is_empty() && value != EMPTY_FIELD {
                proptest::prop_assert_eq!(crate::escape::unescape(&escaped), value.as_str());
            }
        }
    }

    #[test]
    fn short_json_time_keeps_one_decimal() {
        let mut row = Vec::new();
        push_micros_short(&mut row, 1_424_273_687_000_000);
        assert_eq!(row, b"1424273687.0");
        row.clear();
        push_micros_short(&mut row, 1_424_273_686_952_600);
        assert_eq!(row, b"1424273686.9526");
    }
}
