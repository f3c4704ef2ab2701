//! `otsentry eval` run as a user runs it: the real binary on real ODDS files copied into
//! tests/data/odds (see the README there), checking the output formats and the error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn odds_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/odds")
}

fn otsentry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(args)
        .output()
        .expect("the otsentry binary runs")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "otsentry failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8 output")
}

/// Splits `NAME auc=0.XXXX rows=N fit_ms=.. score_ms=..` into its name and key=value fields.
fn parse_line(line: &str) -> (String, Vec<(String, String)>) {
    let mut words = line.split(' ');
    let name = words.next().expect("a name").to_string();
    let fields = words
        .map(|word| {
            let (key, value) = word.split_once('=').expect("key=value");
            (key.to_string(), value.to_string())
        })
        .collect();
    (name, fields)
}

#[test]
fn prints_one_line_per_dataset() {
    let dir = odds_fixture();
    let stdout = stdout_of(&otsentry(&["eval", dir.to_str().expect("utf-8 path")]));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    let expected_rows = [("breastw", 683), ("glass", 214), ("lympho", 148)];
    for (line, (expected_name, expected_rows)) in lines.iter().zip(expected_rows) {
        let (name, fields) = parse_line(line);
        assert_eq!(name, expected_name);
        let keys: Vec<&str> = fields.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(keys, ["auc", "rows", "fit_ms", "score_ms"], "{line}");
        let auc = &fields[0].1;
        assert!(auc.starts_with("0.") || auc == "1.0000", "{line}");
        assert_eq!(auc.len(), 6, "four decimals: {line}");
        assert_eq!(fields[1].1, expected_rows.to_string());
        for (_, ms) in &fields[2..] {
            assert!(ms.parse::<f64>().expect("milliseconds") >= 0.0, "{line}");
        }
    }
    // breastw is an easy set: scikit-learn's forest reaches 0.987 on it.
    let (_, breastw) = parse_line(lines[0]);
    assert!(
        breastw[0].1.parse::<f64>().expect("auc") > 0.97,
        "{}",
        lines[0]
    );
}

#[test]
fn json_output_carries_every_repeat() {
    let dir = odds_fixture();
    let stdout = stdout_of(&otsentry(&[
        "eval",
        dir.to_str().expect("utf-8 path"),
        "--repeat",
        "3",
        "--format",
        "json",
    ]));
    let results: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    let results = results.as_array().expect("an array");
    assert_eq!(results.len(), 3);
    for result in results {
        let aucs = result["aucs"].as_array().expect("aucs");
        assert_eq!(aucs.len(), 3);
        let mean = aucs
            .iter()
            .map(|auc| auc.as_f64().expect("f64"))
            .sum::<f64>()
            / 3.0;
        assert!((result["auc"].as_f64().expect("auc") - mean).abs() < 1e-12);
        // Different seeds grow different forests.
        assert_ne!(aucs[0], aucs[1], "{result}");
        assert_eq!(result["model_kind"], "forest");
    }
}

#[test]
fn the_zscore_model_and_the_table_format_work() {
    let dir = odds_fixture();
    let stdout = stdout_of(&otsentry(&[
        "eval",
        dir.to_str().expect("utf-8 path"),
        "--model-kind",
        "zscore",
        "--format",
        "table",
    ]));
    for expected in ["dataset", "auc", "breastw", "glass", "lympho", "683"] {
        assert!(stdout.contains(expected), "missing {expected}: {stdout}");
    }
}

#[test]
fn a_directory_without_datasets_is_a_clear_error() {
    let empty = tempfile::tempdir().expect("temp dir");
    let output = otsentry(&["eval", empty.path().to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("no NAME.csv.gz files in"), "{stderr}");
}

#[test]
fn a_bad_value_is_reported_with_file_line_and_column() {
    use std::io::Write;

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("broken.csv.gz");
    let file = std::fs::File::create(&path).expect("create");
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    gz.write_all(b"x0,x1,label\n1.0,2.0,0\n3.0,oops,1\n")
        .expect("write");
    gz.finish().expect("finish");

    let output = otsentry(&["eval", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.csv.gz, line 3, column 2: `oops` is not a number"),
        "{stderr}"
    );
}
