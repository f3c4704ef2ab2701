//! The serde mirror of an inventory file: exactly the documented keys (anything else is an error
//! naming the key and its line), every value kept with its location so the check can say where a
//! wrong one was written. Nothing here is interpreted; `check` turns it into an [`Inventory`].
//!
//! [`Inventory`]: super::Inventory

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One inventory file: any of the three sections, each optional, so a site can keep zones and
/// conduits in one file and assets in others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub zones: Vec<Spanned<RawZone>>,
    #[serde(default)]
    pub conduits: Vec<Spanned<RawConduit>>,
    #[serde(default)]
    pub assets: Vec<Spanned<RawAsset>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawZone {
    pub name: Spanned<String>,
    pub cidrs: Spanned<Vec<Spanned<String>>>,
    pub security_level_target: Spanned<u8>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConduit {
    pub name: Spanned<String>,
    pub from: Spanned<String>,
    pub to: Spanned<String>,
    pub direction: Spanned<String>,
    pub allow: Spanned<Vec<Spanned<RawRule>>>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    #[serde(default)]
    pub service: Option<Spanned<String>>,
    #[serde(default)]
    pub transport: Option<Spanned<String>>,
    #[serde(default)]
    pub ports: Vec<Spanned<u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAsset {
    pub ip: Spanned<String>,
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub asset_type: Spanned<String>,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub zone: Option<Spanned<String>>,
    #[serde(default)]
    pub criticality: Option<Spanned<String>>,
    #[serde(default)]
    pub partners: Vec<Spanned<String>>,
    #[serde(default)]
    pub maintenance: Vec<Spanned<RawWindow>>,
    #[serde(default)]
    pub safe_limits: Vec<Spanned<RawLimit>>,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    pub name: Spanned<String>,
    pub time_zone: Spanned<String>,
    pub weekly: Spanned<Vec<Spanned<RawSlot>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSlot {
    pub days: Spanned<Vec<Spanned<String>>>,
    pub start: Spanned<String>,
    pub end: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimit {
    #[serde(default)]
    pub unit: Option<Spanned<u16>>,
    pub register: Spanned<u32>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub min: Option<Spanned<f64>>,
    #[serde(default)]
    pub max: Option<Spanned<f64>>,
}
