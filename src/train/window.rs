//! The training window: first and last log time, the calendar days and weekdays it covers, and
//! the baseline-length rule.
//!
//! OT plants run on a weekly cycle: maintenance windows, weekend shifts, weekly reports. A
//! baseline shorter than two weeks has seen each weekday at most once, so the next maintenance
//! window would look like an attack; under 14 days is refused unless overridden, under 30 warned.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::Window;

/// Baselines shorter than this many days are refused without `--allow-short-baseline`.
pub const MIN_DAYS: f64 = 14.0;
/// Baselines shorter than this many days get a warning.
pub const RECOMMENDED_DAYS: f64 = 30.0;

const SECONDS_PER_DAY: f64 = 86_400.0;
const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// Tracks the window while records stream by.
#[derive(Clone, Debug, Default)]
pub struct WindowTracker {
    start: Option<f64>,
    end: Option<f64>,
    days: BTreeSet<i64>,
}

impl WindowTracker {
    pub fn add(&mut self, ts: f64) {
        if !ts.is_finite() {
            return;
        }
        self.start = Some(self.start.map_or(ts, |start| start.min(ts)));
        self.end = Some(self.end.map_or(ts, |end| end.max(ts)));
        self.days.insert((ts / SECONDS_PER_DAY).floor() as i64);
    }

    /// The window, or `None` when no record had a time.
    pub fn finish(&self) -> Option<Window> {
        let (start, end) = (self.start?, self.end?);
        // Day 0 (1970-01-01) was a Thursday, index 3 counting from Monday.
        let weekday_set: BTreeSet<usize> = self
            .days
            .iter()
            .map(|day| (day + 3).rem_euclid(7) as usize)
            .collect();
        Some(Window {
            start,
            end,
            start_utc: rfc3339(start),
            end_utc: rfc3339(end),
            span_days: (end - start) / SECONDS_PER_DAY,
            days_covered: self.days.len(),
            weekdays: weekday_set
                .into_iter()
                .map(|idx| WEEKDAYS[idx].to_string())
                .collect(),
        })
    }
}

/// RFC 3339 form of epoch seconds; the number itself when out of range.
/// Epoch seconds of an RFC 3339 time, if it is one.
pub fn parse_rfc3339(text: &str) -> Option<f64> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|time| time.unix_timestamp_nanos() as f64 / 1e9)
}

pub use crate::text::rfc3339;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_weekdays_of_a_window() {
        let mut tracker = WindowTracker::default();
        // 2026-11-02 was a Monday.
        let monday = 1_793_577_600.0;
        for hour in 0..(24 * 3) {
            tracker.add(monday + f64::from(hour) * 3600.0);
        }
        let window = tracker.finish().unwrap();
        assert_eq!(window.days_covered, 3);
        assert_eq!(window.weekdays, ["Monday", "Tuesday", "Wednesday"]);
        assert!((window.span_days - 71.0 / 24.0).abs() < 1e-9);
        assert_eq!(window.start_utc, "2026-11-02T00:00:00Z");
    }
}
