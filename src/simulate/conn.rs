//! Connections as Zeek's conn.log sees them: byte and packet accounting for TCP and UDP flows,
//! and the conn.log record written when Zeek would write it (when the connection ends, with `ts`
//! set to its first packet).

use std::sync::Arc;

use zeek::write::{LogWriter, WriteError};

use super::output::FileSink;

/// IPv4 + TCP header bytes with the timestamp option, as seen on most industrial hosts.
const TCP_OVERHEAD: u64 = 52;
/// IPv4 + UDP header bytes.
const UDP_OVERHEAD: u64 = 28;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    fn name(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }

    fn number(self) -> u64 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
        }
    }

    fn overhead(self) -> u64 {
        match self {
            Proto::Tcp => TCP_OVERHEAD,
            Proto::Udp => UDP_OVERHEAD,
        }
    }
}

/// One connection (a TCP session or a UDP flow) under way.
#[derive(Debug, Clone)]
pub struct Conn {
    pub uid: String,
    pub orig_h: Arc<str>,
    pub orig_p: u16,
    pub resp_h: Arc<str>,
    pub resp_p: u16,
    pub proto: Proto,
    pub service: &'static str,
    pub start: i64,
    pub last: i64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
}

/// How a connection ended, which sets conn_state and history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Normal FIN exchange: `SF`, `ShADadFf`.
    Closed,
    /// Still open when the capture ended: `S1`, `ShADad`.
    StillOpen,
    /// The responder reset the session: `RSTR`, `ShADadR`.
    ResetByResponder,
    /// A UDP flow: `SF`, `Dd`.
    Flow,
}

impl Conn {
    /// A TCP session whose handshake starts at `start` and takes `rtt` microseconds.
    #[allow(clippy::too_many_arguments)]
    pub fn tcp(
        uid: String,
        orig_h: Arc<str>,
        orig_p: u16,
        resp_h: Arc<str>,
        resp_p: u16,
        service: &'static str,
        start: i64,
        rtt: i64,
    ) -> Conn {
        Conn {
            uid,
            orig_h,
            orig_p,
            resp_h,
            resp_p,
            proto: Proto::Tcp,
            service,
            start,
            last: start + rtt,
            orig_bytes: 0,
            resp_bytes: 0,
            // SYN and the final handshake ACK from the originator, SYN-ACK from the responder.
            orig_pkts: 2,
            resp_pkts: 1,
        }
    }

    /// A UDP flow whose first packet is at `start`.
    pub fn udp(
        uid: String,
        endpoints: (Arc<str>, u16, Arc<str>, u16),
        service: &'static str,
        start: i64,
    ) -> Conn {
        let (orig_h, orig_p, resp_h, resp_p) = endpoints;
        Conn {
            uid,
            orig_h,
            orig_p,
            resp_h,
            resp_p,
            proto: Proto::Udp,
            service,
            start,
            last: start,
            orig_bytes: 0,
            resp_bytes: 0,
            orig_pkts: 0,
            resp_pkts: 0,
        }
    }

    /// A request and its response; over TCP the originator also acknowledges the response.
    pub fn exchange(&mut self, request_bytes: u64, response_bytes: u64, t_response: i64) {
        self.orig_bytes += request_bytes;
        self.resp_bytes += response_bytes;
        self.orig_pkts += if self.proto == Proto::Tcp { 2 } else { 1 };
        self.resp_pkts += 1;
        self.last = self.last.max(t_response);
    }

    /// One packet in one direction (UDP I/O).
    pub fn packet(&mut self, from_orig: bool, bytes: u64, t: i64) {
        if from_orig {
            self.orig_bytes += bytes;
            self.orig_pkts += 1;
        } else {
            self.resp_bytes += bytes;
            self.resp_pkts += 1;
        }
        self.last = self.last.max(t);
    }

