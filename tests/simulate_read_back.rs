//! The simulator's output read back with the project's own Zeek reader: every file, in TSV, JSON
//! and gzip, reads without a single problem, and the typed views accept every record.

use std::collections::BTreeMap;
use std::path::PathBuf;

use otsentry::simulate::{PlantConfig, SimulationSummary, run};
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
