//! `otsentry train` through the real binary on real Zeek TSV files.

mod plant_logs;
mod shared_data;

use plant_logs::*;

#[test]
fn a_baseline_under_two_weeks_is_refused_with_the_reason_and_the_override_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 3.0, 600.0));
    let model = dir.path().join("short.model");

    let refused = otsentry(&[
        "train",
        "--log",
        logs.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(message.contains("weekly cycle"), "{message}");
    assert!(message.contains("--allow-short-baseline"), "{message}");
    assert!(!model.exists());

    train(&logs, &model, &["--allow-short-baseline"]);
    let shown = otsentry(&["model", "show", model.to_str().unwrap(), "--format", "json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let manifest: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        manifest["manifest"]["overrides"],
        serde_json::json!(["allow_short_baseline"])
    );
    assert_eq!(manifest["manifest"]["window"]["days_covered"], 3);
    assert_eq!(
        manifest["manifest"]["window"]["weekdays"],
        serde_json::json!(["Monday", "Tuesday", "Wednesday"])
    );
}

#[test]
fn training_reports_window_services_and_the_model_digest() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model = dir.path().join("plant.model");
    let output = train(&logs, &model, &[]);
    let text = stdout(&output);
    assert!(text.contains("service modbus"), "{text}");
    assert!(text.contains("Monday"), "{text}");
    // Between 14 and 30 days: trained, with a warning.
    assert!(stderr(&output).contains("30 or more are recommended"));
    let digest = text
        .lines()
        .find_map(|line| line.strip_prefix("sha256 "))
        .unwrap();
    let sidecar = std::fs::read_to_string(dir.path().join("plant.model.sha256")).unwrap();
    assert!(sidecar.starts_with(digest));
    let shown: serde_json::Value = serde_json::from_slice(
        &otsentry(&["model", "show", model.to_str().unwrap(), "--format", "json"]).stdout,
    )
    .unwrap();
    assert_eq!(shown["sha256"], digest);
    let manifest = &shown["manifest"];
    assert_eq!(
        manifest["records_per_schema"]["conn"],
        manifest["records_per_schema"]["request"]
    );
    assert_eq!(manifest["sources"].as_array().unwrap().len(), 2);
    assert_eq!(manifest["dataset_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn the_same_logs_give_the_same_dataset_digest_and_the_same_scores() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 3600.0));
    let (first, second) = (dir.path().join("a.model"), dir.path().join("b.model"));
    train(&logs, &first, &[]);
    train(&logs, &second, &[]);
    let show = |path: &std::path::Path| -> serde_json::Value {
        serde_json::from_slice(
            &otsentry(&["model", "show", path.to_str().unwrap(), "--format", "json"]).stdout,
        )
        .unwrap()
    };
    assert_eq!(
        show(&first)["manifest"]["dataset_sha256"],
        show(&second)["manifest"]["dataset_sha256"]
    );
    let score = |path: &std::path::Path| {
        stdout(&otsentry(&[
            "score",
            "--log",
            logs.to_str().unwrap(),
            "--model",
            path.to_str().unwrap(),
            "--all",
            "--format",
            "csv",
        ]))
    };
    assert_eq!(score(&first), score(&second));
}

#[test]
fn logs_without_ot_records_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let conn = dir.path().join("conn.log");
    let mut text = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\n",
    );
    for idx in 0..50 {
        text.push_str(&format!(
            "{}.0\tC{idx}\t10.0.0.5\t5353\t10.0.0.53\t53\tudp\tdns\n",
            1_793_577_600 + idx * 3600
        ));
    }
    std::fs::write(&conn, text).unwrap();
    let output = otsentry(&[
        "train",
        "--log",
        conn.to_str().unwrap(),
        "--out",
        dir.path().join("m").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("no OT records"), "{message}");
    assert!(
        message.contains("50 conn.log records were not OT traffic"),
        "{message}"
    );
}

#[test]
fn a_window_of_masked_timestamps_is_a_clear_error() {
    // A btest baseline: its timestamps are masked as XXXXXXXXXX.XXXXXX.
    let conn = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/zeek/real/conn-btest-masked.log");
    let dir = tempfile::tempdir().unwrap();
    let output = otsentry(&[
        "train",
        "--log",
        conn.to_str().unwrap(),
        "--out",
        dir.path().join("m").to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(message.contains("training window is empty"), "{message}");
    assert!(message.contains("masked"), "{message}");
}

#[test]
fn a_zscore_model_trains_scores_and_flags_a_new_source() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let mut polls = plant(START, 15.0, 1800.0);
    let model = dir.path().join("z.model");
    write_logs(&logs, &polls);
    train(&logs, &model, &["--model-kind", "zscore"]);
    let shown: serde_json::Value = serde_json::from_slice(
        &otsentry(&["model", "show", model.to_str().unwrap(), "--format", "json"]).stdout,
    )
    .unwrap();
    assert_eq!(shown["manifest"]["model_kind"], "zscore");
    assert_eq!(shown["schemas"][0]["kind"], "zscore");

    polls.truncate(10);
    polls.push(Poll {
        ts: START + 16.0 * 86_400.0,
        uid: "CZNEW".to_string(),
        orig: "10.77.7.7",
        resp: "10.0.1.1",
        func: "READ_COILS",
        orig_bytes: 12,
    });
    let day = dir.path().join("day");
    write_logs(&day, &polls);
    let output = otsentry(&[
        "score",
        "--log",
        day.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("CZNEW"));
}

#[test]
fn bad_parameters_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 3600.0));
    let output = otsentry(&[
        "train",
        "--log",
        logs.to_str().unwrap(),
        "--out",
        dir.path().join("m").to_str().unwrap(),
        "--contamination",
        "0.9",
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("contamination must be in (0, 0.5], got 0.9"));
    assert!(!dir.path().join("m").exists());
}

/// The manifest's source digests are computed from the bytes the training pass reads (each file
/// is read once); they must be the SHA-256 and size of each file as stored, gzip or plain.
#[test]
fn source_digests_are_the_sha_256_of_each_file_as_stored() {
    use sha2::{Digest, Sha256};
    use std::io::Write as _;

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 3600.0));
    // The Modbus log gzipped: the digest is of the compressed bytes, as on disk.
    let modbus = std::fs::read(logs.join("modbus.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&modbus).unwrap();
    std::fs::write(logs.join("modbus.log.gz"), gz.finish().unwrap()).unwrap();
    std::fs::remove_file(logs.join("modbus.log")).unwrap();
    let model = dir.path().join("plant.model");
    train(&logs, &model, &[]);
    let shown: serde_json::Value = serde_json::from_slice(
        &otsentry(&["model", "show", model.to_str().unwrap(), "--format", "json"]).stdout,
    )
    .unwrap();
    let sources = shown["manifest"]["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2);
    for source in sources {
        let path = source["path"].as_str().unwrap();
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(
            source["sha256"].as_str().unwrap(),
            hex::encode(Sha256::digest(&bytes)),
            "{path}"
        );
        assert_eq!(source["bytes"].as_u64().unwrap(), bytes.len() as u64);
    }
}

/// A scoring path forced through the environment that names no path, or that this CPU lacks, is
/// refused with the variable's name; an available one trains.
#[test]
fn a_forced_scoring_path_is_used_or_refused_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 3600.0));
    let model = dir.path().join("forced.model");
    let run = |path: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
            .args(["train", "--log", logs.to_str().unwrap(), "--out"])
            .arg(&model)
            .args(["--n-estimators", "20"])
            .env("OTSENTRY_FOREST_PATH", path)
            .output()
            .unwrap()
    };
    let refused = run("sse9");
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("OTSENTRY_FOREST_PATH=\"sse9\" is not a scoring setting"),
        "{message}"
    );
    for path in iforest::ScoringPath::ALL {
        let output = run(path.as_str());
        if path.available() {
            assert!(output.status.success(), "{path}: {}", stderr(&output));
            let text = stdout(&output);
            let line = text.lines().find(|line| line.contains("scoring path"));
            assert!(
                line.is_some_and(|line| line.contains(&format!(" {path} (cell cache auto)"))),
                "{text}"
            );
        } else {
            let message = stderr(&output);
            assert!(!output.status.success());
            assert!(
                message.contains("which this CPU does not have"),
                "{message}"
            );
        }
    }
}
