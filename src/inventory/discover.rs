//! Candidate inventories from traffic, and the differences between traffic and a written
//! inventory.
//!
//! Traffic shows the network as it is, not as it should be: a host that polls a PLC is a partner
//! by observation, not by approval, and a compromised host looks like any other. So discovery
//! proposes (a YAML file for an engineer to edit, every guess with its reasons in `notes`) and
//! compares (unknown hosts, silent assets, unexpected partners, flows outside conduits); it
//! never changes an inventory.
//!
//! Roles come from who serves and who polls which protocol: a host answering DNP3 is an RTU, one
//! answering Modbus or EtherNet/IP a PLC, one polling DNP3 outstations a SCADA server, one using
//! engineering functions (device identification, program download) an engineering workstation,
//! one writing an HMI, and a read-only poller a historian when it opens a new connection for
//! every few requests, an HMI when it keeps long sessions.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;

use super::model::{Asset, AssetType, Inventory};
use super::schedule::DAYS;
use crate::features::{EventKind, FlowEvent, Proto};
use crate::sources::{SourceOptions, SourceStats};

/// Reads the OT records of Zeek logs under `paths` into observations (the file source tags
/// every record; discovery learns roles from the OT ones).
///
/// This is the only place discovery touches the log reader.
pub fn read_traffic<P: AsRef<Path>>(
    paths: &[P],
    options: &SourceOptions,
) -> Result<(Observations, SourceStats), zeek::ZeekError> {
    let mut observations = Observations::default();
    let stats = crate::sources::walk(
        paths,
        options,
        |_| {},
        |event| {
            if event.ot {
                observations.observe(event);
            }
            Ok::<(), zeek::ZeekError>(())
        },
    )?;
    Ok((observations, stats))
}

/// A service a host answered: Zeek's service name, transport and port.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Service {
    pub service: String,
    pub transport: Proto,
    pub port: u16,
}

impl Service {
    fn describe(&self) -> String {
        format!("{} {}/{}", self.service, self.transport.as_str(), self.port)
    }
}

/// What traffic says about one host.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostTraffic {
    /// Services the host answered, with the hosts that used them.
    pub serves: BTreeMap<Service, BTreeSet<IpAddr>>,
    /// Services the host used on others, with the hosts it used them on.
    pub polls: BTreeMap<String, BTreeSet<IpAddr>>,
    /// Function names the host sent as a client, with how often.
    pub functions: BTreeMap<String, u64>,
    /// Connections (conn.log records) the host started.
    pub connections_started: u64,
    /// Requests (protocol-log lines) the host sent.
    pub requests_sent: u64,
    /// Every host it exchanged OT traffic with, either direction (an answered connection).
    pub partners: BTreeSet<IpAddr>,
    /// Hosts it tried to reach that never answered (Zeek `S0`, `SH`, `OTH`, `RSTOS0`).
    pub unanswered: BTreeSet<IpAddr>,
    /// Connections it started that the responder refused (`REJ`).
    pub refused: u64,
    /// Active hours of the week in UTC: bit `hour` of entry `day` (Monday = 0).
    pub hours: [u32; 7],
    pub first_ts: f64,
    pub last_ts: f64,
}

/// What a set of logs says about every host in its OT records.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Observations {
    pub hosts: BTreeMap<IpAddr, HostTraffic>,
    /// Every (client, server, port, transport, service) seen, with its record count.
    pub edges: BTreeMap<(IpAddr, IpAddr, u16, Proto, String), u64>,
    pub first_ts: Option<f64>,
    pub last_ts: Option<f64>,
}

