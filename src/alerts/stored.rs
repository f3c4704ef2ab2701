//! The stored form of an alert: the row the governance store keeps ([`NewAlert`]), a view of
//! the [`Alert`] as the ECS line is another. The alert queue stores it; live triage reads the
//! same view as its context, so both see one alert the same way.

use super::Alert;
use crate::detect::Severity;
use crate::store::{NewAlert, Severity as StoredSeverity};

/// The row the governance store keeps for `alert`: log time of the first record, both ends, the
/// score, the title and every reason, the asset context, the first suggested technique and the
/// pipeline's stable id.
pub fn stored_form(alert: &Alert) -> NewAlert {
    let seen = &alert.seen;
    let asset_context = alert
        .assets
        .as_ref()
        .and_then(|ends| serde_json::to_value(ends).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new()));
    NewAlert {
        ts: (alert.first_seen * 1e6).round() as i64,
        uid: alert
            .uids
            .first()
            .cloned()
            .or_else(|| Some(seen.uid.clone())),
        src: seen.src.to_string(),
        dst: seen.dst.to_string(),
        port: Some(seen.dst_port),
        protocol: Some(seen.transport.clone()),
        service: (seen.service != "-" && !seen.service.is_empty()).then(|| seen.service.clone()),
        // The forest's decision value where the forest scored the record; 0 for findings of
        // the deterministic detectors, which have no score.
        score: alert
            .scores
            .as_ref()
            .map(|scores| scores.anomaly_score)
            .filter(|score| score.is_finite())
            .unwrap_or(0.0),
        reasons: std::iter::once(alert.title.clone())
            .chain(alert.reasons.iter().map(ToString::to_string))
            .collect(),
        asset_context,
        attack_technique: alert.techniques.first().cloned(),
        detector: format!("{}.{}", alert.detector, alert.rule),
        severity: match alert.severity {
            Severity::Low => StoredSeverity::Low,
            Severity::Medium => StoredSeverity::Medium,
            Severity::High => StoredSeverity::High,
            Severity::Critical => StoredSeverity::Critical,
        },
        stable_id: Some(alert.id.clone()),
    }
}
