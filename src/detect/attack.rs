//! The ATT&CK for ICS technique list shipped with otsentry (MITRE's v18.1 data, `data/attack-ics`
//! with its licence): findings name techniques by id, and this table gives their names and checks
//! that an id exists.
//!
//! The list is compiled into the binary so that an air-gapped site needs no download; deprecated
//! techniques are kept so that old alerts and triage answers that cite them still resolve.

use std::collections::BTreeMap;
use std::sync::LazyLock;

/// One technique of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Technique {
    /// `T0846`.
    pub id: String,
    /// `Remote System Discovery`.
    pub name: String,
    /// The tactics it serves, in matrix order.
    pub tactics: Vec<String>,
    /// True for a technique MITRE has deprecated.
    pub deprecated: bool,
}

const TECHNIQUES_CSV: &str = include_str!("../../data/attack-ics/techniques.csv");
const DEPRECATED_CSV: &str = include_str!("../../data/attack-ics/deprecated-or-revoked.csv");

static TABLE: LazyLock<BTreeMap<String, Technique>> = LazyLock::new(|| {
    let mut table = BTreeMap::new();
    for (csv, deprecated) in [(TECHNIQUES_CSV, false), (DEPRECATED_CSV, true)] {
        for line in csv.lines().skip(1).filter(|line| !line.trim().is_empty()) {
            let mut fields = line.split(',');
            let (Some(id), Some(name)) = (fields.next(), fields.next()) else {
                continue;
            };
            let tactics = fields
                .next()
                .unwrap_or("")
                .split(';')
                .filter(|tactic| !tactic.is_empty())
                .map(str::to_string)
                .collect();
            table.entry(id.to_string()).or_insert(Technique {
                id: id.to_string(),
                name: name.to_string(),
                tactics,
                deprecated,
            });
        }
    }
    table
});

/// The technique with this id (`T0846`), if the shipped list has it.
pub fn technique(id: &str) -> Option<&'static Technique> {
    TABLE.get(id)
}

/// The technique's name, or the id itself when the list lacks it (never for the ids detectors
/// use: a test checks them).
pub fn name_of(id: &str) -> &str {
    technique(id).map_or(id, |technique| technique.name.as_str())
}

/// Every technique, ordered by id.
pub fn all() -> impl Iterator<Item = &'static Technique> {
    TABLE.values()
}

/// Technique ids the detectors cite, named once.
pub mod ids {
    /// Remote System Discovery: scans and probes of OT assets.
    pub const REMOTE_SYSTEM_DISCOVERY: &str = "T0846";
    /// Rogue Master: a new host commanding field devices.
    pub const ROGUE_MASTER: &str = "T0848";
    /// Unauthorized Command Message: a write or control from a host that never sent one.
    pub const UNAUTHORIZED_COMMAND: &str = "T0855";
    /// Modify Parameter: set points and register values changed.
    pub const MODIFY_PARAMETER: &str = "T0836";
    /// Device Restart/Shutdown.
    pub const DEVICE_RESTART: &str = "T0816";
    /// Program Download.
    pub const PROGRAM_DOWNLOAD: &str = "T0843";
    /// Remote Services: sessions between assets that never had one (lateral movement).
    pub const REMOTE_SERVICES: &str = "T0886";
    /// Exploitation of Remote Services.
    pub const EXPLOITATION_OF_REMOTE_SERVICES: &str = "T0866";
    /// Connection Proxy: a field device relaying sessions onward.
    pub const CONNECTION_PROXY: &str = "T0884";
    /// Standard Application Layer Protocol (command and control over a common protocol).
    pub const STANDARD_APPLICATION_LAYER_PROTOCOL: &str = "T0869";
    /// Point & Tag Identification: reading many addresses to map a device.
    pub const POINT_AND_TAG_IDENTIFICATION: &str = "T0861";
    /// Remote System Information Discovery: asking devices what they are and what they support.
    pub const REMOTE_SYSTEM_INFORMATION_DISCOVERY: &str = "T0888";
    /// Network Connection Enumeration.
    pub const NETWORK_CONNECTION_ENUMERATION: &str = "T0840";
    /// Lateral Tool Transfer: files moved between assets.
    pub const LATERAL_TOOL_TRANSFER: &str = "T0867";
    /// Internet Accessible Device / remote access from outside the control zone.
    pub const INTERNET_ACCESSIBLE_DEVICE: &str = "T0883";
    /// Manipulation of Control.
    pub const MANIPULATION_OF_CONTROL: &str = "T0831";
    /// Brute Force I/O: the same point commanded over and over.
    pub const BRUTE_FORCE_IO: &str = "T0806";

    /// Every id above, for the test that checks them against the shipped list.
    pub const CITED: &[&str] = &[
        REMOTE_SYSTEM_DISCOVERY,
        ROGUE_MASTER,
        UNAUTHORIZED_COMMAND,
        MODIFY_PARAMETER,
        DEVICE_RESTART,
        PROGRAM_DOWNLOAD,
        REMOTE_SERVICES,
        EXPLOITATION_OF_REMOTE_SERVICES,
        CONNECTION_PROXY,
        STANDARD_APPLICATION_LAYER_PROTOCOL,
        POINT_AND_TAG_IDENTIFICATION,
        REMOTE_SYSTEM_INFORMATION_DISCOVERY,
        NETWORK_CONNECTION_ENUMERATION,
        LATERAL_TOOL_TRANSFER,
        INTERNET_ACCESSIBLE_DEVICE,
        MANIPULATION_OF_CONTROL,
        BRUTE_FORCE_IO,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_every_active_technique() {
        let active = all().filter(|technique| !technique.deprecated).count();
        assert_eq!(active, 83);
        assert_eq!(name_of("T0846"), "Remote System Discovery");
        assert_eq!(
            technique("T0848").map(|t| t.name.as_str()),
            Some("Rogue Master")
        );
        assert!(technique("T9999").is_none());
    }

    #[test]
    fn every_cited_id_is_in_the_list() {
        for id in ids::CITED {
            let technique = technique(id).unwrap_or_else(|| panic!("{id} is not in the list"));
            assert!(!technique.name.is_empty());
        }
    }
}
