//! The schedule detector: when in the week each client and each edge was active in training, and
//! a finding when one that keeps a schedule is active outside it.
//!
//! Learnt per source host (its client activity, whatever the destination: a maintenance laptop that
//! works on three different PLCs each Wednesday keeps one schedule) and per edge: the weekdays and
//! the hours of the day (UTC) it was active, and on how many distinct days. Something keeps a
//! weekly schedule when it was active on at least [`MIN_DAYS`] days, all on at most two weekdays;
//! it keeps a daily schedule when its hours cover at most [`MAX_DAILY_HOURS`] of the day. A record
//! on a weekday the schedule never used, or more than an hour away from every hour it used, is a
//! finding, so the weekly maintenance inside its window says nothing and the same session on a
//! Sunday night is reported. Hours are UTC: the hour of tolerance absorbs daylight-saving shifts.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::attack::ids;
use super::baseline::{self, BaselineError, Learner, TrainingRecord};
use super::{Detector, Finding, Observation, Reason, Seen, Severity, Subject};
use crate::features::intern::{KeyHashState, OVERFLOW};
use crate::features::{EventKind, Schema};
use crate::inventory::schedule::DAYS;
use crate::model::{BaselineSection, LoadedModel};

/// The detector's name in findings, metrics and the model's baseline section.
pub const NAME: &str = "schedule";
const VERSION: u32 = 1;

/// Distinct active days before a weekly schedule on one weekday is trusted (two weeks running);
/// a schedule on two weekdays needs twice as many, since two random days always share two.
pub const MIN_DAYS: u32 = 2;
/// Distinct active days before the hours of a daily schedule are trusted: a few sessions at
/// random hours would otherwise make every new hour look unusual.
pub const MIN_DAILY_DAYS: u32 = 7;
/// A daily schedule covers at most this many hours of the day.
pub const MAX_DAILY_HOURS: u32 = 16;
/// A weekly schedule uses at most this many weekdays.
pub const MAX_WEEKLY_DAYS: u32 = 2;
/// A departure is reported again at most this often (log time) per source.
pub const REPEAT_SECS: f64 = 3600.0;

/// Day number since the epoch, weekday (0 Monday) and hour of day (UTC) of a log time.
pub fn calendar(ts: f64) -> (i64, usize, u32) {
    let hours = (ts / 3600.0).floor() as i64;
    let day = hours.div_euclid(24);
    // 1970-01-01 was a Thursday (3 with Monday 0).
    let weekday = (day + 3).rem_euclid(7) as usize;
    (day, weekday, hours.rem_euclid(24) as u32)
}

/// When one client or edge was active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Bit `w` for weekday `w` (Monday 0).
    pub weekdays: u8,
    /// Bit `h` for hour `h` of the day, UTC.
    pub hours: u32,
    /// Distinct days active.
    pub days: u32,
}

impl Activity {
    fn weekly(&self) -> bool {
        let weekdays = self.weekdays.count_ones();
        (weekdays == 1 && self.days >= MIN_DAYS)
            || (weekdays <= MAX_WEEKLY_DAYS && self.days >= 2 * MIN_DAYS)
    }

    fn daily(&self) -> bool {
        self.days >= MIN_DAILY_DAYS && self.hours.count_ones() <= MAX_DAILY_HOURS
    }

    /// Whether hour `hour` is within an hour of an active one.
    fn near_hour(&self, hour: u32) -> bool {
        [(hour + 23) % 24, hour, (hour + 1) % 24]
            .iter()
            .any(|h| self.hours & (1 << h) != 0)
    }

