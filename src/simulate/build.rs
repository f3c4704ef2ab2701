//! The plant's normal traffic: which generators run, between which hosts, on what cadence.
//!
//! Per Modbus PLC: its HMI polls every `hmi_poll_ms` (persistent session), SCADA every twice that
//! (persistent), the historian collects every 30 polling periods over a new connection each
//! time, and pulls a shift report at 06:00, 14:00 and 22:00. Per EtherNet/IP PLC: its HMI reads
//! tags over explicit messaging and the PLC exchanges cyclic I/O with its adapter. SCADA polls
//! every DNP3 outstation every `dnp3_poll_ms`. Once a week the engineering workstation works on three PLCs, and now
//! and then the vendor connects to the engineering workstation over remote desktop.

use std::sync::Arc;

use rand::Rng;
use time::Duration;

use super::cip_io::CipIo;
use super::config::ValidPlantConfig;
use super::dnp3::Dnp3Poller;
use super::engine::Entry;
use super::enip::EnipPoller;
use super::modbus::Target;
use super::plant::{Plant, PlcKind};
use super::poller::{Cadence, ModbusPoller, Plan, PollerSetup};
use super::process::ProcessModel;
use super::rng::{between, stream};
use super::scenarios::AttackPlan;
use super::sessions::{ConnSessions, PlannedConn, Shape};

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
const MINUTE: i64 = 60_000_000;

/// Start times of every simulated day (UTC midnight) in the run.
pub fn day_starts(config: &ValidPlantConfig) -> impl Iterator<Item = i64> + '_ {
    (0..)
        .map(move |day| config.start_us + day * DAY)
        .take_while(move |day_start| *day_start < config.end_us)
}

/// The maintenance windows of each Modbus PLC (index into `plant.plcs`): three PLCs per week,
/// in turn, between 09:00 and 12:00 on the configured weekday.
pub fn maintenance_windows(config: &ValidPlantConfig, plant: &Plant) -> Vec<(usize, i64, i64)> {
    let modbus = plant.plcs_of(PlcKind::Modbus);
    let mut rng = stream(config.config.seed, "maintenance");
    let mut windows = Vec::new();
    for (day_idx, day_start) in day_starts(config).enumerate() {
        let date = config.config.start + Duration::days(day_idx as i64);
        if date.weekday() != config.config.maintenance_weekday || modbus.is_empty() {
            continue;
        }
        let week = day_idx / 7;
        for slot in 0..3.min(modbus.len()) {
            let plc = modbus[(week * 3 + slot) % modbus.len()];
            let start = day_start + 9 * HOUR + between(&mut rng, 0, 100 * MINUTE);
            let end =
                (start + between(&mut rng, 20 * MINUTE, 50 * MINUTE)).min(day_start + 12 * HOUR);
            if end <= config.end_us {
                windows.push((plc, start, end));
            }
        }
    }
    windows
}

