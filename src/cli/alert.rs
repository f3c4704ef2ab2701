//! `otsentry alert list`: the alert queue straight from the database (audited as `local:cli`).

use clap::{Args, Subcommand};
use comfy_table::Table;

use super::common::{Format, GovArgs, open_governance, runtime};
use crate::governance::{Actor, format_micros};
use crate::store::AlertStatus;
use crate::text::{escape_terminal, json_for_terminal};

#[derive(Debug, Args)]
pub struct AlertArgs {
    #[command(subcommand)]
    pub command: AlertCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// List alerts, newest first.
    List {
        /// Only alerts with this status (open, confirmed, rejected, closed, dismissed, suppressed).
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[command(flatten)]
        gov: GovArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

pub fn run(args: AlertArgs) -> anyhow::Result<()> {
    let AlertCommand::List {
        status,
        limit,
        gov,
        format,
    } = args.command;
    let status = match status.as_deref() {
        None => None,
        Some(text) => Some(
            AlertStatus::parse(text)
                .ok_or_else(|| anyhow::anyhow!("unknown alert status `{text}`"))?,
        ),
    };
    runtime()?.block_on(async {
        let governance = open_governance(&gov).await?;
        let alerts = governance.list_alerts(Actor::Local, status, limit).await?;
        if format == Format::Json {
            println!(
                "{}",
                json_for_terminal(&serde_json::to_string_pretty(&alerts)?)
            );
            return Ok(());
        }
        let mut table = Table::new();
        table.set_header([
            "id",
            "log time",
            "src",
            "dst",
            "port",
            "service",
            "score",
            "severity",
            "status",
            "technique",
        ]);
        for alert in alerts {
            let a = &alert.alert;
            // Every text field may come from an AI principal or the network.
            let text = |value: &str| escape_terminal(value).into_owned();
            table.add_row([
                alert.id.to_string(),
                format_micros(a.ts),
                text(&a.src),
                text(&a.dst),
                a.port.map(|p| p.to_string()).unwrap_or_default(),
                text(a.service.as_deref().unwrap_or_default()),
                format!("{:.4}", a.score),
                a.severity.to_string(),
                alert.status.to_string(),
                text(a.attack_technique.as_deref().unwrap_or_default()),
            ]);
        }
        println!("{table}");
        Ok(())
    })
}