    /// Writes the conn.log record for this connection ending at `end` (the last packet time for
    /// FIN and reset endings).
    pub fn write(
        &self,
        log: &mut LogWriter<FileSink>,
        ending: Ending,
        end: i64,
    ) -> Result<(), WriteError> {
        let (state, history, extra_orig, extra_resp) = match ending {
            Ending::Closed => ("SF", "ShADadFf", 2, 1),
            Ending::StillOpen => ("S1", "ShADad", 0, 0),
            Ending::ResetByResponder => ("RSTR", "ShADadR", 0, 1),
            Ending::Flow => ("SF", "Dd", 0, 0),
        };
        let orig_pkts = self.orig_pkts + extra_orig;
        let resp_pkts = self.resp_pkts + extra_resp;
        let overhead = self.proto.overhead();
        let last = if ending == Ending::StillOpen {
            self.last
        } else {
            end.max(self.last)
        };
        log.begin_row()
            .time(self.start)
            .string(&self.uid)
            .addr(&self.orig_h)
            .port(self.orig_p)
            .addr(&self.resp_h)
            .port(self.resp_p)
            .string(self.proto.name());
        if self.service.is_empty() {
            log.unset();
        } else {
            log.string(self.service);
        }
        log.interval(last - self.start)
            .count(self.orig_bytes)
            .count(self.resp_bytes)
            .string(state)
            .bool(true)
            .bool(true)
            .count(0)
            .string(history)
            .count(orig_pkts)
            .count(self.orig_bytes + orig_pkts * overhead)
            .count(resp_pkts)
            .count(self.resp_bytes + resp_pkts * overhead)
            .unset()
            .count(self.proto.number());
        log.end_row()
    }
}

/// A connection attempt that never carried data (scans): S0, REJ or an aborted handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// No answer: `S0`, `S`.
    NoAnswer,
    /// Refused with a reset: `REJ`, `Sr`.
    Rejected,
    /// Answered, then aborted by the originator (a SYN scan hitting an open port): `RSTO`, `ShR`.
    OpenAborted,
}

/// Writes the conn.log record of a failed or aborted connection attempt.
#[allow(clippy::too_many_arguments)]
pub fn write_attempt(
    log: &mut LogWriter<FileSink>,
    uid: &str,
    orig: (&str, u16),
    resp: (&str, u16),
    start: i64,
    rtt: i64,
    attempt: Attempt,
) -> Result<(), WriteError> {
    let (state, history, orig_pkts, resp_pkts) = match attempt {
        Attempt::NoAnswer => ("S0", "S", 1, 0),
        Attempt::Rejected => ("REJ", "Sr", 1, 1),
        Attempt::OpenAborted => ("RSTO", "ShR", 2, 1),
    };
    log.begin_row()
        .time(start)
        .string(uid)
        .addr(orig.0)
        .port(orig.1)
        .addr(resp.0)
        .port(resp.1)
        .string("tcp")
        .unset();
    if attempt == Attempt::NoAnswer {
        log.unset().unset().unset();
    } else {
        log.interval(rtt).count(0).count(0);
    }
    log.string(state)
        .bool(true)
        .bool(true)
        .count(0)
        .string(history)
        .count(orig_pkts)
        .count(orig_pkts * 44)
        .count(resp_pkts)
        .count(resp_pkts * 40)
        .unset()
        .count(6);
    log.end_row()
}

/// Writes the six leading fields every protocol log shares (ts, uid and the connection 4-tuple).
pub fn write_ids<'a>(
    log: &'a mut LogWriter<FileSink>,
    ts: i64,
    conn: &Conn,
) -> &'a mut LogWriter<FileSink> {
    log.begin_row()
        .time(ts)
        .string(&conn.uid)
        .addr(&conn.orig_h)
        .port(conn.orig_p)
        .addr(&conn.resp_h)
        .port(conn.resp_p)
}

/// Writes the ICSNPP `is_orig, source_h, source_p, destination_h, destination_p` block.
pub fn write_direction<'a>(
    log: &'a mut LogWriter<FileSink>,
    conn: &Conn,
    is_orig: bool,
) -> &'a mut LogWriter<FileSink> {
    if is_orig {
        log.bool(true)
            .addr(&conn.orig_h)
            .port(conn.orig_p)
            .addr(&conn.resp_h)
            .port(conn.resp_p)
    } else {
        log.bool(false)
            .addr(&conn.resp_h)
            .port(conn.resp_p)
            .addr(&conn.orig_h)
            .port(conn.orig_p)
    }
}
