//! Governed retraining through the real binary on real Zeek TSV files and a real SQLite file: a
//! retrain is refused while an incident is open, on data from the 30 days after one until a
//! person reviews them, and with unreviewed alerts in its window (each refusal names the
//! incident or the alerts); the requester cannot approve; once every condition is cleared the run
//! trains on its window, signs and registers the model as a candidate, writes every field the
//! policy lists to the audit log (which still verifies) and to the retrain events log; and a
//! model that learnt the attacker of a kept incident forgets its canary and fails certification.

mod common;
mod plant_logs;

use std::path::{Path, PathBuf};

use otsentry::governance::policy::LOG_FIELDS;
use otsentry::governance::{Actor, AiComponent, AnalystDecision, PrincipalKind};
use otsentry::model::ModelFile;
use otsentry::store::{AlertDecision, NewAlert, Severity};
use plant_logs::{Poll, START, plant, write_logs};

const DAY: f64 = 86_400.0;

struct Site {
    dir: tempfile::TempDir,
    db: PathBuf,
    policies: String,
    ticket_public: PathBuf,
    model_key: PathBuf,
    model_public: PathBuf,
    events: PathBuf,
}

impl Site {
    fn gov(&self) -> Vec<String> {
        vec![
            "--db".into(),
            self.db.display().to_string(),
            "--policy".into(),
            self.policies.clone(),
            "--ticket-key".into(),
            self.ticket_public.display().to_string(),
        ]
    }

    /// Runs the binary as `person` (their passphrase on standard input).
    fn run_as(&self, person: &str, args: &[&str]) -> (Option<i32>, String, String) {
        let mut all: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        all.extend(["--as".to_string(), person.to_string()]);
        all.extend(self.gov());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        common::otsentry_with_input(&all, &format!("{}\n", common::passphrase_of(person)))
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let mut all: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        all.extend(self.gov());
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        common::otsentry(&all)
    }

    fn block_on<T>(
        &self,
        work: impl AsyncFnOnce(&otsentry::governance::Governance<otsentry::store::SqliteStore>) -> T,
    ) -> T {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let governance = common::governance(&self.db, None).await;
            let value = work(&governance).await;
            governance.close().await;
            value
        })
    }
}

async fn principal(
    governance: &otsentry::governance::Governance<otsentry::store::SqliteStore>,
    name: &str,
) -> otsentry::governance::Principal {
    governance
        .list_principals(Actor::Local)
        .await
        .unwrap()
        .into_iter()
        .find(|principal| principal.name == name)
        .unwrap()
}

fn hex_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, hex::encode(bytes)).unwrap();
}

/// A database with alice (analyst), sam and lee (security leads) and an AI scorer; both policies,
/// the retrain events log in the test's directory; the ticketing system's and the site's keys.
fn site() -> Site {
    site_with(|policy| policy)
}

/// [`site`] with its retraining policy edited by `edit`.
fn site_with(edit: impl FnOnce(String) -> String) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("otsentry.db");
    let events = dir.path().join("retrain-events.jsonl");
    let retraining = std::fs::read_to_string(common::repo_path("policies/retraining_policy.yaml"))
        .unwrap()
        .replace(
            "/var/log/ot-ai/retrain-audit.log",
            &events.display().to_string(),
        );
    let retraining_path = dir.path().join("retraining_policy.yaml");
    std::fs::write(&retraining_path, edit(retraining)).unwrap();
    let policies = format!(
        "{},{}",
        common::ai_policy_path().display(),
        retraining_path.display()
    );
    let ticket_public = dir.path().join("ticketing.pub");
    hex_file(
        &ticket_public,
        &common::ticket_key().verifying_key().to_bytes(),
    );
    let model_key = dir.path().join("site.key");
    let model_public = dir.path().join("site.pub");
    let keygen = common::otsentry(&[
        "audit",
        "keygen",
        "--key",
        model_key.to_str().unwrap(),
        "--public",
        model_public.to_str().unwrap(),
    ]);
    assert_eq!(keygen.0, Some(0), "{}", keygen.2);
    let site = Site {
        dir,
        db,
        policies,
        ticket_public,
        model_key,
        model_public,
        events,
    };
    site.block_on(async |governance| {
        common::enrolled(governance, "alice", &["ot-security-analyst"]).await;
        common::enrolled(governance, "sam", &["ot-security-lead"]).await;
        common::enrolled(governance, "lee", &["ot-security-lead"]).await;
        common::enrolled(governance, "eve", &["ot-engineering-lead"]).await;
        governance
            .create_principal(
                Actor::Local,
                "scorer-1",
                PrincipalKind::Ai {
                    component: AiComponent::Scorer,
                },
            )
            .await
            .unwrap();
    });
    site
}

