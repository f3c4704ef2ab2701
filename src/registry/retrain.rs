//! The retraining policy's prohibited conditions as a pure function of records: the training
//! window a retrain request names, and every reason a run on it must be refused
//! (`active_incident_open`, `post_incident_window`, `unreviewed_anomaly_cluster`), each naming
//! the incident or the alerts that cause it. Governance calls [`retrain_blockers`] before training
//! and again inside the transaction that records the run, so what was checked is what was run.

use std::fmt;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::governance::policy::{RetrainBlocker, RetrainingPolicy};
use crate::store::{AlertRecord, AlertStatus, IncidentRecord};

/// How long after an incident's end its data stay tainted without a manual review: the
/// retraining policy's `post_incident_window` description ("the 30 days following incident
/// closure").
pub const POST_INCIDENT_DAYS: i64 = 30;

const DAY_MICROS: i64 = 86_400_000_000;

/// How many alert ids a refusal names before it says "and N more".
const NAMED_ALERTS: usize = 20;

/// A training window in log time, `[start, end)`, epoch microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrainWindow {
    pub start: i64,
    pub end: i64,
}

pub use crate::text::rfc3339_micros as rfc3339;

fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let time = OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| format!("`{text}` is not an RFC 3339 time such as 2026-10-30T00:00:00Z"))?;
    i64::try_from(time.unix_timestamp_nanos() / 1_000)
        .map_err(|_| format!("`{text}` is out of range"))
}

impl RetrainWindow {
    /// A window from its ends; the start must come first.
    pub fn new(start: i64, end: i64) -> Result<Self, String> {
        if start >= end {
            return Err(format!(
                "the training window must start before it ends ({} .. {})",
                rfc3339(start),
                rfc3339(end)
            ));
        }
        Ok(RetrainWindow { start, end })
    }

    /// Reads `START..END` (RFC 3339 both), the form a retrain request stores.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (start, end) = text
            .split_once("..")
            .ok_or_else(|| format!("a training window is START..END, not `{text}`"))?;
        RetrainWindow::new(parse_rfc3339(start)?, parse_rfc3339(end)?)
    }

    pub fn start_utc(&self) -> String {
        rfc3339(self.start)
    }

    pub fn end_utc(&self) -> String {
        rfc3339(self.end)
    }

    /// Whether `[start, end)` overlaps this window.
    pub fn overlaps(&self, start: i64, end: i64) -> bool {
        start < self.end && end > self.start
    }

    pub fn contains(&self, ts: i64) -> bool {
        ts >= self.start && ts < self.end
    }
}

impl fmt::Display for RetrainWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start_utc(), self.end_utc())
    }
}

/// The span of log time an incident taints until its data are reviewed: from its start to
/// [`POST_INCIDENT_DAYS`] after its end. The data during the incident are part of it: if the
/// days after an attack may hide the attacker, the days of the attack do too.
pub fn tainted_span(incident: &IncidentRecord) -> Option<(i64, i64)> {
    let ended = incident.ended_ts?;
    Some((
        incident.started_ts,
        ended.saturating_add(POST_INCIDENT_DAYS * DAY_MICROS),
    ))
}

/// One reason a retrain may not run, with what causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetrainRefusal {
    ActiveIncidentOpen {
        incident: i64,
        title: String,
    },
    PostIncidentWindow {
        incident: i64,
        title: String,
        tainted_until: i64,
    },
    UnreviewedAnomalyCluster {
        alerts: Vec<i64>,
    },
}

impl RetrainRefusal {
    /// The policy condition's name.
    pub fn condition(&self) -> &'static str {
        match self {
            RetrainRefusal::ActiveIncidentOpen { .. } => "active_incident_open",
            RetrainRefusal::PostIncidentWindow { .. } => "post_incident_window",
            RetrainRefusal::UnreviewedAnomalyCluster { .. } => "unreviewed_anomaly_cluster",
        }
    }
}

impl fmt::Display for RetrainRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetrainRefusal::ActiveIncidentOpen { incident, title } => write!(
                f,
                "active_incident_open: incident {incident} ({title}) is open; close it first (`otsentry incident close {incident}`)"
            ),
            RetrainRefusal::PostIncidentWindow {
                incident,
                title,
                tainted_until,
            } => write!(
                f,
                "post_incident_window: the window holds data from incident {incident} ({title}) or the {POST_INCIDENT_DAYS} days after it (until {}) and nobody recorded a manual review of them (`otsentry incident review {incident}`)",
                rfc3339(*tainted_until)
            ),
            RetrainRefusal::UnreviewedAnomalyCluster { alerts } => {
                let named: Vec<String> = alerts
                    .iter()
                    .take(NAMED_ALERTS)
                    .map(ToString::to_string)
                    .collect();
                let more = alerts.len().saturating_sub(NAMED_ALERTS);
                write!(
                    f,
                    "unreviewed_anomaly_cluster: {} open alert(s) in the window nobody has decided: {}{}",
                    alerts.len(),
                    named.join(", "),
                    if more > 0 {
                        format!(" and {more} more")
                    } else {
                        String::new()
                    }
                )
            }
        }
    }
}

