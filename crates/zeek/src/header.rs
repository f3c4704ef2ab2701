//! The `#` header of a Zeek TSV log block (separators, markers, path, field names and types), and
//! the builder that collects its directive lines.
//!
//! A header is parsed once per block and shared behind an [`Arc`]: every record of the block
//! points at it, so typed views resolve column indexes once per block rather than once per line.

use std::sync::Arc;

use crate::escape::unescape;

/// The format a log was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Zeek's ASCII writer: `#` header lines, then tab-separated values.
    Tsv,
    /// Zeek's JSON writer: one object per line.
    Json,
}

impl std::fmt::Display for Format {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(match self {
            Format::Tsv => "tsv",
            Format::Json => "json",
        })
    }
}

/// The description of one block of records: how values are separated and marked, and the column
/// names (and Zeek types, when the log says) in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub(crate) format: Format,
    pub(crate) separator: u8,
    pub(crate) set_separator: String,
    pub(crate) empty_field: String,
    pub(crate) unset_field: String,
    pub(crate) path: Option<String>,
    pub(crate) open: Option<String>,
    pub(crate) fields: Vec<String>,
    pub(crate) types: Vec<String>,
    pub(crate) line_number: u64,
}

impl Header {
    /// A TSV header with Zeek's default separators and markers and the given column names, for
    /// header-less input such as `zeek-cut` output read with an explicit field list.
    pub fn with_fields<I, S>(path: Option<&str>, fields: I) -> Header
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Header {
            format: Format::Tsv,
            separator: b'\t',
            set_separator: ",".to_owned(),
            empty_field: "(empty)".to_owned(),
            unset_field: "-".to_owned(),
            path: path.map(str::to_owned),
            open: None,
            fields: fields.into_iter().map(Into::into).collect(),
            types: Vec::new(),
            line_number: 0,
        }
    }

    /// The format the block was read from.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The `#path` (`conn`, `modbus`, ...), or for JSON and header-less input the name the log
    /// file suggests (`_path` when a JSON line carries it).
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The `#open` stamp, if the block has one.
    pub fn open(&self) -> Option<&str> {
        self.open.as_deref()
    }

    /// Column names in order (`ts`, `uid`, `id.orig_h`, ...).
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Zeek types in column order (`time`, `addr`, `set[string]`, ...); empty when the input does
    /// not declare them (JSON, explicit field lists).
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// The Zeek type of column `idx`, when declared.
    pub fn type_of(&self, idx: usize) -> Option<&str> {
        self.types.get(idx).map(String::as_str)
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when the header has no columns (never the case for a header the reader produced).
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The index of the first column with this name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| field == name)
    }

    /// The field separator byte.
    pub fn separator(&self) -> u8 {
        self.separator
    }

    /// The separator between set and vector items (`,`).
    pub fn set_separator(&self) -> &str {
        &self.set_separator
    }

    /// The marker of an empty set, vector or string (`(empty)`).
    pub fn empty_field(&self) -> &str {
        &self.empty_field
    }

    /// The marker of an unset value (`-`).
    pub fn unset_field(&self) -> &str {
        &self.unset_field
    }

    /// The line of the stream at which this header took effect (its first data line, or the
    /// line that introduced it for JSON); 0 for headers built by hand.
    pub fn line_number(&self) -> u64 {
        self.line_number
    }
}

/// What one `#` line of a TSV header said.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Directive {
    Separator(Vec<u8>),
    SetSeparator(String),
    EmptyField(String),
    UnsetField(String),
    Path(String),
    Open(String),
    Close,
    Fields(Vec<String>),
    Types(Vec<String>),
    /// Any other `#` line: btest banners (`### BTest baseline ...`) and unknown directives.
    Comment,
}

/// Parses a `#` line. `separator` is the field separator in force, used to find the end of the
/// directive name and to split `#fields` and `#types`; btest baselines write `#open` and
/// `#close` with a space, so a space also ends the name.
pub(crate) fn parse_directive(line: &str, separator: u8) -> Directive {
    let Some(body) = line.strip_prefix('#') else {
        return Directive::Comment;
    };
    let name_end = body
        .bytes()
        .position(|byte| byte == separator || byte == b' ')
        .unwrap_or(body.len());
    let name = &body[..name_end];
    let value = body.get(name_end + 1..).unwrap_or("");
    let split = |value: &str| -> Vec<String> {
        value
            .split(char::from(separator))
            .map(|item| unescape(item).into_owned())
            .collect()
    };
    match name {
        "separator" => Directive::Separator(unescape(value.trim()).as_bytes().to_vec()),
        "set_separator" => Directive::SetSeparator(unescape(value).into_owned()),
        "empty_field" => Directive::EmptyField(unescape(value).into_owned()),
        "unset_field" => Directive::UnsetField(unescape(value).into_owned()),
        "path" => Directive::Path(unescape(value).into_owned()),
        "open" => Directive::Open(value.trim().to_owned()),
        "close" => Directive::Close,
        "fields" => Directive::Fields(split(value)),
        "types" => Directive::Types(split(value)),
        _ => Directive::Comment,
    }
}

/// Collects the directive lines of one block until its first data line.
#[derive(Debug, Clone)]
pub(crate) struct HeaderBuilder {
    pub(crate) header: Header,
    pub(crate) has_fields: bool,
    pub(crate) first_line: u64,
}

impl HeaderBuilder {
    /// Starts a block. Separators and markers carry over from the previous block, so a stream
    /// that repeats only `#fields` keeps the separators it declared earlier.
    pub(crate) fn new(previous: Option<&Header>, first_line: u64) -> HeaderBuilder {
        let mut header = Header::with_fields(None, Vec::<String>::new());
        if let Some(previous) = previous {
            header.separator = previous.separator;
            header.set_separator.clone_from(&previous.set_separator);
            header.empty_field.clone_from(&previous.empty_field);
            header.unset_field.clone_from(&previous.unset_field);
        }
        HeaderBuilder {
            header,
            has_fields: false,
            first_line,
        }
    }

    pub(crate) fn finish(mut self, line_number: u64) -> Arc<Header> {
        self.header.line_number = line_number;
        Arc::new(self.header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(line: &str, expected: Directive) {
        assert_eq!(parse_directive(line, b'\t'), expected, "{line:?}");
    }

    #[test]
    fn reads_each_directive() {
        check("#separator \\x09", Directive::Separator(vec![b'\t']));
        check("#set_separator\t,", Directive::SetSeparator(",".into()));
        check(
            "#empty_field\t(empty)",
            Directive::EmptyField("(empty)".into()),
        );
        check("#unset_field\t-", Directive::UnsetField("-".into()));
        check("#path\tconn", Directive::Path("conn".into()));
        check(
            "#open\t2016-06-24-11-48-43",
            Directive::Open("2016-06-24-11-48-43".into()),
        );
        check(
            "#open XXXX-XX-XX-XX-XX-XX",
            Directive::Open("XXXX-XX-XX-XX-XX-XX".into()),
        );
        check("#close XXXX-XX-XX-XX-XX-XX", Directive::Close);
        check(
            "#fields\tts\tid.orig_h",
            Directive::Fields(vec!["ts".into(), "id.orig_h".into()]),
        );
        check(
            "#types\ttime\tset[string]",
            Directive::Types(vec!["time".into(), "set[string]".into()]),
        );
        check(
            "### BTest baseline data generated by btest-diff.",
            Directive::Comment,
        );
        check("#something\telse", Directive::Comment);
    }
}
