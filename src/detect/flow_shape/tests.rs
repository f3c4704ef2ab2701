//! Unit tests of the flow-shape detector: a slow drift on a polling edge is caught early, the
//! edge's own noise and sessions of any length are quiet, thin or widely spread edges are never
//! judged, a two-valued quantity is quiet until its mix changes, reasons tell the truth, the
//! baseline round-trips and a split run equals one run.

use proptest::prelude::*;

use super::*;
use crate::detect::baseline::testing::{conn, learn, score};
use crate::features::{Extractor, FlowEvent};

const HISTORIAN: &str = "10.0.3.20";
const PLC: &str = "10.0.1.1";
const HMI: &str = "10.0.2.10";

/// A connection with the given sizes.
fn sized(
    ts: f64,
    src: &str,
    orig_bytes: u64,
    resp_bytes: u64,
    orig_pkts: u64,
    resp_pkts: u64,
) -> FlowEvent<'static> {
    let mut event = conn(ts, src, PLC, 502, "modbus", 0.01);
    event.kind = EventKind::Conn(ConnFields {
        duration: Some(0.01),
        orig_bytes: Some(orig_bytes),
        resp_bytes: Some(resp_bytes),
        orig_pkts: Some(orig_pkts),
        resp_pkts: Some(resp_pkts),
        conn_state: "SF",
    });
    event
}

/// A historian poll: one connection per poll, two 12-byte requests and their 27-byte answers;
/// one poll in 150 carries a retry (two polls' worth in one connection), as the plant's do.
fn poll(ts: f64, n: u64) -> FlowEvent<'static> {
    if n % 150 == 75 {
        sized(ts, HISTORIAN, 48, 108, 12, 6)
    } else {
        sized(ts, HISTORIAN, 24, 54, 8, 4)
    }
}

/// A Modbus session of `requests` polls: 12 bytes and one ACK per request from the master, one
/// 27-byte answer per request, four and two packets of setup and teardown.
fn session(ts: f64, requests: u64) -> FlowEvent<'static> {
    sized(
        ts,
        HMI,
        12 * requests,
        27 * requests,
        2 * requests + 4,
        requests + 2,
    )
}

/// Three days of training: the historian polling every 60 s, an HMI holding sessions of 500
/// to 3,000 requests every 20 minutes, and an engineering host seen 50 times.
fn training() -> Vec<FlowEvent<'static>> {
    let mut events = Vec::new();
    for n in 0..4320u64 {
        events.push(poll(n as f64 * 60.0, n));
    }
    for n in 0..216u64 {
        events.push(session(n as f64 * 1200.0 + 7.0, 500 + (n * 337) % 2500));
    }
    for n in 0..50u64 {
        events.push(sized(
            n as f64 * 3600.0 + 11.0,
            "10.0.3.30",
            300,
            300,
            10,
            10,
        ));
    }
    events.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    events
}

fn trained() -> (ShapeBaseline, Extractor) {
    let (section, extractor) = learn(Box::new(Learner::default()), &training());
    assert_eq!(
        (section.name.as_str(), section.version),
        (NAME, BASELINE_VERSION)
    );
    (postcard::from_bytes(&section.body).unwrap(), extractor)
}

fn detector() -> (FlowShapeDetector, Extractor) {
    let (baseline, extractor) = trained();
    (FlowShapeDetector::new(baseline), extractor)
}

const LATER: f64 = 5.0 * 86_400.0;
/// Polls per simulated day in the drift tests.
const PER_DAY: u64 = 1440;

/// `days` days of historian polls whose orig_bytes move linearly from `initial` to `target`.
fn drift(days: u64, initial: f64, target: f64) -> Vec<FlowEvent<'static>> {
    let total = days * PER_DAY;
    (0..total)
        .map(|n| {
            let value = initial + (target - initial) * n as f64 / (total - 1) as f64;
            sized(
                LATER + n as f64 * 60.0,
                HISTORIAN,
                value.round() as u64,
                54,
                8,
                4,
            )
        })
        .collect()
}

