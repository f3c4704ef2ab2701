//! Command-line interface: one file per subcommand holding its arguments and the wiring to the library.

use clap::{Parser, Subcommand};

pub mod eval;
pub mod inspect;
pub mod simulate;

/// Explainable, governed anomaly detection for OT/ICS networks, from Zeek logs.
///
/// otsentry learns how an industrial network normally talks (from Zeek conn.log and the CISA
/// ICSNPP protocol logs), scores new traffic against that baseline, and explains every alert.
#[derive(Debug, Parser)]
#[command(name = "otsentry", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Eval(eval::EvalArgs),
    Simulate(simulate::SimulateArgs),
    /// Summarise Zeek logs: files, formats, records by log path and service, OT records, time
    /// span, malformed lines.
    Inspect(inspect::InspectArgs),
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Eval(args) => eval::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Inspect(args) => inspect::run(args),
    }
}
