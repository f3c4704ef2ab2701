//! The conn.log view: one line per connection with its endpoints, protocol, services, sizes and
//! state. Works with every layout seen (Bro 2.4's 21 columns, current Zeek's 22 with `ip_proto`,
//! site-added columns) because columns are found by name.

use crate::field::SetItems;
use crate::header::Header;
use crate::record::{Bad, Record};
use crate::views::{Columns, Common, FieldError, IdColumns, MissingColumn, optional, required};

/// The `service` set of a connection (`cotp,s7comm` in any order); empty when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceSet<'a> {
    raw: Option<&'a str>,
    separator: &'a str,
}

impl<'a> ServiceSet<'a> {
    /// The services, in the order written.
    pub fn iter(&self) -> SetItems<'a> {
        SetItems::new(self.raw, self.separator)
    }

    /// True when `service` is one of them.
    pub fn contains(&self, service: &str) -> bool {
        self.iter().any(|item| item == service)
    }

    /// True when the sensor named no service.
    pub fn is_empty(&self) -> bool {
        self.raw.is_none()
    }

    /// The set as written (`cotp,s7comm`), if any.
    pub fn raw(&self) -> Option<&'a str> {
        self.raw
    }
}

/// One conn.log record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conn<'a> {
    pub common: Common<'a>,
    /// `tcp`, `udp`, `icmp` or `unknown_transport`.
    pub proto: &'a str,
    pub service: ServiceSet<'a>,
    /// Seconds.
    pub duration: Option<f64>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub conn_state: Option<&'a str>,
    pub local_orig: Option<bool>,
    pub local_resp: Option<bool>,
    pub missed_bytes: Option<u64>,
    pub history: Option<&'a str>,
    pub orig_pkts: Option<u64>,
    pub orig_ip_bytes: Option<u64>,
    pub resp_pkts: Option<u64>,
    pub resp_ip_bytes: Option<u64>,
}

/// Column indexes of a conn.log header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnColumns {
    pub id: IdColumns,
    pub proto: usize,
    pub service: Option<usize>,
    pub duration: Option<usize>,
    pub orig_bytes: Option<usize>,
    pub resp_bytes: Option<usize>,
    pub conn_state: Option<usize>,
    pub local_orig: Option<usize>,
    pub local_resp: Option<usize>,
    pub missed_bytes: Option<usize>,
    pub history: Option<usize>,
    pub orig_pkts: Option<usize>,
    pub orig_ip_bytes: Option<usize>,
    pub resp_pkts: Option<usize>,
    pub resp_ip_bytes: Option<usize>,
}

impl Columns for ConnColumns {
    type Row<'a> = Conn<'a>;
    const VIEW: &'static str = "conn";

    fn resolve(header: &Header) -> Result<ConnColumns, MissingColumn> {
        Ok(ConnColumns {
            id: IdColumns::resolve(Self::VIEW, header)?,
            proto: required(Self::VIEW, header, &["proto"])?,
            service: optional(header, &["service"]),
            duration: optional(header, &["duration"]),
            orig_bytes: optional(header, &["orig_bytes"]),
            resp_bytes: optional(header, &["resp_bytes"]),
            conn_state: optional(header, &["conn_state"]),
            local_orig: optional(header, &["local_orig"]),
            local_resp: optional(header, &["local_resp"]),
            missed_bytes: optional(header, &["missed_bytes"]),
            history: optional(header, &["history"]),
            orig_pkts: optional(header, &["orig_pkts"]),
            orig_ip_bytes: optional(header, &["orig_ip_bytes"]),
            resp_pkts: optional(header, &["resp_pkts"]),
            resp_ip_bytes: optional(header, &["resp_ip_bytes"]),
        })
    }

    fn read<'a>(&self, record: &Record<'a>) -> Result<Conn<'a>, FieldError> {
        self.read_fast(record).map_err(|bad| record.explain(bad))
    }
}

impl ConnColumns {
    fn read_fast<'a>(&self, record: &Record<'a>) -> Result<Conn<'a>, Bad> {
        let service = match self.service {
            Some(idx) => record
                .raw(idx)
                .filter(|raw| !crate::record::is_marker(raw, record.header())),
            None => None,
        };
        Ok(Conn {
            common: self.id.read_fast(record)?,
            proto: record.plain_at(self.proto)?.unwrap_or("unknown_transport"),
            service: ServiceSet {
                raw: service,
                separator: record.header().set_separator(),
            },
            duration: record.f64_opt(self.duration)?,
            orig_bytes: record.u64_opt(self.orig_bytes)?,
            resp_bytes: record.u64_opt(self.resp_bytes)?,
            conn_state: record.plain_opt(self.conn_state)?,
            local_orig: record.bool_opt(self.local_orig)?,
            local_resp: record.bool_opt(self.local_resp)?,
            missed_bytes: record.u64_opt(self.missed_bytes)?,
            history: record.plain_opt(self.history)?,
            orig_pkts: record.u64_opt(self.orig_pkts)?,
            orig_ip_bytes: record.u64_opt(self.orig_ip_bytes)?,
            resp_pkts: record.u64_opt(self.resp_pkts)?,
            resp_ip_bytes: record.u64_opt(self.resp_ip_bytes)?,
        })
    }

    /// Finds the conn.log columns in `header` (same as [`Columns::resolve`]).
    pub fn resolve(header: &Header) -> Result<ConnColumns, MissingColumn> {
        <ConnColumns as Columns>::resolve(header)
    }

    /// Reads one record (same as [`Columns::read`]).
    pub fn read<'a>(&self, record: &Record<'a>) -> Result<Conn<'a>, FieldError> {
        <ConnColumns as Columns>::read(self, record)
    }
}