    /// What is outside about a record at (weekday, hour), if anything.
    fn outside(&self, weekday: usize, hour: u32, coverage: &Coverage) -> Option<&'static str> {
        if self.weekly()
            && self.weekdays & (1 << weekday) == 0
            && coverage.weekday_days[weekday] >= 1
        {
            return Some("weekday");
        }
        if self.daily() && !self.near_hour(hour) && coverage.hours & (1 << hour) != 0 {
            return Some("hour");
        }
        None
    }

    /// The schedule in words: `wednesday, 09:00-12:00 UTC (4 days)`.
    pub fn describe(&self) -> String {
        let days: Vec<&str> = DAYS
            .iter()
            .filter(|day| self.weekdays & (1 << day.index()) != 0)
            .map(|day| day.name())
            .collect();
        let mut ranges = Vec::new();
        let mut hour = 0;
        while hour < 24 {
            if self.hours & (1 << hour) != 0 {
                let start = hour;
                while hour < 24 && self.hours & (1 << hour) != 0 {
                    hour += 1;
                }
                ranges.push(format!("{start:02}:00-{hour:02}:00"));
            } else {
                hour += 1;
            }
        }
        let days = if days.len() == 7 {
            "every weekday".to_string()
        } else {
            days.join(", ")
        };
        format!(
            "active only {days}, {} UTC, on {} days of training",
            ranges.join(", "),
            self.days
        )
    }
}

/// Which weekdays and hours the training window held at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Distinct days seen per weekday.
    pub weekday_days: [u32; 7],
    pub hours: u32,
}

/// The schedule baseline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ScheduleBaseline {
    pub coverage: Coverage,
    /// Per source host, its client activity.
    pub clients: Vec<(IpAddr, Activity)>,
    /// Per schema (conn, request), per edge id.
    pub edges: [Vec<Option<Activity>>; 2],
}

fn slot(schema: Schema) -> usize {
    match schema {
        Schema::Conn => 0,
        Schema::Request => 1,
    }
}

#[derive(Default)]
struct Learning {
    activity: Activity,
    last_day: Option<i64>,
    days: HashSet<i64>,
}

impl Learning {
    /// Marks every hour from `start` to `end` (a connection is active for its whole duration,
    /// though conn.log writes it once, at its start), at most a week of hours.
    fn add_span(&mut self, start: f64, end: f64) {
        let mut at = start;
        for _ in 0..168 {
            let (day, weekday, hour) = calendar(at);
            self.add(day, weekday, hour);
            at = ((at / 3600.0).floor() + 1.0) * 3600.0;
            if at > end {
                break;
            }
        }
    }

    fn add(&mut self, day: i64, weekday: usize, hour: u32) {
        self.activity.weekdays |= 1 << weekday;
        self.activity.hours |= 1 << hour;
        if self.last_day != Some(day) {
            self.last_day = Some(day);
            // Bounded: a year of days.
            if self.days.len() < 400 {
                self.days.insert(day);
            }
        }
    }

    fn finish(mut self) -> Activity {
        self.activity.days = self.days.len() as u32;
        self.activity
    }
}

/// Learns the schedule baseline in training.
#[derive(Default)]
pub struct ScheduleLearner {
    days_seen: HashSet<i64>,
    coverage: Coverage,
    clients: HashMap<IpAddr, Learning, KeyHashState>,
    edges: [Vec<Option<Learning>>; 2],
}

impl Learner for ScheduleLearner {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, record: &TrainingRecord<'_>) {
        let event = record.event;
        if !event.ts.is_finite() {
            return;
        }
        let (day, weekday, hour) = calendar(event.ts);
        if self.days_seen.len() < 400 && self.days_seen.insert(day) {
            self.coverage.weekday_days[weekday] += 1;
        }
        self.coverage.hours |= 1 << hour;
        let end = match &event.kind {
            EventKind::Conn(conn) => {
                event.ts + conn.duration.unwrap_or(0.0).clamp(0.0, 7.0 * 86_400.0)
            }
            EventKind::Request(_) | EventKind::Values(_) | EventKind::Control(_) => event.ts,
        };
        self.clients
            .entry(event.edge.orig_h)
            .or_default()
            .add_span(event.ts, end);
        if record.raw.edge != OVERFLOW {
            let edges = &mut self.edges[slot(record.schema)];
            let idx = record.raw.edge as usize;
            if edges.len() <= idx {
                edges.resize_with(idx + 1, || None);
            }
            edges[idx]
                .get_or_insert_with(Learning::default)
                .add_span(event.ts, end);
        }
    }

    fn finish(self: Box<Self>) -> Result<BaselineSection, BaselineError> {
        let mut clients: Vec<(IpAddr, Activity)> = self
            .clients
            .into_iter()
            .map(|(ip, learning)| (ip, learning.finish()))
            .collect();
        clients.sort_by_key(|(ip, _)| *ip);
        let edges = self
            .edges
            .map(|edges| edges.into_iter().map(|e| e.map(Learning::finish)).collect());
        baseline::encode(
            NAME,
            VERSION,
            &ScheduleBaseline {
                coverage: self.coverage,
                clients,
                edges,
            },
        )
    }
}

