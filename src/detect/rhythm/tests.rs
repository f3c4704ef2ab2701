//! Unit tests of the rhythm detector: the robust summary, a burst, a changed rhythm, a long
//! session and a scan are findings; the learnt rhythm is quiet; a split run equals one run.

use super::*;
use crate::detect::baseline::testing::{conn, learn, score};
use crate::features::FlowEvent;

/// Two days of a historian connecting to a PLC every 30 s (with a little jitter), sessions of
/// 1 to 2 s, and polling four PLCs once a minute.
fn training() -> Vec<FlowEvent<'static>> {
    let mut events = Vec::new();
    for n in 0..5760 {
        let ts = f64::from(n) * 30.0 + f64::from(n % 7) * 0.1;
        events.push(conn(
            ts,
            "10.0.3.20",
            "10.0.1.1",
            502,
            "modbus",
            1.0 + f64::from(n % 2),
        ));
    }
    events
}

fn detector() -> (RhythmDetector, crate::features::Extractor) {
    let (section, extractor) = learn(Box::new(RhythmLearner::default()), &training());
    let baseline: RhythmBaseline = postcard::from_bytes(&section.body).unwrap();
    (RhythmDetector::new(baseline), extractor)
}

const LATER: f64 = 3.0 * 86_400.0;

#[test]
fn the_summary_is_robust() {
    let mut hist = Hist::default();
    for value in [5.0; 99] {
        hist.add(value);
    }
    hist.add(10_000.0);
    let dist = hist.summary();
    assert!((plain(dist.median) - 5.0).abs() < 0.3, "{dist:?}");
    assert!(dist.mad < 0.01);
    assert_eq!(dist.max, 10_000.0);
    assert_eq!(dist.n, 100);
}

#[test]
fn the_learnt_rhythm_is_quiet() {
    let (mut detector, mut extractor) = detector();
    let events: Vec<_> = (0..200)
        .map(|n| {
            conn(
                LATER + f64::from(n) * 30.0,
                "10.0.3.20",
                "10.0.1.1",
                502,
                "modbus",
                1.5,
            )
        })
        .collect();
    let found = score(&mut detector, &mut extractor, &events);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_burst_a_new_rhythm_and_a_long_session_are_findings() {
    let (mut detector, mut extractor) = detector();
    let mut events: Vec<_> = (0..40)
        .map(|n| {
            conn(
                LATER + f64::from(n) * 0.5,
                "10.0.3.20",
                "10.0.1.1",
                502,
                "modbus",
                1.0,
            )
        })
        .collect();
    events.push(conn(
        LATER + 7200.0,
        "10.0.3.20",
        "10.0.1.1",
        502,
        "modbus",
        5.0 * 3600.0,
    ));
    let found = score(&mut detector, &mut extractor, &events);
    let rules: Vec<&str> = found.iter().map(|finding| finding.rule).collect();
    assert!(rules.contains(&"burst"), "{rules:?}");
    assert!(rules.contains(&"rhythm_changed"), "{rules:?}");
    assert!(rules.contains(&"long_session"), "{rules:?}");
    assert_eq!(
        rules.iter().filter(|rule| **rule == "burst").count(),
        1,
        "once per episode"
    );
    let changed = found
        .iter()
        .find(|finding| finding.rule == "rhythm_changed")
        .unwrap();
    assert!(
        changed.reasons[0].baseline.contains("median 30"),
        "{:?}",
        changed.reasons
    );
}

#[test]
fn a_scan_is_a_finding_of_its_source() {
    let (mut detector, mut extractor) = detector();
    let hosts: Vec<String> = (1..=30).map(|n| format!("10.0.1.{n}")).collect();
    let events: Vec<_> = hosts
        .iter()
        .enumerate()
        .map(|(n, host)| conn(LATER + n as f64, "10.0.3.20", host, 502, "modbus", 0.0))
        .collect();
    let found = score(&mut detector, &mut extractor, &events);
    let scans: Vec<_> = found
        .iter()
        .filter(|finding| finding.rule == "scan")
        .collect();
    assert_eq!(scans.len(), 1, "{found:#?}");
    assert_eq!(scans[0].subject.dst, None);
    assert_eq!(scans[0].techniques[0], "T0846");
}

#[test]
fn a_split_run_equals_one_run() {
    let events: Vec<_> = (0..60)
        .map(|n| {
            conn(
                LATER + f64::from(n) * 0.5,
                "10.0.3.20",
                "10.0.1.1",
                502,
                "modbus",
                1.0,
            )
        })
        .collect();
    let (mut whole, mut extractor) = detector();
    let one_run = score(&mut whole, &mut extractor, &events);
    let (mut first, mut extractor) = detector();
    let mut split = score(&mut first, &mut extractor, &events[..25]);
    let (mut second, _) = detector();
    second.restore(first.checkpoint()).unwrap();
    split.extend(score(&mut second, &mut extractor, &events[25..]));
    assert_eq!(one_run, split);
    assert!(!one_run.is_empty());
}
