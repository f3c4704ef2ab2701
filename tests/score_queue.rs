//! `otsentry score --alert-queue` and `otsentry watch --alert-queue`: every opened alert stored in
//! the governance database through the detectors' AI handle, each an audit entry, with a real
//! SQLite file and the real binary; the wrong principal refused before any log is read.

mod common;
mod plant_logs;

use std::path::Path;

use otsentry::governance::{Actor, AiComponent, PrincipalKind};
use plant_logs::*;

/// A trained model and a day with one new host polling a PLC (one alert across both log streams).
fn model_and_day(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let logs = dir.join("baseline");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model = dir.join("plant.model");
    train(&logs, &model, &[]);
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
    let day = dir.join("day16");
    write_logs(&day, &polls);
    (model, day)
}

/// A governance database with the detectors' scorer and the triage assistant as AI principals.
async fn governance_with_scorer_and_triage(
    db: &Path,
) -> otsentry::governance::Governance<otsentry::store::SqliteStore> {
    let governance = common::governance(db, None).await;
    for (name, component) in [
        ("scorer-1", AiComponent::Scorer),
        ("triage-1", AiComponent::Triage),
    ] {
        governance
            .create_principal(Actor::Local, name, PrincipalKind::Ai { component })
            .await
            .unwrap();
    }
    governance
}

/// The alerts a run opened (its JSON lines), checked against the count it says it stored.
fn opened_and_stored(stdout: &str, stderr: &str) -> Vec<serde_json::Value> {
    let opened: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|alert| alert["event"]["action"] == "alert_opened")
        .collect();
    assert!(!opened.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "{} alerts stored in the alert queue",
            opened.len()
        )),
        "{stderr}"
    );
    opened
}

/// How many audit entries record a stored alert.
fn created_alert_entries(db: &Path) -> usize {
    common::site::audit_entries(db)
        .iter()
        .filter(|entry| entry.to_string().contains("create_alert"))
        .count()
}

fn audit_verifies(db: &Path) {
    let (code, _, stderr) = common::otsentry(&["audit", "verify", "--db", db.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[tokio::test]
async fn opened_alerts_are_stored_through_the_scorers_handle_and_audited() {
    let dir = tempfile::tempdir().unwrap();
    let (model, day) = model_and_day(dir.path());
    let db = dir.path().join("gov.db");
    let governance = governance_with_scorer_and_triage(&db).await;
    let policy = common::ai_policy_path();
    let score = |principal: &str| {
        common::otsentry(&[
            "score",
            "--log",
            day.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--format",
            "json",
            "--alert-queue",
            db.to_str().unwrap(),
            "--queue-as",
            principal,
            "--queue-policy",
            policy.to_str().unwrap(),
        ])
    };

    // The triage assistant is not the detectors: refused before any log is read.
    let (code, stdout, stderr) = score("triage-1");
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("is not the detectors' scorer (an AI principal of component scorer)"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");

    let (code, stdout, stderr) = score("scorer-1");
    assert_eq!(code, Some(0), "{stderr}");
    let opened = opened_and_stored(&stdout, &stderr);

    let stored = governance
        .list_alerts(Actor::Local, None, 1000)
        .await
        .unwrap();
    assert_eq!(stored.len(), opened.len());
    let new_source = stored
        .iter()
        .find(|record| record.alert.src == "10.66.6.6")
        .expect("the new source's alert is stored");
    assert_eq!(new_source.alert.detector, "novelty.new_source");
    assert_eq!(new_source.alert.severity.as_str(), "high");
    assert_eq!(new_source.alert.dst, "10.0.1.2");
    assert_eq!(new_source.alert.port, Some(502));
    assert_eq!(new_source.alert.attack_technique.as_deref(), Some("T0848"));
    assert!(
        new_source
            .alert
            .reasons
            .iter()
            .any(|reason| reason.starts_with("new source 10.66.6.6")),
        "{:?}",
        new_source.alert.reasons
    );
    assert_eq!(new_source.alert.uid.as_deref(), Some("CNEWSOURCE0001"));

    // Every stored alert is an audit entry by the scorer, and the log verifies.
    assert_eq!(created_alert_entries(&db), opened.len());
    audit_verifies(&db);

    // Each stored alert carries the pipeline's stable id, the one the SIEM line has.
    let mut stable: Vec<&str> = stored
        .iter()
        .map(|record| record.alert.stable_id.as_deref().expect("a stable id"))
        .collect();
    let mut sent: Vec<&str> = opened
        .iter()
        .map(|alert| alert["otsentry"]["alert_id"].as_str().unwrap())
        .collect();
    stable.sort_unstable();
    sent.sort_unstable();
    assert_eq!(stable, sent);

    // The same logs scored again: every alert is already in the queue, none is stored twice,
    // and the refusals keep the log verifiable.
    let (code, _, stderr) = score("scorer-1");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "0 alerts stored in the alert queue of {} ({} already there from an earlier run, not stored again)",
            db.display(),
            opened.len()
        )),
        "{stderr}"
    );
    let again = governance
        .list_alerts(Actor::Local, None, 1000)
        .await
        .unwrap();
    assert_eq!(again.len(), opened.len());
    audit_verifies(&db);
}

#[tokio::test]
async fn watch_stores_opened_alerts_through_the_scorers_handle_and_refuses_another_principal() {
    let dir = tempfile::tempdir().unwrap();
    let (model, day) = model_and_day(dir.path());
    let db = dir.path().join("gov.db");
    let governance = governance_with_scorer_and_triage(&db).await;
    let policy = common::ai_policy_path();
    let state = dir.path().join("state");
    let watch = |principal: &str| {
        common::otsentry(&[
            "watch",
            "--log",
            day.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--siem",
            "-",
            "--state-dir",
            state.to_str().unwrap(),
            "--exit-when-idle",
            "--poll-ms",
            "20",
            "--alert-queue",
            db.to_str().unwrap(),
            "--queue-as",
            principal,
            "--queue-policy",
            policy.to_str().unwrap(),
        ])
    };

    let (code, stdout, stderr) = watch("triage-1");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("is not the detectors' scorer (an AI principal of component scorer)"),
        "{stderr}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        !stderr.contains("watching"),
        "refused before following: {stderr}"
    );
    assert!(
        !state.join("watch.checkpoint.json").exists(),
        "no log was read"
    );
    let (code, _, stderr) = watch("nobody");
    assert_ne!(code, Some(0), "{stderr}");
    assert!(stderr.contains("nobody"), "{stderr}");

    let (code, stdout, stderr) = watch("scorer-1");
    assert_eq!(code, Some(0), "{stderr}");
    let opened = opened_and_stored(&stdout, &stderr);
    let stored = governance
        .list_alerts(Actor::Local, None, 1000)
        .await
        .unwrap();
    assert_eq!(stored.len(), opened.len());
    for alert in &opened {
        let src = alert["source"]["ip"].as_str().unwrap();
        assert!(
            stored.iter().any(|record| record.alert.src == src),
            "{src} is not stored"
        );
    }
    assert_eq!(created_alert_entries(&db), opened.len());
    // Read again from the start (no checkpoint): every alert is known by its id, none stored twice.
    std::fs::remove_dir_all(&state).unwrap();
    let (code, _, stderr) = watch("scorer-1");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "0 alerts stored in the alert queue of {}",
            db.display()
        )) && stderr.contains(&format!("({} already there", opened.len())),
        "{stderr}"
    );
    let again = governance
        .list_alerts(Actor::Local, None, 1000)
        .await
        .unwrap();
    assert_eq!(again.len(), stored.len());
    audit_verifies(&db);
}
