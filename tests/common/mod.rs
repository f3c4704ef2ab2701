//! Helpers shared by the integration tests: a governance service over a real SQLite file in a
//! temporary directory, with the example policies.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use otsentry::governance::{Governance, GovernanceConfig, PolicySet, load_policy};
use otsentry::store::SqliteStore;

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn ai_policy_path() -> PathBuf {
    repo_path("policies/ai_governance_policy.yaml")
}

pub fn policies() -> PolicySet {
    let ai = load_policy(&ai_policy_path()).expect("example policy is valid");
    PolicySet::from_policies(vec![ai]).expect("one ai policy")
}

pub async fn governance(
    db: &Path,
    signer: Option<ed25519_dalek::SigningKey>,
) -> Governance<SqliteStore> {
    let store = SqliteStore::open(db).await.expect("database opens");
    Governance::new(store, policies(), signer, GovernanceConfig::default())
}

/// Runs the real binary and returns (exit code, stdout, stderr).
pub fn otsentry(args: &[&str]) -> (Option<i32>, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
pub mod fake_llm;
pub mod server;

/// A governance service with a site configuration of the test's choosing.
pub async fn governance_with(
    db: &Path,
    signer: Option<ed25519_dalek::SigningKey>,
    config: GovernanceConfig,
) -> Governance<SqliteStore> {
    let store = SqliteStore::open(db).await.expect("database opens");
    Governance::new(store, policies(), signer, config)
}

/// The passphrase every test person chooses (their own, as far as the code can tell).
pub fn passphrase_of(name: &str) -> String {
    format!("{name}'s own passphrase")
}

/// A person enrolled the way people are: the local administrator creates them and issues an
/// enrollment code, and the person redeems it with their own passphrase. Returns the person and
/// their first token.
pub async fn enrolled(
    governance: &Governance<SqliteStore>,
    name: &str,
    roles: &[&str],
) -> (otsentry::governance::Principal, String) {
    use otsentry::governance::{Actor, PrincipalKind, Role};
    let kind = PrincipalKind::Human {
        roles: roles
            .iter()
            .map(|role| Role::parse(role).expect("role"))
            .collect(),
    };
    let principal = governance
        .create_principal(Actor::Local, name, kind)
        .await
        .expect("created");
    let code = governance
        .enroll(Actor::Local, name)
        .await
        .expect("enrollment issued")
        .code;
    let token = governance
        .redeem_enrollment(&code, &passphrase_of(name), Some(30))
        .await
        .expect("redeemed")
        .token;
    (principal, token)
}

/// The ticketing system's key pair (fixed, so tests can write its public key to a file).
pub fn ticket_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
}

/// What the ticketing system signs to approve a change request.
pub fn sign_ticket(
    key: &ed25519_dalek::SigningKey,
    request: &otsentry::store::ChangeRequestRecord,
    ticket_id: &str,
) -> String {
    use ed25519_dalek::Signer;
    let message = otsentry::governance::channel::ticket_message(
        request.id,
        &request.action,
        &request.proposed_value,
        ticket_id,
    );
    hex::encode(key.sign(message.as_bytes()).to_bytes())
}

/// Runs the real binary with `input` on its standard input; returns (exit code, stdout, stderr).
pub fn otsentry_with_input(args: &[&str], input: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(input.as_bytes())
        .expect("writes stdin");
    let output = child.wait_with_output().expect("the binary finishes");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
pub mod site;

/// A stored-alert body with `hostname` (possibly hostile, as off the network) in its asset
/// context: a write from a host that only read.
pub fn sample_alert(n: i64, hostname: &str) -> otsentry::store::NewAlert {
    use otsentry::store::{NewAlert, Severity};
    use serde_json::json;
    NewAlert {
        ts: 1_700_000_000_000_000 + n,
        uid: Some(format!("C{n}")),
        src: "10.0.0.5".into(),
        dst: "10.0.1.20".into(),
        port: Some(502),
        protocol: Some("tcp".into()),
        service: Some("modbus".into()),
        score: -0.12,
        reasons: vec!["write to holding register 40001 from a host that only read".into()],
        asset_context: json!({"src": {"hostname": hostname}}),
        attack_technique: Some("T0855".into()),
        detector: "novelty".into(),
        severity: Severity::High,
        stable_id: None,
    }
}
