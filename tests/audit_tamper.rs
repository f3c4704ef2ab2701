//! The audit log is tamper-evident: each test writes a real log through governance, then edits
//! the SQLite file with a separate connection (as an attacker with the file would) and proves
//! that `otsentry audit verify` names the first modified, removed, reordered or inserted entry.

mod common;

use std::path::Path;

use otsentry::audit::{AuditDraft, AuditEntry, Link, seal};
use otsentry::governance::{Actor, AiComponent, PrincipalKind, Role};
use sqlx::{Connection, Executor, Row, SqliteConnection};

/// Writes a log of at least six entries and closes the database.
async fn write_log(db: &Path, signer: Option<ed25519_dalek::SigningKey>) {
    let governance = common::governance(db, signer).await;
    governance
        .record_policies(Actor::Local)
        .await
        .expect("audited");
    let analyst = PrincipalKind::Human {
        roles: vec![Role::parse("analyst").expect("role")],
    };
    for name in ["alice", "bob", "carol"] {
        governance
            .create_principal(Actor::Local, name, analyst.clone())
            .await
            .expect("created");
    }
    let scorer = PrincipalKind::Ai {
        component: AiComponent::Scorer,
    };
    governance
        .create_principal(Actor::Local, "scorer-1", scorer)
        .await
        .expect("created");
    governance
        .issue_token(Actor::Local, "scorer-1", Some(1))
        .await
        .expect("issued");
    governance.close().await;
}

/// A connection of the attacker's own, with the append-only triggers dropped.
async fn attacker(db: &Path) -> SqliteConnection {
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("opens");
    conn.execute("DROP TRIGGER audit_log_no_update")
        .await
        .expect("drop");
    conn.execute("DROP TRIGGER audit_log_no_delete")
        .await
        .expect("drop");
    conn
}

async fn entry(conn: &mut SqliteConnection, seq: i64) -> AuditEntry {
    let row = sqlx::query("SELECT entry FROM audit_log WHERE seq = ?")
        .bind(seq)
        .fetch_one(&mut *conn)
        .await
        .expect("row");
    serde_json::from_str(row.get::<String, _>("entry").as_str()).expect("entry json")
}

fn verify(db: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let db = db.to_str().expect("utf-8 path");
    let mut args = vec!["audit", "verify", "--db", db];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = common::otsentry(&args);
    (code, format!("{stdout}{stderr}"))
}

fn assert_broken(db: &Path, expected: &str) {
    let (code, output) = verify(db, &[]);
    assert_eq!(code, Some(2), "verify should fail: {output}");
    assert!(
        output.contains(expected),
        "expected `{expected}` in: {output}"
    );
}

#[tokio::test]
async fn an_untouched_log_verifies() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let (code, output) = verify(&db, &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("audit chain intact: 6 entries"), "{output}");
    let (_, exported, _) =
        common::otsentry(&["audit", "export", "--db", db.to_str().expect("utf-8")]);
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.len(), 6);
    let first: serde_json::Value = serde_json::from_str(lines[0]).expect("json line");
    for key in [
        "time",
        "principal",
        "action",
        "resource",
        "decision",
        "reason",
        "policy_sha256",
        "prev_hash",
        "hash",
    ] {
        assert!(first.get(key).is_some(), "entry lacks {key}: {first}");
    }
}

#[tokio::test]
async fn the_database_itself_refuses_updates_and_deletes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("opens");
    let update = conn
        .execute("UPDATE audit_log SET entry = '{}' WHERE seq = 1")
        .await;
    assert!(update.is_err_and(|error| error.to_string().contains("append-only")));
    let delete = conn.execute("DELETE FROM audit_log WHERE seq = 1").await;
    assert!(delete.is_err_and(|error| error.to_string().contains("append-only")));
}

#[tokio::test]
async fn a_modified_entry_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let mut conn = attacker(&db).await;
    conn.execute(
        "UPDATE audit_log SET entry = json_set(entry, '$.decision', 'deny') WHERE seq = 3",
    )
    .await
    .expect("tamper");
    assert_broken(&db, "entry 3 was modified");
}

#[tokio::test]
async fn a_modified_entry_with_a_recomputed_hash_breaks_the_next_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let mut conn = attacker(&db).await;
    let mut forged = entry(&mut conn, 3).await;
    forged.principal = "human:mallory".into();
    forged.hash = forged.compute_hash();
    sqlx::query("UPDATE audit_log SET entry = ?, hash = ? WHERE seq = 3")
        .bind(forged.to_json())
        .bind(&forged.hash)
        .execute(&mut conn)
        .await
        .expect("tamper");
    assert_broken(
        &db,
        "entry 4 does not link to entry 3: entry 3 was rewritten",
    );
}

