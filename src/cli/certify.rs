//! `otsentry certify MODEL`: the adversarial certification of a model file (the slow-drift
//! test and the realistic variants, every parameter a flag; with --poisoning-check, the baseline
//! diff against a production model), printed as one table or JSON and, with --db, tested against
//! every incident's canary set and recorded with the artifact's registry version (a governed
//! change, audited).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width};

use super::common::{Format, open_governance, runtime};
use crate::governance::Actor;
use crate::model::ModelFile;
use crate::redteam::{
    Certification, CertifyConfig, DriftConfig, DriftOutcome, DriftReport, VariantConfig,
};

/// The slow-drift test's parameters, shared by `certify` and `retrain run`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Days the drift lasts.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub drift_days: u32,
    /// Polls per day (172,800: one every 500 ms).
    #[arg(long, default_value_t = 172_800, value_parser = clap::value_parser!(u64).range(2..=10_000_000))]
    pub polls_per_day: u64,
    /// orig_bytes of the first poll.
    #[arg(long, default_value_t = 250.0)]
    pub initial: f64,
    /// orig_bytes of the last poll.
    #[arg(long, default_value_t = 450.0)]
    pub target: f64,
    /// The forest flags rows whose anomaly_score (decision value) is below this, for every
    /// record type; 0 is the contamination boundary. Default: the thresholds the model was
    /// calibrated with in training (`model show` lists them).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Start the drift at the chosen edge's own median orig_bytes, with the same relative change
    /// (target = median x target / initial): the drift an attacker who knows the edge would run.
    #[arg(long)]
    pub from_edge_median: bool,
}

impl DriftArgs {
    pub fn config(&self) -> DriftConfig {
        DriftConfig {
            drift_days: self.drift_days,
            polls_per_day: self.polls_per_day,
            initial: self.initial,
            target: self.target,
            threshold: self.threshold,
            from_edge_median: self.from_edge_median,
            ..DriftConfig::default()
        }
    }
}

/// The realistic variants' parameters.
#[derive(Debug, Args)]
pub struct VariantArgs {
    /// The register drift's total relative change from the register's training level (0.10:
    /// +10 %; negative drifts down).
    #[arg(long, default_value_t = 0.10, allow_negative_numbers = true)]
    pub register_change: f64,
    /// Days the register drift lasts.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub register_days: u32,
    /// Records each scenario test injects.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub scenario_records: u32,
}

impl VariantArgs {
    pub fn config(&self) -> VariantConfig {
        VariantConfig {
            register_change: self.register_change,
            register_days: self.register_days,
            register_required_first_day: VariantConfig::default()
                .register_required_first_day
                .min(self.register_days),
            scenario_records: self.scenario_records,
            ..VariantConfig::default()
        }
    }
}

/// Run the adversarial certification of a model.
#[derive(Debug, Args)]
pub struct CertifyArgs {
    #[arg(value_name = "MODEL")]
    pub model: PathBuf,
    #[command(flatten)]
    pub drift: DriftArgs,
    #[command(flatten)]
    pub variants: VariantArgs,
    /// Also run the poisoning check: what MODEL learnt that this production model did not know
    /// (the baseline diff), with the canaries.
    #[arg(long, value_name = "PRODUCTION_MODEL")]
    pub poisoning_check: Option<PathBuf>,
    /// Record the result with the model's registry version in this database.
    #[arg(long, requires = "policies")]
    pub db: Option<PathBuf>,
    /// The policy files in force (with --db).
    #[arg(long = "policy", value_delimiter = ',')]
    pub policies: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

pub fn run(args: CertifyArgs) -> anyhow::Result<()> {
    let loaded = ModelFile::load(&args.model)
        .with_context(|| format!("cannot load model {}", args.model.display()))?;
    let config = CertifyConfig {
        drift: args.drift.config(),
        extra_drifts: Vec::new(),
        variants: args.variants.config(),
    };
    let production = match &args.poisoning_check {
        Some(path) => Some(
            ModelFile::load(path)
                .with_context(|| format!("cannot load production model {}", path.display()))?,
        ),
        None => None,
    };
    // With a database, every incident's kept canary set is part of the certification.
    let canaries = match &args.db {
        Some(db) => canaries_of(db, &args.policies)?,
        None => Vec::new(),
    };
    let certification =
        crate::redteam::certify_with(Arc::new(loaded), &config, &canaries, production.as_ref())?;
    if let Some(db) = &args.db {
        record(db, &args.policies, &certification)?;
    }
    print(&certification, args.format)
}

fn canaries_of(
    db: &std::path::Path,
    policies: &[PathBuf],
) -> anyhow::Result<Vec<(i64, crate::store::CanarySet)>> {
    let gov = super::registry::gov_args(db, policies);
    runtime()?.block_on(async {
        let governance = open_governance(&gov).await?;
        let canaries = governance.canaries(Actor::Local).await;
        governance.close().await;
        Ok(canaries?)
    })
}

fn record(
    db: &std::path::Path,
    policies: &[PathBuf],
    certification: &Certification,
) -> anyhow::Result<()> {
    let gov = super::registry::gov_args(db, policies);
    runtime()?.block_on(async {
        let governance = open_governance(&gov).await?;
        let outcome = async {
            let version = governance
                .list_models(Actor::Local)
                .await?
                .into_iter()
                .find(|v| v.sha256 == certification.model_sha256)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "model {} is not registered in {}; run `otsentry model register` first",
                        certification.model_sha256,
                        db.display()
                    )
                })?;
            governance
                .record_certification(
                    Actor::Local,
                    version.id,
                    &serde_json::to_value(certification)?,
                    certification.passed,
                )
                .await?;
            anyhow::Ok(())
        }
        .await;
        governance.close().await;
        outcome
    })
}

