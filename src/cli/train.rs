//! `otsentry train`: learn the baseline from Zeek logs and write a sealed model file.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::train::{ModelKind, TrainConfig, train};

/// The model to fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// Isolation Forest with scikit-learn's semantics.
    Forest,
    /// Per-feature z-scores: simpler, for comparison.
    Zscore,
}

/// Learn how the OT network normally talks, from conn.log and protocol logs.
///
/// Reads every file or directory given (plain or gzip, TSV or JSON, rotated logs in time order)
/// in one streaming pass, learns OT traffic (by service, with OT ports as a fallback) and every
/// other record that touches an OT asset (an engineering workstation's RDP to an HMI), and writes
/// one model file holding the models, vocabularies and provenance. Its SHA-256 is printed and
/// written to MODEL.sha256.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Zeek log files or directories (conn.log and modbus/dnp3/enip/cip logs).
    #[arg(long = "log", required = true, num_args = 1.., value_name = "PATH")]
    pub logs: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value = "forest")]
    pub model_kind: KindArg,
    /// Expected share of anomalies in the training data, in (0, 0.5], or `auto` (offset -0.5).
    #[arg(long, default_value = "0.001")]
    pub contamination: String,
    #[arg(long, default_value_t = 200)]
    pub n_estimators: usize,
    /// The forest's alert budget: score's and watch's default threshold for each record type
    /// lets about this many training records a day through (0: the contamination boundary).
    #[arg(long, value_name = "N", default_value_t = crate::train::DEFAULT_FOREST_ROWS_PER_DAY)]
    pub forest_rows_per_day: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Train on under 14 days of logs anyway (recorded in the model).
    #[arg(long)]
    pub allow_short_baseline: bool,
    /// Train only on records before TIME: the end of the baseline window. TIME is RFC 3339
    /// (2026-10-30T00:00:00Z) or epoch seconds (1793318400).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<f64>,
    #[command(flatten)]
    pub selection: super::selection::SelectionArgs,
}

pub fn run(args: TrainArgs) -> anyhow::Result<()> {
    let mut config = TrainConfig::new(args.logs);
    config.model_kind = match args.model_kind {
        KindArg::Forest => ModelKind::Forest,
        KindArg::Zscore => ModelKind::ZScore,
    };
    config.contamination = parse_contamination(&args.contamination)?;
    config.n_estimators = args.n_estimators;
    if !args.forest_rows_per_day.is_finite() || args.forest_rows_per_day < 0.0 {
        anyhow::bail!(
            "--forest-rows-per-day must be a finite number of records a day, 0 or more, got {}",
            args.forest_rows_per_day
        );
    }
    config.forest_rows_per_day = args.forest_rows_per_day;
    config.seed = args.seed;
    config.allow_short_baseline = args.allow_short_baseline;
    config.source = args.selection.source(args.selection.selector()?);
    config.until = args.until;

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} reading logs: {msg} records ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let outcome = train(&config, |records| bar.set_message(records.to_string()));
    bar.finish_and_clear();
    let outcome = outcome.context("training failed")?;
    let sha256 = outcome
        .model
        .write(&args.out)
        .with_context(|| format!("cannot save the model to {}", args.out.display()))?;

    let manifest = &outcome.model.manifest;
    for warning in &manifest.warnings {
        eprintln!("warning: {warning}");
    }
    for error in &outcome.stats.errors {
        eprintln!("skipped: {error}");
    }
    let window = &manifest.window;
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        table.set_width(120);
    }
    table.set_header(["training summary", ""]);
    table.add_row([
        "window",
        &format!("{} .. {}", window.start_utc, window.end_utc),
    ]);
    table.add_row([
        "days",
        &format!(
            "{:.1} days span, {} calendar days covered",
            window.span_days, window.days_covered
        ),
    ]);
    table.add_row(["weekdays", &window.weekdays.join(", ")]);
    table.add_row([
        "files",
        &format!(
            "{} ({} records read)",
            manifest.sources.len(),
            manifest.records_read
        ),
    ]);
    for (schema, count) in &manifest.records_per_schema {
        table.add_row([format!("{schema} records"), count.to_string()]);
    }
    for (service, count) in &manifest.records_per_service {
        table.add_row([format!("  service {service}"), count.to_string()]);
    }
    table.add_row(["non-OT conn records", &manifest.skipped_not_ot.to_string()]);
    table.add_row(["parse errors", &manifest.parse_errors.to_string()]);
    table.add_row([
        "model",
        &format!(
            "{} ({} trees, contamination {}, seed {})",
            manifest.model_kind,
            manifest.params.n_estimators,
            manifest
                .params
                .contamination
                .map_or("auto".to_string(), |c| c.to_string()),
            manifest.params.seed
        ),
    ]);
    for schema in &outcome.model.schemas {
        table.add_row([
            format!("{} offset", schema.schema.as_str()),
            format!("{:.6}", schema.model.offset()),
        ]);
    }
    if !manifest.overrides.is_empty() {
        table.add_row(["overrides", &manifest.overrides.join(", ")]);
    }
    table.add_row(["dataset sha256", &manifest.dataset_sha256]);
    // Which walk scored here (the offset sample), so that benchmark output names it.
    if let Ok(options) = iforest::ScoringOptions::from_env()
        && let Ok(path) = options.resolve()
    {
        table.add_row([
            "scoring path",
            &format!("{path} (cell cache {})", options.cache),
        ]);
    }
    // `writeln!`, not `println!`: a closed pipe is an error `main` ends quietly, not a panic.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{table}")?;
    writeln!(out, "model written to {}", args.out.display())?;
    writeln!(out, "sha256 {sha256}")?;
    Ok(())
}

