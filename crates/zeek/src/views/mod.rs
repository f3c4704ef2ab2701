//! Typed views of the logs otsentry uses. A view resolves its column indexes once per header
//! (by name, so any column order, site-added columns and schema versions work) and then reads
//! records into small structs whose text borrows from the record.
//!
//! Required columns missing from a header give [`MissingColumn`] naming them; optional columns
//! read as `None`. A value that does not parse gives [`FieldError`] with file, line and column.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::header::Header;
use crate::record::{Bad, Record};
use crate::time::Timestamp;

pub mod conn;
pub mod dnp3;
pub mod enip;
pub mod modbus;

/// A field value that does not parse as its column's type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: column {column}: expected {expected}, found {value:?}", location(file.as_deref(), *line))]
pub struct FieldError {
    /// The file, when read from one.
    pub file: Option<PathBuf>,
    /// The 1-based line number.
    pub line: u64,
    /// The column name.
    pub column: String,
    /// The text found (cut to 80 characters).
    pub value: String,
    /// What the column should hold.
    pub expected: &'static str,
}

/// `file:line`, or `line N` without a file.
fn location(file: Option<&std::path::Path>, line: u64) -> String {
    match file {
        Some(file) => format!("{}:{line}", file.display()),
        None => format!("line {line}"),
    }
}

/// A header lacks a column a view needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {view} view needs a column named {}, which the {} header does not have (it has: {})", wanted.join(" or "), path.as_deref().unwrap_or("log"), available.join(", "))]
pub struct MissingColumn {
    /// The view (`conn`, `modbus`, ...).
    pub view: &'static str,
    /// Accepted names for the column (`unit` or `unit_id`).
    pub wanted: Vec<&'static str>,
    /// The header's `#path`.
    pub path: Option<String>,
    /// The header's columns.
    pub available: Vec<String>,
}

/// Either way a typed read can fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewError {
    #[error(transparent)]
    Missing(#[from] MissingColumn),
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// A typed view of one kind of log.
pub trait Columns: Sized {
    /// The typed record.
    type Row<'a>;
    /// The view's name, for messages.
    const VIEW: &'static str;
    /// Finds the view's columns in a header.
    fn resolve(header: &Header) -> Result<Self, MissingColumn>;
    /// Reads one record of a block whose header this was resolved from.
    fn read<'a>(&self, record: &Record<'a>) -> Result<Self::Row<'a>, FieldError>;
}

/// Resolves a view again only when the header changes, for streams with several blocks.
#[derive(Debug)]
pub struct ViewCache<C: Columns> {
    resolved: Option<(Arc<Header>, Result<C, MissingColumn>)>,
}

impl<C: Columns> Default for ViewCache<C> {
    fn default() -> ViewCache<C> {
        ViewCache { resolved: None }
    }
}

impl<C: Columns> ViewCache<C> {
    /// An empty cache.
    pub fn new() -> ViewCache<C> {
        ViewCache::default()
    }

    /// Reads `record` through the view resolved for its header.
    pub fn read<'a>(&mut self, record: &Record<'a>) -> Result<C::Row<'a>, ViewError> {
        let header = record.header();
        let stale = !matches!(&self.resolved, Some((cached, _)) if Arc::ptr_eq(cached, header));
        if stale {
            self.resolved = Some((Arc::clone(header), C::resolve(header)));
        }
        match &self.resolved {
            Some((_, Ok(columns))) => Ok(columns.read(record)?),
            Some((_, Err(missing))) => Err(ViewError::Missing(missing.clone())),
            None => Err(ViewError::Missing(missing(C::VIEW, header, &["?"]))),
        }
    }
}

