//! The offline rules, the default provider: a deterministic triage from the alert's detector and
//! severity, its suggested technique, the inventory's asset context, the maintenance windows open
//! at its log time and the pair's alerts of the last 24 hours, with no model at all. It answers
//! in the contract's JSON like any model, and the contract checks it the same way.

use std::time::Instant;

use serde_json::json;

use super::context::TriageContext;
use super::contract::{Classification, valid_technique};
use super::http::CallError;
use super::provider::Provider;

pub const RULES_MODEL: &str = "offline-rules-v1";

#[derive(Debug, Clone, Copy, Default)]
pub struct OfflineRules;

/// The rules' verdict as a contract object.
pub fn triage(context: &TriageContext) -> serde_json::Value {
    let alert = &context.alert;
    let severe = matches!(alert.severity.as_str(), "high" | "critical");
    let technique = alert
        .suggested_technique
        .clone()
        .filter(|id| valid_technique(id));
    let confirmed_before = context
        .pair_alerts_last_24h
        .iter()
        .any(|other| other.status == "confirmed");
    let inventory_known = context.source.is_some() || context.destination.is_some();
    let unknown_source = context.source.as_ref().is_some_and(|end| !end.known);
    let maintenance = !context.maintenance_windows_active.is_empty();
    let mut gaps = Vec::new();
    if !inventory_known {
        gaps.push(
            "no asset inventory was given: owners, zones and partners are unknown".to_string(),
        );
    }
    if unknown_source {
        gaps.push(format!(
            "source {} is not in the asset inventory",
            alert.src
        ));
    }
    if technique.is_none() {
        gaps.push("no ATT&CK for ICS technique was suggested for this alert".to_string());
    }
    let (classification, confidence, reasoning, actions) = if confirmed_before
        && technique.is_some()
    {
        (
            Classification::HighPriorityEscalate,
            0.85,
            format!(
                "An alert between {} and {} was confirmed by an analyst in the last 24 hours, and this one matches a known technique.",
                alert.src, alert.dst
            ),
            vec![
                "Escalate to the OT security lead with the earlier confirmed alert",
                "Check what the source sent to the destination since the confirmed alert",
            ],
        )
    } else if severe && technique.is_some() && !maintenance {
        (
            Classification::HighPriorityEscalate,
            0.8,
            format!(
                "The {} detector raised a {} alert outside any maintenance window, matching a known ATT&CK for ICS technique.",
                alert.detector, alert.severity
            ),
            vec![
                "Confirm with the asset owner whether the traffic was planned",
                "Escalate to the OT security lead if it was not",
            ],
        )
    } else if maintenance && !severe && !unknown_source && !confirmed_before && inventory_known {
        (
            Classification::LikelyBenign,
            0.88,
            format!(
                "A maintenance window ({}) was open at the alert's time, the ends are inventoried assets and nothing was confirmed between them in the last 24 hours.",
                context.maintenance_windows_active.join(", ")
            ),
            vec!["Check the maintenance work order covers this traffic"],
        )
    } else if unknown_source {
        (
            Classification::RequiresInvestigation,
            0.75,
            format!("The source {} is not an inventoried asset.", alert.src),
            vec![
                "Identify the source host and its owner",
                "Check whether it belongs to a vendor or contractor session",
            ],
        )
    } else {
        (
            Classification::RequiresInvestigation,
            0.65,
            format!(
                "A {} alert from the {} detector with no maintenance window to explain it.",
                alert.severity, alert.detector
            ),
            vec!["Review the alert's reasons against the asset's normal behaviour"],
        )
    };
    json!({
        "classification": classification,
        "confidence": confidence,
        "reasoning": reasoning,
        "recommended_analyst_actions": actions,
        "data_gaps": gaps,
        "attack_techniques": technique.into_iter().collect::<Vec<_>>(),
    })
}

impl Provider for OfflineRules {
    fn name(&self) -> &str {
        "rules"
    }

    fn model(&self) -> &str {
        RULES_MODEL
    }

    fn advise(&self, context: &TriageContext, _deadline: Instant) -> Result<String, CallError> {
        Ok(triage(context).to_string())
    }
}
