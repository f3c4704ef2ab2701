//! Issue 14: a policy file edited while the server runs is not silently adopted at the next
//! start. The real binary refuses to serve a different policy set until its change was approved
//! under the approved policy, and then records the adoption with the diff.

mod common;

use otsentry::governance::{
    Action, ApprovalEvidence, Governance, GovernanceConfig, PolicySet, load_policy,
};
use otsentry::store::SqliteStore;

fn serve_once(db: &std::path::Path, policy: &std::path::Path) -> (Option<i32>, String) {
    use std::io::{BufRead, BufReader};
    // A server that starts is stopped as soon as it listens (the signal may arrive before its
    // handler is installed, so the exit code says nothing then); one that refuses exits by itself.
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--policy")
        .arg(policy)
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let mut stderr = String::new();
    for line in BufReader::new(server.stderr.take().expect("piped")).lines() {
        let line = line.expect("utf-8");
        stderr.push_str(&line);
        stderr.push('\n');
        if line.starts_with("listening on") {
            let pid = server.id().to_string();
            let sent = std::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .expect("kill runs");
            assert!(sent.success());
        }
    }
    (server.wait().expect("finishes").code(), stderr)
}

#[tokio::test]
async fn r14_a_changed_policy_is_refused_until_its_change_is_approved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let policy = dir.path().join("ai_governance_policy.yaml");
    let original = std::fs::read_to_string(common::ai_policy_path()).expect("policy");
    std::fs::write(&policy, &original).expect("copied");
    let (_, err) = serve_once(&db, &policy);
    assert!(
        err.contains("listening on"),
        "the first start records the approved policy: {err}"
    );

    let edited = original.replace("frequency: quarterly", "frequency: annually");
    assert_ne!(edited, original);
    std::fs::write(&policy, &edited).expect("edited");
    let new_sha = load_policy(&policy).expect("valid").sha256;
    let (code, err) = serve_once(&db, &policy);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("differ from the approved policy"), "{err}");
    assert!(
        err.contains(&new_sha),
        "the message names the new set: {err}"
    );

    // Under the approved policy, people file and approve the change.
    let approved = PolicySet::from_policies(vec![
        otsentry::governance::parse_policy(&original, "approved").expect("valid"),
    ])
    .expect("set");
    let store = SqliteStore::open(&db).await.expect("opens");
    let governance = Governance::new(store, approved, None, GovernanceConfig::default());
    let (alice, _) = common::enrolled(&governance, "alice", &["analyst"]).await;
    let (sam, _) = common::enrolled(&governance, "sam", &["ot-security-lead"]).await;
    let (erin, _) = common::enrolled(&governance, "erin", &["ot-engineering-lead"]).await;
    let filed = governance
        .request_change(
            &alice,
            Action::ChangePolicy,
            &new_sha,
            "annual reviews suffice",
        )
        .await
        .expect("filed");
    // The policy names no requirement for its own change: its strictest one applies (two people).
    for (approver, code) in [(&sam, 0), (&erin, 1)] {
        governance
            .approve(
                approver,
                filed.request.id,
                ApprovalEvidence::OutOfBand {
                    code: &filed.confirmation_codes[code],
                },
                None,
            )
            .await
            .expect("approved");
    }
    governance.close().await;

    let (_, err) = serve_once(&db, &policy);
    assert!(err.contains("listening on"), "{err}");
    let (_, log, _) = common::otsentry(&["audit", "export", "--db", db.to_str().expect("utf-8")]);
    let adoption = log
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("json"))
        .find(|entry| {
            entry["action"] == "enforce_policy"
                && entry["reason"]
                    .as_str()
                    .is_some_and(|reason| reason.contains("adopted in place of"))
        })
        .expect("the adoption is audited");
    let reason = adoption["reason"].as_str().expect("reason");
    assert!(reason.contains("-    frequency: quarterly"), "{reason}");
    assert!(reason.contains("+    frequency: annually"), "{reason}");
    assert!(
        log.contains("\"decision\":\"refuse\""),
        "the refused start is audited"
    );
    let (code, out, err) =
        common::otsentry(&["audit", "verify", "--db", db.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out}{err}");
}
