//! `otsentry demo`: simulate a labelled plant, train on its clean days, score its attack days,
//! grade the result against the simulator's labels, and certify the trained model (the slow-drift
//! test from the edge's own median with the seed's fixed drift beside it, and the realistic
//! variants, as `otsentry certify` runs them; see [`certify_config`]).
//!
//! The demo scores through the same pipeline `score` and `watch` run. Grading joins by connection
//! uid: an attack is caught when at least one of its connections (conn.log line or protocol-log
//! line sharing the uid) is flagged; every flagged row whose uid belongs to no attack is a false
//! positive row, and every alert none of whose records belongs to an attack is a false positive
//! alert, counted per UTC day (an analyst works alerts, not rows).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;

use crate::alerts::{Alert, AlertState};
use crate::model::{ModelError, ModelFile};
use crate::pipeline::RowOutput;
use crate::score::{ScoreConfig, ScoreError, score};
use crate::simulate::{ConfigError, PlantConfig, SimulateError, SimulationSummary};
use crate::sinks::{RowRecord, Sink, SinkError};
use crate::train::{TrainConfig, TrainError, train};

/// What the demo runs.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    pub out_dir: PathBuf,
    pub plant: PlantConfig,
    pub n_estimators: usize,
    /// Inventory files to score with instead of the simulator's own `inventory.yaml`.
    pub inventory: Vec<PathBuf>,
    /// The certification run on the trained model.
    pub certify: crate::redteam::CertifyConfig,
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
    #[error("the inventory is not valid: {0}")]
    Inventory(#[from] crate::inventory::InventoryErrors),
    /// Boxed: the certification's errors are large and rare.
    #[error("certifying the trained model failed: {0}")]
    Certify(Box<crate::redteam::CertifyError>),
}

/// How one attack was detected.
#[derive(Clone, Debug, Serialize)]
pub struct AttackResult {
    pub scenario: String,
    /// The simulator's label (ground truth), for comparison with what the detector suggested.
    pub technique: String,
    pub start: String,
    /// Connections (uids) the attack used.
    pub connections: usize,
    /// Of those, connections with at least one flagged row.
    pub flagged_connections: usize,
    pub caught: bool,
    /// `detector.rule` of the first flagged row.
    pub detector: String,
    /// Seconds from the attack's start to its first flagged row.
    pub seconds_to_first_alert: Option<f64>,
    /// ATT&CK for ICS techniques the detector suggested (not the simulator's label).
    pub suggested_techniques: Vec<String>,
    /// The reasons of the first flagged row.
    pub first_reasons: Vec<String>,
}

/// Alerts and false positives of one UTC day.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DayResult {
    pub day: String,
    pub flagged_rows: u64,
    pub false_positive_rows: u64,
    /// Alerts opened that day.
    pub alerts: u64,
    /// Of those, alerts with no record of any attack.
    pub false_positive_alerts: u64,
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
    /// The trained model's adversarial certification.
    pub certification: crate::redteam::Certification,
}

/// The stage the demo is in, for progress display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    Simulate,
    Train,
    Score,
    Certify,
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
    let model = Arc::new(ModelFile::load(&model_path)?);

    let mut grader = Grader::new(&simulation);
    let mut score_config = ScoreConfig::new(vec![logs_dir.clone()], &model);
    score_config.pipeline.emit_from = Some(attack_start);
    score_config.pipeline.rows = RowOutput::Flagged;
    let inventory_files = if config.inventory.is_empty() {
        vec![logs_dir.join("inventory.yaml")]
    } else {
        config.inventory.clone()
    };
    score_config.pipeline.inventory = Some(Arc::new(crate::inventory::load_inventory(
        &inventory_files,
    )?));
    let summary = score(
        Arc::clone(&model),
        &score_config,
        |records| progress(Stage::Score, records),
        &mut grader,
    )?;
    progress(Stage::Certify, 0);
    let mut certify = config.certify.clone();
    // A reduced demo (a day of sparse polls) may learn no edge's medians: the drift from the
    // edge's median cannot run, and the seed's fixed drift is all there is.
    let has_median = crate::redteam::drift::baseline_poll(&model, &certify.drift)
        .is_ok_and(|poll| poll.typical_orig_bytes.is_some());
    if certify.drift.from_edge_median && !has_median && !certify.extra_drifts.is_empty() {
        certify.drift = certify.extra_drifts.remove(0);
    }
    let certification = crate::redteam::certify_with(model, &certify, &[], None)
        .map_err(|error| DemoError::Certify(Box::new(error)))?;

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
        rows_scored: summary.pipeline.rows_scored,
        attacks: grader.attacks(&simulation),
        days: grader.days(),
        certification,
    })
}

/// The first flagged row of an attack.
#[derive(Clone, Debug)]
struct FirstCatch {
    ts: f64,
    findings: Vec<String>,
    reasons: Vec<String>,
    techniques: Vec<String>,
}

/// Joins flagged rows and alerts with the labels by uid (and value alerts by devices and time).
struct Grader {
    /// uid -> the labels it belongs to.
    attack_of: HashMap<String, Vec<usize>>,
    /// Per label: its hosts and its window, for alerts on values rather than connections.
    windows: Vec<(BTreeSet<String>, f64, f64)>,
    flagged_uids: Vec<BTreeSet<String>>,
    first_catch: Vec<Option<FirstCatch>>,
    days: BTreeMap<i64, DayResult>,
}

