//! Enrichment: everything the assistant is told about one alert, as one JSON document. The alert
//! itself (ends, port, protocol, score, reasons, suggested technique), both ends' asset context
//! (from the alert and, when an inventory is given, the inventory's asset: owner, type, zone,
//! expected partners, maintenance schedule), the alerts of the 24 hours before it for the same
//! pair, and the maintenance windows open at its log time.
//!
//! The document is data, never instructions: providers send it as a JSON value in its own
//! message, and [`TriageContext::untrusted_text`] lists the strings that came off the network so
//! the contract can refuse a benign verdict when one of them tries to instruct the model.

use std::net::IpAddr;

use serde::Serialize;

use crate::inventory::{Asset, Inventory};
use crate::store::AlertRecord;

/// How far back the pair's earlier alerts are looked for, in log time.
pub const PAIR_HISTORY_MICROS: i64 = 24 * 3_600_000_000;
/// At most this many earlier alerts of the pair are sent.
pub const PAIR_HISTORY_MAX: usize = 20;

/// The alert as the assistant sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertFacts {
    pub id: i64,
    /// Log time, epoch microseconds.
    pub ts: i64,
    pub src: String,
    pub dst: String,
    pub port: Option<u16>,
    pub protocol: Option<String>,
    pub service: Option<String>,
    pub detector: String,
    pub severity: String,
    pub score: f64,
    pub reasons: Vec<String>,
    pub suggested_technique: Option<String>,
    pub asset_context: serde_json::Value,
}

/// One end of the alert as the inventory knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndContext {
    pub ip: String,
    pub known: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asset: Option<Asset>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// The maintenance window open at the alert's log time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance_now: Option<String>,
}

/// An earlier alert between the same two hosts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairAlert {
    pub id: i64,
    pub ts: i64,
    pub detector: String,
    pub severity: String,
    pub status: String,
}

/// The document sent to a provider.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TriageContext {
    pub alert: AlertFacts,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<EndContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<EndContext>,
    pub pair_alerts_last_24h: Vec<PairAlert>,
    pub maintenance_windows_active: Vec<String>,
}

fn end(inventory: &Inventory, text: &str, ts_seconds: f64) -> Option<EndContext> {
    let ip: IpAddr = text.parse().ok()?;
    let context = inventory.context(ip, ts_seconds);
    Some(EndContext {
        ip: ip.to_string(),
        known: context.known,
        asset: inventory.asset(ip).cloned(),
        zone: context.zone,
        maintenance_now: context.maintenance,
    })
}

impl TriageContext {
    /// Builds the document for `alert`. `recent` is any list of stored alerts; those of the same
    /// pair (either direction) in the 24 hours of log time before the alert are kept.
    pub fn build(
        alert: &AlertRecord,
        inventory: Option<&Inventory>,
        recent: &[AlertRecord],
    ) -> Self {
        let facts = &alert.alert;
        let ts = facts.ts;
        let mut pair: Vec<PairAlert> = recent
            .iter()
            .filter(|other| other.id != alert.id)
            .filter(|other| {
                let (a, b) = (&other.alert.src, &other.alert.dst);
                (a == &facts.src && b == &facts.dst) || (a == &facts.dst && b == &facts.src)
            })
            .filter(|other| other.alert.ts <= ts && ts - other.alert.ts <= PAIR_HISTORY_MICROS)
            .map(|other| PairAlert {
                id: other.id,
                ts: other.alert.ts,
                detector: other.alert.detector.clone(),
                severity: other.alert.severity.to_string(),
                status: other.status.to_string(),
            })
            .collect();
        pair.sort_by_key(|other| std::cmp::Reverse(other.ts));
        pair.truncate(PAIR_HISTORY_MAX);
        let ts_seconds = ts as f64 / 1e6;
        let (source, destination) = match inventory {
            Some(inventory) => (
                end(inventory, &facts.src, ts_seconds),
                end(inventory, &facts.dst, ts_seconds),
            ),
            None => (None, None),
        };
        let mut windows: Vec<String> = [&source, &destination]
            .into_iter()
            .flatten()
            .filter_map(|end| end.maintenance_now.clone())
            .collect();
        // An alert built with an inventory carries its ends' windows even when none is given here.
        collect_strings_at(&facts.asset_context, "maintenance", &mut windows);
        windows.sort();
        windows.dedup();
        TriageContext {
            alert: AlertFacts {
                id: alert.id,
                ts,
                src: facts.src.clone(),
                dst: facts.dst.clone(),
                port: facts.port,
                protocol: facts.protocol.clone(),
                service: facts.service.clone(),
                detector: facts.detector.clone(),
                severity: facts.severity.to_string(),
                score: facts.score,
                reasons: facts.reasons.clone(),
                suggested_technique: facts.attack_technique.clone(),
                asset_context: facts.asset_context.clone(),
            },
            source,
            destination,
            pair_alerts_last_24h: pair,
            maintenance_windows_active: windows,
        }
    }

    /// The document as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_string())
    }

    /// Every string of the alert that came off the network or from a detector's description of
    /// it: ends, protocol, service, reasons, and the strings in its asset context.
    pub fn untrusted_text(&self) -> Vec<String> {
        let alert = &self.alert;
        let mut texts = vec![alert.src.clone(), alert.dst.clone()];
        texts.extend(alert.protocol.clone());
        texts.extend(alert.service.clone());
        texts.extend(alert.reasons.iter().cloned());
        collect_all_strings(&alert.asset_context, &mut texts);
        texts
    }
}

fn collect_all_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Array(items) => {
            items.iter().for_each(|item| collect_all_strings(item, out))
        }
        serde_json::Value::Object(map) => map.iter().for_each(|(key, item)| {
            out.push(key.clone());
            collect_all_strings(item, out);
        }),
        _ => {}
    }
}

/// Strings found under `key` anywhere in `value`.
fn collect_strings_at(value: &serde_json::Value, key: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Array(items) => items
            .iter()
            .for_each(|item| collect_strings_at(item, key, out)),
        serde_json::Value::Object(map) => map.iter().for_each(|(name, item)| {
            if name == key
                && let serde_json::Value::String(text) = item
            {
                out.push(text.clone());
            }
            collect_strings_at(item, key, out);
        }),
        _ => {}
    }
}