fn day_of(finding: &Finding) -> u64 {
    ((finding.seen.ts - LATER) / 86_400.0).floor() as u64 + 1
}

#[test]
fn a_slow_drift_on_a_polling_edge_is_caught_by_day_two_and_every_poll_after() {
    let (mut detector, mut extractor) = detector();
    let events = drift(7, 24.0, 24.0 * 1.8);
    let found = score(&mut detector, &mut extractor, &events);
    assert!(!found.is_empty());
    assert!(day_of(&found[0]) <= 2, "first on day {}", day_of(&found[0]));
    let rate = found.len() as f64 / events.len() as f64;
    assert!(rate >= 0.90, "rate {rate}");
    let finding = &found[0];
    assert_eq!(finding.detector, NAME);
    assert_eq!(finding.rule, "size_drift");
    assert_eq!(finding.severity, Severity::Medium);
    assert_eq!(finding.techniques, ["T0855", "T0869"]);
    for id in &finding.techniques {
        assert!(crate::detect::attack::technique(id).is_some(), "{id}");
    }
}

#[test]
fn the_edges_own_noise_is_quiet() {
    let (mut detector, mut extractor) = detector();
    let mut events: Vec<_> = (0..5000u64)
        .map(|n| poll(LATER + n as f64 * 60.0, n))
        .collect();
    // Two retries in a row are still the edge's own.
    for n in 0..2u64 {
        events.push(poll(LATER + 400_000.0 + n as f64, 75));
    }
    let found = score(&mut detector, &mut extractor, &events);
    assert!(found.is_empty(), "{:#?}", found.first());
}

