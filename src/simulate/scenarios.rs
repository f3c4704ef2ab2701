//! Attack scenarios: when each one happens, which hosts it involves, the generators that write
//! its traffic, and the labels that describe it afterwards.
//!
//! Every scenario draws its timing and targets from its own random stream inside the attack
//! window (the last `attack_days` days), so selecting fewer scenarios does not move the others.
//! The persistent beacon is the exception: it runs from the first hour to the end of the run, an
//! attacker present in any training window.

use std::sync::Arc;

use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::build::maintenance_windows;
use super::config::{Scenario, ValidPlantConfig};
use super::dnp3::DNP3_PORT;
use super::engine::Entry;
use super::enip::ENIP_PORT;
use super::labels::{Label, rfc3339};
use super::plant::{Plant, PlcKind, Role};
use super::process::DriftPlan;
use super::rng::{between, stream};

const MINUTE: i64 = 60_000_000;

/// The address of the rogue master: in the operations subnet, but no plant asset.
pub const ROGUE_MASTER_IP: &str = "10.10.3.77";

/// Where the persistent beacon calls: in the operations subnet, no plant asset.
pub const BEACON_IP: &str = "10.10.3.66";

/// The beacon's port (a common reverse-shell listener) and its period.
pub const BEACON_PORT: u16 = 4444;
pub const BEACON_PERIOD: i64 = 60 * MINUTE;

/// How long the exception enumeration's connection lasts, at most (its requests come 20 to 60 ms
/// apart, as a scanning tool sends them).
pub const ENUMERATION_SPAN: i64 = 5_000_000;

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
    pub target_plcs: Vec<usize>,
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
            Scenario::ExceptionEnumeration => {
                // The engineering workstation polls PLCs during maintenance; it enumerates one
                // it already knows when there is one, so the edge itself is not new.
                let maintained: Vec<usize> = maintenance_windows(config, plant)
                    .into_iter()
                    .filter(|(_, from, _)| *from < config.attack_start_us)
                    .map(|(plc, _, _)| plc)
                    .collect();
                let candidates = if maintained.is_empty() {
                    &modbus
                } else {
                    &maintained
                };
                let Some(&plc) = candidates.choose(&mut rng) else {
                    continue;
                };
                let start = at_fraction(&mut rng, config, 0.2, 0.8);
                PlannedAttack {
                    scenario,
                    start,
                    end: start + ENUMERATION_SPAN,
                    attacker: plant.ip(plant.engineering_workstation),
                    targets: vec![plc_ip(plc)],
                    target_plcs: vec![plc],
                    description: format!(
                        "the engineering workstation enumerates the Modbus function codes and holding register addresses of {}, which answers ILLEGAL_FUNCTION and ILLEGAL_DATA_ADDRESS exceptions",
                        plant.name(plant.plcs[plc].host)
                    ),
                }
            }
            Scenario::PersistentBeacon => {
                let hmi = plant.hmis[0];
                let start = config.start_us + between(&mut rng, 5 * MINUTE, 15 * MINUTE);
                PlannedAttack {
                    scenario,
                    start,
                    end: config.end_us,
                    attacker: plant.ip(hmi),
                    targets: vec![Arc::from(BEACON_IP)],
                    target_plcs: Vec::new(),
                    description: format!(
                        "from the run's first hour to its end, the compromised {} opens a short session to {BEACON_IP}:{BEACON_PORT}, which is no plant asset, about every {} minutes (a low-and-slow command-and-control beacon): present in every training window, so a model trained on this run learns it as normal",
                        plant.name(hmi),
                        BEACON_PERIOD / MINUTE
                    ),
                }
            }
            Scenario::ForgedWrite => {
                let Some(&plc) = modbus.choose(&mut rng) else {
                    continue;
                };
                // Field devices that only ever answer: the other Modbus PLCs and the DNP3
                // outstations (an EtherNet/IP PLC originates cyclic I/O to its adapter).
                let target_host = plant.plcs[plc].host;
                let forgers: Vec<usize> = modbus
                    .iter()
                    .map(|other| plant.plcs[*other].host)
                    .chain(plant.outstations.iter().copied())
                    .filter(|host| *host != target_host)
                    .collect();
                let Some(&forger) = forgers.choose(&mut rng) else {
                    continue;
                };
                let start = at_fraction(&mut rng, config, 0.3, 0.9);
                PlannedAttack {
                    scenario,
                    start,
                    end: start + 1_000_000,
                    attacker: plant.ip(forger),
                    targets: vec![plc_ip(plc)],
                    target_plcs: vec![plc],
                    description: format!(
                        "{}, a field device only ever polled, writes the setpoint of {} with the operator HMI's own WRITE_SINGLE_REGISTER and value",
                        plant.name(forger),
                        plant.name(target_host)
                    ),
                }
            }
        };
        result.attacks.push(attack);
    }
    result
}

/// Every address the scan probes: all PLCs, outstations and adapters, and ten unused addresses.
pub fn scan_targets(plant: &Plant) -> Vec<(Arc<str>, Vec<u16>)> {
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
