//! Owned events: the [`FlowEvent`]s of one block of log lines, built on a decoding thread and
//! read back, in order, on the thread that runs the feature state machine.
//!
//! A [`FlowEvent`] borrows from the line it was read from, and that line's buffer stays with
//! the decoding thread. A block therefore copies the few strings an event holds (uid, service,
//! function, conn_state) into one text arena and keeps ranges into it, so a block of thousands of
//! events costs a handful of allocations, and reading it back lends the same borrowed events.

use std::net::IpAddr;
use std::ops::Range;

use super::event::{
    ConnFields, ControlFields, Direction, EdgeRef, EventKind, FlowEvent, Proto, RequestFields,
    ValueFields,
};

/// The events of one block, in reading order.
#[derive(Debug, Default)]
pub struct EventBlock {
    text: String,
    events: Vec<StoredEvent>,
}

#[derive(Debug)]
struct StoredEvent {
    ts: f64,
    uid: Range<usize>,
    orig_p: u16,
    ot: bool,
    orig_h: IpAddr,
    resp_h: IpAddr,
    resp_p: u16,
    proto: Proto,
    service: Range<usize>,
    kind: StoredKind,
}

#[derive(Debug)]
enum StoredKind {
    Conn {
        duration: Option<f64>,
        orig_bytes: Option<u64>,
        resp_bytes: Option<u64>,
        orig_pkts: Option<u64>,
        resp_pkts: Option<u64>,
        conn_state: Range<usize>,
    },
    Request {
        function: Range<usize>,
        is_write: bool,
        is_error: bool,
        error: Range<usize>,
        direction: Direction,
    },
    Values {
        unit: Option<u64>,
        function: Range<usize>,
        address: Option<u64>,
        values: Range<usize>,
        separator: Range<usize>,
        direction: Direction,
    },
    Control {
        function: Range<usize>,
        block_type: Range<usize>,
        index: Option<u64>,
        trip_control_code: Range<usize>,
        operation_type: Range<usize>,
        execute_count: Option<u64>,
        on_time: Option<u64>,
        off_time: Option<u64>,
        status_code: Range<usize>,
        direction: Direction,
    },
}

impl EventBlock {
    /// Appends a copy of `event`.
    pub fn push(&mut self, event: &FlowEvent<'_>) {
        let uid = self.keep(event.uid);
        let service = self.keep(event.edge.service);
        let kind = match &event.kind {
            EventKind::Conn(conn) => StoredKind::Conn {
                duration: conn.duration,
                orig_bytes: conn.orig_bytes,
                resp_bytes: conn.resp_bytes,
                orig_pkts: conn.orig_pkts,
                resp_pkts: conn.resp_pkts,
                conn_state: self.keep(conn.conn_state),
            },
            EventKind::Request(request) => StoredKind::Request {
                function: self.keep(request.function),
                is_write: request.is_write,
                is_error: request.is_error,
                error: self.keep(request.error),
                direction: request.direction,
            },
            EventKind::Values(values) => StoredKind::Values {
                unit: values.unit,
                function: self.keep(values.function),
                address: values.address,
                values: self.keep(values.values),
                separator: self.keep(values.separator),
                direction: values.direction,
            },
            EventKind::Control(control) => StoredKind::Control {
                function: self.keep(control.function),
                block_type: self.keep(control.block_type),
                index: control.index,
                trip_control_code: self.keep(control.trip_control_code),
                operation_type: self.keep(control.operation_type),
                execute_count: control.execute_count,
                on_time: control.on_time,
                off_time: control.off_time,
                status_code: self.keep(control.status_code),
                direction: control.direction,
            },
        };
        self.events.push(StoredEvent {
            ts: event.ts,
            uid,
            orig_p: event.orig_p,
            ot: event.ot,
            orig_h: event.edge.orig_h,
            resp_h: event.edge.resp_h,
            resp_p: event.edge.resp_p,
            proto: event.edge.proto,
            service,
            kind,
        });
    }