pub(crate) fn missing(
    view: &'static str,
    header: &Header,
    wanted: &[&'static str],
) -> MissingColumn {
    MissingColumn {
        view,
        wanted: wanted.to_vec(),
        path: header.path().map(str::to_owned),
        available: header.fields().to_vec(),
    }
}

/// The index of the first of `names` the header has.
pub(crate) fn optional(header: &Header, names: &[&str]) -> Option<usize> {
    names.iter().find_map(|name| header.index(name))
}

/// Like [`optional`], but a missing column is an error.
pub(crate) fn required(
    view: &'static str,
    header: &Header,
    names: &[&'static str],
) -> Result<usize, MissingColumn> {
    optional(header, names).ok_or_else(|| missing(view, header, names))
}

/// A connection's endpoints (Zeek's `conn_id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    pub orig_h: IpAddr,
    pub orig_p: u16,
    pub resp_h: IpAddr,
    pub resp_p: u16,
}

/// Which way a protocol message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the originator (client, master) to the responder.
    Request,
    /// From the responder back.
    Response,
}

impl Direction {
    /// Reads the ways ICSNPP and Zeek spell it: `is_orig` (`T`/`F`), `pdu_type` (`REQ`/`RESP`),
    /// `network_direction`, `request_response` and `direction` (`request`/`response`).
    pub fn parse(raw: &str) -> Option<Direction> {
        match raw {
            "T" | "REQ" | "request" | "REQUEST" | "Request" | "req" => Some(Direction::Request),
            "F" | "RESP" | "response" | "RESPONSE" | "Response" | "resp" => {
                Some(Direction::Response)
            }
            _ => None,
        }
    }
}

/// The columns every per-connection log starts with: `ts`, `uid` and the `id.*` four.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdColumns {
    pub ts: usize,
    pub uid: usize,
    pub orig_h: usize,
    pub orig_p: usize,
    pub resp_h: usize,
    pub resp_p: usize,
}

/// The common part of a per-connection record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Common<'a> {
    pub ts: Timestamp,
    pub uid: &'a str,
    pub id: ConnId,
}

impl IdColumns {
    /// Finds the six columns.
    pub fn resolve(view: &'static str, header: &Header) -> Result<IdColumns, MissingColumn> {
        Ok(IdColumns {
            ts: required(view, header, &["ts"])?,
            uid: required(view, header, &["uid"])?,
            orig_h: required(view, header, &["id.orig_h"])?,
            orig_p: required(view, header, &["id.orig_p"])?,
            resp_h: required(view, header, &["id.resp_h"])?,
            resp_p: required(view, header, &["id.resp_p"])?,
        })
    }

    /// Reads them; all six must be set.
    pub fn read<'a>(&self, record: &Record<'a>) -> Result<Common<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }

    #[inline]
    pub(crate) fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Common<'a>, Bad> {
        Ok(Common {
            ts: record
                .time_at(self.ts)?
                .ok_or(Bad::new(self.ts, "a time"))?,
            uid: record
                .plain_at(self.uid)?
                .ok_or(Bad::new(self.uid, "a connection uid"))?,
            id: ConnId {
                orig_h: record
                    .addr_at(self.orig_h)?
                    .ok_or(Bad::new(self.orig_h, "an IP address"))?,
                orig_p: record
                    .port_at(self.orig_p)?
                    .ok_or(Bad::new(self.orig_p, "a port number"))?,
                resp_h: record
                    .addr_at(self.resp_h)?
                    .ok_or(Bad::new(self.resp_h, "an IP address"))?,
                resp_p: record
                    .port_at(self.resp_p)?
                    .ok_or(Bad::new(self.resp_p, "a port number"))?,
            },
        })
    }
}

/// Reads a direction from the first present column among several spellings.
pub(crate) fn read_direction(
    record: &Record<'_>,
    idx: Option<usize>,
) -> Result<Option<Direction>, Bad> {
    let Some(idx) = idx else {
        return Ok(None);
    };
    match record.text(idx) {
        None => Ok(None),
        Some(raw) if raw.is_empty() => Ok(None),
        Some(raw) => Direction::parse(&raw)
            .map(Some)
            .ok_or(Bad::new(idx, "request or response (T/F, REQ/RESP)")),
    }
}

/// Direction column spellings, most specific first.
pub(crate) const DIRECTION_COLUMNS: &[&str] = &[
    "is_orig",
    "pdu_type",
    "request_response",
    "network_direction",
    "direction",
];
