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
/// explains it, and always says that a window was open.
pub fn apply_maintenance(ends: &Ends, finding: &mut Finding) {
    let Some((asset, window)) = ends.maintenance() else {
        return;
    };
    let both_known = ends.source.known && ends.destination.known;
    let observed = format!("maintenance window \"{window}\" of {asset} open at the record's time");
    if both_known && maintenance_explains(&finding.detector) && finding.severity > Severity::Low {
        let lowered = lower(finding.severity);
        finding.reasons.push(Reason::new(
            observed,
            format!(
                "severity lowered from {} to {lowered}: both ends are listed assets",
                finding.severity
            ),
        ));
        finding.severity = lowered;
    } else {
        finding.reasons.push(Reason::new(
            observed,
            "severity kept: a maintenance window does not explain this finding",
        ));
    }
}