/// `auto` or a fraction.
pub fn parse_contamination(text: &str) -> anyhow::Result<Option<f64>> {
    if text == "auto" {
        return Ok(None);
    }
    let value: f64 = text
        .parse()
        .with_context(|| format!("--contamination must be `auto` or a number, got {text:?}"))?;
    Ok(Some(value))
}

/// A point in log time given on the command line (`--until`, `--since`): RFC 3339 or epoch
/// seconds, as epoch seconds. clap names the flag and the value in front of the error.
pub fn parse_time(text: &str) -> Result<f64, String> {
    let expected = "expected an RFC 3339 time such as 2026-10-30T00:00:00Z or epoch seconds \
                    such as 1793318400";
    let text = text.trim();
    if let Ok(time) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(time.unix_timestamp() as f64 + f64::from(time.nanosecond()) / 1e9);
    }
    // Plain digits with an optional fraction, so that words such as `inf` or `nan` and
    // exponents are refused rather than read as numbers.
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if digits(whole)
        && digits(fraction)
        && let Ok(seconds) = text.parse::<f64>()
    {
        return Ok(seconds);
    }
    Err(expected.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn times_are_rfc_3339_or_epoch_seconds() {
        assert_eq!(parse_time("2026-10-30T00:00:00Z"), Ok(1_793_318_400.0));
        assert_eq!(parse_time("2026-10-30T02:00:00+02:00"), Ok(1_793_318_400.0));
        assert_eq!(parse_time("2026-10-30T00:00:00.25Z"), Ok(1_793_318_400.25));
        assert_eq!(parse_time("1793318400"), Ok(1_793_318_400.0));
        assert_eq!(parse_time("1793318400.5"), Ok(1_793_318_400.5));
        for bad in [
            "",
            "yesterday",
            "2026-10-30",
            "1e9",
            "inf",
            "-5",
            "12.",
            ".5",
            "2026-10-30 00:00",
        ] {
            let error = parse_time(bad).unwrap_err();
            assert!(error.contains("RFC 3339"), "{bad}: {error}");
        }
    }
}
