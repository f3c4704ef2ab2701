//! The simulated plant's `inventory.yaml`: its assets, the Purdue-style zones they sit in, the
//! conduits the plant's legitimate flows use, the weekly maintenance window and the setpoint's
//! safe limits, written in the format `otsentry inventory check` reads.
//!
//! Like `plant.json`, it is a pure function of the PLC count and the maintenance weekday: the same
//! for every seed. It says how the plant should be, so the attacks (a rogue master, a scan from
//! the vendor's host) show as flows and hosts it does not list.

use std::net::IpAddr;
use std::path::Path;

use super::SimulateError;
use super::config::ValidPlantConfig;
use super::plant::{Plant, PlcKind, Role};
use super::process::SETPOINT_REGISTER;
use crate::features::Proto;
use crate::inventory::schedule::{Day, TimeOfDay, WeeklySlot, Window, time_zone};
use crate::inventory::{
    Asset, AssetType, Cidr, Conduit, ConduitRule, Criticality, FlowDirection, SafeLimit, Zone,
    build_inventory,
};

/// Writes `inventory.yaml` for `plant`.
pub fn write_inventory(
    path: &Path,
    config: &ValidPlantConfig,
    plant: &Plant,
) -> Result<(), SimulateError> {
    let text = inventory_text(config, plant, &path.display().to_string());
    std::fs::write(path, text).map_err(|source| SimulateError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The file's text: a header comment and the checked inventory as YAML.
fn inventory_text(config: &ValidPlantConfig, plant: &Plant, origin: &str) -> String {
    let inventory = build_inventory(origin, zones(plant), conduits(), assets(config, plant))
        // The lists below are fixed by the plant's layout; a mistake in them is a bug here.
        .unwrap_or_else(|errors| panic!("the simulator's inventory is invalid: {errors}"));
    let yaml = inventory
        .to_yaml()
        .unwrap_or_else(|error| panic!("the simulator's inventory cannot be written: {error}"));
    format!(
        "# Asset inventory of the simulated plant, written by otsentry simulate.\n\
         # Zones follow the Purdue levels; conduits list the plant's legitimate flows.\n{yaml}"
    )
}

fn cidr(text: &str) -> Cidr {
    text.parse()
        .unwrap_or_else(|error| panic!("simulator zone {text}: {error}"))
}

fn zone(name: &str, cidrs: Vec<Cidr>, level: u8, description: &str) -> Zone {
    Zone {
        name: name.to_string(),
        cidrs,
        security_level_target: level,
        description: Some(description.to_string()),
    }
}

/// The /24 blocks that hold hosts of `role`.
fn blocks_of(plant: &Plant, roles: &[Role]) -> Vec<Cidr> {
    let mut blocks: Vec<Cidr> = plant
        .hosts
        .iter()
        .filter(|host| roles.contains(&host.role))
        .filter_map(|host| host.ip.parse::<IpAddr>().ok())
        .map(|ip| Cidr::of(ip, 24))
        .collect();
    blocks.sort();
    blocks.dedup();
    blocks
}

fn zones(plant: &Plant) -> Vec<Zone> {
    vec![
        zone(
            "enterprise",
            vec![cidr("10.0.0.0/8")],
            1,
            "the corporate network: every 10.x address outside the plant zones",
        ),
        zone("dmz", vec![cidr("10.10.9.0/24")], 2, "vendor remote access"),
        zone(
            "operations",
            vec![cidr("10.10.3.0/24")],
            2,
            "SCADA server, historian, engineering workstation (Purdue level 3)",
        ),
        zone(
            "supervisory",
            vec![cidr("10.10.2.0/24")],
            2,
            "operator HMIs (Purdue level 2)",
        ),
        zone(
            "control",
            blocks_of(plant, &[Role::Plc]),
            3,
            "PLCs (Purdue level 1)",
        ),
        zone(
            "field",
            blocks_of(plant, &[Role::Dnp3Outstation, Role::IoAdapter]),
            3,
            "DNP3 outstations and remote I/O (Purdue level 0-1)",
        ),
    ]
}

fn rule(service: Option<&str>, transport: Proto, port: u16) -> ConduitRule {
    ConduitRule {
        service: service.map(str::to_string),
        transport: Some(transport),
        ports: vec![port],
    }
}

fn conduit(
    name: &str,
    from: &str,
    to: &str,
    allow: Vec<ConduitRule>,
    description: &str,
) -> Conduit {
    Conduit {
        name: name.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        direction: FlowDirection::OneWay,
        allow,
        description: Some(description.to_string()),
    }
}

fn conduits() -> Vec<Conduit> {
    vec![
        conduit(
            "hmi-to-plc",
            "supervisory",
            "control",
            vec![
                rule(Some("modbus"), Proto::Tcp, 502),
                rule(Some("enip"), Proto::Tcp, 44818),
            ],
            "operators poll and set the PLCs",
        ),
        conduit(
            "operations-to-plc",
            "operations",
            "control",
            vec![rule(Some("modbus"), Proto::Tcp, 502)],
            "SCADA polling, historian collection, engineering maintenance",
        ),
        conduit(
            "scada-to-rtu",
            "operations",
            "field",
            vec![rule(Some("dnp3"), Proto::Tcp, 20000)],
            "SCADA polls the DNP3 outstations",
        ),
        conduit(
            "plc-to-io",
            "control",
            "field",
            vec![rule(None, Proto::Udp, 2222)],
            "cyclic EtherNet/IP I/O from the PLCs to their adapters",
        ),
        conduit(
            "vendor-remote-access",
            "dmz",
            "operations",
            vec![rule(Some("rdp"), Proto::Tcp, 3389)],
            "the vendor's remote desktop to the engineering workstation",
        ),
    ]
}

fn assets(config: &ValidPlantConfig, plant: &Plant) -> Vec<Asset> {
    let ip = |host: usize| -> IpAddr {
        plant.hosts[host]
            .ip
            .parse()
            .unwrap_or_else(|error| panic!("simulator address {}: {error}", plant.hosts[host].ip))
    };
    let maintenance = || {
        let day =
            Day::parse(&config.config.maintenance_weekday.to_string()).unwrap_or(Day::Wednesday);
        let utc = time_zone("UTC").unwrap_or_else(|error| panic!("{error}"));
        Window::new(
            "weekly maintenance".to_string(),
            "UTC".to_string(),
            utc,
            vec![WeeklySlot {
                days: vec![day],
                start: TimeOfDay::from_minutes(9 * 60),
                end: TimeOfDay::from_minutes(12 * 60),
            }],
        )
    };
    let modbus_plcs: Vec<usize> = plant
        .plcs_of(PlcKind::Modbus)
        .into_iter()
        .map(|idx| plant.plcs[idx].host)
        .collect();
    let mut partners: Vec<Vec<usize>> = vec![Vec::new(); plant.hosts.len()];
    let mut link = |a: usize, b: usize| {
        partners[a].push(b);
        partners[b].push(a);
    };
    for plc in &plant.plcs {
        link(plc.host, plc.hmi);
        if let Some(adapter) = plc.io_adapter {
            link(plc.host, adapter);
        }
        if plc.kind == PlcKind::Modbus {
            link(plc.host, plant.scada);
            link(plc.host, plant.historian);
            link(plc.host, plant.engineering_workstation);
        }
    }
    for &outstation in &plant.outstations {
        link(outstation, plant.scada);
    }
    link(plant.vendor_jump_host, plant.engineering_workstation);
    plant
        .hosts
        .iter()
        .enumerate()
        .map(|(idx, host)| {
            let (asset_type, owner, criticality, notes) = match host.role {
                Role::Plc => (
                    AssetType::Plc,
                    "process-engineering",
                    Criticality::High,
                    None,
                ),
                Role::Hmi => (AssetType::Hmi, "operations", Criticality::High, None),
                Role::Scada => (
                    AssetType::Server,
                    "operations",
                    Criticality::Critical,
                    Some("SCADA server"),
                ),
                Role::Historian => (
                    AssetType::Historian,
                    "operations",
                    Criticality::Medium,
                    None,
                ),
                Role::EngineeringWorkstation => (
                    AssetType::Ews,
                    "process-engineering",
                    Criticality::High,
                    None,
                ),
                Role::VendorJumpHost => (
                    AssetType::Server,
                    "it-security",
                    Criticality::Medium,
                    Some("vendor remote access jump host"),
                ),
                Role::Dnp3Outstation => (
                    AssetType::Rtu,
                    "process-engineering",
                    Criticality::High,
                    None,
                ),
                Role::IoAdapter => (
                    AssetType::Other,
                    "process-engineering",
                    Criticality::Medium,
                    Some("EtherNet/IP remote I/O adapter"),
                ),
            };
            let is_modbus_plc = modbus_plcs.contains(&idx);
            let mut peers: Vec<IpAddr> = partners[idx].iter().map(|peer| ip(*peer)).collect();
            peers.sort();
            peers.dedup();
            let unit = plant
                .plcs
                .iter()
                .find(|plc| plc.host == idx)
                .map(|plc| u16::from(plc.unit_id));
            let safe_limits = match (is_modbus_plc, unit) {
                (true, Some(unit)) => vec![
                    SafeLimit {
                        unit: Some(unit),
                        register: 0,
                        name: Some("tank level (per mille)".to_string()),
                        min: Some(100.0),
                        max: Some(900.0),
                    },
                    SafeLimit {
                        unit: Some(unit),
                        register: u32::from(SETPOINT_REGISTER),
                        name: Some("tank level setpoint (per mille)".to_string()),
                        min: Some(700.0),
                        max: Some(800.0),
                    },
                ],
                _ => Vec::new(),
            };
            let in_maintenance = is_modbus_plc || host.role == Role::EngineeringWorkstation;
            Asset {
                ip: ip(idx),
                name: host.name.clone(),
                asset_type,
                owner: Some(owner.to_string()),
                zone: None,
                criticality: Some(criticality),
                partners: peers,
                maintenance: if in_maintenance {
                    vec![maintenance()]
                } else {
                    Vec::new()
                },
                safe_limits,
                notes: notes.map(str::to_string),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{ConduitVerdict, parse_inventory};
    use crate::simulate::PlantConfig;

    #[test]
    fn every_plant_size_gets_an_inventory_that_checks() {
        for plcs in [1, 4, 40, 450] {
            let config = PlantConfig {
                plcs,
                hours: Some(1),
                ..PlantConfig::default()
            }
            .check()
            .unwrap();
            let plant = Plant::new(plcs);
            let text = inventory_text(&config, &plant, "inventory.yaml");
            let inventory = parse_inventory(&[("inventory.yaml", &text)])
                .unwrap_or_else(|errors| panic!("{plcs} PLCs: {errors}"));
            assert_eq!(inventory.assets.len(), plant.hosts.len());
            for host in &plant.hosts {
                let asset = inventory.asset(host.ip.parse().unwrap()).unwrap();
                assert_eq!(asset.name, host.name);
                assert!(asset.zone.is_some(), "{} has a zone", host.name);
            }
        }
    }

    #[test]
    fn the_plant_flows_pass_the_conduits_and_the_rogue_master_does_not() {
        let config = PlantConfig::default().check().unwrap();
        let plant = Plant::new(10);
        let text = inventory_text(&config, &plant, "inventory.yaml");
        let inventory = parse_inventory(&[("inventory.yaml", &text)]).unwrap();
        let hmi = plant.ip(plant.hmis[0]).parse().unwrap();
        let plc = plant.ip(plant.plcs[0].host).parse().unwrap();
        let verdict = inventory.conduit_allows(hmi, plc, 502, Proto::Tcp, "modbus");
        assert!(
            matches!(verdict, ConduitVerdict::Allowed { .. }),
            "{verdict:?}"
        );
        let vendor = plant.ip(plant.vendor_jump_host).parse().unwrap();
        let scan = inventory.conduit_allows(vendor, plc, 502, Proto::Tcp, "modbus");
        assert!(scan.is_violation(), "{scan:?}");
        let rogue = super::super::scenarios::ROGUE_MASTER_IP.parse().unwrap();
        assert!(
            inventory.asset(rogue).is_none(),
            "the rogue master is not listed"
        );
        let wednesday_ten = 1_791_367_200.0; // 2026-10-07T10:00:00Z
        assert!(inventory.in_maintenance(plc, wednesday_ten).is_some());
        let limit = inventory
            .safe_limits(plc, u16::from(plant.plcs[0].unit_id), 5)
            .unwrap();
        assert!(
            !limit.allows(830.0),
            "the drift's last value is outside the safe limits"
        );
    }
}
