//! The Modbus polling generator: one master polling one PLC on a cadence, over a persistent TCP
//! session (split into conn.log records when the master reconnects) or over a new connection per
//! poll, during a list of activity windows. HMIs, SCADA, the historian, maintenance, shift reports
//! and the Modbus attacks are all this generator with a different [`Plan`] and [`Cadence`].

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zeek::write::WriteError;

use super::conn::{Conn, Ending};
use super::engine::Generator;
use super::modbus::{Func, Request, Target, transaction};
use super::output::Sinks;
use super::process::{DriftPlan, ProcessModel, SETPOINT_REGISTER};
use super::rng::{UidSource, between, ephemeral_port, jittered, stream};

/// What the master asks for at each poll.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Operator screens: holding registers, with coils and inputs now and then. An operator HMI
    /// also re-applies the setpoint a few times per day shift.
    Hmi { operator: bool },
    /// SCADA scan: holding registers, coils every fourth scan.
    Scada,
    /// Historian collection: holding and input registers.
    Historian,
    /// Shift-change report: large block reads.
    ShiftReport,
    /// Engineering work during maintenance: configuration reads, device identification, writes.
    Maintenance,
    /// A rogue master reading process values.
    Rogue,
    /// The setpoint-drift attack: read the setpoint, then write it (and a growing block after it).
    Drift(DriftPlan),
    /// A host that only ever read sends writes.
    UnauthorizedWrite,
    /// Lateral movement probing: device identification and a maximal read.
    Probe,
    /// A forged write from a field device: the operator HMI's setpoint write, value and all.
    ForgedWrite,
}

/// When polls happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Cadence {
    /// Polls every `period` over one TCP session that lasts `session_min..session_max`.
    Persistent {
        period: i64,
        session_min: i64,
        session_max: i64,
    },
    /// A new TCP connection for every poll.
    PerPoll { period: i64 },
    /// One connection at each of these times.
    At(Vec<i64>),
}

struct Session {
    conn: Conn,
    close_at: i64,
}

/// A master polling one PLC.
pub struct ModbusPoller {
    rng: ChaCha8Rng,
    uids: UidSource,
    master: Arc<str>,
    plc_ip: Arc<str>,
    target: Target,
    process: Arc<ProcessModel>,
    plan: Plan,
    cadence: Cadence,
    windows: Vec<(i64, i64)>,
    window_idx: usize,
    next_poll: Option<i64>,
    session: Option<Session>,
    tid: u16,
    poll_no: u64,
    record_uids: bool,
    uids_seen: Vec<String>,
    requests: Vec<Request>,
}

/// Everything a poller needs besides its plan and cadence.
pub struct PollerSetup {
    pub seed: u64,
    pub key: String,
    pub master: Arc<str>,
    pub plc_ip: Arc<str>,
    pub target: Target,
    pub process: Arc<ProcessModel>,
    /// Activity windows `[start, end)`, sorted; ignored by [`Cadence::At`].
    pub windows: Vec<(i64, i64)>,
    /// Keep the uid of every connection (attack generators).
    pub record_uids: bool,
}

impl ModbusPoller {
    pub fn new(setup: PollerSetup, plan: Plan, cadence: Cadence) -> ModbusPoller {
        let mut rng = stream(setup.seed, &setup.key);
        let next_poll = match &cadence {
            Cadence::At(times) => times.first().copied(),
            Cadence::Persistent { period, .. } | Cadence::PerPoll { period } => setup
                .windows
                .first()
                .map(|(start, _)| start + rng.random_range(0..(*period).max(1))),
        };
        ModbusPoller {
            uids: UidSource::new(setup.seed, &setup.key),
            rng,
            master: setup.master,
            plc_ip: setup.plc_ip,
            target: setup.target,
            process: setup.process,
            plan,
            cadence,
            windows: setup.windows,
            window_idx: 0,
            next_poll,
            session: None,
            tid: 0,
            poll_no: 0,
            record_uids: setup.record_uids,
            uids_seen: Vec::new(),
            requests: Vec::with_capacity(8),
        }
    }

    fn new_conn(&mut self, start: i64) -> Conn {
        let uid = self.uids.next_uid();
        if self.record_uids {
            self.uids_seen.push(uid.clone());
        }
        let rtt = between(&mut self.rng, 200, 900);
        Conn::tcp(
            uid,
            Arc::clone(&self.master),
            ephemeral_port(&mut self.rng),
            Arc::clone(&self.plc_ip),
            502,
            "modbus",
            start,
            rtt,
        )
    }

