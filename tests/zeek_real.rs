//! Every real Zeek log must read: files with a `#fields` header or in JSON without a single
//! problem and through the typed view of their log path, header-less `zeek-cut` output with the
//! clear error that asks for a field list. The BSD-licensed part is vendored in
//! tests/data/zeek-real and always read; the whole collection in ../shared/data/zeek-real (49
//! layouts, 2016 Bro to current Zeek; see its SOURCES.md) when it is present.

mod shared_data;

use shared_data::{shared_data, vendored};
use std::io::Read as _;
use std::path::Path;

use zeek::{
    CipColumns, CipIdentityColumns, CipIoColumns, Columns, ConnColumns, Dnp3Columns,
    Dnp3ControlColumns, Dnp3ObjectsColumns, EnipColumns, FileReader, ModbusColumns,
    ModbusDetailedColumns, ModbusReadWriteMultipleRegistersColumns, ReadOptions, Record, ViewCache,
    ZeekError,
};

/// True when the file declares its columns (`#fields`) or is JSON lines.
fn is_readable_kind(path: &Path) -> bool {
    let mut text = std::fs::read(path).unwrap_or_default();
    if text.starts_with(&[0x1f, 0x8b]) {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(text.as_slice())
            .read_to_end(&mut plain)
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        text = plain;
    }
    let text = String::from_utf8_lossy(&text);
    text.lines().any(|line| line.starts_with("#fields"))
        || text
            .lines()
            .find(|line| !line.starts_with('#') && !line.trim().is_empty())
            .is_some_and(|line| line.starts_with('{'))
}

/// Typed views for the logs otsentry uses, resolved per header.
#[derive(Default)]
struct Views {
    conn: ViewCache<ConnColumns>,
    modbus: ViewCache<ModbusColumns>,
    modbus_detailed: ViewCache<ModbusDetailedColumns>,
    modbus_rwmr: ViewCache<ModbusReadWriteMultipleRegistersColumns>,
    dnp3: ViewCache<Dnp3Columns>,
    dnp3_control: ViewCache<Dnp3ControlColumns>,
    dnp3_objects: ViewCache<Dnp3ObjectsColumns>,
    enip: ViewCache<EnipColumns>,
    cip: ViewCache<CipColumns>,
    cip_io: ViewCache<CipIoColumns>,
    cip_identity: ViewCache<CipIdentityColumns>,
}

fn check<C: Columns>(
    cache: &mut ViewCache<C>,
    record: &Record<'_>,
) -> Result<&'static str, String> {
    cache
        .read(record)
        .map(|_| C::VIEW)
        .map_err(|error| error.to_string())
}

impl Views {
    /// Reads `record` through the view of its log path; `Ok(None)` for logs without a view.
    fn read(
        &mut self,
        log_path: &str,
        record: &Record<'_>,
    ) -> Result<Option<&'static str>, String> {
        let view = match log_path {
            "conn" => check(&mut self.conn, record),
            "modbus" => check(&mut self.modbus, record),
            "modbus_detailed" => check(&mut self.modbus_detailed, record),
            "modbus_read_write_multiple_registers" => check(&mut self.modbus_rwmr, record),
            "dnp3" => check(&mut self.dnp3, record),
            "dnp3_control" => check(&mut self.dnp3_control, record),
            "dnp3_objects" => check(&mut self.dnp3_objects, record),
            "enip" => check(&mut self.enip, record),
            "cip" => check(&mut self.cip, record),
            "cip_io" => check(&mut self.cip_io, record),
            "cip_identity" => check(&mut self.cip_identity, record),
            _ => return Ok(None),
        };
        view.map(Some)
    }
}

/// What reading every log under a directory found.
#[derive(Debug, Default)]
struct Tally {
    readable: usize,
    headerless: usize,
    views_seen: std::collections::BTreeSet<&'static str>,
    typed_records: u64,
}

/// Reads every log under `dir`, failing on any problem in a readable file.
fn read_every_log(dir: &Path) -> Tally {
    let files = zeek::discover(&[dir]).unwrap();
    let (mut readable, mut headerless, mut typed_records) = (0, 0, 0u64);
    let mut views_seen = std::collections::BTreeSet::new();
    for file in &files {
        let name = file.path.display().to_string();
        if !is_readable_kind(&file.path) {
            let error = FileReader::open(&file.path, &ReadOptions::default())
                .and_then(|mut reader| {
                    while reader.next_record()?.is_some() {}
                    Ok(())
                })
                .expect_err(&name);
            assert!(
                matches!(error, ZeekError::Headerless { .. }),
                "{name}: {error}"
            );
            assert!(
                error
                    .to_string()
                    .contains("pass the column names explicitly (--fields"),
                "{error}"
            );
            headerless += 1;
            continue;
        }
        readable += 1;
        let mut reader = FileReader::open(&file.path, &ReadOptions::default())
            .unwrap_or_else(|error| panic!("{error}"));
        let mut views = Views::default();
        let mut records = 0;
        while let Some(record) = reader
            .next_record()
            .unwrap_or_else(|error| panic!("{error}"))
        {
            records += 1;
            let log_path = record
                .header()
                .path()
                .map_or_else(|| file.log_path.clone(), str::to_owned);
            if let Some(view) = views
                .read(&log_path, &record)
                .unwrap_or_else(|error| panic!("{name}: {error}"))
            {
                typed_records += 1;
                views_seen.insert(view);
            }
        }
        assert_eq!(
            reader.problems().total(),
            0,
            "{name}: {:?}",
            reader.problems().kept()
        );
        assert!(records > 0, "{name} has no records");
    }
    Tally {
        readable,
        headerless,
        views_seen,
        typed_records,
    }
}

#[test]
fn every_vendored_real_log_reads_without_a_problem() {
    let tally = read_every_log(&vendored("zeek-real"));
    // Its README lists 100 logs, of which the same 5 are zeek-cut output without headers.
    assert_eq!((tally.readable, tally.headerless), (95, 5));
    assert_eq!(
        tally.views_seen.len(),
        11,
        "every typed view met real data: {:?}",
        tally.views_seen
    );
    assert!(tally.typed_records > 8_000, "{}", tally.typed_records);
}

#[test]
fn every_real_log_with_a_header_or_in_json_reads_without_a_problem() {
    let Some(dir) = shared_data("zeek-real") else {
        return;
    };
    let tally = read_every_log(&dir);
    // SOURCES.md lists 176 logs, of which 5 are zeek-cut output without headers.
    assert_eq!((tally.readable, tally.headerless), (171, 5));
    assert_eq!(
        tally.views_seen.len(),
        11,
        "every typed view met real data: {:?}",
        tally.views_seen
    );
    assert!(tally.typed_records > 60_000, "{}", tally.typed_records);
}