/// Every prohibited condition the policy lists that holds for a run on `window`.
pub fn retrain_blockers(
    policy: &RetrainingPolicy,
    window: RetrainWindow,
    incidents: &[IncidentRecord],
    alerts_in_window: &[AlertRecord],
) -> Vec<RetrainRefusal> {
    let listed = |blocker: RetrainBlocker| {
        policy
            .prohibited_conditions
            .iter()
            .any(|condition| condition.blocker == blocker)
    };
    let mut refusals = Vec::new();
    if listed(RetrainBlocker::ActiveIncidentOpen) {
        for incident in incidents.iter().filter(|incident| incident.is_open()) {
            refusals.push(RetrainRefusal::ActiveIncidentOpen {
                incident: incident.id,
                title: incident.title.clone(),
            });
        }
    }
    if listed(RetrainBlocker::PostIncidentWindow) {
        for incident in incidents {
            if incident.data_reviewed_by.is_some() {
                continue;
            }
            if let Some((from, until)) = tainted_span(incident)
                && window.overlaps(from, until)
            {
                refusals.push(RetrainRefusal::PostIncidentWindow {
                    incident: incident.id,
                    title: incident.title.clone(),
                    tainted_until: until,
                });
            }
        }
    }
    if listed(RetrainBlocker::UnreviewedAnomalyCluster) {
        let alerts: Vec<i64> = alerts_in_window
            .iter()
            .filter(|alert| alert.status == AlertStatus::Open && window.contains(alert.alert.ts))
            .map(|alert| alert.id)
            .collect();
        if !alerts.is_empty() {
            refusals.push(RetrainRefusal::UnreviewedAnomalyCluster { alerts });
        }
    }
    refusals
}

/// The incidents whose activity or tainted span overlaps the window (the provenance the policy's
/// `log_incidents_in_window` asks for), reviewed or not.
pub fn incidents_in_window(window: RetrainWindow, incidents: &[IncidentRecord]) -> Vec<i64> {
    incidents
        .iter()
        .filter(|incident| {
            let (from, until) = tainted_span(incident).unwrap_or((incident.started_ts, i64::MAX));
            window.overlaps(from, until)
        })
        .map(|incident| incident.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::governance::parse_policy;
    use crate::governance::policy::PolicyKind;

    fn policy() -> RetrainingPolicy {
        let text = include_str!("../../policies/retraining_policy.yaml");
        match parse_policy(text, "retraining_policy.yaml").unwrap().kind {
            PolicyKind::Retraining(policy) => policy,
            PolicyKind::AiGovernance(_) => unreachable!("the file is a retraining policy"),
        }
    }

    fn incident(id: i64, started: i64, ended: Option<i64>, reviewed: bool) -> IncidentRecord {
        IncidentRecord {
            id,
            title: format!("incident {id}"),
            status: if ended.is_some() { "closed" } else { "open" }.into(),
            started_ts: started,
            ended_ts: ended,
            alerts: vec![],
            opened_by: "human:sam".into(),
            opened_at: 0,
            closed_by: ended.map(|_| "human:sam".into()),
            closed_at: ended,
            closure_note: None,
            data_reviewed_by: reviewed.then(|| "human:sam".into()),
            data_reviewed_at: None,
            data_review_note: None,
            canary: None,
        }
    }

    fn check(incidents: &[IncidentRecord], expected: &[&str]) {
        let window = RetrainWindow::new(100 * DAY_MICROS, 115 * DAY_MICROS).unwrap();
        let found: Vec<&str> = retrain_blockers(&policy(), window, incidents, &[])
            .iter()
            .map(RetrainRefusal::condition)
            .collect();
        assert_eq!(found, expected, "{incidents:?}");
    }

    #[test]
    fn incidents_block_while_open_and_for_thirty_days_after_unless_reviewed() {
        check(&[], &[]);
        check(&[incident(1, 0, None, false)], &["active_incident_open"]);
        // Ended 75 days in: tainted until day 105, inside the window.
        check(
            &[incident(1, 70 * DAY_MICROS, Some(75 * DAY_MICROS), false)],
            &["post_incident_window"],
        );
        check(
            &[incident(1, 70 * DAY_MICROS, Some(75 * DAY_MICROS), true)],
            &[],
        );
        // Ended 69 days in: tainted until day 99, before the window.
        check(
            &[incident(1, 60 * DAY_MICROS, Some(69 * DAY_MICROS), false)],
            &[],
        );
        // During the window.
        check(
            &[incident(2, 110 * DAY_MICROS, Some(111 * DAY_MICROS), false)],
            &["post_incident_window"],
        );
        // After the window.
        check(
            &[incident(2, 116 * DAY_MICROS, Some(117 * DAY_MICROS), false)],
            &[],
        );
    }

    #[test]
    fn windows_read_back_and_refuse_nonsense() {
        let window = RetrainWindow::parse("2026-11-02T00:00:00Z..2026-11-17T00:00:00Z").unwrap();
        assert_eq!(RetrainWindow::parse(&window.to_string()).unwrap(), window);
        for bad in [
            "",
            "2026-11-02T00:00:00Z",
            "2026-11-17T00:00:00Z..2026-11-02T00:00:00Z",
            "yesterday..today",
        ] {
            assert!(RetrainWindow::parse(bad).is_err(), "{bad}");
        }
    }
}
