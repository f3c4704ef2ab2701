//! `otsentry demo`: simulate a labelled plant, train on its clean days, score its attack days and
//! grade the result against the simulator's labels.
//!
//! Grading joins by connection uid: an attack is caught when at least one of its connections
//! (conn.log line or protocol-log line sharing the uid) is flagged; every flagged row whose uid
//! belongs to no attack is a false positive, counted per UTC day, as rows and as distinct edges
//! (an analyst sees one alert per edge, not one per poll).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::model::{ModelError, ModelFile};
use crate::score::{ScoreConfig, ScoreError, ScoreSummary, score};
use crate::simulate::{ConfigError, PlantConfig, SimulateError, SimulationSummary};
use crate::train::{TrainConfig, TrainError, train};

/// What the demo runs.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    pub out_dir: PathBuf,
    pub plant: PlantConfig,
    pub n_estimators: usize,
}

/// Why the demo failed.
#[derive(Debug, Error)]
pub enum DemoError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("simulating the plant failed: {0}")]
    Simulate(#[from] SimulateError),
    #[error("training failed: {0}")]
    Train(#[from] TrainError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("scoring failed: {0}")]
    Score(#[from] ScoreError),
}

/// How one attack was detected.
#[derive(Clone, Debug, Serialize)]
pub struct AttackResult {
    pub scenario: String,
    pub technique: String,
    pub start: String,
    /// Connections (uids) the attack used.
    pub connections: usize,
    /// Of those, connections with at least one flagged row.
    pub flagged_connections: usize,
    pub caught: bool,
    /// The reasons of the first flagged row.
    pub first_reasons: Vec<String>,
}

/// False positives of one UTC day.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DayResult {
    pub day: String,
    pub flagged_rows: u64,
    pub false_positive_rows: u64,
    /// Distinct (orig_h, resp_h, resp_p) among the false positives.
    pub false_positive_edges: usize,
}

/// Everything the demo found.
#[derive(Clone, Debug, Serialize)]
pub struct DemoReport {
    pub out_dir: PathBuf,
    pub logs_dir: PathBuf,
    pub model_path: PathBuf,
    pub model_sha256: String,
    pub simulated_lines: u64,
    pub train_window: (String, String),
    pub train_records: u64,
    pub score_window: (String, String),
    pub rows_scored: u64,
    pub attacks: Vec<AttackResult>,
    pub days: Vec<DayResult>,
}

/// The stage the demo is in, for progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Simulate,
    Train,
    Score,
}

/// Runs the demo; `progress` gets the stage and a count (days simulated or records read).
pub fn run(
    config: &DemoConfig,
    mut progress: impl FnMut(Stage, u64),
) -> Result<DemoReport, DemoError> {
    let plant = config.plant.clone().check()?;
    let logs_dir = config.out_dir.join("logs");
    let simulation: SimulationSummary =
        crate::simulate::run_with_progress(&plant, &logs_dir, |step| {
            progress(Stage::Simulate, u64::from(step.days_done))
        })?;
    let attack_start = simulation.attack_start_us as f64 / 1e6;

    let mut train_config = TrainConfig::new(vec![logs_dir.clone()]);
    train_config.n_estimators = config.n_estimators;
    train_config.until = Some(attack_start);
    // A reduced demo (fewer days) is allowed to train on a short baseline; the override is
    // recorded in the model as always.
    train_config.allow_short_baseline = true;
    let trained = train(&train_config, |records| progress(Stage::Train, records))?;
    let model_path = config.out_dir.join("plant.model");
    let model_sha256 = trained.model.write(&model_path)?;
    let window = &trained.model.manifest.window;
    let train_window = (window.start_utc.clone(), window.end_utc.clone());
    let train_records = trained.model.manifest.records_per_schema.values().sum();
    let model = ModelFile::load(&model_path)?;

    let mut grader = Grader::new(&simulation);
    let score_config = ScoreConfig {
        logs: vec![logs_dir.clone()],
        threshold: 0.0,
        all: false,
        read_options: zeek::ReadOptions::default(),
        since: Some(attack_start),
        batch_rows: crate::score::BATCH_ROWS,
    };
    let summary: ScoreSummary = score(
        &model,
        &score_config,
        |records| progress(Stage::Score, records),
        |row| {
            grader.add(
                row.ts,
                &row.uid,
                (row.orig_h, row.resp_h, row.resp_p),
                &row.reasons,
            );
            Ok(())
        },
    )?;

    Ok(DemoReport {
        out_dir: config.out_dir.clone(),
        logs_dir,
        model_path,
        model_sha256,
        simulated_lines: simulation.total_lines,
        train_window,
        train_records,
        score_window: (
            crate::train::window::rfc3339(attack_start),
            crate::train::window::rfc3339(simulation.end_us as f64 / 1e6),
        ),
        rows_scored: summary.rows_scored,
        attacks: grader.attacks(&simulation),
        days: grader.days(),
    })
}

