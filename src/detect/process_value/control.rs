//! DNP3 controls, the process-value detector's second half: which points of each outstation
//! training saw commanded (ICSNPP `dnp3_control`: control relay output blocks and analog output
//! blocks), with which function codes, trip and operation codes, pulse times and counts, and the
//! findings a command outside that gives.
//!
//! ICSNPP logs no DNP3 point values; what it logs per point is the control itself, so this is
//! the DNP3 counterpart of a register's training range. A point is (outstation, block kind,
//! index). Three rules, strongest first, one finding per command:
//!
//! - `new_control_point`: a command to a point never commanded in training (T0855, T0831). High.
//! - `new_control_code`: a function code (`DIRECT_OPERATE` where only `SELECT`/`OPERATE` were
//!   used), or a trip/operation code (`Trip` where only `Close`), never used on a known point
//!   (T0855, T0831). High.
//! - `control_timing`: a pulse on time, off time or execute count outside the point's training
//!   range (T0836, T0855). Medium.
//!
//! Only commands are judged: the outstation's echo (`RESPONSE`) repeats its command. Every rule
//! is a lookup, so there is no state to checkpoint.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::NAME;
use crate::detect::attack::ids;
use crate::detect::{Finding, Reason, Seen, Severity, Subject};
use crate::features::intern::KeyHashState;
use crate::features::{ControlFields, Direction, FlowEvent, Schema};

/// Points learnt at most; later ones are counted and left out.
pub const MAX_POINTS: usize = 4096;
/// Distinct function codes, and distinct trip/operation code pairs, kept per point: a point
/// commanded in more ways than this is left to the rules on what was kept.
pub const MAX_NAMES: usize = 16;
/// Longest code name kept, in bytes: names come off the network.
const MAX_NAME_BYTES: usize = 64;

/// The kind of output block a command operates: indexes of different kinds are different
/// points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Control Relay Output Block (binary outputs).
    Crob,
    /// Analog Output blocks of any width.
    AnalogOutput,
    PatternControl,
    Other,
}

impl Block {
    /// The kind ICSNPP's `block_type` names.
    pub fn of(block_type: &str) -> Block {
        let lower = block_type.to_ascii_lowercase();
        if lower.contains("relay") {
            Block::Crob
        } else if lower.contains("analog") {
            Block::AnalogOutput
        } else if lower.contains("pattern") {
            Block::PatternControl
        } else {
            Block::Other
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Block::Crob => "control relay output block",
            Block::AnalogOutput => "analog output",
            Block::PatternControl => "pattern control block",
            Block::Other => "output block",
        }
    }
}

/// One DNP3 output point: outstation, block kind, index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PointKey {
    pub device: IpAddr,
    pub block: Block,
    pub index: u32,
}

impl std::fmt::Display for PointKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            formatter,
            "{} {} of {}",
            self.block.as_str(),
            self.index,
            self.device
        )
    }
}

/// What training saw of the commands to one point.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlBaseline {
    pub commands: u64,
    /// Function codes used (`SELECT`, `OPERATE`, `DIRECT_OPERATE`), sorted.
    pub functions: Vec<String>,
    /// (trip control code, operation type) pairs used, sorted.
    pub codes: Vec<(String, String)>,
    /// Lowest and highest pulse on time (ms), off time (ms) and execute count, when logged.
    pub on_time: Option<(u64, u64)>,
    pub off_time: Option<(u64, u64)>,
    pub execute_count: Option<(u64, u64)>,
}

/// The point a command operates, or `None` for an echo or a line without an index.
fn point_of(event: &FlowEvent<'_>, control: &ControlFields<'_>) -> Option<PointKey> {
    if control.direction == Direction::Response || control.function.eq_ignore_ascii_case("RESPONSE")
    {
        return None;
    }
    Some(PointKey {
        device: event.edge.resp_h,
        block: Block::of(control.block_type),
        index: u32::try_from(control.index?).ok()?,
    })
}

