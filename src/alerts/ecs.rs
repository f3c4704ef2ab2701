//! The alert in the Elastic Common Schema: one JSON object per alert, as SIEMs read it.
//!
//! ECS fields where ECS has them (`@timestamp`, `event.*`, `source.*`, `destination.*`,
//! `network.*`, `rule.*`, `threat.*`), the Zeek uids under `zeek.session_id` as Filebeat's Zeek
//! module names them, and everything else of otsentry's under `otsentry`. The schema of this
//! object is `docs/specs/alert.schema.json`.

use serde::Serialize;

use super::Alert;
use crate::detect::{Reason, attack};
use crate::text::rfc3339;

/// ECS `threat.framework` for ATT&CK for ICS.
pub const THREAT_FRAMEWORK: &str = "MITRE ATT&CK for ICS";

#[derive(Serialize)]
pub struct EcsAlert<'a> {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub message: String,
    pub event: Event<'a>,
    pub source: Endpoint<'a>,
    pub destination: Endpoint<'a>,
    pub network: Network<'a>,
    pub rule: Rule<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threat: Option<Threat>,
    pub zeek: Zeek<'a>,
    pub otsentry: Otsentry<'a>,
}

#[derive(Serialize)]
pub struct Event<'a> {
    pub kind: &'static str,
    pub category: [&'static str; 2],
    #[serde(rename = "type")]
    pub kind_type: [&'static str; 1],
    /// `alert_opened` or `alert_closed`.
    pub action: &'static str,
    pub id: &'a str,
    pub severity: u8,
    pub dataset: &'static str,
    pub module: &'static str,
    pub start: String,
    pub end: String,
}

#[derive(Serialize)]
pub struct Endpoint<'a> {
    pub ip: String,
    pub port: u16,
    /// The inventory's entry for the address, when an inventory was given and lists it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<Asset<'a>>,
}

/// An end's asset context: ECS has no asset fields on `source`/`destination`, so they follow
/// ECS's `host.*` naming under `source.asset` and `destination.asset`.
#[derive(Serialize)]
pub struct Asset<'a> {
    /// False for an address the inventory does not list (its zone may still be known).
    pub known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub asset_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub criticality: Option<&'static str>,
    /// True when one of the asset's maintenance windows was open at the first record's time.
    pub maintenance_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<&'a str>,
}

impl<'a> Asset<'a> {
    fn of(context: &'a crate::inventory::AssetContext) -> Asset<'a> {
        Asset {
            known: context.known,
            name: context.name.as_deref(),
            asset_type: context.asset_type.map(|kind| kind.name()),
            owner: context.owner.as_deref(),
            zone: context.zone.as_deref(),
            criticality: context.criticality.map(|level| level.name()),
            maintenance_active: context.maintenance_active(),
            maintenance_window: context.maintenance.as_deref(),
        }
    }
}

#[derive(Serialize)]
pub struct Network<'a> {
    pub transport: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

#[derive(Serialize)]
pub struct Rule<'a> {
    pub id: String,
    pub name: &'a str,
    pub category: &'a str,
    pub ruleset: &'static str,
}

#[derive(Serialize)]
pub struct Threat {
    pub framework: &'static str,
    pub technique: Technique,
}

#[derive(Serialize)]
pub struct Technique {
    pub id: Vec<String>,
    pub name: Vec<String>,
    pub reference: Vec<String>,
}

#[derive(Serialize)]
pub struct Zeek<'a> {
    /// The first record's uid, as Filebeat's Zeek module names it.
    pub session_id: &'a str,
    /// Every uid the alert kept.
    pub session_ids: &'a [String],
}

#[derive(Serialize)]
pub struct Otsentry<'a> {
    pub alert_id: &'a str,
    pub state: &'static str,
    pub severity: &'static str,
    pub detector: &'a str,
    pub rule: &'a str,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub reasons: Vec<EcsReason<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anomaly_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_samples: Option<f64>,
    /// `conn` or `request`.
    pub record: &'static str,
    /// True when the first record is OT traffic itself, false when it only touches an OT asset.
    pub ot_traffic: bool,
    pub model_sha256: &'a str,
}

