//! The adapter from the Zeek reader's typed views to [`FlowEvent`]s, and the OT selection.
//!
//! Every conn.log line becomes a connection event, tagged OT when [`crate::ot`] selects it (a
//! `service` naming an OT protocol or, because older sensors leave `service` unset for OT
//! traffic, a well-known OT port): OT is a tag, not a deletion.
//! One protocol log per protocol gives request events (`modbus`, `dnp3`, `enip`, `cip`): each has
//! one line per request or request/reply pair, and taking their detail logs as request events as
//! well (`modbus_detailed`, `dnp3_control`, ...) would count the same request twice. Two detail
//! logs are read for what only they carry, for the process-value detector and for no forest:
//! `modbus_detailed` gives value events (register values), `dnp3_control` control events (which
//! point a DNP3 command operates, how, with which pulse times). ICSNPP logs no DNP3 point values.

use std::net::IpAddr;

use zeek::{
    CipColumns, Columns, ConnColumns, Dnp3Columns, Dnp3ControlColumns, EnipColumns, ModbusColumns,
    ModbusDetailedColumns, Record, ViewCache,
};

use super::event::{
    ConnFields, ControlFields, Direction, EdgeRef, EventKind, FlowEvent, Proto, RequestFields,
    ValueFields,
};
use super::functions::is_write;
use crate::ot::{ConnMatch, OtSelector};

/// The kinds of log the adapter reads; everything else is skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogKind {
    Conn,
    Modbus,
    /// ICSNPP `modbus_detailed`: register values.
    ModbusDetailed,
    Dnp3,
    /// ICSNPP `dnp3_control`: control commands and their echoes.
    Dnp3Control,
    Enip,
    Cip,
    Other,
}

impl LogKind {
    /// The kind of a log from its `#path` (or its file name for JSON logs).
    pub fn of_path(path: &str) -> LogKind {
        match path {
            "conn" => LogKind::Conn,
            "modbus" => LogKind::Modbus,
            "modbus_detailed" => LogKind::ModbusDetailed,
            "dnp3" => LogKind::Dnp3,
            "dnp3_control" => LogKind::Dnp3Control,
            "enip" => LogKind::Enip,
            "cip" => LogKind::Cip,
            _ => LogKind::Other,
        }
    }
}

/// Why a record gave no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skip {
    /// A log the features do not use.
    OtherLog,
    /// A test baseline's masked `ts`: the time is unknown.
    MaskedTime,
}

/// Reads records through the typed views, resolving columns once per header.
#[derive(Debug, Default)]
pub struct ZeekAdapter {
    ot: OtSelector,
    conn: ViewCache<ConnColumns>,
    modbus: ViewCache<ModbusColumns>,
    modbus_detailed: ViewCache<ModbusDetailedColumns>,
    dnp3: ViewCache<Dnp3Columns>,
    dnp3_control: ViewCache<Dnp3ControlColumns>,
    enip: ViewCache<EnipColumns>,
    cip: ViewCache<CipColumns>,
}

/// What `ZeekAdapter::with_event` returns: the callback's value, or why there was no event.
pub type Adapted<R> = Result<Result<R, Skip>, zeek::views::ViewError>;

impl ZeekAdapter {
    pub fn new() -> ZeekAdapter {
        ZeekAdapter::default()
    }

    /// An adapter with a site's own OT selection.
    pub fn with_selector(ot: OtSelector) -> ZeekAdapter {
        ZeekAdapter {
            ot,
            ..ZeekAdapter::default()
        }
    }

