//! `otsentry inspect` run as a real binary over real logs (the vendored BSD-licensed ones in
//! tests/data/zeek-real, and all of ../shared/data/zeek-real when present) and over small
//! fixtures: JSON for scripts, tables for people, strict mode, explicit field lists.

mod shared_data;

use shared_data::{shared_data, vendored};
use std::path::Path;
use std::process::{Command, Output};

fn otsentry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(args)
        .output()
        .expect("run otsentry")
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/zeek")
        .join(name)
        .display()
        .to_string()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("inspect --format json prints JSON")
}

/// `inspect --format json` over `dir`, with the checks that hold for every real collection.
fn summarise(dir: &Path) -> serde_json::Value {
    let summary = json(&otsentry(&[
        "inspect",
        "--format",
        "json",
        dir.to_str().unwrap(),
    ]));
    assert_eq!(
        summary["files_with_errors"], 5,
        "the five header-less zeek-cut files"
    );
    assert_eq!(summary["problem_count"], 0);
    let conn = summary["records_by_log_path"]["conn"].as_u64().unwrap();
    let by_service: u64 = summary["records_by_service"]
        .as_object()
        .unwrap()
        .values()
        .map(|count| count.as_u64().unwrap())
        .sum();
    assert_eq!(by_service, conn, "every conn record has one service label");
    assert_eq!(
        summary["records_by_service"]["cotp,s7comm"], 4,
        "set order is normalised"
    );
    assert!(summary["time_span"]["masked_records"].as_u64().unwrap() > 0);
    let headerless: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|file| file["error"].as_str())
        .collect();
    assert!(
        headerless
            .iter()
            .all(|error| error.contains("no #fields header")),
        "{headerless:?}"
    );
    summary
}

#[test]
fn summarises_the_vendored_real_logs() {
    let summary = summarise(&vendored("zeek-real"));
    assert_eq!(summary["files"].as_array().unwrap().len(), 100);
    assert_eq!(summary["records_by_log_path"]["modbus"], 56);
}

#[test]
fn summarises_the_real_logs() {
    let Some(dir) = shared_data("zeek-real") else {
        return;
    };
    let summary = summarise(&dir);
    assert_eq!(summary["files"].as_array().unwrap().len(), 176);
    // 20 615 TSV lines with `#path modbus` plus the 13 022-line JSON modbus.log.
    assert_eq!(summary["records_by_log_path"]["modbus"], 33_637);
    // Old Bro leaves service unset on S7 traffic; the port fallback still selects it.
    assert!(
        summary["ot_records_by_reason"]["port 102"]
            .as_u64()
            .unwrap()
            > 7_000
    );
}

#[test]
fn table_output_lists_files_problems_and_time_span() {
    let output = otsentry(&[
        "inspect",
        &fixture("made/conn-bad-lines.log"),
        &fixture("made/rotation"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("conn.2026-11-01-10-00-00.log.gz"), "{text}");
    assert!(text.contains("gzip"), "{text}");
    assert!(text.contains("malformed lines: 3"), "{text}");
    assert!(
        text.contains("conn-bad-lines.log:10: expected 21 fields as in #fields, found 5"),
        "{text}"
    );
    assert!(
        text.contains("time span: 2026-11-01T10:00:00.000000Z to 2026-11-01T12:00:00.120000Z"),
        "{text}"
    );
}

#[test]
fn strict_mode_fails_at_the_first_bad_line() {
    let output = otsentry(&["inspect", "--strict", &fixture("made/conn-bad-lines.log")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(
            "conn-bad-lines.log:10: expected 21 fields as in #fields, found 5 (strict mode"
        ),
        "{stderr}"
    );
}

#[test]
fn header_less_files_read_with_an_explicit_field_list() {
    let file = fixture("real/enip-noheader.log");
    let failed = otsentry(&["inspect", &file]);
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("--fields"));
    let fields = "ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,is_orig,source_h,source_p,destination_h,destination_p,enip_command_code,enip_command,length,session_handle,enip_status,sender_context,options";
    let summary = json(&otsentry(&[
        "inspect", "--format", "json", "--fields", fields, &file,
    ]));
    assert_eq!(summary["records"], 1);
    assert_eq!(summary["records_by_log_path"]["enip-noheader"], 1);
    assert_eq!(summary["ot_records"], 1, "port 44818");
}

#[test]
fn json_logs_and_masked_times_are_summarised() {
    let summary = json(&otsentry(&[
        "inspect",
        "--format",
        "json",
        &fixture("made/json/conn.log"),
        &fixture("real/conn-btest-masked.log"),
    ]));
    let formats: Vec<&str> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["format"].as_str().unwrap())
        .collect();
    // Files are ordered by the log path their names suggest: conn, then conn-btest-masked.
    assert_eq!(formats, vec!["json", "tsv"]);
    assert_eq!(summary["problem_count"], 2);
    assert_eq!(summary["time_span"]["masked_records"], 2);
    assert_eq!(summary["records_by_service"]["cotp,s7comm"], 1);
}

#[test]
fn unreadable_input_is_an_error_with_the_reason() {
    let output = otsentry(&["inspect", &fixture("made/binary.pcap")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("binary.pcap looks binary"), "{stderr}");
    let missing = otsentry(&["inspect", "/nonexistent/conn.log"]);
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/conn.log does not exist")
    );
}
