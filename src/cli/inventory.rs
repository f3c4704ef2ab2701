//! `otsentry inventory check FILE...`: checks inventory files as one inventory and explains it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::inventory::{explain, load_inventory};

#[derive(Debug, Args)]
pub struct InventoryArgs {
    #[command(subcommand)]
    pub command: InventoryCommand,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Check inventory files (assets, zones, conduits) together and explain them in plain words;
    /// every mistake is reported with its file and line.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Inventory YAML files, read as one inventory (zones in one file may serve assets in another).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: InventoryArgs) -> anyhow::Result<()> {
    match args.command {
        InventoryCommand::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let names: Vec<String> = args.files.iter().map(|p| p.display().to_string()).collect();
    let inventory = load_inventory(&args.files)
        .with_context(|| format!("inventory {} is not valid", names.join(", ")))?;
    match args.format {
        Format::Text => print!("{}", explain(&inventory)),
        Format::Json => {
            let value = serde_json::json!({
                "files": names,
                "valid": true,
                "zones": inventory.zones.len(),
                "conduits": inventory.conduits.len(),
                "assets": inventory.assets.len(),
                "explanation": explain(&inventory),
            });
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
    }
    Ok(())
}