    /// Builds the event of `record` (from a log of `kind`) and hands it to `visit`.
    ///
    /// The event borrows from the record, so it is lent to a callback rather than returned.
    pub fn with_event<R>(
        &mut self,
        kind: LogKind,
        record: &Record<'_>,
        visit: impl FnOnce(&FlowEvent<'_>) -> R,
    ) -> Adapted<R> {
        match kind {
            LogKind::Conn => {
                let conn = self.conn.read(record)?;
                let raw_service = conn.service.raw();
                // Zeek's set separator is `,` (service names contain no escapes).
                let services = raw_service.unwrap_or("").split(',');
                let (service, ot) = match self.ot.match_conn(services, conn.common.id.resp_p) {
                    Some(ConnMatch::Service(service)) => (service, true),
                    // An OT port with no OT service: the edge is named by the set as written.
                    Some(ConnMatch::Port(_)) => (raw_service.unwrap_or("-"), true),
                    // Not OT traffic, but tagged rather than dropped: its endpoints may be OT
                    // assets (an SMB session from a PLC, a C&C channel on an odd port).
                    None => (raw_service.unwrap_or("-"), false),
                };
                let Some(ts) = conn.common.ts.seconds() else {
                    return Ok(Err(Skip::MaskedTime));
                };
                let event = FlowEvent {
                    ts,
                    uid: conn.common.uid,
                    orig_p: conn.common.id.orig_p,
                    ot,
                    edge: edge(
                        conn.common.id.orig_h,
                        conn.common.id.resp_h,
                        conn.common.id.resp_p,
                        Proto::from_zeek(conn.proto),
                        service,
                    ),
                    kind: EventKind::Conn(ConnFields {
                        duration: conn.duration,
                        orig_bytes: conn.orig_bytes,
                        resp_bytes: conn.resp_bytes,
                        orig_pkts: conn.orig_pkts,
                        resp_pkts: conn.resp_pkts,
                        conn_state: conn.conn_state.unwrap_or(""),
                    }),
                };
                Ok(Ok(visit(&event)))
            }
            LogKind::Modbus => {
                let row = self.modbus.read(record)?;
                let function = row.func.as_deref().unwrap_or("-");
                // Older Zeek logs name an exception answer `READ_COILS_EXCEPTION`, often with
                // the exception code unset.
                let error = row.exception.as_deref().unwrap_or_else(|| {
                    if function.ends_with("_EXCEPTION") {
                        function
                    } else {
                        ""
                    }
                });
                request(&row.common, "modbus", function, error, row.direction, visit)
            }
            LogKind::ModbusDetailed => {
                let row = self.modbus_detailed.read(record)?;
                let Some(ts) = row.common.ts.seconds() else {
                    return Ok(Err(Skip::MaskedTime));
                };
                let function = row.func.as_deref().unwrap_or("-");
                // A write's values are in the request, a read's in the response; the older
                // schema has one `values` column and a line per direction.
                let (request_values, separator) = row.request_values.raw();
                let (response_values, _) = row.response_values.raw();
                let (old_values, _) = row.values.raw();
                let values = if is_write(function) {
                    request_values.or(response_values)
                } else {
                    response_values.or(request_values)
                }
                .or(old_values)
                .unwrap_or("");
                let event = protocol_event(
                    &row.common,
                    ts,
                    "modbus",
                    EventKind::Values(ValueFields {
                        unit: row.unit,
                        function,
                        address: row.address,
                        values,
                        separator,
                        direction: direction_of(row.direction),
                    }),
                );
                Ok(Ok(visit(&event)))
            }
            LogKind::Dnp3 => {
                let row = self.dnp3.read(record)?;
                let function = row
                    .fc_request
                    .as_deref()
                    .or(row.fc_reply.as_deref())
                    .unwrap_or("-");
                // IIN bits 0x0100..: "function code not supported", "object unknown",
                // "parameter error" are the outstation's error flags.
                let error = row.iin.map_or("", iin_error);
                request(&row.common, "dnp3", function, error, None, visit)
            }
            LogKind::Dnp3Control => {
                let row = self.dnp3_control.read(record)?;
                let Some(ts) = row.common.ts.seconds() else {
                    return Ok(Err(Skip::MaskedTime));
                };
                let function = row.function_code.as_deref().unwrap_or("-");
                // The 2021 schema has no `is_orig`: the outstation's echo is named `RESPONSE`.
                let direction = match row.direction {
                    Some(direction) => direction_of(Some(direction)),
                    None if function.eq_ignore_ascii_case("RESPONSE") => Direction::Response,
                    None => Direction::Request,
                };
                let event = protocol_event(
                    &row.common,
                    ts,
                    "dnp3",
                    EventKind::Control(ControlFields {
                        function,
                        block_type: row.block_type.as_deref().unwrap_or(""),
                        index: row.index_number,
                        trip_control_code: row.trip_control_code.as_deref().unwrap_or(""),
                        operation_type: row.operation_type.as_deref().unwrap_or(""),
                        execute_count: row.execute_count,
                        on_time: row.on_time,
                        off_time: row.off_time,
                        status_code: row.status_code.as_deref().unwrap_or(""),
                        direction,
                    }),
                );
                Ok(Ok(visit(&event)))
            }
            LogKind::Enip => {
                let row = self.enip.read(record)?;
                let function = row.command.as_deref().unwrap_or("-");
                let error = row
                    .status
                    .as_deref()
                    .filter(|status| !is_success(status))
                    .unwrap_or("");
                request(&row.common, "enip", function, error, row.direction, visit)
            }
            LogKind::Cip => {
                let row = self.cip.read(record)?;
                let function = row.service.as_deref().unwrap_or("-");
                let error = row
                    .status
                    .as_deref()
                    .filter(|status| !is_success(status))
                    .unwrap_or("");
                request(&row.common, "cip", function, error, row.direction, visit)
            }
            LogKind::Other => Ok(Err(Skip::OtherLog)),
        }
    }
}

fn request<R>(
    common: &zeek::views::Common<'_>,
    service: &str,
    function: &str,
    error: &str,
    direction: Option<zeek::views::Direction>,
    visit: impl FnOnce(&FlowEvent<'_>) -> R,
) -> Adapted<R> {
    let Some(ts) = common.ts.seconds() else {
        return Ok(Err(Skip::MaskedTime));
    };
    let direction = direction_of(direction);
    let event = protocol_event(
        common,
        ts,
        service,
        EventKind::Request(RequestFields {
            function,
            is_write: is_write(function),
            is_error: !error.is_empty(),
            error,
            direction,
        }),
    );
    Ok(Ok(visit(&event)))
}

/// The event of a protocol-log line: OT traffic on its protocol's TCP edge.
fn protocol_event<'e>(
    common: &zeek::views::Common<'e>,
    ts: f64,
    service: &'e str,
    kind: EventKind<'e>,
) -> FlowEvent<'e> {
    FlowEvent {
        ts,
        uid: common.uid,
        orig_p: common.id.orig_p,
        ot: true,
        edge: edge(
            common.id.orig_h,
            common.id.resp_h,
            common.id.resp_p,
            Proto::Tcp,
            service,
        ),
        kind,
    }
}

