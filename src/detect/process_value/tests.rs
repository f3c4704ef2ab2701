//! Unit tests of the process-value detector: learning, the three rules, checkpoints.

use std::sync::Arc;

use super::*;
use crate::detect::baseline::Learner as _;
use crate::features::{Direction, EdgeRef, Proto};

const PLC: &str = "10.10.10.10";
const HMI: &str = "10.10.2.10";
const DAY: f64 = 86_400.0;

fn values_event<'a>(ts: f64, function: &'a str, address: u64, values: &'a str) -> FlowEvent<'a> {
    FlowEvent {
        ts,
        uid: "CVALUES",
        orig_p: 49152,
        ot: true,
        edge: EdgeRef {
            orig_h: HMI.parse().unwrap(),
            resp_h: PLC.parse().unwrap(),
            resp_p: 502,
            proto: Proto::Tcp,
            service: "modbus",
        },
        kind: EventKind::Values(ValueFields {
            unit: Some(1),
            function,
            address: Some(address),
            values,
            separator: ",",
            direction: Direction::Both,
        }),
    }
}

/// The level (register 0) follows a daily wave with noise; the setpoint (register 1) is
/// constant; register 2 counts hours; coil 0 is off. One read a minute.
fn plant_values(start: f64, days: f64, setpoint: impl Fn(f64) -> f64) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    let mut ts = start;
    let mut step = 0u64;
    while ts < start + days * DAY {
        let wave = (ts / DAY * std::f64::consts::TAU).sin();
        let noise = ((step * 7919) % 13) as f64 - 6.0;
        let level = (500.0 + 150.0 * wave + noise).round();
        let hours = (ts / 3600.0).floor();
        out.push((
            ts,
            format!("{level},{},{hours}", setpoint(ts - start).round()),
        ));
        ts += 60.0;
        step += 1;
    }
    out
}

fn learn(events: &[(f64, String)]) -> ValueBaseline {
    let mut learner = Box::new(Learner::default());
    for (ts, values) in events {
        learner.observe_values(&values_event(*ts, "READ_HOLDING_REGISTERS", 0, values));
        learner.observe_values(&values_event(*ts, "READ_COILS", 0, "F,T"));
    }
    postcard::from_bytes(&learner.finish().unwrap().body).unwrap()
}

fn score(detector: &mut ProcessValueDetector, events: &[(f64, String)]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (ts, values) in events {
        detector.observe_values(
            &values_event(*ts, "READ_HOLDING_REGISTERS", 0, values),
            &mut findings,
        );
    }
    findings
}

fn key(address: u32, table: Table) -> RegisterKey {
    RegisterKey {
        device: PLC.parse().unwrap(),
        unit: 1,
        table,
        address,
    }
}

fn baseline_of(baseline: &ValueBaseline, key: RegisterKey) -> RegisterBaseline {
    baseline
        .registers
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, b)| *b)
        .unwrap_or_else(|| panic!("{key} not learnt"))
}

#[test]
fn training_learns_ranges_counters_and_drift_parameters() {
    let baseline = learn(&plant_values(0.0, 14.0, |_| 750.0));
    let level = baseline_of(&baseline, key(0, Table::HoldingRegister));
    assert!(level.min >= 340.0 && level.max <= 660.0, "{level:?}");
    let drift = level.drift.unwrap();
    assert!(
        drift.unit > 50.0,
        "the daily wave is the level's noise: {drift:?}"
    );
    assert!(drift.alarm >= MIN_ALARM);
    let setpoint = baseline_of(&baseline, key(1, Table::HoldingRegister));
    assert_eq!((setpoint.min, setpoint.max), (750.0, 750.0));
    assert!(!setpoint.counter);
    assert_eq!(setpoint.drift.unwrap().unit, unit_floor(750.0));
    let hours = baseline_of(&baseline, key(2, Table::HoldingRegister));
    assert!(hours.counter && hours.drift.is_none(), "{hours:?}");
    let coil = baseline_of(&baseline, key(1, Table::Coil));
    assert_eq!((coil.min, coil.max), (1.0, 1.0));
    assert!(coil.drift.is_none());
}

