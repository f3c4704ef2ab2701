//! `otsentry simulate`: writes a labelled OT plant's Zeek logs and prints what it wrote.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use time::{Date, Weekday};

use crate::simulate::{
    AttackSelection, LiveOptions, PlantConfig, Progress, Rotation, SimulationSummary, estimate,
    run_live, run_with_progress,
};

/// Simulate a labelled OT plant and write its Zeek logs (conn, Modbus, DNP3, EtherNet/IP).
///
/// The output directory gets conn.log and the ICSNPP protocol logs sharing uids with it,
/// plant.json (the hosts), inventory.yaml (the asset inventory with zones and conduits) and
/// labels.jsonl (one line per injected attack, with the uid of every attack connection). The
/// same seed and options always give byte-identical files.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Directory to write the logs to (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Simulated days.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Simulated hours instead of days (for quick runs and tests).
    #[arg(long, conflicts_with = "days")]
    pub hours: Option<u32>,
    /// Number of PLCs (every fifth speaks EtherNet/IP, the rest Modbus/TCP).
    #[arg(long, default_value_t = 40)]
    pub plcs: u32,
    /// Random seed: the same seed and options give byte-identical output.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// First simulated day (UTC), YYYY-MM-DD.
    #[arg(long, default_value = "2026-10-01", value_parser = parse_date)]
    pub start: Date,
    /// Write Zeek JSON lines instead of TSV.
    #[arg(long)]
    pub json: bool,
    /// Attacks to inject: all, none, or a comma-separated list of new_source, setpoint_drift,
    /// lateral_movement, write_from_reader, network_scan, dnp3_cold_restart,
    /// exception_enumeration, forged_write, persistent_beacon. `all` is the first eight;
    /// persistent_beacon (an hourly beacon to port 4444 from the first hour to the end, which
    /// poisons any training window) runs only when named.
    #[arg(long, default_value = "all")]
    pub attacks: AttackSelection,
    /// Attacks fall in the last N days, so the first days are clean for training (except the
    /// persistent beacon).
    #[arg(long, default_value_t = 3)]
    pub attack_days: u32,
    /// Gzip every log (.log.gz).
    #[arg(long)]
    pub gzip: bool,
    /// Weekday of the weekly maintenance window (09:00-12:00 UTC).
    #[arg(long, default_value = "wednesday", value_parser = parse_weekday)]
    pub maintenance_day: Weekday,
    /// HMI polling period in milliseconds (SCADA polls at twice this period).
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u32,
    /// SCADA's DNP3 event-poll period in milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub dnp3_poll_ms: u32,
    /// Rotate the logs hourly or daily, as a sensor's log archive (conn.2026-10-01-00-00-00.log).
    #[arg(long, value_enum, default_value_t = RotateArg::None)]
    pub rotate: RotateArg,
    /// Write the logs live, as a running Zeek does: paced to the clock, flushed in whole lines,
    /// rotated as zeekctl rotates when --rotate is given (conn.log is gzipped into a dated
    /// archive directory and a new one started), so `otsentry watch` can follow them.
    #[arg(long, conflicts_with = "gzip")]
    pub live: bool,
    /// With --live: simulated seconds per wall-clock second (1 is real time, 60 is an hour a
    /// minute).
    #[arg(long, requires = "live", default_value_t = 1.0)]
    pub speed: f64,
    /// Output format of the end summary.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotateArg {
    None,
    Hourly,
    Daily,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    Table,
    Json,
}

fn parse_date(text: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).map_err(|error| format!("expected YYYY-MM-DD: {error}"))
}

