//! Grouping, ids and checkpoints of the alert builder, on hand-made findings.

use std::net::IpAddr;

use super::*;
use crate::detect::{Seen, Severity, Subject};
use crate::features::Schema;

fn finding(ts: f64, uid: &str, rule: &str, src: &str, dst: &str, severity: Severity) -> Finding {
    let src: IpAddr = src.parse().unwrap();
    let dst: IpAddr = dst.parse().unwrap();
    Finding {
        detector: "novelty".to_string(),
        rule: rule.to_string(),
        title: rule.to_string(),
        severity,
        subject: Subject {
            src: Some(src),
            dst: Some(dst),
        },
        reasons: vec![Reason::new(format!("observed {uid}"), "baseline")],
        techniques: vec!["T0846".to_string()],
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
