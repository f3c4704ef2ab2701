//! The simulator's output read back with the project's own Zeek reader: every file, in TSV, JSON
//! and gzip, reads without a single problem, and the typed views accept every record.

use std::collections::BTreeMap;
use std::path::PathBuf;

use otsentry::simulate::{PlantConfig, Rotation, SimulationSummary, run};
use zeek::write::LogFormat;
use zeek::{
    CipColumns, CipIoColumns, ConnColumns, Dnp3Columns, Dnp3ControlColumns, EnipColumns, LogReader,
    ModbusColumns, ModbusDetailedColumns, ReadOptions, ViewCache,
};

/// Reads every log file with the typed view of its path; returns the records per path.
fn read_back(files: &[PathBuf]) -> BTreeMap<String, u64> {
    let mut reader = LogReader::open(files, &ReadOptions::default()).expect("discover logs");
    let mut conn = ViewCache::<ConnColumns>::new();
    let mut modbus = ViewCache::<ModbusColumns>::new();
    let mut detailed = ViewCache::<ModbusDetailedColumns>::new();
    let mut dnp3 = ViewCache::<Dnp3Columns>::new();
    let mut control = ViewCache::<Dnp3ControlColumns>::new();
    let mut enip = ViewCache::<EnipColumns>::new();
    let mut cip = ViewCache::<CipColumns>::new();
    let mut cip_io = ViewCache::<CipIoColumns>::new();
    let mut counts = BTreeMap::new();
    while let Some(record) = reader.next_record().expect("read") {
        let path = record.header().path().unwrap_or("?").to_owned();
        let ok = match path.as_str() {
            "conn" => conn.read(&record).is_ok(),
            "modbus" => modbus.read(&record).is_ok(),
            "modbus_detailed" => detailed.read(&record).is_ok(),
            "dnp3" => dnp3.read(&record).is_ok(),
            "dnp3_control" => control.read(&record).is_ok(),
            "enip" => enip.read(&record).is_ok(),
            "cip" => cip.read(&record).is_ok(),
            "cip_io" => cip_io.read(&record).is_ok(),
            other => panic!("unexpected log path {other}"),
        };
        assert!(
            ok,
            "{path} line {} does not fit its typed view",
            record.line_number()
        );
        *counts.entry(path).or_insert(0) += 1;
    }
    let problems = reader.problems();
    assert_eq!(problems.total(), 0, "problems: {:?}", problems.kept());
    counts
}

fn check(config: PlantConfig) {
    let dir = tempfile::tempdir().unwrap();
    let summary: SimulationSummary = run(&config.check().unwrap(), dir.path()).unwrap();
    let files = summary.log_paths();
    assert_eq!(files.len(), 8);
    let counts = read_back(&files);
    for file in &summary.files {
        assert_eq!(
            counts.get(&file.path).copied().unwrap_or(0),
            file.lines,
            "{} records read back",
            file.file
        );
    }
}

fn small() -> PlantConfig {
    PlantConfig {
        plcs: 5,
        hours: Some(2),
        ..PlantConfig::default()
    }
}

#[test]
fn tsv_output_reads_back_without_a_problem() {
    check(small());
}

#[test]
fn json_output_reads_back_without_a_problem() {
    check(PlantConfig {
        format: LogFormat::Json,
        ..small()
    });
}

#[test]
fn gzip_output_reads_back_without_a_problem() {
    check(PlantConfig {
        gzip: true,
        ..small()
    });
}

#[test]
fn hourly_rotation_gives_a_readable_archive_cut_at_the_hour() {
    let dir = tempfile::tempdir().unwrap();
    let config = PlantConfig {
        plcs: 3,
        hours: Some(3),
        rotation: Rotation::Hourly,
        ..PlantConfig::default()
    };
    let summary = run(&config.check().unwrap(), dir.path()).unwrap();
    let files = summary.log_paths();
    assert_eq!(files.len(), 8 * 3, "three files per log: {files:?}");
    let counts = read_back(&files);
    for file in &summary.files {
        assert_eq!(
            file.rotated,
            [
                format!("{}.2026-10-01-00-00-00.log", file.path),
                format!("{}.2026-10-01-01-00-00.log", file.path)
            ]
        );
        assert_eq!(counts.get(&file.path).copied().unwrap_or(0), file.lines);
    }
    // Requests land in the file open at their poll (the second request of a poll may trail the
    // hour by milliseconds, as in a real rotation).
    let start = 1_790_812_800.0;
    for (hour, name) in [
        (0.0, "modbus.2026-10-01-00-00-00.log"),
        (1.0, "modbus.2026-10-01-01-00-00.log"),
        (2.0, "modbus.log"),
    ] {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let mut n_requests = 0;
        for line in text.lines().filter(|line| line.contains("\tREQ\t")) {
            let ts: f64 = line.split('\t').next().unwrap().parse().unwrap();
            assert!(
                ts >= start + hour * 3600.0 && ts < start + (hour + 1.0) * 3600.0 + 1.0,
                "{name}: {ts}"
            );
            n_requests += 1;
        }
        assert!(n_requests > 1000, "{name}: {n_requests} requests");
    }
}

/// The simulator writes `plant.json` and `labels.jsonl` beside its logs: reading the whole
/// directory must take the logs and leave those alone, with not a single problem.
#[test]
fn the_whole_simulated_directory_reads_without_problems() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plant");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(["simulate", "--hours", "1", "--plcs", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(out.join("plant.json").exists());

    let mut reader = LogReader::open(&[&out], &ReadOptions::default()).unwrap();
    let mut n_records = 0u64;
    while reader.next_record().unwrap().is_some() {
        n_records += 1;
    }
    assert!(n_records > 1000, "read only {n_records} records");
    assert_eq!(
        reader.problems().total(),
        0,
        "{:?}",
        reader.problems().kept()
    );
}
