//! The new-communication detector: a source, destination or edge never seen in training, and a
//! host that only ever answered now originating (a field device used as a pivot). A function
//! never used on a known edge is the function-code detector's (`function_code`).
//!
//! It reads the training vocabulary of the record's schema (counts are frozen at training) and
//! the hosts' roles. A record gives at most one finding, under its strongest rule; every other
//! novelty of the record is a reason of that finding. The rule and its subject decide grouping:
//! a new source is grouped by the source alone (a scan is one alert), a new edge by both ends.

use super::attack::ids;
use super::roles::Roles;
use super::{Detector, Finding, Observation, Reason, Seen, Severity, Subject};
use crate::features::EventKind;
use crate::features::vocab::count;

/// The detector's name in findings and metrics.
pub const NAME: &str = "novelty";

/// Connection states that mean the responder refused or never answered: probing.
const PROBE_STATES: &[&str] = &["REJ", "S0", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR"];

/// The new-communication detector.
#[derive(Debug)]
pub struct NoveltyDetector {
    roles: std::sync::Arc<Roles>,
}

impl NoveltyDetector {
    pub fn new(roles: std::sync::Arc<Roles>) -> NoveltyDetector {
        NoveltyDetector { roles }
    }
}

/// The rules, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    NewSource,
    RoleReversal,
    NewDestination,
    NewEdge,
}

impl Rule {
    fn id(self) -> &'static str {
        match self {
            Rule::NewSource => "new_source",
            Rule::RoleReversal => "role_reversal",
            Rule::NewDestination => "new_destination",
            Rule::NewEdge => "new_edge",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Rule::NewSource => "Host never seen originating traffic in training",
            Rule::RoleReversal => {
                "Field device originating sessions (only ever answered in training)"
            }
            Rule::NewDestination => "Host never seen answering in training",
            Rule::NewEdge => "Communication never seen in training",
        }
    }
}

impl Detector for NoveltyDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, observation: &Observation<'_>, findings: &mut Vec<Finding>) {
        let event = observation.event;
        let vocab = observation.vocab;
        let raw = observation.raw;
        let (src, dst) = (event.edge.orig_h, event.edge.resp_h);
        let new_source = !self.roles.originated(src);
        let new_destination = !self.roles.answered(dst);
        let new_edge = count(&vocab.edge_counts, raw.edge) == 0;
        let new_pair = count(&vocab.pair_counts, raw.pair) == 0;
        let role = self.roles.get(src);
        let reversal = role.is_some_and(|role| role.is_polled_only());

        let (function, is_write, conn_state) = match &event.kind {
            EventKind::Request(request) => (Some(request.function), request.is_write, None),
            EventKind::Conn(conn) => (None, false, Some(conn.conn_state)),
            // Value records have no schema and never reach an event detector's `observe`.
            EventKind::Values(_) | EventKind::Control(_) => return,
        };
        // A host that only ever answered has, by definition, never originated: its first session
        // is a role reversal (a field device used as a pivot), which says more than "new source".
        let rule = if reversal {
            Rule::RoleReversal
        } else if new_source {
            Rule::NewSource
        } else if new_destination {
            Rule::NewDestination
        } else if new_edge {
            Rule::NewEdge
        } else {
            return;
        };

        let edge_text = edge_text(event, function);
        let mut reasons = Vec::new();
        if new_source && !reversal {
            reasons.push(Reason::new(
                format!("new source {src}"),
                "never originated a connection or request in training",
            ));
        }
        if reversal {
            reasons.push(Reason::new(
                format!("{src} originated {edge_text}"),
                format!("{src} {}", self.roles.describe(src)),
            ));
        }
        if new_destination {
            reasons.push(Reason::new(
                format!("new destination {dst}"),
                "never answered a connection or request in training",
            ));
        }
        if new_edge {
            let kind = if is_write { " (a write)" } else { "" };
            reasons.push(Reason::new(
                format!("new edge {edge_text}{kind}"),
                "never seen in training",
            ));
        }
        if let Some(state) = conn_state
            && PROBE_STATES.contains(&state)
        {
            reasons.push(Reason::new(
                format!("connection state {state} (refused or unanswered)"),
                "probing of an OT asset leaves these states",
            ));
        } else if new_pair
            && let Some(state) = conn_state
            && !state.is_empty()
        {
            reasons.push(Reason::new(
                format!("connection state {state}"),
                "never seen on this edge in training",
            ));
        }
        if !reversal && rule != Rule::NewSource {
            // The roles of both ends are context an analyst needs.
            reasons.push(Reason::new(
                format!("source {src}"),
                self.roles.describe(src),
            ));
        }
        if self.roles.is_ot_asset(dst) && rule != Rule::NewDestination {
            reasons.push(Reason::new(
                format!("destination {dst}"),
                self.roles.describe(dst),
            ));
        }

        let probe = conn_state.is_some_and(|state| PROBE_STATES.contains(&state));
        let severity = severity(rule, event.ot, is_write, probe);
        let techniques = techniques(rule, event.ot, function, is_write, probe);
        let subject = match rule {
            Rule::NewSource => Subject {
                src: Some(src),
                dst: None,
            },
            Rule::NewDestination => Subject {
                src: None,
                dst: Some(dst),
            },
            _ => Subject {
                src: Some(src),
                dst: Some(dst),
            },
        };
        findings.push(Finding {
            detector: NAME,
            rule: rule.id(),
            title: rule.title(),
            severity,
            subject,
            reasons,
            techniques: techniques.to_vec(),
            seen: Seen::of(event, observation.schema),
            scores: None,
        });
    }
}

