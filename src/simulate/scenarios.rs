//! Attack scenarios: when each one happens, which hosts it involves, the generators that write
//! its traffic, and the labels that describe it afterwards.
//!
//! Every scenario draws its timing and targets from its own random stream inside the attack
//! window (the last `attack_days` days), so selecting fewer scenarios does not move the others.

use std::sync::Arc;

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::config::{Scenario, ValidPlantConfig};
use super::conn::{Attempt, Conn, Ending};
use super::dnp3::{self, DNP3_PORT};
use super::engine::{Entry, Generator};
use super::enip::{self, ENIP_PORT, GET_IDENTITY, LIST_IDENTITY};
use super::labels::{Label, rfc3339};
use super::modbus::Target;
use super::plant::{Plant, PlcKind, Role};
use super::poller::{Cadence, ModbusPoller, Plan, PollerSetup};
use super::process::{DriftPlan, ProcessModel};
use super::rng::{UidSource, between, ephemeral_port, stream};
use super::sessions::{ConnSessions, PlannedConn, Script, Scripted, Shape};

const MINUTE: i64 = 60_000_000;

/// The address of the rogue master: in the operations subnet, but no plant asset.
pub const ROGUE_MASTER_IP: &str = "10.10.3.77";

/// One planned attack instance.
#[derive(Debug, Clone)]
pub struct PlannedAttack {
    pub scenario: Scenario,
    pub start: i64,
    pub end: i64,
    /// Attacker first, then targets.
    pub attacker: Arc<str>,
    /// Indices into `plant.plcs` or host indices, by scenario (see [`plan`]).
    pub targets: Vec<Arc<str>>,
    target_plcs: Vec<usize>,
    description: String,
}

/// Every attack of the run, plus the effects other generators must know about.
#[derive(Debug, Clone, Default)]
pub struct AttackPlan {
    pub attacks: Vec<PlannedAttack>,
    pub drift: Option<DriftPlan>,
    /// The outstation (host index) restarted by the cold-restart attack, and when.
    pub cold_restart: Option<(usize, i64)>,
}

fn at_fraction(rng: &mut ChaCha8Rng, config: &ValidPlantConfig, low: f64, high: f64) -> i64 {
    let span = (config.end_us - config.attack_start_us) as f64;
    config.attack_start_us + (span * rng.random_range(low..high)) as i64
}