fn rfc3339(seconds: f64) -> String {
    otsentry::registry::retrain::rfc3339((seconds * 1e6) as i64)
}

/// Files a retrain request as `requester` and returns its id and stored window.
fn request(site: &Site, requester: &str, start: f64, end: f64) -> (i64, String) {
    let window = format!("{}..{}", rfc3339(start), rfc3339(end));
    let (code, stdout, stderr) = site.run_as(
        requester,
        &[
            "retrain",
            "request",
            "--window",
            &window,
            "--reason",
            "quarterly baseline refresh",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let rest = stdout
        .strip_prefix("retrain request ")
        .expect("the request's id");
    let (id, rest) = rest.split_once(' ').unwrap();
    let stored = rest
        .trim()
        .strip_prefix("filed for window ")
        .unwrap()
        .to_string();
    (id.parse().unwrap(), stored)
}

/// Approves request `id` as `approver` with a ticket the ticketing system signed.
fn approve(
    site: &Site,
    approver: &str,
    id: i64,
    window: &str,
    ticket: &str,
) -> (Option<i32>, String, String) {
    use ed25519_dalek::Signer;
    let message =
        otsentry::governance::channel::ticket_message(id, "retrain_model", window, ticket);
    let signature = hex::encode(common::ticket_key().sign(message.as_bytes()).to_bytes());
    site.run_as(
        approver,
        &[
            "retrain",
            "approve",
            &id.to_string(),
            "--ticket",
            ticket,
            "--signature",
            &signature,
        ],
    )
}

fn run_retrain(site: &Site, id: i64, logs: &Path, out: &Path) -> (Option<i32>, String, String) {
    site.run(&[
        "retrain",
        "run",
        &id.to_string(),
        "--log",
        logs.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--key",
        site.model_key.to_str().unwrap(),
        "--n-estimators",
        "50",
        "--drift-days",
        "1",
        "--polls-per-day",
        "200",
    ])
}

fn alert_at(ts: f64) -> NewAlert {
    NewAlert {
        ts: (ts * 1e6) as i64,
        uid: Some("Cattacker".into()),
        src: "10.0.0.101".into(),
        dst: "10.0.1.2".into(),
        port: Some(502),
        protocol: Some("tcp".into()),
        service: Some("modbus".into()),
        score: -0.2,
        reasons: vec!["new source".into()],
        asset_context: serde_json::json!({}),
        attack_technique: Some("T0855".into()),
        detector: "novelty".into(),
        severity: Severity::High,
        stable_id: None,
    }
}

#[test]
fn retrain_is_refused_while_any_condition_holds_and_records_every_field_once_cleared() {
    let site = site();
    let logs = site.dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 300.0));
    let out = site.dir.path().join("retrained.otm");

    let (id, window) = request(&site, "sam", START, START + 15.0 * DAY);
    assert_eq!(window, "2026-11-02T00:00:00Z..2026-11-17T00:00:00Z");

    // Before its approval, a request does not run.
    let (code, _, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("approvals are complete"), "{stderr}");

    // The requester cannot approve their own request, even holding the approver role.
    let (code, _, stderr) = approve(&site, "sam", id, &window, "SIEM-4711");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("separation of duties"), "{stderr}");
    // An engineering lead is no approver of a retrain.
    let (code, _, stderr) = approve(&site, "eve", id, &window, "SIEM-4711");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("ot-security-lead"), "{stderr}");
    let (code, stdout, stderr) = approve(&site, "lee", id, &window, "SIEM-4711");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("applied"), "{stdout}");

    // An open incident blocks every retrain.
    let started = rfc3339(START + 2.0 * DAY);
    let (code, stdout, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "open",
            "--title",
            "writes to PLC 2 from an unknown host",
            "--started",
            &started,
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("incident 1 opened"), "{stdout}");
    let (code, _, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("active_incident_open: incident 1 (writes to PLC 2"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing is trained when a run is refused");

    // Closed, its days and the 30 after it are still tainted.
    let ended = rfc3339(START + 3.0 * DAY);
    let (code, _, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "close",
            "1",
            "--ended",
            &ended,
            "--note",
            "host isolated, PLC 2 logic verified",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("post_incident_window"), "{stderr}");
    assert!(stderr.contains("incident 1"), "{stderr}");
    assert!(!stderr.contains("active_incident_open"), "{stderr}");

    // A manual review lifts it; an open alert in the window is the next blocker.
    let (code, _, stderr) = site.run_as(
        "lee",
        &[
            "incident",
            "review",
            "1",
            "--note",
            "days 3 to 15 checked against the historian: no foreign writes",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let alert_id = site.block_on(async |governance| {
        let scorer = principal(governance, "scorer-1").await;
        let writer = governance.ai_writer(scorer).unwrap();
        // One alert inside the window, one after it (not this retrain's concern).
        writer
            .create_alert(alert_at(START + 20.0 * DAY))
            .await
            .unwrap();
        writer
            .create_alert(alert_at(START + 5.0 * DAY))
            .await
            .unwrap()
            .id
    });
    let (code, _, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!(
            "unreviewed_anomaly_cluster: 1 open alert(s) in the window nobody has decided: {alert_id}"
        )),
        "{stderr}"
    );
    assert!(!stderr.contains("post_incident_window"), "{stderr}");

    // An analyst decides the alert: the run goes ahead.
    site.block_on(async |governance| {
        let alice = principal(governance, "alice").await;
        governance
            .decide_alert(
                &alice,
                alert_id,
                AnalystDecision {
                    decision: AlertDecision::Reject,
                    justification: Some("the engineering laptop during the PLC 2 check".into()),
                    severity: None,
                    expected_version: None,
                },
            )
            .await
            .unwrap();
    });
    let (code, stdout, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("registered as candidate"), "{stdout}");
    let loaded = ModelFile::load(&out).unwrap();
    assert!(
        loaded
            .file
            .manifest
            .window
            .start_utc
            .starts_with("2026-11-02"),
        "{:?}",
        loaded.file.manifest.window
    );
    let verify = common::otsentry(&[
        "model",
        "verify",
        out.to_str().unwrap(),
        "--public-key",
        site.model_public.to_str().unwrap(),
    ]);
    assert_eq!(verify.0, Some(0), "{}", verify.2);

    // The audit entry of the run carries the record with every field the policy lists.
    let entries = common::site::audit_entries(&site.db);
    let refusals: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|entry| entry["action"] == "run_retrain" && entry["decision"] == "refuse")
        .collect();
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    assert!(
        refusals[1]["reason"]
            .as_str()
            .unwrap()
            .contains("active_incident_open")
    );
    let applied: Vec<&serde_json::Value> = entries
        .iter()
        .filter(|entry| {
            entry["action"] == "run_retrain"
                && entry["decision"] == "applied"
                && entry["effects"]
                    .as_array()
                    .is_some_and(|effects| effects.iter().any(|e| e["table"] == "retrain_runs"))
        })
        .collect();
    assert_eq!(applied.len(), 1);
    let row = applied[0]["effects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|effect| effect["table"] == "retrain_runs")
        .unwrap()["row"]
        .clone();
    for field in LOG_FIELDS {
        let value = row[*field].as_str().unwrap_or_default();
        assert!(!value.is_empty(), "{field} missing in {row}");
    }
    assert_eq!(row["requested_by"], "human:sam");
    assert_eq!(row["approved_by"], "human:lee");
    assert_eq!(row["approval_ticket_id"], "SIEM-4711");
    assert_eq!(row["training_window_start"], "2026-11-02T00:00:00Z");
    assert_eq!(row["training_window_end"], "2026-11-17T00:00:00Z");
    assert_eq!(
        row["training_dataset_sha256"],
        loaded.file.manifest.dataset_sha256
    );
    assert_eq!(row["new_model_sha256"], loaded.sha256);
    assert_eq!(row["previous_model_sha256"], "none");
    assert!(
        ["passed", "failed"].contains(&row["adversarial_test_result"].as_str().unwrap()),
        "{row}"
    );
    let signature: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.with_extension("otm.sig")).unwrap())
            .unwrap();
    assert_eq!(row["dataset_signature"], signature["signature"]);
    assert_eq!(
        signature["manifest"]["dataset_sha256"],
        row["training_dataset_sha256"]
    );
    let verify = common::otsentry(&["audit", "verify", "--db", site.db.to_str().unwrap()]);
    assert_eq!(verify.0, Some(0), "{}\n{}", verify.1, verify.2);

    // The events log has the same record, as one JSON line.
    let events = std::fs::read_to_string(&site.events).unwrap();
    let lines: Vec<&str> = events.lines().collect();
    assert_eq!(lines.len(), 1, "{events}");
    let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    for field in LOG_FIELDS {
        assert_eq!(line[*field], row[*field], "{field}");
    }

    // The new model is a candidate, never promoted; the approval is spent.
    let (_, list, _) = site.run(&["model", "list", "--format", "json"]);
    let versions: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(versions[0]["stage"], "candidate");
    let (code, _, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("already run"), "{stderr}");
}

