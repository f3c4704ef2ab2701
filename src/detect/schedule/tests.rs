//! Unit tests of the schedule detector: a weekly maintenance session is quiet inside its window
//! and a finding on a Sunday night; a split run equals one run.

use super::*;
use crate::detect::baseline::testing::{conn, learn, score};
use crate::features::FlowEvent;

/// 2026-10-07T00:00:00Z, a Wednesday.
const WEDNESDAY: f64 = 1_791_331_200.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// Three weeks: an HMI polling around the clock, and an engineering laptop on Wednesdays
/// 09:00 to 11:00 only.
fn training() -> Vec<FlowEvent<'static>> {
    let mut events = Vec::new();
    for hour in 0..21 * 24 {
        let ts = WEDNESDAY + f64::from(hour) * HOUR;
        events.push(conn(ts, "10.0.2.10", "10.0.1.1", 502, "modbus", 10.0));
    }
    for week in 0..3 {
        let ts = WEDNESDAY + f64::from(week) * 7.0 * DAY + 9.0 * HOUR;
        events.push(conn(ts, "10.0.3.30", "10.0.1.1", 502, "modbus", 2.0 * HOUR));
    }
    events.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    events
}

fn detector() -> (ScheduleDetector, crate::features::Extractor) {
    let (section, extractor) = learn(Box::new(ScheduleLearner::default()), &training());
    let baseline: ScheduleBaseline = postcard::from_bytes(&section.body).unwrap();
    (ScheduleDetector::new(baseline), extractor)
}

#[test]
fn calendar_counts_weekdays_from_monday() {
    assert_eq!(calendar(WEDNESDAY + 9.5 * HOUR).1, 2);
    assert_eq!(calendar(WEDNESDAY + 9.5 * HOUR).2, 9);
    assert_eq!(calendar(0.0), (0, 3, 0), "1970-01-01 was a Thursday");
}

#[test]
fn the_weekly_session_is_quiet_in_its_window_and_reported_on_a_sunday_night() {
    let (mut detector, mut extractor) = detector();
    let next_wednesday = WEDNESDAY + 21.0 * DAY + 10.0 * HOUR;
    let inside = score(
        &mut detector,
        &mut extractor,
        &[conn(
            next_wednesday,
            "10.0.3.30",
            "10.0.1.1",
            502,
            "modbus",
            1800.0,
        )],
    );
    assert!(inside.is_empty(), "{inside:#?}");
    // Sunday 2026-10-11 02:00 UTC plus three weeks.
    let sunday = WEDNESDAY + 25.0 * DAY + 2.0 * HOUR;
    let outside = score(
        &mut detector,
        &mut extractor,
        &[
            conn(sunday, "10.0.3.30", "10.0.1.1", 502, "modbus", 1800.0),
            conn(
                sunday + 60.0,
                "10.0.3.30",
                "10.0.1.1",
                502,
                "modbus",
                1800.0,
            ),
        ],
    );
    assert_eq!(outside.len(), 1, "reported once per episode: {outside:#?}");
    let finding = &outside[0];
    assert_eq!(finding.rule, "outside_schedule");
    assert_eq!(finding.severity, Severity::High);
    assert!(finding.reasons[0].observed.contains("sunday 02:00 UTC"));
    assert!(
        finding.reasons[0].baseline.contains("wednesday"),
        "{}",
        finding.reasons[0].baseline
    );
    // The HMI keeps no schedule: any hour is its own.
    let hmi = score(
        &mut detector,
        &mut extractor,
        &[conn(
            sunday + 3.0 * HOUR,
            "10.0.2.10",
            "10.0.1.1",
            502,
            "modbus",
            10.0,
        )],
    );
    assert!(hmi.is_empty());
}

#[test]
fn a_split_run_equals_one_run() {
    let sunday = WEDNESDAY + 25.0 * DAY + 2.0 * HOUR;
    let events: Vec<_> = (0..4)
        .map(|n| {
            conn(
                sunday + f64::from(n) * 1200.0,
                "10.0.3.30",
                "10.0.1.1",
                502,
                "modbus",
                60.0,
            )
        })
        .collect();
    let (mut whole, mut extractor) = detector();
    let one_run = score(&mut whole, &mut extractor, &events);
    let (mut first, mut extractor) = detector();
    let mut split = score(&mut first, &mut extractor, &events[..2]);
    let state = first.checkpoint();
    let (mut second, _) = detector();
    second.restore(state).unwrap();
    split.extend(score(&mut second, &mut extractor, &events[2..]));
    assert_eq!(one_run, split);
    assert!(second.restore(serde_json::json!({"no": 1})).is_err());
}
