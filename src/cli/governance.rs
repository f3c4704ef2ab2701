//! `otsentry governance status`: the policy in force, the next scheduled review, open review
//! records, pending recommendations and change requests, and the current detection threshold.
//! `otsentry governance approve`: an approval entered in person at the otsentry host's console,
//! after the approver types their own passphrase (the "physical presence" channel).

use clap::{Args, Subcommand};

use super::common::{Format, GovArgs, open_governance, read_passphrase, runtime};
use crate::governance::{ApprovalEvidence, format_micros};
use crate::text::{escape_terminal, json_for_terminal};

#[derive(Debug, Args)]
pub struct GovernanceArgs {
    #[command(subcommand)]
    pub command: GovernanceCommand,
}

#[derive(Debug, Subcommand)]
pub enum GovernanceCommand {
    /// Show reviews due and open, and pending human decisions.
    Status {
        #[command(flatten)]
        gov: GovArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Approve a change request in person at this host's console; reads your passphrase from
    /// standard input.
    Approve {
        /// The change request's id.
        id: i64,
        /// Your principal name.
        #[arg(long = "as")]
        approver: String,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        gov: GovArgs,
    },
}

pub fn run(args: GovernanceArgs) -> anyhow::Result<()> {
    let (gov, format) = match args.command {
        GovernanceCommand::Status { gov, format } => (gov, format),
        GovernanceCommand::Approve {
            id,
            approver,
            note,
            gov,
        } => return approve(id, &approver, note.as_deref(), &gov),
    };
    runtime()?.block_on(async {
        let status = open_governance(&gov).await?.status().await?;
        if format == Format::Json {
            println!(
                "{}",
                json_for_terminal(&serde_json::to_string_pretty(&status)?)
            );
            return Ok(());
        }
        println!(
            "system:              {} (policy version {})",
            escape_terminal(&status.system_id),
            escape_terminal(&status.policy_version)
        );
        println!("policy sha256:       {}", status.policy_sha256);
        println!(
            "next review:         {} ({})",
            status.next_review_date, status.review_frequency
        );
        println!(
            "detection threshold: {}",
            escape_terminal(
                status
                    .detection_threshold
                    .as_deref()
                    .unwrap_or("model default")
            )
        );
        println!(
            "pending recommendations awaiting a person: {}",
            status.pending_recommendations
        );
        println!(
            "pending change requests awaiting approval: {}",
            status.pending_change_requests
        );
        if status.open_reviews.is_empty() {
            println!("open reviews: none");
        } else {
            let mut table = comfy_table::Table::new();
            table.set_header(["review", "trigger", "opened", "by", "detail"]);
            for review in &status.open_reviews {
                // A review's detail is written by whoever reported it, an AI principal included.
                table.add_row([
                    review.id.to_string(),
                    escape_terminal(&review.trigger_event).into_owned(),
                    format_micros(review.opened_at),
                    escape_terminal(&review.opened_by).into_owned(),
                    escape_terminal(&review.detail).into_owned(),
                ]);
            }
            println!("open reviews:\n{table}");
        }
        Ok(())
    })
}

fn approve(id: i64, approver: &str, note: Option<&str>, gov: &GovArgs) -> anyhow::Result<()> {
    let passphrase = read_passphrase(&format!("passphrase of {approver}"))?;
    runtime()?.block_on(async {
        let governance = open_governance(gov).await?;
        let person = governance.console_login(approver, &passphrase).await?;
        let detail = governance
            .approve(
                person.principal(),
                id,
                ApprovalEvidence::PhysicalPresence(&person),
                note,
            )
            .await?;
        println!(
            "change request {id} approved by {approver} in person; it is now {} ({} of {} approvals)",
            detail.request.status,
            detail.approvals.len(),
            detail.minimum_approvals
        );
        Ok(())
    })
}
