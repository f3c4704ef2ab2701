//! The conduit detector (IEC 62443-3-3 FR5, restricted data flow): a flow between two zones of the
//! asset inventory that no conduit allows, that runs against a one-way conduit, or that uses a port
//! or service its conduit does not list.
//!
//! It needs no training: the inventory says how the plant should be, so the first record of a
//! violating flow is reported, whatever training saw (a violation learnt as normal is still a
//! violation). A flow is reported once, then again at most every [`REPEAT_SECS`] of log time
//! while it goes on, so a standing violation is one alert a day, not one per record.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::attack::ids;
use super::{Detector, Finding, Observation, Reason, Seen, Severity, Subject};
use crate::features::{EventKind, Proto};
use crate::inventory::{ConduitVerdict, Inventory};

/// The detector's name in findings and metrics.
pub const NAME: &str = "conduit";

/// A violating flow is reported again at most this often (log time): a standing violation is
/// one alert a day.
pub const REPEAT_SECS: f64 = 86_400.0;

/// A flow as the conduit rules see it: initiator, responder, port, transport.
type FlowKey = (IpAddr, IpAddr, u16, Proto);

/// The conduit detector over one inventory.
#[derive(Debug)]
pub struct ConduitDetector {
    inventory: Arc<Inventory>,
    /// Log time of each violating flow's last report.
    reported: HashMap<FlowKey, f64>,
}

impl ConduitDetector {
    pub fn new(inventory: Arc<Inventory>) -> ConduitDetector {
        ConduitDetector {
            inventory,
            reported: HashMap::new(),
        }
    }
}

/// The rule of a violating verdict.
fn rule_of(verdict: &ConduitVerdict<'_>) -> Option<(&'static str, &'static str)> {
    Some(match verdict {
        ConduitVerdict::NoConduit { .. } => {
            ("no_conduit", "Flow between zones that no conduit joins")
        }
        ConduitVerdict::WrongDirection { .. } => (
            "wrong_direction",
            "Flow against the direction of a one-way conduit",
        ),
        ConduitVerdict::PortNotAllowed { .. } => (
            "port_not_allowed",
            "Flow on a port or service its conduit does not allow",
        ),
        _ => return None,
    })
}

impl Detector for ConduitDetector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn observe(&mut self, observation: &Observation<'_>, findings: &mut Vec<Finding>) {
        let event = observation.event;
        let edge = &event.edge;
        // A protocol log names its own protocol (`cip` for CIP over EtherNet/IP), not the
        // connection's service; its flow is judged by port and transport, as conn.log judges
        // the same flow by its service too.
        let service = match &event.kind {
            EventKind::Conn(_) if edge.service != "-" => edge.service,
            _ => "",
        };
        let verdict = self.inventory.conduit_allows(
            edge.orig_h,
            edge.resp_h,
            edge.resp_p,
            edge.proto,
            service,
        );
        let Some((rule, title)) = rule_of(&verdict) else {
            return;
        };
        let key = (edge.orig_h, edge.resp_h, edge.resp_p, edge.proto);
        if let Some(last) = self.reported.get(&key)
            && event.ts >= *last
            && event.ts - last < REPEAT_SECS
        {
            return;
        }
        self.reported.insert(key, event.ts);
        let zone = |ip| {
            self.inventory
                .zone_of(ip)
                .map_or("no zone", |zone| zone.name.as_str())
        };
        let (src_zone, dst_zone) = (zone(edge.orig_h), zone(edge.resp_h));
        let is_write = matches!(&event.kind, EventKind::Request(request) if request.is_write);
        let critical_target = self
            .inventory
            .zone_of(edge.resp_h)
            .is_some_and(|zone| zone.security_level_target >= 3);
        let severity = if is_write || (critical_target && event.ot) {
            Severity::Critical
        } else {
            Severity::High
        };
        let mut techniques = vec![if event.ot {
            ids::ROGUE_MASTER
        } else {
            ids::REMOTE_SERVICES
        }];
        if is_write {
            techniques.push(ids::UNAUTHORIZED_COMMAND);
        }
        let service_text = if service.is_empty() { "-" } else { service };
        findings.push(Finding {
            detector: NAME,
            rule,
            title,
            severity,
            subject: Subject {
                src: Some(edge.orig_h),
                dst: Some(edge.resp_h),
            },
            reasons: vec![Reason::new(
                format!(
                    "{} (zone {src_zone}) -> {}:{}/{} {service_text} (zone {dst_zone})",
                    edge.orig_h,
                    edge.resp_h,
                    edge.resp_p,
                    edge.proto.as_str()
                ),
                format!("inventory: {}", verdict.describe()),
            )],
            techniques: techniques.to_vec(),
            seen: Seen::of(event, observation.schema),
            scores: None,
        });
    }

    fn checkpoint(&self) -> serde_json::Value {
        let mut reported: Vec<ReportedFlow> = self
            .reported
            .iter()
            .map(|(&(src, dst, port, proto), &ts)| ReportedFlow {
                src,
                dst,
                port,
                proto,
                ts,
            })
            .collect();
        reported.sort_by_key(|flow| (flow.src, flow.dst, flow.port, flow.proto));
        serde_json::to_value(reported).unwrap_or(serde_json::Value::Null)
    }

    fn restore(&mut self, state: serde_json::Value) -> Result<(), String> {
        if state.is_null() {
            return Ok(());
        }
        let reported: Vec<ReportedFlow> = serde_json::from_value(state)
            .map_err(|error| format!("the conduit state is not valid: {error}"))?;
        self.reported = reported
            .into_iter()
            .map(|flow| ((flow.src, flow.dst, flow.port, flow.proto), flow.ts))
            .collect();
        Ok(())
    }
}

/// One reported flow in a checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct ReportedFlow {
    src: IpAddr,
    dst: IpAddr,
    port: u16,
    proto: Proto,
    ts: f64,
}

#[cfg(test)]
mod tests;
