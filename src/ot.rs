//! Selecting OT traffic: a pipeline step over the records the reader yields, never a filter in
//! the reader itself (non-OT lines whose endpoints are OT assets matter to the detectors).
//!
//! A conn.log record is OT when its `service` set names an OT protocol (in any order:
//! `cotp,s7comm` and `s7comm,cotp` alike) or, because older sensors leave `service` unset for
//! OT traffic, when its responder port is a well-known OT port. Every line of an ICSNPP or Zeek
//! protocol log (modbus, dnp3, enip, cip, s7comm, bacnet, ...) is OT by definition. The lists
//! are configurable; [`OtConfig::check`] turns a configuration into an [`OtSelector`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// OT services Zeek and the ICSNPP parsers put in conn.log `service`.
pub const DEFAULT_SERVICES: &[&str] = &[
    "modbus",
    "dnp3",
    "dnp3_tcp",
    "dnp3_udp",
    "enip",
    "cip",
    "s7comm",
    "s7comm-plus",
    "bacnet",
];

/// Well-known OT responder ports: Modbus/TCP 502, DNP3 20000, EtherNet/IP 44818 (explicit) and
/// 2222 (implicit I/O), S7/ISO-TSAP 102, BACnet/IP 47808.
pub const DEFAULT_PORTS: &[u16] = &[502, 20000, 44818, 2222, 102, 47808];

/// Log paths whose every line is OT traffic (matched as a prefix: `modbus` covers
/// `modbus_detailed` and `modbus_read_write_multiple_registers`).
pub const DEFAULT_PROTOCOL_LOGS: &[&str] = &[
    "modbus",
    "dnp3",
    "enip",
    "cip",
    "s7comm",
    "cotp",
    "bacnet",
    "known_modbus",
];

/// The OT selection as configured (for example from a YAML file), before checking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtConfig {
    /// conn.log services that mark a connection as OT.
    pub services: Vec<String>,
    /// Responder ports that mark a connection as OT when `service` names none of the above.
    pub ports: Vec<u16>,
    /// Log paths (prefixes) whose every line is OT.
    pub protocol_logs: Vec<String>,
}

impl Default for OtConfig {
    fn default() -> OtConfig {
        OtConfig {
            services: DEFAULT_SERVICES
                .iter()
                .map(|service| (*service).to_owned())
                .collect(),
            ports: DEFAULT_PORTS.to_vec(),
            protocol_logs: DEFAULT_PROTOCOL_LOGS
                .iter()
                .map(|path| (*path).to_owned())
                .collect(),
        }
    }
}

/// Why a configuration can't be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OtConfigError {
    #[error("OT service names must not be empty")]
    EmptyService,
    #[error("OT port 0 is not a port")]
    ZeroPort,
    #[error("OT protocol log names must not be empty")]
    EmptyProtocolLog,
    #[error("the OT selection matches nothing: give at least one service, port or protocol log")]
    SelectsNothing,
}

impl OtConfig {
    /// Validates the configuration: names non-empty (compared case-insensitively), ports
    /// non-zero, and at least one way to match.
    pub fn check(&self) -> Result<OtSelector, OtConfigError> {
        let mut services = BTreeSet::new();
        for service in &self.services {
            let service = service.trim().to_ascii_lowercase();
            if service.is_empty() {
                return Err(OtConfigError::EmptyService);
            }
            services.insert(service);
        }
        if self.ports.contains(&0) {
            return Err(OtConfigError::ZeroPort);
        }
        let mut protocol_logs = BTreeSet::new();
        for path in &self.protocol_logs {
            let path = path.trim().to_ascii_lowercase();
            if path.is_empty() {
                return Err(OtConfigError::EmptyProtocolLog);
            }
            protocol_logs.insert(path);
        }
        if services.is_empty() && self.ports.is_empty() && protocol_logs.is_empty() {
            return Err(OtConfigError::SelectsNothing);
        }
        Ok(OtSelector {
            services: services.into_iter().collect(),
            ports: self.ports.iter().copied().collect(),
            protocol_logs,
        })
    }
}

/// Why a record was selected as OT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum OtReason {
    /// conn.log `service` named this OT protocol.
    Service(String),
    /// `service` named no OT protocol, but the responder port is this OT port.
    Port(u16),
    /// The record comes from this OT protocol log.
    ProtocolLog(String),
}

