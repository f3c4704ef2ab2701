//! The real binary certifying a model trained from real Zeek TSV files: the drift test's poll is
//! the chosen edge's own medians, the flow-shape detector catches a drift that starts at the
//! edge's median, and it flags a control poll that is no sample of the edge (so such a test is
//! inconclusive, not a pass, and says what to run instead); a model without the flow-shape baseline falls back, and says so.

mod plant_logs;

use std::path::Path;

use otsentry::model::ModelFile;
use plant_logs::*;

fn trained(dir: &Path) -> std::path::PathBuf {
    let logs = dir.join("logs");
    write_logs(&logs, &plant(START, 15.0, 300.0));
    let model = dir.join("m.otm");
    train(&logs, &model, &[]);
    model
}

fn certify(model: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "certify",
        model.to_str().unwrap(),
        "--polls-per-day",
        "2000",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = otsentry(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

fn detector<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["drift"]["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["detector"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn flow_shape_catches_a_drift_from_the_edges_own_median() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());

    // The plant's polls carry 12 to 14 bytes in 6 packets, answers 10 bytes more.
    let report = certify(&model, &["--from-edge-median"]);
    let poll = &report["drift"]["poll"];
    assert_eq!(poll["orig_h"], "10.0.0.5");
    assert_eq!(poll["orig_pkts"], 6);
    assert_eq!(poll["resp_pkts"], 4);
    assert_eq!(poll["typical_orig_bytes"].as_f64().unwrap().round(), 13.0);
    assert!(
        poll["chosen"].as_str().unwrap().contains("its own median"),
        "{poll}"
    );
    let shape = detector(&report, "flow_shape");
    let initial = shape["initial_value"].as_f64().unwrap();
    let target = shape["target_value"].as_f64().unwrap();
    assert_eq!(initial.round(), 13.0, "{shape}");
    assert!((target / initial - 450.0 / 250.0).abs() < 1e-9, "{shape}");
    assert_eq!(shape["total_polls"], 14_000);
    let rate = shape["detection_rate"].as_f64().unwrap();
    assert!(rate >= 0.90, "{shape}");
    assert!(
        shape["first_detection_day"].as_u64().unwrap() <= 5,
        "{shape}"
    );
    assert!(shape["control_rate"].as_f64().unwrap() <= 0.10, "{shape}");
    assert_eq!(shape["meets_requirement"], true, "{shape}");
    assert_eq!(shape["outcome"], "pass", "{shape}");
    assert_eq!(report["drift"]["test"], "slow_drift_from_edge_median");
    assert_eq!(report["inconclusive"], serde_json::json!([]));

    // The seed's 250 bytes are twenty times this edge's polls: the control day is no baseline
    // sample, and the detector that knows the edge rejects it rather than "detecting" a drift.
    let report = certify(&model, &["--drift-days", "2"]);
    let shape = detector(&report, "flow_shape");
    assert_eq!(shape["initial_value"], 250.0);
    assert!(shape["control_rate"].as_f64().unwrap() > 0.9, "{shape}");
    assert_eq!(shape["meets_requirement"], false, "{shape}");
    // Inconclusive, not a miss: the test says so, why, and what to run instead.
    assert_eq!(shape["outcome"], "inconclusive", "{shape}");
    assert_eq!(report["drift"]["combined"]["outcome"], "inconclusive");
    let reason = report["drift"]["inconclusive"].as_str().unwrap();
    assert!(reason.contains("flow_shape at rate"), "{reason}");
    assert!(
        reason.contains("median orig_bytes per record is 13"),
        "{reason}"
    );
    assert!(reason.contains("--from-edge-median"), "{reason}");
    assert_eq!(report["inconclusive"], serde_json::json!(["slow_drift"]));
    assert_eq!(report["passed"], false);
}

#[test]
fn a_model_without_the_flow_shape_baseline_falls_back_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let mut loaded = ModelFile::load(&model).unwrap();
    loaded
        .file
        .baselines
        .retain(|section| section.name != "flow_shape");
    loaded.file.write(&model).unwrap();

    let report = certify(&model, &["--drift-days", "1"]);
    let poll = &report["drift"]["poll"];
    assert!(
        poll["chosen"]
            .as_str()
            .unwrap()
            .contains("no flow_shape baseline"),
        "{poll}"
    );
    assert!(poll["typical_orig_bytes"].is_null(), "{poll}");
    let names: Vec<&str> = report["drift"]["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["detector"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"flow_shape"), "{names:?}");

    let output = otsentry(&["certify", model.to_str().unwrap(), "--from-edge-median"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("flow_shape baseline"),
        "{}",
        stderr(&output)
    );
}
