//! Reasons: why a row was flagged, in words an analyst can check against the logs.
//!
//! Novel values come first (they are the strongest evidence: a source, destination, edge or
//! function never seen in training), then the features the model says isolated the row, with the
//! row's value and the training range, decoded back from the log scale.

use crate::features::schema::{FeatureRanges, col};
use crate::features::{Extractor, Novelty, RawRow, Schema};

/// The reasons for one row.
pub fn reasons(
    extractor: &Extractor,
    raw: &RawRow,
    novelty: Novelty,
    row: &[f64],
    explained: &[(usize, f64)],
    ranges: &FeatureRanges,
) -> Vec<String> {
    let vocab = extractor.vocab();
    let mut out = Vec::new();
    let host = |id: u32| {
        vocab
            .hosts
            .key(id)
            .map_or_else(|| "(other)".to_string(), |host| host.to_string())
    };
    if novelty.contains(Novelty::SOURCE) {
        out.push(format!(
            "new source {} (never originated in training)",
            host(raw.orig)
        ));
    }
    if novelty.contains(Novelty::DESTINATION) {
        out.push(format!(
            "new destination {} (never answered in training)",
            host(raw.resp)
        ));
    }
    if novelty.contains(Novelty::EDGE) {
        out.push(format!("new edge {}", vocab.edge_label(raw.edge)));
    }
    let label = vocab
        .pairs
        .key(raw.pair)
        .and_then(|(_, label)| vocab.labels.key(label))
        .unwrap_or("(other)");
    if novelty.contains(Novelty::FUNCTION) {
        let write = if raw.specific[0] > 0.0 {
            " (a write)"
        } else {
            ""
        };
        out.push(format!(
            "function {label}{write} never used on this edge in training"
        ));
    }
    if novelty.contains(Novelty::CONN_STATE) {
        out.push(format!(
            "conn_state {label} never seen on this edge in training"
        ));
    }
    let schema = extractor.schema();
    let mut interval_said = false;
    for &(feature, _) in explained.iter().take(3) {
        // INTERVAL and INTERVAL_DEV read the same in words; say it once.
        if feature == col::INTERVAL || feature == col::INTERVAL_DEV {
            if interval_said {
                continue;
            }
            interval_said = true;
        }
        if let Some(text) = describe(schema, feature, row, ranges, extractor, raw) {
            out.push(text);
        }
    }
    out
}

/// One feature in words, or `None` when a novelty reason already says it.
fn describe(
    schema: Schema,
    feature: usize,
    row: &[f64],
    ranges: &FeatureRanges,
    extractor: &Extractor,
    raw: &RawRow,
) -> Option<String> {
    let value = *row.get(feature)?;
    let name = schema.feature_names().get(feature)?;
    let low = ranges.low.get(feature).copied().unwrap_or(value);
    let high = ranges.high.get(feature).copied().unwrap_or(value);
    let unlog = |v: f64| v.exp_m1();
    match feature {
        col::EDGE_FREQ | col::ORIG_FREQ | col::RESP_FREQ | col::PAIR_FREQ => {
            if value == 0.0 {
                return None;
            }
            Some(format!(
                "rare in training: {name} seen {:.0} times",
                unlog(value)
            ))
        }
        col::INTERVAL | col::INTERVAL_DEV => {
            let interval = unlog(row[col::INTERVAL]);
            let typical = unlog(extractor.vocab().interval_mean(raw.edge));
            Some(format!(
                "interval {} since the previous record on this edge (typical {})",
                seconds(interval),
                seconds(typical)
            ))
        }
        _ => match schema {
            Schema::Conn => Some(format!(
                "{name} {} (training {}..{})",
                amount(unlog(value)),
                amount(unlog(low)),
                amount(unlog(high))
            )),
            Schema::Request => {
                let flag = if value > 0.0 { "yes" } else { "no" };
                Some(format!("{name} {flag}"))
            }
        },
    }
}

fn seconds(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2} s")
    } else {
        format!("{value:.0} s")
    }
}

fn amount(value: f64) -> String {
    if value < 100.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.0}")
    }
}
