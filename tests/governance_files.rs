//! The governance files on disk (issue 14): the database, its WAL and shared-memory files and the
//! audit signing key are created readable by their owner only; `audit keygen` never overwrites a
//! key; `token create` into a closed pipe is a success once the token is issued.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::server::Server;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn the_database_and_its_wal_and_shm_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gov.db");
    // The server keeps the database open, so its -wal and -shm files exist while it runs.
    let server = Server::start(&db, &common::ai_policy_path());
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.path().join(format!("gov.db{suffix}"));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    drop(server);
}

#[test]
fn keygen_writes_a_private_key_and_never_overwrites_one() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let public = dir.path().join("audit.pub");
    let args = [
        "audit",
        "keygen",
        "--key",
        key.to_str().unwrap(),
        "--public",
        public.to_str().unwrap(),
    ];
    let (code, _, stderr) = common::otsentry(&args);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(mode(&key), 0o600);
    let first = std::fs::read_to_string(&key).unwrap();
    let first_public = std::fs::read_to_string(&public).unwrap();

    let (code, _, stderr) = common::otsentry(&args);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("already exists") && stderr.contains("audit.key"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&key).unwrap(), first);
    assert_eq!(std::fs::read_to_string(&public).unwrap(), first_public);

    // A public key left alone is not overwritten either, and no private key is made for it.
    std::fs::remove_file(&key).unwrap();
    let (code, _, stderr) = common::otsentry(&args);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("audit.pub"), "{stderr}");
    assert!(!key.exists());
}

#[test]
fn token_create_into_a_closed_pipe_succeeds_once_the_token_is_issued() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gov.db");
    let db = db.to_str().unwrap();
    let policy = common::ai_policy_path();
    let policy = policy.to_str().unwrap();
    let (code, _, stderr) = common::otsentry(&[
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
    assert_eq!(code, Some(0), "{stderr}");
    // A person's token needs their passphrase; an AI identity's is issued by the local admin.
    // As `otsentry token create scorer-1 | head -0`: the reader is gone before anything is written.
    let mut child = Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args([
            "token", "create", "scorer-1", "--days", "1", "--db", db, "--policy", policy,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("finishes");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let entries = common::site::audit_entries(Path::new(db));
    assert!(
        entries.iter().any(|entry| entry["action"] == "issue_token"),
        "the token was not issued: {entries:#?}"
    );
}