impl Observations {
    /// Adds one OT record.
    pub fn observe(&mut self, event: &FlowEvent<'_>) {
        // Value records repeat requests the protocol log already gave.
        if matches!(event.kind, EventKind::Values(_) | EventKind::Control(_)) {
            return;
        }
        let edge = &event.edge;
        let (client, server) = (edge.orig_h.to_canonical(), edge.resp_h.to_canonical());
        if client == server {
            return;
        }
        let service = normalise_service(edge.service);
        self.first_ts = Some(self.first_ts.map_or(event.ts, |first| first.min(event.ts)));
        self.last_ts = Some(self.last_ts.map_or(event.ts, |last| last.max(event.ts)));
        let (answered, established) = match &event.kind {
            EventKind::Conn(conn) => {
                // Conduits judge attempts too, so every connection record is an edge; the
                // protocol-log lines of the same connections would only repeat them.
                *self
                    .edges
                    .entry((
                        client,
                        server,
                        edge.resp_p,
                        edge.proto,
                        edge.service.to_ascii_lowercase(),
                    ))
                    .or_default() += 1;
                answer_of(conn)
            }
            // An analyzer only logs what a live session carried.
            EventKind::Request(_) | EventKind::Values(_) | EventKind::Control(_) => (true, true),
        };
        let hosts: &[(IpAddr, IpAddr)] = if answered {
            &[(client, server), (server, client)]
        } else {
            &[(client, server)]
        };
        for &(host, peer) in hosts {
            let traffic = self.hosts.entry(host).or_insert_with(|| HostTraffic {
                first_ts: event.ts,
                last_ts: event.ts,
                ..HostTraffic::default()
            });
            if answered {
                traffic.partners.insert(peer);
            }
            traffic.first_ts = traffic.first_ts.min(event.ts);
            traffic.last_ts = traffic.last_ts.max(event.ts);
            if let Some((day, hour)) = utc_day_hour(event.ts) {
                traffic.hours[day] |= 1 << hour;
            }
        }
        let Some(traffic) = self.hosts.get_mut(&client) else {
            return;
        };
        if !answered {
            traffic.unanswered.insert(server);
            return;
        }
        if !established {
            traffic.refused += 1;
            return;
        }
        traffic
            .polls
            .entry(service.clone())
            .or_default()
            .insert(server);
        match &event.kind {
            EventKind::Conn(_) => traffic.connections_started += 1,
            EventKind::Values(_) | EventKind::Control(_) => {}
            EventKind::Request(request) => {
                if request.direction != crate::features::Direction::Response {
                    traffic.requests_sent += 1;
                    if request.function != "-" && !request.function.is_empty() {
                        *traffic
                            .functions
                            .entry(request.function.to_string())
                            .or_default() += 1;
                    }
                }
            }
        }
        let served = Service {
            service,
            transport: edge.proto,
            port: edge.resp_p,
        };
        if let Some(traffic) = self.hosts.get_mut(&server) {
            traffic.serves.entry(served).or_default().insert(client);
        }
    }
}

/// Whether the responder answered at all (the host exists) and whether a session was set up
/// (it serves the port), from Zeek's `conn_state`.
fn answer_of(conn: &crate::features::ConnFields<'_>) -> (bool, bool) {
    let state = conn.conn_state;
    if state.is_empty() {
        let answered = conn.resp_pkts.is_some_and(|pkts| pkts > 0);
        return (answered, answered);
    }
    let answered = !matches!(state, "S0" | "SH" | "OTH" | "RSTOS0");
    let established = answered && !matches!(state, "REJ" | "RSTRH" | "SHR");
    (answered, established)
}

/// conn.log may name several services (`ssl,http`) or none (`-`): the first named one, or
/// `unknown`.
fn normalise_service(service: &str) -> String {
    service
        .split(',')
        .map(str::trim)
        .find(|name| !name.is_empty() && *name != "-")
        .unwrap_or("unknown")
        .to_ascii_lowercase()
}

fn utc_day_hour(ts: f64) -> Option<(usize, u32)> {
    if !ts.is_finite() {
        return None;
    }
    let seconds = ts.floor() as i64;
    let days = seconds.div_euclid(86_400);
    // 1970-01-01 was a Thursday (Monday = 0 makes it 3).
    let day = (days + 3).rem_euclid(7) as usize;
    let hour = (seconds.rem_euclid(86_400) / 3_600) as u32;
    Some((day, hour))
}

