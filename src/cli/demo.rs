//! `otsentry demo`: the whole job in one command on built-in defaults.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

use crate::demo::{DemoConfig, Stage, default_out_dir, run as run_demo};
use crate::simulate::PlantConfig;

/// Simulate a 30-day plant with attacks, train on its clean days, score the attack days, and
/// show what was caught, what was missed and the false positives per day.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the logs, labels and model go.
    #[arg(long, default_value_os_t = default_out_dir())]
    pub out: PathBuf,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub json: bool,
    /// Simulated days (for quick runs and tests).
    #[arg(long, hide = true)]
    pub days: Option<u32>,
    /// Simulated PLCs (for quick runs and tests).
    #[arg(long, hide = true)]
    pub plcs: Option<u32>,
    /// Days at the end that carry the attacks.
    #[arg(long, hide = true)]
    pub attack_days: Option<u32>,
    /// HMI poll period in milliseconds.
    #[arg(long, hide = true)]
    pub poll_ms: Option<u32>,
    /// Trees in the forest.
    #[arg(long, hide = true, default_value_t = 200)]
    pub n_estimators: usize,
    /// Score with these inventory files instead of the simulator's own inventory.yaml.
    #[arg(long = "inventory", num_args = 1.., value_name = "FILE")]
    pub inventory: Vec<PathBuf>,
    /// Polls per day of the certification's slow-drift test (172,800 by default: the
    /// certification `otsentry certify` runs). Tests only: fewer polls make a debug build fast,
    /// and the table then certifies a shortened drift test.
    #[arg(long, hide = true, default_value_t = 172_800, value_parser = clap::value_parser!(u64).range(2..=10_000_000))]
    pub drift_polls_per_day: u64,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let mut plant = PlantConfig::demo();
    if let Some(days) = args.days {
        plant.days = days;
    }
    if let Some(plcs) = args.plcs {
        plant.plcs = plcs;
    }
    if let Some(attack_days) = args.attack_days {
        plant.attack_days = attack_days;
    }
    if let Some(poll_ms) = args.poll_ms {
        plant.hmi_poll_ms = poll_ms;
    }
    let config = DemoConfig {
        out_dir: args.out.clone(),
        plant: plant.clone(),
        n_estimators: args.n_estimators,
        inventory: args.inventory.clone(),
        certify: crate::demo::certify_config(args.drift_polls_per_day),
    };
    eprintln!(
        "otsentry demo: a {}-day plant with {} PLCs, attacks in the last {} days, written to {}",
        plant.days,
        plant.plcs,
        plant.attack_days,
        args.out.display()
    );
    let started = Instant::now();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut stage_seen: Option<Stage> = None;
    let report = run_demo(&config, |stage, count| {
        if stage_seen != Some(stage) {
            stage_seen = Some(stage);
        }
        bar.set_message(match stage {
            Stage::Simulate => format!("1/4 simulating: day {count} of {}", plant.days),
            Stage::Train => format!("2/4 training on the clean days: {count} records read"),
            Stage::Score => format!("3/4 scoring the attack days: {count} records read"),
            Stage::Certify => "4/4 certifying the trained model".to_string(),
        });
    });
    bar.finish_and_clear();
    let report = report.context("the demo failed")?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }

    println!(
        "Simulated {} log lines. Trained on {} OT records from {} to {}; scored {} rows from {} to {}.",
        report.simulated_lines,
        report.train_records,
        report.train_window.0,
        report.train_window.1,
        report.rows_scored,
        report.score_window.0,
        report.score_window.1,
    );
    println!();
    let mut attacks = Table::new();
    attacks
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "attack",
            "label (ATT&CK for ICS)",
            "connections flagged",
            "result",
            "caught by",
            "first alert after",
            "technique suggested",
            "first reason",
        ]);
    if attacks.width().is_none() {
        attacks.set_width(140);
    }
    for attack in &report.attacks {
        attacks.add_row([
            attack.scenario.clone(),
            attack.technique.clone(),
            format!("{} of {}", attack.flagged_connections, attack.connections),
            if attack.caught { "CAUGHT" } else { "missed" }.to_string(),
            attack.detector.clone(),
            attack
                .seconds_to_first_alert
                .map_or_else(String::new, crate::text::human_duration),
            attack
                .suggested_techniques
                .iter()
                .map(|id| format!("{id} {}", crate::detect::attack::name_of(id)))
                .collect::<Vec<_>>()
                .join("\n"),
            // The table keeps one reason per attack; the JSON report has them all.
            attack.first_reasons.first().cloned().unwrap_or_default(),
        ]);
    }
    println!("{attacks}");
    let caught = report.attacks.iter().filter(|attack| attack.caught).count();
    println!("{caught} of {} attacks caught.", report.attacks.len());
    println!();
    let mut days = Table::new();
    days.load_preset(UTF8_FULL_CONDENSED).set_header([
        "day (UTC)",
        "flagged rows",
        "false positive rows",
        "alerts",
        "false positive alerts",
    ]);
    for day in &report.days {
        days.add_row([
            day.day.clone(),
            day.flagged_rows.to_string(),
            day.false_positive_rows.to_string(),
            day.alerts.to_string(),
            day.false_positive_alerts.to_string(),
        ]);
    }
    println!("{days}");
    println!();
    println!(
        "Adversarial certification of the trained model (as `otsentry certify --from-edge-median` runs it, with the seed's fixed drift beside it):"
    );
    println!(
        "{}",
        super::certify::certification_table(&report.certification)
    );
    for note in super::certify::notes(&report.certification) {
        println!("  {note}");
    }
    println!("{}", super::certify::verdict(&report.certification));
    println!();
    println!(
        "Done in {:.0} s. Files in {}:",
        started.elapsed().as_secs_f64(),
        report.out_dir.display()
    );
    println!(
        "  {}/  Zeek logs (conn, modbus, dnp3, enip, cip ...), labels.jsonl (the attacks), plant.json",
        report.logs_dir.display()
    );
    println!(
        "  {}  the model (sha256 {})",
        report.model_path.display(),
        report.model_sha256
    );
    println!();
    println!("Try next:");
    println!("  otsentry model show {}", report.model_path.display());
    println!(
        "  otsentry score --log {} --model {} --format json | head",
        report.logs_dir.display(),
        report.model_path.display()
    );
    println!(
        "  otsentry score --log {} --model {} --threshold -0.05",
        report.logs_dir.display(),
        report.model_path.display()
    );
    // The poisoning check needs a second training over the whole run (about a minute on the
    // demo plant), so the demo suggests it rather than running it.
    let retrained = report.out_dir.join("retrained.model");
    println!(
        "  otsentry train --log {} --out {} --allow-short-baseline   # a retrain on every day, the attacks included",
        report.logs_dir.display(),
        retrained.display()
    );
    println!(
        "  otsentry certify {} --poisoning-check {}   # what the retrain learnt that the model did not know",
        retrained.display(),
        report.model_path.display()
    );
    Ok(())
}
