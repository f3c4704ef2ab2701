//! Unit tests of the function-code detector: its rules on a trained vocabulary and baseline,
//! and its checkpoint.

use super::*;
use crate::detect::baseline::Learner as _;
use crate::features::intern::DEFAULT_CAP;
use crate::features::{EdgeRef, Extractor, Proto, RequestFields, Vocab};

const HMI: &str = "10.10.2.10";
const EWS: &str = "10.10.3.30";
const PLC: &str = "10.10.10.10";

fn request<'a>(
    ts: f64,
    orig: &str,
    function: &'a str,
    error: &'a str,
    direction: Direction,
) -> FlowEvent<'a> {
    FlowEvent {
        ts,
        uid: "CFUNC",
        orig_p: 49152,
        ot: true,
        edge: EdgeRef {
            orig_h: orig.parse().unwrap(),
            resp_h: PLC.parse().unwrap(),
            resp_p: 502,
            proto: Proto::Tcp,
            service: "modbus",
        },
        kind: EventKind::Request(RequestFields {
            function,
            is_write: crate::features::functions::is_write(function),
            is_error: !error.is_empty(),
            error,
            direction,
        }),
    }
}

/// Training: the HMI reads (one answer in a thousand an exception), the engineering workstation
/// reads and writes registers.
fn training() -> Vec<FlowEvent<'static>> {
    let mut events = Vec::new();
    for step in 0..4000 {
        let ts = step as f64;
        let error = if step % 1000 == 999 {
            "ILLEGAL_DATA_ADDRESS"
        } else {
            ""
        };
        events.push(request(
            ts,
            HMI,
            "READ_HOLDING_REGISTERS",
            "",
            Direction::Request,
        ));
        events.push(request(
            ts,
            HMI,
            "READ_HOLDING_REGISTERS",
            error,
            Direction::Response,
        ));
        if step % 100 == 0 {
            events.push(request(
                ts,
                EWS,
                "WRITE_MULTIPLE_REGISTERS",
                "",
                Direction::Request,
            ));
            events.push(request(ts, EWS, "READ_COILS", "", Direction::Request));
        }
    }
    events
}

struct Trained {
    vocab: Vocab,
    baseline: FunctionBaseline,
}

fn trained() -> Trained {
    let mut extractor = Extractor::fit(Schema::Request, DEFAULT_CAP);
    let mut learner = Box::new(Learner::default());
    for event in training() {
        let raw = extractor.push(&event).unwrap();
        learner.observe(&crate::detect::baseline::TrainingRecord {
            event: &event,
            schema: Schema::Request,
            raw: &raw,
        });
    }
    extractor.freeze();
    Trained {
        vocab: extractor.into_vocab(),
        baseline: postcard::from_bytes(&learner.finish().unwrap().body).unwrap(),
    }
}

