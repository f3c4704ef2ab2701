//! `otsentry inspect PATH...`: arguments, progress, and printing the summary as a terminal table
//! or as JSON.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

use crate::inspect::{InspectOptions, Summary, inspect};
use crate::text::{escape_terminal, json_for_terminal};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Tables for a terminal.
    Table,
    /// One JSON document, for scripts.
    Json,
}

/// Summarise Zeek logs: files, formats, record counts by log path and service, OT records, time
/// span, and malformed lines with their locations.
///
/// Reads TSV and JSON logs, plain or gzip, single files or directories of rotated logs.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Log files or directories (searched recursively for *.log, *.log.gz, *.json).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format: a table on a terminal, or JSON.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// How many malformed lines to list (all are counted).
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_problems: usize,
    #[command(flatten)]
    pub selection: super::selection::SelectionArgs,
}

/// Runs `inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let options = InspectOptions {
        source: args.selection.source(args.selection.selector()?),
        max_problems_listed: args.max_problems,
    };
    let progress = ProgressBar::new_spinner();
    progress.set_style(
        ProgressStyle::with_template("{spinner} {pos} files read, last {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let summary = inspect(&args.paths, &options, |file| {
        progress.inc(1);
        progress.set_message(file.path.display().to_string());
    })
    .context("inspecting Zeek logs")?;
    progress.finish_and_clear();
    if summary.files.iter().all(|file| file.error.is_some()) {
        let first = summary
            .files
            .iter()
            .find_map(|file| file.error.clone())
            .unwrap_or_default();
        anyhow::bail!("no file could be read as a Zeek log: {first}");
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        OutputFormat::Json => {
            // Serialised to memory first so a closed pipe surfaces as an io::Error, which `main`
            // treats as success.
            let json = serde_json::to_string_pretty(&summary).context("serialising the summary")?;
            writeln!(stdout, "{}", json_for_terminal(&json))?;
        }
        OutputFormat::Table => print_tables(&summary, &mut stdout)?,
    }
    Ok(())
}

fn table(header: &[&str]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    if !std::io::stdout().is_terminal() {
        table.force_no_tty();
    }
    table
}

fn count_table(title: &str, counts: &std::collections::BTreeMap<String, u64>) -> Table {
    let mut table = table(&[title, "records"]);
    for (name, count) in counts {
        table.add_row(vec![
            Cell::new(escape_terminal(name)),
            Cell::new(count).set_alignment(CellAlignment::Right),
        ]);
    }
    table
}

fn print_tables(summary: &Summary, out: &mut impl Write) -> anyhow::Result<()> {
    let mut files = table(&[
        "file",
        "format",
        "compression",
        "log path",
        "records",
        "problems",
        "status",
    ]);
    for file in &summary.files {
        files.add_row(vec![
            Cell::new(escape_terminal(&file.path.display().to_string())),
            Cell::new(
                file.format
                    .map_or("?".to_owned(), |format| format.to_string()),
            ),
            Cell::new(
                file.compression
                    .map_or("?".to_owned(), |compression| compression.to_string()),
            ),
            Cell::new(escape_terminal(&file.log_path)),
            Cell::new(file.records).set_alignment(CellAlignment::Right),
            Cell::new(file.problems).set_alignment(CellAlignment::Right),
            Cell::new(escape_terminal(file.error.as_deref().unwrap_or("ok"))),
        ]);
    }
    writeln!(out, "{files}")?;
    writeln!(
        out,
        "\n{}",
        count_table("log path", &summary.records_by_log_path)
    )?;
    if !summary.records_by_service.is_empty() {
        writeln!(
            out,
            "\n{}",
            count_table("conn.log service", &summary.records_by_service)
        )?;
    }
    writeln!(
        out,
        "\n{}",
        count_table("OT selected by", &summary.ot_records_by_reason)
    )?;
    let span = &summary.time_span;
    let range = match (span.first, span.last) {
        (Some(first), Some(last)) => format!("{} to {}", first.to_iso8601(), last.to_iso8601()),
        _ => "none".to_owned(),
    };
    let masked = if span.masked_records > 0 {
        format!(" ({} records masked)", span.masked_records)
    } else {
        String::new()
    };
    writeln!(
        out,
        "\n{} files ({} unreadable), {} records, {} OT records\ntime span: {range}{masked}\nmalformed lines: {}",
        summary.files.len(),
        summary.files_with_errors,
        summary.records,
        summary.ot_records,
        summary.problem_count
    )?;
    for problem in &summary.problems {
        writeln!(out, "  {}", escape_terminal(&problem.to_string()))?;
    }
    if summary.problem_count > summary.problems.len() as u64 {
        writeln!(
            out,
            "  ... and {} more",
            summary.problem_count - summary.problems.len() as u64
        )?;
    }
    Ok(())
}
