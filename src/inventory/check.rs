//! From the serde mirror to a checked [`Inventory`]: every value parsed, every reference
//! resolved, every mistake of every file collected with its file and line.
//!
//! Files are checked as one inventory, so a zone may be defined in one file and used in another,
//! and an address listed in two files is a duplicate like one listed twice in the same file.

use std::collections::HashMap;
use std::net::IpAddr;

use serde_saphyr::Spanned;

use super::conduit::{Conduit, ConduitRule, FlowDirection};
use super::error::{InventoryError, InventoryErrors};
use super::model::{Asset, AssetType, Criticality, Inventory, SafeLimit, Zone};
use super::net::{Cidr, parse_ip};
use super::raw::{RawAsset, RawConduit, RawFile, RawLimit, RawRule, RawWindow, RawZone};
use super::schedule::{Day, TimeOfDay, WeeklySlot, Window, time_zone};
use crate::features::Proto;

/// Where something was written: file and line, for errors that point back at a first mention.
#[derive(Debug, Clone)]
struct Place {
    origin: String,
    line: u64,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.origin, self.line)
    }
}

/// Collects errors while the files are checked.
struct Checker {
    errors: Vec<InventoryError>,
}

impl Checker {
    fn error<T>(&mut self, origin: &str, at: &Spanned<T>, key: &str, message: impl Into<String>) {
        self.errors.push(InventoryError::Invalid {
            origin: origin.to_string(),
            line: at.referenced.line(),
            key: key.to_string(),
            message: message.into(),
        });
    }

    /// Runs a parse that may fail, recording the failure against `at`.
    fn parsed<T, V>(
        &mut self,
        origin: &str,
        at: &Spanned<V>,
        key: &str,
        result: Result<T, String>,
    ) -> Option<T> {
        result
            .map_err(|message| self.error(origin, at, key, message))
            .ok()
    }

    /// A name must not be blank; returns it trimmed.
    fn name(&mut self, origin: &str, at: &Spanned<String>, key: &str) -> Option<String> {
        let name = at.value.trim();
        if name.is_empty() {
            self.error(origin, at, key, "must not be empty");
            return None;
        }
        Some(name.to_string())
    }
}

fn place<T>(origin: &str, at: &Spanned<T>) -> Place {
    Place {
        origin: origin.to_string(),
        line: at.referenced.line(),
    }
}

/// Checks parsed files (each with its origin, usually the path) as one inventory.
pub(super) fn check(files: &[(String, RawFile)]) -> Result<Inventory, InventoryErrors> {
    let mut checker = Checker { errors: Vec::new() };
    let zones: Vec<Zone> = check_zones(&mut checker, files)
        .into_iter()
        .map(|(zone, _)| zone)
        .collect();
    let zone_names: HashMap<&str, usize> = zones
        .iter()
        .enumerate()
        .map(|(idx, zone)| (zone.name.as_str(), idx))
        .collect();
    let conduits = check_conduits(&mut checker, files, &zone_names);
    let assets = check_assets(&mut checker, files, &zones, &zone_names);
    drop(zone_names);
    if checker.errors.is_empty() {
        Ok(Inventory::from_checked(zones, conduits, assets))
    } else {
        let mut errors = checker.errors;
        errors.sort_by_key(|error| (error.origin(), error.line()));
        Err(InventoryErrors(errors))
    }
}