fn run(
    trained: &Trained,
    detector: &mut FunctionCodeDetector,
    events: &[FlowEvent<'_>],
) -> Vec<Finding> {
    let mut extractor = Extractor::score(trained.vocab.clone());
    let mut findings = Vec::new();
    for event in events {
        let raw = extractor.push(event).unwrap();
        let observation = Observation {
            event,
            schema: Schema::Request,
            raw: &raw,
            vocab: extractor.vocab(),
        };
        detector.observe(&observation, &mut findings);
    }
    findings
}

#[test]
fn ordinary_polling_gives_no_finding() {
    let trained = trained();
    let mut detector = FunctionCodeDetector::new(Some(trained.baseline.clone()));
    let events: Vec<_> = training()
        .into_iter()
        .map(|event| FlowEvent {
            ts: event.ts + 10_000.0,
            ..event
        })
        .collect();
    let findings = run(&trained, &mut detector, &events);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn a_reader_that_writes_is_critical_and_new_functions_on_an_edge_are_graded() {
    let trained = trained();
    let mut detector = FunctionCodeDetector::new(Some(trained.baseline.clone()));
    let findings = run(
        &trained,
        &mut detector,
        &[
            request(5000.0, HMI, "WRITE_SINGLE_REGISTER", "", Direction::Request),
            request(
                5000.1,
                HMI,
                "WRITE_SINGLE_REGISTER",
                "",
                Direction::Response,
            ),
        ],
    );
    assert_eq!(
        findings.len(),
        1,
        "the answer repeats nothing: {findings:#?}"
    );
    let write = &findings[0];
    assert_eq!(write.rule, "new_operation");
    assert_eq!(write.severity, Severity::Critical);
    assert_eq!(write.techniques, vec!["T0855", "T0836"]);
    assert!(
        write.reasons[0]
            .observed
            .starts_with("write operation from 10.10.2.10")
    );
    assert_eq!(
        &*write.reasons[0].baseline,
        "this source only ever read in training"
    );
    assert!(
        write.reasons[1].observed.contains("WRITE_SINGLE_REGISTER"),
        "the new function is a reason too: {write:#?}"
    );

    // The workstation writes, so a new write function is only new on the edge (high), and a new
    // read is medium.
    let findings = run(
        &trained,
        &mut detector,
        &[
            request(5001.0, EWS, "WRITE_SINGLE_COIL", "", Direction::Request),
            request(
                5002.0,
                EWS,
                "READ_DEVICE_IDENTIFICATION",
                "",
                Direction::Request,
            ),
        ],
    );
    let rules: Vec<_> = findings.iter().map(|f| (f.rule, f.severity)).collect();
    assert_eq!(
        rules,
        vec![
            ("new_function", Severity::High),
            ("new_function", Severity::Medium)
        ]
    );
    assert_eq!(findings[1].techniques, vec!["T0861"]);
}

#[test]
fn an_enumeration_answered_by_exceptions_is_one_burst() {
    let trained = trained();
    let mut detector = FunctionCodeDetector::new(Some(trained.baseline.clone()));
    let mut events = Vec::new();
    for step in 0..40 {
        let ts = 6000.0 + step as f64 * 0.5;
        events.push(request(
            ts,
            HMI,
            "READ_HOLDING_REGISTERS",
            "",
            Direction::Request,
        ));
        events.push(request(
            ts + 0.01,
            HMI,
            "READ_HOLDING_REGISTERS",
            "ILLEGAL_DATA_ADDRESS",
            Direction::Response,
        ));
    }
    let findings = run(&trained, &mut detector, &events);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let burst = &findings[0];
    assert_eq!(burst.rule, "exception_burst");
    assert_eq!(burst.severity, Severity::High);
    assert!(burst.techniques.contains(&"T0861"));
    assert!(burst.reasons[0].observed.contains("ILLEGAL_DATA_ADDRESS"));
    assert!(
        burst.reasons[0]
            .baseline
            .contains("4 exceptions in 8000 records"),
        "{burst:#?}"
    );
}

/// Issue 10: a burst's alert names every exception type of its minute with its count, not only
/// the types seen before the limit was crossed.
#[test]
fn a_burst_names_every_exception_type_with_its_count() {
    let trained = trained();
    let mut detector = FunctionCodeDetector::new(Some(trained.baseline.clone()));
    let mut events = Vec::new();
    // 41 unknown addresses, then 3 unknown functions, all in the minute from 6000 s.
    for step in 0..44 {
        let ts = 6000.0 + step as f64 * 1.3;
        let error = if step < 41 {
            "ILLEGAL_DATA_ADDRESS"
        } else {
            "ILLEGAL_FUNCTION"
        };
        events.push(request(
            ts,
            HMI,
            "READ_HOLDING_REGISTERS",
            error,
            Direction::Response,
        ));
    }
    // The next minute's first record ends the window.
    events.push(request(
        6100.0,
        HMI,
        "READ_HOLDING_REGISTERS",
        "",
        Direction::Response,
    ));
    let findings = run(&trained, &mut detector, &events);
    assert_eq!(findings.len(), 2, "{findings:#?}");
    assert!(
        findings
            .iter()
            .all(|finding| finding.rule == "exception_burst")
    );
    let first = &findings[0].reasons[0].observed;
    assert!(first.contains("(ILLEGAL_DATA_ADDRESS x10)"), "{first}");
    let whole = &findings[1].reasons[0].observed;
    assert!(
        whole.contains("44 exception answers in 44 records in the whole minute (ILLEGAL_DATA_ADDRESS x41, ILLEGAL_FUNCTION x3)"),
        "{whole}"
    );
    // The summary is about the burst's record, so the alert builder joins it to the burst.
    assert_eq!(findings[1].seen, findings[0].seen);
    assert_eq!(findings[1].severity, Severity::High);

    // Through the alert builder: one alert whose reasons hold the whole minute.
    let mut builder = crate::alerts::AlertBuilder::new(600.0, "model");
    let mut alerts = Vec::new();
    for finding in findings {
        builder.add(finding, &mut alerts);
    }
    builder.finish(&mut alerts);
    let closed = alerts.last().unwrap();
    assert_eq!(alerts.len(), 2, "opened, then closed with the summary");
    assert!(
        closed
            .reasons
            .iter()
            .any(|reason| reason.observed.contains("ILLEGAL_FUNCTION x3")),
        "{closed:#?}"
    );

    // A burst with nothing after its report owes no summary.
    let mut quiet = FunctionCodeDetector::new(Some(trained.baseline.clone()));
    let mut events: Vec<_> = (0..10)
        .map(|step| {
            request(
                6000.0 + step as f64,
                HMI,
                "READ_HOLDING_REGISTERS",
                "ILLEGAL_DATA_ADDRESS",
                Direction::Response,
            )
        })
        .collect();
    events.push(request(
        6100.0,
        HMI,
        "READ_HOLDING_REGISTERS",
        "",
        Direction::Response,
    ));
    assert_eq!(run(&trained, &mut quiet, &events).len(), 1);
}

#[test]
fn exceptions_at_the_training_rate_are_no_burst() {
    let trained = trained();
    let mut detector = FunctionCodeDetector::new(Some(trained.baseline.clone()));
    // Three exceptions a minute on a busy edge: under the floor.
    let mut events = Vec::new();
    for step in 0..600 {
        let ts = 7000.0 + step as f64 * 0.1;
        let error = if step % 200 == 0 {
            "SLAVE_DEVICE_BUSY"
        } else {
            ""
        };
        events.push(request(
            ts,
            HMI,
            "READ_HOLDING_REGISTERS",
            error,
            Direction::Response,
        ));
    }
    assert!(run(&trained, &mut detector, &events).is_empty());
}

#[test]
fn without_a_baseline_only_the_vocabulary_rule_runs() {
    let trained = trained();
    let mut detector = FunctionCodeDetector::new(None);
    let findings = run(
        &trained,
        &mut detector,
        &[request(
            5000.0,
            HMI,
            "WRITE_SINGLE_REGISTER",
            "",
            Direction::Request,
        )],
    );
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "new_function");
    assert_eq!(findings[0].severity, Severity::High);
}

#[test]
fn a_split_run_equals_one_run() {
    let trained = trained();
    let mut events = Vec::new();
    for step in 0..30 {
        let ts = 6000.0 + step as f64;
        events.push(request(
            ts,
            HMI,
            "READ_HOLDING_REGISTERS",
            "ILLEGAL_DATA_ADDRESS",
            Direction::Response,
        ));
    }
    // The next minute: the burst's summary comes on this record, whatever the cut.
    events.push(request(
        6100.0,
        HMI,
        "READ_HOLDING_REGISTERS",
        "",
        Direction::Response,
    ));
    let mut whole = FunctionCodeDetector::new(Some(trained.baseline.clone()));
    let expected = run(&trained, &mut whole, &events);
    assert_eq!(
        expected.len(),
        2,
        "the burst and its summary: {expected:#?}"
    );
    for cut in [1, 5, 15, 29, 30] {
        let mut first = FunctionCodeDetector::new(Some(trained.baseline.clone()));
        let mut found = run(&trained, &mut first, &events[..cut]);
        let state = serde_json::to_string(&first.checkpoint()).unwrap();
        let mut second = FunctionCodeDetector::new(Some(trained.baseline.clone()));
        second
            .restore(serde_json::from_str(&state).unwrap())
            .unwrap();
        found.extend(run(&trained, &mut second, &events[cut..]));
        assert_eq!(found, expected, "cut at {cut}");
    }
    let error = whole
        .restore(serde_json::json!({"windows": "no"}))
        .unwrap_err();
    assert!(error.contains("invalid type"), "{error}");
}