fn bounded(name: &str) -> String {
    let mut end = name.len().min(MAX_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

fn widen(range: &mut Option<(u64, u64)>, value: Option<u64>) {
    if let Some(value) = value {
        *range = Some(range.map_or((value, value), |(low, high)| {
            (low.min(value), high.max(value))
        }));
    }
}

/// One point in training: its baseline and the sets its name lists are drawn from.
#[derive(Debug, Default)]
struct PointFit {
    baseline: ControlBaseline,
    functions: BTreeSet<String>,
    codes: BTreeSet<(String, String)>,
}

/// The training half: every command to every point.
#[derive(Debug, Default)]
pub struct ControlLearner {
    points: BTreeMap<PointKey, PointFit>,
    overflow: u64,
}

impl ControlLearner {
    pub fn observe(&mut self, event: &FlowEvent<'_>, control: &ControlFields<'_>) {
        let Some(key) = point_of(event, control) else {
            return;
        };
        if !self.points.contains_key(&key) && self.points.len() >= MAX_POINTS {
            self.overflow += 1;
            return;
        }
        let PointFit {
            baseline,
            functions,
            codes,
        } = self.points.entry(key).or_default();
        baseline.commands += 1;
        if functions.len() < MAX_NAMES {
            functions.insert(bounded(control.function));
        }
        if codes.len() < MAX_NAMES {
            codes.insert((
                bounded(control.trip_control_code),
                bounded(control.operation_type),
            ));
        }
        widen(&mut baseline.on_time, control.on_time);
        widen(&mut baseline.off_time, control.off_time);
        widen(&mut baseline.execute_count, control.execute_count);
    }

    /// The learnt points, sorted, and how many commands fell past [`MAX_POINTS`].
    pub fn finish(self) -> (Vec<(PointKey, ControlBaseline)>, u64) {
        let points = self
            .points
            .into_iter()
            .map(|(key, fit)| {
                let mut baseline = fit.baseline;
                baseline.functions = fit.functions.into_iter().collect();
                baseline.codes = fit.codes.into_iter().collect();
                (key, baseline)
            })
            .collect();
        (points, self.overflow)
    }
}

/// The scoring half: the learnt points and, per outstation and block kind, the indexes commanded
/// (for the reasons of a new point).
#[derive(Debug, Default)]
pub struct Controls {
    points: HashMap<PointKey, ControlBaseline, KeyHashState>,
    indexes: HashMap<(IpAddr, Block), Vec<u32>, KeyHashState>,
}

impl Controls {
    pub fn new(points: Vec<(PointKey, ControlBaseline)>) -> Controls {
        let mut indexes: HashMap<(IpAddr, Block), Vec<u32>, KeyHashState> = HashMap::default();
        for (key, _) in &points {
            indexes
                .entry((key.device, key.block))
                .or_default()
                .push(key.index);
        }
        for list in indexes.values_mut() {
            list.sort_unstable();
        }
        Controls {
            points: points.into_iter().collect(),
            indexes,
        }
    }

    /// The points learnt.
    pub fn points(&self) -> usize {
        self.points.len()
    }

    /// Judges one `dnp3_control` line, appending at most one finding.
    pub fn judge(
        &self,
        event: &FlowEvent<'_>,
        control: &ControlFields<'_>,
        findings: &mut Vec<Finding>,
    ) {
        let Some(key) = point_of(event, control) else {
            return;
        };
        let command = Reason::new(
            format!(
                "{} of {key} from {} ({})",
                control.function,
                event.edge.orig_h,
                describe(control)
            ),
            "the command",
        );
        let Some(baseline) = self.points.get(&key) else {
            let baseline = match self.indexes.get(&(key.device, key.block)) {
                Some(indexes) => format!(
                    "never commanded in training; {} points commanded on {}: {}",
                    key.block.as_str(),
                    key.device,
                    ranges_text(indexes)
                ),
                None => format!(
                    "no {} of {} was commanded in training",
                    key.block.as_str(),
                    key.device
                ),
            };
            findings.push(finding(
                event,
                "new_control_point",
                "DNP3 control of a point never commanded in training",
                Severity::High,
                vec![
                    Reason::new(
                        format!("{} of {key} from {}", control.function, event.edge.orig_h),
                        baseline,
                    ),
                    command,
                ],
                &[ids::UNAUTHORIZED_COMMAND, ids::MANIPULATION_OF_CONTROL],
            ));
            return;
        };

        let mut code_reasons = Vec::new();
        // Names are compared as training kept them: cut to their first bytes.
        let function = bounded(control.function);
        if !baseline
            .functions
            .iter()
            .any(|known| known.eq_ignore_ascii_case(&function))
        {
            code_reasons.push(Reason::new(
                format!("function {} on {key}", control.function),
                format!(
                    "{} in {} training commands of this point",
                    baseline.functions.join(", "),
                    baseline.commands
                ),
            ));
        }
        let codes = (
            bounded(control.trip_control_code),
            bounded(control.operation_type),
        );
        if !baseline
            .codes
            .iter()
            .any(|(trip, operation)| *trip == codes.0 && *operation == codes.1)
        {
            code_reasons.push(Reason::new(
                format!(
                    "trip code {}, operation {} on {key}",
                    or_unset(&codes.0),
                    or_unset(&codes.1)
                ),
                format!(
                    "{} in training",
                    baseline
                        .codes
                        .iter()
                        .map(|(trip, operation)| format!(
                            "{} / {}",
                            or_unset(trip),
                            or_unset(operation)
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let mut timing_reasons = Vec::new();
        for (name, unit, range, value) in [
            ("on time", " ms", baseline.on_time, control.on_time),
            ("off time", " ms", baseline.off_time, control.off_time),
            (
                "execute count",
                "",
                baseline.execute_count,
                control.execute_count,
            ),
        ] {
            if let (Some((low, high)), Some(value)) = (range, value)
                && !(low..=high).contains(&value)
            {
                timing_reasons.push(Reason::new(
                    format!("{name} {value}{unit} on {key}"),
                    format!(
                        "{low} to {high}{unit} in {} training commands of this point",
                        baseline.commands
                    ),
                ));
            }
        }
        let (rule, title, severity, techniques) = if !code_reasons.is_empty() {
            (
                "new_control_code",
                "DNP3 control in a way never used on this point in training",
                Severity::High,
                &[ids::UNAUTHORIZED_COMMAND, ids::MANIPULATION_OF_CONTROL][..],
            )
        } else if !timing_reasons.is_empty() {
            (
                "control_timing",
                "DNP3 control with pulse times or count outside the point's training range",
                Severity::Medium,
                &[ids::MODIFY_PARAMETER, ids::UNAUTHORIZED_COMMAND][..],
            )
        } else {
            return;
        };
        let mut reasons = code_reasons;
        reasons.extend(timing_reasons);
        reasons.push(command);
        findings.push(finding(event, rule, title, severity, reasons, techniques));
    }
}

fn finding(
    event: &FlowEvent<'_>,
    rule: &'static str,
    title: &'static str,
    severity: Severity,
    reasons: Vec<Reason>,
    techniques: &[&'static str],
) -> Finding {
    Finding {
        detector: NAME,
        rule,
        title,
        severity,
        subject: Subject {
            src: Some(event.edge.orig_h),
            dst: Some(event.edge.resp_h),
        },
        reasons,
        techniques: techniques.to_vec(),
        seen: Seen::of(event, Schema::Request),
        scores: None,
    }
}

fn or_unset(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

/// The command's codes and times in words: `Trip, Pulse On, count 1, on 500 ms, off 0 ms`.
fn describe(control: &ControlFields<'_>) -> String {
    let mut parts = vec![
        or_unset(control.trip_control_code).to_string(),
        or_unset(control.operation_type).to_string(),
    ];
    if let Some(count) = control.execute_count {
        parts.push(format!("count {count}"));
    }
    if let Some(on) = control.on_time {
        parts.push(format!("on {on} ms"));
    }
    if let Some(off) = control.off_time {
        parts.push(format!("off {off} ms"));
    }
    parts.join(", ")
}

/// Sorted indexes as runs: `0-7, 9, 12-13`; long lists end with the count left out.
fn ranges_text(indexes: &[u32]) -> String {
    const SHOWN: usize = 12;
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &index in indexes {
        match runs.last_mut() {
            Some((_, high)) if index == *high + 1 => *high = index,
            _ => runs.push((index, index)),
        }
    }
    let mut text: Vec<String> = runs
        .iter()
        .take(SHOWN)
        .map(|&(low, high)| {
            if low == high {
                format!("{low}")
            } else {
                format!("{low}-{high}")
            }
        })
        .collect();
    if runs.len() > SHOWN {
        text.push(format!("and {} more runs", runs.len() - SHOWN));
    }
    text.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_runs_and_block_kinds_read_plainly() {
        assert_eq!(ranges_text(&[0, 1, 2, 3, 5, 7, 8]), "0-3, 5, 7-8");
        assert_eq!(Block::of("Control Relay Output Block"), Block::Crob);
        assert_eq!(Block::of("Analog Output 16-Bit"), Block::AnalogOutput);
        assert_eq!(Block::of("Pattern Control Block"), Block::PatternControl);
        assert_eq!(Block::of(""), Block::Other);
        assert_eq!(bounded(&"é".repeat(40)).len(), 64);
    }
}
