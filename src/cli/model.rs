//! `otsentry model`: a model file's manifest (`show`), its signature (`sign`, `verify`), and its
//! life in the registry (`register`, `list`, `stage`, `ack`, `promote`, `rollback`, `card`); the
//! registry commands are governed changes, audited as `local:cli` or as the person named.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde_json::json;

use super::inspect::OutputFormat;
use crate::model::ModelFile;

/// Inspect model files.
#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Verify a model file and print its manifest: window, sources, parameters, thresholds;
    /// with --db, also its registry record (stage, certification, baseline diff).
    Show(ShowArgs),
    /// Sign a model file with the site key: writes MODEL.sig, a detached ed25519 signature over
    /// its digests.
    Sign(SignArgs),
    /// Verify a model file and its signature against the site's public key.
    Verify(VerifyArgs),
    #[command(flatten)]
    Registry(super::registry::RegistryCommand),
}

#[derive(Debug, Args)]
pub struct SignArgs {
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// The site's ed25519 key file (64 hex digits; `otsentry audit keygen` makes one).
    #[arg(long, env = "OTSENTRY_MODEL_KEY")]
    pub key: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// The site's ed25519 public key file (64 hex digits).
    #[arg(long, env = "OTSENTRY_MODEL_PUBLIC_KEY")]
    pub public_key: PathBuf,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The model file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Also show the model's registry record from this database.
    #[arg(long, requires = "policies")]
    pub db: Option<PathBuf>,
    /// The policy files in force (with --db).
    #[arg(long = "policy", value_delimiter = ',')]
    pub policies: Vec<PathBuf>,
}

pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Show(show) => run_show(show),
        ModelCommand::Sign(sign) => {
            let loaded = ModelFile::load(&sign.model)
                .with_context(|| format!("cannot load model {}", sign.model.display()))?;
            let key = crate::audit::load_signing_key(&sign.key)?;
            let path = crate::model::signature::sign(&loaded, &sign.model, &key)?;
            writeln!(
                std::io::stdout(),
                "signed {} ({}) with key {}: {}",
                sign.model.display(),
                loaded.sha256,
                hex::encode(key.verifying_key().to_bytes()),
                path.display()
            )?;
            Ok(())
        }
        ModelCommand::Verify(verify) => {
            let key = crate::audit::load_verifying_key(&verify.public_key)?;
            let loaded = crate::model::load_verified(&verify.model, &key)?;
            writeln!(
                std::io::stdout(),
                "{} ({}) is whole and signed by {}",
                verify.model.display(),
                loaded.sha256,
                hex::encode(key.to_bytes())
            )?;
            Ok(())
        }
        ModelCommand::Registry(command) => super::registry::run(command),
    }
}

fn run_show(args: ShowArgs) -> anyhow::Result<()> {
    let loaded = ModelFile::load(&args.model)
        .with_context(|| format!("cannot load model {}", args.model.display()))?;
    let record = match &args.db {
        Some(db) => super::registry::record_of(db, &args.policies, &loaded.sha256)?,
        None => None,
    };
    let manifest = &loaded.file.manifest;
    let schemas: Vec<_> = loaded
        .file
        .schemas
        .iter()
        .map(|schema| {
            json!({
                "schema": schema.schema.as_str(),
                "records": schema.n_records,
                "features": schema.feature_names,
                "offset": schema.model.offset(),
                "kind": schema.model.kind(),
                "hosts": schema.vocab.hosts.len(),
                "edges": schema.vocab.edges.len(),
                "functions_or_states": schema.vocab.labels.len(),
            })
        })
        .collect();
    if args.format == OutputFormat::Json {
        let document = json!({
            "path": args.model.display().to_string(),
            "sha256": loaded.sha256,
            "bytes": loaded.bytes,
            "format_version": crate::model::FORMAT_VERSION,
            "manifest": manifest,
            "schemas": schemas,
            "registry": record,
        });
        // `writeln!`, not `println!`: a reader that stops early (`| head`) is an error `main`
        // ends quietly, where `println!` would panic.
        writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(&document)?
        )?;
        return Ok(());
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(120);
    }
    table.set_header(["model", &args.model.display().to_string()]);
    table.add_row(["sha256", &loaded.sha256]);
    table.add_row(["size", &format!("{} bytes", loaded.bytes)]);
    table.add_row([
        "trained by",
        &format!("{} at {}", manifest.tool, manifest.trained_at),
    ]);
    table.add_row(["kind", &manifest.model_kind]);
    table.add_row([
        "parameters",
        &format!(
            "{} trees, contamination {}, seed {}, tree sample {}, offset sample {}",
            manifest.params.n_estimators,
            manifest
                .params
                .contamination
                .map_or("auto".to_string(), |c| c.to_string()),
            manifest.params.seed,
            manifest.params.tree_sample,
            manifest.params.offset_sample
        ),
    ]);
    let window = &manifest.window;
    table.add_row([
        "window",
        &format!("{} .. {}", window.start_utc, window.end_utc),
    ]);
    table.add_row([
        "days",
        &format!(
            "{:.1} span, {} covered; {}",
            window.span_days,
            window.days_covered,
            window.weekdays.join(", ")
        ),
    ]);
    for schema in &loaded.file.schemas {
        table.add_row([
            format!("{} model", schema.schema.as_str()),
            format!(
                "{} records, {} hosts, {} edges, offset {:.6}",
                schema.n_records,
                schema.vocab.hosts.len(),
                schema.vocab.edges.len(),
                schema.model.offset()
            ),
        ]);
    }
    for (service, count) in &manifest.records_per_service {
        table.add_row([format!("  service {service}"), count.to_string()]);
    }
    table.add_row(["dataset sha256", &manifest.dataset_sha256]);
    for source in &manifest.sources {
        table.add_row([
            "source".to_string(),
            format!("{} {} ({} bytes)", source.sha256, source.path, source.bytes),
        ]);
    }
    table.add_row([
        "overrides",
        &if manifest.overrides.is_empty() {
            "none".to_string()
        } else {
            manifest.overrides.join(", ")
        },
    ]);
    for warning in &manifest.warnings {
        table.add_row(["warning", warning]);
    }
    table.add_row(["threshold", &manifest.threshold_semantics]);
    for (schema, threshold) in &manifest.forest_thresholds {
        let budget = manifest.forest_rows_per_day.map_or(String::new(), |rows| {
            format!(" (about {rows} training records a day below it)")
        });
        table.add_row([
            format!("  {schema} threshold"),
            format!("{threshold:.4}{budget}"),
        ]);
    }
    for section in &loaded.file.baselines {
        table.add_row([
            format!("baseline {}", section.name),
            format!("version {}, {} bytes", section.version, section.body.len()),
        ]);
    }
    if let Some(detail) = &record {
        super::registry::add_record_rows(&mut table, detail);
    } else if args.db.is_some() {
        table.add_row(["registry", "not registered"]);
    }
    writeln!(std::io::stdout(), "{table}")?;
    Ok(())
}
