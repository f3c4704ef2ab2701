//! Conduits (IEC 62443-3-2): the allowed flows between two zones, and the verdict on one flow.
//!
//! A flow is judged by its initiator (Zeek's `orig_h`) and responder: same zone, allowed by a
//! named conduit, or refused with the reason an analyst needs (no conduit at all, a one-way
//! conduit used backwards, or a conduit that exists but not for this port and service).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::model::Inventory;
use crate::features::Proto;

/// Which side may open connections through a conduit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowDirection {
    /// Only hosts of `from` start connections to `to`.
    OneWay,
    /// Hosts of either zone may start connections to the other.
    Both,
}

impl FlowDirection {
    pub fn parse(text: &str) -> Result<FlowDirection, String> {
        match text.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "one_way" => Ok(FlowDirection::OneWay),
            "both" => Ok(FlowDirection::Both),
            _ => Err(format!(
                "unknown direction `{text}`; expected one_way (from starts, to answers) or both"
            )),
        }
    }
}

/// One allowed service through a conduit. Every given part must match; a rule gives at least a
/// service or a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConduitRule {
    /// Zeek's service name (`modbus`, `dnp3`, `enip`, `rdp`); `None` matches any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `tcp` or `udp`; `None` matches either.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transport: Option<Proto>,
    /// Responder ports; empty matches any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<u16>,
}

impl ConduitRule {
    /// Whether a flow to `port` over `proto`, which Zeek identified as `service`, fits the rule.
    ///
    /// `service` is conn.log's value: empty when Zeek did not recognise the protocol, and possibly
    /// several names joined by commas. An unrecognised flow is judged on transport and port alone;
    /// a rule naming only a service then does not match, since nothing says it is that service.
    pub fn matches(&self, port: u16, proto: Proto, service: &str) -> bool {
        if self.transport.is_some_and(|transport| transport != proto) {
            return false;
        }
        if !self.ports.is_empty() && !self.ports.contains(&port) {
            return false;
        }
        match &self.service {
            None => true,
            Some(wanted) => {
                let named: Vec<&str> = service
                    .split(',')
                    .map(str::trim)
                    .filter(|name| !name.is_empty() && *name != "-")
                    .collect();
                if named.is_empty() {
                    !self.ports.is_empty()
                } else {
                    named.iter().any(|name| same_service(name, wanted))
                }
            }
        }
    }

    /// The rule in words: `modbus tcp/502`.
    pub fn describe(&self) -> String {
        let transport = self.transport.map_or("any", Proto::as_str);
        let ports = if self.ports.is_empty() {
            "any port".to_string()
        } else {
            let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
            format!("{transport}/{}", ports.join(","))
        };
        match &self.service {
            Some(service) => format!("{service} {ports}"),
            None => ports,
        }
    }
}

/// Whether Zeek's service name `name` is the service `wanted` a rule names: the same name, or
/// one of its transport variants (`dnp3` covers ICSNPP's `dnp3_tcp` and `dnp3_udp`).
fn same_service(name: &str, wanted: &str) -> bool {
    name.eq_ignore_ascii_case(wanted)
        || name
            .get(..wanted.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(wanted))
            && name[wanted.len()..].starts_with('_')
}

/// A conduit between two zones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conduit {
    pub name: String,
    pub from: String,
    pub to: String,
    pub direction: FlowDirection,
    pub allow: Vec<ConduitRule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Conduit {
    fn allows(&self, port: u16, proto: Proto, service: &str) -> bool {
        self.allow
            .iter()
            .any(|rule| rule.matches(port, proto, service))
    }
}