fn parse_weekday(text: &str) -> Result<Weekday, String> {
    let lower = text.to_lowercase();
    let days = [
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
        Weekday::Sunday,
    ];
    days.into_iter()
        .find(|day| {
            let name = day.to_string().to_lowercase();
            name == lower || (lower.len() >= 3 && name.starts_with(&lower))
        })
        .ok_or_else(|| format!("expected a weekday such as wednesday or wed, got {text:?}"))
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let config = PlantConfig {
        plcs: args.plcs,
        days: args.days,
        hours: args.hours,
        seed: args.seed,
        start: args.start,
        attacks: args.attacks,
        attack_days: args.attack_days,
        format: if args.json {
            zeek::write::LogFormat::Json
        } else {
            zeek::write::LogFormat::Tsv
        },
        gzip: args.gzip,
        maintenance_weekday: args.maintenance_day,
        hmi_poll_ms: args.poll_ms,
        dnp3_poll_ms: args.dnp3_poll_ms,
        rotation: match args.rotate {
            RotateArg::None => Rotation::None,
            RotateArg::Hourly => Rotation::Hourly,
            RotateArg::Daily => Rotation::Daily,
        },
    }
    .check()?;

    // Said before writing: a big plant at a fast polling rate fills a disk (40 PLCs polled every
    // 500 ms write about 0.9 GB a day).
    let size = estimate(&config).context("estimating the output size")?;
    let plural =
        |count: u32, unit: &str| format!("{count} {unit}{}", if count == 1 { "" } else { "s" });
    let span = match args.hours {
        Some(hours) => plural(hours, "hour"),
        None => plural(args.days, "day"),
    };
    eprintln!(
        "simulate: about {} of logs ({:.1} M lines{}) for {span} of {} PLCs polled every {} ms, into {}",
        human_bytes(size.bytes),
        size.lines as f64 / 1e6,
        if args.gzip { ", before gzip" } else { "" },
        args.plcs,
        args.poll_ms,
        args.out.display()
    );
    if size.bytes >= LARGE_OUTPUT_BYTES {
        eprintln!(
            "warning: that is a large output; a longer --poll-ms, fewer --plcs, fewer --days \
             (or --hours) make it smaller, and --gzip shrinks it on disk"
        );
    }

    // Hidden automatically when stderr is not a terminal.
    let bar = ProgressBar::new(u64::from(config.n_days()));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} simulated {pos}/{len} days {wide_bar} {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let on_progress = |progress: Progress| {
        bar.set_position(u64::from(progress.days_done));
        bar.set_message(format!("{} lines", progress.lines));
    };
    let summary = if args.live {
        eprintln!(
            "Writing live Zeek logs to {} at {}x real time; follow them with `otsentry watch --log {}`.",
            args.out.display(),
            args.speed,
            args.out.display()
        );
        run_live(
            &config,
            &args.out,
            LiveOptions { speed: args.speed },
            on_progress,
        )
    } else {
        run_with_progress(&config, &args.out, on_progress)
    }
    .with_context(|| format!("simulating a plant into {}", args.out.display()))?;
    bar.finish_and_clear();

    // `writeln!`, not `println!`: a reader that stops early (`| head`) is an error `main` ends
    // quietly, where `println!` would panic.
    let mut out = std::io::stdout().lock();
    match args.format {
        SummaryFormat::Json => writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?,
        SummaryFormat::Table => print_summary(&mut out, &summary)?,
    }
    Ok(())
}

/// Outputs from this size on get a warning before they are written.
const LARGE_OUTPUT_BYTES: u64 = 1_000_000_000;

/// `850 MB`, `13.2 GB`.
fn human_bytes(bytes: u64) -> String {
    if bytes >= 1_000_000_000 {
        format!("{:.1} GB", bytes as f64 / 1e9)
    } else {
        format!("{:.0} MB", (bytes as f64 / 1e6).max(1.0))
    }
}

fn print_summary(out: &mut impl Write, summary: &SimulationSummary) -> std::io::Result<()> {
    let mut files = Table::new();
    files.load_preset(UTF8_FULL_CONDENSED);
    files.set_header(vec!["log", "files", "lines", "MB written", "MB on disk"]);
    for file in &summary.files {
        files.add_row(vec![
            file.file.clone(),
            (file.rotated.len() + 1).to_string(),
            file.lines.to_string(),
            format!("{:.1}", file.bytes as f64 / 1e6),
            format!("{:.1}", file.file_bytes as f64 / 1e6),
        ]);
    }
    writeln!(
        out,
        "Wrote Zeek logs, plant.json, inventory.yaml and labels.jsonl to {}",
        summary.out_dir.display()
    )?;
    writeln!(out, "{files}")?;
    let mut attacks = Table::new();
    attacks.load_preset(UTF8_FULL_CONDENSED);
    attacks.set_header(vec!["attack", "technique", "start (UTC)", "connections"]);
    for label in &summary.labels {
        attacks.add_row(vec![
            label.scenario.clone(),
            format!("{} {}", label.technique_id, label.technique_name),
            label.start.clone(),
            label.uids.len().to_string(),
        ]);
    }
    if summary.labels.is_empty() {
        writeln!(out, "No attacks injected.")?;
    } else {
        writeln!(out, "{attacks}")?;
    }
    writeln!(
        out,
        "Simulated {} to {} ({} hosts); attacks from {}.",
        crate::simulate::rfc3339(summary.start_us),
        crate::simulate::rfc3339(summary.end_us),
        summary.n_hosts,
        crate::simulate::rfc3339(summary.attack_start_us),
    )?;
    writeln!(
        out,
        "{} lines, {:.0} MB in {:.1} s: {:.2} M lines/s, {:.0} MB/s.",
        summary.total_lines,
        summary.total_bytes as f64 / 1e6,
        summary.elapsed_secs,
        summary.lines_per_sec / 1e6,
        summary.mb_per_sec
    )
}