    /// Fills `self.requests` with this poll's requests.
    fn plan_requests(&mut self, t: i64) {
        self.requests.clear();
        let poll_no = self.poll_no;
        let setpoint = self.process.setpoint(self.target.plc, t);
        let requests = &mut self.requests;
        match &self.plan {
            Plan::Hmi { operator } => {
                let request = match poll_no % 10 {
                    8 => Request::read(Func::ReadCoils, 0, 16),
                    9 => Request::read(Func::ReadInputRegisters, 0, 8),
                    _ => Request::read(Func::ReadHoldingRegisters, 0, 10),
                };
                requests.push(request);
                let hour = t.rem_euclid(86_400_000_000) / 3_600_000_000;
                // About three setpoint confirmations per PLC and day shift.
                if *operator && (7..19).contains(&hour) && self.rng.random_bool(3.0 / 86_400.0) {
                    requests.push(Request::write(
                        Func::WriteSingleRegister,
                        SETPOINT_REGISTER,
                        &[setpoint],
                    ));
                }
            }
            Plan::Scada => {
                requests.push(Request::read(Func::ReadHoldingRegisters, 0, 10));
                if poll_no.is_multiple_of(4) {
                    requests.push(Request::read(Func::ReadCoils, 0, 16));
                }
            }
            Plan::Historian => {
                requests.push(Request::read(Func::ReadHoldingRegisters, 0, 10));
                requests.push(Request::read(Func::ReadInputRegisters, 0, 8));
            }
            Plan::ShiftReport => {
                requests.push(Request::read(Func::ReadHoldingRegisters, 100, 100));
                requests.push(Request::read(Func::ReadHoldingRegisters, 200, 100));
                requests.push(Request::read(Func::ReadHoldingRegisters, 300, 50));
                requests.push(Request::read(Func::ReadInputRegisters, 0, 8));
            }
            Plan::Maintenance => {
                requests.push(Request::read(Func::ReadHoldingRegisters, 20, 20));
                if poll_no.is_multiple_of(10) {
                    requests.push(Request::read(Func::ReadDeviceIdentification, 0, 0));
                }
                if self.rng.random_bool(0.1) {
                    let tuning = [100 + (poll_no % 7) as u16, 20, 5, 1];
                    requests.push(Request::write(Func::WriteMultipleRegisters, 20, &tuning));
                }
            }
            Plan::Rogue => {
                requests.push(Request::read(Func::ReadHoldingRegisters, 0, 10));
                if poll_no.is_multiple_of(5) {
                    requests.push(Request::read(Func::ReadCoils, 0, 16));
                }
                if poll_no.is_multiple_of(20) {
                    requests.push(Request::read(Func::ReadDeviceIdentification, 0, 0));
                }
            }
            Plan::Drift(drift) => {
                let k = poll_no as u32;
                let progress = f64::from(k) / f64::from(drift.n_writes.max(1));
                // Only function codes the operator HMI uses anyway (reads and a single-register
                // write), so nothing is novel but the values. The attacker re-reads the process
                // block more often as the attack goes on (checking that nobody noticed), so
                // conn.log orig_bytes of these connections creeps up with the setpoint.
                let n_checks = (progress * 8.0) as usize;
                requests.push(Request::read(
                    Func::ReadHoldingRegisters,
                    SETPOINT_REGISTER,
                    1,
                ));
                for _ in 0..n_checks {
                    requests.push(Request::read(Func::ReadHoldingRegisters, 0, 10));
                }
                requests.push(Request::write(
                    Func::WriteSingleRegister,
                    SETPOINT_REGISTER,
                    &[drift.value_of_write(k)],
                ));
            }
            Plan::UnauthorizedWrite => {
                requests.push(Request::read(Func::ReadHoldingRegisters, 0, 10));
                requests.push(Request::write(Func::WriteSingleCoil, 3, &[1]));
                requests.push(Request::write(
                    Func::WriteSingleRegister,
                    SETPOINT_REGISTER,
                    &[950],
                ));
            }
            Plan::Probe => {
                requests.push(Request::read(Func::ReadDeviceIdentification, 0, 0));
                requests.push(Request::read(Func::ReadHoldingRegisters, 0, 125));
            }
            Plan::ForgedWrite => {
                requests.push(Request::write(
                    Func::WriteSingleRegister,
                    SETPOINT_REGISTER,
                    &[setpoint],
                ));
            }
        }
    }

