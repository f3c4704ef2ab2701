//! The traffic of the planned attacks: which generators write each scenario's connections, all
//! of them recording the uids they open so the labels can list them.

use std::sync::Arc;

use super::config::{Scenario, ValidPlantConfig};
use super::conn::{Attempt, Conn, Ending};
use super::dnp3::{self, DNP3_PORT};
use super::engine::{Entry, Generator};
use super::enip::{self, ENIP_PORT, GET_IDENTITY, LIST_IDENTITY};
use super::modbus::{Func, Refused, Request, Target, refused, transaction};
use super::plant::{Plant, PlcKind};
use super::poller::{Cadence, ModbusPoller, Plan, PollerSetup};
use super::process::ProcessModel;
use super::rng::{UidSource, between, ephemeral_port, stream};
use super::scenarios::{AttackPlan, BEACON_PERIOD, BEACON_PORT, scan_targets};
use super::sessions::{ConnSessions, PlannedConn, Script, Scripted, Shape};

const MINUTE: i64 = 60_000_000;

/// The generators that write the planned attacks' traffic.
pub fn generators(
    config: &ValidPlantConfig,
    plant: &Plant,
    plan: &AttackPlan,
    process: &Arc<ProcessModel>,
) -> Vec<Entry> {
    let seed = config.config.seed;
    let mut entries = Vec::new();
    for attack in &plan.attacks {
        let key = format!("attack/{}/traffic", attack.scenario.name());
        let setup = |plc: usize, windows: Vec<(i64, i64)>, key: String| PollerSetup {
            seed,
            key,
            master: Arc::clone(&attack.attacker),
            plc_ip: plant.ip(plant.plcs[plc].host),
            target: Target {
                plc,
                unit: plant.plcs[plc].unit_id,
            },
            process: Arc::clone(process),
            windows,
            record_uids: true,
        };
        let mut generators: Vec<Box<dyn Generator>> = Vec::new();
        match attack.scenario {
            Scenario::NewSource => {
                generators.push(Box::new(ModbusPoller::new(
                    setup(attack.target_plcs[0], vec![(attack.start, attack.end)], key),
                    Plan::Rogue,
                    Cadence::Persistent {
                        period: 1_000_000,
                        session_min: 10 * MINUTE,
                        session_max: 20 * MINUTE,
                    },
                )));
            }
            Scenario::SetpointDrift => {
                if let Some(drift) = plan.drift {
                    let times = (0..drift.n_writes).map(|k| drift.write_time(k)).collect();
                    generators.push(Box::new(ModbusPoller::new(
                        setup(drift.plc, Vec::new(), key),
                        Plan::Drift(drift),
                        Cadence::At(times),
                    )));
                }
            }
            Scenario::WriteFromReader => {
                generators.push(Box::new(ModbusPoller::new(
                    setup(attack.target_plcs[0], Vec::new(), key),
                    Plan::UnauthorizedWrite,
                    Cadence::At(vec![attack.start]),
                )));
            }
            Scenario::LateralMovement => {
                let mut planned = Vec::new();
                let mut scripts: Vec<(i64, Script)> = Vec::new();
                let mut uids = UidSource::new(seed, &format!("{key}/enip"));
                let mut rng = stream(seed, &format!("{key}/enip"));
                let mut script_uids = Vec::new();
                for (idx, &plc) in attack.target_plcs.iter().enumerate() {
                    let at = attack.start + idx as i64 * 2 * MINUTE;
                    let plc_ip = plant.ip(plant.plcs[plc].host);
                    planned.push(PlannedConn {
                        start: at,
                        end: at + 400,
                        orig: Arc::clone(&attack.attacker),
                        resp: Arc::clone(&plc_ip),
                        resp_p: 23,
                        service: "",
                        shape: Shape::Attempt(Attempt::Rejected),
                    });
                    planned.push(PlannedConn {
                        start: at + 5_000_000,
                        end: at + 6_500_000,
                        orig: Arc::clone(&attack.attacker),
                        resp: Arc::clone(&plc_ip),
                        resp_p: 80,
                        service: "http",
                        shape: Shape::Data {
                            orig_bytes: 420,
                            resp_bytes: 3_100,
                            exchanges: 2,
                        },
                    });
                    match plant.plcs[plc].kind {
                        PlcKind::Enip => {
                            let uid = uids.next_uid();
                            script_uids.push(uid.clone());
                            let conn = Conn::tcp(
                                uid,
                                Arc::clone(&attack.attacker),
                                ephemeral_port(&mut rng),
                                plc_ip,
                                ENIP_PORT,
                                "enip",
                                at + 30_000_000,
                                700,
                            );
                            scripts.push((at + 30_000_000, enip_probe(conn)));
                        }
                        PlcKind::Modbus => {
                            generators.push(Box::new(ModbusPoller::new(
                                setup(plc, Vec::new(), format!("{key}/modbus/{idx}")),
                                Plan::Probe,
                                Cadence::At(vec![at + 30_000_000]),
                            )));
                        }
                    }
                }
                generators.push(Box::new(ConnSessions::new(
                    seed,
                    &format!("{key}/attempts"),
                    planned,
                    true,
                )));
                generators.push(Box::new(Scripted::new(scripts, script_uids)));
            }
            Scenario::NetworkScan => {
                let mut rng = stream(seed, &key);
                let mut planned = Vec::new();
                let mut at = attack.start;
                for (host, open_ports) in scan_targets(plant) {
                    for port in [502, DNP3_PORT, ENIP_PORT] {
                        at += between(&mut rng, 5_000, 25_000);
                        let attempt = if open_ports.is_empty() {
                            Attempt::NoAnswer
                        } else if open_ports.contains(&port) {
                            Attempt::OpenAborted
                        } else {
                            Attempt::Rejected
                        };
                        planned.push(PlannedConn {
                            start: at,
                            end: at + between(&mut rng, 300, 1_500),
                            orig: Arc::clone(&attack.attacker),
                            resp: Arc::clone(&host),
                            resp_p: port,
                            service: "",
                            shape: Shape::Attempt(attempt),
                        });
                    }
                }
                generators.push(Box::new(ConnSessions::new(seed, &key, planned, true)));
            }
            Scenario::Dnp3ColdRestart => {
                let mut uids = UidSource::new(seed, &key);
                let mut rng = stream(seed, &key);
                let uid = uids.next_uid();
                let conn = Conn::tcp(
                    uid.clone(),
                    Arc::clone(&attack.attacker),
                    ephemeral_port(&mut rng),
                    Arc::clone(&attack.targets[0]),
                    DNP3_PORT,
                    "dnp3_tcp",
                    attack.start,
                    600,
                );
                let script: Script = Box::new(move |sinks| {
                    let mut conn = conn.clone();
                    let t = conn.start + 2_000;
                    dnp3::exchange(sinks, &mut conn, t, 15_000, "COLD_RESTART", (18, 23), 0)?;
                    conn.write(&mut sinks.conn, Ending::Closed, t + 60_000)
                });
                generators.push(Box::new(Scripted::new(
                    vec![(attack.start, script)],
                    vec![uid],
                )));
            }
            Scenario::ExceptionEnumeration => {
                let mut uids = UidSource::new(seed, &key);
                let mut rng = stream(seed, &key);
                let uid = uids.next_uid();
                let plc = attack.target_plcs[0];
                let target = Target {
                    plc,
                    unit: plant.plcs[plc].unit_id,
                };
                let mut conn = Conn::tcp(
                    uid.clone(),
                    Arc::clone(&attack.attacker),
                    ephemeral_port(&mut rng),
                    Arc::clone(&attack.targets[0]),
                    502,
                    "modbus",
                    attack.start,
                    between(&mut rng, 200, 900),
                );
                let gaps: Vec<i64> = (0..ENUMERATED_FUNCTIONS.len() + ENUMERATED_ADDRESSES)
                    .map(|_| between(&mut rng, 20_000, 60_000))
                    .collect();
                let process = Arc::clone(process);
                let script: Script = Box::new(move |sinks| {
                    let mut t = conn.start + 1_000;
                    // One read the PLC serves, then the sweep it refuses.
                    let read = Request::read(Func::ReadHoldingRegisters, 0, 10);
                    t = transaction(sinks, &process, &mut conn, target, 1, t, 1_500, &read)?;
                    for (idx, gap) in gaps.iter().enumerate() {
                        let refusal = enumeration_request(idx);
                        let tid = idx as u16 + 2;
                        t = refused(sinks, &mut conn, target.unit, tid, t + gap, 1_200, &refusal)?;
                    }
                    conn.write(&mut sinks.conn, Ending::Closed, t + 400)
                });
                generators.push(Box::new(Scripted::new(
                    vec![(attack.start, script)],
                    vec![uid],
                )));
            }
            Scenario::PersistentBeacon => {
                let mut rng = stream(seed, &key);
                let mut planned = Vec::new();
                let mut at = attack.start;
                // Jittered around the period, as beacons are, so no two gaps are alike.
                while at < attack.end {
                    let end = at + between(&mut rng, 400_000, 2_500_000);
                    if end >= attack.end {
                        break;
                    }
                    planned.push(PlannedConn {
                        start: at,
                        end,
                        orig: Arc::clone(&attack.attacker),
                        resp: Arc::clone(&attack.targets[0]),
                        resp_p: BEACON_PORT,
                        service: "",
                        shape: Shape::Data {
                            orig_bytes: between(&mut rng, 120, 260) as u64,
                            resp_bytes: between(&mut rng, 40, 900) as u64,
                            exchanges: 2,
                        },
                    });
                    at += BEACON_PERIOD + between(&mut rng, -5 * MINUTE, 5 * MINUTE);
                }
                generators.push(Box::new(ConnSessions::new(seed, &key, planned, true)));
            }
            Scenario::ForgedWrite => {
                generators.push(Box::new(ModbusPoller::new(
                    setup(attack.target_plcs[0], Vec::new(), key),
                    Plan::ForgedWrite,
                    Cadence::At(vec![attack.start]),
                )));
            }
        }
        entries.extend(generators.into_iter().map(|generator| Entry {
            scenario: Some(attack.scenario),
            generator,
        }));
    }
    entries
}

