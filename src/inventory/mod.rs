//! The asset inventory: assets, 62443 zones and conduits, maintenance windows and safe process
//! limits, read from YAML files that a site keeps under version control.
//!
//! Files are read into a serde mirror (`raw`, unknown keys refused with their line), then checked
//! together into an [`Inventory`] (`check`), which answers the questions the detectors and the
//! alert builder ask: which asset is this address ([`Inventory::asset`]), which zone
//! ([`Inventory::zone_of`]), may this flow cross between zones ([`Inventory::conduit_allows`]), is a
//! maintenance window open ([`Inventory::in_maintenance`]), what are a register's safe limits
//! ([`Inventory::safe_limits`]), and what an alert says about a host ([`Inventory::context`]).
//!
//! ```
//! use otsentry::inventory::parse_inventory;
//!
//! let inventory = parse_inventory(&[(
//!     "plant.yaml",
//!     "zones:\n  - name: control\n    cidrs: [10.10.10.0/24]\n    security_level_target: 3\n\
//!      assets:\n  - ip: 10.10.10.10\n    name: plc-001\n    type: plc\n",
//! )])?;
//! let plc = inventory.asset("10.10.10.10".parse()?).expect("listed");
//! assert_eq!(plc.zone.as_deref(), Some("control"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `discover` builds a candidate inventory from traffic and compares it with a written one.
//! docs/inventory.md describes the file format and the checks.

mod check;
mod conduit;
pub mod discover;
mod error;
mod explain;
mod model;
pub mod net;
mod raw;
pub mod schedule;
mod yaml;

use std::path::Path;

pub use conduit::{Conduit, ConduitRule, ConduitVerdict, FlowDirection};
pub use error::{InventoryError, InventoryErrors};
pub use explain::explain;
pub use model::{
    ASSET_TYPES, Asset, AssetContext, AssetType, Criticality, Inventory, SafeLimit, Zone,
};
pub use net::Cidr;
pub use schedule::{Day, TimeOfDay, WeeklySlot, Window};

/// Parses and checks inventory texts, each with its origin (usually a path), as one inventory.
///
/// Every file is parsed even when an earlier one fails; when all parse, every mistake the check
/// finds across them is reported.
pub fn parse_inventory(texts: &[(&str, &str)]) -> Result<Inventory, InventoryErrors> {
    let mut errors = Vec::new();
    let mut files = Vec::new();
    for (origin, text) in texts {
        match yaml::parse::<raw::RawFile>(text, origin) {
            Ok(file) => files.push((origin.to_string(), file)),
            Err(error) => errors.push(error),
        }
    }
    // A file that does not parse may hold the zones others name: checking the rest would report
    // mistakes that are not there.
    if !errors.is_empty() {
        return Err(InventoryErrors(errors));
    }
    check::check(&files)
}

/// Reads, parses and checks inventory files as one inventory.
pub fn load_inventory<P: AsRef<Path>>(paths: &[P]) -> Result<Inventory, InventoryErrors> {
    let mut errors = Vec::new();
    let mut texts = Vec::new();
    for path in paths {
        let path = path.as_ref();
        match std::fs::read_to_string(path) {
            Ok(text) => texts.push((path.display().to_string(), text)),
            Err(error) => errors.push(InventoryError::Read {
                path: path.to_path_buf(),
                message: error.to_string(),
            }),
        }
    }
    let borrowed: Vec<(&str, &str)> = texts
        .iter()
        .map(|(origin, text)| (origin.as_str(), text.as_str()))
        .collect();
    if !errors.is_empty() {
        return Err(InventoryErrors(errors));
    }
    parse_inventory(&borrowed)
}

/// Builds an inventory from lists made in code (a simulator's plant, a test), held to the same
/// checks as a file: the lists are written as YAML and read back under `origin`.
pub fn build_inventory(
    origin: &str,
    zones: Vec<Zone>,
    conduits: Vec<Conduit>,
    assets: Vec<Asset>,
) -> Result<Inventory, InventoryErrors> {
    let unchecked = Inventory::from_checked(zones, conduits, assets);
    let text = unchecked.to_yaml().map_err(|error| {
        InventoryErrors(vec![InventoryError::Shape {
            origin: origin.to_string(),
            line: 0,
            column: 0,
            message: format!("cannot write the inventory as YAML: {error}"),
        }])
    })?;
    parse_inventory(&[(origin, &text)])
}

#[cfg(test)]
mod tests;
