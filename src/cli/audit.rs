//! `otsentry audit verify|export|keygen`: checks the hash chain (naming the first tampered
//! entry), exports the log as JSON lines, and creates a signing key pair.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::{DbArgs, Format, open_store, runtime};
use crate::audit::{load_verifying_key, verify_chain, write_new_signing_key};
use crate::store::Store;
use crate::text::json_for_terminal;

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the whole chain; exits non-zero and names the first broken entry if it was tampered with.
    Verify {
        #[command(flatten)]
        db: DbArgs,
        /// Also require a valid signature on every entry from this ed25519 public key file.
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// A head hash reported by an earlier verify and kept elsewhere: the log must still
        /// contain it, which reveals removal of the newest entries.
        #[arg(long)]
        head: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Print every entry as one JSON line.
    Export {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Create an ed25519 key pair for signing audit entries.
    Keygen {
        /// Where to write the private key (64 hex digits).
        #[arg(long)]
        key: PathBuf,
        /// Where to write the public key.
        #[arg(long)]
        public: PathBuf,
    },
}

pub fn run(args: AuditArgs) -> anyhow::Result<()> {
    match args.command {
        AuditCommand::Verify { db, public_key, head, format } => runtime()?.block_on(async {
            let key = public_key.as_deref().map(load_verifying_key).transpose()?;
            let rows = open_store(&db).await?.audit_entries().await?;
            match verify_chain(&rows, key.as_ref(), head.as_deref()) {
                Ok(report) => {
                    if format == Format::Json {
                        println!("{}", serde_json::json!({"valid": true, "report": report}));
                    } else {
                        println!(
                            "audit chain intact: {} entries, head {}{}",
                            report.entries,
                            report.head,
                            if report.signatures_checked { ", every signature valid" } else { "" }
                        );
                    }
                    Ok(())
                }
                Err(broken) => {
                    if format == Format::Json {
                        println!("{}", serde_json::json!({"valid": false, "message": broken.to_string(), "break": broken}));
                    }
                    Err(anyhow::anyhow!("audit chain broken: {broken}"))
                }
            }
        }),
        AuditCommand::Export { db } => runtime()?.block_on(async {
            let rows = open_store(&db).await?.audit_entries().await?;
            let mut out = std::io::stdout().lock();
            for row in rows {
                // Reasons and resources quote what principals sent; the escape keeps each line
                // the same JSON value.
                writeln!(out, "{}", json_for_terminal(&row.json))?;
            }
            Ok(())
        }),
        AuditCommand::Keygen { key, public } => {
            write_new_signing_key(&key, &public)?;
            println!("wrote signing key {} and public key {}", key.display(), public.display());
            Ok(())
        }
    }
}
