//! Grouping, ids and checkpoints of the alert builder, on hand-made findings.

use std::net::IpAddr;

use super::*;
use crate::detect::{Seen, Severity, Subject};
use crate::features::Schema;

fn finding(
    ts: f64,
    uid: &str,
    rule: &'static str,
    src: &str,
    dst: &str,
    severity: Severity,
) -> Finding {
    let src: IpAddr = src.parse().unwrap();
    let dst: IpAddr = dst.parse().unwrap();
    Finding {
        detector: "novelty",
        rule,
        title: rule,
        severity,
        subject: Subject {
            src: Some(src),
            dst: Some(dst),
        },
        reasons: vec![Reason::new(format!("observed {uid}"), "baseline")],
        techniques: vec!["T0846"],
        seen: Seen {
            ts,
            uid: uid.to_string(),
            src,
            src_port: 40000,
            dst,
            dst_port: 502,
            transport: "tcp".to_string(),
            service: "modbus".to_string(),
            record: Schema::Conn,
            ot: true,
        },
        scores: None,
    }
}

/// Runs findings through a builder and returns (state, id, count) of every alert event.
fn run(findings: Vec<Finding>, window: f64) -> Vec<(AlertState, String, u64)> {
    let mut builder = AlertBuilder::new(window, "model");
    let mut out = Vec::new();
    for finding in findings {
        builder.add(finding, &mut out);
    }
    builder.finish(&mut out);
    out.into_iter()
        .map(|alert| (alert.state, alert.id, alert.count))
        .collect()
}

#[test]
fn the_first_finding_is_emitted_at_once_and_later_ones_join_it() {
    let mut builder = AlertBuilder::new(600.0, "model");
    let mut out = Vec::new();
    builder.add(
        finding(
            0.0,
            "C1",
            "new_edge",
            "10.0.0.1",
            "10.0.0.2",
            Severity::Medium,
        ),
        &mut out,
    );
    assert_eq!(out.len(), 1, "emitted at once, not held for the window");
    assert_eq!(out[0].state, AlertState::Open);
    builder.add(
        finding(
            60.0,
            "C2",
            "new_edge",
            "10.0.0.1",
            "10.0.0.2",
            Severity::High,
        ),
        &mut out,
    );
    assert_eq!(out.len(), 1, "joins the open alert");
    builder.finish(&mut out);
    assert_eq!(out.len(), 2);
    let closed = &out[1];
    assert_eq!(closed.state, AlertState::Closed);
    assert_eq!(closed.id, out[0].id);
    assert_eq!(closed.count, 2);
    assert_eq!(closed.severity, Severity::High, "the most severe finding");
    assert_eq!((closed.first_seen, closed.last_seen), (0.0, 60.0));
    assert_eq!(closed.uids, ["C1", "C2"]);
    assert_eq!(closed.reasons.len(), 2);
}

#[test]
fn other_devices_rules_and_later_windows_are_other_alerts() {
    let events = run(
        vec![
            finding(
                0.0,
                "C1",
                "new_edge",
                "10.0.0.1",
                "10.0.0.2",
                Severity::Medium,
            ),
            finding(
                1.0,
                "C2",
                "new_edge",
                "10.0.0.1",
                "10.0.0.3",
                Severity::Medium,
            ),
            finding(
                2.0,
                "C3",
                "new_source",
                "10.0.0.1",
                "10.0.0.2",
                Severity::Medium,
            ),
            finding(
                700.0,
                "C4",
                "new_edge",
                "10.0.0.1",
                "10.0.0.2",
                Severity::Medium,
            ),
        ],
        600.0,
    );
    let opened: Vec<_> = events
        .iter()
        .filter(|(state, ..)| *state == AlertState::Open)
        .collect();
    assert_eq!(opened.len(), 4, "{events:?}");
    assert!(events.iter().all(|(state, ..)| *state == AlertState::Open));
}

#[test]
fn a_window_is_closed_by_log_time_not_by_the_end_of_input() {
    let mut builder = AlertBuilder::new(600.0, "model");
    let mut out = Vec::new();
    builder.add(
        finding(0.0, "C1", "new_edge", "10.0.0.1", "10.0.0.2", Severity::Low),
        &mut out,
    );
    builder.add(
        finding(
            10.0,
            "C2",
            "new_edge",
            "10.0.0.1",
            "10.0.0.2",
            Severity::Low,
        ),
        &mut out,
    );
    builder.advance(Schema::Conn, 599.0, &mut out);
    assert_eq!(out.len(), 1);
    builder.advance(Schema::Conn, 601.0, &mut out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[1].state, AlertState::Closed);
    assert_eq!(builder.open_alerts(), 0);
}