fn check_zones(checker: &mut Checker, files: &[(String, RawFile)]) -> Vec<(Zone, Place)> {
    let mut zones: Vec<(Zone, Place)> = Vec::new();
    let mut blocks: Vec<(Cidr, String, Place)> = Vec::new();
    for (origin, file) in files {
        for raw in &file.zones {
            let raw: &RawZone = &raw.value;
            let Some(name) = checker.name(origin, &raw.name, "zone name") else {
                continue;
            };
            if let Some((_, first)) = zones.iter().find(|(zone, _)| zone.name == name) {
                let message = format!("zone `{name}` is already defined at {first}");
                checker.error(origin, &raw.name, "zone name", message);
                continue;
            }
            let level = raw.security_level_target.value;
            if !(1..=4).contains(&level) {
                let message = format!(
                    "zone `{name}`: {level} is not an IEC 62443 security level; SL-T runs 1 to 4"
                );
                checker.error(
                    origin,
                    &raw.security_level_target,
                    "security_level_target",
                    message,
                );
            }
            if raw.cidrs.value.is_empty() {
                let message = format!("zone `{name}` lists no address blocks");
                checker.error(origin, &raw.cidrs, "cidrs", message);
            }
            let mut cidrs = Vec::new();
            for text in &raw.cidrs.value {
                let Some(cidr) = checker.parsed(origin, text, "cidrs", text.value.parse::<Cidr>())
                else {
                    continue;
                };
                if let Some((_, other, first)) = blocks.iter().find(|(block, _, _)| *block == cidr)
                {
                    let message = if *other == name {
                        format!("zone `{name}` lists {cidr} twice (first at {first})")
                    } else {
                        format!(
                            "zones overlap: {cidr} is in zone `{other}` ({first}) and in zone `{name}`; an address must belong to one zone"
                        )
                    };
                    checker.error(origin, text, "cidrs", message);
                    continue;
                }
                blocks.push((cidr, name.clone(), place(origin, text)));
                cidrs.push(cidr);
            }
            zones.push((
                Zone {
                    name,
                    cidrs,
                    security_level_target: level,
                    description: raw.description.clone(),
                },
                place(origin, &raw.name),
            ));
        }
    }
    zones
}

fn check_conduits(
    checker: &mut Checker,
    files: &[(String, RawFile)],
    zone_names: &HashMap<&str, usize>,
) -> Vec<Conduit> {
    let mut conduits = Vec::new();
    let mut seen: HashMap<String, Place> = HashMap::new();
    for (origin, file) in files {
        for raw in &file.conduits {
            let raw: &RawConduit = &raw.value;
            let Some(name) = checker.name(origin, &raw.name, "conduit name") else {
                continue;
            };
            if let Some(first) = seen.get(&name) {
                let message = format!("conduit `{name}` is already defined at {first}");
                checker.error(origin, &raw.name, "conduit name", message);
                continue;
            }
            seen.insert(name.clone(), place(origin, &raw.name));
            let known = |checker: &mut Checker, at: &Spanned<String>, key: &str| {
                let zone = at.value.trim().to_string();
                if !zone_names.contains_key(zone.as_str()) {
                    let message = format!(
                        "conduit `{name}` names zone `{zone}`, which no inventory file defines"
                    );
                    checker.error(origin, at, key, message);
                }
                zone
            };
            let from = known(checker, &raw.from, "from");
            let to = known(checker, &raw.to, "to");
            if from == to {
                let message = format!(
                    "conduit `{name}` joins zone `{from}` to itself; conduits join two different zones"
                );
                checker.error(origin, &raw.to, "to", message);
            }
            let direction = checker.parsed(
                origin,
                &raw.direction,
                "direction",
                FlowDirection::parse(&raw.direction.value),
            );
            if raw.allow.value.is_empty() {
                let message = format!("conduit `{name}` allows nothing; list its services");
                checker.error(origin, &raw.allow, "allow", message);
            }
            let allow: Vec<ConduitRule> = raw
                .allow
                .value
                .iter()
                .filter_map(|rule| check_rule(checker, origin, rule))
                .collect();
            conduits.push(Conduit {
                name,
                from,
                to,
                direction: direction.unwrap_or(FlowDirection::OneWay),
                allow,
                description: raw.description.clone(),
            });
        }
    }
    conduits
}

fn check_rule(checker: &mut Checker, origin: &str, at: &Spanned<RawRule>) -> Option<ConduitRule> {
    let raw = &at.value;
    if raw.service.is_none() && raw.ports.is_empty() {
        let message =
            "a rule names a service, ports, or both; an empty rule would allow everything";
        checker.error(origin, at, "allow", message);
        return None;
    }
    let transport = match &raw.transport {
        None => None,
        Some(text) => match text.value.trim().to_ascii_lowercase().as_str() {
            "tcp" => Some(Proto::Tcp),
            "udp" => Some(Proto::Udp),
            _ => {
                let message = format!("unknown transport `{}`; expected tcp or udp", text.value);
                checker.error(origin, text, "transport", message);
                return None;
            }
        },
    };
    let mut ports = Vec::new();
    for port in &raw.ports {
        match u16::try_from(port.value) {
            Ok(value) if value > 0 => ports.push(value),
            _ => {
                let message = format!("{} is not a port; ports run 1 to 65535", port.value);
                checker.error(origin, port, "ports", message);
            }
        }
    }
    let service = match &raw.service {
        Some(text) => Some(checker.name(origin, text, "service")?.to_ascii_lowercase()),
        None => None,
    };
    Some(ConduitRule {
        service,
        transport,
        ports,
    })
}

