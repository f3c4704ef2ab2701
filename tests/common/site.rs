//! A database with the usual principals and a token each, made through the library before a
//! server is started on it.

use std::path::PathBuf;

use otsentry::governance::{Actor, AiComponent, PrincipalKind};

/// The database and one token per principal: admin, alice (analyst), sam (security lead),
/// scorer-1 and triage-1.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub admin: String,
    pub alice: String,
    pub lead: String,
    pub scorer: String,
    pub triage: String,
}

pub async fn site() -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let governance = super::governance(&db, None).await;
    let mut tokens = Vec::new();
    // People enroll themselves (nobody issues a person's credentials); AI components get a
    // token from the local administrator.
    for (name, roles) in [
        ("admin", &["admin"]),
        ("alice", &["analyst"]),
        ("sam", &["ot-security-lead"]),
    ] {
        tokens.push(super::enrolled(&governance, name, roles).await.1);
    }
    for (name, component) in [
        ("scorer-1", AiComponent::Scorer),
        ("triage-1", AiComponent::Triage),
    ] {
        governance
            .create_principal(Actor::Local, name, PrincipalKind::Ai { component })
            .await
            .expect("created");
        tokens.push(
            governance
                .issue_token(Actor::Local, name, Some(30))
                .await
                .expect("issued")
                .token,
        );
    }
    // Dropped rather than closed through `store()`, which governance may stop exposing; every
    // write above is committed, so the server's own connections see it.
    drop(governance);
    let mut tokens = tokens.into_iter();
    let mut next = || tokens.next().expect("token");
    Site {
        admin: next(),
        alice: next(),
        lead: next(),
        scorer: next(),
        triage: next(),
        dir,
        db,
    }
}

/// The audit log of `db` as parsed JSON lines, read with the real binary.
pub fn audit_entries(db: &std::path::Path) -> Vec<serde_json::Value> {
    let (code, stdout, stderr) =
        super::otsentry(&["audit", "export", "--db", db.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{stderr}");
    stdout
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect()
}
