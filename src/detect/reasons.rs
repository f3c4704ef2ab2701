//! The forest's reasons: which features isolated a row, in words an analyst can check against the
//! logs, with the observed value beside the training range it left.
//!
//! A reason is only given for a value outside its baseline: a frequency is "rare" only below the
//! training sample's 0.1th percentile, a size only outside the 0.1th..99.9th percentile range,
//! an interval only when its deviation from the edge's own typical interval is outside the
//! deviations seen in training. Values are compared as printed, so a reason never reads
//! "duration 0.00 (training 0.00..0.06)".

use super::Reason;
use crate::features::schema::{FeatureRanges, col};
use crate::features::{RawRow, Schema, Vocab};

/// The reasons for one flagged row: the features `explained` names (most isolating first), each
/// only when it is outside its training range; at most three.
pub fn forest_reasons(
    schema: Schema,
    vocab: &Vocab,
    raw: &RawRow,
    row: &[f64],
    explained: &[(usize, f64)],
    ranges: &FeatureRanges,
) -> Vec<Reason> {
    let mut out = Vec::new();
    let mut interval_said = false;
    for &(feature, _) in explained {
        if out.len() == 3 {
            break;
        }
        // INTERVAL and INTERVAL_DEV read the same in words; say it once.
        if feature == col::INTERVAL || feature == col::INTERVAL_DEV {
            if interval_said {
                continue;
            }
            interval_said = true;
        }
        if let Some(reason) = describe(schema, feature, row, ranges, vocab, raw) {
            out.push(reason);
        }
    }
    out
}

/// One feature in words, or `None` when its value is inside its training range (or a novelty
/// the new-communication detector reports).
fn describe(
    schema: Schema,
    feature: usize,
    row: &[f64],
    ranges: &FeatureRanges,
    vocab: &Vocab,
    raw: &RawRow,
) -> Option<Reason> {
    let value = *row.get(feature)?;
    let name = *schema.feature_names().get(feature)?;
    let low = ranges.low.get(feature).copied()?;
    let high = ranges.high.get(feature).copied()?;
    let unlog = |v: f64| v.exp_m1().max(0.0);
    match feature {
        col::EDGE_FREQ | col::ORIG_FREQ | col::RESP_FREQ | col::PAIR_FREQ => {
            // 0 is "never seen", a novelty the new-communication detector reports.
            if value == 0.0 || value >= low {
                return None;
            }
            let (seen, least) = (count_text(unlog(value)), count_text(unlog(low)));
            if seen == least {
                return None;
            }
            Some(Reason::new(
                format!("rare {}: seen {seen} times in training", freq_name(name)),
                format!("0.1 % of training records had a rarer one than {least} times"),
            ))
        }
        col::INTERVAL | col::INTERVAL_DEV => {
            let deviation = row.get(col::INTERVAL_DEV).copied()?;
            let dev_low = ranges.low.get(col::INTERVAL_DEV).copied()?;
            let dev_high = ranges.high.get(col::INTERVAL_DEV).copied()?;
            if (dev_low..=dev_high).contains(&deviation) {
                return None;
            }
            let interval = unlog(row[col::INTERVAL]);
            let mean = vocab.interval_mean(raw.edge);
            let typical = unlog(mean);
            let (shortest, longest) = (unlog(mean + dev_low), unlog(mean + dev_high));
            let (observed, typical_text) = (seconds(interval), seconds(typical));
            if observed == typical_text {
                return None;
            }
            Some(Reason::new(
                format!("interval {observed} since the previous record on this edge"),
                format!(
                    "typical {typical_text} on this edge; 99.8 % of training intervals were {}..{} of the typical",
                    seconds(shortest),
                    seconds(longest)
                ),
            ))
        }
        _ => {
            if (low..=high).contains(&value) {
                return None;
            }
            match schema {
                Schema::Conn => {
                    let (observed, low_text, high_text) = (
                        amount(unlog(value)),
                        amount(unlog(low)),
                        amount(unlog(high)),
                    );
                    if observed == low_text || observed == high_text {
                        return None;
                    }
                    Some(Reason::new(
                        format!("{name} {observed}"),
                        format!("training {low_text}..{high_text} (0.1th..99.9th percentile)"),
                    ))
                }
                Schema::Request => {
                    let flag = |v: f64| if v > 0.5 { "yes" } else { "no" };
                    Some(Reason::new(
                        format!("{name} {}", flag(value)),
                        format!("{} in 99.9 % of training requests", flag(low)),
                    ))
                }
            }
        }
    }
}

/// `edge_freq` -> `edge`, `conn_state_freq` -> `connection state on this edge`.
fn freq_name(name: &str) -> &str {
    match name {
        "edge_freq" => "edge",
        "orig_freq" => "source",
        "resp_freq" => "destination",
        "conn_state_freq" => "connection state on this edge",
        "function_freq" => "function on this edge",
        other => other,
    }
}

fn count_text(value: f64) -> String {
    format!("{:.0}", value.round())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::intern::DEFAULT_CAP;

    fn ranges(width: usize, low: f64, high: f64) -> FeatureRanges {
        FeatureRanges {
            low: vec![low; width],
            high: vec![high; width],
        }
    }

    fn raw() -> RawRow {
        RawRow {
            orig: 0,
            resp: 0,
            edge: 0,
            pair: 0,
            ln_interval: 0.0,
            specific: [0.0; 5],
        }
    }

    /// Every reason names a value outside the range it cites: never inside, never equal.
    #[test]
    fn values_inside_their_range_are_never_reasons() {
        let vocab = Vocab::new(Schema::Conn, DEFAULT_CAP);
        let width = Schema::Conn.width();
        let ranges = ranges(width, 1.0, 3.0);
        let explained: Vec<(usize, f64)> = (0..width).map(|feature| (feature, 1.0)).collect();
        for inside in [1.0, 2.0, 3.0] {
            let row = vec![inside; width];
            let reasons = forest_reasons(Schema::Conn, &vocab, &raw(), &row, &explained, &ranges);
            assert!(reasons.is_empty(), "{inside}: {reasons:?}");
        }
        let row = vec![5.0; width];
        let reasons = forest_reasons(Schema::Conn, &vocab, &raw(), &row, &explained, &ranges);
        assert!(!reasons.is_empty());
        for reason in &reasons {
            assert!(!reason.to_string().contains("rare"), "{reason}");
        }
    }

    #[test]
    fn a_frequency_is_rare_only_below_the_training_percentile() {
        let vocab = Vocab::new(Schema::Conn, DEFAULT_CAP);
        let width = Schema::Conn.width();
        let ranges = ranges(width, (100.0f64).ln_1p(), 20.0);
        let explained = [(col::EDGE_FREQ, 1.0)];
        let mut row = vec![10.0; width];
        row[col::EDGE_FREQ] = (3.0f64).ln_1p();
        let reasons = forest_reasons(Schema::Conn, &vocab, &raw(), &row, &explained, &ranges);
        assert_eq!(reasons.len(), 1);
        assert!(
            reasons[0].observed.contains("seen 3 times"),
            "{}",
            reasons[0]
        );
        row[col::EDGE_FREQ] = (207_393.0f64).ln_1p();
        let reasons = forest_reasons(Schema::Conn, &vocab, &raw(), &row, &explained, &ranges);
        assert!(reasons.is_empty(), "{reasons:?}");
    }
}
