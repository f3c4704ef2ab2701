//! The realistic certification variants through the real binary on small trained models: a
//! simulated plant's model is caught by every scenario within one polling cycle (the timing
//! mimicry by the novelty of its source) and has its register drift judged by the process-value
//! detector; a model that learnt no register values fails that variant and so the whole
//! certification; the seed's fixed drift on a plant whose polls are far from 250 bytes is
//! inconclusive and the verdict says what to run instead; a model trained on a window the
//! simulator's persistent attacker was in from day 1 is caught by the baseline diff against
//! the clean production model, and reported as such.

mod plant_logs;

use std::path::{Path, PathBuf};

use plant_logs::*;
use serde_json::Value;

/// The small plant every test simulates: two days, one PLC, polled every minute.
const SMALL_PLANT: [&str; 6] = ["--days", "2", "--plcs", "1", "--poll-ms", "60000"];

/// A simulated two-day plant (one PLC, no attacks) and a model trained on all of it.
fn simulated_model(dir: &Path) -> PathBuf {
    let logs = dir.join("sim");
    simulate(&logs, &[&SMALL_PLANT[..], &["--attacks", "none"]].concat());
    let model = dir.join("sim.otm");
    train(&logs, &model, &["--allow-short-baseline"]);
    model
}

/// `certify MODEL` with a short drift test, as JSON.
fn certify(model: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "certify",
        model.to_str().unwrap(),
        "--drift-days",
        "1",
        "--polls-per-day",
        "600",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = otsentry(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

fn variant<'a>(report: &'a Value, test: &str) -> &'a Value {
    report["variants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|variant| variant["test"] == test)
        .unwrap_or_else(|| panic!("no {test} variant in {report:#}"))
}

fn failed(report: &Value) -> Vec<&str> {
    report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|test| test.as_str().unwrap())
        .collect()
}

#[test]
fn every_scenario_is_caught_within_a_polling_cycle_and_the_verdict_counts_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let model = simulated_model(dir.path());
    let report = certify(&model, &[]);
    for test in [
        "new_source_502",
        "write_from_reader",
        "rtu_pivot",
        "network_scan",
        "timing_mimicry",
    ] {
        let result = variant(&report, test);
        assert_eq!(result["passed"], true, "{result:#}");
        assert!(result["caught_by"].is_string(), "{result:#}");
        assert!(result["caught"].as_u64().unwrap() > 0, "{result:#}");
        assert!(
            result["caught"].as_u64() <= result["total"].as_u64(),
            "{result:#}"
        );
        assert!(
            result["requirement"]
                .as_str()
                .unwrap()
                .contains("within one polling cycle"),
            "{result:#}"
        );
    }
    // The mimic polls at the edge's own rhythm with its own functions: only its source is new.
    let mimicry = variant(&report, "timing_mimicry");
    let detectors: Vec<&str> = mimicry["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(detectors.contains(&"novelty"), "{mimicry:#}");
    assert!(
        mimicry["requirement"]
            .as_str()
            .unwrap()
            .contains("caught by novelty"),
        "{mimicry:#}"
    );
    assert_eq!(
        variant(&report, "write_from_reader")["caught_by"]
            .as_str()
            .unwrap()
            .split('.')
            .next(),
        Some("function_code"),
        "{report:#}"
    );

    // The register drift runs on a register the model learnt, against the process-value
    // detector, with a control day.
    let register = variant(&report, "register_drift");
    assert!(
        register["injected"].as_str().unwrap().contains("+10 %"),
        "{register:#}"
    );
    assert_eq!(register["total"], 7 * 1440, "{register:#}");
    assert_eq!(
        register["passed"],
        register["caught"].as_u64().unwrap() > 0
            && register["first_detection_secs"].as_f64().unwrap() < 5.0 * 86_400.0,
        "{register:#}"
    );

    // The verdict: every failing test is named, and a pass needs none.
    let failed = failed(&report);
    assert_eq!(
        report["passed"],
        failed.is_empty() && report["inconclusive"].as_array().unwrap().is_empty(),
        "{report:#}"
    );
    // The seed's 250-byte drift on a plant whose polls are 24 bytes: its control day is
    // rejected, so the test is inconclusive (neither failed nor passed) and the model is not
    // certified, with what to run instead.
    let drift = &report["drift"];
    assert_eq!(drift["combined"]["outcome"], "inconclusive", "{drift:#}");
    assert_eq!(drift["combined"]["meets_requirement"], false, "{drift:#}");
    assert!(
        drift["inconclusive"]
            .as_str()
            .unwrap()
            .contains("--from-edge-median"),
        "{drift:#}"
    );
    assert!(!failed.contains(&"slow_drift"), "{report:#}");
    assert_eq!(report["inconclusive"], serde_json::json!(["slow_drift"]));
    assert_eq!(report["passed"], false, "{report:#}");
    for result in report["variants"].as_array().unwrap() {
        assert_eq!(
            failed.contains(&result["test"].as_str().unwrap()),
            result["passed"] == false,
            "{result:#}"
        );
    }

    // The table: one row per test, and the rule.
    let output = otsentry(&[
        "certify",
        model.to_str().unwrap(),
        "--drift-days",
        "1",
        "--polls-per-day",
        "600",
    ]);
    let text = stdout(&output);
    for needle in [
        "caught by",
        "caught / total",
        "first detection",
        "requirement",
        "slow_drift",
        "register_drift",
        "timing_mimicry",
        "10.10.3.20 -> 10.10.10.10:502 (modbus)",
        "INCONCLUSIVE",
        "NOT CERTIFIED: no conclusive slow-drift test",
        "otsentry certify MODEL --from-edge-median",
        "A model passes only if every conclusive slow-drift test (at least one), every canary and every variant pass",
    ] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
}

#[test]
fn a_model_that_misses_a_variant_does_not_pass() {
    // Trained on conn.log and modbus.log only: no register values to drift.
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 3.0, 300.0));
    let model = dir.path().join("m.otm");
    train(&logs, &model, &["--allow-short-baseline"]);
    let report = certify(&model, &[]);
    let register = variant(&report, "register_drift");
    assert_eq!(register["passed"], false, "{register:#}");
    assert!(register["caught_by"].is_null());
    assert!(
        register["details"][0]
            .as_str()
            .unwrap()
            .contains("no register value"),
        "{register:#}"
    );
    assert!(failed(&report).contains(&"register_drift"), "{report:#}");
    assert_eq!(report["passed"], false);
    // The other variants still ran on the model's own edges.
    assert_eq!(variant(&report, "new_source_502")["passed"], true);
}