    /// The events, lent as they were pushed.
    pub fn iter(&self) -> impl Iterator<Item = FlowEvent<'_>> {
        self.events.iter().map(|stored| self.lend(stored))
    }

    /// The event at `index` (in pushing order), lent as it was pushed.
    pub fn get(&self, index: usize) -> Option<FlowEvent<'_>> {
        self.events.get(index).map(|stored| self.lend(stored))
    }

    /// Empties the block, keeping its memory for the next one.
    pub fn clear(&mut self) {
        self.text.clear();
        self.events.clear();
    }

    /// How many events the block holds.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when the block holds no event.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn keep(&mut self, text: &str) -> Range<usize> {
        let start = self.text.len();
        self.text.push_str(text);
        start..self.text.len()
    }

    fn lend<'a>(&'a self, stored: &StoredEvent) -> FlowEvent<'a> {
        // Every range was cut at the boundaries of a pushed `&str`, so slicing cannot fail.
        let text = |range: &Range<usize>| &self.text[range.clone()];
        let kind = match &stored.kind {
            StoredKind::Conn {
                duration,
                orig_bytes,
                resp_bytes,
                orig_pkts,
                resp_pkts,
                conn_state,
            } => EventKind::Conn(ConnFields {
                duration: *duration,
                orig_bytes: *orig_bytes,
                resp_bytes: *resp_bytes,
                orig_pkts: *orig_pkts,
                resp_pkts: *resp_pkts,
                conn_state: text(conn_state),
            }),
            StoredKind::Request {
                function,
                is_write,
                is_error,
                error,
                direction,
            } => EventKind::Request(RequestFields {
                function: text(function),
                is_write: *is_write,
                is_error: *is_error,
                error: text(error),
                direction: *direction,
            }),
            StoredKind::Values {
                unit,
                function,
                address,
                values,
                separator,
                direction,
            } => EventKind::Values(ValueFields {
                unit: *unit,
                function: text(function),
                address: *address,
                values: text(values),
                separator: text(separator),
                direction: *direction,
            }),
            StoredKind::Control {
                function,
                block_type,
                index,
                trip_control_code,
                operation_type,
                execute_count,
                on_time,
                off_time,
                status_code,
                direction,
            } => EventKind::Control(ControlFields {
                function: text(function),
                block_type: text(block_type),
                index: *index,
                trip_control_code: text(trip_control_code),
                operation_type: text(operation_type),
                execute_count: *execute_count,
                on_time: *on_time,
                off_time: *off_time,
                status_code: text(status_code),
                direction: *direction,
            }),
        };
        FlowEvent {
            ts: stored.ts,
            uid: text(&stored.uid),
            orig_p: stored.orig_p,
            ot: stored.ot,
            edge: EdgeRef {
                orig_h: stored.orig_h,
                resp_h: stored.resp_h,
                resp_p: stored.resp_p,
                proto: stored.proto,
                service: text(&stored.service),
            },
            kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_back_equal_and_in_order() {
        let conn = FlowEvent {
            ts: 1_790_812_800.25,
            uid: "CdrPXB3Wkz5Lq3fJbb",
            orig_p: 49152,
            ot: true,
            edge: EdgeRef {
                orig_h: IpAddr::from([10, 10, 2, 10]),
                resp_h: IpAddr::from([10, 10, 10, 11]),
                resp_p: 502,
                proto: Proto::Tcp,
                service: "modbus",
            },
            kind: EventKind::Conn(ConnFields {
                duration: Some(0.004),
                orig_bytes: Some(12),
                resp_bytes: None,
                orig_pkts: Some(5),
                resp_pkts: Some(4),
                conn_state: "SF",
            }),
        };
        let request = FlowEvent {
            ts: 1_790_812_801.0,
            uid: "",
            orig_p: 0,
            ot: false,
            edge: EdgeRef {
                service: "dnp3",
                resp_p: 20000,
                ..conn.edge
            },
            kind: EventKind::Request(RequestFields {
                function: "COLD_RESTART",
                is_write: true,
                is_error: true,
                error: "NO_FUNC_CODE_SUPPORT",
                direction: Direction::Request,
            }),
        };
        let values = FlowEvent {
            kind: EventKind::Values(ValueFields {
                unit: Some(1),
                function: "WRITE_SINGLE_REGISTER",
                address: Some(5),
                values: "751",
                separator: ",",
                direction: Direction::Both,
            }),
            ..conn
        };
        let control = FlowEvent {
            kind: EventKind::Control(ControlFields {
                function: "OPERATE",
                block_type: "Control Relay Output Block",
                index: Some(8),
                trip_control_code: "Close",
                operation_type: "Pulse Off",
                execute_count: Some(1),
                on_time: Some(500),
                off_time: None,
                status_code: "",
                direction: Direction::Request,
            }),
            ..request
        };
        let mut block = EventBlock::default();
        assert!(block.is_empty());
        for event in [conn, request, values, control, conn] {
            block.push(&event);
        }
        assert_eq!(block.len(), 5);
        assert_eq!(block.get(2), Some(values));
        assert_eq!(block.get(5), None);
        assert_eq!(
            block.iter().collect::<Vec<_>>(),
            vec![conn, request, values, control, conn]
        );
    }
}
