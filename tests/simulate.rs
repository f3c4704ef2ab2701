//! End-to-end tests of `otsentry simulate`: the real binary and the library API write Zeek logs
//! that are well formed, consistent across files, deterministic, and labelled only in labels.jsonl.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

use otsentry::simulate::{AttackSelection, PlantConfig, run};
use serde_json::Value;
use time::Weekday;

const LOGS: [&str; 8] = [
    "conn",
    "modbus",
    "modbus_detailed",
    "dnp3",
    "dnp3_control",
    "enip",
    "cip",
    "cip_io",
];

const ZEEK_TYPES: [&str; 11] = [
    "time",
    "interval",
    "string",
    "addr",
    "port",
    "count",
    "bool",
    "enum",
    "set[string]",
    "vector[count]",
    "vector[string]",
];

/// One TSV log read back: header values, field names and rows.
struct Tsv {
    header: HashMap<String, String>,
    fields: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Tsv {
    fn column(&self, name: &str) -> usize {
        self.fields
            .iter()
            .position(|field| field == name)
            .unwrap_or_else(|| panic!("no field {name} in {:?}", self.fields))
    }

    fn values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let column = self.column(name);
        self.rows.iter().map(move |row| row[column].as_str())
    }
}

/// Reads a TSV log and checks its header block and that every row matches `#fields`/`#types`.
fn read_tsv(path: &Path) -> Tsv {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut header = HashMap::new();
    let mut fields = Vec::new();
    let mut types = Vec::new();
    let mut rows = Vec::new();
    let mut order = Vec::new();
    for (line_no, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix('#') {
            let (key, value) = rest.split_once(['\t', ' ']).unwrap_or_else(|| {
                panic!(
                    "{}:{}: bad header line {line:?}",
                    path.display(),
                    line_no + 1
                )
            });
            order.push(key.to_owned());
            match key {
                "fields" => fields = value.split('\t').map(str::to_owned).collect(),
                "types" => types = value.split('\t').map(str::to_owned).collect(),
                _ => {
                    header.insert(key.to_owned(), value.to_owned());
                }
            }
            continue;
        }
        let row: Vec<String> = line.split('\t').map(str::to_owned).collect();
        assert_eq!(
            row.len(),
            fields.len(),
            "{}:{}: {} values for {} fields",
            path.display(),
            line_no + 1,
            row.len(),
            fields.len()
        );
        rows.push(row);
    }
    assert_eq!(
        order,
        [
            "separator",
            "set_separator",
            "empty_field",
            "unset_field",
            "path",
            "open",
            "fields",
            "types",
            "close"
        ],
        "{}: header block",
        path.display()
    );
    assert_eq!(header["separator"], "\\x09");
    assert_eq!(header["set_separator"], ",");
    assert_eq!(header["empty_field"], "(empty)");
    assert_eq!(header["unset_field"], "-");
    assert_eq!(
        fields.len(),
        types.len(),
        "{}: #fields and #types",
        path.display()
    );
    for kind in &types {
        assert!(
            ZEEK_TYPES.contains(&kind.as_str()),
            "{}: type {kind}",
            path.display()
        );
    }
    for (idx, kind) in types.iter().enumerate() {
        for row in &rows {
            let value = &row[idx];
            if value == "-" {
                continue;
            }
            let ok = match kind.as_str() {
                "time" | "interval" => value.split_once('.').is_some_and(|(secs, frac)| {
                    secs.parse::<i64>().is_ok() && frac.len() == 6 && frac.parse::<u32>().is_ok()
                }),
                "count" | "port" => value.parse::<u64>().is_ok(),
                "bool" => value == "T" || value == "F",
                "addr" => value.parse::<std::net::IpAddr>().is_ok(),
                _ => !value.is_empty(),
            };
            assert!(
                ok,
                "{}: {} value {value:?} is not a {kind}",
                path.display(),
                fields[idx]
            );
        }
    }
    Tsv {
        header,
        fields,
        rows,
    }
}

fn simulate_binary(dir: &Path, extra: &[&str]) {
    let output = Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(["simulate", "--out"])
        .arg(dir)
        .args(extra)
        .output()
        .expect("run otsentry");
    assert!(
        output.status.success(),
        "otsentry simulate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("conn.log"),
        "summary lists the files: {stdout}"
    );
    assert!(
        stdout.contains("lines/s"),
        "summary gives throughput: {stdout}"
    );
}

