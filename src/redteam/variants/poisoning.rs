//! The poisoning check (`certify --poisoning-check PRODUCTION`): an attacker present throughout
//! the candidate's training window is learnt as normal, so no detector of the candidate can
//! catch them; what catches them is the canary of a confirmed incident (the candidate no longer
//! alerts on the kept records: refused) or the baseline diff against the production model
//! (every host, edge and function the candidate learnt that production did not know, each
//! blocking promotion until a person acknowledges it). The result says which caught it.
//!
//! Requirement: no canary forgotten. Diff items do not fail certification (a new PLC is a
//! legitimate reason for one); they are listed here and in the registry, where each one blocks
//! promotion until acknowledged.

use super::VariantResult;
use crate::model::LoadedModel;
use crate::redteam::CanaryResult;
use crate::registry::diff::baseline_diff;

const TEST: &str = "poisoning";

/// The candidate against production and the canaries already run.
pub fn check(
    candidate: &LoadedModel,
    production: &LoadedModel,
    canaries: &[CanaryResult],
) -> VariantResult {
    let items = baseline_diff(candidate, production);
    let forgotten: Vec<i64> = canaries
        .iter()
        .filter(|canary| !canary.caught)
        .map(|canary| canary.incident)
        .collect();
    let caught_by = if !forgotten.is_empty() {
        Some(format!(
            "canary of incident {}",
            forgotten
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    } else if !items.is_empty() {
        Some("baseline_diff".to_string())
    } else {
        None
    };
    let mut details: Vec<String> = items
        .iter()
        .map(|item| format!("learnt {} {}", item.kind, item.item))
        .collect();
    details.extend(
        forgotten
            .iter()
            .map(|incident| format!("forgot the canary of incident {incident}")),
    );
    VariantResult {
        test: TEST.to_string(),
        injected: format!(
            "none: the candidate's own training window, against production {}",
            production.sha256
        ),
        caught_by,
        detectors: Vec::new(),
        caught: (items.len() + forgotten.len()) as u64,
        total: (items.len() + canaries.len()) as u64,
        unit: "items learnt that production did not know, and canaries forgotten".to_string(),
        first_detection_secs: None,
        requirement: "no canary of a confirmed incident forgotten; every item learnt that production did not know blocks promotion until a person acknowledges it".to_string(),
        passed: forgotten.is_empty(),
        details,
    }
}
