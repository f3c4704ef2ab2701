//! EtherNet/IP explicit messaging on TCP 44818: an HMI reading tags over a registered session,
//! as enip.log and cip.log record it, and the encapsulation and CIP calls other generators use.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zeek::write::WriteError;

use super::conn::{Conn, Ending, write_direction, write_ids};
use super::engine::Generator;
use super::output::Sinks;
use super::rng::{UidSource, between, ephemeral_port, jittered, stream};

pub const ENIP_PORT: u16 = 44818;

/// One CIP service call carried in an encapsulation command.
#[derive(Debug, Clone, Copy)]
pub struct CipCall {
    pub enip_code: &'static str,
    pub enip_command: &'static str,
    pub service_code: &'static str,
    pub service: &'static str,
    /// class id and name, or `None` for symbolic (tag) paths.
    pub class: Option<(&'static str, &'static str)>,
    pub instance: Option<&'static str>,
    /// Encapsulated lengths of request and response.
    pub lengths: (u64, u64),
}

pub const REGISTER_SESSION: (&str, &str) = ("0x65", "Register Session");
pub const LIST_IDENTITY: (&str, &str) = ("0x63", "List Identity");

pub const FORWARD_OPEN: CipCall = CipCall {
    enip_code: "0x6f",
    enip_command: "Send RR Data",
    service_code: "0x54",
    service: "Forward Open",
    class: Some(("0x06", "Connection Manager")),
    instance: Some("0x01"),
    lengths: (64, 46),
};

pub const READ_TAG: CipCall = CipCall {
    enip_code: "0x70",
    enip_command: "Send Unit Data",
    service_code: "0x4c",
    service: "Read Tag",
    class: None,
    instance: None,
    lengths: (32, 60),
};

pub const GET_IDENTITY: CipCall = CipCall {
    enip_code: "0x6f",
    enip_command: "Send RR Data",
    service_code: "0x01",
    service: "Get Attributes All",
    class: Some(("0x01", "Identity")),
    instance: Some("0x01"),
    lengths: (24, 80),
};

/// Writes an encapsulation command without a CIP payload (register session, list identity).
pub fn encapsulation(
    sinks: &mut Sinks,
    conn: &mut Conn,
    t: i64,
    rtt: i64,
    command: (&str, &str),
    session_handle: &str,
    lengths: (u64, u64),
) -> Result<(), WriteError> {
    for (is_orig, ts, length) in [(true, t, lengths.0), (false, t + rtt, lengths.1)] {
        enip_row(sinks, conn, ts, is_orig, command, length, session_handle)?;
    }
    conn.exchange(24 + lengths.0, 24 + lengths.1, t + rtt);
    Ok(())
}

fn enip_row(
    sinks: &mut Sinks,
    conn: &Conn,
    ts: i64,
    is_orig: bool,
    command: (&str, &str),
    length: u64,
    session_handle: &str,
) -> Result<(), WriteError> {
    let log = &mut sinks.enip;
    write_ids(log, ts, conn);
    write_direction(log, conn, is_orig)
        .string(command.0)
        .string(command.1)
        .count(length)
        .string(session_handle)
        .string("Success")
        .string("0x0000000000000000")
        .string("0x00000000");
    log.end_row()
}

/// Writes one CIP request and its response (enip.log and cip.log) and adds the bytes to `conn`.
pub fn cip_call(
    sinks: &mut Sinks,
    conn: &mut Conn,
    t: i64,
    rtt: i64,
    call: &CipCall,
    session_handle: &str,
    sequence: u64,
) -> Result<(), WriteError> {
    for (is_orig, ts, length) in [(true, t, call.lengths.0), (false, t + rtt, call.lengths.1)] {
        enip_row(
            sinks,
            conn,
            ts,
            is_orig,
            (call.enip_code, call.enip_command),
            length,
            session_handle,
        )?;
        let log = &mut sinks.cip;
        write_ids(log, ts, conn);
        write_direction(log, conn, is_orig)
            .count(sequence)
            .string(if is_orig { "request" } else { "response" })
            .string(call.service_code)
            .string(call.service);
        if is_orig {
            log.unset().unset();
        } else {
            log.string("0x00").string("Success");
        }
        log.unset().unset();
        match (is_orig, call.class) {
            (true, Some((id, name))) => log.string(id).string(name),
            _ => log.unset().unset(),
        };
        match (is_orig, call.instance) {
            (true, Some(instance)) => log.string(instance),
            _ => log.unset(),
        };
        log.unset();
        log.end_row()?;
    }
    conn.exchange(24 + call.lengths.0, 24 + call.lengths.1, t + rtt);
    Ok(())
}

