//! `otsentry eval DIR`: ROC AUC and timings of a model on every labelled `NAME.csv.gz` in DIR.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::eval::report::{self, OutputFormat};
use crate::eval::{EvalOptions, ModelKind, datasets_in, evaluate, read_labelled_csv_gz};

/// Evaluate a model on labelled benchmark sets (ODDS as `NAME.csv.gz`, columns x0..xN and label).
///
/// Each set is fitted with the default parameters and its own rows are scored, as scikit-learn's
/// benchmarks do; the ROC AUC compares the scores with the labels.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// Directory holding `NAME.csv.gz` files.
    pub dir: PathBuf,
    /// Fit N times with seeds 42, 43, ... and report the mean AUC.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub repeat: u64,
    /// The model to evaluate.
    #[arg(long, value_enum, default_value_t = ModelKind::Forest)]
    pub model_kind: ModelKind,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Lines)]
    pub format: OutputFormat,
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let datasets = datasets_in(&args.dir)
        .with_context(|| format!("cannot list datasets in {}", args.dir.display()))?;
    let options = EvalOptions {
        model_kind: args.model_kind,
        repeat: args.repeat as usize,
        ..EvalOptions::default()
    };
    // The bar draws on stderr only when it is a terminal, so piped output stays clean.
    let progress = ProgressBar::new(datasets.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut stdout = std::io::stdout().lock();
    let mut results = Vec::new();
    for (name, path) in &datasets {
        progress.set_message(name.clone());
        let data = read_labelled_csv_gz(name, path)?;
        let result = evaluate(&data, &options)?;
        if args.format == OutputFormat::Lines {
            progress.suspend(|| writeln!(stdout, "{}", report::line(&result)))?;
        }
        results.push(result);
        progress.inc(1);
    }
    progress.finish_and_clear();
    match args.format {
        OutputFormat::Lines => {}
        OutputFormat::Table => writeln!(stdout, "{}", report::table(&results))?,
        OutputFormat::Json => writeln!(stdout, "{}", report::json(&results)?)?,
    }
    Ok(())
}