pub fn normal_traffic(
    config: &ValidPlantConfig,
    plant: &Plant,
    plan: &AttackPlan,
    process: &Arc<ProcessModel>,
) -> Vec<Entry> {
    let seed = config.config.seed;
    let (start, end) = (config.start_us, config.end_us);
    let hmi_period = i64::from(config.config.hmi_poll_ms) * 1000;
    let maintenance = maintenance_windows(config, plant);
    let mut entries: Vec<Entry> = Vec::new();
    let mut push = |generator: Box<dyn super::engine::Generator>| {
        entries.push(Entry {
            scenario: None,
            generator,
        });
    };

    for (plc_idx, plc) in plant.plcs.iter().enumerate() {
        let name = plant.name(plc.host).to_owned();
        let plc_ip = plant.ip(plc.host);
        let target = Target {
            plc: plc_idx,
            unit: plc.unit_id,
        };
        let setup = |key: String, master: usize, windows: Vec<(i64, i64)>| PollerSetup {
            seed,
            key,
            master: plant.ip(master),
            plc_ip: Arc::clone(&plc_ip),
            target,
            process: Arc::clone(process),
            windows,
            record_uids: false,
        };
        match plc.kind {
            PlcKind::Modbus => {
                let operator = plc.hmi == plant.hmis[0];
                push(Box::new(ModbusPoller::new(
                    setup(format!("modbus/hmi/{name}"), plc.hmi, vec![(start, end)]),
                    Plan::Hmi { operator },
                    Cadence::Persistent {
                        period: hmi_period,
                        session_min: HOUR,
                        session_max: 6 * HOUR,
                    },
                )));
                push(Box::new(ModbusPoller::new(
                    setup(
                        format!("modbus/scada/{name}"),
                        plant.scada,
                        vec![(start, end)],
                    ),
                    Plan::Scada,
                    Cadence::Persistent {
                        period: 2 * hmi_period,
                        session_min: 4 * HOUR,
                        session_max: 12 * HOUR,
                    },
                )));
                push(Box::new(ModbusPoller::new(
                    setup(
                        format!("modbus/historian/{name}"),
                        plant.historian,
                        vec![(start, end)],
                    ),
                    Plan::Historian,
                    Cadence::PerPoll {
                        period: 30 * hmi_period,
                    },
                )));
                let mut rng = stream(seed, &format!("shift/{name}"));
                let reports: Vec<i64> = day_starts(config)
                    .flat_map(|day| [6, 14, 22].map(|hour| day + hour * HOUR))
                    .map(|at| at + plc_idx as i64 * 700_000 + rng.random_range(0..300_000))
                    .filter(|at| *at >= start && *at < end)
                    .collect();
                push(Box::new(ModbusPoller::new(
                    setup(format!("modbus/shift/{name}"), plant.historian, Vec::new()),
                    Plan::ShiftReport,
                    Cadence::At(reports),
                )));
                let windows: Vec<(i64, i64)> = maintenance
                    .iter()
                    .filter(|(plc, _, _)| *plc == plc_idx)
                    .map(|(_, from, to)| (*from, *to))
                    .collect();
                if !windows.is_empty() {
                    push(Box::new(ModbusPoller::new(
                        setup(
                            format!("modbus/maintenance/{name}"),
                            plant.engineering_workstation,
                            windows,
                        ),
                        Plan::Maintenance,
                        Cadence::Persistent {
                            period: 2_000_000,
                            session_min: 2 * HOUR,
                            session_max: 3 * HOUR,
                        },
                    )));
                }
            }
            PlcKind::Enip => {
                push(Box::new(EnipPoller::new(
                    seed,
                    &format!("enip/hmi/{name}"),
                    plant.ip(plc.hmi),
                    Arc::clone(&plc_ip),
                    2 * hmi_period,
                    start,
                )));
                if let Some(adapter) = plc.io_adapter {
                    push(Box::new(CipIo::new(
                        seed,
                        &format!("cip_io/{name}"),
                        Arc::clone(&plc_ip),
                        plant.ip(adapter),
                        plc_idx,
                        Arc::clone(process),
                        hmi_period.max(10_000),
                        start,
                    )));
                }
            }
        }
    }

    for &outstation in &plant.outstations {
        let restart_at = plan
            .cold_restart
            .filter(|(host, _)| *host == outstation)
            .map(|(_, at)| at);
        push(Box::new(Dnp3Poller::new(
            seed,
            &format!("dnp3/scada/{}", plant.name(outstation)),
            plant.ip(plant.scada),
            plant.ip(outstation),
            (start, i64::from(config.config.dnp3_poll_ms) * 1000),
            restart_at,
        )));
    }

    let mut rng = stream(seed, "vendor");
    let mut vendor_sessions = Vec::new();
    for day in day_starts(config) {
        if !rng.random_bool(0.3) {
            continue;
        }
        let from = day + 8 * HOUR + between(&mut rng, 0, 8 * HOUR);
        let to = from + between(&mut rng, 20 * MINUTE, 90 * MINUTE);
        if to < end {
            vendor_sessions.push(PlannedConn {
                start: from,
                end: to,
                orig: plant.ip(plant.vendor_jump_host),
                resp: plant.ip(plant.engineering_workstation),
                resp_p: 3389,
                service: "rdp",
                shape: Shape::Data {
                    orig_bytes: rng.random_range(150_000..400_000),
                    resp_bytes: rng.random_range(2_000_000..8_000_000),
                    exchanges: rng.random_range(400..1200),
                },
            });
        }
    }
    push(Box::new(ConnSessions::new(
        seed,
        "vendor/rdp",
        vendor_sessions,
        false,
    )));
    entries
}
