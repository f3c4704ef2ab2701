//! The protocol-content detectors through the real binary: the function-code and process-value
//! detectors trained on simulated plant days and scored on a held-out benign day and on a
//! seven-day setpoint drift, and the function-code detector on a real capture of a Modbus
//! function-code and address scan.

mod plant_logs;
mod shared_data;

use std::path::{Path, PathBuf};

use plant_logs::*;

const DAY: f64 = 86_400.0;

/// Alerts opened, as ECS JSON.
fn opened(output: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(output.status.success(), "{}", stderr(output));
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|alert| alert["event"]["action"] == "alert_opened")
        .collect()
}

fn rule(alert: &serde_json::Value) -> &str {
    alert["rule"]["id"].as_str().unwrap_or("")
}

/// Links the simulator's daily files whose date is in `days` (or the undated current files)
/// into `dir`.
fn select(sim: &Path, dir: &Path, days: &[u32], current: bool) {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(sim).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".log") {
            continue;
        }
        let wanted = match name
            .split('.')
            .nth(1)
            .filter(|part| part.starts_with("2026-"))
        {
            Some(date) => days
                .iter()
                .any(|day| date.starts_with(&format!("2026-10-{day:02}"))),
            None => current,
        };
        if wanted {
            std::fs::copy(&path, dir.join(&name)).unwrap();
        }
    }
}

fn score(logs: &Path, model: &Path) -> Vec<serde_json::Value> {
    opened(&otsentry(&[
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--format",
        "json",
    ]))
}

#[test]
fn a_seven_day_setpoint_drift_is_caught_early_and_a_benign_day_is_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    // 21 days of a two-PLC plant: 13 days to train on, day 14 held out, a seven-day drift
    // from day 15.
    let output = otsentry(&[
        "simulate",
        "--out",
        sim.to_str().unwrap(),
        "--days",
        "21",
        "--plcs",
        "2",
        "--attack-days",
        "7",
        "--attacks",
        "setpoint_drift",
        "--poll-ms",
        "20000",
        "--rotate",
        "daily",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let label: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(sim.join("labels.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let attack_start = label["start_ts"].as_f64().unwrap();
    let attack_end = label["end_ts"].as_f64().unwrap();
    assert!(attack_end - attack_start > 6.0 * DAY, "{label}");

    let (train_dir, held, attack) = (
        dir.path().join("train"),
        dir.path().join("held"),
        dir.path().join("attack"),
    );
    select(&sim, &train_dir, &(1..=13).collect::<Vec<_>>(), false);
    select(&sim, &held, &[14], false);
    select(&sim, &attack, &(15..=21).collect::<Vec<_>>(), true);
    let model: PathBuf = dir.path().join("plant.model");
    let output = train(&train_dir, &model, &["--allow-short-baseline"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let benign = score(&held, &model);
    let protocol: Vec<_> = benign
        .iter()
        .filter(|alert| {
            rule(alert).starts_with("function_code") || rule(alert).starts_with("process_value")
        })
        .collect();
    assert!(protocol.is_empty(), "benign day: {protocol:#?}");

    let alerts = score(&attack, &model);
    let drift = alerts
        .iter()
        .find(|alert| rule(alert) == "process_value.drift")
        .unwrap_or_else(|| panic!("the drift is not caught: {alerts:#?}"));
    let first_seen = drift["otsentry"]["first_seen"].as_str().unwrap();
    let first_ts =
        time::OffsetDateTime::parse(first_seen, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp() as f64;
    assert!(
        first_ts - attack_start <= 4.0 * DAY,
        "caught {:.1} days into the drift",
        (first_ts - attack_start) / DAY
    );
    assert_eq!(drift["otsentry"]["severity"], "high");
    let techniques = drift["threat"]["technique"]["id"].as_array().unwrap();
    assert!(techniques.contains(&"T0836".into()), "{drift:#}");
    let reasons = drift["otsentry"]["reasons"].to_string();
    assert!(reasons.contains("holding register 5"), "{reasons}");
    assert!(reasons.contains("training level 750.0"), "{reasons}");
}

#[test]
fn a_real_modbus_scan_answered_by_exceptions_is_a_burst() {
    let Some(real) = shared_data::shared_data("zeek-real/automayt-ICS-pcap/MODBUS") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("real.model");
    // Two other small captures are the baseline: their hosts and edges are not the scan's, so
    // the scan's edge takes the network's pooled exception rate.
    let output = otsentry(&[
        "train",
        "--log",
        real.join("MODBUS-TestDataPart1").to_str().unwrap(),
        real.join("Modbus").to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--allow-short-baseline",
        "--n-estimators",
        "50",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let alerts = score(&real.join("MODBUS-TestDataPart2"), &model);
    let burst = alerts
        .iter()
        .find(|alert| rule(alert) == "function_code.exception_burst")
        .unwrap_or_else(|| panic!("no burst: {alerts:#?}"));
    assert_eq!(burst["otsentry"]["severity"], "high");
    let techniques = burst["threat"]["technique"]["id"].as_array().unwrap();
    assert!(techniques.contains(&"T0861".into()), "{burst:#}");
    let reasons = burst["otsentry"]["reasons"].to_string();
    assert!(reasons.contains("ILLEGAL_DATA_ADDRESS"), "{reasons}");
}
