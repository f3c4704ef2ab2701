//! Command-line interface: one file per subcommand holding its arguments and the wiring to the library.

use clap::{Parser, Subcommand};

pub mod demo;
pub mod eval;
pub mod inspect;
pub mod model;
pub mod score;
pub mod simulate;
pub mod train;

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
    Demo(demo::DemoArgs),
    Train(train::TrainArgs),
    Score(score::ScoreArgs),
    Model(model::ModelArgs),
    Eval(eval::EvalArgs),
    Simulate(simulate::SimulateArgs),
    /// Summarise Zeek logs: files, formats, records by log path and service, OT records, time
    /// span, malformed lines.
    Inspect(inspect::InspectArgs),
}

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Train(args) => train::run(args),
        Command::Score(args) => score::run(args),
        Command::Model(args) => model::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Inspect(args) => inspect::run(args),
    }
}
