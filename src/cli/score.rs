//! `otsentry score`: score Zeek logs against a trained model and print the alerts.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::selection::SelectionArgs;
use crate::alerts::DEFAULT_WINDOW_SECS;
use crate::governance::AiComponent;
use crate::inventory::Inventory;
use crate::model::{LoadedModel, ModelFile};
use crate::pipeline::{PipelineConfig, RowOutput};
use crate::score::{BATCH_ROWS, ScoreConfig, ScoreSummary, score};
use crate::sinks::console::{Console, ConsoleFormat};
use crate::sinks::queue::AlertQueue;
use crate::sinks::{Fanout, Sink};
use crate::sources::SourceOptions;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Alerts in a table for people, most severe first.
    Table,
    /// One alert per line in the Elastic Common Schema, for SIEMs and scripts.
    Json,
    /// Alerts as CSV with a header line.
    Csv,
    /// Flagged rows (every row with --all) as JSON lines, one per record.
    Rows,
    /// Flagged rows as CSV.
    RowsCsv,
}

impl OutputFormat {
    fn console(self) -> ConsoleFormat {
        match self {
            OutputFormat::Table => ConsoleFormat::Table,
            OutputFormat::Json => ConsoleFormat::Json,
            OutputFormat::Csv => ConsoleFormat::Csv,
            OutputFormat::Rows => ConsoleFormat::Rows,
            OutputFormat::RowsCsv => ConsoleFormat::RowsCsv,
        }
    }
}

/// Score Zeek logs against a model and print the alerts, with their reasons.
///
/// Every record goes through the same pipeline `watch` runs: records that are OT traffic, or
/// that touch an OT asset on any port, reach the detectors; findings on the same devices within
/// --window seconds are one alert with a count. An alert's severity comes from what was found (a
/// never-seen host writing to a PLC is critical); the forest's anomaly_score (the decision value
/// score_samples - offset: negative is anomalous, 0 the contamination boundary) makes a finding
/// of its own when it is below --threshold, low or medium severity.
#[derive(Debug, Args)]
pub struct ScoreArgs {
    /// Zeek log files or directories.
    #[arg(long = "log", required = true, num_args = 1.., value_name = "PATH")]
    pub logs: Vec<PathBuf>,
    /// The model file written by `otsentry train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// The forest flags rows whose anomaly_score (decision value) is below this, for every
    /// record type; 0 is the contamination boundary. Default: the thresholds the model was
    /// calibrated with in training (`model show` lists them).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Findings on the same devices within this many seconds of log time are one alert.
    #[arg(long, default_value_t = DEFAULT_WINDOW_SECS, value_name = "SECONDS")]
    pub window: f64,
    #[arg(long, value_enum, default_value = "table")]
    pub format: OutputFormat,
    /// With --format rows or rows-csv: print every row, not only the flagged ones.
    #[arg(long)]
    pub all: bool,
    /// Alert only on records at or after TIME; earlier ones still feed the per-edge state.
    /// TIME is RFC 3339 (2026-10-30T00:00:00Z) or epoch seconds (1793318400).
    #[arg(long, value_name = "TIME", value_parser = super::train::parse_time)]
    pub since: Option<f64>,
    /// Continue from the state an earlier run wrote with --checkpoint.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// At the end, write the pipeline's state here (open alerts stay open in it) so that a
    /// later run with --resume continues as if there had been one run.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Asset inventory files (YAML, as `otsentry inventory check` reads them): alerts carry both
    /// ends' asset context and open maintenance windows, and the conduit detector reports flows
    /// between zones that no conduit allows.
    #[arg(long = "inventory", num_args = 1.., value_name = "FILE")]
    pub inventory: Vec<PathBuf>,
    #[command(flatten)]
    pub queue: QueueArgs,
    #[command(flatten)]
    pub selection: SelectionArgs,
}

/// The governance alert queue's flags, shared by `score` and `watch`.
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// Also store every alert, when it opens, in this governance database's alert queue, written
    /// as the AI principal --queue-as under the --queue-policy files; each stored alert is an
    /// entry of the audit log, and a policy that does not let the detectors write alerts refuses.
    #[arg(long, value_name = "DB", requires_all = ["queue_as", "queue_policy"])]
    pub alert_queue: Option<PathBuf>,
    /// The detectors' AI principal (component scorer) that writes to --alert-queue.
    #[arg(long, value_name = "PRINCIPAL", requires = "alert_queue")]
    pub queue_as: Option<String>,
    /// The policy files in force for --alert-queue, as `--policy` of the governance commands.
    #[arg(long, value_name = "FILE", num_args = 1.., requires = "alert_queue")]
    pub queue_policy: Vec<PathBuf>,
    /// Sign the alert queue's audit entries with this ed25519 key file (where the log adopted one).
    #[arg(long, value_name = "FILE", requires = "alert_queue")]
    pub queue_signing_key: Option<PathBuf>,
}