fn direction_of(direction: Option<zeek::views::Direction>) -> Direction {
    match direction {
        Some(zeek::views::Direction::Request) => Direction::Request,
        Some(zeek::views::Direction::Response) => Direction::Response,
        None => Direction::Both,
    }
}

/// The outstation's error flags in DNP3's internal indications (IIN2 bits 0..2, Zeek's
/// `iin` 0x0100..0x0400), named as the standard names them; empty when none is set.
fn iin_error(iin: u64) -> &'static str {
    if iin & 0x0100 != 0 {
        "NO_FUNC_CODE_SUPPORT"
    } else if iin & 0x0200 != 0 {
        "OBJECT_UNKNOWN"
    } else if iin & 0x0400 != 0 {
        "PARAMETER_ERROR"
    } else {
        ""
    }
}

fn edge(orig_h: IpAddr, resp_h: IpAddr, resp_p: u16, proto: Proto, service: &str) -> EdgeRef<'_> {
    EdgeRef {
        orig_h,
        resp_h,
        resp_p,
        proto,
        service,
    }
}

/// ICSNPP writes success as `SUCCESS`, `Success` or a zero code.
fn is_success(status: &str) -> bool {
    status.eq_ignore_ascii_case("success")
        || status
            .trim_start_matches("0x")
            .bytes()
            .all(|byte| byte == b'0')
}

/// The columns a view needs, so callers can skip a whole header block that lacks them.
pub fn view_of(kind: LogKind) -> &'static str {
    match kind {
        LogKind::Conn => ConnColumns::VIEW,
        LogKind::Modbus => ModbusColumns::VIEW,
        LogKind::ModbusDetailed => ModbusDetailedColumns::VIEW,
        LogKind::Dnp3 => Dnp3Columns::VIEW,
        LogKind::Dnp3Control => Dnp3ControlColumns::VIEW,
        LogKind::Enip => EnipColumns::VIEW,
        LogKind::Cip => CipColumns::VIEW,
        LogKind::Other => "other",
    }
}