pub fn print(certification: &Certification, format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        writeln!(
            std::io::stdout(),
            "{}",
            serde_json::to_string_pretty(certification)?
        )?;
        return Ok(());
    }
    for drift in certification.drifts() {
        writeln!(
            std::io::stdout(),
            "{}: orig_bytes {} -> {} over {} day(s) on {}, {} polls per day",
            drift.test,
            drift.config.initial,
            drift.config.target,
            drift.config.drift_days,
            edge_of(drift),
            drift.config.polls_per_day
        )?;
        writeln!(std::io::stdout(), "  the poll: {}", drift.poll.chosen)?;
        writeln!(std::io::stdout(), "{}", detector_table(drift))?;
    }
    writeln!(std::io::stdout(), "{}", certification_table(certification))?;
    for note in notes(certification) {
        writeln!(std::io::stdout(), "  {note}")?;
    }
    writeln!(std::io::stdout(), "{}", verdict(certification))?;
    Ok(())
}

/// The lines under the table: each variant's details (the poisoning's learnt items, why a
/// variant could not run) and why a drift test is inconclusive.
pub fn notes(certification: &Certification) -> Vec<String> {
    let details = certification.variants.iter().flat_map(|variant| {
        variant
            .details
            .iter()
            .map(move |detail| format!("{}: {detail}", variant.test))
    });
    let inconclusive = certification.drifts().filter_map(|drift| {
        drift
            .inconclusive
            .as_ref()
            .map(|reason| format!("{} is inconclusive: {reason}", drift.test))
    });
    details.chain(inconclusive).collect()
}

/// The drift poll's edge: `10.10.1.10 -> 10.10.10.10:502 (modbus)`.
fn edge_of(drift: &DriftReport) -> String {
    let poll = &drift.poll;
    format!(
        "{} -> {}:{} ({})",
        poll.orig_h, poll.resp_h, poll.resp_p, poll.service
    )
}

/// A drift outcome as the tables write it.
fn outcome_cell(outcome: DriftOutcome) -> String {
    match outcome {
        DriftOutcome::Pass => "pass",
        DriftOutcome::Fail => "FAIL",
        DriftOutcome::Inconclusive => "INCONCLUSIVE: control rejected",
    }
    .to_string()
}

/// One drift test per detector and combined.
fn detector_table(drift: &DriftReport) -> Table {
    let mut table = Table::new();
    table.set_header([
        "detector",
        "drift days",
        "initial",
        "target",
        "polls",
        "detected",
        "rate",
        "first day",
        "control rate",
        "outcome",
    ]);
    for result in drift
        .detectors
        .iter()
        .chain(std::iter::once(&drift.combined))
    {
        table.add_row([
            result.detector.clone(),
            result.drift_days.to_string(),
            result.initial_value.to_string(),
            result.target_value.to_string(),
            result.total_polls.to_string(),
            result.detected.to_string(),
            format!("{:.4}", result.detection_rate),
            result
                .first_detection_day
                .map_or("never".to_string(), |day| day.to_string()),
            format!("{:.4}", result.control_rate),
            outcome_cell(result.outcome()),
        ]);
    }
    table
}

/// The certification's last line: the verdict, what failed or was inconclusive, what to run
/// instead, and the rule.
pub fn verdict(certification: &Certification) -> String {
    let mut problems = Vec::new();
    if !certification.failed.is_empty() {
        problems.push(format!("failed: {}", certification.failed.join(", ")));
    }
    if !certification.inconclusive.is_empty() {
        problems.push(format!(
            "inconclusive: {} (the undrifted control day was rejected)",
            certification.inconclusive.join(", ")
        ));
    }
    let result = if certification.passed {
        "passed".to_string()
    } else if problems.is_empty() {
        // Stored by an otsentry that did not list the failures.
        "FAILED: not deployable".to_string()
    } else if certification.failed.is_empty() {
        format!(
            "NOT CERTIFIED: no conclusive slow-drift test ({})",
            problems.join("; ")
        )
    } else {
        format!("FAILED: not deployable ({})", problems.join("; "))
    };
    let mut line = format!("certification of {}: {result}.", certification.model_sha256);
    if !certification.passed && certification.no_conclusive_drift() {
        line.push_str(&format!(" {}.", instead(certification)));
    }
    line.push_str(" A model passes only if every conclusive slow-drift test (at least one), every canary and every variant pass.");
    line
}