/// The attacker of a kept incident was present throughout the new window and the data review
/// missed it: the retrained model learnt the attacker and no longer alerts on the incident's
/// records, so its certification fails; the model that never saw the attacker still catches them.
#[test]
fn a_retrain_that_learnt_the_attacker_forgets_the_canary_and_fails_certification() {
    let site = site();
    let mut attack = Vec::new();
    let mut ts = START + 60.0;
    let mut idx = 0;
    while ts < START + 15.0 * DAY {
        attack.push(Poll {
            ts,
            uid: format!("Cattacker{idx:06}"),
            orig: "10.0.0.101",
            resp: "10.0.1.2",
            func: "WRITE_SINGLE_REGISTER",
            orig_bytes: 12,
        });
        idx += 1;
        ts += 3_600.0;
    }
    let canary_logs = site.dir.path().join("incident");
    write_logs(&canary_logs, &attack);
    let mut poisoned = plant(START, 15.0, 300.0);
    poisoned.extend(attack);
    poisoned.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    let poisoned_logs = site.dir.path().join("poisoned");
    write_logs(&poisoned_logs, &poisoned);
    let clean_logs = site.dir.path().join("clean");
    write_logs(&clean_logs, &plant(START, 15.0, 300.0));

    let (code, _, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "open",
            "--title",
            "foreign writes to PLC 2",
            "--started",
            &rfc3339(START),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "canary",
            "1",
            "--log",
            canary_logs.join("conn.log").to_str().unwrap(),
            "--log",
            canary_logs.join("modbus.log").to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.matches("kept ").count(), 2, "{stdout}");
    for (person, args) in [
        (
            "sam",
            vec![
                "incident",
                "close",
                "1",
                "--ended",
                "2026-11-03T00:00:00Z",
                "--note",
                "contained",
            ],
        ),
        (
            "lee",
            vec!["incident", "review", "1", "--note", "looked fine to me"],
        ),
    ] {
        let (code, _, stderr) = site.run_as(person, &args);
        assert_eq!(code, Some(0), "{stderr}");
    }

    let (id, window) = request(&site, "alice", START, START + 15.0 * DAY);
    let (code, _, stderr) = approve(&site, "sam", id, &window, "SIEM-1");
    assert_eq!(code, Some(0), "{stderr}");
    let out = site.dir.path().join("poisoned.otm");
    let (code, stdout, stderr) = run_retrain(&site, id, &poisoned_logs, &out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("NO: forgotten"), "{stdout}");
    assert!(stdout.contains("adversarial test failed"), "{stdout}");
    let (_, list, _) = site.run(&["model", "list", "--format", "json"]);
    let versions: serde_json::Value = serde_json::from_str(&list).unwrap();
    let canaries = &versions[0]["certification"]["canaries"];
    assert_eq!(canaries[0]["incident"], 1, "{canaries}");
    assert_eq!(canaries[0]["caught"], false, "{canaries}");
    assert_eq!(versions[0]["certified"], false);
    let (_, card, _) = site.run(&["model", "card", "1"]);
    assert!(card.contains("| 1 | 2 |"), "{card}");
    assert!(
        card.contains("incident 1: the model no longer alerts on its records"),
        "{card}"
    );

    // The model that never saw the attacker alerts on the same records.
    let clean = site.dir.path().join("clean.otm");
    plant_logs::train(&clean_logs, &clean, &[]);
    let (code, _, stderr) = site.run(&["model", "register", clean.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, stderr) = common::otsentry(&[
        "certify",
        clean.to_str().unwrap(),
        "--db",
        site.db.to_str().unwrap(),
        "--policy",
        &site.policies,
        "--drift-days",
        "1",
        "--polls-per-day",
        "200",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["canaries"][0]["caught"], true, "{report}");
    assert!(report["canaries"][0]["alerts"].as_u64().unwrap() > 0);
}

#[test]
fn a_request_needs_a_permitted_person_a_window_and_the_retraining_policy() {
    let site = site();
    let window = format!("{}..{}", rfc3339(START), rfc3339(START + 15.0 * DAY));
    let (code, _, stderr) = site.run_as(
        "eve",
        &["retrain", "request", "--window", &window, "--reason", "r"],
    );
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("retraining_policy does not let this role request a retrain"),
        "{stderr}"
    );
    for bad in [
        "2026-11-17T00:00:00Z..2026-11-02T00:00:00Z",
        "2026-11-02T00:00:00Z",
        "yesterday..today",
    ] {
        // Refused by the argument parser, before a passphrase is read.
        let (code, _, stderr) = site.run(&[
            "retrain", "request", "--window", bad, "--reason", "r", "--as", "sam",
        ]);
        assert_eq!(code, Some(2), "{bad}");
        assert!(stderr.contains("--window"), "{bad}: {stderr}");
    }
    // Without the retraining policy there is nothing to enforce: refused.
    let (code, _, stderr) = common::otsentry_with_input(
        &[
            "retrain",
            "request",
            "--window",
            &window,
            "--reason",
            "r",
            "--as",
            "sam",
            "--db",
            site.db.to_str().unwrap(),
            "--policy",
            common::ai_policy_path().to_str().unwrap(),
        ],
        &format!("{}\n", common::passphrase_of("sam")),
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no retraining_policy"), "{stderr}");
    // The policy requires the dataset digest signed: no run without the site key.
    let (code, _, stderr) = site.run(&["retrain", "run", "1", "--log", "logs", "--out", "m.otm"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("sign_training_dataset_hash"), "{stderr}");
    // An incident names alerts that exist.
    let (code, _, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "open",
            "--title",
            "t",
            "--started",
            "2026-11-05T00:00:00Z",
            "--alert",
            "42",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("alert 42 not found"), "{stderr}");
    // A closure before the incident began, and a review of an open incident, are refused.
    let (code, _, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "open",
            "--title",
            "t",
            "--started",
            "2026-11-05T00:00:00Z",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = site.run_as("sam", &["incident", "review", "1", "--note", "too early"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("incident 1 is open"), "{stderr}");
    let (code, _, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "close",
            "1",
            "--ended",
            "2026-11-04T00:00:00Z",
            "--note",
            "n",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot end before"), "{stderr}");
}

/// Whatever the run needs that does not depend on the new model is checked before it trains: a
/// changed canary file, an `--out` that is a registered version's file and a retrain events log
/// that cannot be written refuse the run with nothing trained, so a run that trains ends with
/// its model registered as a candidate.
#[test]
fn a_run_that_would_end_unregistered_is_refused_before_it_trains() {
    let site = site();
    let logs = site.dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 300.0));
    let canary_logs = site.dir.path().join("incident");
    write_logs(&canary_logs, &plant(START - 40.0 * DAY, 0.1, 300.0));
    let (code, _, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "open",
            "--title",
            "writes from a contractor laptop",
            "--started",
            &rfc3339(START - 40.0 * DAY),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "canary",
            "1",
            "--log",
            canary_logs.join("conn.log").to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let kept = stdout.split_whitespace().nth(1).unwrap().to_string();
    let (code, _, stderr) = site.run_as(
        "sam",
        &[
            "incident",
            "close",
            "1",
            "--ended",
            &rfc3339(START - 39.0 * DAY),
            "--note",
            "laptop removed",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let original = std::fs::read(&kept).unwrap();
    std::fs::write(&kept, b"edited").unwrap();

    let (id, window) = request(&site, "sam", START, START + 15.0 * DAY);
    let (code, _, stderr) = approve(&site, "lee", id, &window, "SIEM-7");
    assert_eq!(code, Some(0), "{stderr}");
    let out = site.dir.path().join("v1.otm");
    let (code, _, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("changed since it was kept"), "{stderr}");
    assert!(stderr.contains("nothing was trained"), "{stderr}");
    assert!(!out.exists(), "a refused run trains nothing");

    // Restored, the run trains, certifies and registers its model.
    std::fs::write(&kept, &original).unwrap();
    let (code, stdout, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("model version 1"), "{stdout}");
    assert!(stdout.contains("registered as candidate"), "{stdout}");

    // A second retrain may not write over the registered artifact.
    let (id, window) = request(&site, "sam", START, START + 15.0 * DAY);
    let (code, _, stderr) = approve(&site, "lee", id, &window, "SIEM-8");
    assert_eq!(code, Some(0), "{stderr}");
    let registered = std::fs::read(&out).unwrap();
    let (code, _, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is the file of registered version 1"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&out).unwrap(), registered);

    // A retrain events log that cannot be appended to refuses the run before training.
    std::fs::remove_file(&site.events).unwrap();
    std::fs::create_dir(&site.events).unwrap();
    let other = site.dir.path().join("v2.otm");
    let (code, _, stderr) = run_retrain(&site, id, &logs, &other);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("retrain_events_log"), "{stderr}");
    assert!(stderr.contains("nothing was trained"), "{stderr}");
    assert!(!other.exists());
    std::fs::remove_dir(&site.events).unwrap();
    let (code, _, stderr) = run_retrain(&site, id, &logs, &other);
    assert_eq!(code, Some(0), "{stderr}");
    let (_, list, _) = site.run(&["model", "list", "--format", "json"]);
    let versions: serde_json::Value = serde_json::from_str(&list).unwrap();
    assert_eq!(versions.as_array().unwrap().len(), 2, "{versions}");
}

/// With `approval_must_precede_retrain: false` a pending request runs before its approvals,
/// and the audit entry and the retrain record say so; the approval may follow, and the request
/// still runs only once. A withdrawn request never runs.
#[test]
fn a_policy_that_lets_a_retrain_precede_its_approval_is_honoured_and_audited() {
    let site = site_with(|policy| {
        policy.replace(
            "approval_must_precede_retrain: true",
            "approval_must_precede_retrain: false",
        )
    });
    let (code, stdout, stderr) =
        common::otsentry(&["policy", "check", site.policies.split(',').nth(1).unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("a pending request may run before them"),
        "{stdout}"
    );
    let logs = site.dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 300.0));
    let (id, window) = request(&site, "sam", START, START + 15.0 * DAY);
    let out = site.dir.path().join("early.otm");
    let (code, stdout, stderr) = run_retrain(&site, id, &logs, &out);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("registered as candidate"), "{stdout}");

    let entries = common::site::audit_entries(&site.db);
    let start = entries
        .iter()
        .find(|entry| {
            entry["action"] == "run_retrain"
                && entry["reason"]
                    .as_str()
                    .is_some_and(|reason| reason.contains("may start"))
        })
        .expect("the start of the run is audited");
    assert!(
        start["reason"]
            .as_str()
            .unwrap()
            .contains("runs before its approvals are complete (0 of 1)"),
        "{start}"
    );
    let (_, runs, _) = site.run(&["retrain", "list"]);
    let runs: serde_json::Value = serde_json::from_str(&runs).unwrap();
    let run = &runs[0];
    assert!(
        run["approved_by"]
            .as_str()
            .unwrap()
            .starts_with("none (run before approval"),
        "{run}"
    );
    assert_eq!(run["provenance"]["approval"]["approved_before_run"], false);
    assert_eq!(
        run["provenance"]["approval"]["approval_must_precede_retrain"],
        false
    );

    // The approval may follow the run; the request stays spent.
    let (code, _, stderr) = approve(&site, "lee", id, &window, "SIEM-9");
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = run_retrain(&site, id, &logs, &site.dir.path().join("again.otm"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("already run"), "{stderr}");

    // A withdrawn request does not run, even under this policy.
    let (id, _) = request(&site, "alice", START, START + 15.0 * DAY);
    site.block_on(async |governance| {
        let alice = principal(governance, "alice").await;
        governance.withdraw_change(&alice, id).await.unwrap();
    });
    let (code, _, stderr) = run_retrain(&site, id, &logs, &site.dir.path().join("w.otm"));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("is withdrawn"), "{stderr}");
    let verify = common::otsentry(&["audit", "verify", "--db", site.db.to_str().unwrap()]);
    assert_eq!(verify.0, Some(0), "{}\n{}", verify.1, verify.2);
}