#[tokio::test]
async fn a_removed_entry_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let mut conn = attacker(&db).await;
    conn.execute("DELETE FROM audit_log WHERE seq = 3")
        .await
        .expect("tamper");
    assert_broken(&db, "entry 3 was removed");
}

#[tokio::test]
async fn reordered_entries_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let mut conn = attacker(&db).await;
    // Swap the stored rows 2 and 3, keeping each row's position.
    conn.execute("UPDATE audit_log SET seq = 1002 WHERE seq = 2")
        .await
        .expect("move");
    conn.execute("UPDATE audit_log SET seq = 2 WHERE seq = 3")
        .await
        .expect("move");
    conn.execute("UPDATE audit_log SET seq = 3 WHERE seq = 1002")
        .await
        .expect("move");
    assert_broken(&db, "entry 2 was reordered: it is stored at position 3");
}

#[tokio::test]
async fn an_inserted_entry_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let mut conn = attacker(&db).await;
    // Make room after entry 2 and insert a well-formed entry that links to entry 2.
    conn.execute("UPDATE audit_log SET seq = seq + 1000 WHERE seq >= 3")
        .await
        .expect("shift");
    conn.execute("UPDATE audit_log SET seq = seq - 999 WHERE seq >= 1003")
        .await
        .expect("shift");
    let second = entry(&mut conn, 2).await;
    let draft = AuditDraft {
        principal: "human:mallory".into(),
        action: "approve_change".into(),
        resource: "change_request:1:change_threshold".into(),
        decision: "allow".into(),
        reason: "looks fine".into(),
        policy_sha256: second.policy_sha256.clone(),
    };
    let link = Link {
        seq: 3,
        prev_hash: &second.hash,
        effects: Vec::new(),
    };
    let forged = seal(draft, link, second.time.clone(), None);
    sqlx::query("INSERT INTO audit_log (seq, entry, hash) VALUES (3, ?, ?)")
        .bind(forged.to_json())
        .bind(&forged.hash)
        .execute(&mut conn)
        .await
        .expect("insert");
    assert_broken(&db, "an entry was inserted at position 3");
}

#[tokio::test]
async fn a_forged_entry_appended_at_the_end_fails_signature_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let key = dir.path().join("audit.key");
    let public = dir.path().join("audit.pub");
    let signer = otsentry::audit::write_new_signing_key(&key, &public).expect("keys");
    write_log(&db, Some(signer)).await;
    let public_arg = public.to_str().expect("utf-8");
    let (code, output) = verify(&db, &["--public-key", public_arg]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("every signature valid"), "{output}");

    // Append a perfectly chained entry: only the missing signature betrays it.
    let mut conn = attacker(&db).await;
    let last = entry(&mut conn, 6).await;
    let draft = AuditDraft {
        principal: "human:mallory".into(),
        action: "close_alert".into(),
        resource: "alert:1".into(),
        decision: "allow".into(),
        reason: "operational roles may close_alert".into(),
        policy_sha256: last.policy_sha256.clone(),
    };
    let link = Link {
        seq: 7,
        prev_hash: &last.hash,
        effects: Vec::new(),
    };
    let forged = seal(draft, link, last.time.clone(), None);
    sqlx::query("INSERT INTO audit_log (seq, entry, hash) VALUES (7, ?, ?)")
        .bind(forged.to_json())
        .bind(&forged.hash)
        .execute(&mut conn)
        .await
        .expect("insert");
    let (code, output) = verify(&db, &["--public-key", public_arg]);
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("entry 7 has no valid signature"),
        "{output}"
    );
}

#[tokio::test]
async fn removing_the_newest_entries_is_caught_against_a_recorded_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let (code, output) = verify(&db, &["--format", "json"]);
    assert_eq!(code, Some(0), "{output}");
    let report: serde_json::Value = serde_json::from_str(&output).expect("json");
    let head = report["report"]["head"].as_str().expect("head").to_string();
    // The log may grow after the head was recorded.
    write_log_more(&db).await;
    let (code, output) = verify(&db, &["--head", &head]);
    assert_eq!(code, Some(0), "{output}");

    let mut conn = attacker(&db).await;
    conn.execute("DELETE FROM audit_log WHERE seq >= 6")
        .await
        .expect("truncate");
    // Issue 14: the head anchored beside the database catches the truncation by itself.
    assert_broken(&db, "the log was truncated or rewritten");
    let (code, output) = verify(&db, &["--head", &head]);
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains(&format!("no longer contains the recorded head {head}")),
        "{output}"
    );
    // Removing the anchor too is named as such.
    std::fs::remove_file(anchor_of(&db)).expect("anchor removed");
    assert_broken(&db, "no chain head is anchored beside the database");
}

