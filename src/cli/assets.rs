//! `otsentry assets discover`: a candidate inventory from traffic, and its differences from a
//! written inventory.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use crate::inventory::discover::{
    candidate, candidate_header, compare, describe_differences, read_traffic,
};
use crate::inventory::load_inventory;

#[derive(Debug, Args)]
pub struct AssetsArgs {
    #[command(subcommand)]
    pub command: AssetsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AssetsCommand {
    Discover(DiscoverArgs),
}

/// Build a candidate inventory from Zeek logs and, given an inventory, show where they differ.
///
/// Roles come from who serves and who polls which protocol; partners, function codes and active
/// hours are written in each asset's notes. Traffic shows the network as it is, not as it should
/// be: the candidate is a draft for an engineer to review, never an approval of what it saw.
/// The candidate YAML goes to --out, or to standard output (the report then goes to standard
/// error).
#[derive(Debug, Args)]
pub struct DiscoverArgs {
    /// Zeek log files or directories (conn.log and the ICSNPP protocol logs).
    #[arg(long = "log", required = true)]
    pub logs: Vec<PathBuf>,
    /// Inventory files to compare with: unknown hosts, silent assets, unexpected partners, type
    /// differences and flows outside conduits.
    #[arg(long = "inventory")]
    pub inventory: Vec<PathBuf>,
    /// Write the candidate inventory here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Format of the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

pub fn run(args: AssetsArgs) -> anyhow::Result<()> {
    match args.command {
        AssetsCommand::Discover(args) => discover(args),
    }
}

fn discover(args: DiscoverArgs) -> anyhow::Result<()> {
    let known = if args.inventory.is_empty() {
        None
    } else {
        Some(
            load_inventory(&args.inventory)
                .context("the inventory to compare with is not valid")?,
        )
    };
    let (observations, stats) = read_traffic(&args.logs, &crate::sources::SourceOptions::default())
        .context("reading the logs")?;
    let draft = candidate(&observations, known.as_ref());
    let yaml = format!(
        "{}{}",
        candidate_header(&observations),
        draft.to_yaml().context("writing the candidate inventory")?
    );
    let differences = known
        .as_ref()
        .map(|inventory| compare(&observations, inventory));

    let mut report = format!(
        "Read {} records from {} files: {} OT records from {} hosts ({} unreadable lines).\n",
        stats.records_read,
        stats.files.len(),
        stats.events,
        observations.hosts.len(),
        stats.parse_errors
    );
    for error in &stats.errors {
        report.push_str(&format!("  {error}\n"));
    }
    if let (Some(differences), Some(inventory)) = (&differences, &known) {
        report.push_str(&describe_differences(differences, inventory));
    } else {
        report.push_str(
            "Traffic shows the network as it is, not as it should be: review the candidate before you trust it.\n",
        );
    }
    match &args.out {
        Some(path) => {
            std::fs::write(path, &yaml).with_context(|| format!("writing {}", path.display()))?;
            report.push_str(&format!(
                "Wrote a candidate inventory of {} assets to {}.\n",
                draft.assets.len(),
                path.display()
            ));
        }
        None => print!("{yaml}"),
    }
    let report = match args.format {
        Format::Text => report,
        Format::Json => {
            let value = serde_json::json!({
                "records_read": stats.records_read,
                "ot_records": stats.events,
                "parse_errors": stats.parse_errors,
                "hosts": observations.hosts.len(),
                "candidate_assets": draft.assets.len(),
                "out": args.out.as_ref().map(|path| path.display().to_string()),
                "differences": differences,
            });
            format!("{}\n", serde_json::to_string_pretty(&value)?)
        }
    };
    if args.out.is_some() {
        print!("{report}");
    } else {
        eprint!("{report}");
    }
    Ok(())
}