fn check_assets(
    checker: &mut Checker,
    files: &[(String, RawFile)],
    zones: &[Zone],
    zone_names: &HashMap<&str, usize>,
) -> Vec<Asset> {
    let mut by_ip: HashMap<IpAddr, Place> = HashMap::new();
    let mut by_name: HashMap<String, (Place, IpAddr)> = HashMap::new();
    let mut assets: Vec<(Asset, &str, &RawAsset)> = Vec::new();
    for (origin, file) in files {
        for raw in &file.assets {
            let raw: &RawAsset = &raw.value;
            let ip = checker.parsed(origin, &raw.ip, "ip", parse_ip(&raw.ip.value));
            let name = checker.name(origin, &raw.name, "name");
            let (Some(ip), Some(name)) = (ip, name) else {
                continue;
            };
            if let Some(first) = by_ip.get(&ip) {
                let message = format!("duplicate asset: {ip} is already listed at {first}");
                checker.error(origin, &raw.ip, "ip", message);
                continue;
            }
            if let Some((first, _)) = by_name.get(&name) {
                let message = format!("duplicate asset name `{name}`: already used at {first}");
                checker.error(origin, &raw.name, "name", message);
                continue;
            }
            by_ip.insert(ip, place(origin, &raw.ip));
            by_name.insert(name.clone(), (place(origin, &raw.name), ip));
            let asset_type = checker
                .parsed(
                    origin,
                    &raw.asset_type,
                    "type",
                    AssetType::parse(&raw.asset_type.value),
                )
                .unwrap_or(AssetType::Other);
            let criticality = raw.criticality.as_ref().and_then(|text| {
                checker.parsed(origin, text, "criticality", Criticality::parse(&text.value))
            });
            let zone = asset_zone(checker, origin, raw, ip, &name, zones, zone_names);
            let maintenance = raw
                .maintenance
                .iter()
                .filter_map(|window| check_window(checker, origin, &window.value))
                .collect();
            let safe_limits = check_limits(checker, origin, &raw.safe_limits);
            let asset = Asset {
                ip,
                name,
                asset_type,
                owner: raw.owner.clone(),
                zone,
                criticality,
                partners: Vec::new(),
                maintenance,
                safe_limits,
                notes: raw.notes.clone(),
            };
            assets.push((asset, origin, raw));
        }
    }
    // Partners may name assets listed later or in another file, so they are resolved last.
    let mut checked = Vec::with_capacity(assets.len());
    for (mut asset, origin, raw) in assets {
        for partner in &raw.partners {
            let text = partner.value.trim();
            let ip = match parse_ip(text) {
                Ok(ip) => ip,
                Err(_) => match by_name.get(text) {
                    Some((_, ip)) => *ip,
                    None => {
                        let message = format!(
                            "partner `{text}` of `{}` is neither an address nor the name of an asset",
                            asset.name
                        );
                        checker.error(origin, partner, "partners", message);
                        continue;
                    }
                },
            };
            if ip == asset.ip {
                let message = format!("`{}` lists itself as a partner", asset.name);
                checker.error(origin, partner, "partners", message);
            } else if asset.partners.contains(&ip) {
                let message = format!("partner {ip} of `{}` is listed twice", asset.name);
                checker.error(origin, partner, "partners", message);
            } else {
                asset.partners.push(ip);
            }
        }
        checked.push(asset);
    }
    checked
}

