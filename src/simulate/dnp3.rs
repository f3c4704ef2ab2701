//! DNP3 over TCP: the SCADA master polling an outstation (class 1/2/3 event polls every few
//! seconds, 5 s by default, a class 0 integrity poll every 120 polls, about four direct operates
//! per outstation and day shift), as ICSNPP's dnp3.log and dnp3_control.log record it.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zeek::write::WriteError;

use super::conn::{Conn, Ending, write_direction, write_ids};
use super::engine::Generator;
use super::output::Sinks;
use super::rng::{UidSource, between, ephemeral_port, jittered, stream};

pub const DNP3_PORT: u16 = 20000;
/// IIN1.7, DEVICE_RESTART, as Zeek writes the two IIN octets in one count (IIN1 high).
pub const IIN_DEVICE_RESTART: u64 = 0x8000;
/// IIN1.1, class 1 events available.
const IIN_CLASS1_EVENTS: u64 = 0x0200;

/// Writes one dnp3.log line (request at `t`, answered) and adds the bytes to `conn`.
pub fn exchange(
    sinks: &mut Sinks,
    conn: &mut Conn,
    t: i64,
    rtt: i64,
    fc_request: &str,
    sizes: (u64, u64),
    iin: u64,
) -> Result<(), WriteError> {
    write_ids(&mut sinks.dnp3, t, conn)
        .string(fc_request)
        .string("RESPONSE")
        .count(iin);
    sinks.dnp3.end_row()?;
    conn.exchange(sizes.0, sizes.1, t + rtt);
    Ok(())
}

/// Writes a direct operate on a control relay output block: dnp3.log and both dnp3_control lines.
fn direct_operate(
    sinks: &mut Sinks,
    conn: &mut Conn,
    t: i64,
    rtt: i64,
    index: u64,
) -> Result<(), WriteError> {
    exchange(sinks, conn, t, rtt, "DIRECT_OPERATE", (35, 35), 0)?;
    for (is_orig, ts, function_code, status) in [
        (true, t, "DIRECT_OPERATE", None),
        (false, t + rtt, "RESPONSE", Some("Success")),
    ] {
        let log = &mut sinks.dnp3_control;
        write_ids(log, ts, conn);
        write_direction(log, conn, is_orig)
            .string("Control Relay Output Block")
            .string(function_code)
            .count(index)
            .string("Nul")
            .string("Pulse On")
            .bool(false)
            .count(1)
            .count(1000)
            .count(0);
        match status {
            Some(status) => log.string(status),
            None => log.unset(),
        };
        log.end_row()?;
    }
    Ok(())
}

struct Session {
    conn: Conn,
    close_at: i64,
    ending: Ending,
}

/// The SCADA master polling one outstation over a persistent TCP session.
pub struct Dnp3Poller {
    rng: ChaCha8Rng,
    uids: UidSource,
    master: Arc<str>,
    outstation: Arc<str>,
    period: i64,
    next_poll: i64,
    session: Option<Session>,
    poll_no: u64,
    /// When the cold-restart attack restarts this outstation.
    restart_at: Option<i64>,
    restart_pending_iin: bool,
}

impl Dnp3Poller {
    pub fn new(
        seed: u64,
        key: &str,
        master: Arc<str>,
        outstation: Arc<str>,
        (start, period): (i64, i64),
        restart_at: Option<i64>,
    ) -> Dnp3Poller {
        let mut rng = stream(seed, key);
        let next_poll = start + rng.random_range(0..period);
        Dnp3Poller {
            uids: UidSource::new(seed, key),
            rng,
            master,
            outstation,
            period,
            next_poll,
            session: None,
            poll_no: 0,
            restart_at,
            restart_pending_iin: false,
        }
    }

    fn poll(&mut self, t: i64, sinks: &mut Sinks) -> Result<(), WriteError> {
        let mut session = match self.session.take() {
            Some(session) => session,
            None => {
                let uid = self.uids.next_uid();
                let conn = Conn::tcp(
                    uid,
                    Arc::clone(&self.master),
                    ephemeral_port(&mut self.rng),
                    Arc::clone(&self.outstation),
                    DNP3_PORT,
                    "dnp3_tcp",
                    t - 1_000,
                    between(&mut self.rng, 200, 900),
                );
                let mut close_at =
                    t + between(&mut self.rng, 6 * 3_600_000_000, 24 * 3_600_000_000);
                let mut ending = Ending::Closed;
                if let Some(restart) = self
                    .restart_at
                    .filter(|restart| *restart > t && *restart < close_at)
                {
                    close_at = restart + 40_000;
                    ending = Ending::ResetByResponder;
                }
                Session {
                    conn,
                    close_at,
                    ending,
                }
            }
        };
        let rtt = between(&mut self.rng, 8_000, 40_000);
        let integrity = self.poll_no.is_multiple_of(120);
        let response = if integrity {
            292
        } else {
            20 + self.rng.random_range(0..60)
        };
        let mut iin = if self.rng.random_bool(0.05) {
            IIN_CLASS1_EVENTS
        } else {
            0
        };
        if self.restart_pending_iin {
            iin |= IIN_DEVICE_RESTART;
            self.restart_pending_iin = false;
        }
        exchange(
            sinks,
            &mut session.conn,
            t,
            rtt,
            "READ",
            (26, response),
            iin,
        )?;
        let hour = t.rem_euclid(86_400_000_000) / 3_600_000_000;
        // About four operator commands per outstation and day shift, whatever the period (at
        // the default 5 s the chance per poll is 4 * 5 / 43200, as it always was).
        let period_secs = self.period as f64 / 1e6;
        if (7..19).contains(&hour) && self.rng.random_bool(4.0 * period_secs / (12.0 * 3600.0)) {
            let index = self.rng.random_range(0..8);
            direct_operate(sinks, &mut session.conn, t + rtt + 20_000, rtt, index)?;
        }
        self.poll_no += 1;
        self.session = Some(session);
        Ok(())
    }
}

impl Generator for Dnp3Poller {
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
                    .write(&mut sinks.conn, session.ending, close_at)?;
                if session.ending == Ending::ResetByResponder {
                    // The outstation reboots; the master gets through again after 20 to 40 s
                    // and the first response flags the restart.
                    self.next_poll = close_at + between(&mut self.rng, 20_000_000, 40_000_000);
                    self.restart_pending_iin = true;
                    return Ok(());
                }
            }
            self.next_poll = self
                .next_poll
                .max(close_at + between(&mut self.rng, 1_000_000, 3_000_000));
            return Ok(());
        }
        let t = self.next_poll;
        self.poll(t, sinks)?;
        self.next_poll = t + jittered(&mut self.rng, self.period, 0.03);
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