    /// Runs this poll's requests on `conn`, starting at `t`; returns the last response time.
    fn run_requests(
        &mut self,
        sinks: &mut Sinks,
        conn: &mut Conn,
        t: i64,
    ) -> Result<i64, WriteError> {
        self.plan_requests(t);
        let mut at = t;
        for idx in 0..self.requests.len() {
            let request = self.requests[idx];
            self.tid = self.tid.wrapping_add(1);
            let rtt = between(&mut self.rng, 1_200, 6_000);
            at = transaction(
                sinks,
                &self.process,
                conn,
                self.target,
                self.tid,
                at,
                rtt,
                &request,
            )?;
            at += between(&mut self.rng, 300, 2_000);
        }
        self.poll_no += 1;
        Ok(at)
    }

    fn poll(&mut self, t: i64, sinks: &mut Sinks) -> Result<(), WriteError> {
        match self.cadence.clone() {
            Cadence::Persistent {
                session_min,
                session_max,
                ..
            } => {
                let mut session = match self.session.take() {
                    Some(session) => session,
                    None => {
                        let conn = self.new_conn(t - 1_000);
                        let close_at = t + between(&mut self.rng, session_min, session_max);
                        Session { conn, close_at }
                    }
                };
                self.run_requests(sinks, &mut session.conn, t)?;
                self.session = Some(session);
            }
            Cadence::PerPoll { .. } | Cadence::At(_) => {
                let mut conn = self.new_conn(t);
                self.tid = 0;
                let last = self.run_requests(sinks, &mut conn, t + 1_000)?;
                conn.write(&mut sinks.conn, Ending::Closed, last + 400)?;
            }
        }
        Ok(())
    }

    /// Moves `next_poll` past `t`, honouring the activity windows.
    fn advance(&mut self, t: i64) {
        let period = match &self.cadence {
            Cadence::At(times) => {
                self.next_poll = times.get(self.poll_no as usize).copied();
                return;
            }
            Cadence::Persistent { period, .. } | Cadence::PerPoll { period } => *period,
        };
        let mut next = t + jittered(&mut self.rng, period, 0.02);
        // Masters reconnect a moment after the PLC side closed a session.
        if self.session.is_none() && matches!(self.cadence, Cadence::Persistent { .. }) {
            next = next.max(t);
        }
        while let Some((_, window_end)) = self.windows.get(self.window_idx).copied() {
            if next < window_end {
                break;
            }
            if let Some(session) = &mut self.session {
                session.close_at = session.close_at.min(t + 500_000);
            }
            self.window_idx += 1;
            match self.windows.get(self.window_idx) {
                Some((start, _)) => {
                    next = next.max(*start + self.rng.random_range(0..period.max(1)))
                }
                None => {
                    self.next_poll = None;
                    return;
                }
            }
        }
        self.next_poll = Some(next);
    }
}

impl Generator for ModbusPoller {
    fn next_time(&self) -> Option<i64> {
        match (&self.session, self.next_poll) {
            (Some(session), Some(poll)) => Some(session.close_at.min(poll)),
            (Some(session), None) => Some(session.close_at),
            (None, poll) => poll,
        }
    }

    fn step(&mut self, sinks: &mut Sinks) -> Result<(), WriteError> {
        let Some(now) = self.next_time() else {
            return Ok(());
        };
        if let Some(session) = &self.session
            && session.close_at == now
            && self.next_poll.is_none_or(|poll| now <= poll)
        {
            if let Some(session) = self.session.take() {
                session.conn.write(&mut sinks.conn, Ending::Closed, now)?;
            }
            // The master reconnects one to three seconds later.
            if let Some(poll) = self.next_poll {
                self.next_poll = Some(poll.max(now + between(&mut self.rng, 1_000_000, 3_000_000)));
            }
            return Ok(());
        }
        self.poll(now, sinks)?;
        self.advance(now);
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

    fn attack_uids(&self) -> &[String] {
        &self.uids_seen
    }
}