/// Functions only engineering tools send: device identification, diagnostics, program and file
/// transfer, restarts.
fn is_engineering(function: &str) -> bool {
    let upper = function.to_ascii_uppercase();
    [
        "ENCAP_INTERFACE_TRANSPORT",
        "DIAGNOSTIC",
        "PROGRAM",
        "DOWNLOAD",
        "UPLOAD",
        "FILE",
        "RESTART",
        "START_APPL",
        "STOP_APPL",
        "FIRMWARE",
    ]
    .iter()
    .any(|marker| upper.contains(marker))
}

/// Ports of cyclic I/O (EtherNet/IP implicit messaging): a host answering only these is a remote
/// I/O adapter rather than a controller.
const CYCLIC_IO_PORTS: [u16; 1] = [2222];

/// The services a host answered, without the unnamed ones (conn.log records Zeek could not name)
/// when named ones exist: a scan's reset on an open port says little about what the host is.
fn named_services(traffic: &HostTraffic) -> Vec<&Service> {
    let named: Vec<&Service> = traffic
        .serves
        .keys()
        .filter(|service| service.service != "unknown")
        .collect();
    if named.is_empty() {
        traffic.serves.keys().collect()
    } else {
        named
    }
}

/// The role traffic suggests for a host, with the reason in words.
pub fn guess_type(traffic: &HostTraffic) -> (AssetType, String) {
    let served = named_services(traffic);
    let served_text: Vec<String> = served.iter().map(|service| service.describe()).collect();
    let served_text = served_text.join(", ");
    if served.iter().any(|s| s.service.starts_with("dnp3")) {
        return (AssetType::Rtu, format!("answers {served_text}"));
    }
    if !served.is_empty()
        && served
            .iter()
            .all(|s| CYCLIC_IO_PORTS.contains(&s.port) && s.transport == Proto::Udp)
    {
        return (
            AssetType::Other,
            format!("answers only cyclic I/O ({served_text}): a remote I/O adapter"),
        );
    }
    if !served.is_empty() {
        return (AssetType::Plc, format!("answers {served_text}"));
    }
    let polled: Vec<&str> = traffic.polls.keys().map(String::as_str).collect();
    let polled = polled.join(", ");
    if traffic.polls.keys().any(|s| s.starts_with("dnp3")) {
        return (
            AssetType::Server,
            format!("polls DNP3 outstations ({polled}): a SCADA master"),
        );
    }
    let engineering: Vec<&str> = traffic
        .functions
        .keys()
        .filter(|function| is_engineering(function))
        .map(String::as_str)
        .collect();
    if !engineering.is_empty() {
        return (
            AssetType::Ews,
            format!("sends engineering functions ({})", engineering.join(", ")),
        );
    }
    let writes = traffic
        .functions
        .keys()
        .any(|function| crate::features::functions::is_write(function));
    if writes {
        return (AssetType::Hmi, format!("polls and writes ({polled})"));
    }
    if traffic.requests_sent > 0 {
        let per_connection =
            traffic.requests_sent as f64 / traffic.connections_started.max(1) as f64;
        if traffic.connections_started > 0 && per_connection < 20.0 {
            return (
                AssetType::Historian,
                format!(
                    "only reads ({polled}), a new connection every {per_connection:.0} requests"
                ),
            );
        }
        return (
            AssetType::Hmi,
            format!("only reads ({polled}) over long sessions"),
        );
    }
    let mut reasons = Vec::new();
    if !traffic.polls.is_empty() {
        reasons.push(format!(
            "connects to OT ports without protocol requests ({polled})"
        ));
    }
    if traffic.refused > 0 {
        reasons.push(format!("{} connections refused", traffic.refused));
    }
    if !traffic.unanswered.is_empty() {
        reasons.push(format!(
            "{} hosts tried that never answered",
            traffic.unanswered.len()
        ));
    }
    if reasons.is_empty() {
        reasons.push("neither answers nor polls an OT service".to_string());
    }
    (AssetType::Other, reasons.join("; "))
}

