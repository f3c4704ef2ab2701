//! The checked inventory and its lookups: assets by address, zones by longest prefix, maintenance
//! windows and safe limits by asset, and the asset context an alert carries.
//!
//! Only `check` builds an [`Inventory`], so every value here has passed validation: addresses
//! parse, zones exist, schedules are possible. Serialising an `Inventory` gives an inventory file
//! that checks to the same inventory.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::conduit::Conduit;
use super::net::{Cidr, canonical};
use super::schedule::Window;

/// What an asset is, in the words an OT asset register uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetType {
    Plc,
    Rtu,
    Hmi,
    Historian,
    /// Engineering workstation.
    Ews,
    Server,
    Workstation,
    /// Switches, routers, firewalls, data diodes.
    Network,
    Other,
}

/// Every asset type, in the order the documentation lists them.
pub const ASSET_TYPES: [AssetType; 9] = [
    AssetType::Plc,
    AssetType::Rtu,
    AssetType::Hmi,
    AssetType::Historian,
    AssetType::Ews,
    AssetType::Server,
    AssetType::Workstation,
    AssetType::Network,
    AssetType::Other,
];

impl AssetType {
    pub fn name(self) -> &'static str {
        match self {
            AssetType::Plc => "plc",
            AssetType::Rtu => "rtu",
            AssetType::Hmi => "hmi",
            AssetType::Historian => "historian",
            AssetType::Ews => "ews",
            AssetType::Server => "server",
            AssetType::Workstation => "workstation",
            AssetType::Network => "network",
            AssetType::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Result<AssetType, String> {
        let lower = text.trim().to_ascii_lowercase();
        ASSET_TYPES
            .into_iter()
            .find(|kind| kind.name() == lower)
            .ok_or_else(|| {
                let names: Vec<&str> = ASSET_TYPES.iter().map(|kind| kind.name()).collect();
                format!(
                    "unknown asset type `{text}`; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// How much the process depends on an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Criticality {
    Low,
    Medium,
    High,
    Critical,
}

impl Criticality {
    pub fn name(self) -> &'static str {
        match self {
            Criticality::Low => "low",
            Criticality::Medium => "medium",
            Criticality::High => "high",
            Criticality::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Result<Criticality, String> {
        let lower = text.trim().to_ascii_lowercase();
        [
            Criticality::Low,
            Criticality::Medium,
            Criticality::High,
            Criticality::Critical,
        ]
        .into_iter()
        .find(|level| level.name() == lower)
        .ok_or_else(|| {
            format!("unknown criticality `{text}`; expected one of low, medium, high, critical")
        })
    }
}

/// A 62443 zone: a named set of address blocks with a target security level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Zone {
    pub name: String,
    pub cidrs: Vec<Cidr>,
    /// IEC 62443-3-2 SL-T, 1 to 4.
    pub security_level_target: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// The safe operating range of one register or point, from the process engineers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SafeLimit {
    /// The Modbus unit id (or DNP3 address); `None` applies to every unit of the asset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<u16>,
    /// The register address (Modbus) or point index (DNP3) as the ICSNPP logs write it.
    pub register: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

impl SafeLimit {
    /// Whether `value` lies inside the limits (both ends inclusive).
    pub fn allows(&self, value: f64) -> bool {
        self.min.is_none_or(|min| value >= min) && self.max.is_none_or(|max| value <= max)
    }
}

/// One asset of the plant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asset {
    pub ip: IpAddr,
    pub name: String,
    #[serde(rename = "type")]
    pub asset_type: AssetType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The zone the asset's address falls in (written or found by its address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// Hosts the asset is expected to talk to, either direction.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub maintenance: Vec<Window>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub safe_limits: Vec<SafeLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// What an alert says about one end of a flow: the asset (when known), its zone, and whether a
/// maintenance window was open at the record's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetContext {
    pub ip: IpAddr,
    /// False for an address the inventory does not list.
    pub known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<AssetType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The zone by address, also for an address the inventory does not list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// The name of the maintenance window open at the record's time, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<String>,
}

impl AssetContext {
    pub fn maintenance_active(&self) -> bool {
        self.maintenance.is_some()
    }
}

/// A checked inventory with its lookup tables.
#[derive(Debug, Clone, Serialize)]
pub struct Inventory {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<Zone>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conduits: Vec<Conduit>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<Asset>,
    #[serde(skip)]
    lookups: Lookups,
}

/// Index tables built once from the checked lists.
#[derive(Debug, Clone, Default)]
struct Lookups {
    asset_by_ip: HashMap<IpAddr, usize>,
    /// Per prefix length, longest first: network base → zone index.
    zone_prefixes: Vec<(u8, bool, HashMap<IpAddr, usize>)>,
    zone_by_name: HashMap<String, usize>,
    /// (from zone, to zone) → conduits declared from the first to the second.
    conduits_between: HashMap<(usize, usize), Vec<usize>>,
}

impl PartialEq for Inventory {
    /// Two inventories are equal when they hold the same zones, conduits and assets in the same
    /// order; the lookup tables follow from those.
    fn eq(&self, other: &Inventory) -> bool {
        self.zones == other.zones && self.conduits == other.conduits && self.assets == other.assets
    }
}

impl Inventory {
    /// Builds the lookups over lists that `check` has validated (unique addresses and names,
    /// no two zones with the same block, conduits naming existing zones).
    pub(super) fn from_checked(
        zones: Vec<Zone>,
        conduits: Vec<Conduit>,
        assets: Vec<Asset>,
    ) -> Inventory {
        let asset_by_ip = assets
            .iter()
            .enumerate()
            .map(|(idx, asset)| (asset.ip, idx))
            .collect();
        let zone_by_name: HashMap<String, usize> = zones
            .iter()
            .enumerate()
            .map(|(idx, zone)| (zone.name.clone(), idx))
            .collect();
        let mut zone_prefixes: Vec<(u8, bool, HashMap<IpAddr, usize>)> = Vec::new();
        for (zone_idx, zone) in zones.iter().enumerate() {
            for cidr in &zone.cidrs {
                let v4 = cidr.base().is_ipv4();
                let slot = match zone_prefixes
                    .iter_mut()
                    .position(|(prefix, family, _)| *prefix == cidr.prefix() && *family == v4)
                {
                    Some(slot) => slot,
                    None => {
                        zone_prefixes.push((cidr.prefix(), v4, HashMap::new()));
                        zone_prefixes.len() - 1
                    }
                };
                zone_prefixes[slot].2.insert(cidr.base(), zone_idx);
            }
        }
        zone_prefixes.sort_by_key(|(prefix, _, _)| std::cmp::Reverse(*prefix));
        let mut conduits_between: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
        for (idx, conduit) in conduits.iter().enumerate() {
            if let (Some(&from), Some(&to)) = (
                zone_by_name.get(&conduit.from),
                zone_by_name.get(&conduit.to),
            ) {
                conduits_between.entry((from, to)).or_default().push(idx);
            }
        }
        Inventory {
            zones,
            conduits,
            assets,
            lookups: Lookups {
                asset_by_ip,
                zone_prefixes,
                zone_by_name,
                conduits_between,
            },
        }
    }

    /// The asset at `ip`, if the inventory lists one.
    pub fn asset(&self, ip: IpAddr) -> Option<&Asset> {
        let idx = *self.lookups.asset_by_ip.get(&canonical(ip))?;
        self.assets.get(idx)
    }

    /// The zone named `name`.
    pub fn zone(&self, name: &str) -> Option<&Zone> {
        let idx = *self.lookups.zone_by_name.get(name)?;
        self.zones.get(idx)
    }

    /// The zone whose most specific block holds `ip` (a zone carved out of a larger one wins).
    pub fn zone_of(&self, ip: IpAddr) -> Option<&Zone> {
        self.zone_index_of(ip).and_then(|idx| self.zones.get(idx))
    }

    pub(super) fn zone_index_of(&self, ip: IpAddr) -> Option<usize> {
        let ip = canonical(ip);
        let v4 = ip.is_ipv4();
        self.lookups
            .zone_prefixes
            .iter()
            .filter(|(_, family, _)| *family == v4)
            .find_map(|(prefix, _, bases)| bases.get(&Cidr::of(ip, *prefix).base()).copied())
    }

    /// Conduits declared from zone index `from` to zone index `to`.
    pub(super) fn conduits_from_to(
        &self,
        from: usize,
        to: usize,
    ) -> impl Iterator<Item = &Conduit> {
        self.lookups
            .conduits_between
            .get(&(from, to))
            .into_iter()
            .flatten()
            .filter_map(|idx| self.conduits.get(*idx))
    }

    /// The maintenance window of the asset at `ip` open at `ts` (seconds since the epoch, log
    /// time), if any.
    pub fn in_maintenance(&self, ip: IpAddr, ts: f64) -> Option<&Window> {
        self.asset(ip)?
            .maintenance
            .iter()
            .find(|window| window.contains(ts))
    }

    /// The safe limits of register `register` on unit `unit` of the asset at `ip`: a limit
    /// written for that unit first, then one written for every unit.
    pub fn safe_limits(&self, ip: IpAddr, unit: u16, register: u32) -> Option<&SafeLimit> {
        let limits = &self.asset(ip)?.safe_limits;
        limits
            .iter()
            .find(|limit| limit.unit == Some(unit) && limit.register == register)
            .or_else(|| {
                limits
                    .iter()
                    .find(|limit| limit.unit.is_none() && limit.register == register)
            })
    }

    /// What an alert says about `ip` at log time `ts`.
    pub fn context(&self, ip: IpAddr, ts: f64) -> AssetContext {
        let ip = canonical(ip);
        let zone = self.zone_of(ip).map(|zone| zone.name.clone());
        match self.asset(ip) {
            Some(asset) => AssetContext {
                ip,
                known: true,
                name: Some(asset.name.clone()),
                asset_type: Some(asset.asset_type),
                owner: asset.owner.clone(),
                zone: asset.zone.clone().or(zone),
                criticality: asset.criticality,
                maintenance: self
                    .in_maintenance(ip, ts)
                    .map(|window| window.name.clone()),
            },
            None => AssetContext {
                ip,
                known: false,
                name: None,
                asset_type: None,
                owner: None,
                zone,
                criticality: None,
                maintenance: None,
            },
        }
    }

    /// The inventory as an inventory file, which checks to an equal inventory.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::SerializeError> {
        serde_saphyr::to_string(self)
    }
}
