//! Reading behaviour on small fixtures (tests/data/zeek at the repository root): header-driven
//! TSV with site columns and several blocks, JSON, gzip by content, rotation, and every kind of
//! bad input, each with the message a user sees.

use std::path::{Path, PathBuf};

use zeek::{
    Compression, ConnColumns, Field, FileReader, Format, LogReader, ProblemKind, ReadOptions,
    Timestamp, ViewCache, ZeekError, discover,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/zeek")
        .join(name)
}

/// Records as the text of each field, and problems as "line: what".
type Read = (Vec<Vec<Option<String>>>, Vec<String>);

/// Reads a whole file, returning (records as field texts, problems as "line: kind").
fn read_all(name: &str, options: &ReadOptions) -> Result<Read, ZeekError> {
    let mut reader = FileReader::open(&fixture(name), options)?;
    let mut records = Vec::new();
    while let Some(record) = reader.next_record()? {
        records.push(
            (0..record.len())
                .map(|idx| record.get(idx).as_str().map(str::to_owned))
                .collect(),
        );
    }
    let problems = reader
        .problems()
        .kept()
        .iter()
        .map(|problem| format!("{}: {}", problem.line, problem.kind))
        .collect();
    Ok((records, problems))
}

fn error_of(name: &str, options: &ReadOptions) -> String {
    match read_all(name, options) {
        Ok(_) => panic!("{name} read without error"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn site_columns_are_read_by_name_with_escapes_markers_and_sets() {
    let mut reader = FileReader::open(
        &fixture("made/conn-site-columns.log"),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut conns = ViewCache::<ConnColumns>::new();
    let mut seen = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        let conn = conns.read(&record).unwrap();
        let zone = record.by_name("site_zone").into_owned();
        let community = record.by_name("community_id");
        let tunnels: Vec<String> = record
            .set(record.header().index("tunnel_parents").unwrap())
            .map(|item| item.into_owned())
            .collect();
        seen.push((
            conn.common.uid.to_owned(),
            conn.service.contains("s7comm"),
            conn.orig_bytes,
            zone,
            community.as_str().map(str::to_owned),
            tunnels,
        ));
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].3, Field::Value("cell\tA".into()));
    assert_eq!(seen[1].3, Field::Value("cell,B".into()));
    assert_eq!(seen[2].3, Field::Empty);
    assert_eq!(seen[3].3, Field::Unset);
    assert_eq!(
        seen[3].4.as_deref(),
        Some("-"),
        "an escaped dash is a value, not unset"
    );
    assert!(
        !seen[0].1 && seen[1].1 && seen[2].1 && !seen[3].1,
        "s7comm in any order"
    );
    assert_eq!((seen[0].2, seen[2].2), (Some(12), None));
    assert_eq!(seen[3].5, vec!["CTun1", "CTun2"]);
    assert!(seen[0].5.is_empty(), "(empty) set has no items");
    assert_eq!(reader.problems().total(), 0);
}

#[test]
fn concatenated_blocks_switch_headers() {
    let mut reader = FileReader::open(
        &fixture("made/conn-concatenated.log"),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut widths = Vec::new();
    let mut conns = ViewCache::<ConnColumns>::new();
    while let Some(record) = reader.next_record().unwrap() {
        widths.push((record.len(), record.line_number()));
        conns.read(&record).unwrap();
    }
    assert_eq!(widths, vec![(21, 9), (22, 19), (22, 20)]);
}

#[test]
fn bad_lines_are_skipped_counted_and_located() {
    let (records, problems) = read_all("made/conn-bad-lines.log", &ReadOptions::default()).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        problems,
        vec![
            "10: expected 21 fields as in #fields, found 5",
            "11: expected 21 fields as in #fields, found 22",
            "12: invalid UTF-8 at byte 49 of the line",
        ]
    );
}

#[test]
fn strict_mode_stops_at_the_first_bad_line_with_its_location() {
    let strict = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    let message = error_of("made/conn-bad-lines.log", &strict);
    assert!(message.ends_with("conn-bad-lines.log:10: expected 21 fields as in #fields, found 5 (strict mode stops at the first bad line)"), "{message}");
}

#[test]
fn gzip_is_detected_by_content_not_name() {
    let mut reader = FileReader::open(
        &fixture("made/conn-gzip-content.log"),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut count = 0;
    while reader.next_record().unwrap().is_some() {
        count += 1;
    }
    assert_eq!(
        (count, reader.compression(), reader.format()),
        (2, Compression::Gzip, Some(Format::Tsv))
    );
}

#[test]
fn truncated_gzip_is_a_clear_error() {
    let message = error_of("made/conn-truncated.log.gz", &ReadOptions::default());
    assert!(
        message.contains("conn-truncated.log.gz is a truncated gzip file"),
        "{message}"
    );
}

#[test]
fn rotated_files_are_read_per_log_path_in_time_order() {
    let files = discover(&[fixture("made/rotation")]).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|file| {
            file.path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "conn.2026-11-01-10-00-00.log.gz",
            "conn.2026-11-01-11-00-00.log",
            "conn.log",
            "modbus.log"
        ]
    );
    let mut reader = LogReader::from_files(files, &ReadOptions::default());
    let mut conn_times = Vec::new();
    let mut paths = Vec::new();
    let mut conns = ViewCache::<ConnColumns>::new();
    while let Some(record) = reader.next_record().unwrap() {
        paths.push(record.header().path().unwrap().to_owned());
        if record.header().path() == Some("conn") {
            conn_times.push(conns.read(&record).unwrap().common.ts);
        }
    }
    assert_eq!(paths.iter().filter(|path| *path == "conn").count(), 6);
    assert_eq!(paths.last().map(String::as_str), Some("modbus"));
    assert!(
        conn_times.windows(2).all(|pair| pair[0] < pair[1]),
        "{conn_times:?}"
    );
}

#[test]
fn json_lines_map_onto_records_with_problems_for_bad_lines() {
    let mut reader =
        FileReader::open(&fixture("made/json/conn.log"), &ReadOptions::default()).unwrap();
    let mut conns = ViewCache::<ConnColumns>::new();
    let mut rows = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        let conn = conns.read(&record).unwrap();
        rows.push((
            conn.common.ts,
            conn.common.id.resp_p,
            conn.service
                .iter()
                .map(|item| item.into_owned())
                .collect::<Vec<_>>(),
            conn.orig_bytes,
            conn.local_orig,
            record.by_name("site_note").into_owned(),
            record.by_name("tunnel_parents").into_owned(),
        ));
    }
    assert_eq!(reader.format(), Some(Format::Json));
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].0,
        Timestamp::Micros(1_793_527_200_250_000),
        "ISO-8601 ts"
    );
    assert_eq!(rows[0].1, 502, "nested id object flattened to id.resp_p");
    assert_eq!(rows[0].4, Some(true));
    assert_eq!(rows[0].6, Field::Empty, "empty array");
    assert_eq!(rows[1].0, Timestamp::Micros(1_793_527_201_500_000));
    assert_eq!(rows[1].2, vec!["s7comm", "cotp"]);
    assert_eq!(rows[1].3, None, "null is unset");
    assert_eq!(
        rows[1].5,
        Field::Value("tab\there, comma".into()),
        "a key first seen on line 2"
    );
    assert_eq!(rows[2].2, vec!["-"], "a JSON string \"-\" is a value");
    let problems: Vec<(u64, bool)> = reader
        .problems()
        .kept()
        .iter()
        .map(|problem| {
            (
                problem.line,
                matches!(problem.kind, ProblemKind::Json { .. }),
            )
        })
        .collect();
    assert_eq!(problems, vec![(3, true), (5, true)]);
}

