//! The registry subcommands of `otsentry model`: register, list, stage, ack, promote, reject,
//! rollback, compare and card. Each opens the governance service over the database, so every change is
//! decided by the gate and audited; `ack` and an override of the staging period are a person's
//! acts, proved with their passphrase on standard input.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use comfy_table::Table;

use super::common::{
    DbArgs, Format, GovArgs, as_person, open_governance, read_passphrase, runtime,
};
use crate::governance::{Actor, Governance, ModelDetail, StagingOverride, format_micros};
use crate::model::ModelFile;
use crate::registry::baseline_diff;
use crate::store::{ModelStage, ModelVersionRecord, NewModelVersion, SqliteStore};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Register a model file as a candidate, with its baseline diff against production.
    Register(RegisterArgs),
    /// List the registered versions.
    List {
        #[command(flatten)]
        gov: GovArgs,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Move a candidate to staging: its staging period starts.
    Stage {
        #[arg(value_name = "VERSION")]
        id: i64,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Acknowledge a baseline-diff item (a person's act: passphrase on standard input).
    Ack {
        /// The item's number, as `model show` or `model card` lists it.
        item: i64,
        /// Who acknowledges.
        #[arg(long = "as", value_name = "NAME")]
        person: String,
        /// Why this is expected (a new HMI, a planned change with its ticket).
        #[arg(long)]
        justification: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Promote a staging version to production, after its certification, its staging period
    /// and its acknowledged baseline diff.
    Promote(PromoteArgs),
    /// Reject a candidate or staging version: it is archived without running, and no rollback
    /// can restore it.
    Reject {
        #[arg(value_name = "VERSION")]
        id: i64,
        /// Why it is rejected.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Put a version that ran in production before back into production (by default the
    /// current one's parent); it needs a passed certification of its exact artifact.
    Rollback {
        #[arg(value_name = "VERSION")]
        id: Option<i64>,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Compare a staging version with production on live traffic: how long it scored beside
    /// production, how many records, and its would-be alerts next to production's, by rule.
    Compare {
        #[arg(value_name = "VERSION")]
        id: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        gov: GovArgs,
    },
    /// Print a version's model card (Markdown).
    Card {
        #[arg(value_name = "VERSION")]
        id: i64,
        #[command(flatten)]
        gov: GovArgs,
    },
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// Refuse the model unless its signature verifies against this public key file.
    #[arg(long, env = "OTSENTRY_MODEL_PUBLIC_KEY")]
    pub public_key: Option<PathBuf>,
    #[command(flatten)]
    pub gov: GovArgs,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[arg(value_name = "VERSION")]
    pub id: i64,
    /// Skip the staging period: an admin's override, audited (passphrase on standard input).
    #[arg(long, value_name = "ADMIN", requires = "justification")]
    pub override_staging: Option<String>,
    /// Why the staging period is skipped.
    #[arg(long)]
    pub justification: Option<String>,
    #[command(flatten)]
    pub gov: GovArgs,
}

pub fn run(command: RegistryCommand) -> anyhow::Result<()> {
    runtime()?.block_on(run_async(command))
}

fn print_version(verb: &str, version: &crate::store::ModelVersionRecord) -> anyhow::Result<()> {
    writeln!(
        std::io::stdout(),
        "{verb} version {} ({}): stage {}",
        version.id,
        version.sha256,
        version.stage
    )?;
    Ok(())
}

async fn run_async(command: RegistryCommand) -> anyhow::Result<()> {
    match command {
        RegistryCommand::Register(args) => register(args).await,
        RegistryCommand::List { gov, format } => {
            let governance = open_governance(&gov).await?;
            let versions = governance.list_models(Actor::Local).await?;
            governance.close().await;
            if format == Format::Json {
                writeln!(
                    std::io::stdout(),
                    "{}",
                    serde_json::to_string_pretty(&versions)?
                )?;
                return Ok(());
            }
            let mut table = Table::new();
            table.set_header([
                "version",
                "stage",
                "since",
                "sha256",
                "parent",
                "certified",
                "window",
            ]);
            for v in versions {
                table.add_row([
                    v.id.to_string(),
                    v.stage.to_string(),
                    format_micros(v.stage_since),
                    v.sha256.clone(),
                    v.parent_id.map(|id| id.to_string()).unwrap_or_default(),
                    match v.certified {
                        None => "no".to_string(),
                        Some(true) => "passed".to_string(),
                        Some(false) => "failed".to_string(),
                    },
                    format!(
                        "{} .. {}",
                        v.provenance["window"]["start_utc"].as_str().unwrap_or("?"),
                        v.provenance["window"]["end_utc"].as_str().unwrap_or("?")
                    ),
                ]);
            }
            writeln!(std::io::stdout(), "{table}")?;
            Ok(())
        }
        RegistryCommand::Stage { id, gov } => {
            let governance = open_governance(&gov).await?;
            let record = governance.stage_model(Actor::Local, id).await;
            governance.close().await;
            print_version("staged", &record?)
        }
        RegistryCommand::Ack {
            item,
            person,
            justification,
            gov,
        } => {
            let acknowledged = as_person(&gov, &person, async |governance, me| {
                Ok(governance
                    .acknowledge_diff_item(me, item, &justification)
                    .await?)
            })
            .await?;
            writeln!(
                std::io::stdout(),
                "acknowledged item {}: {} {} (version {})",
                acknowledged.id,
                acknowledged.kind,
                acknowledged.item,
                acknowledged.version_id
            )?;
            Ok(())
        }
        RegistryCommand::Promote(args) => {
            let governance = open_governance(&args.gov).await?;
            let admin = match &args.override_staging {
                Some(name) => {
                    let passphrase = read_passphrase(&format!("passphrase of {name}"))?;
                    Some(governance.console_login(name, &passphrase).await?)
                }
                None => None,
            };
            let justification = args.justification.unwrap_or_default();
            let staging_override = admin.as_ref().map(|admin| StagingOverride {
                admin,
                justification: &justification,
            });
            let record = governance
                .promote_model(Actor::Local, args.id, staging_override)
                .await;
            governance.close().await;
            print_version("promoted", &record?)
        }
        RegistryCommand::Reject { id, reason, gov } => {
            let governance = open_governance(&gov).await?;
            let record = governance.reject_model(Actor::Local, id, &reason).await;
            governance.close().await;
            print_version("rejected", &record?)
        }
        RegistryCommand::Rollback { id, gov } => {
            let governance = open_governance(&gov).await?;
            let record = governance
                .rollback_model(Actor::Local, id, &artifact_on_disk)
                .await;
            governance.close().await;
            print_version("rolled back to", &record?)
        }
        RegistryCommand::Compare { id, format, gov } => {
            let governance = open_governance(&gov).await?;
            let detail = governance.model_detail(Actor::Local, id).await;
            governance.close().await;
            let detail = detail?;
            if format == Format::Json {
                writeln!(
                    std::io::stdout(),
                    "{}",
                    serde_json::to_string_pretty(&detail.staging)?
                )?;
                return Ok(());
            }
            let mut table = Table::new();
            table.set_header(["", "value"]);
            add_staging_rows(&mut table, &detail);
            writeln!(std::io::stdout(), "{table}")?;
            Ok(())
        }
        RegistryCommand::Card { id, gov } => {
            let governance = open_governance(&gov).await?;
            let detail = governance.model_detail(Actor::Local, id).await;
            governance.close().await;
            let detail = detail?;
            write!(
                std::io::stdout(),
                "{}",
                crate::registry::card::model_card(
                    &detail.version,
                    &detail.diff_items,
                    detail.staging.as_ref(),
                    format_micros
                )
            )?;
            Ok(())
        }
    }
}

async fn register(args: RegisterArgs) -> anyhow::Result<()> {
    let loaded = match &args.public_key {
        Some(public_key) => {
            let key = crate::audit::load_verifying_key(public_key)?;
            crate::model::load_verified(&args.model, &key)?
        }
        None => ModelFile::load(&args.model)?,
    };
    let governance = open_governance(&args.gov).await?;
    let diff = diff_against_production(&governance, &loaded).await?;
    let version = new_version(&loaded, &args.model)?;
    let record = governance
        .register_model(
            Actor::Local,
            version,
            diff.as_ref().map(|(id, items)| (*id, items.as_slice())),
        )
        .await;
    governance.close().await;
    let record = record?;
    print_version("registered", &record)?;
    if let Some((against, items)) = &diff {
        writeln!(
            std::io::stdout(),
            "baseline diff against version {against}: {} item(s) to acknowledge (model show --db, model card)",
            items.len()
        )?;
    }
    Ok(())
}

/// The baseline diff of `loaded` against the production version, if there is one, from both
/// model files (the production file must still be the registered artifact).
pub async fn diff_against_production(
    governance: &Governance<SqliteStore>,
    loaded: &crate::model::LoadedModel,
) -> anyhow::Result<Option<(i64, Vec<crate::registry::DiffItem>)>> {
    Ok(production_model(governance)
        .await?
        .map(|(id, current)| (id, baseline_diff(loaded, &current))))
}

/// The production version's id and its model file, checked to be the registered artifact.
pub async fn production_model(
    governance: &Governance<SqliteStore>,
) -> anyhow::Result<Option<(i64, crate::model::LoadedModel)>> {
    let production = governance
        .list_models(Actor::Local)
        .await?
        .into_iter()
        .find(|v| v.stage == ModelStage::Production);
    let Some(production) = production else {
        return Ok(None);
    };
    let path = Path::new(&production.path);
    let current = ModelFile::load(path).with_context(|| {
        format!(
            "cannot load the production model (version {}) from {} to compare with",
            production.id, production.path
        )
    })?;
    anyhow::ensure!(
        current.sha256 == production.sha256,
        "the production model file {} is not the registered artifact (sha256 {}, registered {})",
        production.path,
        current.sha256,
        production.sha256
    );
    Ok(Some((production.id, current)))
}

/// The registry record to insert for a model file.
pub fn new_version(
    loaded: &crate::model::LoadedModel,
    model: &Path,
) -> anyhow::Result<NewModelVersion> {
    let path = std::fs::canonicalize(model).unwrap_or_else(|_| model.to_path_buf());
    Ok(NewModelVersion {
        sha256: loaded.sha256.clone(),
        parent_id: None,
        path: path.display().to_string(),
        provenance: serde_json::to_value(&loaded.file.manifest)?,
        registered_by: String::new(),
        at: crate::governance::now_micros(),
    })
}

/// A version's file is still its registered artifact: it reads, and its SHA-256 is the digest
/// the registry holds (what was certified).
fn artifact_on_disk(version: &ModelVersionRecord) -> Result<(), String> {
    let (sha256, _) = crate::train::sha256_file(Path::new(&version.path))
        .map_err(|error| format!("its file cannot be read ({error})"))?;
    if sha256 != version.sha256 {
        return Err(format!(
            "its file now has SHA-256 {sha256}, not the registered and certified {}: put the registered file back in place",
            version.sha256
        ));
    }
    Ok(())
}

/// The governance arguments of a command whose database is optional (`model show --db`,
/// `certify --db`): the defaults of [`GovArgs`], the audit signing key from the environment.
pub fn gov_args(db: &Path, policies: &[PathBuf]) -> GovArgs {
    GovArgs {
        db: DbArgs {
            db: db.to_path_buf(),
        },
        policies: policies.to_vec(),
        shift_hours: 8,
        signing_key: std::env::var_os("OTSENTRY_SIGNING_KEY").map(PathBuf::from),
        ticket_key: None,
        request_ttl_hours: 72,
    }
}

async fn open_for_show(db: &Path, policies: &[PathBuf]) -> anyhow::Result<Governance<SqliteStore>> {
    open_governance(&gov_args(db, policies)).await
}

/// The registry record of the artifact with this SHA-256, if registered.
pub fn record_of(
    db: &Path,
    policies: &[PathBuf],
    sha256: &str,
) -> anyhow::Result<Option<ModelDetail>> {
    runtime()?.block_on(async {
        let governance = open_for_show(db, policies).await?;
        let versions = governance.list_models(Actor::Local).await?;
        let detail = match versions.iter().find(|v| v.sha256 == sha256) {
            Some(version) => Some(governance.model_detail(Actor::Local, version.id).await?),
            None => None,
        };
        governance.close().await;
        Ok(detail)
    })
}

/// The registry rows of `model show`.
pub fn add_record_rows(table: &mut comfy_table::Table, detail: &ModelDetail) {
    let version = &detail.version;
    table.add_row(["registry version", &version.id.to_string()]);
    table.add_row([
        "stage",
        &format!(
            "{} since {}",
            version.stage,
            format_micros(version.stage_since)
        ),
    ]);
    table.add_row([
        "parent",
        &version
            .parent_id
            .map_or("none".to_string(), |id| id.to_string()),
    ]);
    let certification = match (&version.certification, version.certified) {
        (Some(report), Some(passed)) => {
            let combined = &report["drift"]["combined"];
            format!(
                "{}: slow drift combined rate {}, first detection day {}, control rate {}",
                if passed { "passed" } else { "failed" },
                combined["detection_rate"],
                combined["first_detection_day"],
                combined["control_rate"]
            )
        }
        _ => "not certified".to_string(),
    };
    table.add_row(["certification", &certification]);
    if let Some(report) = &version.certification {
        for detector in report["drift"]["detectors"]
            .as_array()
            .into_iter()
            .flatten()
        {
            table.add_row([
                format!("  drift {}", detector["detector"].as_str().unwrap_or("?")),
                format!(
                    "{} of {} polls (rate {}), first day {}, control rate {}, meets requirement {}",
                    detector["detected"],
                    detector["total_polls"],
                    detector["detection_rate"],
                    detector["first_detection_day"],
                    detector["control_rate"],
                    detector["meets_requirement"]
                ),
            ]);
        }
    }
    if let Some(report) = &version.certification {
        for variant in report["variants"].as_array().into_iter().flatten() {
            table.add_row([
                format!("  variant {}", variant["test"].as_str().unwrap_or("?")),
                format!(
                    "caught by {}, {} of {} {}, first detection after {} s, passed {}",
                    variant["caught_by"].as_str().unwrap_or("none"),
                    variant["caught"],
                    variant["total"],
                    variant["unit"].as_str().unwrap_or(""),
                    variant["first_detection_secs"],
                    variant["passed"]
                ),
            ]);
        }
    }
    add_staging_rows(table, detail);
    for item in &detail.diff_items {
        table.add_row([
            format!("diff #{}", item.id),
            match &item.acknowledged_by {
                Some(by) => format!(
                    "{} {}: acknowledged by {by}: {}",
                    item.kind,
                    item.item,
                    item.justification.as_deref().unwrap_or_default()
                ),
                None => format!("{} {}: not acknowledged", item.kind, item.item),
            },
        ]);
    }
}

/// The registry version of `loaded`, refused unless it is in `stage` with a passed
/// certification of this exact artifact: what `watch --db` runs (production) and scores beside
/// it (staging).
pub fn require_stage(
    db: &Path,
    policies: &[PathBuf],
    loaded: &crate::model::LoadedModel,
    stage: ModelStage,
) -> anyhow::Result<crate::store::ModelVersionRecord> {
    let detail = record_of(db, policies, &loaded.sha256)?.ok_or_else(|| {
        anyhow::anyhow!(
            "model {} is not in the registry {}; register it with `otsentry model register`",
            loaded.sha256,
            db.display()
        )
    })?;
    let version = detail.version;
    anyhow::ensure!(
        version.stage == stage,
        "registry version {} ({}) is in stage {}, not {stage}",
        version.id,
        version.sha256,
        version.stage
    );
    let certified = version
        .certification
        .as_ref()
        .and_then(|report| report.get("model_sha256"))
        .and_then(serde_json::Value::as_str);
    anyhow::ensure!(
        version.certified == Some(true) && certified == Some(version.sha256.as_str()),
        "registry version {} ({}) has no passed certification of this artifact ({}); run `otsentry certify MODEL --db`",
        version.id,
        version.sha256,
        match version.certified {
            None => "not certified",
            Some(false) => "its certification failed",
            Some(true) => "the certification on record is of another artifact",
        }
    );
    Ok(version)
}

/// The registry's staging version (`watch --staging`): refused when there is none or several.
pub fn staging_version(
    db: &Path,
    policies: &[PathBuf],
) -> anyhow::Result<crate::store::ModelVersionRecord> {
    let versions = runtime()?.block_on(async {
        let governance = open_for_show(db, policies).await?;
        let versions = governance.list_models(Actor::Local).await;
        governance.close().await;
        anyhow::Ok(versions?)
    })?;
    let mut staging: Vec<_> = versions
        .into_iter()
        .filter(|v| v.stage == ModelStage::Staging)
        .collect();
    match staging.len() {
        0 => anyhow::bail!(
            "no version is in stage staging in {}; stage a candidate with `otsentry model stage VERSION`",
            db.display()
        ),
        1 => Ok(staging.remove(0)),
        _ => anyhow::bail!(
            "{} versions are in stage staging in {} ({}); name the one to score with --staging-model",
            staging.len(),
            db.display(),
            staging
                .iter()
                .map(|v| v.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Records a staging version's evidence in the registry database, each delta one governed,
/// audited change as `local:cli`, on a runtime of its own (watch is synchronous).
pub fn staging_recorder(
    db: &Path,
    policies: &[PathBuf],
    version_id: i64,
) -> anyhow::Result<crate::watch::staging::Recorder> {
    let runtime = runtime()?;
    let governance = runtime.block_on(open_for_show(db, policies))?;
    Ok(Box::new(move |delta| {
        runtime
            .block_on(governance.record_staging_evidence(Actor::Local, version_id, delta))
            .map_err(|error| error.to_string())
    }))
}

/// The staging evidence rows of `model show` and `model compare`: how long the version scored
/// live traffic beside production, the records, and its would-be alerts against production's
/// on the same records, in all, by detector and rule and by day.
pub fn add_staging_rows(table: &mut comfy_table::Table, detail: &ModelDetail) {
    for (label, value) in
        crate::registry::evidence::staging_rows(detail.staging.as_ref(), format_micros)
    {
        table.add_row([label, value]);
    }
}
