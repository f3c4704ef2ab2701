//! The process-value detector: register values against what training saw of each register, the
//! inventory's safe limits, and a cumulative change detector that catches a drift whose every
//! step is small.
//!
//! A register is (device, unit, table, address), its values read from ICSNPP `modbus_detailed`
//! (the response values of reads, the request values of writes). Three rules:
//!
//! - `outside_safe_limits`: a value outside the inventory's safe limits for the register (holding
//!   and input registers; reported once per excursion). Critical for a write, high for a read.
//! - `out_of_range`: a value outside the register's training range widened by a margin (5 % of
//!   the range, at least two noise units); once per excursion. Medium, high for a write.
//! - `drift`: a two-sided CUSUM over the register's hourly means. Its reference level and noise
//!   unit are the mean and standard deviation of the training hours (the unit never under a
//!   floor, so a constant register still has a scale); its allowance is half a unit and its alarm
//!   level is learnt too: twice the largest sum training itself reached (never under 5), so a
//!   register with daily cycles is held to its own wobble. A setpoint crept from 750 to 830 in
//!   steps of a fraction of a unit leaves its range late but the sum grows every hour. High.
//!
//! Counters (registers that only ever increased in training: uptime, energy totals) are left
//! out of the range and drift rules. Registers never seen in training are judged only against
//! safe limits: enumerating them is the function-code detector's. The per-register hour being
//! summed, the CUSUM sums and the excursion latches are the checkpointed state.
//!
//! DNP3 points are judged by their controls (ICSNPP logs no DNP3 point values, only the commands
//! in `dnp3_control`): a command to a point never commanded in training, a function or trip code
//! never used on it, or pulse times outside its range (`control`: rules `new_control_point`,
//! `new_control_code`, `control_timing`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::attack::ids;
use super::baseline;
use super::{Detector, Finding, Observation, Reason, Seen, Severity, Subject};
use crate::features::intern::KeyHashState;
use crate::features::{EventKind, FlowEvent, Schema, ValueFields};

pub mod control;
use crate::inventory::Inventory;
use crate::model::{BaselineSection, LoadedModel};
pub use control::{Block, ControlBaseline, PointKey};

/// The detector's name in findings, metrics and the model's baselines.
pub const NAME: &str = "process_value";
/// The version of the baseline section this build writes and reads.
pub const BASELINE_VERSION: u32 = 2;

/// The CUSUM's bucket: one hour of log time.
pub const BUCKET_SECS: f64 = 3600.0;
/// The CUSUM's allowance, in noise units: shifts smaller than this do not accumulate.
pub const ALLOWANCE: f64 = 0.5;
/// The lowest alarm level, in noise units.
pub const MIN_ALARM: f64 = 5.0;
/// Training hours a register needs before its drift is judged.
pub const MIN_HOURS: usize = 24;
/// Registers learnt at most; later ones are counted and left out.
pub const MAX_REGISTERS: usize = 4096;
/// Hourly means kept per register in training (90 days).
const MAX_HOURS: usize = 90 * 24;

/// A Modbus data table: addresses of different tables are different registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Coil,
    DiscreteInput,
    InputRegister,
    HoldingRegister,
}

impl Table {
    /// The table a function reads or writes, if its values map one to one onto addresses.
    pub fn of(function: &str) -> Option<Table> {
        match function.to_ascii_uppercase().as_str() {
            "READ_COILS" | "WRITE_SINGLE_COIL" | "WRITE_MULTIPLE_COILS" => Some(Table::Coil),
            "READ_DISCRETE_INPUTS" => Some(Table::DiscreteInput),
            "READ_INPUT_REGISTERS" => Some(Table::InputRegister),
            "READ_HOLDING_REGISTERS" | "WRITE_SINGLE_REGISTER" | "WRITE_MULTIPLE_REGISTERS" => {
                Some(Table::HoldingRegister)
            }
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Table::Coil => "coil",
            Table::DiscreteInput => "discrete input",
            Table::InputRegister => "input register",
            Table::HoldingRegister => "holding register",
        }
    }