/// The function codes the enumeration tries that the plant's PLCs do not implement, as Zeek
/// names them.
const ENUMERATED_FUNCTIONS: [&str; 11] = [
    "READ_EXCEPTION_STATUS",
    "DIAGNOSTICS",
    "GET_COMM_EVENT_COUNTER",
    "GET_COMM_EVENT_LOG",
    "REPORT_SLAVE_ID",
    "READ_FILE_RECORD",
    "WRITE_FILE_RECORD",
    "MASK_WRITE_REGISTER",
    "READ_WRITE_MULTIPLE_REGISTERS",
    "READ_FIFO_QUEUE",
    "READ_DISCRETE_INPUTS",
];

/// How many holding-register addresses past the PLC's map the enumeration reads.
const ENUMERATED_ADDRESSES: usize = 24;

/// The `idx`th refused request of the enumeration: the function-code sweep, then reads of
/// holding registers every 400 addresses from 400 (the plant's map ends at 350).
fn enumeration_request(idx: usize) -> Refused {
    match ENUMERATED_FUNCTIONS.get(idx) {
        Some(func) => Refused {
            func,
            exception: "ILLEGAL_FUNCTION",
            range: None,
        },
        None => {
            let k = (idx - ENUMERATED_FUNCTIONS.len()) as u16;
            Refused {
                func: Func::ReadHoldingRegisters.zeek_name(),
                exception: "ILLEGAL_DATA_ADDRESS",
                range: Some((400 + 400 * k, 10)),
            }
        }
    }
}

/// An EtherNet/IP identification: list identity, register a session, read the identity object.
fn enip_probe(conn: Conn) -> Script {
    Box::new(move |sinks| {
        let mut conn = conn.clone();
        let t = conn.start + 1_000;
        enip::encapsulation(
            sinks,
            &mut conn,
            t,
            2_000,
            LIST_IDENTITY,
            "0x00000000",
            (0, 51),
        )?;
        enip::encapsulation(
            sinks,
            &mut conn,
            t + 10_000,
            2_000,
            enip::REGISTER_SESSION,
            "0x0badcafe",
            (4, 4),
        )?;
        enip::cip_call(
            sinks,
            &mut conn,
            t + 20_000,
            3_000,
            &GET_IDENTITY,
            "0x0badcafe",
            1,
        )?;
        conn.write(&mut sinks.conn, Ending::Closed, t + 40_000)
    })
}
