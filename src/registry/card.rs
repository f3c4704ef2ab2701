//! The model card of a registered version (`otsentry model card VERSION`): intended use,
//! training window and data, detectors and features, certification results, its staging
//! evidence beside production, known blind spots and who moved it through its stages, in
//! Markdown, from the registry's records alone.

use std::fmt::Write as _;

use serde_json::Value;

use crate::features::Schema;
use crate::store::{DiffItemRecord, ModelVersionRecord, StagingEvidence};

fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut node = value;
    for key in path {
        node = &node[*key];
    }
    node.as_str().unwrap_or("unknown")
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "none".to_string(),
        Value::String(text) => text.clone(),
        Value::Number(number) => match number.as_f64() {
            Some(float) if number.is_f64() => format!("{float:.4}"),
            _ => number.to_string(),
        },
        other => other.to_string(),
    }
}

/// The realistic variants' table; a certification stored before they existed says so.
fn variant_rows(out: &mut String, report: &Value, blind_spots: &mut Vec<String>) {
    let Some(variants) = report["variants"]
        .as_array()
        .filter(|list| !list.is_empty())
    else {
        let _ = writeln!(
            out,
            "Realistic variants: not run (certified by an otsentry without them); certify again to run them.\n"
        );
        blind_spots.push(
            "unknown: the realistic variants (register drift, scenarios) were not run on this artifact".to_string(),
        );
        return;
    };
    let _ = writeln!(out, "Realistic variants:\n");
    let _ = writeln!(
        out,
        "| test | caught by | caught | total | first detection (s) | requirement | pass |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for variant in variants {
        let fields = [
            "test",
            "caught_by",
            "caught",
            "total",
            "first_detection_secs",
            "requirement",
            "passed",
        ];
        let cells: Vec<String> = fields.iter().map(|field| cell(&variant[*field])).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
        if variant["passed"] != Value::Bool(true) {
            blind_spots.push(format!(
                "{}: not caught as required ({})",
                cell(&variant["test"]),
                cell(&variant["requirement"])
            ));
        }
    }
    let _ = writeln!(out);
}

