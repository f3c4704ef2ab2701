//! `otsentry model show`: print a model file's manifest after verifying it.

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
    /// Verify a model file and print its manifest: window, sources, parameters, thresholds.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The model file.
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    /// `table` for people, `json` for scripts.
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
}

pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Show(show) => run_show(show),
    }
}

fn run_show(args: ShowArgs) -> anyhow::Result<()> {
    let loaded = ModelFile::load(&args.model)
        .with_context(|| format!("cannot load model {}", args.model.display()))?;
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
        });
        println!("{}", serde_json::to_string_pretty(&document)?);
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
    println!("{table}");
    Ok(())
}
