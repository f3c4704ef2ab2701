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
pub mod server;
pub mod site;