/// What to run when no drift test was conclusive.
fn instead(certification: &Certification) -> String {
    let tried_median = certification
        .drifts()
        .any(|drift| drift.config.from_edge_median);
    if tried_median {
        "Even the drift from the edge's own median has its control rejected: the model flags its own baseline; check its calibrated thresholds (otsentry model show) and retrain".to_string()
    } else {
        let median = certification
            .drifts()
            .find_map(|drift| drift.poll.typical_orig_bytes)
            .map_or(String::new(), |median| {
                format!(" (the edge's median orig_bytes is {median:.0})")
            });
        format!(
            "Run the drift from the chosen edge's own median instead: otsentry certify MODEL --from-edge-median{median}"
        )
    }
}

fn yes_no(passed: bool) -> String {
    if passed { "yes" } else { "NO" }.to_string()
}

/// The one table of every test: test, detector that caught it, caught/total, first detection,
/// requirement, pass.
pub fn certification_table(certification: &Certification) -> Table {
    let mut table = Table::new();
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if table.width().is_none() {
        // Not a terminal: wrap the long requirement cells rather than print 300 columns.
        table.set_width(150);
    }
    table.set_header([
        "test",
        "caught by",
        "caught / total",
        "first detection",
        "requirement",
        "pass",
    ]);
    // Detector names, delays and verdicts stay whole; the words around them wrap.
    for column in [1, 3, 5] {
        if let Some(column) = table.column_mut(column) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    // Room for the longest test name (slow_drift_from_edge_median) on one line.
    if let Some(column) = table.column_mut(0) {
        column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(29)));
    }
    for drift in certification.drifts() {
        table.add_row(drift_row(drift));
    }
    for canary in &certification.canaries {
        table.add_row([
            format!("canary of incident {}", canary.incident),
            if canary.detectors.is_empty() {
                "none".to_string()
            } else {
                canary.detectors.join(", ")
            },
            format!("{} alerts / {} records", canary.alerts, canary.records),
            "-".to_string(),
            "at least one alert on the kept records".to_string(),
            if canary.caught {
                "yes".to_string()
            } else {
                "NO: forgotten".to_string()
            },
        ]);
    }
    for variant in &certification.variants {
        table.add_row([
            variant.test.clone(),
            variant
                .caught_by
                .clone()
                .unwrap_or_else(|| "none".to_string()),
            format!("{} / {} {}", variant.caught, variant.total, variant.unit),
            variant
                .first_detection_secs
                .map_or("-".to_string(), crate::text::human_duration),
            variant.requirement.clone(),
            yes_no(variant.passed),
        ]);
    }
    table
}

/// A drift test's row: the edge it ran on, the detector that caught most, and its outcome; an
/// inconclusive test names the detectors that rejected its control instead.
fn drift_row(drift: &DriftReport) -> [String; 6] {
    let inconclusive = drift.outcome() == DriftOutcome::Inconclusive;
    let caught_by = if inconclusive {
        let rejecting: Vec<&str> = drift
            .detectors
            .iter()
            .filter(|result| result.outcome() == DriftOutcome::Inconclusive)
            .map(|result| result.detector.as_str())
            .collect();
        format!(
            "none: control rejected by {}",
            if rejecting.is_empty() {
                "the detectors together".to_string()
            } else {
                rejecting.join(", ")
            }
        )
    } else {
        drift
            .detectors
            .iter()
            .filter(|result| result.detected > 0)
            .max_by_key(|result| result.detected)
            .map_or("none".to_string(), |result| result.detector.clone())
    };
    let median = drift
        .poll
        .typical_orig_bytes
        .map_or(String::new(), |median| format!(", edge median {median:.0}"));
    [
        format!(
            "{}\n{}\norig_bytes {} -> {}{median}",
            drift.test,
            edge_of(drift),
            drift.config.initial,
            drift.config.target
        ),
        caught_by,
        format!(
            "{} / {} polls\n(control day: {:.4} flagged)",
            drift.combined.detected, drift.combined.total_polls, drift.combined.control_rate
        ),
        drift
            .combined
            .first_detection_day
            .map_or("never".to_string(), |day| format!("day {day}")),
        format!(
            "rate >= {}, first detection by day {}, control rate <= {}",
            drift.config.required_rate,
            drift.config.required_first_day,
            drift.config.max_control_rate
        ),
        match drift.outcome() {
            DriftOutcome::Pass => "yes".to_string(),
            DriftOutcome::Fail => "NO".to_string(),
            DriftOutcome::Inconclusive => "INCONCLUSIVE".to_string(),
        },
    ]
}
