//! The pipeline's guarantees through the real binary on real files: an RTU used as a pivot on IT
//! ports is a role-reversal alert, a run split by a checkpoint gives the alerts of one run, and
//! every JSON alert matches the published schema.

mod plant_logs;

use std::path::{Path, PathBuf};

use plant_logs::*;

fn trained(dir: &Path) -> PathBuf {
    let logs = dir.join("baseline");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model = dir.join("plant.model");
    train(&logs, &model, &[]);
    model
}

fn score_json(logs: &[&Path], model: &Path, extra: &[&str]) -> String {
    let mut args = vec!["score"];
    for log in logs {
        args.extend(["--log", log.to_str().unwrap()]);
    }
    args.extend(["--model", model.to_str().unwrap(), "--format", "json"]);
    args.extend_from_slice(extra);
    let output = otsentry(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
}

fn alerts(json_lines: &str) -> Vec<serde_json::Value> {
    json_lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// Day `day_index` (training covers days 0 to 14): ordinary polling; near its end the polled PLC 10.0.1.2 opens an SMB
/// session (445) and a session on 4444 to its peer 10.0.1.3, as the pivot in the real lab
/// captures did.
fn pivot_day(dir: &Path, day_index: f64) -> PathBuf {
    let day = dir.join("pivot-day");
    let start = START + day_index * 86_400.0;
    write_logs(&day, &plant(start, 1.0, 1800.0));
    let late = start + 86_400.0 + 60.0;
    append_conn(
        &day,
        &[
            Conn {
                ts: late,
                uid: "CPIVOTSMB0001",
                orig: "10.0.1.2",
                orig_p: 49200,
                resp: "10.0.1.3",
                resp_p: 445,
                service: "smb",
                conn_state: "SF",
            },
            Conn {
                ts: late + 30.0,
                uid: "CPIVOTC2C0001",
                orig: "10.0.1.2",
                orig_p: 49201,
                resp: "10.0.1.3",
                resp_p: 4444,
                service: "-",
                conn_state: "SF",
            },
        ],
    );
    day
}

#[test]
fn a_polled_rtu_opening_smb_and_4444_sessions_is_a_role_reversal_alert_naming_edge_and_role() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let day = pivot_day(dir.path(), 15.0);
    let alerts = alerts(&score_json(&[&day], &model, &[]));
    for (port, uid) in [(445, "CPIVOTSMB0001"), (4444, "CPIVOTC2C0001")] {
        // Both sessions go from the RTU to the same peer, so they may be one alert (opened by
        // the first, closed with both): the event that covers this session is the one to read.
        let alert = alerts
            .iter()
            .rev()
            .find(|alert| {
                alert["rule"]["id"] == "novelty.role_reversal"
                    && alert["zeek"]["session_ids"]
                        .as_array()
                        .is_some_and(|ids| ids.iter().any(|id| id == uid))
            })
            .unwrap_or_else(|| {
                panic!("no role reversal for the session to port {port}: {alerts:#?}")
            });
        assert_eq!(alert["rule"]["id"], "novelty.role_reversal", "{alert:#}");
        assert_eq!(alert["source"]["ip"], "10.0.1.2");
        assert_eq!(alert["destination"]["ip"], "10.0.1.3");
        let reasons: Vec<&str> = alert["otsentry"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|reason| reason["text"].as_str().unwrap())
            .collect();
        let all = reasons.join(" | ");
        // The new edge, by both ends and the port, and the role it broke.
        assert!(
            all.contains("10.0.1.2") && all.contains(&format!("10.0.1.3:{port}")),
            "{all}"
        );
        assert!(
            all.contains("answers modbus on 502") && all.contains("never originated"),
            "the RTU's role is named: {all}"
        );
        assert!(
            ["high", "critical"].contains(&alert["otsentry"]["severity"].as_str().unwrap()),
            "{alert:#}"
        );
        assert!(
            !alert["threat"]["technique"]["id"]
                .as_array()
                .unwrap()
                .is_empty(),
            "a technique is suggested: {alert:#}"
        );
    }
}

#[test]
fn a_run_split_by_a_checkpoint_gives_the_alerts_of_one_continuous_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    // Two days with something to find in each, split at the day boundary.
    let first = dir.path().join("first");
    let mut polls = plant(START + 15.0 * 86_400.0, 1.0, 1800.0);
    polls.push(Poll {
        ts: START + 15.5 * 86_400.0 + 7.0,
        uid: "CNEWSOURCE0001".to_string(),
        orig: "10.66.6.6",
        resp: "10.0.1.2",
        func: "READ_HOLDING_REGISTERS",
        orig_bytes: 12,
    });
    polls.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    write_logs(&first, &polls);
    let second = pivot_day(dir.path(), 16.0);
    let continuous = score_json(&[&first, &second], &model, &[]);

    let state = dir.path().join("state.json");
    let mut split = score_json(
        &[&first],
        &model,
        &["--checkpoint", state.to_str().unwrap()],
    );
    assert!(state.exists(), "the checkpoint is written");
    split.push_str(&score_json(
        &[&second],
        &model,
        &["--resume", state.to_str().unwrap()],
    ));
    let count = alerts(&continuous).len();
    assert!(count >= 3, "there is something to compare: {continuous}");
    // Each alert event is byte for byte the continuous run's; the order in which two log
    // streams' events interleave follows where each run's batches were cut, so lines are
    // compared as sorted lists.
    let sorted = |text: &str| {
        let mut lines: Vec<&str> = text.lines().collect();
        lines.sort_unstable();
        lines.join("\n")
    };
    assert_eq!(
        sorted(&split),
        sorted(&continuous),
        "the two halves give the continuous run's alert events"
    );
}

#[test]
fn a_checkpoint_written_with_an_inventory_asks_for_it_when_resumed_without() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let day = dir.path().join("day");
    write_logs(&day, &plant(START + 15.0 * 86_400.0, 1.0, 1800.0));
    let inventory = repo_path("examples/inventory/plant.yaml");
    let state = dir.path().join("state.json");
    score_json(
        &[&day],
        &model,
        &[
            "--inventory",
            inventory.to_str().unwrap(),
            "--checkpoint",
            state.to_str().unwrap(),
        ],
    );
    let output = otsentry(&[
        "score",
        "--log",
        day.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--resume",
        state.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("conduit") && message.contains("give the same --inventory"),
        "{message}"
    );
}

#[test]
fn every_json_alert_matches_the_published_schema() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let day = pivot_day(dir.path(), 15.0);
    let schema_path = repo_path("docs/specs/alert.schema.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema is a valid JSON Schema");
    let alerts = alerts(&score_json(&[&day], &model, &[]));
    assert!(!alerts.is_empty());
    for alert in &alerts {
        let errors: Vec<String> = validator
            .iter_errors(alert)
            .map(|error| format!("{} at {}", error, error.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}\n{alert:#}");
    }
    // The schema is not vacuous: an alert without its id, or with an unknown severity, fails.
    let mut broken = alerts[0].clone();
    broken["event"].as_object_mut().unwrap().remove("id");
    assert!(!validator.is_valid(&broken));
    let mut broken = alerts[0].clone();
    broken["otsentry"]["severity"] = serde_json::json!("apocalyptic");
    assert!(!validator.is_valid(&broken), "{broken:#}");
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}
