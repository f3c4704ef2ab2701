//! EtherNet/IP implicit I/O: cyclic UDP packets on port 2222 between a PLC (the scanner) and its
//! remote I/O adapter, one cip_io.log line per packet, and a conn.log record per I/O connection.

use std::sync::Arc;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use zeek::write::WriteError;

use super::conn::{Conn, Ending, write_direction, write_ids};
use super::engine::Generator;
use super::output::Sinks;
use super::process::ProcessModel;
use super::rng::{UidSource, between, jittered, stream};

pub const CIP_IO_PORT: u16 = 2222;

/// Cyclic I/O between a PLC (the originator) and its remote I/O adapter on UDP 2222.
pub struct CipIo {
    rng: ChaCha8Rng,
    uids: UidSource,
    plc_ip: Arc<str>,
    adapter_ip: Arc<str>,
    plc: usize,
    process: Arc<ProcessModel>,
    rpi: i64,
    next_packet: i64,
    flow: Option<(Conn, i64)>,
    ids: (String, String),
    sequence: u64,
}

impl CipIo {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seed: u64,
        key: &str,
        plc_ip: Arc<str>,
        adapter_ip: Arc<str>,
        plc: usize,
        process: Arc<ProcessModel>,
        rpi: i64,
        start: i64,
    ) -> Self {
        let mut rng = stream(seed, key);
        let next_packet = start + rng.random_range(0..rpi.max(1));
        let ids = (
            format!("0x{:08x}", rng.random::<u32>()),
            format!("0x{:08x}", rng.random::<u32>()),
        );
        CipIo {
            uids: UidSource::new(seed, key),
            sequence: u64::from(rng.random::<u16>()),
            rng,
            plc_ip,
            adapter_ip,
            plc,
            process,
            rpi,
            next_packet,
            flow: None,
            ids,
        }
    }

    fn row(
        &mut self,
        sinks: &mut Sinks,
        conn: &Conn,
        t: i64,
        is_orig: bool,
    ) -> Result<(), WriteError> {
        let level = self.process.holding(self.plc, 0, t);
        let flow = self.process.holding(self.plc, 3, t);
        let coils = u8::from(self.process.coil(self.plc, 0, t))
            | u8::from(self.process.coil(self.plc, 1, t)) << 1;
        let data = if is_orig {
            format!("{coils:02x}000000{:08x}", self.sequence as u32)
        } else {
            format!(
                "{:04x}{:04x}{coils:02x}00000000000000",
                level.swap_bytes(),
                flow.swap_bytes()
            )
        };
        let log = &mut sinks.cip_io;
        write_ids(log, t, conn);
        write_direction(log, conn, is_orig)
            .string(if is_orig { &self.ids.0 } else { &self.ids.1 })
            .count(self.sequence)
            .count((data.len() / 2) as u64)
            .string(&data);
        log.end_row()
    }
}

impl Generator for CipIo {
    fn next_time(&self) -> Option<i64> {
        Some(match &self.flow {
            Some((_, ends_at)) => (*ends_at).min(self.next_packet),
            None => self.next_packet,
        })
    }

    fn step(&mut self, sinks: &mut Sinks) -> Result<(), WriteError> {
        if let Some((_, ends_at)) = &self.flow
            && *ends_at <= self.next_packet
        {
            let ends_at = *ends_at;
            if let Some((conn, _)) = self.flow.take() {
                conn.write(&mut sinks.conn, Ending::Flow, conn.last)?;
            }
            // The adapter's watchdog drops the connection; the scanner re-opens it after
            // a little over a minute, which is also when Zeek's UDP flow times out.
            self.next_packet = ends_at + between(&mut self.rng, 65_000_000, 80_000_000);
            return Ok(());
        }
        let t = self.next_packet;
        let (mut conn, ends_at) = match self.flow.take() {
            Some(flow) => flow,
            None => {
                let endpoints = (
                    Arc::clone(&self.plc_ip),
                    CIP_IO_PORT,
                    Arc::clone(&self.adapter_ip),
                    CIP_IO_PORT,
                );
                let conn = Conn::udp(self.uids.next_uid(), endpoints, "cip", t);
                let ends_at = t + between(&mut self.rng, 2 * 3_600_000_000, 12 * 3_600_000_000);
                (conn, ends_at)
            }
        };
        self.sequence += 1;
        self.row(sinks, &conn, t, true)?;
        conn.packet(true, 20, t);
        let reply = t + self.rpi / 2 + between(&mut self.rng, -500, 500);
        self.row(sinks, &conn, reply, false)?;
        conn.packet(false, 24, reply);
        self.flow = Some((conn, ends_at));
        self.next_packet = t + jittered(&mut self.rng, self.rpi, 0.005);
        Ok(())
    }

    fn finish(&mut self, _end: i64, sinks: &mut Sinks) -> Result<(), WriteError> {
        if let Some((conn, _)) = self.flow.take() {
            conn.write(&mut sinks.conn, Ending::Flow, conn.last)?;
        }
        Ok(())
    }
}
