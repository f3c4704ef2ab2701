//! `otsentry inventory check` in plain words: what the inventory says about zones, conduits,
//! assets, maintenance and limits, and what it leaves open.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::conduit::{ConduitRule, FlowDirection};
use super::model::{ASSET_TYPES, Inventory};

/// Describes a checked inventory in sentences, one fact per line.
pub fn explain(inventory: &Inventory) -> String {
    let mut out = String::new();
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let _ = writeln!(
        out,
        "The inventory is valid: {}, {}, {}.",
        plural(inventory.zones.len(), "zone", "zones"),
        plural(inventory.conduits.len(), "conduit", "conduits"),
        plural(inventory.assets.len(), "asset", "assets"),
    );
    for zone in &inventory.zones {
        let blocks: Vec<String> = zone.cidrs.iter().map(ToString::to_string).collect();
        let members: Vec<_> = inventory
            .assets
            .iter()
            .filter(|asset| asset.zone.as_deref() == Some(zone.name.as_str()))
            .collect();
        let mut by_type: BTreeMap<_, usize> = BTreeMap::new();
        for asset in &members {
            *by_type.entry(asset.asset_type).or_default() += 1;
        }
        let types: Vec<String> = ASSET_TYPES
            .iter()
            .filter_map(|kind| by_type.get(kind).map(|n| format!("{n} {}", kind.name())))
            .collect();
        let _ = writeln!(
            out,
            "Zone {} (SL-T {}) covers {} and holds {}{}.",
            zone.name,
            zone.security_level_target,
            blocks.join(", "),
            plural(members.len(), "asset", "assets"),
            if types.is_empty() {
                String::new()
            } else {
                format!(" ({})", types.join(", "))
            }
        );
    }
    for conduit in &inventory.conduits {
        let rules: Vec<String> = conduit.allow.iter().map(ConduitRule::describe).collect();
        let direction = match conduit.direction {
            FlowDirection::OneWay => format!("only {} starts connections", conduit.from),
            FlowDirection::Both => "either side starts connections".to_string(),
        };
        let _ = writeln!(
            out,
            "Conduit {} joins {} to {} ({direction}) for {}.",
            conduit.name,
            conduit.from,
            conduit.to,
            rules.join("; ")
        );
    }
    if inventory.zones.len() > 1 {
        let _ = writeln!(
            out,
            "Any other flow between two zones is outside every conduit (62443 FR5, restricted data flow)."
        );
    }
    for asset in &inventory.assets {
        for window in &asset.maintenance {
            let slots: Vec<String> = window
                .weekly
                .iter()
                .map(|slot| {
                    let days: Vec<&str> = slot.days.iter().map(|day| day.name()).collect();
                    format!("{} {}-{}", days.join(", "), slot.start, slot.end)
                })
                .collect();
            let _ = writeln!(
                out,
                "{} ({}) has maintenance window \"{}\": {} ({}).",
                asset.name,
                asset.ip,
                window.name,
                slots.join("; "),
                window.time_zone
            );
        }
    }
    let limits: usize = inventory
        .assets
        .iter()
        .map(|asset| asset.safe_limits.len())
        .sum();
    if limits > 0 {
        let holders = inventory
            .assets
            .iter()
            .filter(|asset| !asset.safe_limits.is_empty())
            .count();
        let _ = writeln!(
            out,
            "{} on {}.",
            plural(limits, "safe limit", "safe limits"),
            plural(holders, "asset", "assets")
        );
    }
    let unzoned: Vec<&str> = inventory
        .assets
        .iter()
        .filter(|asset| asset.zone.is_none())
        .map(|asset| asset.name.as_str())
        .collect();
    if !unzoned.is_empty() && !inventory.zones.is_empty() {
        let _ = writeln!(
            out,
            "Not in any zone, so no conduit applies to them: {}.",
            unzoned.join(", ")
        );
    }
    let uncritical = inventory
        .assets
        .iter()
        .filter(|asset| asset.criticality.is_none())
        .count();
    if uncritical > 0 {
        let _ = writeln!(
            out,
            "{} without a criticality.",
            plural(uncritical, "asset", "assets")
        );
    }
    out
}
