//! `otsentry score`: score Zeek logs against a trained model and print the anomalies.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

use crate::model::ModelFile;
use crate::score::{ScoreConfig, ScoredRow, score};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A table for people.
    Table,
    /// One JSON object per line, for scripts.
    Json,
    /// CSV with a header line.
    Csv,
}

/// Score Zeek logs against a model and print the anomalies with their reasons.
///
/// anomaly_score is the decision value (score_samples - offset): negative is anomalous, 0 is the
/// contamination boundary set at training. A row is flagged when anomaly_score < --threshold or
/// when it has a value never seen in training (a new source, destination, edge or function).
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Zeek log files or directories.
    #[arg(long = "log", required = true, num_args = 1.., value_name = "PATH")]
    pub logs: Vec<PathBuf>,
    /// The model file written by `otsentry train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Flag rows whose anomaly_score (decision value) is below this; 0 = contamination boundary.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub threshold: f64,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// Print every row, not only the flagged ones.
    #[arg(long)]
    pub all: bool,
    /// Score only records at or after TIME; earlier ones are read and skipped. TIME is RFC 3339
    /// (2026-10-30T00:00:00Z) or epoch seconds (1793318400).
    #[arg(long, value_name = "TIME", value_parser = super::train::parse_time)]
    pub since: Option<f64>,
    /// Stop at the first malformed line instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// Rows a table shows; more are counted and the user is pointed to json/csv.
const TABLE_ROWS: usize = 200;

pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    if !args.model.exists() {
        anyhow::bail!(
            "model {} does not exist; train one with `otsentry train --log PATH --out {}`",
            args.model.display(),
            args.model.display()
        );
    }
    let model = ModelFile::load(&args.model)
        .with_context(|| format!("cannot load model {}", args.model.display()))?;
    let read_options = zeek::ReadOptions {
        strict: args.strict,
        ..Default::default()
    };
    let config = ScoreConfig {
        logs: args.logs,
        threshold: args.threshold,
        all: args.all,
        read_options,
        since: args.since,
        batch_rows: crate::score::BATCH_ROWS,
    };
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} scoring: {msg} records ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut table_rows: Vec<ScoredRow> = Vec::new();
    let mut hidden = 0u64;
    if args.format == OutputFormat::Csv {
        writeln!(out, "{}", CSV_HEADER)?;
    }
    let summary = score(
        &model,
        &config,
        |records| bar.set_message(records.to_string()),
        |row| match args.format {
            OutputFormat::Json => {
                serde_json::to_writer(&mut out, row).map_err(std::io::Error::other)?;
                out.write_all(b"\n")
            }
            OutputFormat::Csv => write_csv(&mut out, row),
            OutputFormat::Table => {
                if table_rows.len() < TABLE_ROWS {
                    table_rows.push(row.clone());
                } else {
                    hidden += 1;
                }
                Ok(())
            }
        },
    );
    bar.finish_and_clear();
    let summary = summary.context("scoring failed")?;
    if args.format == OutputFormat::Table {
        if table_rows.is_empty() {
            writeln!(out, "no anomalies")?;
        } else {
            writeln!(out, "{}", table(&table_rows))?;
        }
        if hidden > 0 {
            writeln!(
                out,
                "{hidden} more rows not shown; use --format json or csv for all of them"
            )?;
        }
    }
    out.flush()?;
    for error in &summary.walk.errors {
        eprintln!("skipped: {error}");
    }
    eprintln!(
        "scored {} rows from {} records in {} files: {} flagged ({} with novel values), {} parse errors, {} non-OT conn records{}",
        summary.rows_scored,
        summary.walk.records_read,
        summary.walk.files.len(),
        summary.rows_flagged,
        summary.rows_novel,
        summary.walk.parse_errors,
        summary.walk.skipped_not_ot,
        if summary.rows_without_model > 0 {
            format!(
                ", {} rows of a record kind the model was not trained on",
                summary.rows_without_model
            )
        } else {
            String::new()
        }
    );
    Ok(())
}

const CSV_HEADER: &str = "ts,uid,id.orig_h,id.resp_h,id.resp_p,service,record,anomaly_score,score_samples,flagged,novel,reasons";

fn write_csv(out: &mut impl Write, row: &ScoredRow) -> std::io::Result<()> {
    writeln!(
        out,
        "{:.6},{},{},{},{},{},{},{:.6},{:.6},{},{},{}",
        row.ts,
        csv_field(&row.uid),
        row.orig_h,
        row.resp_h,
        row.resp_p,
        csv_field(&row.service),
        row.record,
        row.anomaly_score,
        row.score_samples,
        row.flagged,
        row.novel.join(";"),
        csv_field(&row.reasons.join("; ")),
    )
}

/// Quotes a CSV field when it needs it.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn table(rows: &[ScoredRow]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "ts",
            "uid",
            "id.orig_h",
            "id.resp_h",
            "id.resp_p",
            "service",
            "anomaly_score",
            "score_samples",
            "reasons",
        ]);
    for row in rows {
        table.add_row([
            crate::train::window::rfc3339(row.ts),
            row.uid.clone(),
            row.orig_h.to_string(),
            row.resp_h.to_string(),
            row.resp_p.to_string(),
            row.service.clone(),
            format!("{:.4}", row.anomaly_score),
            format!("{:.4}", row.score_samples),
            row.reasons.join("\n"),
        ]);
    }
    table
}