#[test]
fn a_benign_held_out_week_gives_no_finding() {
    let baseline = learn(&plant_values(0.0, 14.0, |_| 750.0));
    let mut detector = ProcessValueDetector::new(Some(baseline));
    let findings = score(&mut detector, &plant_values(14.0 * DAY, 7.0, |_| 750.0));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_slow_drift_is_caught_by_the_cumulative_sum_within_a_day() {
    let baseline = learn(&plant_values(0.0, 14.0, |_| 750.0));
    // 750 to 830 over seven days: a fraction of a count per step, rounded as a register is.
    let drift = |elapsed: f64| 750.0 + 80.0 * elapsed / (7.0 * DAY);
    let start = 14.0 * DAY;
    let mut detector = ProcessValueDetector::new(Some(baseline));
    let findings = score(&mut detector, &plant_values(start, 7.0, drift));
    let first_drift = findings
        .iter()
        .find(|finding| finding.rule == "drift")
        .expect("the drift is caught");
    assert!(first_drift.seen.ts - start < DAY, "{first_drift:#?}");
    assert_eq!(first_drift.severity, Severity::High);
    assert!(first_drift.techniques.contains(&"T0836"));
    assert!(
        first_drift.reasons[0]
            .observed
            .contains("holding register 1")
    );
    assert!(
        first_drift.reasons[0]
            .baseline
            .contains("training level 750.0")
    );
    // One finding per excursion, whatever the number of values past the range.
    let drifts = findings.iter().filter(|f| f.rule == "drift").count();
    let ranges = findings.iter().filter(|f| f.rule == "out_of_range").count();
    assert_eq!((drifts, ranges), (1, 1), "{findings:#?}");
    // The level's daily wave and the hour counter raise nothing.
    assert!(
        findings
            .iter()
            .all(|f| f.reasons[0].observed.contains("holding register 1"))
    );
}

#[test]
fn safe_limits_from_the_inventory_are_judged_for_writes_and_reads() {
    let inventory = crate::inventory::parse_inventory(&[(
        "inline.yaml",
        "assets:\n  - ip: 10.10.10.10\n    name: plc-1\n    type: plc\n    safe_limits:\n      - unit: 1\n        register: 1\n        name: level setpoint\n        min: 700\n        max: 800\n",
    )])
    .unwrap();
    let baseline = learn(&plant_values(0.0, 2.0, |_| 750.0));
    let mut detector =
        ProcessValueDetector::new(Some(baseline)).with_inventory(Arc::new(inventory));
    let mut findings = Vec::new();
    detector.observe_values(
        &values_event(3.0 * DAY, "WRITE_SINGLE_REGISTER", 1, "950"),
        &mut findings,
    );
    let limits: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == "outside_safe_limits")
        .collect();
    assert_eq!(limits.len(), 1, "{findings:#?}");
    assert_eq!(limits[0].severity, Severity::Critical);
    assert!(limits[0].reasons[0].observed.contains("wrote 950"));
    assert!(limits[0].reasons[0].baseline.contains("700 to 800"));
    assert!(
        limits[0]
            .reasons
            .iter()
            .any(|r| *r.observed == format!("written by {HMI}"))
    );
    // A write is also outside the training range.
    assert!(findings.iter().any(|f| f.rule == "out_of_range"));
    // Back inside the limits, and still outside the range (reported once per excursion):
    // nothing new.
    findings.clear();
    detector.observe_values(
        &values_event(3.0 * DAY + 1.0, "WRITE_SINGLE_REGISTER", 1, "760"),
        &mut findings,
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_split_run_equals_one_run() {
    let baseline = learn(&plant_values(0.0, 14.0, |_| 750.0));
    let drift = |elapsed: f64| 750.0 + 80.0 * elapsed / (7.0 * DAY);
    let events = plant_values(14.0 * DAY, 3.0, drift);
    let mut whole = ProcessValueDetector::new(Some(baseline.clone()));
    let expected = score(&mut whole, &events);
    assert!(!expected.is_empty());
    for cut in [1, events.len() / 3, events.len() - 1] {
        let mut first = ProcessValueDetector::new(Some(baseline.clone()));
        let mut found = score(&mut first, &events[..cut]);
        let state = serde_json::to_string(&first.checkpoint()).unwrap();
        let mut second = ProcessValueDetector::new(Some(baseline.clone()));
        second
            .restore(serde_json::from_str(&state).unwrap())
            .unwrap();
        found.extend(score(&mut second, &events[cut..]));
        assert_eq!(found, expected, "cut at {cut}");
    }
}

#[test]
fn a_bad_checkpoint_is_refused_with_a_message() {
    let mut detector = ProcessValueDetector::new(None);
    let error = detector
        .restore(serde_json::json!({"registers": 3}))
        .unwrap_err();
    assert!(error.contains("invalid type"), "{error}");
    assert!(detector.restore(serde_json::Value::Null).is_ok());
}

#[test]
fn values_of_old_and_new_schemas_map_to_registers() {
    let event = values_event(0.0, "READ_COILS", 8, "T,F,T");
    let EventKind::Values(values) = &event.kind else {
        unreachable!()
    };
    let pairs: Vec<_> = registers(&event, values).unwrap().collect();
    assert_eq!(
        pairs,
        vec![
            (key(8, Table::Coil), 1.0),
            (key(9, Table::Coil), 0.0),
            (key(10, Table::Coil), 1.0)
        ]
    );
    // A coil written as 0xFF00 is on; a function without a table, or garbage, gives nothing.
    let event = values_event(0.0, "WRITE_SINGLE_COIL", 3, "65280");
    let EventKind::Values(values) = &event.kind else {
        unreachable!()
    };
    assert_eq!(
        registers(&event, values).unwrap().collect::<Vec<_>>(),
        vec![(key(3, Table::Coil), 1.0)]
    );
    let event = values_event(0.0, "READ_DEVICE_IDENTIFICATION", 0, "x");
    let EventKind::Values(values) = &event.kind else {
        unreachable!()
    };
    assert!(registers(&event, values).is_none());
    let event = values_event(0.0, "READ_HOLDING_REGISTERS", 0, "1,oops,3");
    let EventKind::Values(values) = &event.kind else {
        unreachable!()
    };
    assert_eq!(registers(&event, values).unwrap().count(), 1);
}

const MASTER: &str = "10.10.20.5";
const OUTSTATION: &str = "10.10.20.8";

/// A `dnp3_control` line as the 2021 ICSNPP schema gives it (no `is_orig`).
#[allow(clippy::too_many_arguments)]
fn control_event<'a>(
    ts: f64,
    function: &'a str,
    index: u64,
    trip: &'a str,
    operation: &'a str,
    on_time: u64,
    direction: Direction,
) -> FlowEvent<'a> {
    FlowEvent {
        ts,
        uid: "CCONTROL",
        orig_p: 55355,
        ot: true,
        edge: EdgeRef {
            orig_h: MASTER.parse().unwrap(),
            resp_h: OUTSTATION.parse().unwrap(),
            resp_p: 20000,
            proto: Proto::Tcp,
            service: "dnp3",
        },
        kind: EventKind::Control(crate::features::ControlFields {
            function,
            block_type: "Control Relay Output Block",
            index: Some(index),
            trip_control_code: trip,
            operation_type: operation,
            execute_count: Some(1),
            on_time: Some(on_time),
            off_time: Some(0),
            status_code: "",
            direction,
        }),
    }
}