    fn is_bit(self) -> bool {
        matches!(self, Table::Coil | Table::DiscreteInput)
    }
}

/// One register: device, unit, table, address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RegisterKey {
    pub device: IpAddr,
    pub unit: u16,
    pub table: Table,
    pub address: u32,
}

impl std::fmt::Display for RegisterKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} {} of {} unit {}",
            self.table.as_str(),
            self.address,
            self.device,
            self.unit
        )
    }
}

/// What training saw of one register.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisterBaseline {
    pub values: u64,
    pub min: f64,
    pub max: f64,
    /// Only ever increased in training: a counter, left out of range and drift.
    pub counter: bool,
    /// The CUSUM's parameters; `None` with fewer than [`MIN_HOURS`] training hours.
    pub drift: Option<DriftParams>,
}

/// A register's CUSUM parameters, learnt from its training hours.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftParams {
    /// The mean of the training hourly means.
    pub level: f64,
    /// Their standard deviation, never under the floor.
    pub unit: f64,
    /// The alarm level in noise units.
    pub alarm: f64,
    /// Training hours behind the parameters.
    pub hours: u64,
}

/// The baseline saved in the model.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueBaseline {
    pub registers: Vec<(RegisterKey, RegisterBaseline)>,
    /// Registers past [`MAX_REGISTERS`], not learnt.
    pub overflow: u64,
    /// DNP3 output points and what training saw of their commands (since version 2).
    pub controls: Vec<(PointKey, ControlBaseline)>,
    /// Commands to points past [`control::MAX_POINTS`], not learnt.
    pub control_overflow: u64,
}

/// The noise unit's floor: half a count, or 0.2 % of the level for large values.
fn unit_floor(level: f64) -> f64 {
    (0.002 * level.abs()).max(0.5)
}

/// The values of one record, as (register, value) pairs.
fn registers<'a>(
    event: &FlowEvent<'a>,
    values: &ValueFields<'a>,
) -> Option<impl Iterator<Item = (RegisterKey, f64)> + 'a> {
    let table = Table::of(values.function)?;
    let start = u32::try_from(values.address?).ok()?;
    let device = event.edge.resp_h;
    let unit = values
        .unit
        .and_then(|unit| u16::try_from(unit).ok())
        .unwrap_or(0);
    Some(values.numbers().enumerate().map(move |(offset, value)| {
        let key = RegisterKey {
            device,
            unit,
            table,
            address: start.saturating_add(offset as u32),
        };
        // A single-coil write is written as 1 or as 0xFF00 (65280).
        let value = if table.is_bit() && value != 0.0 {
            1.0
        } else {
            value
        };
        (key, value)
    }))
}

/// One register's training state.
#[derive(Debug)]
struct RegisterFit {
    values: u64,
    min: f64,
    max: f64,
    last: f64,
    decreased: bool,
    increased: bool,
    hour: i64,
    hour_sum: f64,
    hour_n: u64,
    means: Vec<f64>,
}

impl RegisterFit {
    fn new(value: f64, hour: i64) -> RegisterFit {
        RegisterFit {
            values: 0,
            min: value,
            max: value,
            last: value,
            decreased: false,
            increased: false,
            hour,
            hour_sum: 0.0,
            hour_n: 0,
            means: Vec::new(),
        }
    }

    fn add(&mut self, value: f64, hour: i64) {
        if hour != self.hour {
            self.close_hour();
            self.hour = hour;
        }
        self.values += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.decreased |= value < self.last;
        self.increased |= value > self.last;
        self.last = value;
        self.hour_sum += value;
        self.hour_n += 1;
    }

    fn close_hour(&mut self) {
        if self.hour_n > 0 && self.means.len() < MAX_HOURS {
            self.means.push(self.hour_sum / self.hour_n as f64);
        }
        self.hour_sum = 0.0;
        self.hour_n = 0;
    }