/// The active hours in words: `every day 00:00-24:00`, `wednesday 09:00-12:00`.
pub fn describe_hours(hours: &[u32; 7]) -> String {
    let mut groups: Vec<(Vec<&str>, u32)> = Vec::new();
    for (day, bits) in DAYS.iter().zip(hours) {
        if *bits == 0 {
            continue;
        }
        match groups.iter_mut().find(|(_, same)| same == bits) {
            Some((days, _)) => days.push(day.name()),
            None => groups.push((vec![day.name()], *bits)),
        }
    }
    if groups.is_empty() {
        return "never".into();
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(days, bits)| {
            let days = if days.len() == 7 {
                "every day".to_string()
            } else {
                days.join(", ")
            };
            let mut ranges = Vec::new();
            let mut hour = 0;
            while hour < 24 {
                if bits & (1 << hour) == 0 {
                    hour += 1;
                    continue;
                }
                let start = hour;
                while hour < 24 && bits & (1 << hour) != 0 {
                    hour += 1;
                }
                ranges.push(format!("{start:02}:00-{hour:02}:00"));
            }
            format!("{days} {}", ranges.join(", "))
        })
        .collect();
    format!("{} UTC", parts.join("; "))
}

/// A candidate inventory from traffic: one asset per host, named and zoned as in `known` when it
/// lists the host, with the zones and conduits of `known` so the file checks on its own.
pub fn candidate(observations: &Observations, known: Option<&Inventory>) -> Inventory {
    let assets = observations
        .hosts
        .iter()
        .map(|(ip, traffic)| {
            let (asset_type, reason) = guess_type(traffic);
            let listed = known.and_then(|inventory| inventory.asset(*ip));
            let mut notes = format!(
                "guessed from traffic: {reason}; {} partners; active {}",
                traffic.partners.len(),
                describe_hours(&traffic.hours)
            );
            let mut functions: Vec<(&String, &u64)> = traffic.functions.iter().collect();
            functions.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            if !functions.is_empty() {
                let names: Vec<&str> = functions.iter().map(|(name, _)| name.as_str()).collect();
                let _ = write!(notes, "; sends {}", names.join(", "));
            }
            Asset {
                ip: *ip,
                name: listed.map_or_else(|| host_name(*ip), |asset| asset.name.clone()),
                asset_type,
                owner: listed.and_then(|asset| asset.owner.clone()),
                zone: known
                    .and_then(|inventory| inventory.zone_of(*ip))
                    .map(|zone| zone.name.clone()),
                criticality: listed.and_then(|asset| asset.criticality),
                partners: traffic.partners.iter().copied().collect(),
                maintenance: Vec::new(),
                safe_limits: Vec::new(),
                notes: Some(notes),
            }
        })
        .collect();
    let (zones, conduits) = match known {
        Some(inventory) => (inventory.zones.clone(), inventory.conduits.clone()),
        None => (Vec::new(), Vec::new()),
    };
    Inventory::from_checked(zones, conduits, assets)
}

/// A generated name for a host the inventory does not list: `host-10-10-3-10`.
fn host_name(ip: IpAddr) -> String {
    format!("host-{}", ip.to_string().replace(['.', ':'], "-"))
}

/// The text written above a candidate inventory.
pub fn candidate_header(observations: &Observations) -> String {
    let span = match (observations.first_ts, observations.last_ts) {
        (Some(first), Some(last)) => format!(
            "from {} to {}",
            crate::simulate::rfc3339((first * 1e6) as i64),
            crate::simulate::rfc3339((last * 1e6) as i64)
        ),
        _ => "from no OT records".to_string(),
    };
    format!(
        "# Candidate inventory written by `otsentry assets discover` from traffic {span}.\n\
         # Traffic shows the network as it is, not as it should be: review every asset, type and\n\
         # partner before you trust this file, and add owners, criticality, maintenance windows\n\
         # and safe limits, which traffic cannot tell.\n"
    )
}

