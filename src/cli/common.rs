//! Arguments and set-up shared by the governance subcommands: the database path, the policy
//! files, the async runtime, and output formats.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::governance::{
    Actor, ConsolePerson, Governance, GovernanceConfig, PolicySet, load_policy,
};
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
    /// Sign audit entries with this ed25519 key file (64 hex digits; see `audit keygen`). The
    /// first use on a log adopts the key; from then on every writer needs it.
    #[arg(long, env = "OTSENTRY_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// The ticketing system's ed25519 public key file (64 hex digits), which verifies
    /// signed-ticket approvals.
    #[arg(long, env = "OTSENTRY_TICKET_KEY")]
    pub ticket_key: Option<PathBuf>,
    /// Hours a change request waits for its approvals before it expires.
    #[arg(long, default_value_t = 72, value_parser = clap::value_parser!(u32).range(1..=8760))]
    pub request_ttl_hours: u32,
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
    let ticket_key = match &args.ticket_key {
        Some(path) => Some(crate::audit::load_verifying_key(path)?),
        None => None,
    };
    let store = open_store(&args.db).await?;
    let governance = Governance::new(
        store,
        policies,
        signer,
        GovernanceConfig {
            shift_hours: args.shift_hours,
            request_ttl_hours: args.request_ttl_hours,
            ticket_key,
            ..GovernanceConfig::default()
        },
    );
    governance
        .prepare_signing(Actor::Local)
        .await
        .with_context(|| format!("cannot write to the audit log of {}", args.db.db.display()))?;
    Ok(governance)
}

/// Opens the governance store, runs `act` on it, and closes the store whatever `act` returned
/// (so a refusal still leaves the database checkpointed and unlocked).
pub async fn with_governance<T>(
    args: &GovArgs,
    act: impl AsyncFnOnce(&Governance<SqliteStore>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let governance = open_governance(args).await?;
    let outcome = act(&governance).await;
    governance.close().await;
    outcome
}

/// Like [`with_governance`], as `person`, who proves who they are with their passphrase on
/// standard input.
pub async fn as_person<T>(
    args: &GovArgs,
    person: &str,
    act: impl AsyncFnOnce(&Governance<SqliteStore>, &ConsolePerson) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    with_governance(args, async |governance| {
        let passphrase = read_passphrase(&format!("passphrase of {person}"))?;
        let me = governance.console_login(person, &passphrase).await?;
        act(governance, &me).await
    })
    .await
}

/// Reads a passphrase from the first line of standard input (a terminal echoes it: prefer
/// piping it from a password manager).
pub fn read_passphrase(prompt: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}: ");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the passphrase from standard input")?;
    let passphrase = line.trim_end_matches(['\n', '\r']).to_string();
    anyhow::ensure!(!passphrase.is_empty(), "no passphrase on standard input");
    Ok(passphrase)
}