/// `10.0.0.5 -> 10.0.0.6:445/tcp smb` (with the function for protocol records).
fn edge_text(event: &crate::features::FlowEvent<'_>, function: Option<&str>) -> String {
    let edge = &event.edge;
    let base = format!(
        "{} -> {}:{}/{} {}",
        edge.orig_h,
        edge.resp_h,
        edge.resp_p,
        edge.proto.as_str(),
        edge.service
    );
    match function {
        Some(function) => format!("{base} {function}"),
        None => base,
    }
}

/// Severity from what was found: a never-seen host writing to a field device is critical; a new
/// read on a known edge is medium.
fn severity(rule: Rule, ot: bool, is_write: bool, probe: bool) -> Severity {
    match rule {
        Rule::NewSource if is_write => Severity::Critical,
        Rule::NewSource if ot => Severity::High,
        Rule::NewSource => Severity::Medium,
        Rule::RoleReversal if is_write => Severity::Critical,
        Rule::RoleReversal => Severity::High,
        Rule::NewDestination | Rule::NewEdge if is_write => Severity::High,
        Rule::NewDestination | Rule::NewEdge if ot && !probe => Severity::High,
        Rule::NewDestination | Rule::NewEdge => Severity::Medium,
    }
}

/// The techniques a finding suggests, by what it is.
fn techniques(
    rule: Rule,
    ot: bool,
    function: Option<&str>,
    is_write: bool,
    probe: bool,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if probe {
        out.push(ids::REMOTE_SYSTEM_DISCOVERY);
    }
    match rule {
        Rule::NewSource if ot => out.push(ids::ROGUE_MASTER),
        Rule::NewSource => out.push(ids::REMOTE_SERVICES),
        Rule::RoleReversal if ot => out.push(ids::ROGUE_MASTER),
        Rule::RoleReversal => {
            out.push(ids::REMOTE_SERVICES);
            out.push(ids::CONNECTION_PROXY);
        }
        Rule::NewDestination | Rule::NewEdge if !ot => out.push(ids::REMOTE_SERVICES),
        Rule::NewDestination | Rule::NewEdge => {}
    }
    if is_write {
        let upper = function.unwrap_or("").to_ascii_uppercase();
        if upper.contains("RESTART") || upper.starts_with("STOP") || upper.contains("RESET") {
            out.push(ids::DEVICE_RESTART);
        } else if upper.contains("DOWNLOAD") || upper.contains("FILE") {
            out.push(ids::PROGRAM_DOWNLOAD);
        } else {
            out.push(ids::UNAUTHORIZED_COMMAND);
        }
    }
    out.dedup();
    out
}