#[test]
fn a_short_session_and_a_long_one_of_the_same_edge_are_quiet() {
    let (mut detector, mut extractor) = detector();
    let events = vec![
        session(LATER, 2),
        session(LATER + 60.0, 1),
        session(LATER + 120.0, 50_000),
        session(LATER + 180.0, 700),
        session(LATER + 240.0, 3),
    ];
    let found = score(&mut detector, &mut extractor, &events);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_session_edge_judges_bytes_per_packet_not_bytes_per_record() {
    let (baseline, _) = trained();
    let edge = baseline
        .edges
        .iter()
        .flatten()
        .find(|edge| edge.records == 216)
        .expect("the HMI's session edge is learnt");
    assert!(edge.quantities[Quantity::OrigPerPacket as usize].judged);
    assert!(!edge.quantities[Quantity::OrigPerRecord as usize].judged);
    // Sessions whose requests grew from 12 to 20 bytes: other registers asked for.
    let (mut detector, mut extractor) = detector();
    let events: Vec<_> = (0..200u64)
        .map(|n| {
            let requests = 800 + n;
            sized(
                LATER + n as f64 * 1200.0,
                HMI,
                20 * requests,
                27 * requests,
                2 * requests + 4,
                requests + 2,
            )
        })
        .collect();
    let found = score(&mut detector, &mut extractor, &events);
    assert!(found.len() >= 190, "{} findings", found.len());
    assert!(
        found[0].reasons[0].observed.starts_with(
            "orig bytes per packet on 10.0.2.10 -> 10.0.1.1:502/tcp modbus cumulatively above"
        ),
        "{:?}",
        found[0].reasons
    );
}

#[test]
fn edges_with_few_records_or_wide_spread_are_never_judged() {
    let (baseline, mut extractor) = trained();
    let learnt = baseline.edges.iter().flatten().count();
    assert_eq!(learnt, 2, "the 50-record edge is not learnt");
    let mut detector = FlowShapeDetector::new(baseline);
    // The engineering host sends 100 times its size: nothing learnt, nothing said.
    let events: Vec<_> = (0..100u64)
        .map(|n| sized(LATER + n as f64, "10.0.3.30", 30_000, 30_000, 10, 10))
        .collect();
    assert!(score(&mut detector, &mut extractor, &events).is_empty());

    // An edge whose polls vary widely in size is learnt but none of its quantities is judged.
    let wide: Vec<_> = (0..1000u64)
        .map(|n| {
            let bytes = 100 + (n * 7919) % 400;
            sized(
                n as f64 * 60.0,
                HISTORIAN,
                bytes,
                bytes,
                4 + (n * 13) % 9,
                4,
            )
        })
        .collect();
    let (section, mut extractor) = learn(Box::new(Learner::default()), &wide);
    let baseline: ShapeBaseline = postcard::from_bytes(&section.body).unwrap();
    let edge = baseline.edges.iter().flatten().next().unwrap();
    assert!(
        !edge.quantities[Quantity::OrigPerRecord as usize].judged
            && !edge.quantities[Quantity::OrigPerPacket as usize].judged,
        "{edge:#?}"
    );
    let mut detector = FlowShapeDetector::new(baseline);
    let events: Vec<_> = (0..2000u64)
        .map(|n| sized(LATER + n as f64 * 60.0, HISTORIAN, 450, 300, 4, 4))
        .collect();
    let found = score(&mut detector, &mut extractor, &events);
    assert!(found.iter().all(|finding| {
        finding
            .reasons
            .iter()
            .all(|reason| !reason.observed.starts_with("orig"))
    }));
}

/// An RTU's answers: 76 bytes over four or five packets (an ACK that rides
/// the answer or does not) at the `five_in_100` rate, in a fixed pseudo-random order.
fn two_valued(ts: f64, n: u64, five_in_100: u64) -> FlowEvent<'static> {
    let draw = (n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % 100;
    let resp_pkts = if draw < five_in_100 { 5 } else { 4 };
    sized(ts, HISTORIAN, 12, 76, 5, resp_pkts)
}

#[test]
fn an_edge_whose_packet_counts_take_two_values_is_quiet_until_its_mix_changes() {
    let training: Vec<_> = (0..4320u64)
        .map(|n| two_valued(n as f64 * 60.0, n, 45))
        .collect();
    let (section, extractor) = learn(Box::new(Learner::default()), &training);
    let baseline: ShapeBaseline = postcard::from_bytes(&section.body).unwrap();
    let edge = baseline.edges.iter().flatten().next().unwrap();
    let resp = edge.quantities[Quantity::RespPerPacket as usize];
    // The median sits on four packets with no absolute deviation; the unit is the spread of the
    // two values, and the centre carries the edge's own mix (five packets, below, 45 % of the
    // time).
    assert!(resp.judged && resp.dist.mad == 0.0, "{resp:#?}");
    let gap = 20f64.ln() - 16.2f64.ln();
    assert!(
        (resp.unit - gap * (0.45f64 * 0.55).sqrt()).abs() < 0.01,
        "{resp:#?}"
    );
    assert!(
        (resp.centre + 0.45 * gap / resp.unit).abs() < 0.2,
        "{resp:#?}"
    );

    // A month of the same mix: quiet (measured from the median in a 2 % unit, the sum grew by
    // 1.3 units a record).
    let (mut detector, mut quiet) = (FlowShapeDetector::new(baseline.clone()), extractor.clone());
    let month: Vec<_> = (0..43_200u64)
        .map(|n| two_valued(LATER + n as f64 * 60.0, n + 4320, 45))
        .collect();
    let found = score(&mut detector, &mut quiet, &month);
    assert!(
        found.is_empty(),
        "{} findings: {:#?}",
        found.len(),
        found.first()
    );

    // Every answer on five packets from then on: the mix changed, and that is caught.
    let (mut detector, mut changed) = (FlowShapeDetector::new(baseline), extractor);
    let later: Vec<_> = (0..2000u64)
        .map(|n| two_valued(LATER + n as f64 * 60.0, n, 100))
        .collect();
    let found = score(&mut detector, &mut changed, &later);
    assert!(found.len() > 1500, "{} findings", found.len());
    assert!(
        found[0].reasons[0]
            .observed
            .starts_with("resp bytes per packet"),
        "{:?}",
        found[0].reasons
    );
}

#[test]
fn reasons_name_a_value_outside_the_baseline() {
    let (mut detector, mut extractor) = detector();
    let events = drift(2, 24.0, 60.0);
    let found = score(&mut detector, &mut extractor, &events);
    let first = &found[0];
    let per_record = first
        .reasons
        .iter()
        .find(|reason| reason.observed.starts_with("orig bytes per record"))
        .expect("the per-record size is a reason");
    assert!(
        per_record.observed.contains("cumulatively above"),
        "{per_record}"
    );
    assert!(
        per_record
            .baseline
            .starts_with("median 24.0, 1st to 99th percentile 24.0 to 24.0"),
        "{per_record}"
    );
    // The sum named is over the alarm named.
    let number = |text: &str, after: &str| -> f64 {
        let rest = &text[text.find(after).unwrap() + after.len()..];
        rest.split_whitespace()
            .next()
            .unwrap()
            .trim_matches(|c| c == ',' || c == ')')
            .parse()
            .unwrap()
    };
    let sum = number(&per_record.observed, "training level by ");
    let alarm = number(&per_record.baseline, "alarm at ");
    assert!(sum > alarm, "{per_record}");
    // A record whose own value is inside the training range is never named as outside it.
    for finding in &found {
        for reason in &finding.reasons {
            assert!(!reason.observed.contains("this record 24.0,"), "{reason}");
        }
    }
}

#[test]
fn a_split_run_equals_one_run() {
    let events = drift(2, 24.0, 60.0);
    let (mut whole, mut extractor) = detector();
    let expected = score(&mut whole, &mut extractor, &events);
    let (mut first, mut extractor) = detector();
    let mut found = score(&mut first, &mut extractor, &events[..1000]);
    let (mut second, _) = detector();
    second.restore(first.checkpoint()).unwrap();
    found.extend(score(&mut second, &mut extractor, &events[1000..]));
    assert_eq!(found, expected);
    let error = second.restore(serde_json::json!({"edges": 3})).unwrap_err();
    assert!(error.contains("flow_shape state"), "{error}");
}

fn any_event() -> impl Strategy<Value = FlowEvent<'static>> {
    (
        0u64..3,
        0.0f64..1e6,
        prop::option::of(0u64..100_000),
        prop::option::of(0u64..100_000),
        prop::option::of(0u64..5_000),
        prop::option::of(0u64..5_000),
        prop::option::of(-1.0f64..1e5),
    )
        .prop_map(|(src, ts, orig, resp, orig_pkts, resp_pkts, duration)| {
            let src = ["10.0.0.1", "10.0.0.2", "10.0.0.3"][src as usize];
            let mut event = conn(ts, src, PLC, 502, "modbus", 0.0);
            event.kind = EventKind::Conn(ConnFields {
                duration,
                orig_bytes: orig,
                resp_bytes: resp,
                orig_pkts,
                resp_pkts,
                conn_state: "SF",
            });
            event
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever training saw, the section decodes to the baseline it encoded, re-encodes to the
    /// same bytes, and a detector over it judges any record without panicking.
    #[test]
    fn the_baseline_section_round_trips(
        mut events in prop::collection::vec(any_event(), 0..400),
        probe in any_event(),
    ) {
        events.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        let (section, mut extractor) = learn(Box::new(Learner::default()), &events);
        let baseline: ShapeBaseline = postcard::from_bytes(&section.body).unwrap();
        let again = baseline::encode(NAME, BASELINE_VERSION, &baseline).unwrap();
        prop_assert_eq!(&again.body, &section.body);
        for edge in baseline.edges.iter().flatten() {
            prop_assert!(edge.records >= MIN_RECORDS);
            for quantity in &edge.quantities {
                prop_assert!(quantity.alarm >= MIN_ALARM && quantity.unit >= UNIT_FLOOR);
            }
        }
        let mut detector = FlowShapeDetector::new(baseline);
        let mut probe = probe;
        probe.ts = 2e6;
        let _ = score(&mut detector, &mut extractor, &[probe]);
    }
}
