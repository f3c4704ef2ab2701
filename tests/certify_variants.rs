//! The realistic certification variants through the real binary on small trained models: a
//! simulated plant's model is caught by every scenario within one polling cycle (the timing
//! mimicry by the novelty of its source) and has its register drift judged by the process-value
//! detector; a model that learnt no register values fails that variant and so the whole
//! certification; a model trained on a window the attacker was in is caught by the baseline
//! diff against the clean production model, and reported as such.

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
    assert_eq!(report["passed"], failed.is_empty(), "{report:#}");
    assert_eq!(
        failed.contains(&"slow_drift"),
        report["drift"]["combined"]["meets_requirement"] == false
    );
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
        "A model passes only if the slow-drift test, every canary and every variant pass",
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

#[test]
fn a_poisoned_training_window_is_caught_by_the_baseline_diff() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("sim");
    // Two days; the attacker (a new source polling a PLC) is in the second.
    let labels = simulate(
        &logs,
        &[
            &SMALL_PLANT[..],
            &["--attack-days", "1", "--attacks", "new_source"],
        ]
        .concat(),
    );
    let attacker = labels[0]["hosts"][0].as_str().unwrap().to_string();
    let start = labels[0]["start_ts"].as_f64().unwrap().to_string();
    let clean = dir.path().join("clean.otm");
    train(
        &logs,
        &clean,
        &["--allow-short-baseline", "--until", &start],
    );
    let poisoned = dir.path().join("poisoned.otm");
    train(&logs, &poisoned, &["--allow-short-baseline"]);

    let report = certify(&poisoned, &["--poisoning-check", clean.to_str().unwrap()]);
    let poisoning = variant(&report, "poisoning");
    assert_eq!(poisoning["caught_by"], "baseline_diff", "{poisoning:#}");
    let details: Vec<&str> = poisoning["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    assert!(
        details.contains(&format!("learnt host {attacker}").as_str()),
        "{attacker} not among {details:?}"
    );
    // No canary forgotten: the diff items block promotion, not certification.
    assert_eq!(poisoning["passed"], true, "{poisoning:#}");

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
