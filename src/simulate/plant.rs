//! The simulated plant's topology: hosts, their roles and addresses, and which PLC talks what.
//!
//! The layout follows a Purdue-style network: operations (SCADA, historian, engineering
//! workstation) in 10.10.3.0/24, HMIs in 10.10.2.0/24, PLCs from 10.10.10.0/24, DNP3 outstations
//! in 10.10.4.0/24, EtherNet/IP I/O adapters from 10.10.20.0/24 and the vendor jump host in the
//! DMZ (10.10.9.0/24). The topology is a pure function of the PLC count, so `plant.json` is the
//! same for every seed.

use std::sync::Arc;

use serde::Serialize;

/// What a host does in the plant (written to `plant.json` for asset context).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Plc,
    Hmi,
    Scada,
    Historian,
    EngineeringWorkstation,
    VendorJumpHost,
    Dnp3Outstation,
    IoAdapter,
}

/// One host of the plant.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub name: String,
    #[serde(serialize_with = "serialize_arc_str")]
    pub ip: Arc<str>,
    pub role: Role,
    pub zone: &'static str,
    /// Protocols the host serves or speaks, for asset context.
    pub protocols: Vec<&'static str>,
}

fn serialize_arc_str<S: serde::Serializer>(
    value: &Arc<str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
}

/// Which industrial protocol a PLC serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlcKind {
    Modbus,
    Enip,
}

/// A PLC and the hosts it is tied to.
#[derive(Debug, Clone)]
pub struct Plc {
    pub host: usize,
    pub kind: PlcKind,
    pub unit_id: u8,
    /// The HMI that polls this PLC.
    pub hmi: usize,
    /// The remote I/O adapter of an EtherNet/IP PLC (cyclic I/O on UDP 2222).
    pub io_adapter: Option<usize>,
}

/// The whole plant.
#[derive(Debug, Clone)]
pub struct Plant {
    pub hosts: Vec<Host>,
    pub plcs: Vec<Plc>,
    pub hmis: Vec<usize>,
    pub scada: usize,
    pub historian: usize,
    pub engineering_workstation: usize,
    pub vendor_jump_host: usize,
    pub outstations: Vec<usize>,
}

impl Plant {
    /// Builds the plant for `n_plcs` PLCs (1..=1000).
    pub fn new(n_plcs: u32) -> Plant {
        let mut hosts = Vec::new();
        let mut add = |name: String,
                       ip: String,
                       role: Role,
                       zone: &'static str,
                       protocols: Vec<&'static str>| {
            hosts.push(Host {
                name,
                ip: Arc::from(ip),
                role,
                zone,
                protocols,
            });
            hosts.len() - 1
        };
        let scada = add(
            "scada-01".into(),
            "10.10.3.10".into(),
            Role::Scada,
            "operations",
            vec!["modbus", "dnp3"],
        );
        let historian = add(
            "historian-01".into(),
            "10.10.3.20".into(),
            Role::Historian,
            "operations",
            vec!["modbus"],
        );
        let engineering_workstation = add(
            "ews-01".into(),
            "10.10.3.30".into(),
            Role::EngineeringWorkstation,
            "operations",
            vec!["modbus", "enip", "rdp"],
        );
        let vendor_jump_host = add(
            "vendor-jump-01".into(),
            "10.10.9.5".into(),
            Role::VendorJumpHost,
            "dmz",
            vec!["rdp"],
        );
        let n_hmis = n_plcs.div_ceil(10).max(1);
        let hmis: Vec<usize> = (0..n_hmis)
            .map(|idx| {
                add(
                    format!("hmi-{:02}", idx + 1),
                    format!("10.10.2.{}", 10 + idx),
                    Role::Hmi,
                    "supervisory",
                    vec!["modbus", "enip"],
                )
            })
            .collect();
        let mut plcs = Vec::new();
        for idx in 0..n_plcs {
            // Every fifth PLC speaks EtherNet/IP; a small plant still gets one, so that every
            // protocol log is exercised.
            let enip = idx % 5 == 4 || ((2..5).contains(&n_plcs) && idx == n_plcs - 1);
            let kind = if enip { PlcKind::Enip } else { PlcKind::Modbus };
            let protocol = match kind {
                PlcKind::Modbus => vec!["modbus"],
                PlcKind::Enip => vec!["enip", "cip"],
            };
            let host = add(
                format!("plc-{:03}", idx + 1),
                format!("10.10.{}.{}", 10 + idx / 200, 10 + idx % 200),
                Role::Plc,
                "control",
                protocol,
            );
            let io_adapter = (kind == PlcKind::Enip).then(|| {
                add(
                    format!("io-{:03}", idx + 1),
                    format!("10.10.{}.{}", 20 + idx / 200, 10 + idx % 200),
                    Role::IoAdapter,
                    "field",
                    vec!["cip"],
                )
            });
            plcs.push(Plc {
                host,
                kind,
                unit_id: 1 + (idx % 4) as u8,
                hmi: hmis[(idx / 10) as usize % hmis.len()],
                io_adapter,
            });
        }
        let n_outstations = (n_plcs / 8).max(1);
        let outstations = (0..n_outstations)
            .map(|idx| {
                add(
                    format!("rtu-{:02}", idx + 1),
                    format!("10.10.4.{}", 10 + idx),
                    Role::Dnp3Outstation,
                    "field",
                    vec!["dnp3"],
                )
            })
            .collect();
        Plant {
            hosts,
            plcs,
            hmis,
            scada,
            historian,
            engineering_workstation,
            vendor_jump_host,
            outstations,
        }
    }

    pub fn ip(&self, host: usize) -> Arc<str> {
        Arc::clone(&self.hosts[host].ip)
    }

    pub fn name(&self, host: usize) -> &str {
        &self.hosts[host].name
    }

    /// Indices (into `plcs`) of the PLCs serving `kind`.
    pub fn plcs_of(&self, kind: PlcKind) -> Vec<usize> {
        (0..self.plcs.len())
            .filter(|idx| self.plcs[*idx].kind == kind)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_unique_and_roles_present() {
        let plant = Plant::new(40);
        let mut ips: Vec<&str> = plant.hosts.iter().map(|host| &*host.ip).collect();
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), plant.hosts.len());
        assert_eq!(plant.plcs.len(), 40);
        assert_eq!(plant.plcs_of(PlcKind::Enip).len(), 8);
        assert_eq!(plant.hmis.len(), 4);
        assert_eq!(plant.outstations.len(), 5);
    }

    #[test]
    fn a_single_plc_plant_still_has_every_role() {
        let plant = Plant::new(1);
        assert_eq!(plant.plcs_of(PlcKind::Modbus).len(), 1);
        assert_eq!(plant.outstations.len(), 1);
    }
}