impl std::fmt::Display for OtReason {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OtReason::Service(service) => write!(formatter, "service {service}"),
            OtReason::Port(port) => write!(formatter, "port {port}"),
            OtReason::ProtocolLog(path) => write!(formatter, "{path}.log"),
        }
    }
}

/// Why a conn.log record was selected, borrowing the service name from the selector: what the
/// per-record path uses, since it allocates nothing ([`ConnMatch::to_reason`] gives the owned
/// [`OtReason`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnMatch<'a> {
    /// conn.log `service` named this OT protocol (as the selector spells it: lower case).
    Service(&'a str),
    /// `service` named no OT protocol, but the responder port is this OT port.
    Port(u16),
}

impl ConnMatch<'_> {
    pub fn to_reason(self) -> OtReason {
        match self {
            ConnMatch::Service(service) => OtReason::Service(service.to_owned()),
            ConnMatch::Port(port) => OtReason::Port(port),
        }
    }
}

/// A checked OT selection. Its methods are pure functions of their arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtSelector {
    /// Sorted and distinct, lower case; a vector because every conn.log record scans it.
    services: Vec<String>,
    ports: BTreeSet<u16>,
    protocol_logs: BTreeSet<String>,
}

impl Default for OtSelector {
    fn default() -> OtSelector {
        OtSelector {
            services: DEFAULT_SERVICES
                .iter()
                .map(|service| (*service).to_owned())
                .collect::<BTreeSet<String>>()
                .into_iter()
                .collect(),
            ports: DEFAULT_PORTS.iter().copied().collect(),
            protocol_logs: DEFAULT_PROTOCOL_LOGS
                .iter()
                .map(|path| (*path).to_owned())
                .collect(),
        }
    }
}

impl OtSelector {
    /// The first OT service among `services` (a conn.log `service` set, in any order).
    pub fn ot_service<'s, I, S>(&self, services: I) -> Option<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str> + 's,
    {
        self.ot_service_name(services).map(str::to_owned)
    }

    /// Like [`OtSelector::ot_service`], but borrows the name from the selector: no allocation.
    pub fn ot_service_name<'s, I, S>(&self, services: I) -> Option<&str>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str> + 's,
    {
        // The configured names are lower case (see `OtConfig::check`), so an ASCII
        // case-insensitive comparison equals lowering the record's name first, without a new
        // string. The list holds a handful of names: a scan of it costs less than a tree search.
        services.into_iter().find_map(|service| {
            let service = service.as_ref();
            self.services
                .iter()
                .find(|known| known.eq_ignore_ascii_case(service))
                .map(String::as_str)
        })
    }

    /// True when an edge (its conn.log service as the features name it, and its responder port)
    /// is OT traffic.
    pub fn is_ot_edge(&self, service: &str, resp_p: u16) -> bool {
        self.match_conn(service.split(','), resp_p).is_some()
    }

    /// The selection as a configuration, to be recorded in a model and checked again at load.
    pub fn config(&self) -> OtConfig {
        OtConfig {
            services: self.services.clone(),
            ports: self.ports.iter().copied().collect(),
            protocol_logs: self.protocol_logs.iter().cloned().collect(),
        }
    }

    /// True when `port` is one of the OT ports.
    pub fn is_ot_port(&self, port: u16) -> bool {
        self.ports.contains(&port)
    }

    /// The protocol-log prefix `log_path` falls under, if it is an OT protocol log.
    pub fn protocol_log(&self, log_path: &str) -> Option<&str> {
        let log_path = log_path.to_ascii_lowercase();
        self.protocol_logs
            .iter()
            .find(|prefix| log_path.starts_with(prefix.as_str()))
            .map(String::as_str)
    }

    /// Classifies a conn.log record: by service first, then by responder port.
    pub fn classify_conn<'s, I, S>(&self, services: I, resp_p: u16) -> Option<OtReason>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str> + 's,
    {
        self.match_conn(services, resp_p).map(ConnMatch::to_reason)
    }

    /// [`OtSelector::classify_conn`] without allocating: the per-record form.
    pub fn match_conn<'s, I, S>(&self, services: I, resp_p: u16) -> Option<ConnMatch<'_>>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str> + 's,
    {
        if let Some(service) = self.ot_service_name(services) {
            return Some(ConnMatch::Service(service));
        }
        self.is_ot_port(resp_p).then_some(ConnMatch::Port(resp_p))
    }

