//! The staging evidence of a version in words, as label and value rows: how long it scored live
//! traffic beside which production model, the records, and its would-be alerts against
//! production's on the same records, in all, by detector and rule, and by log day. `model show
//! --db` and `model compare` print the rows as a table, the model card as Markdown.

use std::collections::BTreeMap;

use crate::store::{StagingEvidence, StagingSide};

/// The rows, in order; `format_time` renders epoch microseconds.
pub fn staging_rows(
    evidence: Option<&StagingEvidence>,
    format_time: impl Fn(i64) -> String,
) -> Vec<(String, String)> {
    let Some(evidence) = evidence else {
        return vec![(
            "staging evidence".to_string(),
            "none: it never scored live traffic beside production (`otsentry watch --staging`)"
                .to_string(),
        )];
    };
    let mut rows = vec![
        (
            "staging evidence".to_string(),
            format!(
                "scored live traffic beside production {} for {}, {} to {}: {} records ({} rows by the forest)",
                evidence.production_sha256,
                match evidence.scored_micros as f64 / 1e6 {
                    secs if secs < 3600.0 => format!("{secs:.1} s"),
                    secs => format!("{:.1} h", secs / 3600.0),
                },
                format_time(evidence.first_scored_at),
                format_time(evidence.last_scored_at),
                evidence.records,
                evidence.rows_scored
            ),
        ),
        (
            "  alerts".to_string(),
            format!(
                "{} would-be (this version), {} by production on the same records",
                evidence.alerts(StagingSide::Staging),
                evidence.alerts(StagingSide::Production)
            ),
        ),
    ];
    let mut by_rule: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut by_day: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for count in &evidence.counts {
        for entry in [
            by_rule
                .entry(format!("  {}.{}", count.detector, count.rule))
                .or_default(),
            by_day.entry(format!("  day {}", count.day)).or_default(),
        ] {
            match count.side {
                StagingSide::Staging => entry.0 += count.alerts,
                StagingSide::Production => entry.1 += count.alerts,
            }
        }
    }
    for (label, (would_be, production)) in by_rule.into_iter().chain(by_day) {
        rows.push((
            label,
            format!("{would_be} would-be, {production} by production"),
        ));
    }
    rows
}
