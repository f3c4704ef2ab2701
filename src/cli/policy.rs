//! `otsentry policy check FILE`: validates a policy file of either kind and explains it.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::governance::policy::{explain, load_policy};

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file (ai_governance_policy or retraining_policy) and explain it in plain words.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy YAML file.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: PolicyArgs) -> anyhow::Result<()> {
    match args.command {
        PolicyCommand::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let policy = load_policy(&args.file)
        .with_context(|| format!("policy {} is not valid", args.file.display()))?;
    match args.format {
        // `write!`, not `print!`: a closed pipe is an error `main` ends quietly, not a panic.
        Format::Text => write!(std::io::stdout(), "{}", explain(&policy))?,
        Format::Json => {
            let value = serde_json::json!({
                "file": args.file.display().to_string(),
                "kind": policy.kind_name(),
                "system_id": policy.system_id(),
                "sha256": policy.sha256,
                "valid": true,
                "explanation": explain(&policy),
            });
            writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&value)?
            )?;
        }
    }
    Ok(())
}
