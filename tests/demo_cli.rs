//! `otsentry demo` through the real binary, on a reduced plant: every attack scenario is caught.

mod plant_logs;
mod shared_data;

use plant_logs::*;

#[test]
fn a_reduced_demo_catches_the_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = otsentry(&[
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--days",
        "4",
        "--plcs",
        "2",
        "--attack-days",
        "1",
        "--poll-ms",
        "20000",
        "--n-estimators",
        "50",
        "--drift-polls-per-day",
        "600",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let attacks = report["attacks"].as_array().unwrap();
    assert!(!attacks.is_empty());
    let scenarios: std::collections::BTreeSet<_> = attacks
        .iter()
        .map(|attack| attack["scenario"].as_str().unwrap())
        .collect();
    // The attacks the vocabulary must catch whatever the plant's size.
    for scenario in [
        "new_source",
        "network_scan",
        "write_from_reader",
        "dnp3_cold_restart",
        "exception_enumeration",
        "forged_write",
    ] {
        assert!(scenarios.contains(scenario), "{scenario} not simulated");
    }
    for attack in attacks {
        assert_eq!(attack["caught"], true, "missed: {attack:#}");
        assert!(!attack["first_reasons"].as_array().unwrap().is_empty());
    }
    assert!(out.join("plant.model").is_file());
    assert!(out.join("logs/labels.jsonl").is_file());
    assert!(report["rows_scored"].as_u64().unwrap() > 0);
    assert!(!report["days"].as_array().unwrap().is_empty());
    // The trained model's certification: the drift test and every variant, with the verdict.
    let certification = &report["certification"];
    assert_eq!(
        certification["model_sha256"], report["model_sha256"],
        "{certification:#}"
    );
    // The drift of record starts at the edge's own median; the seed's fixed drift runs beside
    // it and, on a plant whose polls are far from 250 bytes, is inconclusive, not counted.
    let drift = &certification["drift"];
    assert_eq!(drift["config"]["polls_per_day"], 600);
    assert_eq!(drift["test"], "slow_drift_from_edge_median", "{drift:#}");
    assert_eq!(drift["config"]["from_edge_median"], true);
    assert_eq!(
        drift["combined"]["initial_value"], drift["poll"]["typical_orig_bytes"],
        "{drift:#}"
    );
    assert_ne!(drift["combined"]["outcome"], "inconclusive", "{drift:#}");
    let seed = &certification["extra_drifts"][0];
    assert_eq!(seed["test"], "slow_drift", "{certification:#}");
    assert_eq!(seed["config"]["initial"], 250.0);
    assert_eq!(seed["config"]["target"], 450.0);
    assert_eq!(seed["combined"]["outcome"], "inconclusive", "{seed:#}");
    assert_eq!(
        certification["inconclusive"],
        serde_json::json!(["slow_drift"])
    );
    let failed = certification["failed"].as_array().unwrap();
    assert!(!failed.contains(&serde_json::json!("slow_drift")));
    assert_eq!(
        failed.contains(&serde_json::json!("slow_drift_from_edge_median")),
        drift["combined"]["outcome"] == "fail"
    );
    let variants = certification["variants"].as_array().unwrap();
    for test in [
        "register_drift",
        "new_source_502",
        "rtu_pivot",
        "timing_mimicry",
    ] {
        assert!(
            variants.iter().any(|variant| variant["test"] == test),
            "{test} missing: {certification:#}"
        );
    }
    assert_eq!(
        certification["passed"],
        certification["failed"].as_array().unwrap().is_empty()
    );
}

#[test]
fn the_demo_prints_tables_and_next_steps() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let output = otsentry(&[
        "demo",
        "--out",
        out.to_str().unwrap(),
        "--days",
        "2",
        "--plcs",
        "1",
        "--attack-days",
        "1",
        "--poll-ms",
        "60000",
        "--n-estimators",
        "20",
        "--drift-polls-per-day",
        "600",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("attacks caught"), "{text}");
    assert!(text.contains("false positive rows"), "{text}");
    assert!(text.contains("otsentry model show"), "{text}");
    assert!(
        text.contains("Adversarial certification of the trained model"),
        "{text}"
    );
    assert!(text.contains("timing_mimicry"), "{text}");
    // Both drift rows, with the edge each ran on, and the seed's honest outcome with its reason.
    // A day of minute polls keeps no edge's medians: the seed's drift alone, with its edge.
    assert!(
        text.contains("slow_drift\n") || text.contains("slow_drift "),
        "{text}"
    );
    assert!(text.contains(":502 (modbus)"), "{text}");
    assert!(text.contains("certification of "), "{text}");
    // The poisoning check is one command away.
    assert!(text.contains("--poisoning-check"), "{text}");
}