/// (orig_h, resp_h, resp_p): how an analyst groups alerts.
type EdgeKey = (IpAddr, IpAddr, u16);

/// Joins flagged rows with the labels by uid.
struct Grader {
    /// uid -> the labels it belongs to.
    attack_of: HashMap<String, Vec<usize>>,
    flagged_uids: Vec<BTreeSet<String>>,
    first_reasons: Vec<Option<Vec<String>>>,
    days: BTreeMap<i64, (DayResult, BTreeSet<EdgeKey>)>,
}

impl Grader {
    fn new(simulation: &SimulationSummary) -> Grader {
        let mut attack_of: HashMap<String, Vec<usize>> = HashMap::new();
        for (label_idx, label) in simulation.labels.iter().enumerate() {
            for uid in &label.uids {
                attack_of.entry(uid.clone()).or_default().push(label_idx);
            }
        }
        Grader {
            attack_of,
            flagged_uids: vec![BTreeSet::new(); simulation.labels.len()],
            first_reasons: vec![None; simulation.labels.len()],
            days: BTreeMap::new(),
        }
    }

    fn add(&mut self, ts: f64, uid: &str, edge: EdgeKey, reasons: &[String]) {
        let day = (ts / 86_400.0).floor() as i64;
        let (result, edges) = self.days.entry(day).or_insert_with(|| {
            (
                DayResult {
                    day: crate::train::window::rfc3339(day as f64 * 86_400.0)[..10].to_string(),
                    ..DayResult::default()
                },
                BTreeSet::new(),
            )
        });
        result.flagged_rows += 1;
        match self.attack_of.get(uid) {
            Some(labels) => {
                for &label_idx in labels {
                    self.flagged_uids[label_idx].insert(uid.to_string());
                    if self.first_reasons[label_idx].is_none() {
                        self.first_reasons[label_idx] = Some(reasons.to_vec());
                    }
                }
            }
            None => {
                result.false_positive_rows += 1;
                edges.insert(edge);
            }
        }
    }

    fn attacks(&self, simulation: &SimulationSummary) -> Vec<AttackResult> {
        simulation
            .labels
            .iter()
            .enumerate()
            .map(|(label_idx, label)| AttackResult {
                scenario: label.scenario.clone(),
                technique: format!("{} {}", label.technique_id, label.technique_name),
                start: label.start.clone(),
                connections: label.uids.len(),
                flagged_connections: self.flagged_uids[label_idx].len(),
                caught: !self.flagged_uids[label_idx].is_empty(),
                first_reasons: self.first_reasons[label_idx].clone().unwrap_or_default(),
            })
            .collect()
    }

    fn days(&self) -> Vec<DayResult> {
        self.days
            .values()
            .map(|(result, edges)| DayResult {
                false_positive_edges: edges.len(),
                ..result.clone()
            })
            .collect()
    }
}

/// The output directory the demo uses when none is given.
pub fn default_out_dir() -> PathBuf {
    Path::new("otsentry-demo").to_path_buf()
}