#[test]
fn ids_are_stable_and_differ_between_alerts() {
    let make = || {
        vec![
            finding(0.0, "C1", "new_edge", "10.0.0.1", "10.0.0.2", Severity::Low),
            finding(1.0, "C2", "new_edge", "10.0.0.1", "10.0.0.3", Severity::Low),
        ]
    };
    let (first, second) = (run(make(), 600.0), run(make(), 600.0));
    assert_eq!(first, second);
    assert_ne!(first[0].1, first[1].1);
    assert_eq!(first[0].1.len(), 32);
}

#[test]
fn a_checkpointed_builder_continues_as_one_run() {
    let findings: Vec<Finding> = (0..40)
        .map(|idx| {
            let dst = format!("10.0.0.{}", 2 + idx % 3);
            finding(
                idx as f64 * 97.0,
                &format!("C{idx}"),
                "new_edge",
                "10.0.0.1",
                &dst,
                Severity::Low,
            )
        })
        .collect();
    let continuous = run(findings.clone(), 600.0);
    for cut in [0, 1, 7, 20, 39, 40] {
        let mut builder = AlertBuilder::new(600.0, "model");
        let mut out = Vec::new();
        for finding in findings[..cut].iter().cloned() {
            builder.add(finding, &mut out);
        }
        let json = serde_json::to_string(&builder.state()).unwrap();
        let mut restored = AlertBuilder::restore(serde_json::from_str(&json).unwrap(), "model");
        for finding in findings[cut..].iter().cloned() {
            restored.add(finding, &mut out);
        }
        restored.finish(&mut out);
        let split: Vec<_> = out
            .into_iter()
            .map(|alert| (alert.state, alert.id, alert.count))
            .collect();
        assert_eq!(split, continuous, "cut at {cut}");
    }
}

fn in_stream(mut finding: Finding, schema: Schema) -> Finding {
    finding.seen.record = schema;
    finding
}

#[test]
fn one_fact_seen_in_conn_log_and_a_protocol_log_is_one_alert() {
    let conn = |ts: f64| {
        in_stream(
            finding(ts, "C1", "new_edge", "10.0.0.1", "10.0.0.2", Severity::High),
            Schema::Conn,
        )
    };
    let request = |ts: f64, severity: Severity| {
        in_stream(
            finding(ts, "C1", "new_edge", "10.0.0.1", "10.0.0.2", severity),
            Schema::Request,
        )
    };
    // Live: both logs advance together; the protocol record is the same fact as the open
    // alert and changes nothing, so the result is the batch run's.
    let live = run(vec![conn(100.0), request(101.0, Severity::High)], 600.0);
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!((live[0].0, live[0].2), (AlertState::Open, 1));

    // Batch: conn.log is read to its end (closing the alert) before modbus.log begins.
    let later = in_stream(
        finding(
            5000.0,
            "C9",
            "new_source",
            "10.0.0.9",
            "10.0.0.2",
            Severity::Low,
        ),
        Schema::Conn,
    );
    let batch = run(
        vec![conn(100.0), later.clone(), request(101.0, Severity::High)],
        600.0,
    );
    assert_eq!(
        batch.len(),
        2,
        "conn's new edge and its later alert only: {batch:?}"
    );

    // A more severe sighting, or one outside the window, is its own alert.
    let severe = run(
        vec![
            conn(100.0),
            later.clone(),
            request(101.0, Severity::Critical),
        ],
        600.0,
    );
    assert_eq!(severe.len(), 3, "{severe:?}");
    let outside = run(
        vec![conn(100.0), later, request(900.0, Severity::High)],
        600.0,
    );
    assert_eq!(outside.len(), 3, "{outside:?}");

    // The same stream's later window is never joined to an earlier alert of its own.
    let same = run(vec![conn(100.0), conn(800.0)], 600.0);
    assert_eq!(same.len(), 2, "{same:?}");
}

/// An engineering workstation (10.0.0.1) and two PLCs (10.0.0.2, 10.0.0.3) in maintenance on
/// Wednesdays 09:00 to 12:00 UTC.
fn maintained() -> Arc<crate::inventory::Inventory> {
    let mut yaml = "assets:\n  - {ip: 10.0.0.1, name: ews-1, type: ews}\n".to_string();
    for plc in [2, 3] {
        yaml.push_str(&format!(
            "  - ip: 10.0.0.{plc}\n    name: plc-{plc}\n    type: plc\n    maintenance:\n      - {{name: weekly maintenance, time_zone: UTC, weekly: [{{days: [wednesday], start: \"09:00\", end: \"12:00\"}}]}}\n"
        ));
    }
    Arc::new(crate::inventory::parse_inventory(&[("plant.yaml", yaml.as_str())]).unwrap())
}