fn day_of(ts: f64) -> i64 {
    (ts / 86_400.0).floor() as i64
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
            windows: simulation
                .labels
                .iter()
                .map(|label| {
                    let hosts = label.hosts.iter().cloned().collect();
                    (hosts, label.start_ts, label.end_ts)
                })
                .collect(),
            flagged_uids: vec![BTreeSet::new(); simulation.labels.len()],
            first_catch: vec![None; simulation.labels.len()],
            days: BTreeMap::new(),
        }
    }

    fn day(&mut self, ts: f64) -> &mut DayResult {
        let day = day_of(ts);
        self.days.entry(day).or_insert_with(|| DayResult {
            day: crate::train::window::rfc3339(day as f64 * 86_400.0)[..10].to_string(),
            ..DayResult::default()
        })
    }

    fn attacks(&self, simulation: &SimulationSummary) -> Vec<AttackResult> {
        simulation
            .labels
            .iter()
            .enumerate()
            .map(|(label_idx, label)| {
                let first = self.first_catch[label_idx].as_ref();
                let start = crate::train::window::parse_rfc3339(&label.start);
                AttackResult {
                    scenario: label.scenario.clone(),
                    technique: format!("{} {}", label.technique_id, label.technique_name),
                    start: label.start.clone(),
                    connections: label.uids.len(),
                    flagged_connections: self.flagged_uids[label_idx].len(),
                    caught: first.is_some(),
                    detector: first
                        .and_then(|first| first.findings.first().cloned())
                        .unwrap_or_default(),
                    seconds_to_first_alert: first
                        .zip(start)
                        .map(|(first, start)| (first.ts - start).max(0.0)),
                    suggested_techniques: first
                        .map(|first| first.techniques.clone())
                        .unwrap_or_default(),
                    first_reasons: first.map(|first| first.reasons.clone()).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The attacks a process-value alert belongs to: its evidence is the values the plant's own
    /// polls read after the attacker's writes, so it shares no connection with the attack. It is
    /// the attack's when its device (the register's) is one the attack touched and it came
    /// during the attack or within the hour after (values are judged on hourly means). Such an
    /// alert also counts as a catch.
    fn value_labels(&mut self, alert: &Alert) -> Vec<usize> {
        let Some(device) = alert.subject.dst else {
            return Vec::new();
        };
        let device = device.to_string();
        let labels: Vec<usize> = self
            .windows
            .iter()
            .enumerate()
            .filter(|(_, (hosts, start, end))| {
                hosts.contains(&device) && (*start..=end + 3600.0).contains(&alert.first_seen)
            })
            .map(|(label_idx, _)| label_idx)
            .collect();
        for &label_idx in &labels {
            let earlier = self.first_catch[label_idx]
                .as_ref()
                .is_none_or(|first| alert.first_seen < first.ts);
            if earlier {
                self.first_catch[label_idx] = Some(FirstCatch {
                    ts: alert.first_seen,
                    findings: vec![format!("{}.{}", alert.detector, alert.rule)],
                    reasons: alert.reasons.iter().map(ToString::to_string).collect(),
                    techniques: alert.techniques.clone(),
                });
            }
        }
        labels
    }

    fn days(&self) -> Vec<DayResult> {
        self.days.values().cloned().collect()
    }
}

impl Sink for Grader {
    fn row(&mut self, row: &RowRecord) -> Result<(), SinkError> {
        let labels = self.attack_of.get(&row.uid).cloned();
        let day = self.day(row.ts);
        day.flagged_rows += 1;
        match labels {
            Some(labels) => {
                for label_idx in labels {
                    self.flagged_uids[label_idx].insert(row.uid.clone());
                    if self.first_catch[label_idx].is_none() {
                        self.first_catch[label_idx] = Some(FirstCatch {
                            ts: row.ts,
                            findings: row.findings.clone(),
                            reasons: row.reasons.clone(),
                            techniques: Vec::new(),
                        });
                    }
                }
            }
            None => day.false_positive_rows += 1,
        }
        Ok(())
    }

    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        if alert.state != AlertState::Open {
            return Ok(());
        }
        let mut labels: Vec<usize> = alert
            .uids
            .iter()
            .filter_map(|uid| self.attack_of.get(uid))
            .flatten()
            .copied()
            .collect();
        if labels.is_empty() && alert.detector == crate::detect::process_value::NAME {
            labels = self.value_labels(alert);
        }
        for &label_idx in &labels {
            if let Some(first) = self.first_catch[label_idx].as_mut()
                && first.techniques.is_empty()
            {
                first.techniques = alert.techniques.clone();
            }
        }
        let day = self.day(alert.first_seen);
        day.alerts += 1;
        if labels.is_empty() {
            day.false_positive_alerts += 1;
        }
        Ok(())
    }
}

/// What the demo certifies with: the slow drift from the chosen edge's own median (the drift an
/// attacker who knows the edge runs, and the one whose control day is a sample of the edge, so
/// its verdict means something on any plant), with the seed's fixed drift (250 to 450 bytes)
/// beside it for its honest outcome: on the simulated plant no edge carries polls near 250
/// bytes, so that test's control day is rejected and it is inconclusive, which the verdict
/// reports without counting it. A model that kept no edge's medians (a reduced demo) gets the
/// seed's drift alone. `polls_per_day` shortens both for tests.
pub fn certify_config(polls_per_day: u64) -> crate::redteam::CertifyConfig {
    let seed = crate::redteam::DriftConfig {
        polls_per_day,
        ..crate::redteam::DriftConfig::default()
    };
    crate::redteam::CertifyConfig {
        drift: crate::redteam::DriftConfig {
            from_edge_median: true,
            ..seed.clone()
        },
        extra_drifts: vec![seed],
        ..crate::redteam::CertifyConfig::default()
    }
}

/// The output directory the demo uses when none is given.
pub fn default_out_dir() -> PathBuf {
    Path::new("otsentry-demo").to_path_buf()
}