#[test]
fn masked_timestamps_are_read_as_masked() {
    let mut reader = FileReader::open(
        &fixture("real/conn-btest-masked.log"),
        &ReadOptions::default(),
    )
    .unwrap();
    let mut conns = ViewCache::<ConnColumns>::new();
    let mut masked = 0;
    while let Some(record) = reader.next_record().unwrap() {
        if conns.read(&record).unwrap().common.ts.is_masked() {
            masked += 1;
        }
    }
    assert_eq!(masked, 2);
    assert_eq!(reader.header().unwrap().open(), Some("XXXX-XX-XX-XX-XX-XX"));
}

#[test]
fn headerless_zeek_cut_output_suggests_a_field_list_and_reads_with_one() {
    let message = error_of("real/enip-noheader.log", &ReadOptions::default());
    assert!(
        message.contains("enip-noheader.log:2: tab-separated data with no #fields header (18 columns; looks like zeek-cut output): pass the column names explicitly (--fields"),
        "{message}"
    );
    let fields = "ts uid id.orig_h id.orig_p id.resp_h id.resp_p is_orig source_h source_p destination_h destination_p enip_command_code enip_command length session_handle enip_status sender_context options";
    let options = ReadOptions {
        fields: Some(fields.split(' ').map(str::to_owned).collect()),
        ..ReadOptions::default()
    };
    let (records, problems) = read_all("real/enip-noheader.log", &options).unwrap();
    assert_eq!((records.len(), problems.len()), (1, 0));
    assert_eq!(records[0][12].as_deref(), Some("Send Unit Data"));
}

#[test]
fn inputs_that_are_not_zeek_logs_get_clear_errors() {
    let options = ReadOptions::default();
    let cases = [
        ("made/empty.log", "empty.log is empty"),
        ("made/blank-lines.log", "blank-lines.log is empty"),
        (
            "made/no-fields.log",
            "no-fields.log:7: the header block starting at line 1 has no #fields line",
        ),
        (
            "made/types-mismatch.log",
            "types-mismatch.log:8: #types lists 2 types but #fields lists 3 fields",
        ),
        (
            "made/bad-separator.log",
            "bad-separator.log:1: unsupported #separator \"||\"",
        ),
        (
            "made/unknown-format.txt",
            "unknown-format.txt:1: unknown format: expected a Zeek TSV header",
        ),
        ("made/binary.pcap", "binary.pcap looks binary"),
        (
            "made/does-not-exist.log",
            "does-not-exist.log does not exist",
        ),
    ];
    for (name, expected) in cases {
        let message = error_of(name, &options);
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn a_directory_without_logs_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    let message = discover(&[empty.path()]).unwrap_err().to_string();
    assert!(
        message.ends_with("holds no Zeek log files (*.log, *.log.gz)"),
        "{message}"
    );
}