fn anchor_of(db: &Path) -> std::path::PathBuf {
    db.with_file_name(format!(
        "{}.audit-head",
        db.file_name().expect("name").to_string_lossy()
    ))
}

async fn write_log_more(db: &Path) {
    let governance = common::governance(db, None).await;
    governance
        .issue_token(Actor::Local, "scorer-1", None)
        .await
        .expect("issued");
    governance.close().await;
}

/// A log with state behind it: people enrolled, an AI principal whose token was revoked, an
/// alert closed, and a threshold changed by two approvals.
async fn write_state(db: &Path) {
    use otsentry::governance::{Action, AnalystDecision, ApprovalEvidence};
    use otsentry::store::{AlertDecision, NewAlert, Severity};
    let governance = common::governance(db, None).await;
    let (alice, _) = common::enrolled(&governance, "alice", &["analyst"]).await;
    let (sam, _) = common::enrolled(&governance, "sam", &["ot-security-lead"]).await;
    let (erin, _) = common::enrolled(&governance, "erin", &["ot-engineering-lead"]).await;
    let scorer = governance
        .create_principal(
            Actor::Local,
            "scorer-1",
            PrincipalKind::Ai {
                component: AiComponent::Scorer,
            },
        )
        .await
        .expect("created");
    let token = governance
        .issue_token(Actor::Local, "scorer-1", None)
        .await
        .expect("issued");
    let alert = governance
        .ai_writer(scorer)
        .expect("ai")
        .create_alert(NewAlert {
            ts: 1_700_000_000_000_000,
            uid: None,
            src: "10.0.0.5".into(),
            dst: "10.0.1.10".into(),
            port: Some(502),
            protocol: Some("tcp".into()),
            service: Some("modbus".into()),
            score: -0.12,
            reasons: vec!["new edge".into()],
            asset_context: serde_json::json!({}),
            attack_technique: None,
            detector: "iforest".into(),
            severity: Severity::High,
            stable_id: None,
        })
        .await
        .expect("alert");
    governance
        .revoke_token(Actor::Local, &token.id)
        .await
        .expect("revoked");
    governance
        .decide_alert(
            &alice,
            alert.id,
            AnalystDecision {
                decision: AlertDecision::Close,
                justification: Some("maintenance window, work order 4411".into()),
                severity: None,
                expected_version: None,
            },
        )
        .await
        .expect("closed");
    let filed = governance
        .request_change(&alice, Action::ChangeThreshold, "-0.2", "noise")
        .await
        .expect("filed");
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
}

/// Issue 14: direct edits of the state tables verified as intact before; now `audit verify`
/// replays the log and names every row it does not explain.
#[tokio::test]
async fn r14_direct_edits_of_the_security_state_are_named() {
    let template = tempfile::tempdir().expect("tempdir");
    let original = template.path().join("gov.db");
    write_state(&original).await;
    let (code, output) = verify(&original, &[]);
    assert_eq!(code, Some(0), "{output}");

    let cases: &[(&str, &[&str])] = &[
        (
            "UPDATE principals SET kind = 'human', roles = '[\"admin\"]', component = NULL WHERE name = 'scorer-1'",
            &[
                "principals 4: ",
                "kind is \"human\" but the log says \"ai\"",
            ],
        ),
        (
            "UPDATE alerts SET status = 'open'",
            &[
                "alerts 1: ",
                "status is \"open\" but the log says \"closed\"",
            ],
        ),
        (
            "UPDATE tokens SET revoked_at = NULL WHERE principal_id = 4",
            &["tokens ", "revoked_at is null"],
        ),
        (
            "UPDATE settings SET value = '-0.9' WHERE name = 'detection_threshold'",
            &["settings detection_threshold: value is \"-0.9\" but the log says \"-0.2\""],
        ),
        (
            "INSERT INTO principals (name, kind, roles, created_at) VALUES ('mallory', 'human', '[\"admin\"]', 0)",
            &["principals 5: no audit entry wrote this row"],
        ),
        (
            "DELETE FROM approvals WHERE id = 1",
            &["approvals 1: entry ", "wrote this row, and it is gone"],
        ),
    ];
    for (index, (sql, expected)) in cases.iter().enumerate() {
        let dir = template.path().join(format!("case{index}"));
        std::fs::create_dir(&dir).expect("dir");
        for name in ["gov.db", "gov.db.audit-head"] {
            std::fs::copy(template.path().join(name), dir.join(name)).expect("copied");
        }
        let db = dir.join("gov.db");
        let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .expect("opens");
        conn.execute(*sql).await.expect("tamper");
        conn.close().await.expect("closes");
        let (code, output) = verify(&db, &[]);
        assert_eq!(code, Some(2), "{sql}: {output}");
        assert!(
            output.contains("not explained by the audit log"),
            "{output}"
        );
        for fragment in *expected {
            assert!(
                output.contains(fragment),
                "{sql}: expected `{fragment}` in {output}"
            );
        }
    }

    // Deleting every audit row: the anchored head names the truncation; without the anchor file
    // as well, every row of the state is unexplained.
    let mut conn = attacker(&original).await;
    conn.execute("DELETE FROM audit_log").await.expect("wiped");
    conn.close().await.expect("closes");
    assert_broken(&original, "the log was truncated or rewritten");
    std::fs::remove_file(anchor_of(&original)).expect("anchor removed");
    let (code, output) = verify(&original, &[]);
    assert_eq!(code, Some(2), "{output}");
    assert!(
        output.contains("principals 1: no audit entry wrote this row"),
        "{output}"
    );
}

