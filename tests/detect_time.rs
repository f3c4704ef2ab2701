//! The time and zone detectors through the real binary on simulated plant logs: trained on two
//! weeks, a held-out benign week with its Wednesday maintenance says nothing from the rhythm,
//! schedule or conduit detectors; the same maintenance session moved to a Sunday night is an
//! alert; a flow between zones that no conduit joins is an alert naming both zones; alerts carry
//! both ends' asset context.

mod plant_logs;
mod shared_data;

use std::path::Path;

use plant_logs::*;

/// 2026-10-15T00:00:00Z: the first day after a 14-day baseline from 2026-10-01.
const HELD_OUT: f64 = 1_792_022_400.0;
/// 2026-10-18T02:00:00Z, a Sunday night.
const SUNDAY_NIGHT: f64 = 1_792_288_800.0;
const EWS: &str = "10.10.3.30";
const VENDOR: &str = "10.10.9.5";

fn alerts(output: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Simulates three benign weeks of a small plant and trains on the first two.
fn plant(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let logs = dir.join("logs");
    let output = otsentry(&[
        "simulate",
        "--out",
        logs.to_str().unwrap(),
        "--days",
        "21",
        "--plcs",
        "2",
        "--poll-ms",
        "20000",
        "--attacks",
        "none",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let model = dir.join("plant.model");
    train(&logs, &model, &["--until", "2026-10-15T00:00:00Z"]);
    (logs, model)
}

fn score(
    logs: &Path,
    model: &Path,
    inventory: &Path,
    since: Option<&str>,
) -> Vec<serde_json::Value> {
    let mut args = vec![
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--inventory",
        inventory.to_str().unwrap(),
        "--format",
        "json",
    ];
    if let Some(since) = since {
        args.extend(["--since", since]);
    }
    let output = otsentry(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    alerts(&output)
}

/// The header lines and the `ts` and `id.orig_h` columns of a Zeek TSV log.
fn split_log(text: &str) -> (Vec<&str>, Vec<&str>, usize) {
    let header: Vec<&str> = text
        .lines()
        .take_while(|line| line.starts_with('#'))
        .collect();
    let fields = header
        .iter()
        .find_map(|line| line.strip_prefix("#fields\t"))
        .unwrap();
    let orig = fields
        .split('\t')
        .position(|name| name == "id.orig_h")
        .unwrap();
    let body = text.lines().filter(|line| !line.starts_with('#')).collect();
    (header, body, orig)
}

/// Writes `name` into `out` with the lines of `logs/name` that `keep` selects, each rewritten
/// by `change` (given the line's fields).
fn derive_log(
    logs: &Path,
    out: &Path,
    name: &str,
    keep: impl Fn(&[&str], usize) -> bool,
    change: impl Fn(&mut Vec<String>, usize),
) -> usize {
    let text = std::fs::read_to_string(logs.join(name)).unwrap();
    let (header, body, orig) = split_log(&text);
    let mut lines: Vec<String> = header.iter().map(|line| line.to_string()).collect();
    let mut kept = 0;
    for line in body {
        let fields: Vec<&str> = line.split('\t').collect();
        if !keep(&fields, orig) {
            continue;
        }
        let mut owned: Vec<String> = fields.iter().map(|field| field.to_string()).collect();
        change(&mut owned, orig);
        lines.push(owned.join("\t"));
        kept += 1;
    }
    std::fs::create_dir_all(out).unwrap();
    std::fs::write(out.join(name), lines.join("\n") + "\n").unwrap();
    kept
}

fn is_timing(alert: &serde_json::Value) -> bool {
    let detector = alert["otsentry"]["detector"].as_str().unwrap();
    ["rhythm", "schedule", "conduit"].contains(&detector)
}

#[test]
fn a_held_out_week_is_quiet_and_a_sunday_night_maintenance_and_a_conduit_breach_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, model) = plant(dir.path());
    let inventory = logs.join("inventory.yaml");

    // The held-out week, Wednesday maintenance included: nothing from the time and zone
    // detectors, and few alerts at all.
    let week = score(&logs, &model, &inventory, Some("2026-10-15T00:00:00Z"));
    let timing: Vec<_> = week.iter().filter(|alert| is_timing(alert)).collect();
    assert!(timing.is_empty(), "{timing:#?}");
    let opened = week
        .iter()
        .filter(|alert| alert["event"]["action"] == "alert_opened")
        .count();
    assert!(
        opened <= 7 * 3,
        "{opened} alerts in a benign week: {week:#?}"
    );
    for alert in &week {
        let source = &alert["source"]["asset"];
        assert!(source.is_object(), "no asset context: {alert:#}");
        assert!(source["maintenance_active"].is_boolean());
    }
    let maintenance_seen = std::fs::read_to_string(logs.join("conn.log"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .any(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            fields[2] == EWS && fields[0].parse::<f64>().unwrap() >= HELD_OUT
        });
    assert!(
        maintenance_seen,
        "the held-out week has no maintenance session"
    );

    // The held-out Wednesday's maintenance session, moved to a Sunday night.
    let moved = dir.path().join("sunday");
    let first = |name: &str| {
        let text = std::fs::read_to_string(logs.join(name)).unwrap();
        let (_, body, orig) = split_log(&text);
        body.iter()
            .map(|line| line.split('\t').collect::<Vec<_>>())
            .filter(|fields| fields[orig] == EWS)
            .map(|fields| fields[0].parse::<f64>().unwrap())
            .find(|ts| *ts >= HELD_OUT)
            .unwrap()
    };
    let shift = SUNDAY_NIGHT - first("conn.log").min(first("modbus.log"));
    for name in ["conn.log", "modbus.log"] {
        let kept = derive_log(
            &logs,
            &moved,
            name,
            |fields, orig| fields[orig] == EWS && fields[0].parse::<f64>().unwrap() >= HELD_OUT,
            |fields, _| {
                let ts: f64 = fields[0].parse().unwrap();
                fields[0] = format!("{:.6}", ts + shift);
            },
        );
        assert!(kept > 0, "{name}");
    }
    let sunday = score(&moved, &model, &inventory, None);
    let outside: Vec<_> = sunday
        .iter()
        .filter(|alert| alert["rule"]["id"] == "schedule.outside_schedule")
        .collect();
    assert!(!outside.is_empty(), "{sunday:#?}");
    let alert = outside[0];
    assert_eq!(alert["source"]["ip"], EWS);
    assert_eq!(alert["source"]["asset"]["name"], "ews-01");
    assert_eq!(alert["source"]["asset"]["maintenance_active"], false);
    assert_eq!(alert["destination"]["asset"]["type"], "plc");
    let reasons = alert["otsentry"]["reasons"].to_string();
    assert!(reasons.contains("sunday 02:00 UTC"), "{reasons}");
    assert!(reasons.contains("wednesday"), "{reasons}");

    // A flow from the DMZ straight to a PLC: no conduit joins the two zones.
    let breach = dir.path().join("breach");
    let kept = derive_log(
        &logs,
        &breach,
        "conn.log",
        |fields, _| fields[0].parse::<f64>().unwrap() >= HELD_OUT && fields[5] == "502",
        |fields, orig| fields[orig] = VENDOR.to_string(),
    );
    assert!(kept > 0);
    let alerts = score(&breach, &model, &inventory, None);
    let conduit: Vec<_> = alerts
        .iter()
        .filter(|alert| alert["rule"]["id"] == "conduit.no_conduit")
        .collect();
    assert!(!conduit.is_empty(), "{alerts:#?}");
    let alert = conduit[0];
    assert_eq!(alert["otsentry"]["severity"], "critical");
    assert_eq!(alert["source"]["asset"]["zone"], "dmz");
    assert_eq!(alert["destination"]["asset"]["zone"], "control");
    let reasons = alert["otsentry"]["reasons"].to_string();
    assert!(
        reasons.contains("zone dmz") && reasons.contains("zone control"),
        "{reasons}"
    );
    assert_eq!(alert["threat"]["technique"]["id"][0], "T0848");
}

#[test]
fn a_bad_inventory_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant_logs::plant(1_790_000_000.0, 15.0, 1800.0));
    let model = dir.path().join("plant.model");
    assert!(train(&logs, &model, &[]).status.success());
    let inventory = dir.path().join("bad.yaml");
    std::fs::write(
        &inventory,
        "zones:\n  - name: control\n    cidrs: [10.0.0.0/33]\n    security_level_target: 3\n",
    )
    .unwrap();
    let output = otsentry(&[
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--inventory",
        inventory.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    let text = stderr(&output);
    assert!(text.contains("inventory is not valid"), "{text}");
    assert!(text.contains("bad.yaml:3"), "{text}");
}