#[derive(Serialize)]
pub struct EcsReason<'a> {
    pub text: String,
    pub observed: &'a str,
    pub baseline: &'a str,
}

impl<'a> EcsAlert<'a> {
    pub fn of(alert: &'a Alert) -> EcsAlert<'a> {
        let seen = &alert.seen;
        let protocol = (seen.service != "-" && !seen.service.is_empty())
            .then(|| seen.service.to_ascii_lowercase());
        let threat = (!alert.techniques.is_empty()).then(|| Threat {
            framework: THREAT_FRAMEWORK,
            technique: Technique {
                id: alert.techniques.clone(),
                name: alert
                    .techniques
                    .iter()
                    .map(|id| attack::name_of(id).to_string())
                    .collect(),
                reference: alert
                    .techniques
                    .iter()
                    .map(|id| format!("https://attack.mitre.org/techniques/{id}/"))
                    .collect(),
            },
        });
        let message = match alert.reasons.first() {
            Some(reason) => format!("{}: {reason}", alert.title),
            None => alert.title.clone(),
        };
        EcsAlert {
            timestamp: rfc3339(alert.first_seen),
            message,
            event: Event {
                kind: "alert",
                category: ["network", "intrusion_detection"],
                kind_type: ["info"],
                action: match alert.state {
                    super::AlertState::Open => "alert_opened",
                    super::AlertState::Closed => "alert_closed",
                },
                id: &alert.id,
                severity: alert.severity.ecs_number(),
                dataset: "otsentry.alert",
                module: "otsentry",
                start: rfc3339(alert.first_seen),
                end: rfc3339(alert.last_seen),
            },
            source: Endpoint {
                ip: seen.src.to_string(),
                port: seen.src_port,
                asset: alert.assets.as_ref().map(|ends| Asset::of(&ends.source)),
            },
            destination: Endpoint {
                ip: seen.dst.to_string(),
                port: seen.dst_port,
                asset: alert
                    .assets
                    .as_ref()
                    .map(|ends| Asset::of(&ends.destination)),
            },
            network: Network {
                transport: &seen.transport,
                protocol,
            },
            rule: Rule {
                id: format!("{}.{}", alert.detector, alert.rule),
                name: &alert.title,
                category: &alert.detector,
                ruleset: "otsentry",
            },
            threat,
            zeek: Zeek {
                session_id: alert.uids.first().map_or("", String::as_str),
                session_ids: &alert.uids,
            },
            otsentry: Otsentry {
                alert_id: &alert.id,
                state: alert.state.as_str(),
                severity: alert.severity.as_str(),
                detector: &alert.detector,
                rule: &alert.rule,
                count: alert.count,
                first_seen: rfc3339(alert.first_seen),
                last_seen: rfc3339(alert.last_seen),
                reasons: alert.reasons.iter().map(EcsReason::of).collect(),
                anomaly_score: alert.scores.map(|scores| scores.anomaly_score),
                score_samples: alert.scores.map(|scores| scores.score_samples),
                record: seen.record.as_str(),
                ot_traffic: seen.ot,
                model_sha256: &alert.model_sha256,
            },
        }
    }
}

impl<'a> EcsReason<'a> {
    fn of(reason: &'a Reason) -> EcsReason<'a> {
        EcsReason {
            text: reason.to_string(),
            observed: &reason.observed,
            baseline: &reason.baseline,
        }
    }
}

/// The alert as one line of ECS JSON (no newline).
pub fn to_json_line(alert: &Alert) -> String {
    serde_json::to_string(&EcsAlert::of(alert)).unwrap_or_else(|error| {
        // Serialising plain strings and numbers cannot fail; say so if it ever does.
        format!(
            "{{\"error\":\"cannot serialise alert {}: {error}\"}}",
            alert.id
        )
    })
}