/// A host that traffic shows and the inventory does not list.
#[derive(Debug, Clone, Serialize)]
pub struct UnknownHost {
    pub ip: IpAddr,
    pub guessed_type: AssetType,
    pub reason: String,
    pub partners: Vec<IpAddr>,
}

/// An asset that talked to a host outside its expected partners.
#[derive(Debug, Clone, Serialize)]
pub struct UnexpectedPartners {
    pub asset: String,
    pub ip: IpAddr,
    pub partners: Vec<IpAddr>,
}

/// An asset whose traffic suggests another type than the inventory gives.
#[derive(Debug, Clone, Serialize)]
pub struct TypeDiffers {
    pub asset: String,
    pub ip: IpAddr,
    pub listed: AssetType,
    pub observed: AssetType,
    pub reason: String,
}

/// Flows from one client that the conduits refuse for the same reason.
#[derive(Debug, Clone, Serialize)]
pub struct OutsideConduit {
    pub client: IpAddr,
    pub reason: String,
    pub servers: Vec<IpAddr>,
    /// The services as `service transport/port` (`modbus tcp/502`, `- tcp/20000`).
    pub flows: Vec<String>,
    /// Connection records.
    pub records: u64,
}

/// Where traffic and a written inventory disagree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Differences {
    pub unknown_hosts: Vec<UnknownHost>,
    /// Assets with no OT record in the logs.
    pub silent_assets: Vec<String>,
    pub unexpected_partners: Vec<UnexpectedPartners>,
    pub type_differs: Vec<TypeDiffers>,
    pub outside_conduits: Vec<OutsideConduit>,
}

impl Differences {
    pub fn is_empty(&self) -> bool {
        self.unknown_hosts.is_empty()
            && self.silent_assets.is_empty()
            && self.unexpected_partners.is_empty()
            && self.type_differs.is_empty()
            && self.outside_conduits.is_empty()
    }
}

/// Compares traffic with a written inventory.
pub fn compare(observations: &Observations, inventory: &Inventory) -> Differences {
    let mut differences = Differences::default();
    for (ip, traffic) in &observations.hosts {
        let (observed, reason) = guess_type(traffic);
        let Some(asset) = inventory.asset(*ip) else {
            differences.unknown_hosts.push(UnknownHost {
                ip: *ip,
                guessed_type: observed,
                reason,
                partners: traffic.partners.iter().copied().collect(),
            });
            continue;
        };
        if !asset.partners.is_empty() {
            let unexpected: Vec<IpAddr> = traffic
                .partners
                .iter()
                .filter(|peer| !asset.partners.contains(peer))
                .copied()
                .collect();
            if !unexpected.is_empty() {
                differences.unexpected_partners.push(UnexpectedPartners {
                    asset: asset.name.clone(),
                    ip: *ip,
                    partners: unexpected,
                });
            }
        }
        if observed != asset.asset_type && observed != AssetType::Other {
            differences.type_differs.push(TypeDiffers {
                asset: asset.name.clone(),
                ip: *ip,
                listed: asset.asset_type,
                observed,
                reason,
            });
        }
    }
    differences.silent_assets = inventory
        .assets
        .iter()
        .filter(|asset| !observations.hosts.contains_key(&asset.ip))
        .map(|asset| asset.name.clone())
        .collect();
    // (client, reason) → (servers, flows, records).
    type Group = (BTreeSet<IpAddr>, BTreeSet<String>, u64);
    let mut outside: BTreeMap<(IpAddr, String), Group> = BTreeMap::new();
    for ((client, server, port, transport, service), records) in &observations.edges {
        let verdict = inventory.conduit_allows(*client, *server, *port, *transport, service);
        if verdict.is_violation() {
            let group = outside.entry((*client, verdict.describe())).or_default();
            group.0.insert(*server);
            group
                .1
                .insert(format!("{service} {}/{port}", transport.as_str()));
            group.2 += records;
        }
    }
    differences.outside_conduits = outside
        .into_iter()
        .map(
            |((client, reason), (servers, flows, records))| OutsideConduit {
                client,
                reason,
                servers: servers.into_iter().collect(),
                flows: flows.into_iter().collect(),
                records,
            },
        )
        .collect();
    differences
}