/// Training as in ICSNPP's sample: SELECT then OPERATE of points 0..=13, even points closed with
/// a 500 ms pulse off, odd points tripped with a 500 ms pulse on; each echoed by a RESPONSE.
fn control_training() -> Vec<FlowEvent<'static>> {
    let mut events = Vec::new();
    for round in 0..5 {
        for index in 0..14u64 {
            let (trip, operation) = if index % 2 == 0 {
                ("Close", "Pulse Off")
            } else {
                ("Trip", "Pulse On")
            };
            let ts = f64::from(round) * 3600.0 + index as f64;
            for function in ["SELECT", "OPERATE"] {
                events.push(control_event(
                    ts,
                    function,
                    index,
                    trip,
                    operation,
                    500,
                    Direction::Request,
                ));
                events.push(control_event(
                    ts + 0.01,
                    "RESPONSE",
                    index,
                    trip,
                    operation,
                    500,
                    Direction::Response,
                ));
            }
        }
    }
    events
}

fn control_detector() -> (ValueBaseline, ProcessValueDetector) {
    let mut learner = Box::new(Learner::default());
    for event in control_training() {
        learner.observe_values(&event);
    }
    let baseline: ValueBaseline = postcard::from_bytes(&learner.finish().unwrap().body).unwrap();
    (baseline.clone(), ProcessValueDetector::new(Some(baseline)))
}

fn judge(detector: &mut ProcessValueDetector, events: &[FlowEvent<'_>]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for event in events {
        detector.observe_values(event, &mut findings);
    }
    findings
}