/// The card in Markdown; `format_time` renders epoch microseconds.
pub fn model_card(
    version: &ModelVersionRecord,
    diff_items: &[DiffItemRecord],
    staging: Option<&StagingEvidence>,
    format_time: impl Fn(i64) -> String,
) -> String {
    let mut out = String::new();
    let provenance = &version.provenance;
    let _ = writeln!(out, "# Model card: version {}\n", version.id);
    let _ = writeln!(out, "- Artifact SHA-256: `{}`", version.sha256);
    let _ = writeln!(
        out,
        "- Stage: {} since {}",
        version.stage,
        format_time(version.stage_since)
    );
    let _ = writeln!(
        out,
        "- Parent version: {}",
        version
            .parent_id
            .map_or("none".to_string(), |id| id.to_string())
    );
    let _ = writeln!(
        out,
        "- Registered by {} at {}",
        version.registered_by,
        format_time(version.registered_at)
    );
    let _ = writeln!(out, "- Last stage change by {}\n", version.stage_changed_by);

    let _ = writeln!(out, "## Intended use\n");
    let _ = writeln!(
        out,
        "Anomaly detection on the OT network it was trained on, from Zeek conn.log and ICSNPP protocol logs: it learns which hosts talk, over which edges and functions, at which rhythm, and alerts on departures."
    );
    let _ = writeln!(
        out,
        "It is advisory: it raises alerts for analysts and never acts on the plant.\n"
    );

    let _ = writeln!(out, "## Training window and data\n");
    let _ = writeln!(
        out,
        "- Window: {} .. {} ({} days covered)",
        text(provenance, &["window", "start_utc"]),
        text(provenance, &["window", "end_utc"]),
        cell(&provenance["window"]["days_covered"])
    );
    let _ = writeln!(
        out,
        "- Dataset SHA-256: `{}`",
        text(provenance, &["dataset_sha256"])
    );
    let _ = writeln!(out, "- Records read: {}", cell(&provenance["records_read"]));
    if let Some(sources) = provenance["sources"].as_array() {
        for source in sources {
            let _ = writeln!(
                out,
                "- Source `{}`: SHA-256 `{}`",
                text(source, &["path"]),
                text(source, &["sha256"])
            );
        }
    }
    if let Some(overrides) = provenance["overrides"]
        .as_array()
        .filter(|list| !list.is_empty())
    {
        let list: Vec<String> = overrides.iter().map(cell).collect();
        let _ = writeln!(out, "- Overrides at training: {}", list.join(", "));
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Detectors and features\n");
    for schema in Schema::ALL {
        let _ = writeln!(
            out,
            "- {} features: {}",
            schema.as_str(),
            schema.feature_names().join(", ")
        );
    }
    let _ = writeln!(
        out,
        "- Threshold: {}\n",
        text(provenance, &["threshold_semantics"])
    );

    let _ = writeln!(out, "## Certification\n");
    let mut blind_spots = Vec::new();
    match (&version.certification, version.certified) {
        (Some(report), Some(passed)) => {
            let _ = writeln!(
                out,
                "Result: **{}** (certified artifact `{}`).\n",
                if passed { "passed" } else { "failed" },
                text(report, &["model_sha256"])
            );
            if let Some(error) = report["error"].as_str() {
                let _ = writeln!(out, "The certification could not run: {error}.\n");
                blind_spots.push(format!(
                    "unknown: the certification could not run ({error})"
                ));
            }
            let drift = &report["drift"];
            let _ = writeln!(
                out,
                "Slow drift of orig_bytes on {} -> {}:{}:\n",
                cell(&drift["poll"]["orig_h"]),
                cell(&drift["poll"]["resp_h"]),
                cell(&drift["poll"]["resp_p"])
            );
            let _ = writeln!(
                out,
                "| detector | drift days | initial | target | polls | detected | rate | first day | control rate | meets requirement |"
            );
            let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
            let rows = drift["detectors"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .chain(std::iter::once(drift["combined"].clone()));
            for row in rows {
                let fields = [
                    "detector",
                    "drift_days",
                    "initial_value",
                    "target_value",
                    "total_polls",
                    "detected",
                    "detection_rate",
                    "first_detection_day",
                    "control_rate",
                    "meets_requirement",
                ];
                let cells: Vec<String> = fields.iter().map(|field| cell(&row[*field])).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
                if row["meets_requirement"] != Value::Bool(true) {
                    blind_spots.push(format!(
                        "{}: does not meet the slow-drift requirement (rate {}, first day {})",
                        cell(&row["detector"]),
                        cell(&row["detection_rate"]),
                        cell(&row["first_detection_day"])
                    ));
                }
            }
            let _ = writeln!(out);
            variant_rows(&mut out, report, &mut blind_spots);
            let canaries = report["canaries"].as_array().cloned().unwrap_or_default();
            if !canaries.is_empty() {
                let _ = writeln!(
                    out,
                    "Canaries (the kept records of confirmed incidents; every one must alert):\n"
                );
                let _ = writeln!(out, "| incident | files | records | alerts | caught |");
                let _ = writeln!(out, "|---|---|---|---|---|");
                for canary in &canaries {
                    let fields = ["incident", "files", "records", "alerts", "caught"];
                    let cells: Vec<String> =
                        fields.iter().map(|field| cell(&canary[*field])).collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                    if canary["caught"] != Value::Bool(true) {
                        blind_spots.push(format!(
                            "incident {}: the model no longer alerts on its records (it learnt that attacker as normal)",
                            cell(&canary["incident"])
                        ));
                    }
                }
                let _ = writeln!(out);
            }
        }
        _ => {
            let _ = writeln!(out, "Not certified: not deployable.\n");
            blind_spots.push("unknown: the model was never tested against evasion".to_string());
        }
    }

    let _ = writeln!(out, "## Staging beside production\n");
    let _ = writeln!(out, "| | |\n|---|---|");
    for (label, value) in super::evidence::staging_rows(staging, &format_time) {
        let _ = writeln!(out, "| {} | {value} |", label.trim());
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Known blind spots\n");
    blind_spots.push("value ranges and schedules are not part of the baseline diff".to_string());
    for spot in blind_spots {
        let _ = writeln!(out, "- {spot}");
    }
    let _ = writeln!(out);

    let _ = writeln!(out, "## Baseline diff and approvals\n");
    if diff_items.is_empty() {
        let _ = writeln!(
            out,
            "No baseline-diff items (no production model to compare with, or nothing new)."
        );
    }
    for item in diff_items {
        let _ = match (&item.acknowledged_by, &item.justification) {
            (Some(by), Some(why)) => writeln!(
                out,
                "- #{} {} `{}`: acknowledged by {by}: {why}",
                item.id, item.kind, item.item
            ),
            _ => writeln!(
                out,
                "- #{} {} `{}`: **not acknowledged**",
                item.id, item.kind, item.item
            ),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ModelStage;

    fn version(certification: Value) -> ModelVersionRecord {
        ModelVersionRecord {
            id: 1,
            sha256: "ab".into(),
            parent_id: None,
            path: "m.otm".into(),
            provenance: Value::Null,
            stage: ModelStage::Candidate,
            stage_since: 0,
            certification: Some(certification),
            certified: Some(false),
            registered_by: "alice".into(),
            registered_at: 0,
            stage_changed_by: "alice".into(),
        }
    }

    #[test]
    fn a_certification_without_variants_says_they_were_not_run() {
        let card = model_card(
            &version(serde_json::json!({ "model_sha256": "ab", "drift": {} })),
            &[],
            None,
            |at| at.to_string(),
        );
        assert!(card.contains("Realistic variants: not run"), "{card}");
        assert!(card.contains("the realistic variants"), "{card}");
    }

    #[test]
    fn variants_are_tabled_and_a_failed_one_is_a_blind_spot() {
        let report = serde_json::json!({
            "model_sha256": "ab",
            "drift": {},
            "variants": [
                { "test": "rtu_pivot", "caught_by": "novelty.role_reversal", "caught": 20,
                  "total": 20, "first_detection_secs": 0.0, "requirement": "within a cycle",
                  "passed": true },
                { "test": "register_drift", "caught_by": null, "caught": 0, "total": 10080,
                  "first_detection_secs": null, "requirement": "by day 5", "passed": false }
            ]
        });
        let card = model_card(&version(report), &[], None, |at| at.to_string());
        assert!(
            card.contains("| rtu_pivot | novelty.role_reversal | 20 | 20 |"),
            "{card}"
        );
        assert!(
            card.contains("- register_drift: not caught as required (by day 5)"),
            "{card}"
        );
        assert!(!card.contains("- rtu_pivot: not caught"), "{card}");
    }
}
