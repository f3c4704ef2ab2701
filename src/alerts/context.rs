//! Asset context on alerts: both ends' inventory entries (name, type, owner, zone, criticality)
//! and whether a maintenance window was open at the record's log time.
//!
//! Maintenance informs and may lower severity; it never hides an alert. A finding whose ends are
//! both listed assets, one of them inside its maintenance window at the record's time, drops one
//! severity level (never below low) and says so in a reason. Findings that maintenance cannot
//! explain keep their severity: a conduit violation (a window does not open a conduit), a host
//! the inventory does not list, and a record outside the learnt schedule (that one is the point).

use serde::{Deserialize, Serialize};

use crate::detect::{Finding, Reason, Severity};
use crate::inventory::{AssetContext, Inventory};

/// Both ends' context, as the alert carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ends {
    pub source: AssetContext,
    pub destination: AssetContext,
}

impl Ends {
    /// The context of a finding's record at its log time.
    pub fn of(inventory: &Inventory, finding: &Finding) -> Ends {
        Ends {
            source: inventory.context(finding.seen.src, finding.seen.ts),
            destination: inventory.context(finding.seen.dst, finding.seen.ts),
        }
    }

    /// The maintenance window open on either end, with the asset's name.
    fn maintenance(&self) -> Option<(&str, &str)> {
        [&self.destination, &self.source]
            .into_iter()
            .find_map(|end| {
                let window = end.maintenance.as_deref()?;
                Some((end.name.as_deref().unwrap_or("the asset"), window))
            })
    }
}

/// Detectors whose findings a maintenance window can explain.
fn maintenance_explains(detector: &str) -> bool {
    !matches!(
        detector,
        crate::detect::conduit::NAME | crate::detect::schedule::NAME
    )
}

fn lower(severity: Severity) -> Severity {
    match severity {
        Severity::Critical => Severity::High,
        Severity::High => Severity::Medium,
        Severity::Medium | Severity::Low => Severity::Low,
    }
}

/// Applies the maintenance rule to a finding: lowers its severity one level when maintenance
/// explains it, and always says that a window was open. Returns whether maintenance explains it.
pub fn apply_maintenance(ends: &Ends, finding: &mut Finding) -> bool {
    let Some((asset, window)) = ends.maintenance() else {
        return false;
    };
    let explained =
        ends.source.known && ends.destination.known && maintenance_explains(finding.detector);
    let observed = format!("maintenance window \"{window}\" of {asset} open at the record's time");
    if explained && finding.severity > Severity::Low {
        let lowered = lower(finding.severity);
        finding.reasons.push(Reason::new(
            observed,
            format!(
                "severity lowered from {} to {lowered}: both ends are listed assets",
                finding.severity
            ),
        ));
        finding.severity = lowered;
    } else if explained {
        finding.reasons.push(Reason::new(
            observed,
            "severity kept at low: both ends are listed assets",
        ));
    } else {
        finding.reasons.push(Reason::new(
            observed,
            "severity kept: a maintenance window does not explain this finding",
        ));
    }
    explained
}

/// When the maintenance window that explains a finding closes: the window of the destination,
/// else of the source, open at the record's time (the order `Ends` names them in).
pub fn maintenance_closes_at(inventory: &Inventory, finding: &Finding) -> Option<f64> {
    let ts = finding.seen.ts;
    [finding.seen.dst, finding.seen.src]
        .into_iter()
        .find_map(|ip| inventory.in_maintenance(ip, ts)?.closes_at(ts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{Seen, Subject};
    use crate::features::Schema;
    use crate::inventory::parse_inventory;

    const INVENTORY: &str = "\
zones:
  - name: control
    cidrs: [10.0.1.0/24]
    security_level_target: 3
assets:
  - ip: 10.0.1.1
    name: plc-1
    type: plc
    maintenance:
      - name: weekly maintenance
        time_zone: UTC
        weekly:
          - days: [wednesday]
            start: \"09:00\"
            end: \"12:00\"
  - ip: 10.0.1.5
    name: ews-1
    type: ews
";

    /// 2026-10-07T10:00:00Z, a Wednesday inside the window.
    const INSIDE: f64 = 1_791_367_200.0;

    fn finding(detector: &'static str, src: &str, ts: f64) -> Finding {
        Finding {
            detector,
            rule: "r",
            title: "t",
            severity: Severity::High,
            subject: Subject {
                src: None,
                dst: None,
            },
            reasons: Vec::new(),
            techniques: Vec::new(),
            seen: Seen {
                ts,
                uid: "C1".to_string(),
                src: src.parse().unwrap(),
                src_port: 40000,
                dst: "10.0.1.1".parse().unwrap(),
                dst_port: 502,
                transport: "tcp".to_string(),
                service: "modbus".to_string(),
                record: Schema::Conn,
                ot: true,
            },
            scores: None,
        }
    }

    fn applied(detector: &'static str, src: &str, ts: f64) -> (Ends, Finding) {
        let inventory = parse_inventory(&[("plant.yaml", INVENTORY)]).unwrap();
        let mut finding = finding(detector, src, ts);
        let ends = Ends::of(&inventory, &finding);
        apply_maintenance(&ends, &mut finding);
        (ends, finding)
    }

    #[test]
    fn maintenance_lowers_a_finding_between_listed_assets_and_says_so() {
        let (ends, finding) = applied("novelty", "10.0.1.5", INSIDE);
        assert_eq!(ends.source.name.as_deref(), Some("ews-1"));
        assert_eq!(
            ends.destination.maintenance.as_deref(),
            Some("weekly maintenance")
        );
        assert_eq!(finding.severity, Severity::Medium);
        assert!(
            finding.reasons[0]
                .baseline
                .contains("lowered from high to medium")
        );
    }

    #[test]
    fn maintenance_never_lowers_an_unknown_host_a_conduit_breach_or_outside_its_window() {
        let (ends, unknown) = applied("novelty", "10.0.1.66", INSIDE);
        assert!(!ends.source.known);
        assert_eq!(unknown.severity, Severity::High);
        assert!(unknown.reasons[0].baseline.contains("severity kept"));
        let (_, conduit) = applied("conduit", "10.0.1.5", INSIDE);
        assert_eq!(conduit.severity, Severity::High);
        let (ends, later) = applied("novelty", "10.0.1.5", INSIDE + 86_400.0);
        assert!(!ends.destination.maintenance_active());
        assert_eq!(later.severity, Severity::High);
        assert!(later.reasons.is_empty());
    }
}