    fn finish(mut self, table: Table) -> RegisterBaseline {
        self.close_hour();
        let counter = self.increased && !self.decreased && !table.is_bit();
        let drift = (!counter && !table.is_bit() && self.means.len() >= MIN_HOURS)
            .then(|| drift_params(&self.means));
        RegisterBaseline {
            values: self.values,
            min: self.min,
            max: self.max,
            counter,
            drift,
        }
    }
}

/// The CUSUM parameters of a register from its training hourly means: level and unit from their
/// mean and deviation, the alarm level from the largest sum training itself reached.
fn drift_params(means: &[f64]) -> DriftParams {
    let n = means.len() as f64;
    let level = means.iter().sum::<f64>() / n;
    let variance = means.iter().map(|mean| (mean - level).powi(2)).sum::<f64>() / n;
    let unit = variance.sqrt().max(unit_floor(level));
    let mut cusum = Cusum::default();
    let mut highest: f64 = 0.0;
    for &mean in means {
        cusum.add((mean - level) / unit);
        highest = highest.max(cusum.high).max(cusum.low);
    }
    DriftParams {
        level,
        unit,
        alarm: (2.0 * highest).max(MIN_ALARM),
        hours: means.len() as u64,
    }
}

/// A two-sided CUSUM in noise units.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Cusum {
    high: f64,
    low: f64,
}

impl Cusum {
    fn add(&mut self, z: f64) {
        self.high = (self.high + z - ALLOWANCE).max(0.0);
        self.low = (self.low - z - ALLOWANCE).max(0.0);
    }
}

/// The training pass of the detector.
#[derive(Debug, Default)]
pub struct Learner {
    registers: BTreeMap<RegisterKey, RegisterFit>,
    overflow: u64,
    controls: control::ControlLearner,
}

impl Learner {
    /// The learnt baseline, as the model's section holds it.
    pub fn into_baseline(self) -> ValueBaseline {
        let (controls, control_overflow) = self.controls.finish();
        ValueBaseline {
            controls,
            control_overflow,
            registers: self
                .registers
                .into_iter()
                .map(|(key, fit)| (key, fit.finish(key.table)))
                .collect(),
            overflow: self.overflow,
        }
    }
}

impl baseline::Learner for Learner {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, _record: &baseline::TrainingRecord<'_>) {}

    fn observe_values(&mut self, event: &FlowEvent<'_>) {
        let values = match &event.kind {
            EventKind::Values(values) => values,
            EventKind::Control(control) => return self.controls.observe(event, control),
            _ => return,
        };
        let Some(pairs) = registers(event, values) else {
            return;
        };
        let hour = (event.ts / BUCKET_SECS).floor() as i64;
        for (key, value) in pairs {
            let at_cap = self.registers.len() >= MAX_REGISTERS;
            match self.registers.get_mut(&key) {
                Some(fit) => fit.add(value, hour),
                None if at_cap => self.overflow += 1,
                None => {
                    let mut fit = RegisterFit::new(value, hour);
                    fit.add(value, hour);
                    self.registers.insert(key, fit);
                }
            }
        }
    }

    fn finish(self: Box<Self>) -> Result<BaselineSection, baseline::BaselineError> {
        baseline::encode(NAME, BASELINE_VERSION, &self.into_baseline())
    }
}

/// One register's live state.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct RegisterState {
    hour: i64,
    hour_sum: f64,
    hour_n: u64,
    cusum: Cusum,
    /// A drift was reported upward / downward and the sum has not returned to zero since.
    drift_high: bool,
    drift_low: bool,
    /// An out-of-range or out-of-limits excursion is in progress and was reported.
    out_of_range: bool,
    out_of_limits: bool,
}

/// The checkpointed state.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    registers: Vec<(RegisterKey, RegisterState)>,
}

/// The process-value detector.
pub struct ProcessValueDetector {
    baseline: HashMap<RegisterKey, RegisterBaseline, KeyHashState>,
    inventory: Option<Arc<Inventory>>,
    states: HashMap<RegisterKey, RegisterState, KeyHashState>,
    controls: control::Controls,
}