/// The inventory's verdict on one flow from `src` (the initiator) to `dst`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConduitVerdict<'a> {
    /// Both ends are in the same zone: conduits do not apply.
    SameZone { zone: &'a str },
    /// At least one end is in no zone: the inventory cannot judge the flow.
    Unzoned {
        src_zone: Option<&'a str>,
        dst_zone: Option<&'a str>,
    },
    /// A conduit allows the flow.
    Allowed { conduit: &'a Conduit },
    /// No conduit joins the two zones in any direction.
    NoConduit { from: &'a str, to: &'a str },
    /// Only one-way conduits from `dst`'s zone to `src`'s zone exist: the responder's side should
    /// have started the connection.
    WrongDirection { conduit: &'a Conduit },
    /// A conduit joins the zones in this direction, but none allows this port and service.
    PortNotAllowed { conduit: &'a Conduit },
}

impl ConduitVerdict<'_> {
    /// Whether the flow is one the conduits refuse (an inter-zone flow they do not allow).
    pub fn is_violation(&self) -> bool {
        matches!(
            self,
            ConduitVerdict::NoConduit { .. }
                | ConduitVerdict::WrongDirection { .. }
                | ConduitVerdict::PortNotAllowed { .. }
        )
    }

    /// The verdict in plain words, for an alert's reasons.
    pub fn describe(&self) -> String {
        match self {
            ConduitVerdict::SameZone { zone } => format!("both ends are in zone {zone}"),
            ConduitVerdict::Unzoned { src_zone, dst_zone } => format!(
                "no zone holds the {} address, so no conduit applies",
                match (src_zone, dst_zone) {
                    (None, None) => "source or destination",
                    (None, Some(_)) => "source",
                    _ => "destination",
                }
            ),
            ConduitVerdict::Allowed { conduit } => format!(
                "allowed by conduit {} ({} to {})",
                conduit.name, conduit.from, conduit.to
            ),
            ConduitVerdict::NoConduit { from, to } => {
                format!("no conduit joins zone {from} and zone {to}")
            }
            ConduitVerdict::WrongDirection { conduit } => format!(
                "conduit {} is one-way from {} to {}; this flow starts in {}",
                conduit.name, conduit.from, conduit.to, conduit.to
            ),
            ConduitVerdict::PortNotAllowed { conduit } => {
                let allowed: Vec<String> =
                    conduit.allow.iter().map(ConduitRule::describe).collect();
                format!(
                    "conduit {} ({} to {}) allows only {}",
                    conduit.name,
                    conduit.from,
                    conduit.to,
                    allowed.join("; ")
                )
            }
        }
    }
}

impl Inventory {
    /// Judges a flow started by `src` to `dst` on responder port `port` over `proto`, which Zeek
    /// identified as `service` (empty when it did not).
    pub fn conduit_allows(
        &self,
        src: IpAddr,
        dst: IpAddr,
        port: u16,
        proto: Proto,
        service: &str,
    ) -> ConduitVerdict<'_> {
        let (src_zone, dst_zone) = (self.zone_index_of(src), self.zone_index_of(dst));
        let name = |idx: usize| self.zones[idx].name.as_str();
        let (Some(from), Some(to)) = (src_zone, dst_zone) else {
            return ConduitVerdict::Unzoned {
                src_zone: src_zone.map(name),
                dst_zone: dst_zone.map(name),
            };
        };
        if from == to {
            return ConduitVerdict::SameZone { zone: name(from) };
        }
        let forward = self.conduits_from_to(from, to);
        let backward_both = self
            .conduits_from_to(to, from)
            .filter(|conduit| conduit.direction == FlowDirection::Both);
        let usable: Vec<&super::Conduit> = forward.chain(backward_both).collect();
        if let Some(conduit) = usable
            .iter()
            .find(|conduit| conduit.allows(port, proto, service))
        {
            return ConduitVerdict::Allowed { conduit };
        }
        if let Some(conduit) = usable.first() {
            return ConduitVerdict::PortNotAllowed { conduit };
        }
        match self.conduits_from_to(to, from).next() {
            Some(conduit) => ConduitVerdict::WrongDirection { conduit },
            None => ConduitVerdict::NoConduit {
                from: name(from),
                to: name(to),
            },
        }
    }
}