struct Session {
    conn: Conn,
    close_at: i64,
    handle: String,
}

/// An HMI reading tags from an EtherNet/IP PLC over a persistent registered session.
pub struct EnipPoller {
    rng: ChaCha8Rng,
    uids: UidSource,
    master: Arc<str>,
    plc: Arc<str>,
    period: i64,
    next_poll: i64,
    session: Option<Session>,
    sequence: u64,
}

impl EnipPoller {
    pub fn new(
        seed: u64,
        key: &str,
        master: Arc<str>,
        plc: Arc<str>,
        period: i64,
        start: i64,
    ) -> Self {
        let mut rng = stream(seed, key);
        let next_poll = start + rng.random_range(0..period.max(1));
        EnipPoller {
            uids: UidSource::new(seed, key),
            rng,
            master,
            plc,
            period,
            next_poll,
            session: None,
            sequence: 0,
        }
    }

    fn poll(&mut self, t: i64, sinks: &mut Sinks) -> Result<(), WriteError> {
        let rtt = between(&mut self.rng, 1_000, 5_000);
        let mut session = match self.session.take() {
            Some(session) => session,
            None => {
                let mut conn = Conn::tcp(
                    self.uids.next_uid(),
                    Arc::clone(&self.master),
                    ephemeral_port(&mut self.rng),
                    Arc::clone(&self.plc),
                    ENIP_PORT,
                    "enip",
                    t - 20_000,
                    between(&mut self.rng, 200, 900),
                );
                let handle = format!("0x{:08x}", self.rng.random::<u32>());
                encapsulation(
                    sinks,
                    &mut conn,
                    t - 15_000,
                    rtt,
                    REGISTER_SESSION,
                    &handle,
                    (4, 4),
                )?;
                self.sequence += 1;
                cip_call(
                    sinks,
                    &mut conn,
                    t - 10_000,
                    rtt,
                    &FORWARD_OPEN,
                    &handle,
                    self.sequence,
                )?;
                let close_at = t + between(&mut self.rng, 2 * 3_600_000_000, 8 * 3_600_000_000);
                Session {
                    conn,
                    close_at,
                    handle,
                }
            }
        };
        self.sequence += 1;
        cip_call(
            sinks,
            &mut session.conn,
            t,
            rtt,
            &READ_TAG,
            &session.handle,
            self.sequence,
        )?;
        self.session = Some(session);
        Ok(())
    }
}

impl Generator for EnipPoller {
    fn next_time(&self) -> Option<i64> {
        Some(match &self.session {
            Some(session) => session.close_at.min(self.next_poll),
            None => self.next_poll,
        })
    }

    fn step(&mut self, sinks: &mut Sinks) -> Result<(), WriteError> {
        if let Some(session) = &self.session
            && session.close_at <= self.next_poll
        {
            let close_at = session.close_at;
            if let Some(session) = self.session.take() {
                session
                    .conn
                    .write(&mut sinks.conn, Ending::Closed, close_at)?;
            }
            self.next_poll = self
                .next_poll
                .max(close_at + between(&mut self.rng, 1_000_000, 3_000_000));
            return Ok(());
        }
        let t = self.next_poll;
        self.poll(t, sinks)?;
        self.next_poll = t + jittered(&mut self.rng, self.period, 0.02);
        Ok(())
    }

    fn finish(&mut self, end: i64, sinks: &mut Sinks) -> Result<(), WriteError> {
        if let Some(session) = self.session.take() {
            session
                .conn
                .write(&mut sinks.conn, Ending::StillOpen, end)?;
        }
        Ok(())
    }
}