impl std::fmt::Debug for ProcessValueDetector {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ProcessValueDetector")
            .field("registers", &self.baseline.len())
            .field("control_points", &self.controls.points())
            .field("inventory", &self.inventory.is_some())
            .field("states", &self.states.len())
            .finish()
    }
}

impl ProcessValueDetector {
    /// A detector over the model's baseline (none for a model trained before this detector).
    pub fn new(baseline: Option<ValueBaseline>) -> ProcessValueDetector {
        let baseline = baseline.unwrap_or_default();
        ProcessValueDetector {
            baseline: baseline.registers.into_iter().collect(),
            inventory: None,
            states: HashMap::default(),
            controls: control::Controls::new(baseline.controls),
        }
    }

    /// The detector over a model's baseline section; `Ok(None)` when the model has none.
    pub fn from_model(
        model: &LoadedModel,
    ) -> Result<Option<ProcessValueDetector>, baseline::BaselineError> {
        let section = baseline::decode(model, NAME, BASELINE_VERSION)?;
        Ok(section.map(|section| ProcessValueDetector::new(Some(section))))
    }

    /// Judges values against the inventory's safe limits as well.
    pub fn with_inventory(mut self, inventory: Arc<Inventory>) -> ProcessValueDetector {
        self.inventory = Some(inventory);
        self
    }

    fn safe_limits(&self, key: &RegisterKey) -> Option<(Option<f64>, Option<f64>, String)> {
        if key.table.is_bit() {
            return None;
        }
        let limit = self
            .inventory
            .as_ref()?
            .safe_limits(key.device, key.unit, key.address)?;
        let name = limit
            .name
            .clone()
            .unwrap_or_else(|| format!("register {}", key.address));
        Some((limit.min, limit.max, name))
    }

    /// Judges one value of `key`, appending findings.
    fn judge(
        &mut self,
        key: RegisterKey,
        value: f64,
        context: &Context<'_>,
        findings: &mut Vec<Finding>,
    ) {
        let baseline = self.baseline.get(&key).copied();
        let limits = self.safe_limits(&key);
        if baseline.is_none() && limits.is_none() {
            return;
        }
        let state = self.states.entry(key).or_default();
        if let Some((min, max, name)) = limits {
            let outside = min.is_some_and(|min| value < min) || max.is_some_and(|max| value > max);
            if outside && !state.out_of_limits {
                let severity = if context.write {
                    Severity::Critical
                } else {
                    Severity::High
                };
                let bounds = format!(
                    "{} to {}",
                    min.map_or("-".to_string(), |min| format!("{min}")),
                    max.map_or("-".to_string(), |max| format!("{max}"))
                );
                findings.push(context.finding(
                    "outside_safe_limits",
                    "Process value outside the inventory's safe limits",
                    severity,
                    key,
                    vec![Reason::new(
                        format!("{} {value} {} ({name})", context.verb(), key),
                        format!("safe limits {bounds} in the asset inventory"),
                    )],
                ));
            }
            state.out_of_limits = outside;
        }
        let Some(baseline) = baseline else {
            return;
        };
        if baseline.counter {
            return;
        }
        let span = baseline.max - baseline.min;
        let floor = if key.table.is_bit() {
            0.0
        } else {
            2.0 * baseline
                .drift
                .map_or(unit_floor(baseline.max), |drift| unit_floor(drift.level))
        };
        let margin = (0.05 * span).max(floor);
        let outside = value < baseline.min - margin || value > baseline.max + margin;
        if outside && !state.out_of_range {
            let severity = if context.write {
                Severity::High
            } else {
                Severity::Medium
            };
            findings.push(context.finding(
                "out_of_range",
                "Process value outside its training range",
                severity,
                key,
                vec![Reason::new(
                    format!("{} {value} {}", context.verb(), key),
                    format!(
                        "{} to {} in {} training values",
                        baseline.min, baseline.max, baseline.values
                    ),
                )],
            ));
        }
        state.out_of_range = outside;

        let Some(drift) = baseline.drift else {
            return;
        };
        let hour = (context.event.ts / BUCKET_SECS).floor() as i64;
        if state.hour_n > 0 && hour != state.hour {
            let mean = state.hour_sum / state.hour_n as f64;
            state.cusum.add((mean - drift.level) / drift.unit);
            state.hour_sum = 0.0;
            state.hour_n = 0;
            let Cusum { high, low } = state.cusum;
            if high == 0.0 {
                state.drift_high = false;
            }
            if low == 0.0 {
                state.drift_low = false;
            }
            let upward = high > drift.alarm && !state.drift_high;
            let downward = low > drift.alarm && !state.drift_low;
            if upward || downward {
                state.drift_high |= upward;
                state.drift_low |= downward;
                let (direction, sum) = if upward {
                    ("above", high)
                } else {
                    ("below", low)
                };
                // A sustained shift of a process value is what an attacker who hides behind
                // small steps leaves; it is high whichever record revealed it.
                let severity = Severity::High;
                findings.push(context.finding(
                    "drift",
                    "Process value drifting from its training level",
                    severity,
                    key,
                    vec![
                        Reason::new(
                            format!(
                                "hourly mean of {key} {mean:.1}, cumulatively {direction} its training level by {sum:.1} noise units"
                            ),
                            format!(
                                "training level {:.1}, noise unit {:.2} over {} hours; alarm at {:.1} units",
                                drift.level, drift.unit, drift.hours, drift.alarm
                            ),
                        ),
                        Reason::new(
                            format!("{} {value} {}", context.verb(), key),
                            format!("{} to {} in training", baseline.min, baseline.max),
                        ),
                    ],
                ));
            }
        }
        state.hour = hour;
        state.hour_sum += value;
        state.hour_n += 1;
    }
}

