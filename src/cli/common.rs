//! Arguments and set-up shared by the governance subcommands: the database path, the policy
//! files, the async runtime, and output formats.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::governance::{Governance, GovernanceConfig, PolicySet, load_policy};
use crate::store::SqliteStore;

/// Where the database is.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The SQLite database file (created if missing).
    #[arg(long, env = "OTSENTRY_DB")]
    pub db: PathBuf,
}

/// The database and the policies in force.
#[derive(Debug, Args)]
pub struct GovArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Policy files in force: one ai_governance_policy, optionally one retraining_policy.
    #[arg(
        long = "policy",
        env = "OTSENTRY_POLICY",
        value_delimiter = ',',
        required = true
    )]
    pub policies: Vec<PathBuf>,
    /// Length of a shift in hours, for false-positive clusters.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=24))]
    pub shift_hours: u32,
    /// Sign audit entries with this ed25519 key file (64 hex digits; see `audit keygen`).
    #[arg(long, env = "OTSENTRY_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// A runtime for one command.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub async fn open_store(db: &DbArgs) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(&db.db)
        .await
        .with_context(|| format!("cannot open database {}", db.db.display()))
}

/// Loads the policies and opens the governance service over the database.
pub async fn open_governance(args: &GovArgs) -> anyhow::Result<Governance<SqliteStore>> {
    let mut files = Vec::new();
    for path in &args.policies {
        files.push(
            load_policy(path).with_context(|| format!("policy {} is not valid", path.display()))?,
        );
    }
    let policies =
        PolicySet::from_policies(files).context("the policies cannot be enforced together")?;
    let signer = match &args.signing_key {
        Some(path) => Some(crate::audit::load_signing_key(path)?),
        None => None,
    };
    let store = open_store(&args.db).await?;
    Ok(Governance::new(
        store,
        policies,
        signer,
        GovernanceConfig {
            shift_hours: args.shift_hours,
        },
    ))
}