impl QueueArgs {
    /// The closing line: how many alerts went into which database.
    pub(super) fn stored_line(&self, queue: &AlertQueue) -> Option<String> {
        let db = self.alert_queue.as_ref()?;
        let already = match queue.already_stored() {
            0 => String::new(),
            n => format!(" ({n} already there from an earlier run, not stored again)"),
        };
        Some(format!(
            "{} alerts stored in the alert queue of {}{already}",
            queue.stored(),
            db.display()
        ))
    }
}

/// The governance alert queue `--alert-queue` names, opened (and the principal checked) before
/// any log is read.
pub(super) fn open_queue(args: &QueueArgs) -> anyhow::Result<Option<AlertQueue>> {
    let (Some(db), Some(name)) = (&args.alert_queue, &args.queue_as) else {
        return Ok(None);
    };
    let runtime = super::common::runtime()?;
    let gov = super::common::GovArgs {
        db: super::common::DbArgs { db: db.clone() },
        policies: args.queue_policy.clone(),
        shift_hours: 8,
        signing_key: args.queue_signing_key.clone(),
        ticket_key: None,
        request_ttl_hours: 72,
    };
    let writer = runtime
        .block_on(async {
            let governance = super::common::open_governance(&gov).await?;
            super::triage::ai_writer_of(&governance, name, AiComponent::Scorer).await
        })
        .with_context(|| format!("cannot open the alert queue in {}", db.display()))?;
    Ok(Some(AlertQueue::new(runtime, writer)))
}

pub fn run(args: ScoreArgs) -> anyhow::Result<()> {
    let (model, source) = load_model(&args.model, args.window, &args.selection)?;
    let inventory = load_inventory(&args.inventory)?;
    let mut queue = open_queue(&args.queue)?;
    let mut config = ScoreConfig::new(args.logs, &model);
    config.source = source;
    config.pipeline = PipelineConfig {
        threshold: args.threshold,
        window_secs: args.window,
        batch_rows: BATCH_ROWS,
        max_latency: None,
        emit_from: args.since,
        rows: match (args.format.console().is_rows(), args.all) {
            (false, _) => RowOutput::None,
            (true, false) => RowOutput::Flagged,
            (true, true) => RowOutput::All,
        },
        inventory,
    };
    config.resume_from = args.resume;
    config.checkpoint_to = args.checkpoint;

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} scoring: {msg} records ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let stdout = std::io::stdout();
    let mut console = Console::new(
        args.format.console(),
        BufWriter::with_capacity(1 << 16, stdout.lock()),
    );
    let outcome = {
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut console];
        if let Some(queue) = queue.as_mut() {
            sinks.push(queue);
        }
        score(
            Arc::clone(&model),
            &config,
            |records| bar.set_message(records.to_string()),
            &mut Fanout(sinks),
        )
    };
    bar.finish_and_clear();
    let summary = match outcome {
        Ok(summary) => summary,
        // The reader of our output stopped (`| head`): that is not a failure.
        Err(error) if error.is_broken_pipe() => return Ok(()),
        Err(error) => return Err(error).context("scoring failed"),
    };
    let hidden = console.finish()?;
    if hidden > 0 {
        writeln!(
            std::io::stdout(),
            "{hidden} more alerts not shown; use --format json or csv for all of them"
        )?;
    }
    report(&summary, args.format, args.since.is_some());
    if let Some(line) = queue
        .as_ref()
        .and_then(|queue| args.queue.stored_line(queue))
    {
        eprintln!("{line}");
    }
    Ok(())
}

/// What the two drivers (`score`, `watch`) check before anything is read: the model exists and
/// verifies (its SHA-256 trailer and sidecar), the grouping window is sane, and an OT selection
/// given on the command line is the one the model was trained with. Returns the verified model
/// and the source options to read with.
pub(super) fn load_model(
    path: &Path,
    window: f64,
    selection: &SelectionArgs,
) -> anyhow::Result<(Arc<LoadedModel>, SourceOptions)> {
    load_model_signed(path, window, selection, None)
}

