//! Typed views over real ICSNPP and Zeek logs of different vintages (fixtures copied from
//! ../shared/data/zeek-real, see tests/data/zeek/README.md; the 2016 Bro and the JSON logs carry
//! no licence, so they are read from the shared data when it is present): the same view reads
//! every schema version, by column name.

#[path = "../../../tests/shared_data/mod.rs"]
mod shared_data;

use std::path::{Path, PathBuf};

use zeek::{
    CipColumns, CipIdentityColumns, CipIoColumns, Columns, ConnColumns, Direction, Dnp3Columns,
    Dnp3ControlColumns, Dnp3ObjectsColumns, EnipColumns, FileReader, ModbusColumns,
    ModbusDetailedColumns, ModbusReadWriteMultipleRegistersColumns, ReadOptions, ViewCache,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/zeek/real")
        .join(name)
}

/// Reads every record of fixture `name` through view `C` and summarises each with `summary`.
fn rows<C: Columns, T>(name: &str, summary: impl FnMut(C::Row<'_>) -> T) -> Vec<T> {
    rows_of::<C, T>(&fixture(name), summary)
}

/// [`rows`] of the file at `path`.
fn rows_of<C: Columns, T>(path: &Path, mut summary: impl FnMut(C::Row<'_>) -> T) -> Vec<T> {
    let name = path.display();
    let mut reader = FileReader::open(path, &ReadOptions::default()).unwrap();
    let mut view = ViewCache::<C>::new();
    let mut out = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        let row = view
            .read(&record)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        out.push(summary(row));
    }
    assert_eq!(reader.problems().total(), 0, "{name}");
    out
}

#[test]
fn conn_reads_zeek_2021_and_current_layouts() {
    for (name, count) in [
        ("conn-2021.log", 2),
        ("conn-btest-masked.log", 2),
        ("conn-zeek-ip-proto.log", 9),
    ] {
        let services = rows::<ConnColumns, _>(name, |conn| conn.service.raw().map(str::to_owned));
        assert_eq!(services.len(), count, "{name}");
    }
}

#[test]
fn conn_reads_the_bro_2016_layout() {
    let Some(file) = shared_data::shared_data("zeek-real/automayt-ICS-pcap/MODBUS/Modbus/conn.log")
    else {
        return;
    };
    let first = rows_of::<ConnColumns, _>(&file, |conn| {
        (
            conn.common.id.resp_p,
            conn.service.is_empty(),
            conn.orig_bytes,
            conn.local_orig,
            conn.resp_pkts,
        )
    });
    assert_eq!(first, vec![(502, true, Some(612), None, Some(51))]);
}

#[test]
fn modbus_reads_func_without_unit_and_pdu_type_in_bro_2016_and_json() {
    let (Some(bro), Some(json)) = (
        shared_data::shared_data("zeek-real/automayt-ICS-pcap/MODBUS/Modbus/modbus.log"),
        shared_data::shared_data("zeek-real/netshare-lemay-run8/modbus.log"),
    ) else {
        return;
    };
    let old = rows_of::<ModbusColumns, _>(&bro, |row| {
        (
            row.func.map(|func| func.into_owned()),
            row.unit,
            row.direction,
        )
    });
    assert_eq!(old.len(), 51);
    assert_eq!(
        old[0],
        (Some("READ_HOLDING_REGISTERS".to_owned()), None, None)
    );
    let json = rows_of::<ModbusColumns, _>(&json, |row| (row.unit, row.direction));
    assert_eq!(json.len(), 13_022);
    assert_eq!(json[0], (Some(1), Some(Direction::Request)));
}

#[test]
fn modbus_reads_func_with_unit_and_pdu_type() {
    let new = rows::<ModbusColumns, _>("modbus-zeek.log", |row| {
        (
            row.tid,
            row.unit,
            row.direction,
            row.exception.map(|text| text.into_owned()),
        )
    });
    assert_eq!(
        new[0],
        (
            Some(0),
            Some(1),
            Some(Direction::Response),
            Some("ILLEGAL_FUNCTION".to_owned())
        )
    );
    assert_eq!(new[1].2, Some(Direction::Request));
}

#[test]
fn modbus_detailed_reads_the_2021_and_current_schemas() {
    let old = rows::<ModbusDetailedColumns, _>("modbus_detailed-2021.log", |row| {
        (
            row.unit,
            row.direction,
            row.address,
            row.quantity,
            row.values
                .map(|value| value.into_owned())
                .collect::<Vec<_>>(),
        )
    });
    assert_eq!(old.len(), 46);
    assert_eq!(
        old[0],
        (Some(4), Some(Direction::Request), Some(1), Some(1), vec![])
    );
    assert_eq!(old[1].4, vec!["T", "F", "F", "F", "F", "F", "F", "F"]);
    let new = rows::<ModbusDetailedColumns, _>("modbus_detailed-btest.log", |row| {
        (
            row.tid,
            row.unit,
            row.matched,
            row.request_values.count(),
            row.response_values.count(),
        )
    });
    assert_eq!(new.len(), 26);
    assert_eq!(new[0], (Some(1), Some(4), Some(true), 0, 1));
    assert_eq!(new[1], (Some(2), Some(5), Some(true), 0, 8));
}

#[test]
fn modbus_read_write_multiple_registers_reads_both_schemas() {
    for name in [
        "modbus_read_write_multiple_registers-2021.log",
        "modbus_read_write_multiple_registers-btest.log",
    ] {
        let got = rows::<ModbusReadWriteMultipleRegistersColumns, _>(name, |row| {
            (
                row.direction,
                row.write_start_address,
                row.write_registers.count(),
                row.read_registers
                    .map(|value| value.into_owned())
                    .collect::<Vec<_>>(),
            )
        });
        assert_eq!(got.len(), 4, "{name}");
        assert_eq!(
            got[0],
            (Some(Direction::Request), Some(2), 1, vec![]),
            "{name}"
        );
        assert_eq!(
            got[1],
            (Some(Direction::Response), None, 0, vec!["170".to_owned()]),
            "{name}"
        );
    }
}

#[test]
fn dnp3_views_read_function_codes_and_controls() {
    let dnp3 = rows::<Dnp3Columns, _>("dnp3-zeek.log", |row| {
        (
            row.fc_request.map(|text| text.into_owned()),
            row.fc_reply.map(|text| text.into_owned()),
            row.iin,
        )
    });
    assert_eq!(
        dnp3[0],
        (
            Some("SELECT".to_owned()),
            Some("RESPONSE".to_owned()),
            Some(0)
        )
    );
    for name in [
        "dnp3_control-baseline-head-head.log",
        "dnp3_control-examples-2021-head.log",
    ] {
        let control = rows::<Dnp3ControlColumns, _>(name, |row| {
            (
                row.function_code.map(|text| text.into_owned()),
                row.index_number,
                row.on_time,
                row.operation_type.map(|text| text.into_owned()),
            )
        });
        assert_eq!(
            control[0],
            (
                Some("SELECT".to_owned()),
                Some(8),
                Some(500),
                Some("Pulse Off".to_owned())
            ),
            "{name}"
        );
    }
    let objects = rows::<Dnp3ObjectsColumns, _>("dnp3_objects-baseline-head-head.log", |row| {
        (row.direction, row.object_count, row.range_high)
    });
    assert_eq!(
        objects[1],
        (Some(Direction::Response), Some(120), Some(119))
    );
}

#[test]
fn enip_and_cip_views_read_hex_codes_and_directions() {
    for name in ["enip-baseline-2023-head.log", "enip-examples-2021-head.log"] {
        let enip = rows::<EnipColumns, _>(name, |row| {
            (
                row.command_code,
                row.command.map(|text| text.into_owned()),
                row.length,
            )
        });
        assert_eq!(
            enip[0],
            (Some(0x70), Some("Send Unit Data".to_owned()), Some(186)),
            "{name}"
        );
    }
    for name in [
        "cip-baseline-2023-head.log",
        "cip-examples-2021-head.log",
        "cip-field-update-examples-head.log",
    ] {
        let cip = rows::<CipColumns, _>(name, |row| {
            (
                row.direction,
                row.service_code,
                row.class_id,
                row.instance_id,
                row.attribute_id,
            )
        });
        assert_eq!(
            cip[1],
            (
                Some(Direction::Request),
                Some(0x03),
                Some(0x01),
                Some(0x01),
                None
            ),
            "{name}"
        );
    }
    let io = rows::<CipIoColumns, _>("cip_io-baseline-2023-head.log", |row| {
        (row.sequence_number, row.data_length)
    });
    assert_eq!(io[0], (Some(4_166_875), Some(6)));
    for name in ["cip_identity-btest.log", "cip_identity-2021.log"] {
        let identity = rows::<CipIdentityColumns, _>(name, |row| {
            (
                row.vendor_id,
                row.product_name.map(|text| text.into_owned()),
            )
        });
        assert_eq!(
            identity,
            vec![(Some(1), Some("1756-ENBT/A".to_owned()))],
            "{name}"
        );
    }
}

#[test]
fn a_view_on_the_wrong_log_names_the_missing_column() {
    let mut reader =
        FileReader::open(&fixture("modbus-zeek.log"), &ReadOptions::default()).unwrap();
    let record = reader.next_record().unwrap().unwrap();
    let error = ConnColumns::resolve(record.header()).unwrap_err();
    assert!(
        error.to_string().starts_with("the conn view needs a column named proto, which the modbus header does not have (it has: ts, uid,"),
        "{error}"
    );
}

#[test]
fn a_value_that_does_not_parse_names_file_line_and_column() {
    let log = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\n1.0\tC1\t10.0.0.1\t99999\t10.0.0.2\t502\ttcp\n";
    let mut reader = FileReader::from_reader(
        log.as_bytes(),
        Some(Path::new("x/conn.log")),
        &ReadOptions::default(),
    )
    .unwrap();
    let record = reader.next_record().unwrap().unwrap();
    let columns = ConnColumns::resolve(record.header()).unwrap();
    let error = columns.read(&record).unwrap_err();
    assert_eq!(
        error.to_string(),
        "x/conn.log:2: column id.orig_p: expected a port number, found \"99999\""
    );
}

/// The decoder notes whether a line holds a backslash at all, so that text columns skip their
/// own search when it does not: a backslash anywhere still makes the escaped columns errors,
/// and a backslash in another column leaves the rest of the line readable.
#[test]
fn escaped_text_in_a_plain_column_is_an_error_wherever_the_backslash_is() {
    let header =
        "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\thistory\n";
    // Long enough lines that the backslash sits in a 16-byte chunk, an 8-byte one or the tail.
    let log = format!(
        "{header}\
         1.0\tC1\\x41\t10.0.0.1\t40000\t10.0.0.2\t502\ttcp\tmodbus\tShADadFf\n\
         1.0\tC1\t10.0.0.1\t40000\t10.0.0.2\t502\ttcp\tmodbus\tShADad\\x46f\n\
         1.0\tC1\t10.0.0.1\t40000\t10.0.0.2\t502\ttcp\tmod\\x62us\tShADadFf\n\
         1.0\tC1\t10.0.0.1\t40000\t10.0.0.2\t502\ttcp\tmodbus\tShADadFf\n"
    );
    let mut reader = FileReader::from_reader(
        std::io::Cursor::new(log.into_bytes()),
        Some(Path::new("x/conn.log")),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut view = ViewCache::<ConnColumns>::new();
    let mut outcomes = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        outcomes.push(match view.read(&record) {
            Ok(conn) => Ok((
                conn.common.uid.to_owned(),
                conn.service.raw().map(str::to_owned),
            )),
            Err(error) => Err(error.to_string()),
        });
    }
    assert_eq!(
        outcomes,
        vec![
            Err(
                "x/conn.log:2: column uid: expected text without escapes, found \"C1\\\\x41\""
                    .to_owned()
            ),
            Err(
                "x/conn.log:3: column history: expected text without escapes, found \"ShADad\\\\x46f\""
                    .to_owned()
            ),
            Ok(("C1".to_owned(), Some("mod\\x62us".to_owned()))),
            Ok(("C1".to_owned(), Some("modbus".to_owned()))),
        ]
    );
}