/// Issue 14: signing is adopted on an existing log by a signed entry; a command run without the
/// key is refused instead of leaving an unsigned entry that would fail verification for good.
#[tokio::test]
async fn r14_signing_is_adopted_and_a_command_without_the_key_cannot_break_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    write_log(&db, None).await;
    let key = dir.path().join("audit.key");
    let public = dir.path().join("audit.pub");
    otsentry::audit::write_new_signing_key(&key, &public).expect("keys");
    let (db_arg, key_arg, public_arg) = (
        db.to_str().expect("utf-8"),
        key.to_str().expect("utf-8"),
        public.to_str().expect("utf-8"),
    );
    let policy = common::ai_policy_path();
    let policy_arg = policy.to_str().expect("utf-8");
    let (code, out, err) = common::otsentry(&[
        "audit",
        "adopt-key",
        "--db",
        db_arg,
        "--policy",
        policy_arg,
        "--signing-key",
        key_arg,
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, output) = verify(&db, &["--public-key", public_arg]);
    assert_eq!(code, Some(0), "{output}");

    let add = |name: &str, signing: Option<&str>| {
        let mut args = vec![
            "principal",
            "add",
            name,
            "--component",
            "triage",
            "--db",
            db_arg,
            "--policy",
            policy_arg,
        ];
        if let Some(key) = signing {
            args.extend_from_slice(&["--signing-key", key]);
        }
        common::otsentry(&args)
    };
    let (code, _, err) = add("triage-1", None);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("the audit log is signed"), "{err}");
    let (code, output) = verify(&db, &["--public-key", public_arg]);
    assert_eq!(code, Some(0), "the refused command left no trace: {output}");
    let (code, _, err) = add("triage-1", Some(key_arg));
    assert_eq!(code, Some(0), "{err}");
    let (code, output) = verify(&db, &[]);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("every signature valid"), "{output}");

    // After the adoption, an unsigned entry is caught even without --public-key.
    let mut conn = attacker(&db).await;
    let row: (i64, String) =
        sqlx::query_as("SELECT seq, entry FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_one(&mut conn)
            .await
            .expect("row");
    let last: AuditEntry = serde_json::from_str(&row.1).expect("entry");
    let draft = AuditDraft {
        principal: "human:mallory".into(),
        action: "close_alert".into(),
        resource: "alert:1".into(),
        decision: "applied".into(),
        reason: "looks fine".into(),
        policy_sha256: last.policy_sha256.clone(),
    };
    let link = Link {
        seq: row.0 + 1,
        prev_hash: &last.hash,
        effects: Vec::new(),
    };
    let forged = seal(draft, link, last.time.clone(), None);
    sqlx::query("INSERT INTO audit_log (seq, entry, hash) VALUES (?, ?, ?)")
        .bind(forged.seq)
        .bind(forged.to_json())
        .bind(&forged.hash)
        .execute(&mut conn)
        .await
        .expect("insert");
    assert_broken(&db, &format!("entry {} has no valid signature", row.0 + 1));
}