/// [`load_model`], and with `public_key` the model's detached signature is verified against
/// that key too (`crate::model::load_verified`), so only a model the key holder signed runs.
pub(super) fn load_model_signed(
    path: &Path,
    window: f64,
    selection: &SelectionArgs,
    public_key: Option<&Path>,
) -> anyhow::Result<(Arc<LoadedModel>, SourceOptions)> {
    if !path.exists() {
        anyhow::bail!(
            "model {} does not exist; train one with `otsentry train --log PATH --out {}`",
            path.display(),
            path.display()
        );
    }
    if !(window.is_finite() && window >= 0.0) {
        anyhow::bail!("--window must be a number of seconds, 0 or more (got {window})");
    }
    let model = match public_key {
        None => ModelFile::load(path)
            .with_context(|| format!("cannot load model {}", path.display()))?,
        Some(key_path) => {
            let key = crate::audit::load_verifying_key(key_path)
                .with_context(|| format!("cannot read --public-key {}", key_path.display()))?;
            crate::model::load_verified(path, &key).with_context(|| {
                format!(
                    "cannot load model {}: it is not the artifact the key {} verifies",
                    path.display(),
                    key_path.display()
                )
            })?
        }
    };
    let ot = model.ot_selector();
    if selection.names_ot_selection() {
        let asked = selection.selector()?;
        if asked != ot {
            anyhow::bail!(
                "the OT selection given (--ot-services, --ot-ports) differs from the one the model was trained with ({:?}); scoring must select what training learnt: retrain with these flags, or leave them out",
                ot.config()
            );
        }
    }
    let source = selection.source(ot);
    Ok((Arc::new(model), source))
}

/// The `--inventory` files, checked and loaded (`None` when none is given).
pub(super) fn load_inventory(paths: &[PathBuf]) -> anyhow::Result<Option<Arc<Inventory>>> {
    if paths.is_empty() {
        return Ok(None);
    }
    let inventory =
        crate::inventory::load_inventory(paths).context("the inventory is not valid")?;
    Ok(Some(Arc::new(inventory)))
}

/// The run's totals and warnings on stderr, so stdout stays data.
fn report(summary: &ScoreSummary, format: OutputFormat, windowed: bool) {
    let (source, pipeline) = (&summary.source, &summary.pipeline);
    for error in &source.errors {
        eprintln!("skipped: {}", crate::text::escape_terminal(error));
    }
    for warning in &pipeline.detector_warnings {
        eprintln!("warning: {warning}");
    }
    let emitted = pipeline.rows - pipeline.rows_before_since;
    if emitted == 0 {
        eprintln!(
            "warning: no rows were scored: {} records read in {} files, {} outside the OT scope, {} of a record kind the model has no model for{}; nothing was checked, so this is not a clean bill of health",
            source.records_read,
            source.files.len(),
            pipeline.out_of_scope,
            pipeline.rows_without_model,
            if windowed {
                ", or every record was before --since"
            } else {
                ""
            }
        );
    } else if format == OutputFormat::Table && pipeline.alerts_opened == 0 {
        eprintln!("no alerts in {emitted} rows");
    }
    if pipeline.mostly_novel() {
        eprintln!(
            "WARNING: {} of {emitted} rows carry a host, edge or function never seen in training: this traffic shares almost nothing with the model's baseline (another network, or a reconfigured one). Alerts here say little until a model is trained on this network",
            pipeline.rows_novel
        );
    }
    let severities: Vec<String> = pipeline
        .alerts_by_severity
        .iter()
        .rev()
        .map(|(severity, count)| format!("{count} {severity}"))
        .collect();
    eprintln!(
        "scored {emitted} rows from {} records in {} files: {} alerts ({}), {} rows flagged, {} parse errors, {} records outside the OT scope{}",
        source.records_read,
        source.files.len(),
        pipeline.alerts_opened,
        if severities.is_empty() {
            "none".to_string()
        } else {
            severities.join(", ")
        },
        pipeline.rows_flagged,
        source.parse_errors,
        pipeline.out_of_scope,
        if pipeline.rows_without_model > 0 {
            format!(
                ", {} rows of a record kind the model was not trained on",
                pipeline.rows_without_model
            )
        } else {
            String::new()
        }
    );
}
