//! The input of the feature state machine: one borrowed `FlowEvent` per log record.
//!
//! The events are deliberately independent of the Zeek reader's types, so the state machine can be
//! fed from files, a live tail, a test or a benchmark alike; `from_zeek` maps the reader's typed
//! views onto them. Everything is borrowed from the record being read: building an event allocates
//! nothing.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Transport protocol of an edge, as Zeek's `proto` field spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Other,
}

impl Proto {
    /// Reads Zeek's spelling (`tcp`, `udp`, `icmp`); anything else is `Other`.
    pub fn from_zeek(value: &str) -> Proto {
        match value {
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            "icmp" => Proto::Icmp,
            _ => Proto::Other,
        }
    }

    /// Zeek's spelling, used when a key is printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::Icmp => "icmp",
            Proto::Other => "other",
        }
    }
}

/// The communication an event belongs to: who talks to which service of whom.
///
/// `service` is the conn.log `service` value (for protocol logs, the protocol's name); orig_p is
/// left out on purpose, since ephemeral client ports change with every connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EdgeRef<'a> {
    pub orig_h: IpAddr,
    pub resp_h: IpAddr,
    pub resp_p: u16,
    pub proto: Proto,
    pub service: &'a str,
}

/// The numbers conn.log gives about one connection. Unset fields (`-`) are `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConnFields<'a> {
    pub duration: Option<f64>,
    pub orig_bytes: Option<u64>,
    pub resp_bytes: Option<u64>,
    pub orig_pkts: Option<u64>,
    pub resp_pkts: Option<u64>,
    /// Zeek's `conn_state` (`SF`, `S0`, `REJ`, ...), empty when unset.
    pub conn_state: &'a str,
}

/// Whether a protocol-log line is a request, a response, or one line covering both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    Request,
    Response,
    Both,
}

/// What a protocol log (Modbus, DNP3, EtherNet/IP, CIP, ...) says about one request or response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestFields<'a> {
    /// The function or command name as the log writes it (`READ_HOLDING_REGISTERS`, `COLD_RESTART`).
    pub function: &'a str,
    /// True when the function changes the device (a write, a control, a restart, a download).
    pub is_write: bool,
    /// True when the device answered with an exception or an error status.
    pub is_error: bool,
    /// The exception or error status as the log writes it (`ILLEGAL_DATA_ADDRESS`), empty when
    /// there is none.
    pub error: &'a str,
    pub direction: Direction,
}

/// What an ICSNPP detail log (`modbus_detailed`) says about the values one request wrote or one
/// response returned. These records feed the process-value detector only: the request itself is
/// counted once, from the protocol log (`modbus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueFields<'a> {
    /// The Modbus unit id, when logged.
    pub unit: Option<u64>,
    /// The function name (`READ_HOLDING_REGISTERS`, `WRITE_SINGLE_REGISTER`).
    pub function: &'a str,
    /// The first register or coil address, when logged.
    pub address: Option<u64>,
    /// The values as written in the log (`750,751` or `T,F`), unsplit; empty when none.
    pub values: &'a str,
    /// The separator between the values (the log's `#set_separator`).
    pub separator: &'a str,
    pub direction: Direction,
}

impl<'a> ValueFields<'a> {
    /// The values as numbers, in address order (`T`/`F` coils as 1 and 0); an item that is not a
    /// number ends the list, since the addresses after it would be misaligned.
    pub fn numbers(&self) -> impl Iterator<Item = f64> + 'a {
        let items = if self.values.is_empty() {
            None
        } else {
            Some(self.values.split(if self.separator.is_empty() {
                ","
            } else {
                self.separator
            }))
        };
        items.into_iter().flatten().map_while(|item| match item {
            "T" | "t" | "true" => Some(1.0),
            "F" | "f" | "false" => Some(0.0),
            number => number.parse::<f64>().ok().filter(|value| value.is_finite()),
        })
    }
}

/// What ICSNPP's `dnp3_control` log says about one DNP3 control command (a control relay output
/// block, an analog output block) or the outstation's echo of it. Like value records, these feed
/// the process-value detector only: the request itself is counted once, from dnp3.log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlFields<'a> {
    /// `SELECT`, `OPERATE`, `DIRECT_OPERATE`, `DIRECT_OPERATE_NR`, or `RESPONSE`.
    pub function: &'a str,
    /// `Control Relay Output Block`, `Analog Output 16-Bit`, ...; empty when unset.
    pub block_type: &'a str,
    /// The point index the command operates.
    pub index: Option<u64>,
    /// `Nul`, `Close`, `Trip`; empty when unset.
    pub trip_control_code: &'a str,
    /// `Pulse On`, `Pulse Off`, `Latch On`, `Latch Off`, `Nul`; empty when unset.
    pub operation_type: &'a str,
    pub execute_count: Option<u64>,
    /// Pulse on and off times in milliseconds.
    pub on_time: Option<u64>,
    pub off_time: Option<u64>,
    /// The outstation's status (`Success`, ...); empty when unset.
    pub status_code: &'a str,
    pub direction: Direction,
}

/// What kind of record an event comes from, and its own fields.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EventKind<'a> {
    /// One conn.log line: one connection.
    Conn(ConnFields<'a>),
    /// One protocol-log line: one request or response.
    Request(RequestFields<'a>),
    /// One detail-log line: the values of a request or response.
    Values(ValueFields<'a>),
    /// One `dnp3_control` line: a DNP3 control command or its echo.
    Control(ControlFields<'a>),
}

/// One log record, as the feature state machine sees it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowEvent<'a> {
    /// Zeek `ts` in seconds since the epoch: log time, never wall-clock time.
    pub ts: f64,
    pub uid: &'a str,
    /// The originator's port (ephemeral for most clients; kept for the alert, not the edge).
    pub orig_p: u16,
    pub edge: EdgeRef<'a>,
    /// The OT selection's tag: true when the record is OT traffic (a protocol log line, an OT
    /// service or an OT port). Records that are not OT still flow: their endpoints may be OT
    /// assets.
    pub ot: bool,
    pub kind: EventKind<'a>,
}