/// 2026-10-07T09:00:00Z, a Wednesday.
const NINE: f64 = 1_791_363_600.0;

#[test]
fn a_maintenance_session_on_several_devices_is_one_alert_until_the_window_closes() {
    let mut builder = AlertBuilder::new(600.0, "model").with_inventory(Some(maintained()));
    let mut out = Vec::new();
    let edge = |ts: f64, uid: &str, dst: &str| {
        finding(ts, uid, "new_edge", "10.0.0.1", dst, Severity::High)
    };
    builder.add(edge(NINE + 600.0, "C1", "10.0.0.2"), &mut out);
    builder.add(edge(NINE + 4_000.0, "C2", "10.0.0.3"), &mut out);
    builder.add(edge(NINE + 9_000.0, "C3", "10.0.0.3"), &mut out);
    // After the window: an ordinary alert of the edge again.
    builder.add(edge(NINE + 3.0 * 3600.0 + 60.0, "C4", "10.0.0.3"), &mut out);
    builder.finish(&mut out);
    let opened: Vec<&Alert> = out.iter().filter(|a| a.state == AlertState::Open).collect();
    assert_eq!(opened.len(), 2, "{out:#?}");
    let session = &opened[0];
    assert_eq!(session.severity, Severity::Medium, "lowered one level");
    assert_eq!(session.subject.src, Some("10.0.0.1".parse().unwrap()));
    assert_eq!(session.subject.dst, None);
    assert!(
        session
            .reasons
            .iter()
            .any(|r| r.observed.contains("2026-10-07T12:00:00Z")),
        "{:?}",
        session.reasons
    );
    let closed = out
        .iter()
        .find(|a| a.state == AlertState::Closed && a.id == session.id)
        .expect("the session closes with its count");
    assert_eq!(closed.count, 3);
    assert_eq!(closed.uids, ["C1", "C2", "C3"]);
    assert_eq!(opened[1].subject.dst, Some("10.0.0.3".parse().unwrap()));
    assert_eq!(opened[1].severity, Severity::High);
}

#[test]
fn a_checkpoint_keeps_maintenance_sessions_and_what_the_other_stream_may_join() {
    let inventory = maintained();
    let findings = [
        finding(
            NINE + 60.0,
            "C1",
            "new_edge",
            "10.0.0.1",
            "10.0.0.2",
            Severity::High,
        ),
        finding(
            NINE + 3000.0,
            "C2",
            "new_edge",
            "10.0.0.1",
            "10.0.0.3",
            Severity::High,
        ),
        finding(
            NINE + 20_000.0,
            "C3",
            "new_edge",
            "10.0.0.5",
            "10.0.0.3",
            Severity::High,
        ),
        in_stream(
            finding(
                NINE + 70.0,
                "C1",
                "new_edge",
                "10.0.0.1",
                "10.0.0.2",
                Severity::High,
            ),
            Schema::Request,
        ),
        in_stream(
            finding(
                NINE + 20_010.0,
                "C3",
                "new_edge",
                "10.0.0.5",
                "10.0.0.3",
                Severity::High,
            ),
            Schema::Request,
        ),
    ];
    let events = |cut: usize| {
        let mut builder = AlertBuilder::new(600.0, "model").with_inventory(Some(inventory.clone()));
        let mut out = Vec::new();
        for finding in findings[..cut].iter().cloned() {
            builder.add(finding, &mut out);
        }
        let json = serde_json::to_string(&builder.state()).unwrap();
        let mut restored = AlertBuilder::restore(serde_json::from_str(&json).unwrap(), "model")
            .with_inventory(Some(inventory.clone()));
        for finding in findings[cut..].iter().cloned() {
            restored.add(finding, &mut out);
        }
        restored.finish(&mut out);
        out.into_iter()
            .map(|alert| (alert.state, alert.id, alert.count))
            .collect::<Vec<_>>()
    };
    let continuous = events(findings.len());
    assert_eq!(
        continuous
            .iter()
            .filter(|(state, _, _)| *state == AlertState::Open)
            .count(),
        2,
        "the session and the other source's edge, each once across both streams: {continuous:?}"
    );
    for cut in 0..findings.len() {
        assert_eq!(events(cut), continuous, "cut at {cut}");
    }
}