/// The differences in plain words, one finding per line.
pub fn describe_differences(differences: &Differences, inventory: &Inventory) -> String {
    let mut out = String::from(
        "Traffic shows the network as it is, not as it should be: a difference is a question for \
         the asset owner, and agreement is no proof that the traffic is legitimate.\n",
    );
    let name = |ip: &IpAddr| match inventory.asset(*ip) {
        Some(asset) => format!("{} ({ip})", asset.name),
        None => ip.to_string(),
    };
    let names = |ips: &[IpAddr]| shortened(&ips.iter().map(name).collect::<Vec<_>>());
    if differences.is_empty() {
        out.push_str("Traffic and inventory agree: no unknown hosts, silent assets, unexpected partners or flows outside conduits.\n");
        return out;
    }
    for host in &differences.unknown_hosts {
        let _ = writeln!(
            out,
            "Unknown host {}: not in the inventory; looks like a {} ({}); talks to {}.",
            host.ip,
            host.guessed_type.name(),
            host.reason,
            names(&host.partners)
        );
    }
    for asset in &differences.silent_assets {
        let _ = writeln!(
            out,
            "Silent asset {asset}: in the inventory, no OT traffic in these logs."
        );
    }
    for partners in &differences.unexpected_partners {
        let _ = writeln!(
            out,
            "Unexpected partners of {} ({}): {}.",
            partners.asset,
            partners.ip,
            names(&partners.partners)
        );
    }
    for differs in &differences.type_differs {
        let _ = writeln!(
            out,
            "Type of {} ({}): the inventory says {}, traffic suggests {} ({}).",
            differs.asset,
            differs.ip,
            differs.listed.name(),
            differs.observed.name(),
            differs.reason
        );
    }
    for flow in &differences.outside_conduits {
        let _ = writeln!(
            out,
            "Outside conduits: {} to {} on {} ({} connections): {}.",
            name(&flow.client),
            names(&flow.servers),
            shortened(&flow.flows),
            flow.records,
            flow.reason
        );
    }
    out
}

/// At most ten items of a list, then how many more.
fn shortened(items: &[String]) -> String {
    const SHOWN: usize = 10;
    if items.len() <= SHOWN {
        return items.join(", ");
    }
    format!(
        "{} and {} more",
        items[..SHOWN].join(", "),
        items.len() - SHOWN
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_grouped_by_day_in_words() {
        let mut hours = [0u32; 7];
        assert_eq!(describe_hours(&hours), "never");
        hours[2] = 0b111 << 9;
        assert_eq!(describe_hours(&hours), "wednesday 09:00-12:00 UTC");
        let hours = [u32::MAX >> 8; 7];
        assert_eq!(describe_hours(&hours), "every day 00:00-24:00 UTC");
        // 2026-10-07T10:30:00Z is a Wednesday.
        assert_eq!(utc_day_hour(1_791_369_000.0), Some((2, 10)));
        assert_eq!(utc_day_hour(f64::NAN), None);
    }

    #[test]
    fn services_are_named_by_their_first_name() {
        assert_eq!(normalise_service("ssl,http"), "ssl");
        assert_eq!(normalise_service("-"), "unknown");
        assert_eq!(normalise_service("Modbus"), "modbus");
        assert!(is_engineering("ENCAP_INTERFACE_TRANSPORT"));
        assert!(!is_engineering("READ_HOLDING_REGISTERS"));
    }
}