/// The record a value came from, for the findings it gives.
struct Context<'e> {
    event: &'e FlowEvent<'e>,
    write: bool,
}

impl Context<'_> {
    fn verb(&self) -> &'static str {
        if self.write { "wrote" } else { "read" }
    }

    fn finding(
        &self,
        rule: &'static str,
        title: &'static str,
        severity: Severity,
        key: RegisterKey,
        mut reasons: Vec<Reason>,
    ) -> Finding {
        if self.write {
            reasons.push(Reason::new(
                format!("written by {}", self.event.edge.orig_h),
                "the source of the write",
            ));
        }
        let techniques = if self.write {
            vec![ids::MODIFY_PARAMETER, ids::UNAUTHORIZED_COMMAND]
        } else {
            vec![ids::MANIPULATION_OF_CONTROL, ids::MODIFY_PARAMETER]
        };
        Finding {
            detector: NAME,
            rule,
            title,
            severity,
            subject: Subject {
                src: None,
                dst: Some(key.device),
            },
            reasons,
            techniques: techniques.to_vec(),
            seen: Seen::of(self.event, Schema::Request),
            scores: None,
        }
    }
}

impl Detector for ProcessValueDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, _observation: &Observation<'_>, _findings: &mut Vec<Finding>) {}

    fn observe_values(&mut self, event: &FlowEvent<'_>, findings: &mut Vec<Finding>) {
        let values = match &event.kind {
            EventKind::Values(values) => values,
            EventKind::Control(control) => return self.controls.judge(event, control, findings),
            _ => return,
        };
        let Some(pairs) = registers(event, values) else {
            return;
        };
        let context = Context {
            event,
            write: crate::features::functions::is_write(values.function),
        };
        for (key, value) in pairs {
            self.judge(key, value, &context, findings);
        }
    }

    fn checkpoint(&self) -> serde_json::Value {
        let mut registers: Vec<_> = self
            .states
            .iter()
            .map(|(key, state)| (*key, state.clone()))
            .collect();
        registers.sort_by_key(|(key, _)| *key);
        serde_json::to_value(State { registers }).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            self.states.clear();
            return Ok(());
        }
        let state: State = serde_json::from_value(state).map_err(|error| error.to_string())?;
        self.states = state.registers.into_iter().collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
