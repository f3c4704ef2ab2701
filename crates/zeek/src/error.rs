//! Errors that stop reading a stream: it can't be opened, isn't a Zeek log, or (in strict mode)
//! has a bad line. Each names the file and, where it applies, the line.

use std::path::PathBuf;

use crate::problem::Problem;

/// Shows a file name in messages, or `input` when reading from a stream without one.
fn name(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map_or_else(|| "input".to_owned(), |path| path.display().to_string())
}

/// Why a stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ZeekError {
    /// Opening or reading failed.
    #[error("cannot read {}: {source}", name(path))]
    Io {
        path: Option<PathBuf>,
        #[source]
        source: std::io::Error,
    },
    /// A path given on the command line does not exist.
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    /// A directory holds no Zeek logs.
    #[error("{} holds no Zeek log files (*.log, *.log.gz)", path.display())]
    NoLogs { path: PathBuf },
    /// The stream has no data at all.
    #[error("{} is empty", name(path))]
    Empty { path: Option<PathBuf> },
    /// A gzip stream ended before its end marker (a file still being written or cut short).
    #[error(
        "{} is a truncated gzip file (it ends before the compressed stream does)",
        name(path)
    )]
    TruncatedGzip { path: Option<PathBuf> },
    /// A gzip stream whose content is corrupt.
    #[error("{} is not a valid gzip file: {message}", name(path))]
    CorruptGzip {
        path: Option<PathBuf>,
        message: String,
    },
    /// NUL bytes or non-text near the start: not a text log.
    #[error(
        "{} looks binary (a pcap, archive or other non-text file), not a Zeek log",
        name(path)
    )]
    Binary { path: Option<PathBuf> },
    /// Data lines that start neither a TSV header nor a JSON object and have no tab.
    #[error(
        "{}:{line}: unknown format: expected a Zeek TSV header (#separator, #fields) or a JSON object, found {found:?}",
        name(path)
    )]
    UnknownFormat {
        path: Option<PathBuf>,
        line: u64,
        found: String,
    },
    /// Tab-separated rows with no `#fields` header, as `zeek-cut` prints them.
    #[error(
        "{}:{line}: tab-separated data with no #fields header ({columns} columns; looks like zeek-cut output): pass the column names explicitly (--fields ts,uid,id.orig_h,...)",
        name(path)
    )]
    Headerless {
        path: Option<PathBuf>,
        line: u64,
        columns: usize,
    },
    /// A header block that reaches its data without a `#fields` line.
    #[error(
        "{}:{line}: the header block starting at line {block_line} has no #fields line",
        name(path)
    )]
    MissingFields {
        path: Option<PathBuf>,
        line: u64,
        block_line: u64,
    },
    /// A `#types` line whose length differs from `#fields`.
    #[error(
        "{}:{line}: #types lists {types} types but #fields lists {fields} fields",
        name(path)
    )]
    TypesMismatch {
        path: Option<PathBuf>,
        line: u64,
        fields: usize,
        types: usize,
    },
    /// A `#separator` other than a single byte.
    #[error(
        "{}:{line}: unsupported #separator {separator:?}: expected a single byte such as \\x09",
        name(path)
    )]
    BadSeparator {
        path: Option<PathBuf>,
        line: u64,
        separator: String,
    },
    /// A line longer than the reader accepts (a file with no line breaks).
    #[error(
        "{}:{line}: line longer than {limit} bytes: not a Zeek log",
        name(path)
    )]
    LineTooLong {
        path: Option<PathBuf>,
        line: u64,
        limit: usize,
    },
    /// Strict mode met a bad line.
    #[error("{0} (strict mode stops at the first bad line)")]
    Strict(Problem),
}