fn labels(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("labels.jsonl"))
        .expect("labels.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("label is JSON"))
        .collect()
}

#[test]
fn binary_writes_consistent_zeek_logs_with_separate_labels() {
    let dir = tempfile::tempdir().unwrap();
    simulate_binary(dir.path(), &["--hours", "4", "--plcs", "5", "--seed", "7"]);

    let logs: BTreeMap<&str, Tsv> = LOGS
        .iter()
        .map(|name| (*name, read_tsv(&dir.path().join(format!("{name}.log")))))
        .collect();
    for (name, log) in &logs {
        assert_eq!(log.header["path"], *name);
        assert_eq!(log.header["open"], "2026-10-01-00-00-00");
        assert_eq!(log.header["close"], "2026-10-01-04-00-00");
    }
    // The layouts are the current Zeek and ICSNPP ones.
    assert_eq!(
        logs["conn"].fields.last().map(String::as_str),
        Some("ip_proto")
    );
    assert!(logs["modbus"].fields.contains(&"pdu_type".to_owned()));
    assert!(
        logs["modbus_detailed"]
            .fields
            .contains(&"response_values".to_owned())
    );

    let conn_uids: BTreeSet<&str> = logs["conn"].values("uid").collect();
    assert_eq!(
        conn_uids.len(),
        logs["conn"].rows.len(),
        "conn.log uids are unique"
    );
    for (name, log) in &logs {
        assert!(
            !log.rows.is_empty() || *name == "dnp3_control",
            "{name}.log has records"
        );
        for uid in log.values("uid") {
            assert!(
                conn_uids.contains(uid),
                "{name}.log uid {uid} has no conn.log record"
            );
        }
    }

    // Every scenario is labelled, with its technique, and its connections are in the logs.
    let labels = labels(dir.path());
    let scenarios: BTreeSet<&str> = labels
        .iter()
        .filter_map(|label| label["scenario"].as_str())
        .collect();
    assert_eq!(
        scenarios,
        BTreeSet::from([
            "dnp3_cold_restart",
            "exception_enumeration",
            "forged_write",
            "lateral_movement",
            "network_scan",
            "new_source",
            "setpoint_drift",
            "write_from_reader"
        ])
    );
    let attack_start = 1_790_812_800.0 + 2.0 * 3600.0;
    for label in &labels {
        let uids = label["uids"].as_array().expect("uids");
        assert!(!uids.is_empty(), "{label}");
        for uid in uids {
            assert!(
                conn_uids.contains(uid.as_str().unwrap()),
                "label uid {uid} not in conn.log"
            );
        }
        assert!(label["technique_id"].as_str().unwrap().starts_with("T08"));
        assert!(
            label["start_ts"].as_f64().unwrap() >= attack_start,
            "attacks fall in the last half"
        );
    }

    // Scenario evidence, joined by uid as an evaluator would.
    let uids_of = |scenario: &str| -> BTreeSet<String> {
        labels
            .iter()
            .find(|label| label["scenario"] == scenario)
            .map(|label| {
                label["uids"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|uid| uid.as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let modbus = &logs["modbus"];
    let (uid_col, func_col) = (modbus.column("uid"), modbus.column("func"));
    let writer_uids = uids_of("write_from_reader");
    assert!(
        modbus
            .rows
            .iter()
            .any(|row| writer_uids.contains(&row[uid_col]) && row[func_col].starts_with("WRITE"))
    );
    let restart_uids = uids_of("dnp3_cold_restart");
    let dnp3 = &logs["dnp3"];
    let fc_col = dnp3.column("fc_request");
    assert!(
        dnp3.rows
            .iter()
            .any(|row| restart_uids.contains(&row[1]) && row[fc_col] == "COLD_RESTART")
    );
    let conn = &logs["conn"];
    let state_col = conn.column("conn_state");
    // The outstation restarts: its polling session is reset and the next response says so.
    let iin_col = dnp3.column("iin");
    assert!(
        dnp3.rows.iter().any(|row| row[iin_col] == "32768"),
        "IIN device restart after the cold restart"
    );
    assert!(
        conn.rows
            .iter()
            .any(|row| row[5] == "20000" && row[state_col] == "RSTR"),
        "the outstation resets its polling session"
    );
    let scan_uids = uids_of("network_scan");
    let scan_states: BTreeSet<&str> = conn
        .rows
        .iter()
        .filter(|row| scan_uids.contains(&row[1]))
        .map(|row| row[state_col].as_str())
        .collect();
    assert_eq!(scan_states, BTreeSet::from(["REJ", "RSTO", "S0"]));
    let rogue_uids = uids_of("new_source");
    let plant: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plant.json")).unwrap())
            .unwrap();
    let assets: BTreeSet<&str> = plant["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|host| host["ip"].as_str().unwrap())
        .collect();
    for row in conn.rows.iter().filter(|row| rogue_uids.contains(&row[1])) {
        assert!(
            !assets.contains(row[2].as_str()),
            "the rogue master is no plant asset"
        );
        assert_eq!(row[5], "502");
    }
    let roles: BTreeSet<&str> = plant["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|host| host["role"].as_str().unwrap())
        .collect();
    for role in [
        "plc",
        "hmi",
        "scada",
        "historian",
        "engineering_workstation",
        "vendor_jump_host",
        "dnp3_outstation",
    ] {
        assert!(roles.contains(role), "plant.json has a {role}");
    }

    // No label information leaks into the logs.
    for name in LOGS {
        let text = std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap();
        for needle in ["T08", "attack", "scenario", "rogue", "drift", "scan"] {
            assert!(!text.contains(needle), "{name}.log contains {needle:?}");
        }
    }
}

#[test]
fn json_output_is_one_zeek_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    simulate_binary(
        dir.path(),
        &["--hours", "2", "--plcs", "3", "--json", "--format", "table"],
    );
    for name in LOGS {
        let text = std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap();
        for (line_no, line) in text.lines().enumerate() {
            let value: Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("{name}.log:{}: {error}: {line}", line_no + 1));
            assert!(
                value["ts"].is_f64(),
                "{name}.log:{}: ts is a number",
                line_no + 1
            );
            assert!(value["uid"].is_string());
            assert!(
                value["id.orig_h"].is_string(),
                "dotted names as Zeek writes them"
            );
            assert!(value["id.resp_p"].is_u64());
        }
    }
    let conn = std::fs::read_to_string(dir.path().join("conn.log")).unwrap();
    let first: Value = serde_json::from_str(conn.lines().next().unwrap()).unwrap();
    assert!(
        first.get("tunnel_parents").is_none(),
        "unset fields are left out"
    );
}

fn small_config(hours: u32) -> PlantConfig {
    PlantConfig {
        plcs: 3,
        hours: Some(hours),
        ..PlantConfig::default()
    }
}

fn dir_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_gives_byte_identical_output_and_another_seed_does_not() {
    let config = small_config(2).check().unwrap();
    let (first, second, third) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    run(&config, first.path()).unwrap();
    run(&config, second.path()).unwrap();
    let other = PlantConfig {
        seed: 43,
        ..small_config(2)
    }
    .check()
    .unwrap();
    run(&other, third.path()).unwrap();
    let (a, b, c) = (
        dir_bytes(first.path()),
        dir_bytes(second.path()),
        dir_bytes(third.path()),
    );
    assert_eq!(
        a.len(),
        11,
        "eight logs, plant.json, inventory.yaml and labels.jsonl: {:?}",
        a.keys()
    );
    assert!(a == b, "same seed, same bytes");
    assert_ne!(a["modbus.log"], c["modbus.log"]);
    assert_eq!(
        a["plant.json"].len(),
        c["plant.json"].len(),
        "the topology does not depend on the seed"
    );
}

#[test]
fn gzip_output_holds_the_same_logs() {
    let (plain, zipped) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(&small_config(1).check().unwrap(), plain.path()).unwrap();
    let config = PlantConfig {
        gzip: true,
        ..small_config(1)
    };
    let summary = run(&config.check().unwrap(), zipped.path()).unwrap();
    for name in LOGS {
        let file = std::fs::File::open(zipped.path().join(format!("{name}.log.gz"))).unwrap();
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(file), &mut text).unwrap();
        assert!(
            text == std::fs::read(plain.path().join(format!("{name}.log"))).unwrap(),
            "{name}"
        );
    }
    assert!(
        summary
            .files
            .iter()
            .all(|file| file.file.ends_with(".log.gz"))
    );
}

/// Seconds between successive HMI requests on each HMI-to-PLC edge.
#[test]
fn hmi_polling_runs_every_half_second_with_jitter() {
    let dir = tempfile::tempdir().unwrap();
    let config = PlantConfig {
        attacks: AttackSelection::none(),
        ..small_config(1)
    };
    run(&config.check().unwrap(), dir.path()).unwrap();
    let modbus = read_tsv(&dir.path().join("modbus.log"));
    let mut last: HashMap<(String, String), f64> = HashMap::new();
    let mut intervals = Vec::new();
    for row in &modbus.rows {
        if !row[2].starts_with("10.10.2.") || row[9] != "REQ" {
            continue;
        }
        let ts: f64 = row[0].parse().unwrap();
        if let Some(previous) = last.insert((row[2].clone(), row[4].clone()), ts) {
            intervals.push(ts - previous);
        }
    }
    assert!(intervals.len() > 10_000, "{} intervals", intervals.len());
    intervals.sort_by(f64::total_cmp);
    let median = intervals[intervals.len() / 2];
    let p05 = intervals[intervals.len() / 20];
    let p95 = intervals[intervals.len() * 19 / 20];
    assert!((0.49..0.51).contains(&median), "median {median}");
    assert!(p95 - p05 > 0.005, "polling has jitter: {p05}..{p95}");
    assert!(p95 - p05 < 0.1, "but stays regular: {p05}..{p95}");
}

#[test]
fn maintenance_happens_on_the_configured_weekday_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = PlantConfig {
        plcs: 3,
        days: 15,
        attacks: AttackSelection::none(),
        maintenance_weekday: Weekday::Friday,
        hmi_poll_ms: 60_000,
        ..PlantConfig::default()
    };
    run(&config.check().unwrap(), dir.path()).unwrap();
    let conn = read_tsv(&dir.path().join("conn.log"));
    let mut days = BTreeSet::new();
    for row in conn
        .rows
        .iter()
        .filter(|row| row[2] == "10.10.3.30" && row[5] == "502")
    {
        let ts: f64 = row[0].parse().unwrap();
        let instant = time::OffsetDateTime::from_unix_timestamp(ts as i64).unwrap();
        assert_eq!(
            instant.weekday(),
            Weekday::Friday,
            "maintenance at {instant}"
        );
        assert!(
            (9..12).contains(&instant.hour()),
            "maintenance at {instant}"
        );
        days.insert(instant.date());
    }
    // 2026-10-01 is a Thursday: the Fridays are 2, 9 and (outside 15 days) 16 October.
    assert_eq!(days.len(), 2, "{days:?}");
}

#[test]
fn setpoint_drift_writes_creep_upwards() {
    let dir = tempfile::tempdir().unwrap();
    let config = PlantConfig {
        attacks: "setpoint_drift".parse().unwrap(),
        ..small_config(12)
    };
    let summary = run(&config.check().unwrap(), dir.path()).unwrap();
    let uids: BTreeSet<&str> = summary.labels[0].uids.iter().map(String::as_str).collect();
    let detailed = read_tsv(&dir.path().join("modbus_detailed.log"));
    let (func, values) = (detailed.column("func"), detailed.column("request_values"));
    let written: Vec<Vec<u64>> = detailed
        .rows
        .iter()
        .filter(|row| uids.contains(row[1].as_str()) && row[func] == "WRITE_SINGLE_REGISTER")
        .map(|row| {
            row[values]
                .split(',')
                .map(|value| value.parse().unwrap())
                .collect()
        })
        .collect();
    assert!(written.len() >= 4);
    let setpoints: Vec<u64> = written.iter().map(|values| values[0]).collect();
    assert!(
        setpoints.windows(2).all(|pair| pair[0] <= pair[1]),
        "{setpoints:?}"
    );
    assert!(setpoints.last() > setpoints.first());
    let conn = read_tsv(&dir.path().join("conn.log"));
    let orig_bytes: Vec<u64> = conn
        .rows
        .iter()
        .filter(|row| uids.contains(row[1].as_str()))
        .map(|row| row[conn.column("orig_bytes")].parse().unwrap())
        .collect();
    assert!(
        orig_bytes.last() > orig_bytes.first(),
        "orig_bytes drift: {orig_bytes:?}"
    );
}

#[test]
fn bad_arguments_get_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args([
            "simulate",
            "--hours",
            "1",
            "--attacks",
            "new_source,port_knock",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("run otsentry");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown attack scenario \"port_knock\""),
        "{stderr}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(["simulate", "--hours", "1", "--plcs", "0", "--out"])
        .arg(dir.path())
        .output()
        .expect("run otsentry");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("plcs must be between 1 and 1000, got 0"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written on bad input"
    );
}