/// Decides when and against whom each selected scenario runs.
pub fn plan(config: &ValidPlantConfig, plant: &Plant) -> AttackPlan {
    let seed = config.config.seed;
    let span = config.end_us - config.attack_start_us;
    let modbus = plant.plcs_of(PlcKind::Modbus);
    let enip_plcs = plant.plcs_of(PlcKind::Enip);
    let mut result = AttackPlan::default();
    for scenario in Scenario::ALL {
        if !config.config.attacks.contains(scenario) {
            continue;
        }
        let mut rng = stream(seed, &format!("attack/{}", scenario.name()));
        let plc_ip = |plc: usize| plant.ip(plant.plcs[plc].host);
        let attack = match scenario {
            Scenario::NewSource => {
                let Some(&plc) = modbus.choose(&mut rng) else {
                    continue;
                };
                let start = at_fraction(&mut rng, config, 0.1, 0.6);
                let end = start + (30 * MINUTE).min(span / 10);
                PlannedAttack {
                    scenario,
                    start,
                    end,
                    attacker: Arc::from(ROGUE_MASTER_IP),
                    targets: vec![plc_ip(plc)],
                    target_plcs: vec![plc],
                    description: format!(
                        "a host that is no plant asset polls {} on 502 every second",
                        plant.name(plant.plcs[plc].host)
                    ),
                }
            }
            Scenario::SetpointDrift => {
                let candidates: Vec<usize> = modbus
                    .iter()
                    .copied()
                    .filter(|plc| plant.plcs[*plc].hmi == plant.hmis[0])
                    .collect();
                let Some(&plc) = candidates.choose(&mut rng) else {
                    continue;
                };
                let first_write = config.attack_start_us + (10 * MINUTE).min(span / 20);
                let n_writes = (span / (30 * MINUTE)).max(4) as u32;
                let interval = (config.end_us - first_write) * 95 / 100 / i64::from(n_writes);
                let drift = DriftPlan {
                    plc,
                    first_write,
                    interval,
                    n_writes,
                    step: 80.0 / f64::from(n_writes),
                };
                result.drift = Some(drift);
                PlannedAttack {
                    scenario,
                    start: first_write,
                    end: drift.write_time(n_writes - 1) + 1_000_000,
                    attacker: plant.ip(plant.plcs[plc].hmi),
                    targets: vec![plc_ip(plc)],
                    target_plcs: vec![plc],
                    description: format!(
                        "the operator HMI's account rewrites the level setpoint of {} every {} minutes, creeping from {} to {} over the attack window",
                        plant.name(plant.plcs[plc].host),
                        interval / MINUTE,
                        drift.value_of_write(0),
                        drift.value_of_write(n_writes - 1)
                    ),
                }
            }
            Scenario::LateralMovement => {
                let mut targets: Vec<usize> = enip_plcs.iter().take(2).copied().collect();
                targets.extend(modbus.iter().rev().take(4 - targets.len()).copied());
                let start = at_fraction(&mut rng, config, 0.2, 0.7);
                PlannedAttack {
                    scenario,
                    start,
                    end: start + targets.len() as i64 * 2 * MINUTE + MINUTE,
                    attacker: plant.ip(plant.historian),
                    targets: targets.iter().map(|plc| plc_ip(*plc)).collect(),
                    target_plcs: targets,
                    description: "the historian, once compromised, tries telnet and web management on PLCs, identifies EtherNet/IP PLCs and reads Modbus PLC identities".to_owned(),
                }
            }
            Scenario::WriteFromReader => {
                let Some(&plc) = modbus.choose(&mut rng) else {
                    continue;
                };
                let start = at_fraction(&mut rng, config, 0.3, 0.9);
                PlannedAttack {
                    scenario,
                    start,
                    end: start + 1_000_000,
                    attacker: plant.ip(plant.scada),
                    targets: vec![plc_ip(plc)],
                    target_plcs: vec![plc],
                    description: format!(
                        "the SCADA server, which only ever reads, writes a coil and the setpoint of {}",
                        plant.name(plant.plcs[plc].host)
                    ),
                }
            }
            Scenario::NetworkScan => {
                let start = at_fraction(&mut rng, config, 0.1, 0.9);
                let targets: Vec<Arc<str>> = scan_targets(plant)
                    .into_iter()
                    .map(|(host, _)| host)
                    .collect();
                let n_probes = targets.len() as i64 * 3;
                PlannedAttack {
                    scenario,
                    start,
                    end: start + n_probes * 25_000 + 2_000_000,
                    attacker: plant.ip(plant.vendor_jump_host),
                    targets,
                    target_plcs: Vec::new(),
                    description: "the vendor jump host sweeps the control and field subnets on 502, 20000 and 44818".to_owned(),
                }
            }
            Scenario::Dnp3ColdRestart => {
                let Some(&outstation) = plant.outstations.choose(&mut rng) else {
                    continue;
                };
                let start = at_fraction(&mut rng, config, 0.2, 0.8);
                result.cold_restart = Some((outstation, start + 100_000));
                PlannedAttack {
                    scenario,
                    start,
                    end: start + 200_000,
                    attacker: plant.ip(plant.scada),
                    targets: vec![plant.ip(outstation)],
                    target_plcs: Vec::new(),
                    description: format!(
                        "a DNP3 cold restart is sent to {} from the SCADA server's address",
                        plant.name(outstation)
                    ),
                }
            }
        };
        result.attacks.push(attack);
    }
    result
}

/// Every address the scan probes: all PLCs, outstations and adapters, and ten unused addresses.
fn scan_targets(plant: &Plant) -> Vec<(Arc<str>, Vec<u16>)> {
    let mut targets: Vec<(Arc<str>, Vec<u16>)> = plant
        .hosts
        .iter()
        .filter_map(|host| match host.role {
            Role::Plc if host.protocols.contains(&"modbus") => {
                Some((Arc::clone(&host.ip), vec![502]))
            }
            Role::Plc => Some((Arc::clone(&host.ip), vec![ENIP_PORT])),
            Role::Dnp3Outstation => Some((Arc::clone(&host.ip), vec![DNP3_PORT])),
            Role::IoAdapter => Some((Arc::clone(&host.ip), vec![ENIP_PORT])),
            _ => None,
        })
        .collect();
    let used = plant.plcs.len() as u32;
    for idx in used..used + 10 {
        targets.push((
            Arc::from(format!("10.10.{}.{}", 10 + idx / 200, 10 + idx % 200)),
            Vec::new(),
        ));
    }
    targets
}

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
        }
        entries.extend(generators.into_iter().map(|generator| Entry {
            scenario: Some(attack.scenario),
            generator,
        }));
    }
    entries
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

/// The labels of the run: one per planned attack, with the uids its generators opened.
pub fn labels(plan: &AttackPlan, entries: &[Entry]) -> Vec<Label> {
    plan.attacks
        .iter()
        .map(|attack| {
            let uids: Vec<String> = entries
                .iter()
                .filter(|entry| entry.scenario == Some(attack.scenario))
                .flat_map(|entry| entry.generator.attack_uids().iter().cloned())
                .collect();
            let (technique_id, technique_name) = attack.scenario.technique();
            let mut hosts: Vec<String> = vec![attack.attacker.to_string()];
            hosts.extend(attack.targets.iter().map(|host| host.to_string()));
            Label {
                scenario: attack.scenario.name().to_owned(),
                technique_id: technique_id.to_owned(),
                technique_name: technique_name.to_owned(),
                description: attack.description.clone(),
                start_ts: attack.start as f64 / 1e6,
                end_ts: attack.end as f64 / 1e6,
                start: rfc3339(attack.start),
                end: rfc3339(attack.end),
                hosts,
                uids,
            }
        })
        .collect()
}
