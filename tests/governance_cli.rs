//! Local administration through the real binary on a real database file: init, principals,
//! enrollment by the person, tokens shown once and stored as a digest, the alert list,
//! governance status and audit verify.

mod common;

use common::otsentry;
use sqlx::{Connection, Row, SqliteConnection};

#[tokio::test]
async fn an_admin_sets_up_a_site_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("gov.db");
    let db = db_path.to_str().expect("utf-8");
    let policy_path = common::ai_policy_path();
    let policy = policy_path.to_str().expect("utf-8");

    let (code, out, err) = otsentry(&["db", "init", "--db", db]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("is ready"));
    let (code, out, err) = otsentry(&[
        "principal",
        "add",
        "root",
        "--role",
        "admin",
        "--db",
        db,
        "--policy",
        policy,
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("human:root"), "{out}");
    // The person's credentials come from the person: the admin hands over a one-time code.
    let enrollment = out
        .lines()
        .find(|line| line.starts_with("otsenroll_"))
        .expect("an enrollment code")
        .to_string();
    let (code, _, err) = otsentry(&[
        "principal",
        "add",
        "scorer-1",
        "--component",
        "scorer",
        "--db",
        db,
        "--policy",
        policy,
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = otsentry(&[
        "principal",
        "add",
        "root",
        "--role",
        "analyst",
        "--db",
        db,
        "--policy",
        policy,
    ]);
    assert_eq!(code, Some(2), "duplicate names are refused");
    assert!(err.contains("already exists"), "{err}");

    let (code, out, err) = common::otsentry_with_input(
        &[
            "principal",
            "redeem",
            &enrollment,
            "--db",
            db,
            "--policy",
            policy,
        ],
        "root's own long passphrase\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("enrolled root"), "{out}");
    let (code, _, err) = common::otsentry_with_input(
        &[
            "principal",
            "redeem",
            &enrollment,
            "--db",
            db,
            "--policy",
            policy,
        ],
        "someone else's passphrase\n",
    );
    assert_eq!(code, Some(2), "an enrollment code works once");
    assert!(err.contains("already redeemed"), "{err}");
    // Another token for root needs root's passphrase, not just access to the database.
    let create = [
        "token", "create", "root", "--days", "1", "--db", db, "--policy", policy, "--format",
        "json",
    ];
    let (code, _, err) = common::otsentry_with_input(&create, "a guess at it, wrong\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("wrong passphrase"), "{err}");
    let (code, out, err) = common::otsentry_with_input(&create, "root's own long passphrase\n");
    assert_eq!(code, Some(0), "{err}");
    let issued: serde_json::Value = serde_json::from_str(&out).expect("json");
    let token = issued["token"].as_str().expect("token");
    let id = issued["id"].as_str().expect("id");
    assert!(token.starts_with(&format!("ots_{id}_")));

    // Only the SHA-256 digest is stored; the secret appears nowhere in the database file.
    let mut conn = SqliteConnection::connect(&format!("sqlite://{db}"))
        .await
        .expect("opens");
    let digest: String = sqlx::query("SELECT digest FROM tokens WHERE id = ?")
        .bind(id)
        .fetch_one(&mut conn)
        .await
        .expect("row")
        .get(0);
    conn.close().await.expect("closes");
    let secret = token.rsplit('_').next().expect("secret");
    assert_eq!(digest, otsentry::governance::token::digest(secret));
    let bytes = std::fs::read(&db_path).expect("db file");
    let wal = std::fs::read(dir.path().join("gov.db-wal")).unwrap_or_default();
    for haystack in [&bytes, &wal] {
        assert!(
            !haystack
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "secret stored in clear"
        );
    }

    let (code, out, err) = otsentry(&["alert", "list", "--db", db, "--policy", policy]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("severity"), "{out}");
    let (code, out, err) = otsentry(&["governance", "status", "--db", db, "--policy", policy]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("next review:") && out.contains("quarterly"),
        "{out}"
    );
    assert!(out.contains("open reviews: none"), "{out}");
    let (code, _, err) = otsentry(&["token", "revoke", id, "--db", db, "--policy", policy]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = otsentry(&["token", "revoke", id, "--db", db, "--policy", policy]);
    assert_eq!(code, Some(2));
    assert!(err.contains("already revoked"), "{err}");

    let (code, out, err) = otsentry(&["audit", "verify", "--db", db, "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(report["valid"], true);
    assert!(
        report["report"]["entries"].as_u64().expect("count") >= 8,
        "{report}"
    );
}

#[tokio::test]
async fn both_policies_are_enforced_together_and_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("gov.db");
    let db = db_path.to_str().expect("utf-8");
    let ai = common::ai_policy_path();
    let retraining = common::repo_path("policies/retraining_policy.yaml");
    let both = format!("{},{}", ai.display(), retraining.display());
    let (code, out, err) = otsentry(&[
        "governance",
        "status",
        "--db",
        db,
        "--policy",
        &both,
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).expect("json");
    let ai_only = otsentry::governance::load_policy(&ai)
        .expect("valid")
        .sha256;
    assert_ne!(
        status["policy_sha256"].as_str().expect("sha"),
        ai_only,
        "the fingerprint covers both files"
    );

    // Serving records a copy of each policy file in force.
    let governance = {
        let files = vec![
            otsentry::governance::load_policy(&ai).expect("valid"),
            otsentry::governance::load_policy(&retraining).expect("valid"),
        ];
        let set = otsentry::governance::PolicySet::from_policies(files).expect("compatible");
        let store = otsentry::store::SqliteStore::open(&db_path)
            .await
            .expect("opens");
        otsentry::governance::Governance::new(store, set, None, Default::default())
    };
    governance
        .record_policies(otsentry::governance::Actor::Local)
        .await
        .expect("recorded");
    governance.close().await;
    let mut conn = SqliteConnection::connect(&format!("sqlite://{db}"))
        .await
        .expect("opens");
    let kinds: Vec<String> = sqlx::query("SELECT kind FROM policies ORDER BY kind")
        .fetch_all(&mut conn)
        .await
        .expect("rows")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(kinds, ["ai_governance_policy", "retraining_policy"]);

    let (code, _, err) = otsentry(&[
        "governance",
        "status",
        "--db",
        db,
        "--policy",
        &format!("{},{}", ai.display(), ai.display()),
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("more than one ai_governance_policy"), "{err}");
}
