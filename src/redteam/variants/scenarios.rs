//! The scenario variants, one builder per attack, all from the model's own edges and hosts: a
//! new source on 502, a write from a host that only ever read, a polled device opening sessions
//! to another device on 445 and 4444, a scan (one source to many destinations and ports), and
//! timing mimicry (a new source copying an edge's polling interval and functions exactly).
//! Each must be caught within one polling cycle of its first record; the mimicry must be caught
//! by the novelty of its source, since its rhythm is the edge's own.

use std::net::IpAddr;
use std::sync::Arc;

use super::{Plant, Record, RecordKind, VariantConfig, VariantError, VariantResult, poll, score};
use crate::features::Proto;
use crate::model::LoadedModel;

/// A scenario's stream and what it must achieve.
struct Built {
    injected: String,
    records: Vec<Record>,
    /// The detector that must make the catch (`None`: any).
    by: Option<&'static str>,
    /// The polling cycle the catch must come within: the copied edge's, else the plant's.
    cycle: f64,
}

type Builder = fn(&LoadedModel, &Plant, &VariantConfig) -> Result<Built, String>;

/// The scenarios, in report order.
const SCENARIOS: [(&str, Builder); 5] = [
    ("new_source_502", new_source),
    ("write_from_reader", write_from_reader),
    ("rtu_pivot", rtu_pivot),
    ("network_scan", network_scan),
    ("timing_mimicry", timing_mimicry),
];

pub(super) fn run(
    model: &Arc<LoadedModel>,
    plant: &Plant,
    config: &VariantConfig,
) -> Result<Vec<VariantResult>, VariantError> {
    let mut results = Vec::new();
    for (test, build) in SCENARIOS {
        let requirement = |by: Option<&str>, cycle: f64| match by {
            Some(detector) => format!(
                "caught by {detector} within one polling cycle ({cycle:.1} s) of the first record"
            ),
            None => format!("caught within one polling cycle ({cycle:.1} s) of the first record"),
        };
        let built = match build(model, plant, config) {
            Ok(built) => built,
            Err(why) => {
                results.push(VariantResult::not_run(
                    test,
                    requirement(None, plant.cycle),
                    why,
                ));
                continue;
            }
        };
        let tally = score(model, config, test, &built.records)?;
        let start = tally.start_ts;
        let first = tally.first.clone();
        let deadline = |ts: Option<f64>| ts.is_some_and(|ts| ts - start <= built.cycle);
        let passed = match built.by {
            Some(detector) => deadline(tally.of(detector).1),
            None => deadline(first.as_ref().map(|(ts, _)| *ts)),
        };
        results.push(VariantResult {
            test: test.to_string(),
            injected: built.injected,
            caught_by: first.as_ref().map(|(_, finding)| finding.clone()),
            detectors: tally.detectors_by_time(),
            caught: tally.combined.0,
            total: built.records.len() as u64,
            unit: "records flagged".to_string(),
            first_detection_secs: first.map(|(ts, _)| (ts - start).max(0.0)),
            requirement: requirement(built.by, built.cycle),
            passed,
            details: Vec::new(),
        });
    }
    Ok(results)
}

/// The busiest request edge on `port`, if any.
fn busiest_on(plant: &Plant, port: u16) -> Option<&super::Edge> {
    plant.requests.iter().find(|edge| edge.port == port)
}

fn new_source(model: &LoadedModel, plant: &Plant, config: &VariantConfig) -> Result<Built, String> {
    let edge = busiest_on(plant, 502).ok_or("the model learnt no Modbus edge on 502/tcp")?;
    let source = plant.unused_host(edge.resp, &[]);
    let function = edge
        .labels
        .first()
        .map_or("READ_HOLDING_REGISTERS", String::as_str);
    // A rogue master: one session after another, two seconds apart.
    let records = (0..config.scenario_records)
        .flat_map(|index| {
            poll(
                model,
                plant,
                (source, edge.resp, 502, &edge.service),
                function,
                plant.start_ts + 2.0 * f64::from(index),
                format!("Cvariant-newsrc{index}"),
            )
        })
        .collect();
    Ok(Built {
        injected: format!(
            "{} {} from the unseen host {source} to {}:502, 2 s apart",
            config.scenario_records, function, edge.resp
        ),
        records,
        by: None,
        cycle: edge.interval.unwrap_or(plant.cycle),
    })
}

/// The write a reader would send on an edge of this protocol.
fn write_function(service: &str) -> &'static str {
    match service {
        "dnp3" => "DIRECT_OPERATE",
        "enip" | "cip" => "Set_Attribute_Single",
        _ => "WRITE_SINGLE_REGISTER",
    }
}

fn write_from_reader(
    model: &LoadedModel,
    plant: &Plant,
    config: &VariantConfig,
) -> Result<Built, String> {
    let is_write = crate::features::functions::is_write;
    let writers: Vec<IpAddr> = plant
        .requests
        .iter()
        .filter(|edge| edge.labels.iter().any(|label| is_write(label)))
        .map(|edge| edge.orig)
        .collect();
    let edge = plant
        .requests
        .iter()
        .find(|edge| !writers.contains(&edge.orig) && !edge.labels.is_empty())
        .ok_or("the model knows no host that only ever read")?;
    let function = write_function(&edge.service);
    let records = (0..config.scenario_records)
        .flat_map(|index| {
            poll(
                model,
                plant,
                (edge.orig, edge.resp, edge.port, &edge.service),
                function,
                plant.start_ts + edge.interval.unwrap_or(plant.cycle) * f64::from(index),
                format!("Cvariant-write{index}"),
            )
        })
        .collect();
    Ok(Built {
        injected: format!(
            "{} {function} from {} (it only ever read) on its own edge to {}:{}, one per cycle",
            config.scenario_records, edge.orig, edge.resp, edge.port
        ),
        records,
        by: None,
        cycle: edge.interval.unwrap_or(plant.cycle),
    })
}

