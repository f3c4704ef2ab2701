//! A labelled OT plant traffic generator: Zeek conn.log and ICSNPP Modbus, DNP3 and
//! EtherNet/IP logs for a simulated plant, with attack scenarios whose labels go to a separate
//! file and never into the logs.
//!
//! Call [`run`] with a checked [`PlantConfig`]:
//!
//! ```no_run
//! use otsentry::simulate::{PlantConfig, run};
//!
//! let config = PlantConfig::demo().check()?;
//! let summary = run(&config, std::path::Path::new("/tmp/plant"))?;
//! println!("{} lines", summary.total_lines);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The output directory then holds the logs (`conn.log`, `modbus.log`, `modbus_detailed.log`,
//! `dnp3.log`, `dnp3_control.log`, `enip.log`, `cip.log`, `cip_io.log`, with `.gz` under
//! `--gzip`), `plant.json` (the hosts and their roles), `inventory.yaml` (the asset inventory with
//! zones, conduits and the maintenance window, in the format `otsentry inventory check` reads) and
//! `labels.jsonl` (one attack per line).

mod attack_traffic;
mod build;
mod cip_io;
mod config;
mod conn;
mod dnp3;
mod engine;
mod enip;
mod inventory_file;
mod labels;
mod live;
mod modbus;
mod output;
mod plant;
mod poller;
mod process;
mod rng;
mod scenarios;
mod schemas;
mod sessions;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

pub use config::{AttackSelection, ConfigError, PlantConfig, Rotation, Scenario, ValidPlantConfig};
pub use labels::{Label, read_labels, rfc3339};
pub use live::LiveOptions;
pub use output::LogFileSummary;
pub use plant::{Host, Plant, Role};

/// Errors of a simulation run.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("invalid simulator configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Write(#[from] zeek::write::WriteError),
    #[error("--speed must be a positive number of simulated seconds per second, got {speed}")]
    Speed { speed: f64 },
    #[error("--live writes plain logs as Zeek does (zeekctl gzips only rotated ones): drop --gzip")]
    LiveGzip,
    #[error("writing {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// What a run wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SimulationSummary {
    pub out_dir: PathBuf,
    pub files: Vec<LogFileSummary>,
    pub total_lines: u64,
    /// Bytes formatted, before compression.
    pub total_bytes: u64,
    pub start_us: i64,
    pub end_us: i64,
    pub attack_start_us: i64,
    pub labels: Vec<Label>,
    pub n_hosts: usize,
    pub elapsed_secs: f64,
    pub lines_per_sec: f64,
    pub mb_per_sec: f64,
}

impl SimulationSummary {
    /// Full paths of the log files written (not plant.json, inventory.yaml or labels.jsonl), for readers that
    /// should see only Zeek logs: a directory scan would also find `plant.json`.
    pub fn log_paths(&self) -> Vec<PathBuf> {
        self.files
            .iter()
            .flat_map(|file| file.rotated.iter().chain(std::iter::once(&file.file)))
            .map(|name| self.out_dir.join(name))
            .collect()
    }
}

/// Progress of a run, reported once per simulated day and at the end.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub days_done: u32,
    pub n_days: u32,
    pub lines: u64,
}

/// Simulates the plant and writes every file to `out_dir` (created if missing).
pub fn run(config: &ValidPlantConfig, out_dir: &Path) -> Result<SimulationSummary, SimulateError> {
    run_with_progress(config, out_dir, |_| {})
}

/// [`run`], calling `on_progress` whenever a simulated day is done.
pub fn run_with_progress(
    config: &ValidPlantConfig,
    out_dir: &Path,
    on_progress: impl FnMut(Progress),
) -> Result<SimulationSummary, SimulateError> {
    simulate(config, out_dir, None, on_progress)
}

/// [`run_with_progress`], writing the logs live as a running Zeek does (see [`LiveOptions`]):
/// paced to the clock, flushed in whole lines, with the live files named `conn.log` and so on,
/// rotated (when the configuration rotates) into dated archive directories as zeekctl does.
/// `plant.json` is written first, so a watcher can use it from the start; the lines are those of
/// the batch run.
pub fn run_live(
    config: &ValidPlantConfig,
    out_dir: &Path,
    live: LiveOptions,
    on_progress: impl FnMut(Progress),
) -> Result<SimulationSummary, SimulateError> {
    let live = live.check()?;
    if config.config.gzip {
        return Err(SimulateError::LiveGzip);
    }
    simulate(config, out_dir, Some(live), on_progress)
}

fn simulate(
    config: &ValidPlantConfig,
    out_dir: &Path,
    live: Option<LiveOptions>,
    mut on_progress: impl FnMut(Progress),
) -> Result<SimulationSummary, SimulateError> {
    let started = Instant::now();
    std::fs::create_dir_all(out_dir).map_err(|source| SimulateError::Io {
        path: out_dir.to_owned(),
        source,
    })?;
    let plant = Plant::new(config.config.plcs);
    let attack_plan = scenarios::plan(config, &plant);
    let process = Arc::new(process::ProcessModel::new(
        config.config.seed,
        attack_plan.drift,
    ));
    let mut entries = build::normal_traffic(config, &plant, &attack_plan, &process);
    entries.extend(attack_traffic::generators(
        config,
        &plant,
        &attack_plan,
        &process,
    ));

    if live.is_some() {
        labels::write_plant(&out_dir.join("plant.json"), config, &plant)?;
    }
    let rotation = config.config.rotation.interval_us();
    let mut sinks = output::Sinks::create(
        out_dir,
        config.config.format,
        config.config.gzip,
        rotation.is_some(),
        live.is_some(),
        config.start_us,
    )?;
    let mut pacer = live.map(|live| live::Pacer::new(live, config.start_us));
    let n_days = config.n_days();
    let mut days_done = 0;
    let first_rotation = rotation.map(|every| (config.start_us + every, every));
    engine::run(
        &mut entries,
        config.end_us,
        first_rotation,
        &mut sinks,
        |time, sinks| {
            let day =
                ((time - config.start_us) / 86_400_000_000).clamp(0, i64::from(n_days)) as u32;
            if day > days_done || time >= config.end_us {
                days_done = if time >= config.end_us { n_days } else { day };
                on_progress(Progress {
                    days_done,
                    n_days,
                    lines: sinks.total_lines(),
                });
            }
        },
        pacer.as_mut(),
    )?;
    let total_bytes = sinks.total_bytes();
    let files = sinks.finish(config.end_us)?;
    let labels = scenarios::labels(&attack_plan, &entries);
    labels::write_labels(&out_dir.join("labels.jsonl"), &labels)?;
    labels::write_plant(&out_dir.join("plant.json"), config, &plant)?;
    inventory_file::write_inventory(&out_dir.join("inventory.yaml"), config, &plant)?;

    let total_lines = files.iter().map(|file| file.lines).sum();
    let elapsed_secs = started.elapsed().as_secs_f64().max(1e-9);
    Ok(SimulationSummary {
        out_dir: out_dir.to_owned(),
        total_lines,
        total_bytes,
        files,
        start_us: config.start_us,
        end_us: config.end_us,
        attack_start_us: config.attack_start_us,
        labels,
        n_hosts: plant.hosts.len(),
        elapsed_secs,
        lines_per_sec: total_lines as f64 / elapsed_secs,
        mb_per_sec: total_bytes as f64 / 1e6 / elapsed_secs,
    })
}
