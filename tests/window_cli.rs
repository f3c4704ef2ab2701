//! `otsentry train --until` and `otsentry score --since` through the real binary: the training
//! window ends where asked, scoring starts where asked, and a time in neither accepted form is
//! refused with a message naming the flag and the forms.

mod plant_logs;
mod shared_data;

use plant_logs::*;

/// `model show --format json` of a model.
fn manifest(model: &std::path::Path) -> serde_json::Value {
    let shown = otsentry(&["model", "show", model.to_str().unwrap(), "--format", "json"]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    let value: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    value["manifest"].clone()
}

#[test]
fn until_ends_the_training_window_in_either_time_form() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 20.0, 1800.0));

    let full = dir.path().join("full.model");
    train(&logs, &full, &[]);
    let full = manifest(&full);
    assert_eq!(full["window"]["days_covered"], 20);

    // START + 16 days = 2026-11-18T00:00:00Z = 1794960000.
    let until_rfc = dir.path().join("rfc.model");
    let output = train(&logs, &until_rfc, &["--until", "2026-11-18T00:00:00Z"]);
    let text = stdout(&output);
    let window = text
        .lines()
        .find(|line| line.contains("window"))
        .unwrap_or_else(|| panic!("no window line in {text}"));
    assert!(window.contains("2026-11-17"), "{window}");
    assert!(!window.contains("2026-11-18"), "{window}");
    let until_rfc = manifest(&until_rfc);
    assert_eq!(until_rfc["window"]["days_covered"], 16);
    assert!(
        until_rfc["records_per_schema"]["conn"].as_u64()
            < full["records_per_schema"]["conn"].as_u64(),
        "{until_rfc:#}"
    );

    let until_epoch = dir.path().join("epoch.model");
    train(&logs, &until_epoch, &["--until", "1794960000"]);
    let until_epoch = manifest(&until_epoch);
    assert_eq!(until_epoch["window"], until_rfc["window"]);
    assert_eq!(until_epoch["dataset_sha256"], until_rfc["dataset_sha256"]);
    assert_ne!(until_epoch["dataset_sha256"], full["dataset_sha256"]);
}

#[test]
fn since_limits_the_rows_scored() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline");
    write_logs(&baseline, &plant(START, 15.0, 1800.0));
    let model = dir.path().join("plant.model");
    train(&baseline, &model, &[]);

    // Two more days; score from the start of the second (START + 16 days).
    let days = dir.path().join("days");
    let polls = plant(START + 15.0 * 86_400.0, 2.0, 1800.0);
    write_logs(&days, &polls);
    let since = START + 16.0 * 86_400.0;
    let score = |extra: &[&str]| {
        let mut args = vec![
            "score",
            "--log",
            days.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--all",
            "--format",
            "rows",
        ];
        args.extend_from_slice(extra);
        let output = otsentry(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .collect::<Vec<_>>()
    };
    let all = score(&[]);
    let later = score(&["--since", "2026-11-18T00:00:00Z"]);
    // Each poll is one conn.log row and one modbus.log row, the latter 1 ms later.
    assert_eq!(all.len(), 2 * polls.len());
    let expected = 2 * polls.iter().filter(|poll| poll.ts >= since).count();
    assert_eq!(later.len(), expected);
    assert!(later.len() < all.len());
    assert!(
        later
            .iter()
            .all(|row| row["ts"].as_f64().is_some_and(|ts| ts >= since)),
        "a row before --since was scored"
    );
    assert_eq!(score(&["--since", "1794960000"]).len(), expected);
}

#[test]
fn a_time_in_neither_form_is_refused_naming_the_flag_and_the_forms() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 1.0, 3600.0));
    let model = dir.path().join("never.model");
    let model_arg = model.to_str().unwrap();
    let logs_arg = logs.to_str().unwrap();
    for (args, flag) in [
        (
            vec![
                "train",
                "--log",
                logs_arg,
                "--out",
                model_arg,
                "--until",
                "last tuesday",
            ],
            "--until",
        ),
        (
            vec![
                "score",
                "--log",
                logs_arg,
                "--model",
                model_arg,
                "--since",
                "2026-11-18",
            ],
            "--since",
        ),
    ] {
        let output = otsentry(&args);
        assert!(!output.status.success(), "{args:?} was accepted");
        let message = stderr(&output);
        assert!(message.contains(flag), "{message}");
        assert!(message.contains("RFC 3339"), "{message}");
        assert!(message.contains("epoch seconds"), "{message}");
    }
    assert!(!model.exists());
}