/// The schedule detector.
#[derive(Debug)]
pub struct ScheduleDetector {
    baseline: ScheduleBaseline,
    clients: HashMap<IpAddr, Activity, KeyHashState>,
    /// Log time of the last report per source.
    reported: HashMap<IpAddr, f64, KeyHashState>,
}

impl ScheduleDetector {
    /// The detector over the model's schedule baseline; `None` when the model has none.
    pub fn from_model(model: &LoadedModel) -> Result<Option<ScheduleDetector>, BaselineError> {
        Ok(baseline::decode::<ScheduleBaseline>(model, NAME, VERSION)?.map(ScheduleDetector::new))
    }

    pub fn new(baseline: ScheduleBaseline) -> ScheduleDetector {
        ScheduleDetector {
            clients: baseline.clients.iter().copied().collect(),
            baseline,
            reported: HashMap::default(),
        }
    }
}

fn when_text(weekday: usize, hour: u32) -> String {
    format!("{} {hour:02}:00 UTC", DAYS[weekday].name())
}

impl Detector for ScheduleDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, observation: &Observation<'_>, findings: &mut Vec<Finding>) {
        let event = observation.event;
        if !event.ts.is_finite() {
            return;
        }
        let (_, weekday, hour) = calendar(event.ts);
        let coverage = &self.baseline.coverage;
        let src = event.edge.orig_h;
        let edge = (observation.raw.edge != OVERFLOW)
            .then(|| {
                self.baseline.edges[slot(observation.schema)]
                    .get(observation.raw.edge as usize)
                    .copied()
                    .flatten()
            })
            .flatten();
        let client = self.clients.get(&src).copied();
        let (whose, activity, what) = match (client, edge) {
            (Some(client), _) if client.outside(weekday, hour, coverage).is_some() => {
                let what = client.outside(weekday, hour, coverage).unwrap_or("hour");
                (format!("{src} as a client"), client, what)
            }
            (_, Some(edge)) if edge.outside(weekday, hour, coverage).is_some() => {
                let what = edge.outside(weekday, hour, coverage).unwrap_or("hour");
                ("this edge".to_string(), edge, what)
            }
            _ => return,
        };
        if self
            .reported
            .get(&src)
            .is_some_and(|last| event.ts >= *last && event.ts - last < REPEAT_SECS)
        {
            return;
        }
        self.reported.insert(src, event.ts);
        let is_write = matches!(&event.kind, EventKind::Request(request) if request.is_write);
        let mut techniques = vec![ids::REMOTE_SERVICES];
        if is_write {
            techniques.push(ids::UNAUTHORIZED_COMMAND);
        }
        let edge_text = format!(
            "{} -> {}:{}/{} {}",
            src,
            event.edge.resp_h,
            event.edge.resp_p,
            event.edge.proto.as_str(),
            event.edge.service
        );
        findings.push(Finding {
            detector: NAME,
            rule: "outside_schedule",
            title: "Activity outside its learnt weekly schedule",
            severity: if event.ot || is_write {
                Severity::High
            } else {
                Severity::Medium
            },
            subject: Subject {
                src: Some(src),
                dst: Some(event.edge.resp_h),
            },
            reasons: vec![Reason::new(
                format!(
                    "{edge_text} on {} (its {what} is outside)",
                    when_text(weekday, hour)
                ),
                format!("{whose}: {}", activity.describe()),
            )],
            techniques,
            seen: Seen::of(event, observation.schema),
            scores: None,
        });
    }

    fn checkpoint(&self) -> serde_json::Value {
        let mut reported: Vec<(IpAddr, f64)> =
            self.reported.iter().map(|(ip, ts)| (*ip, *ts)).collect();
        reported.sort_by_key(|(ip, _)| *ip);
        serde_json::to_value(reported).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let reported: Vec<(IpAddr, f64)> = serde_json::from_value(state)
            .map_err(|error| format!("the schedule state is not valid: {error}"))?;
        self.reported = reported.into_iter().collect();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
