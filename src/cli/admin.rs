//! Local administration with direct access to the database file: `db init`,
//! `principal add|enroll|redeem|list`, `token create|revoke`. Every change is audited (as
//! `local:cli`, or as the person who signed in with their own passphrase). A person's
//! credentials are set by that person: `principal add` and `principal enroll` print a one-time
//! code, which the person redeems with `principal redeem`, choosing their own passphrase.

use std::io::Write;

use anyhow::Context;
use clap::{Args, Subcommand};
use comfy_table::Table;

use super::common::{
    DbArgs, Format, GovArgs, open_governance, open_store, read_passphrase, runtime,
};
use crate::governance::{
    Actor, AiComponent, IssuedEnrollment, MAX_TOKEN_VALID_DAYS, PrincipalKind, Role,
};
use crate::store::Store;

#[derive(Debug, Args)]
pub struct DbCommandArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create the database (or bring its schema up to date).
    Init(DbArgs),
}

pub fn run_db(args: DbCommandArgs) -> anyhow::Result<()> {
    match args.command {
        DbCommand::Init(db) => runtime()?.block_on(async {
            let store = open_store(&db).await?;
            store.close().await;
            println!("database {} is ready", db.db.display());
            Ok(())
        }),
    }
}

#[derive(Debug, Args)]
pub struct PrincipalArgs {
    #[command(subcommand)]
    pub command: PrincipalCommand,
}

#[derive(Debug, Subcommand)]
pub enum PrincipalCommand {
    /// Add a person (with --role, repeatable; prints their enrollment code) or an AI component
    /// (with --component).
    Add(AddPrincipal),
    /// Issue a new enrollment code for a person; their earlier tokens and passphrase are revoked.
    Enroll {
        name: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Redeem your enrollment code: reads the passphrase you choose from standard input and
    /// prints your first token.
    Redeem {
        code: String,
        /// Days until the token expires (no expiry when omitted).
        #[arg(long)]
        days: Option<u32>,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// List principals.
    List {
        #[command(flatten)]
        gov: GovArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn print_enrollment(enrollment: &IssuedEnrollment) {
    println!(
        "enrollment code for {} (hand it to them; it works once, until {}):",
        enrollment.principal,
        crate::governance::format_micros(enrollment.expires_at)
    );
    println!("{}", enrollment.code);
}

#[derive(Debug, Args)]
pub struct AddPrincipal {
    /// Principal name, such as alice or scorer-1.
    pub name: String,
    /// A role the person holds (analyst, ot-security-lead, ot-engineering-lead, admin).
    #[arg(long = "role", conflicts_with = "component")]
    pub roles: Vec<String>,
    /// The AI component this identity is: scorer or triage.
    #[arg(long)]
    pub component: Option<String>,
    #[command(flatten)]
    pub gov: GovArgs,
}

pub fn run_principal(args: PrincipalArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match args.command {
            PrincipalCommand::Add(add) => {
                let kind = match &add.component {
                    Some(name) => PrincipalKind::Ai {
                        component: AiComponent::parse(name).with_context(|| {
                            format!("unknown AI component `{name}`; expected scorer or triage")
                        })?,
                    },
                    None => {
                        let roles = add
                            .roles
                            .iter()
                            .map(|role| Role::parse(role).map_err(anyhow::Error::msg))
                            .collect::<anyhow::Result<Vec<_>>>()?;
                        PrincipalKind::Human { roles }
                    }
                };
                let governance = open_governance(&add.gov).await?;
                let principal = governance
                    .create_principal(Actor::Local, &add.name, kind)
                    .await?;
                println!(
                    "created principal {} (id {})",
                    principal.audit_name(),
                    principal.id
                );
                if !principal.is_ai() {
                    print_enrollment(&governance.enroll(Actor::Local, &principal.name).await?);
                }
                Ok(())
            }
            PrincipalCommand::Enroll { name, gov } => {
                let governance = open_governance(&gov).await?;
                print_enrollment(&governance.enroll(Actor::Local, &name).await?);
                Ok(())
            }
            PrincipalCommand::Redeem { code, days, gov } => {
                let passphrase = read_passphrase("choose your passphrase")?;
                let governance = open_governance(&gov).await?;
                let issued = governance
                    .redeem_enrollment(&code, &passphrase, days)
                    .await?;
                println!(
                    "enrolled {}; your token (id {}) is shown only this once:",
                    issued.principal, issued.id
                );
                println!("{}", issued.token);
                Ok(())
            }
            PrincipalCommand::List { gov, format } => {
                let governance = open_governance(&gov).await?;
                let principals = governance.list_principals(Actor::Local).await?;
                if format == Format::Json {
                    println!("{}", serde_json::to_string_pretty(&principals)?);
                    return Ok(());
                }
                let mut table = Table::new();
                table.set_header(["id", "name", "kind", "roles / component"]);
                for principal in principals {
                    let (kind, detail) = match &principal.kind {
                        PrincipalKind::Human { roles } => (
                            "human",
                            roles
                                .iter()
                                .map(Role::as_str)
                                .collect::<Vec<_>>()
                                .join(", "),
                        ),
                        PrincipalKind::Ai { component } => ("ai", component.name().to_string()),
                    };
                    table.add_row([
                        principal.id.to_string(),
                        principal.name,
                        kind.to_string(),
                        detail,
                    ]);
                }
                println!("{table}");
                Ok(())
            }
        }
    })
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a principal; the token is printed once and never stored. A person's
    /// token is issued only to that person: their passphrase is read from standard input.
    Create {
        /// The principal's name.
        principal: String,
        /// Days until the token expires, 1 to 3650 (no expiry when omitted).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_TOKEN_VALID_DAYS)))]
        days: Option<u32>,
        #[command(flatten)]
        gov: GovArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Revoke a token by its id (the part after `ots_`, before the second `_`).
    Revoke {
        id: String,
        #[command(flatten)]
        gov: GovArgs,
    },
}

pub fn run_token(args: TokenArgs) -> anyhow::Result<()> {
    runtime()?.block_on(async {
        match args.command {
            TokenCommand::Create {
                principal,
                days,
                gov,
                format,
            } => {
                let governance = open_governance(&gov).await?;
                let person = governance
                    .list_principals(Actor::Local)
                    .await?
                    .into_iter()
                    .any(|found| found.name == principal && !found.is_ai());
                let issued = if person {
                    let passphrase = read_passphrase(&format!("passphrase of {principal}"))?;
                    let me = governance.console_login(&principal, &passphrase).await?;
                    governance
                        .issue_token(Actor::Principal(me.principal()), &principal, days)
                        .await?
                } else {
                    governance
                        .issue_token(Actor::Local, &principal, days)
                        .await?
                };
                // The token exists now: a reader that stops early (`| head -1`) is no failure, so
                // output goes through `writeln!`, whose broken pipe `main` treats as success,
                // rather than `println!`, which panics.
                let mut out = std::io::stdout().lock();
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&issued)?)?;
                } else {
                    writeln!(
                        out,
                        "token for {} (id {}); it is shown only this once:",
                        issued.principal, issued.id
                    )?;
                    writeln!(out, "{}", issued.token)?;
                }
                out.flush()?;
                Ok(())
            }
            TokenCommand::Revoke { id, gov } => {
                let governance = open_governance(&gov).await?;
                governance.revoke_token(Actor::Local, &id).await?;
                writeln!(std::io::stdout(), "token {id} revoked")?;
                Ok(())
            }
        }
    })
}