/// A connection that is not a poll: `state` and a small shape.
fn session(
    model: &LoadedModel,
    plant: &Plant,
    (orig, resp, port, service): (IpAddr, IpAddr, u16, &str),
    ts: f64,
    uid: String,
    state: &str,
) -> Record {
    let mut shape = plant.conn;
    if state != "SF" {
        shape = super::ConnShape {
            duration: 0.0,
            orig_bytes: 0,
            resp_bytes: 0,
            orig_pkts: 1,
            resp_pkts: u64::from(state == "REJ"),
        };
    }
    Record {
        ts,
        uid,
        orig,
        orig_p: 50_000 + (ts as u64 % 10_000) as u16,
        resp,
        port,
        proto: Proto::Tcp,
        service: service.to_string(),
        ot: Plant::is_ot(model, service, port),
        kind: RecordKind::Conn {
            shape,
            state: state.to_string(),
        },
    }
}

fn rtu_pivot(model: &LoadedModel, plant: &Plant, config: &VariantConfig) -> Result<Built, String> {
    let polled = |ip: &IpAddr| {
        plant
            .roles
            .get(*ip)
            .is_some_and(|role| role.is_polled_only())
    };
    let mut devices: Vec<IpAddr> = plant
        .requests
        .iter()
        .chain(plant.conns.iter())
        .map(|edge| edge.resp)
        .filter(polled)
        .collect();
    devices.dedup();
    let device = *devices
        .first()
        .ok_or("the model knows no polled device (a host that only answered OT requests)")?;
    let target = devices
        .iter()
        .copied()
        .find(|ip| *ip != device)
        .or_else(|| plant.requests.first().map(|edge| edge.orig))
        .ok_or("the model knows no second host to pivot to")?;
    let records = (0..config.scenario_records)
        .map(|index| {
            let (port, service) = if index % 2 == 0 {
                (445, "smb")
            } else {
                (4444, "-")
            };
            session(
                model,
                plant,
                (device, target, port, service),
                plant.start_ts + 5.0 * f64::from(index),
                format!("Cvariant-pivot{index}"),
                "SF",
            )
        })
        .collect();
    Ok(Built {
        injected: format!(
            "{} sessions from the polled device {device} to {target} on 445/tcp (smb) and 4444/tcp, 5 s apart",
            config.scenario_records
        ),
        records,
        by: None,
        cycle: plant.cycle,
    })
}

/// Ports a scanner tries: OT protocols first, then remote access.
const SCAN_PORTS: [u16; 8] = [502, 102, 20000, 44818, 80, 22, 23, 445];

fn network_scan(
    model: &LoadedModel,
    plant: &Plant,
    config: &VariantConfig,
) -> Result<Built, String> {
    let source = plant
        .requests
        .first()
        .or(plant.conns.first())
        .map(|edge| edge.orig)
        .ok_or("the model knows no host to scan from")?;
    let IpAddr::V4(v4) = source else {
        return Err(format!("the scanning host {source} is not IPv4"));
    };
    let [a, b, c, _] = v4.octets();
    let records = (0..config.scenario_records)
        .map(|index| {
            let host = (index % 253 + 1) as u8;
            let port = SCAN_PORTS[index as usize % SCAN_PORTS.len()];
            let state = if index % 3 == 0 { "REJ" } else { "S0" };
            session(
                model,
                plant,
                (source, IpAddr::from([a, b, c, host]), port, "-"),
                plant.start_ts + 0.1 * f64::from(index),
                format!("Cvariant-scan{index}"),
                state,
            )
        })
        .collect();
    Ok(Built {
        injected: format!(
            "{} probes from the known host {source} across {a}.{b}.{c}.0/24 and ports {SCAN_PORTS:?}, 100 ms apart",
            config.scenario_records
        ),
        records,
        by: None,
        cycle: plant.cycle,
    })
}

fn timing_mimicry(
    model: &LoadedModel,
    plant: &Plant,
    config: &VariantConfig,
) -> Result<Built, String> {
    let edge = plant
        .requests
        .iter()
        .find(|edge| edge.interval.is_some() && !edge.labels.is_empty())
        .ok_or("the model learnt no polled request edge to copy")?;
    let interval = edge.interval.unwrap_or(plant.cycle);
    let source = plant.unused_host(edge.orig, &[]);
    let records = (0..config.scenario_records)
        .flat_map(|index| {
            let function = &edge.labels[index as usize % edge.labels.len()];
            poll(
                model,
                plant,
                (source, edge.resp, edge.port, &edge.service),
                function,
                plant.start_ts + interval * f64::from(index),
                format!("Cvariant-mimic{index}"),
            )
        })
        .collect();
    Ok(Built {
        injected: format!(
            "{} polls from the unseen host {source} to {}:{} every {interval:.1} s with {}'s functions ({})",
            config.scenario_records,
            edge.resp,
            edge.port,
            edge.orig,
            edge.labels.join(", ")
        ),
        records,
        by: Some(crate::detect::novelty::NAME),
        cycle: interval,
    })
}
