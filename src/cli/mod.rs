//! Command-line interface: one file per subcommand holding its arguments and the wiring to the library.

use clap::{Parser, Subcommand};

pub mod admin;
pub mod alert;
pub mod assets;
pub mod audit;
pub mod certify;
pub mod common;
pub mod demo;
pub mod eval;
pub mod governance;
pub mod inspect;
pub mod inventory;
pub mod model;
pub mod policy;
pub mod registry;
pub mod retrain;
pub mod score;
pub mod selection;
pub mod serve;
pub mod simulate;
pub mod train;
pub mod triage;
pub mod watch;

/// Explainable, governed anomaly detection for OT/ICS networks, from Zeek logs.
///
/// otsentry learns how an industrial network normally talks (from Zeek conn.log and the CISA
/// ICSNPP protocol logs), scores new traffic against that baseline, and explains every alert.
#[derive(Debug, Parser)]
#[command(
    name = "otsentry",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Demo(demo::DemoArgs),
    Simulate(simulate::SimulateArgs),
    /// Summarise Zeek logs: files, formats, records by log path and service, OT records, time
    /// span, malformed lines.
    Inspect(inspect::InspectArgs),
    Train(train::TrainArgs),
    Score(score::ScoreArgs),
    Watch(watch::WatchArgs),
    Model(model::ModelArgs),
    Certify(certify::CertifyArgs),
    Eval(eval::EvalArgs),
    /// Validate and explain governance policy files.
    Policy(policy::PolicyArgs),
    /// Check asset inventory files (assets, 62443 zones and conduits, maintenance windows).
    Inventory(inventory::InventoryArgs),
    /// Discover assets from traffic and compare them with the inventory.
    Assets(assets::AssetsArgs),
    /// Create or migrate the database.
    Db(admin::DbCommandArgs),
    /// Manage principals (people with roles, AI components) directly in the database.
    Principal(admin::PrincipalArgs),
    /// Issue and revoke API tokens directly in the database.
    Token(admin::TokenArgs),
    /// Inspect the alert queue.
    Alert(alert::AlertArgs),
    /// Verify, export and sign the audit log.
    Audit(audit::AuditArgs),
    /// Review schedule, open reviews and pending decisions.
    Governance(governance::GovernanceArgs),
    /// Run the JSON HTTP API.
    Serve(serve::ServeArgs),
    /// Advisory triage of an alert (offline rules, Anthropic, or a local OpenAI-compatible
    /// server), and its backtest against analysts' decisions.
    Triage(triage::TriageArgs),
    Incident(retrain::IncidentArgs),
    Retrain(retrain::RetrainArgs),
}

/// What `otsentry --help` says about exit codes (src/main.rs decides them).
const EXIT_CODES: &str = "Exit codes:
  0    success, also when the reader of the output stops early (otsentry ... | head)
  2    an error (printed on stderr with its causes), or invalid arguments
  101  an internal error (a bug: please report it with the message printed)";

/// Runs the chosen command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Train(args) => train::run(args),
        Command::Score(args) => score::run(args),
        Command::Watch(args) => watch::run(args),
        Command::Model(args) => model::run(args),
        Command::Certify(args) => certify::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Policy(args) => policy::run(args),
        Command::Inventory(args) => inventory::run(args),
        Command::Assets(args) => assets::run(args),
        Command::Db(args) => admin::run_db(args),
        Command::Principal(args) => admin::run_principal(args),
        Command::Token(args) => admin::run_token(args),
        Command::Alert(args) => alert::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Governance(args) => governance::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Triage(args) => triage::run(args),
        Command::Incident(args) => retrain::run_incident(args),
        Command::Retrain(args) => retrain::run(args),
    }
}