    /// Classifies a record of any log: protocol logs are OT; conn.log goes by service and port;
    /// other logs with a responder port (weird, notice, dns, ...) go by port.
    pub fn classify<'s, I, S>(
        &self,
        log_path: &str,
        services: I,
        resp_p: Option<u16>,
    ) -> Option<OtReason>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str> + 's,
    {
        if let Some(prefix) = self.protocol_log(log_path) {
            return Some(OtReason::ProtocolLog(prefix.to_owned()));
        }
        match resp_p {
            Some(port) => self.classify_conn(services, port),
            None => self.ot_service(services).map(OtReason::Service),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(log_path: &str, services: &[&str], resp_p: Option<u16>, expected: Option<OtReason>) {
        let selector = OtSelector::default();
        assert_eq!(
            selector.classify(log_path, services.iter().copied(), resp_p),
            expected,
            "{log_path} {services:?} {resp_p:?}"
        );
    }

    #[test]
    fn selects_by_service_in_any_order_then_by_port() {
        check(
            "conn",
            &["modbus"],
            Some(502),
            Some(OtReason::Service("modbus".into())),
        );
        check(
            "conn",
            &["cotp", "s7comm"],
            Some(102),
            Some(OtReason::Service("s7comm".into())),
        );
        check(
            "conn",
            &["s7comm-plus", "cotp"],
            Some(102),
            Some(OtReason::Service("s7comm-plus".into())),
        );
        check(
            "conn",
            &["DNP3_TCP"],
            Some(20000),
            Some(OtReason::Service("dnp3_tcp".into())),
        );
        check("conn", &[], Some(102), Some(OtReason::Port(102)));
        check("conn", &[], Some(47808), Some(OtReason::Port(47808)));
        check("conn", &["dns"], Some(53), None);
        check("conn", &[], Some(445), None);
        check("conn", &["ssl"], Some(502), Some(OtReason::Port(502)));
    }

    #[test]
    fn the_borrowing_match_agrees_with_the_owned_reason() {
        let selector = OtSelector::default();
        let cases: [(&[&str], u16); 6] = [
            (&["modbus"], 502),
            (&["cotp", "S7Comm"], 102),
            (&["ssl"], 502),
            (&["dns"], 53),
            (&[], 20000),
            (&["MODBUS", "dnp3"], 1),
        ];
        for (services, port) in cases {
            let matched = selector.match_conn(services.iter().copied(), port);
            assert_eq!(
                matched.map(ConnMatch::to_reason),
                selector.classify_conn(services.iter().copied(), port),
                "{services:?} {port}"
            );
        }
        assert_eq!(
            selector.match_conn(["cotp", "S7Comm"], 102),
            Some(ConnMatch::Service("s7comm"))
        );
    }

    #[test]
    fn protocol_logs_are_ot_whatever_their_ports() {
        check(
            "modbus_detailed",
            &[],
            Some(5020),
            Some(OtReason::ProtocolLog("modbus".into())),
        );
        check(
            "cip_io",
            &[],
            None,
            Some(OtReason::ProtocolLog("cip".into())),
        );
        check("dns", &[], Some(53), None);
        check("weird", &[], Some(502), Some(OtReason::Port(502)));
    }

    #[test]
    fn configuration_is_checked_and_configurable() {
        let config = OtConfig {
            services: vec![" IEC104 ".into()],
            ports: vec![2404],
            protocol_logs: vec!["iec104".into()],
        };
        let selector = config.check().unwrap();
        assert_eq!(
            selector.classify_conn(["iec104"], 1),
            Some(OtReason::Service("iec104".into()))
        );
        assert_eq!(selector.classify_conn(["modbus"], 502), None);
        assert_eq!(
            selector.classify_conn(Vec::<&str>::new(), 2404),
            Some(OtReason::Port(2404))
        );
        let zero = OtConfig {
            ports: vec![0],
            ..OtConfig::default()
        };
        assert_eq!(zero.check(), Err(OtConfigError::ZeroPort));
        let nothing = OtConfig {
            services: vec![],
            ports: vec![],
            protocol_logs: vec![],
        };
        assert_eq!(nothing.check(), Err(OtConfigError::SelectsNothing));
        assert_eq!(OtConfig::default().check().unwrap(), OtSelector::default());
    }
}