/// The asset's zone: the zone its address falls in, which must be the zone it names, if it names one.
fn asset_zone(
    checker: &mut Checker,
    origin: &str,
    raw: &RawAsset,
    ip: IpAddr,
    name: &str,
    zones: &[Zone],
    zone_names: &HashMap<&str, usize>,
) -> Option<String> {
    // The most specific block wins, as in `Inventory::zone_of`.
    let by_address = zones
        .iter()
        .flat_map(|zone| zone.cidrs.iter().map(move |cidr| (cidr, zone)))
        .filter(|(cidr, _)| cidr.contains(ip))
        .max_by_key(|(cidr, _)| cidr.prefix())
        .map(|(cidr, zone)| (*cidr, zone.name.as_str()));
    let Some(written) = &raw.zone else {
        return by_address.map(|(_, zone)| zone.to_string());
    };
    let wanted = written.value.trim();
    let Some(&zone_idx) = zone_names.get(wanted) else {
        let message =
            format!("asset `{name}` names zone `{wanted}`, which no inventory file defines");
        checker.error(origin, written, "zone", message);
        return None;
    };
    match by_address {
        Some((_, found)) if found == wanted => {}
        Some((cidr, found)) => {
            let message = format!(
                "asset `{name}` ({ip}) says zone `{wanted}`, but its address is in zone `{found}` ({cidr})"
            );
            checker.error(origin, written, "zone", message);
        }
        None => {
            let blocks: Vec<String> = zones[zone_idx].cidrs.iter().map(Cidr::to_string).collect();
            let message = format!(
                "asset `{name}` ({ip}) is outside zone `{wanted}` ({})",
                blocks.join(", ")
            );
            checker.error(origin, written, "zone", message);
        }
    }
    Some(wanted.to_string())
}

fn check_window(checker: &mut Checker, origin: &str, raw: &RawWindow) -> Option<Window> {
    let name = checker.name(origin, &raw.name, "maintenance name");
    let tz_name = raw.time_zone.value.trim().to_string();
    let tz = checker.parsed(origin, &raw.time_zone, "time_zone", time_zone(&tz_name));
    if raw.weekly.value.is_empty() {
        checker.error(
            origin,
            &raw.weekly,
            "weekly",
            "a maintenance window needs at least one weekly slot",
        );
    }
    let mut weekly = Vec::new();
    for slot in &raw.weekly.value {
        let slot = &slot.value;
        if slot.days.value.is_empty() {
            checker.error(
                origin,
                &slot.days,
                "days",
                "a weekly slot needs at least one day",
            );
        }
        let mut days: Vec<Day> = Vec::new();
        for day in &slot.days.value {
            if let Some(day) = checker.parsed(origin, day, "days", Day::parse(&day.value))
                && !days.contains(&day)
            {
                days.push(day);
            }
        }
        let start = checker.parsed(
            origin,
            &slot.start,
            "start",
            TimeOfDay::parse(&slot.start.value),
        );
        let end = checker.parsed(origin, &slot.end, "end", TimeOfDay::parse(&slot.end.value));
        let (Some(start), Some(end)) = (start, end) else {
            continue;
        };
        if end <= start {
            let message = format!(
                "the slot ends at {end}, not after it starts at {start}; a window over midnight is two slots (to 24:00 and from 00:00)"
            );
            checker.error(origin, &slot.end, "end", message);
            continue;
        }
        weekly.push(WeeklySlot { days, start, end });
    }
    Some(Window::new(name?, tz_name, tz?, weekly))
}

fn check_limits(checker: &mut Checker, origin: &str, raws: &[Spanned<RawLimit>]) -> Vec<SafeLimit> {
    let mut limits: Vec<SafeLimit> = Vec::new();
    for at in raws {
        let raw = &at.value;
        let unit = raw.unit.as_ref().map(|unit| unit.value);
        let register = raw.register.value;
        let mut bound = |value: &Option<Spanned<f64>>, key: &str| match value {
            Some(value) if !value.value.is_finite() => {
                checker.error(origin, value, key, "must be a finite number");
                None
            }
            Some(value) => Some(value.value),
            None => None,
        };
        let (min, max) = (bound(&raw.min, "min"), bound(&raw.max, "max"));
        if raw.min.is_none() && raw.max.is_none() {
            checker.error(
                origin,
                &raw.register,
                "safe_limits",
                format!("register {register} gives neither min nor max"),
            );
            continue;
        }
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            let message = format!("min {min} is above max {max} for register {register}");
            if let Some(at_max) = &raw.max {
                checker.error(origin, at_max, "max", message);
            }
            continue;
        }
        if limits
            .iter()
            .any(|limit| limit.unit == unit && limit.register == register)
        {
            let message = match unit {
                Some(unit) => format!("register {register} of unit {unit} has limits twice"),
                None => format!("register {register} has limits twice"),
            };
            checker.error(origin, &raw.register, "register", message);
            continue;
        }
        limits.push(SafeLimit {
            unit,
            register,
            name: raw.name.clone(),
            min,
            max,
        });
    }
    limits
}
