//! `otsentry audit verify|export|keygen|adopt-key`: checks the hash chain (naming the first
//! tampered entry), the head anchored beside the database and the replay of the log against the
//! state tables; exports the log as JSON lines; creates a signing key pair; adopts a signing key
//! on an existing log.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::common::{DbArgs, Format, GovArgs, open_governance, open_store, runtime};
use crate::audit::{VerifyOptions, load_verifying_key, write_new_signing_key};
use crate::governance::verify_store;
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
    /// Adopt the signing key given with --signing-key on this log: a signed entry names it, and
    /// every later entry must be signed by it.
    AdoptKey {
        #[command(flatten)]
        gov: GovArgs,
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
            let store = open_store(&db).await?;
            let options = VerifyOptions { key: key.as_ref(), head: head.as_deref() };
            match verify_store(&store, &options).await? {
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
        AuditCommand::AdoptKey { gov } => runtime()?.block_on(async {
            anyhow::ensure!(gov.signing_key.is_some(), "give the key to adopt with --signing-key");
            // Opening the service adopts a given key on a log that has none.
            open_governance(&gov).await?;
            println!("the audit log of {} is signed with this key from now on", gov.db.db.display());
            Ok(())
        }),
        AuditCommand::Keygen { key, public } => {
            write_new_signing_key(&key, &public)?;
            println!("wrote signing key {} and public key {}", key.display(), public.display());
            Ok(())
        }
    }
}
