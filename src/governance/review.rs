//! Review triggers: the schedule's next review date and the events that open a review early
//! (a false-positive cluster in one shift, a missed incident, a retrain, a new PLC or segment).

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// How often the policy is reviewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Weekly,
    Monthly,
    Quarterly,
    Semiannually,
    Annually,
}

impl Frequency {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "weekly" => Some(Frequency::Weekly),
            "monthly" => Some(Frequency::Monthly),
            "quarterly" => Some(Frequency::Quarterly),
            "semiannually" | "semi-annually" | "semiannual" => Some(Frequency::Semiannually),
            "annually" | "yearly" => Some(Frequency::Annually),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
            Frequency::Semiannually => "semiannually",
            Frequency::Annually => "annually",
        }
    }

    /// The date one period after `date`, clamping the day to the target month's length.
    fn advance(self, date: Date) -> Date {
        let months = match self {
            Frequency::Weekly => return date.saturating_add(time::Duration::weeks(1)),
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
            Frequency::Semiannually => 6,
            Frequency::Annually => 12,
        };
        let zero_based = date.year() * 12 + i32::from(u8::from(date.month())) - 1 + months;
        let year = zero_based.div_euclid(12);
        let month_number = u8::try_from(zero_based.rem_euclid(12) + 1).unwrap_or(1);
        let month = Month::try_from(month_number).unwrap_or(Month::January);
        let day = date.day().min(month.length(year));
        Date::from_calendar_date(year, month, day).unwrap_or(date)
    }
}

/// The first scheduled review strictly after `today`, counting periods from `effective`.
pub fn next_review_date(effective: Date, frequency: Frequency, today: Date) -> Date {
    let mut periods = 1u32;
    loop {
        let mut date = effective;
        for _ in 0..periods {
            date = frequency.advance(date);
        }
        if date > today || periods > 10_000 {
            return date;
        }
        periods += 1;
    }
}

/// An event that opens a review before the scheduled date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TriggerEvent {
    /// A new PLC or network segment.
    MajorReconfiguration,
    /// More than `more_than` confirmed false positives within one shift.
    FalsePositiveCluster { more_than: u32 },
    /// A missed incident.
    ConfirmedFalseNegative,
    /// A model retrain.
    ModelRetrain,
}

impl TriggerEvent {
    /// Reads a trigger phrase such as `confirmed false positive cluster (> 5 per shift)`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let normalised = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let head = normalised.split('(').next().unwrap_or("").trim();
        match head {
            "major ot reconfiguration" => Ok(TriggerEvent::MajorReconfiguration),
            "confirmed false negative" => Ok(TriggerEvent::ConfirmedFalseNegative),
            "model retrain" => Ok(TriggerEvent::ModelRetrain),
            "confirmed false positive cluster" => {
                let more_than = match normalised.split_once('>') {
                    None => 5,
                    Some((_, rest)) => rest
                        .split_whitespace()
                        .next()
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| {
                            format!("`{text}`: expected a count after `>`, as in (> 5 per shift)")
                        })?,
                };
                Ok(TriggerEvent::FalsePositiveCluster { more_than })
            }
            _ => Err(format!(
                "unknown trigger event `{text}`; known events: major OT reconfiguration (new PLC, new network segment); confirmed false positive cluster (> N per shift); confirmed false negative (missed incident); model retrain"
            )),
        }
    }

    /// A plain-words description.
    pub fn describe(self) -> String {
        match self {
            TriggerEvent::MajorReconfiguration => {
                "a new PLC or network segment is seen by the detectors".to_string()
            }
            TriggerEvent::FalsePositiveCluster { more_than } => {
                format!(
                    "more than {more_than} alerts are rejected as false positives within one shift"
                )
            }
            TriggerEvent::ConfirmedFalseNegative => {
                "an analyst reports a missed incident (a confirmed false negative)".to_string()
            }
            TriggerEvent::ModelRetrain => "the model is retrained".to_string(),
        }
    }

    /// The stable name stored in review records.
    pub fn name(self) -> &'static str {
        match self {
            TriggerEvent::MajorReconfiguration => "major_reconfiguration",
            TriggerEvent::FalsePositiveCluster { .. } => "false_positive_cluster",
            TriggerEvent::ConfirmedFalseNegative => "confirmed_false_negative",
            TriggerEvent::ModelRetrain => "model_retrain",
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn quarterly_reviews_follow_the_effective_date() {
        let next = next_review_date(
            date!(2026 - 05 - 03),
            Frequency::Quarterly,
            date!(2026 - 11 - 23),
        );
        assert_eq!(next, date!(2027 - 02 - 03));
        let next = next_review_date(
            date!(2026 - 01 - 31),
            Frequency::Monthly,
            date!(2026 - 02 - 01),
        );
        assert_eq!(next, date!(2026 - 02 - 28));
    }

    #[test]
    fn cluster_threshold_is_read_from_the_phrase() {
        assert_eq!(
            TriggerEvent::parse("confirmed false positive cluster (> 7 per shift)"),
            Ok(TriggerEvent::FalsePositiveCluster { more_than: 7 })
        );
        assert!(TriggerEvent::parse("solar eclipse").is_err());
    }
}
