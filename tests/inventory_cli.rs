//! `otsentry inventory check` and `otsentry assets discover`, run as the real binary on real
//! files: the example inventory, broken files, and a small simulated plant.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Runs the binary and returns (exit code, stdout, stderr).
fn otsentry(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

#[test]
fn the_example_inventory_checks_and_is_explained() {
    let example = repo("examples/inventory/plant.yaml");
    let (code, stdout, stderr) = otsentry(&["inventory", "check", path(&example)]);
    assert_eq!(code, Some(0), "{stderr}");
    for fragment in [
        "The inventory is valid: 5 zones, 4 conduits, 9 assets.",
        "Zone control (SL-T 3) covers 10.10.10.0/24, 10.10.2.0/24",
        "Conduit scada-to-rtu joins operations to field (only operations starts connections) for dnp3 tcp/20000.",
        "(Europe/Berlin)",
        "2 safe limits on 1 asset.",
    ] {
        assert!(
            stdout.contains(fragment),
            "missing {fragment:?} in\n{stdout}"
        );
    }
    let (code, stdout, _) = otsentry(&["inventory", "check", "--format", "json", path(&example)]);
    assert_eq!(code, Some(0));
    let value: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(value["valid"], true);
    assert_eq!(value["assets"], 9);
}

#[test]
fn bad_files_are_refused_with_file_and_line() {
    let end = repo("tests/data/inventory/end_before_start.yaml");
    let unknown = repo("tests/data/inventory/unknown_zone.yaml");
    let (code, stdout, stderr) = otsentry(&["inventory", "check", path(&end), path(&unknown)]);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("inventory has 2 mistakes"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}:16: end: the slot ends at 09:00", path(&end))),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "{}:5: zone: asset `plc-020` names zone `kontrol`",
            path(&unknown)
        )),
        "{stderr}"
    );
    let (code, _, stderr) = otsentry(&["inventory", "check", "/nonexistent/inventory.yaml"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("cannot read inventory file /nonexistent/inventory.yaml"),
        "{stderr}"
    );
}

/// A one-day plant of 4 PLCs, polled slowly so the run takes a second, with its maintenance on
/// the simulated day.
fn small_plant(dir: &Path) {
    let (code, _, stderr) = otsentry(&[
        "simulate",
        "--out",
        path(dir),
        "--days",
        "1",
        "--plcs",
        "4",
        "--poll-ms",
        "5000",
        "--maintenance-day",
        "thursday",
        "--attack-days",
        "1",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn discover_finds_the_plant_and_its_differences_from_the_inventory() {
    let dir = tempfile::tempdir().unwrap();
    small_plant(dir.path());
    let inventory = dir.path().join("inventory.yaml");
    let (code, stdout, stderr) = otsentry(&["inventory", "check", path(&inventory)]);
    assert_eq!(code, Some(0), "the simulator's inventory checks: {stderr}");
    assert!(stdout.contains("11 assets"), "{stdout}");

    let candidate = dir.path().join("candidate.yaml");
    let (code, stdout, stderr) = otsentry(&[
        "assets",
        "discover",
        "--log",
        path(dir.path()),
        "--inventory",
        path(&inventory),
        "--out",
        path(&candidate),
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    for fragment in [
        "Traffic shows the network as it is, not as it should be",
        // The new_source attack's rogue master is no asset of the plant.
        "Unknown host 10.10.3.77: not in the inventory",
        // The network scan from the vendor's host crosses zones no conduit joins.
        "Outside conduits: vendor-jump-01 (10.10.9.5) to plc-001 (10.10.10.10)",
        "no conduit joins zone dmz and zone control",
        "Unexpected partners of plc-002 (10.10.10.11): 10.10.3.77",
        "Wrote a candidate inventory of 12 assets",
    ] {
        assert!(
            stdout.contains(fragment),
            "missing {fragment:?} in\n{stdout}"
        );
    }
    assert!(
        !stdout.contains("Unknown host 10.10.10.14"),
        "a silent scan target is no host:\n{stdout}"
    );

    let text = std::fs::read_to_string(&candidate).unwrap();
    assert!(text.starts_with("# Candidate inventory written by `otsentry assets discover`"));
    for fragment in [
        "name: plc-001\n  type: plc",
        "name: rtu-01\n  type: rtu",
        "name: hmi-01\n  type: hmi",
        "name: ews-01\n  type: ews",
        "name: io-004\n  type: other",
        "name: host-10-10-3-77",
        "guessed from traffic: answers modbus tcp/502",
    ] {
        assert!(text.contains(fragment), "missing {fragment:?} in\n{text}");
    }
    let (code, stdout, stderr) = otsentry(&["inventory", "check", path(&candidate)]);
    assert_eq!(code, Some(0), "the candidate checks: {stderr}");
    assert!(stdout.contains("12 assets"), "{stdout}");

    // Without an inventory the candidate goes to standard output and the report to standard error.
    let (code, stdout, stderr) = otsentry(&["assets", "discover", "--log", path(dir.path())]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("# Candidate inventory"), "{stdout}");
    assert!(stderr.contains("not as it should be"), "{stderr}");
    assert!(!stdout.contains("zones:"), "no zones without an inventory");
}

#[test]
fn discover_refuses_a_bad_inventory_and_missing_logs() {
    let unknown = repo("tests/data/inventory/unknown_zone.yaml");
    let (code, _, stderr) = otsentry(&[
        "assets",
        "discover",
        "--log",
        "/nonexistent/logs",
        "--inventory",
        path(&unknown),
    ]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("unknown_zone.yaml:5"), "{stderr}");
    let (code, _, stderr) = otsentry(&["assets", "discover", "--log", "/nonexistent/logs"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("reading the logs"), "{stderr}");
}
