//! `otsentry score` through the real binary: the new-source guarantee, output formats, threshold
//! semantics and errors.

mod plant_logs;
mod shared_data;

use std::path::{Path, PathBuf};

use plant_logs::*;

fn trained(dir: &Path) -> PathBuf {
    let logs = dir.join("baseline");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model = dir.join("plant.model");
    train(&logs, &model, &[]);
    model
}

/// The day after the baseline: ordinary polling, and a new host 10.66.6.6 that polls each of
/// `plcs` once (the first at 12:00:07); the logs' directory.
fn next_day_with_a_new_source(dir: &Path, plcs: &[&'static str]) -> PathBuf {
    let mut polls = plant(START + 15.0 * 86_400.0, 1.0, 1800.0);
    for (n, &resp) in plcs.iter().enumerate() {
        polls.push(Poll {
            ts: START + 15.5 * 86_400.0 + 7.0 + n as f64,
            uid: format!("CNEWSOURCE{:04}", n + 1),
            orig: "10.66.6.6",
            resp,
            func: "READ_HOLDING_REGISTERS",
            orig_bytes: 12,
        });
    }
    polls.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    let day = dir.join("day16");
    write_logs(&day, &polls);
    day
}

fn json_rows(output: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_new_source_polling_a_plc_on_502_is_flagged_on_its_first_record() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let day = next_day_with_a_new_source(dir.path(), &["10.0.1.2"]);
    let output = otsentry(&[
        "score",
        "--log",
        day.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let alerts = json_rows(&output);
    let new_source: Vec<_> = alerts
        .iter()
        .filter(|alert| alert["source"]["ip"] == "10.66.6.6")
        .collect();
    // Its conn.log record opens an alert at once; its modbus.log request (another log stream,
    // read from another file) is the same fact and joins that alert rather than opening another.
    assert!(!new_source.is_empty(), "{alerts:#?}");
    let opened = new_source[0];
    assert_eq!(opened["event"]["kind"], "alert");
    assert_eq!(opened["event"]["action"], "alert_opened");
    assert_eq!(opened["rule"]["id"], "novelty.new_source");
    assert_eq!(opened["otsentry"]["severity"], "high");
    assert_eq!(opened["zeek"]["session_id"], "CNEWSOURCE0001");
    assert_eq!(opened["destination"]["port"], 502);
    assert_eq!(opened["threat"]["technique"]["id"][0], "T0848");
    assert!(
        opened["otsentry"]["reasons"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("new source 10.66.6.6"),
        "{opened}"
    );
    let ids: std::collections::BTreeSet<String> = new_source
        .iter()
        .map(|alert| alert["event"]["id"].to_string())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "one alert across both log streams: {new_source:#?}"
    );
    assert_eq!(
        new_source
            .iter()
            .filter(|alert| alert["event"]["action"] == "alert_opened")
            .count(),
        1,
        "{new_source:#?}"
    );
    // The ordinary polling is (nearly) all quiet.
    assert!(alerts.len() < 10, "{} alert events", alerts.len());
}

#[test]
fn a_flagged_row_prints_the_score_every_row_gets_with_all() {
    // Without --all only rows under the forest's threshold are walked through every tree; a row
    // another detector flags gets its score walked alone, and must print the same bits. A
    // threshold far down makes the new source's rows ordinary to the forest (otherwise it flags
    // them too), and the cell cache is off: this small plant's rows repeat, and the cache would
    // answer them exactly.
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let day = next_day_with_a_new_source(dir.path(), &["10.0.1.2", "10.0.1.3"]);
    let run = |all: bool| {
        let mut args = vec![
            "score",
            "--log",
            day.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--format",
            "rows",
            "--threshold",
            "-0.9",
        ];
        if all {
            args.push("--all");
        }
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
            .args(&args)
            .env("OTSENTRY_FOREST_CACHE", "off")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", stderr(&output));
        json_rows(&output)
    };
    let flagged = run(false);
    let every: Vec<_> = run(true)
        .into_iter()
        .filter(|row| row["flagged"] == true)
        .collect();
    assert_eq!(flagged, every);
    assert!(
        flagged.iter().any(|row| !row["findings"]
            .as_array()
            .unwrap()
            .contains(&"forest.outlier".into())),
        "no row flagged by a detector other than the forest: {flagged:#?}"
    );
}

#[test]
fn every_row_is_printed_with_all_and_the_threshold_compares_the_decision_value() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let logs = dir.path().join("baseline");
    let run = |threshold: &str| {
        let output = otsentry(&[
            "score",
            "--log",
            logs.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--format",
            "rows",
            "--all",
            "--threshold",
            threshold,
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        json_rows(&output)
    };
    let rows = run("0");
    assert_eq!(rows.len(), 2 * 15 * 48 * 3);
    for row in &rows {
        let decision = row["anomaly_score"].as_f64().unwrap();
        let score = row["score_samples"].as_f64().unwrap();
        assert!((-1.0..=0.0).contains(&score));
        let outlier = row["findings"]
            .as_array()
            .unwrap()
            .contains(&"forest.outlier".into());
        assert_eq!(outlier, decision < 0.0, "{row}");
    }
    // Raw score_samples are all far below -0.15: used as a decision threshold, -0.15 would
    // flag nearly everything; as a decision-value threshold it flags very little.
    assert!(
        rows.iter()
            .all(|row| row["score_samples"].as_f64().unwrap() < -0.15)
    );
    let flagged_at = |threshold: &str| {
        run(threshold)
            .iter()
            .filter(|row| row["flagged"] == true)
            .count()
    };
    assert!(flagged_at("-0.15") <= flagged_at("0"));
    assert_eq!(flagged_at("1"), rows.len());
}

#[test]
fn row_csv_and_alert_table_formats() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let logs = dir.path().join("baseline");
    let csv = otsentry(&[
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--format",
        "rows-csv",
        "--all",
    ]);
    let text = stdout(&csv);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "ts,uid,id.orig_h,id.resp_h,id.resp_p,service,record,anomaly_score,score_samples,flagged,findings,reasons"
    );
    assert_eq!(lines.count(), 2 * 15 * 48 * 3);
    let table = otsentry(&[
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(table.status.success());
    assert!(stderr(&table).contains(&format!("scored {} rows", 2 * 15 * 48 * 3)));
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 1.0, 3600.0));
    let output = otsentry(&[
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        dir.path().join("nowhere.model").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains("otsentry train"), "{message}");
}