/// The alerts `otsentry score` raises on `logs` with `model` whose destination is `ip`, by rule.
fn alerts_on(logs: &Path, model: &Path, ip: &str) -> Vec<String> {
    let output = otsentry(&[
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|alert| alert["destination"]["ip"] == ip)
        .map(|alert| alert["rule"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_training_window_poisoned_from_day_one_is_caught_by_the_baseline_diff() {
    let dir = tempfile::tempdir().unwrap();
    // The same plant (same seed) twice: clean, and with the persistent beacon, an attacker
    // present from the first hour to the end, so no window of the run is free of it.
    let clean_logs = dir.path().join("clean");
    simulate(
        &clean_logs,
        &[&SMALL_PLANT[..], &["--attacks", "none"]].concat(),
    );
    let poisoned_logs = dir.path().join("poisoned");
    let labels = simulate(
        &poisoned_logs,
        &[&SMALL_PLANT[..], &["--attacks", "persistent_beacon"]].concat(),
    );
    let beacon = &labels[0];
    assert_eq!(beacon["scenario"], "persistent_beacon", "{beacon}");
    assert!(
        beacon["start"]
            .as_str()
            .unwrap()
            .starts_with("2026-10-01T00:"),
        "{beacon}"
    );
    assert_eq!(beacon["end"], "2026-10-03T00:00:00Z", "{beacon}");
    // About hourly over the two days.
    let beacons = beacon["uids"].as_array().unwrap().len();
    assert!((44..=52).contains(&beacons), "{beacon}");
    let (attacker, target) = (
        beacon["hosts"][0].as_str().unwrap(),
        beacon["hosts"][1].as_str().unwrap(),
    );

    let clean = dir.path().join("clean.otm");
    train(&clean_logs, &clean, &["--allow-short-baseline"]);
    let poisoned = dir.path().join("poisoned.otm");
    train(&poisoned_logs, &poisoned, &["--allow-short-baseline"]);

    // The poisoned model learnt the beacon as normal: the clean one alerts on it, it does not.
    let by_clean = alerts_on(&poisoned_logs, &clean, target);
    assert!(
        by_clean.iter().any(|rule| rule.starts_with("novelty.")),
        "{by_clean:?}"
    );
    assert_eq!(
        alerts_on(&poisoned_logs, &poisoned, target),
        Vec::<String>::new()
    );

    let report = certify(&poisoned, &["--poisoning-check", clean.to_str().unwrap()]);
    let poisoning = variant(&report, "poisoning");
    assert_eq!(poisoning["caught_by"], "baseline_diff", "{poisoning:#}");
    let details: Vec<&str> = poisoning["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    // Exactly the attacker: the benign traffic of both runs is the same.
    assert_eq!(
        details,
        [
            format!("learnt edge {attacker} -> {target}:4444/tcp -"),
            format!("learnt host {target}"),
        ],
        "{poisoning:#}"
    );
    assert_eq!(poisoning["caught"], 2, "{poisoning:#}");
    // No canary forgotten: the diff items block promotion, not certification.
    assert_eq!(poisoning["passed"], true, "{poisoning:#}");

    // The table says it too.
    let output = otsentry(&[
        "certify",
        poisoned.to_str().unwrap(),
        "--drift-days",
        "1",
        "--polls-per-day",
        "600",
        "--poisoning-check",
        clean.to_str().unwrap(),
    ]);
    let text = stdout(&output);
    assert!(text.contains("baseline_diff"), "{text}");
    assert!(
        text.contains(&format!(
            "poisoning: learnt edge {attacker} -> {target}:4444/tcp"
        )),
        "{text}"
    );

    // The clean model against itself learnt nothing.
    let itself = certify(&clean, &["--poisoning-check", clean.to_str().unwrap()]);
    let poisoning = variant(&itself, "poisoning");
    assert!(poisoning["caught_by"].is_null(), "{poisoning:#}");
    assert_eq!(poisoning["caught"], 0);
}

#[test]
fn bad_variant_options_are_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 1.0, 300.0));
    let model = dir.path().join("m.otm");
    train(&logs, &model, &["--allow-short-baseline"]);
    let model = model.to_str().unwrap();

    let zero = otsentry(&["certify", model, "--register-change", "0"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        stderr(&zero).contains("non-zero register change"),
        "{}",
        stderr(&zero)
    );
    let missing = dir.path().join("missing.otm");
    let absent = otsentry(&[
        "certify",
        model,
        "--poisoning-check",
        missing.to_str().unwrap(),
    ]);
    assert_eq!(absent.status.code(), Some(2));
    assert!(
        stderr(&absent).contains("cannot load production model"),
        "{}",
        stderr(&absent)
    );
    let records = otsentry(&["certify", model, "--scenario-records", "0"]);
    assert_eq!(records.status.code(), Some(2));
    assert!(
        stderr(&records).contains("--scenario-records"),
        "{}",
        stderr(&records)
    );
}
