//! `otsentry incident` (open, close, review, canary, list) and `otsentry retrain` (request,
//! approve, run, list): the governed retraining workflow of docs/retraining.md. Each person's act
//! is proved with their passphrase on standard input; `retrain run` trains through `train` on the
//! approved window only, signs the artifact (and so its dataset digest), certifies it against
//! the drift test and every canary set, registers it as a candidate (never promoted), and writes
//! the retrain record to the audit log and the policy's `retrain_events_log`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use comfy_table::Table;
use sha2::{Digest, Sha256};

use super::certify::DriftArgs;
use super::common::{Format, GovArgs, as_person, open_governance, runtime, with_governance};
use super::train::{parse_contamination, parse_time};
use crate::governance::{
    Actor, ApprovalEvidence, ConsolePerson, Governance, RetrainResult, format_micros,
};
use crate::model::ModelFile;
use crate::registry::RetrainWindow;
use crate::store::{CanaryFile, CanarySet, RetrainRunRecord, SqliteStore};
use crate::train::{TrainConfig, train};

/// Record security incidents: they block retraining while open and taint their data until a
/// person reviews it.
#[derive(Debug, Args)]
pub struct IncidentArgs {
    #[command(subcommand)]
    pub command: IncidentCommand,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident (a person's act: passphrase on standard input).
    Open {
        #[arg(long)]
        title: String,
        /// When the incident's activity started, in log time (RFC 3339 or epoch seconds).
        #[arg(long, value_parser = parse_time)]
        started: f64,
        /// Alerts that belong to the incident.
        #[arg(long = "alert", value_name = "ID")]
        alerts: Vec<i64>,
        #[arg(long = "as", value_name = "NAME")]
        person: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Close an open incident.
    Close {
        id: i64,
        /// When the incident's activity ended, in log time: its data stay tainted for 30 days
        /// after it.
        #[arg(long, value_parser = parse_time)]
        ended: f64,
        #[arg(long)]
        note: String,
        #[arg(long = "as", value_name = "NAME")]
        person: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Record the manual review of the data around a closed incident (lifts
    /// post_incident_window for it).
    Review {
        id: i64,
        /// What was reviewed and found.
        #[arg(long)]
        note: String,
        #[arg(long = "as", value_name = "NAME")]
        person: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Keep the incident's records as its canary set: the files are copied beside the database
    /// and every certification must still alert on them.
    Canary {
        id: i64,
        /// Zeek log files of the incident's records.
        #[arg(long = "log", required = true, num_args = 1.., value_name = "FILE")]
        logs: Vec<PathBuf>,
        #[arg(long = "as", value_name = "NAME")]
        person: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// List the incidents.
    List {
        #[command(flatten)]
        gov: GovArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Governed retraining: request a retrain of a window, approve it, run it.
#[derive(Debug, Args)]
pub struct RetrainArgs {
    #[command(subcommand)]
    pub command: RetrainCommand,
}

#[derive(Debug, Subcommand)]
pub enum RetrainCommand {
    /// Request a retrain on a window of log time (a person the retraining policy lets request;
    /// passphrase on standard input).
    Request {
        /// START..END in log time, each RFC 3339 or epoch seconds.
        #[arg(long, value_parser = parse_window)]
        window: RetrainWindow,
        #[arg(long)]
        reason: String,
        #[arg(long = "as", value_name = "NAME")]
        person: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Approve a retrain request through the channel the policy names: a signed ticket
    /// (--ticket, --signature), a confirmation code (--code), or in person (neither). Your
    /// passphrase on standard input proves who you are.
    Approve {
        id: i64,
        #[arg(long = "as", value_name = "NAME")]
        person: String,
        #[arg(long, requires = "signature", conflicts_with = "code")]
        ticket: Option<String>,
        /// The ticketing system's hex signature of the ticket.
        #[arg(long, requires = "ticket")]
        signature: Option<String>,
        /// The one-time confirmation code the requester read to you.
        #[arg(long)]
        code: Option<String>,
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Run an approved retrain: train on its window only, sign, certify, register as candidate.
    Run(RunArgs),
    /// List the retrain runs recorded.
    List {
        #[command(flatten)]
        gov: GovArgs,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The approved retrain request.
    pub id: i64,
    /// Zeek log files or directories; only records inside the approved window are used.
    #[arg(long = "log", required = true, num_args = 1.., value_name = "PATH")]
    pub logs: Vec<PathBuf>,
    /// Where to write the new model.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// The site's ed25519 model key: signs the artifact and so its training dataset digest.
    #[arg(long, env = "OTSENTRY_MODEL_KEY")]
    pub key: Option<PathBuf>,
    #[arg(long, default_value_t = 200)]
    pub n_estimators: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long, default_value = "0.001")]
    pub contamination: String,
    /// Train on under 14 days anyway (recorded in the model).
    #[arg(long)]
    pub allow_short_baseline: bool,
    #[command(flatten)]
    pub drift: DriftArgs,
    #[command(flatten)]
    pub selection: super::selection::SelectionArgs,
    #[command(flatten)]
    pub gov: GovArgs,
}

fn micros(seconds: f64) -> i64 {
    (seconds * 1e6).round() as i64
}

/// `START..END`, each RFC 3339 or epoch seconds.
fn parse_window(text: &str) -> Result<RetrainWindow, String> {
    let (start, end) = text
        .split_once("..")
        .ok_or_else(|| format!("expected START..END, not `{text}`"))?;
    RetrainWindow::new(micros(parse_time(start)?), micros(parse_time(end)?))
}

pub fn run_incident(args: IncidentArgs) -> anyhow::Result<()> {
    runtime()?.block_on(incident(args.command))
}

async fn incident(command: IncidentCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    match command {
        IncidentCommand::Open {
            title,
            started,
            alerts,
            person,
            gov,
        } => {
            let opened = as_person(&gov, &person, async |governance, me| {
                Ok(governance
                    .open_incident(
                        Actor::Principal(me.principal()),
                        &title,
                        micros(started),
                        &alerts,
                    )
                    .await?)
            })
            .await?;
            writeln!(out, "incident {} opened: {}", opened.id, opened.title)?;
        }
        IncidentCommand::Close {
            id,
            ended,
            note,
            person,
            gov,
        } => {
            let closed = as_person(&gov, &person, async |governance, me| {
                Ok(governance
                    .close_incident(Actor::Principal(me.principal()), id, micros(ended), &note)
                    .await?)
            })
            .await?;
            writeln!(
                out,
                "incident {id} closed; its data stay tainted until {} unless reviewed",
                crate::registry::retrain::tainted_span(&closed)
                    .map(|(_, until)| format_micros(until))
                    .unwrap_or_default()
            )?;
        }
        IncidentCommand::Review {
            id,
            note,
            person,
            gov,
        } => {
            as_person(&gov, &person, async |governance, me| {
                Ok(governance.review_incident_data(me, id, &note).await?)
            })
            .await?;
            writeln!(out, "the data of incident {id} are recorded as reviewed")?;
        }
        IncidentCommand::Canary {
            id,
            logs,
            person,
            gov,
        } => {
            let kept = as_person(&gov, &person, async |governance, me| {
                let set = keep_files(&gov.db.db, id, &logs, me)?;
                Ok(governance
                    .keep_canary(Actor::Principal(me.principal()), id, set)
                    .await?)
            })
            .await?;
            for file in kept.canary.iter().flat_map(|canary| &canary.files) {
                writeln!(out, "kept {} ({})", file.path, file.sha256)?;
            }
        }
        IncidentCommand::List { gov, format } => {
            let incidents = with_governance(&gov, async |governance| {
                Ok(governance.list_incidents(Actor::Local).await?)
            })
            .await?;
            if format == Format::Json {
                writeln!(out, "{}", serde_json::to_string_pretty(&incidents)?)?;
                return Ok(());
            }
            let mut table = Table::new();
            table.set_header([
                "incident",
                "status",
                "title",
                "activity",
                "data reviewed",
                "canary",
            ]);
            for incident in incidents {
                table.add_row([
                    incident.id.to_string(),
                    incident.status.clone(),
                    crate::text::escape_terminal(&incident.title).into_owned(),
                    format!(
                        "{} .. {}",
                        format_micros(incident.started_ts),
                        incident.ended_ts.map(format_micros).unwrap_or_default()
                    ),
                    incident
                        .data_reviewed_by
                        .clone()
                        .unwrap_or_else(|| "no".into()),
                    incident
                        .canary
                        .as_ref()
                        .map_or("none".to_string(), |c| format!("{} file(s)", c.files.len())),
                ]);
            }
            writeln!(out, "{table}")?;
        }
    }
    Ok(())
}

/// Copies the incident's files to `<db>.canaries/incident-<id>/` (logs rotate away; a canary
/// must outlive them) and digests the copies.
fn keep_files(
    db: &Path,
    id: i64,
    logs: &[PathBuf],
    person: &ConsolePerson,
) -> anyhow::Result<CanarySet> {
    let mut dir = db.as_os_str().to_owned();
    dir.push(".canaries");
    let dir = PathBuf::from(dir).join(format!("incident-{id}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut files = Vec::new();
    for (idx, log) in logs.iter().enumerate() {
        let bytes = std::fs::read(log).with_context(|| format!("cannot read {}", log.display()))?;
        let name = log.file_name().map_or_else(
            || "records".into(),
            |name| name.to_string_lossy().into_owned(),
        );
        let copy = dir.join(format!("{idx}-{name}"));
        std::fs::write(&copy, &bytes)
            .with_context(|| format!("cannot write {}", copy.display()))?;
        let copy = std::fs::canonicalize(&copy).unwrap_or(copy);
        files.push(CanaryFile {
            path: copy.display().to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
        });
    }
    Ok(CanarySet {
        files,
        kept_by: person.principal().audit_name(),
        kept_at: crate::governance::now_micros(),
    })
}

pub fn run(args: RetrainArgs) -> anyhow::Result<()> {
    match args.command {
        RetrainCommand::Run(run) => run_retrain(run),
        command => runtime()?.block_on(retrain(command)),
    }
}

async fn retrain(command: RetrainCommand) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    match command {
        RetrainCommand::Request {
            window,
            reason,
            person,
            gov,
        } => {
            let filed = as_person(&gov, &person, async |governance, me| {
                Ok(governance.request_retrain(me, window, &reason).await?)
            })
            .await?;
            writeln!(
                out,
                "retrain request {} filed for window {}",
                filed.request.id, filed.request.proposed_value
            )?;
            for code in &filed.confirmation_codes {
                writeln!(out, "confirmation code (read it to an approver): {code}")?;
            }
        }
        RetrainCommand::Approve {
            id,
            person,
            ticket,
            signature,
            code,
            note,
            gov,
        } => {
            let detail = as_person(&gov, &person, async |governance, me| {
                let evidence = match (&ticket, &signature, &code) {
                    (Some(ticket_id), Some(signature), _) => ApprovalEvidence::SignedTicket {
                        ticket_id,
                        signature,
                    },
                    (_, _, Some(code)) => ApprovalEvidence::OutOfBand { code },
                    _ => ApprovalEvidence::PhysicalPresence(me),
                };
                Ok(governance
                    .approve(me.principal(), id, evidence, note.as_deref())
                    .await?)
            })
            .await?;
            writeln!(
                out,
                "retrain request {id} approved by {person}; it is now {} ({} of {} approvals)",
                detail.request.status,
                detail.approvals.len(),
                detail.minimum_approvals
            )?;
        }
        RetrainCommand::List { gov } => {
            let runs = with_governance(&gov, async |governance| {
                Ok(governance.list_retrain_runs(Actor::Local).await?)
            })
            .await?;
            writeln!(out, "{}", serde_json::to_string_pretty(&runs)?)?;
        }
        RetrainCommand::Run(_) => unreachable!("run is dispatched before"),
    }
    Ok(())
}

fn run_retrain(args: RunArgs) -> anyhow::Result<()> {
    let runtime = runtime()?;
    let governance = runtime.block_on(open_governance(&args.gov))?;
    let outcome = retrain_run(&runtime, &governance, &args);
    runtime.block_on(governance.close());
    let record = outcome?;
    let mut out = std::io::stdout();
    writeln!(
        out,
        "retrain request {} ran: model version {} ({}) registered as candidate; adversarial test {}",
        record.run.request_id,
        record.run.model_version_id,
        record.run.new_model_sha256,
        record.run.adversarial_test_result
    )?;
    writeln!(out, "{}", serde_json::to_string_pretty(&record.run)?)?;
    Ok(())
}

fn retrain_run(
    runtime: &tokio::runtime::Runtime,
    governance: &Governance<SqliteStore>,
    args: &RunArgs,
) -> anyhow::Result<RetrainRunRecord> {
    let policy = governance.retraining_policy()?.clone();
    let sign_required = policy
        .provenance
        .iter()
        .any(|(name, requirement)| name == "sign_training_dataset_hash" && requirement.required);
    anyhow::ensure!(
        !sign_required || args.key.is_some(),
        "the retraining policy requires the training dataset hash to be signed (sign_training_dataset_hash: required); give the site's model key with --key"
    );
    let key = match &args.key {
        Some(path) => Some(crate::audit::load_signing_key(path)?),
        None => None,
    };
    // Refused here (audited, with the incident or alerts named) before any training.
    let plan = runtime.block_on(governance.begin_retrain(Actor::Local, args.id))?;
    // Everything the run needs that does not depend on the new model is checked before it
    // trains, so a run that trains ends with the model registered.
    let canaries = runtime.block_on(governance.canaries(Actor::Local))?;
    check_canaries(&canaries)?;
    let production = runtime.block_on(super::registry::production_model(governance))?;
    check_out(runtime, governance, &args.out)?;
    let log = policy.retrain_events_log.trim();
    if !log.is_empty() {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| {
                format!(
                    "the retraining policy's retrain_events_log {log} cannot be opened for appending; fix the path or its permissions (nothing was trained)"
                )
            })?;
    }

    let mut config = TrainConfig::new(args.logs.clone());
    config.n_estimators = args.n_estimators;
    config.seed = args.seed;
    config.contamination = parse_contamination(&args.contamination)?;
    config.allow_short_baseline = args.allow_short_baseline;
    config.source = args.selection.source(args.selection.selector()?);
    config.since = Some(plan.window.start as f64 / 1e6);
    config.until = Some(plan.window.end as f64 / 1e6);
    let outcome = train(&config, |_| {}).context("training failed")?;
    outcome
        .model
        .write(&args.out)
        .with_context(|| format!("cannot save the model to {}", args.out.display()))?;
    let loaded = ModelFile::load(&args.out)?;
    let signed = match &key {
        Some(key) => sign_model(&loaded, &args.out, key)
            .map(|(signature, public)| (Some(signature), Some(public))),
        None => Ok((None, None)),
    };
    let (dataset_signature, signing_key) = signed
        .map_err(|error| unregistered(args.id, &args.out, &loaded.sha256, &error.to_string()))?;

    let loaded = Arc::new(loaded);
    // A certification that cannot run is a failed one, recorded with its reason: the model is
    // registered either way, and `otsentry certify MODEL --db` can certify it again.
    let (report, passed) = match crate::redteam::certify(
        Arc::clone(&loaded),
        &args.drift.config(),
        &canaries,
    ) {
        Ok(certification) => {
            super::certify::print(&certification, Format::Table)?;
            (serde_json::to_value(&certification)?, certification.passed)
        }
        Err(error) => {
            eprintln!(
                "warning: the certification could not run ({error}); it is recorded as failed: certify the model again with `otsentry certify {} --db DB` once the cause is fixed",
                args.out.display()
            );
            (
                serde_json::json!({
                    "model_sha256": loaded.sha256,
                    "passed": false,
                    "error": error.to_string(),
                }),
                false,
            )
        }
    };
    let diff = production
        .as_ref()
        .map(|(id, current)| (*id, crate::registry::baseline_diff(&loaded, current)));
    let result = RetrainResult {
        version: super::registry::new_version(&loaded, &args.out)?,
        diff: diff.as_ref().map(|(id, items)| (*id, items.as_slice())),
        certification: &report,
        passed,
        dataset_signature,
        signing_key,
        data_sources: serde_json::to_value(&loaded.file.manifest.sources)?,
    };
    let record = runtime
        .block_on(governance.record_retrain(Actor::Local, args.id, result))
        .map_err(|error| unregistered(args.id, &args.out, &loaded.sha256, &error.to_string()))?;
    if !log.is_empty() {
        append_line(Path::new(log), &serde_json::to_string(&record.run)?).with_context(|| {
            format!(
                "the retrain is recorded in the audit log, but its line could not be appended to the retrain_events_log {log}"
            )
        })?;
    }
    Ok(record)
}

/// Signs the model file (`MODEL.sig`); the signature and the public key.
fn sign_model(
    loaded: &crate::model::LoadedModel,
    out: &Path,
    key: &ed25519_dalek::SigningKey,
) -> anyhow::Result<(String, String)> {
    let sig = crate::model::signature::sign(loaded, out, key)?;
    let text = std::fs::read_to_string(&sig)?;
    let file: crate::model::signature::SignatureFile = serde_json::from_str(&text)?;
    Ok((file.signature, file.public_key))
}

/// The error of a run that trained but did not register its model: the file and its signature
/// are removed (a model the governed retrain did not register must not run), and the message
/// says why and what to run.
fn unregistered(id: i64, out: &Path, sha256: &str, why: &str) -> anyhow::Error {
    let sig = crate::model::signature::signature_path(out);
    let removed = [out, sig.as_path()]
        .iter()
        .all(|path| match std::fs::remove_file(path) {
            Ok(()) => true,
            Err(error) => error.kind() == std::io::ErrorKind::NotFound,
        });
    anyhow::anyhow!(
        "retrain request {id} trained {out} (sha256 {sha256}) but did not register it: {why}; {removed}; the request is not spent: once that is resolved, run `otsentry retrain run {id}` again",
        out = out.display(),
        removed = if removed {
            "the model file and its signature are removed, since a model the governed retrain did not register must not run".to_string()
        } else {
            format!(
                "remove {} and its signature: a model the governed retrain did not register must not run",
                out.display()
            )
        }
    )
}

/// Every canary set's files are still what was kept: checked before training, so a changed
/// canary stops the run before it trains (certification checks them again).
fn check_canaries(canaries: &[(i64, CanarySet)]) -> anyhow::Result<()> {
    use crate::redteam::canary::{CanaryError, verify_files};
    for (incident, set) in canaries {
        verify_files(*incident, set).map_err(|error| {
            let hint = match &error {
                CanaryError::Changed { .. } => format!(
                    "restore it or keep the incident's records again with `otsentry incident canary {incident}`"
                ),
                _ => "certification needs every canary".to_string(),
            };
            anyhow::anyhow!("{error}; {hint} (nothing was trained)")
        })?;
    }
    Ok(())
}

/// `--out` must not be a registered version's file: a retrain writes a new artifact, never over
/// one the registry points at.
fn check_out(
    runtime: &tokio::runtime::Runtime,
    governance: &Governance<SqliteStore>,
    out: &Path,
) -> anyhow::Result<()> {
    let Ok(target) = std::fs::canonicalize(out) else {
        return Ok(());
    };
    let versions = runtime.block_on(governance.list_models(Actor::Local))?;
    if let Some(version) = versions
        .iter()
        .find(|version| Path::new(&version.path) == target)
    {
        anyhow::bail!(
            "--out {} is the file of registered version {} ({}, stage {}); a retrain writes a new model file: choose another --out (nothing was trained)",
            out.display(),
            version.id,
            version.sha256,
            version.stage
        );
    }
    Ok(())
}

/// Appends one line and makes it durable.
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that trained but was refused its record leaves no model that could run: the file
    /// and its signature are gone, and the message names the request to run again.
    #[test]
    fn a_model_trained_but_not_registered_is_removed_with_its_signature() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("retrained.model");
        let sig = crate::model::signature::signature_path(&out);
        std::fs::write(&out, b"model").unwrap();
        std::fs::write(&sig, b"signature").unwrap();
        let message =
            unregistered(7, &out, "ab12", "incident 3 opened while it trained").to_string();
        assert!(!out.exists() && !sig.exists(), "{message}");
        assert!(
            message.contains("retrain request 7 trained")
                && message.contains(
                    "(sha256 ab12) but did not register it: incident 3 opened while it trained"
                )
                && message.contains("the model file and its signature are removed")
                && message.contains("run `otsentry retrain run 7` again"),
            "{message}"
        );
        // Nothing there to remove (the signature was never written) is not a failure.
        std::fs::write(&out, b"model").unwrap();
        let message = unregistered(7, &out, "ab12", "signing failed").to_string();
        assert!(!out.exists());
        assert!(message.contains("are removed"), "{message}");
    }
}