#[test]
fn dnp3_controls_are_learnt_per_point() {
    let (baseline, _) = control_detector();
    assert_eq!(baseline.controls.len(), 14, "{:#?}", baseline.controls);
    let (key, point) = &baseline.controls[3];
    assert_eq!(
        *key,
        PointKey {
            device: OUTSTATION.parse().unwrap(),
            block: Block::Crob,
            index: 3
        }
    );
    // Echoes are not commands: five rounds of SELECT and OPERATE.
    assert_eq!(point.commands, 10);
    assert_eq!(point.functions, vec!["OPERATE", "SELECT"]);
    assert_eq!(
        point.codes,
        vec![("Trip".to_string(), "Pulse On".to_string())]
    );
    assert_eq!(point.on_time, Some((500, 500)));
    assert_eq!(point.off_time, Some((0, 0)));
}

#[test]
fn dnp3_controls_as_in_training_give_no_finding() {
    let (_, mut detector) = control_detector();
    let held_out: Vec<_> = control_training()
        .into_iter()
        .map(|event| FlowEvent {
            ts: event.ts + 86_400.0,
            ..event
        })
        .collect();
    assert!(judge(&mut detector, &held_out).is_empty());
}

#[test]
fn dnp3_controls_outside_their_baseline_are_findings_with_reasons() {
    let (_, mut detector) = control_detector();
    let ts = 86_400.0;
    let cases = [
        // A point never commanded.
        (
            control_event(
                ts,
                "SELECT",
                14,
                "Close",
                "Pulse Off",
                500,
                Direction::Request,
            ),
            "new_control_point",
            Severity::High,
            "never commanded in training; control relay output block points commanded on 10.10.20.8: 0-13",
            vec!["T0855", "T0831"],
        ),
        // A function never used on a known point.
        (
            control_event(
                ts,
                "DIRECT_OPERATE",
                8,
                "Close",
                "Pulse Off",
                500,
                Direction::Request,
            ),
            "new_control_code",
            Severity::High,
            "OPERATE, SELECT in 10 training commands of this point",
            vec!["T0855", "T0831"],
        ),
        // A trip where the point was only ever closed.
        (
            control_event(
                ts,
                "OPERATE",
                8,
                "Trip",
                "Pulse On",
                500,
                Direction::Request,
            ),
            "new_control_code",
            Severity::High,
            "Close / Pulse Off in training",
            vec!["T0855", "T0831"],
        ),
        // A pulse ten times longer.
        (
            control_event(
                ts,
                "OPERATE",
                8,
                "Close",
                "Pulse Off",
                5000,
                Direction::Request,
            ),
            "control_timing",
            Severity::Medium,
            "500 to 500 ms in 10 training commands of this point",
            vec!["T0836", "T0855"],
        ),
    ];
    for (event, rule, severity, baseline, techniques) in cases {
        let findings = judge(&mut detector, &[event]);
        assert_eq!(findings.len(), 1, "{rule}: {findings:#?}");
        let finding = &findings[0];
        assert_eq!((finding.rule, finding.severity), (rule, severity));
        assert!(
            finding
                .reasons
                .iter()
                .any(|reason| &*reason.baseline == baseline),
            "{rule}: {:#?}",
            finding.reasons
        );
        assert_eq!(finding.techniques, techniques);
        assert_eq!(finding.subject.src, Some(MASTER.parse().unwrap()));
        assert_eq!(finding.subject.dst, Some(OUTSTATION.parse().unwrap()));
    }
    // The outstation's echo of an unusual command repeats it and is not judged again.
    let echo = control_event(
        ts,
        "RESPONSE",
        14,
        "Close",
        "Pulse Off",
        500,
        Direction::Response,
    );
    assert!(judge(&mut detector, &[echo]).is_empty());
    // A model trained without any DNP3 control judges every command as new.
    let mut untrained = ProcessValueDetector::new(Some(ValueBaseline::default()));
    let findings = judge(
        &mut untrained,
        &[control_event(
            ts,
            "OPERATE",
            1,
            "Trip",
            "Pulse On",
            500,
            Direction::Request,
        )],
    );
    assert_eq!(findings[0].rule, "new_control_point");
    assert!(
        findings[0].reasons[0]
            .baseline
            .contains("no control relay output block of 10.10.20.8"),
        "{findings:#?}"
    );
}
