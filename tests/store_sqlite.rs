//! The SQLite store on a real file: WAL mode, migrations, concurrent audit appends that still
//! form one unbroken chain, concurrent readers, and constraint conflicts.

mod common;

use otsentry::audit::verify_chain;
use otsentry::governance::{Actor, GovernanceError, PrincipalKind, Role};
use otsentry::store::{NewAlert, Severity, SqliteStore, Store};
use sqlx::{Connection, Row, SqliteConnection};

fn alert(n: i64) -> NewAlert {
    NewAlert {
        ts: 1_700_000_000_000_000 + n,
        uid: Some(format!("C{n}")),
        src: "10.0.0.5".into(),
        dst: "10.0.1.10".into(),
        port: Some(502),
        protocol: Some("tcp".into()),
        service: Some("modbus".into()),
        score: -0.12,
        reasons: vec!["new edge".into()],
        asset_context: serde_json::json!({"zone": "cell-1"}),
        attack_technique: Some("T0855".into()),
        detector: "iforest".into(),
        severity: Severity::High,
        stable_id: None,
    }
}

#[tokio::test]
async fn the_database_runs_in_wal_mode_with_the_schema_applied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let store = SqliteStore::open(&db).await.expect("opens");
    store.close().await;
    // Opening twice is fine: migrations are versioned and applied once.
    SqliteStore::open(&db).await.expect("reopens").close().await;
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("opens");
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .expect("pragma")
        .get(0);
    assert_eq!(mode, "wal");
    let versions: i64 = sqlx::query("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .expect("table")
        .get(0);
    assert_eq!(versions, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_two_services_form_one_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    // Two services over the same file, as two processes would be.
    let first = common::governance(&db, None).await;
    let second = common::governance(&db, None).await;
    let scorer = first
        .create_principal(
            Actor::Local,
            "scorer-1",
            PrincipalKind::Ai {
                component: otsentry::governance::AiComponent::Scorer,
            },
        )
        .await
        .expect("created");
    let mut tasks = Vec::new();
    for n in 0..40 {
        let governance = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        let scorer = scorer.clone();
        tasks.push(tokio::spawn(async move {
            governance
                .ai_writer(scorer)
                .expect("ai")
                .create_alert(alert(n))
                .await
                .expect("created");
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    let store = SqliteStore::open(&db).await.expect("opens");
    let rows = store.audit_entries().await.expect("rows");
    assert_eq!(rows.len(), 41);
    let report = verify_chain(&rows, None, None).expect("one unbroken chain");
    assert_eq!(report.entries, 41);
    let alerts = second
        .list_alerts(Actor::Local, None, 1000)
        .await
        .expect("readers see every alert");
    assert_eq!(alerts.len(), 40);
    assert_eq!(alerts[0].alert.asset_context["zone"], "cell-1");
}

#[tokio::test]
async fn duplicate_names_are_conflicts_and_the_refusal_is_audited() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let governance = common::governance(&db, None).await;
    let kind = PrincipalKind::Human {
        roles: vec![Role::parse("ot-security-lead").expect("role")],
    };
    governance
        .create_principal(Actor::Local, "lead", kind.clone())
        .await
        .expect("created");
    let again = governance
        .create_principal(Actor::Local, "lead", kind)
        .await;
    assert!(
        matches!(again, Err(GovernanceError::Conflict(_))),
        "{again:?}"
    );
    governance.close().await;
    let store = SqliteStore::open(&db).await.expect("opens");
    let rows = store.audit_entries().await.expect("rows");
    let last: serde_json::Value = serde_json::from_str(&rows[rows.len() - 1].json).expect("json");
    assert_eq!(last["decision"], "refuse", "{last}");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("already exists")),
        "{last}"
    );
}

/// Issue 9: an alert with the pipeline's stable id is stored once; the same id again is a
/// conflict naming the stored alert, while alerts without an id never collide.
#[tokio::test]
async fn an_alert_with_a_stored_stable_id_is_a_conflict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let governance = common::governance(&db, None).await;
    let lead = governance
        .create_principal(
            Actor::Local,
            "lead",
            PrincipalKind::Human {
                roles: vec![Role::parse("ot-security-lead").expect("role")],
            },
        )
        .await
        .expect("created");
    let with_id = |n| NewAlert {
        stable_id: Some("a1b2c3".into()),
        ..alert(n)
    };
    let first = governance
        .create_alert(&lead, with_id(1))
        .await
        .expect("stored");
    assert_eq!(first.alert.stable_id.as_deref(), Some("a1b2c3"));
    let again = governance.create_alert(&lead, with_id(2)).await;
    match again {
        Err(GovernanceError::Conflict(message)) => assert!(
            message.contains(&format!(
                "alert a1b2c3 is already stored (as alert {})",
                first.id
            )),
            "{message}"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }
    for n in 3..5 {
        governance
            .create_alert(&lead, alert(n))
            .await
            .expect("alerts without a stable id are stored");
    }
    let stored = governance
        .list_alerts(Actor::Local, None, 10)
        .await
        .expect("listed");
    assert_eq!(stored.len(), 3);
}

/// Issue 14: a store transaction dropped without its audit entry leaves no trace; committed
/// with it, the rows it wrote are recorded in the entry.
#[tokio::test]
async fn a_write_without_its_audit_entry_never_lands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let governance = common::governance(&db, None).await;
    let created = governance
        .create_principal(
            Actor::Local,
            "scorer-1",
            PrincipalKind::Ai {
                component: otsentry::governance::AiComponent::Scorer,
            },
        )
        .await
        .expect("created");
    governance.close().await;
    let store = SqliteStore::open(&db).await.expect("opens");
    let rows = store.audit_entries().await.expect("rows");
    let entry: otsentry::audit::AuditEntry = serde_json::from_str(&rows[0].json).expect("entry");
    assert_eq!(entry.decision, "applied");
    assert_eq!(entry.effects.len(), 1);
    assert_eq!(entry.effects[0].table, "principals");
    assert_eq!(entry.effects[0].key, created.id.to_string());
    let state = store.state_rows().await.expect("state");
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].row, entry.effects[0].row);
    // A transaction begun and dropped (the process died before committing) changes nothing.
    let tx = store.begin().await.expect("begins");
    drop(tx);
    assert_eq!(store.audit_entries().await.expect("rows").len(), 1);
}
