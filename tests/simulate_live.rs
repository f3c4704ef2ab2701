//! `otsentry simulate --live`: the real binary writes its logs paced to the clock and rotated as
//! zeekctl rotates them, a follower (`zeek::follow`) reads them while they are written, and
//! what it reads is exactly what a batch run of the same plant writes.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use zeek::follow::{FollowOptions, Follower};
use zeek::{LogReader, ReadOptions, ZeekError};

const PLANT: [&str; 8] = [
    "--hours", "2", "--plcs", "2", "--rotate", "hourly", "--seed", "11",
];

fn otsentry(args: &[&str], out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_otsentry"));
    command.args(["simulate", "--out"]).arg(out).args(args);
    command
}

fn succeeded(output: Output) -> Output {
    assert!(
        output.status.success(),
        "otsentry simulate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The data lines of every log under `dir` (files in reading order), by log path.
fn lines_by_log(dir: &Path) -> BTreeMap<String, Vec<String>> {
    // A directory search takes only log names, not plant.json.
    let logs = zeek::discover(&[dir]).unwrap();
    let mut reader = LogReader::from_files(logs, &ReadOptions::default());
    let mut lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while let Some(record) = reader.next_record().unwrap() {
        let path = record.header().path().unwrap_or_default().to_owned();
        lines.entry(path).or_default().push(record_text(&record));
    }
    lines
}

fn record_text(record: &zeek::Record<'_>) -> String {
    (0..record.len())
        .map(|idx| record.raw(idx).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\t")
}

#[test]
fn live_logs_hold_the_batch_lines_with_rotated_files_archived_as_zeekctl_does() {
    let dir = tempfile::tempdir().unwrap();
    let (batch, live) = (dir.path().join("batch"), dir.path().join("live"));
    succeeded(otsentry(&PLANT, &batch).output().unwrap());
    let mut args = PLANT.to_vec();
    args.extend(["--live", "--speed", "20000"]);
    let output = succeeded(otsentry(&args, &live).output().unwrap());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("otsentry watch --log"), "{stderr}");
    // The live file keeps its name; the first hour is in the dated archive, gzipped.
    let archive = live.join("2026-10-01/conn.00:00:00-01:00:00.log.gz");
    let mut archived = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&archive).unwrap())
        .read_to_end(&mut archived)
        .unwrap();
    assert_eq!(
        archived,
        std::fs::read(batch.join("conn.2026-10-01-00-00-00.log")).unwrap(),
        "the archive holds the batch run's first hour, byte for byte"
    );
    for name in ["conn.log", "modbus.log", "plant.json", "labels.jsonl"] {
        assert_eq!(
            std::fs::read(live.join(name)).unwrap(),
            std::fs::read(batch.join(name)).unwrap(),
            "{name}"
        );
    }
    assert!(!live.join("conn.2026-10-01-00-00-00.log").exists());
    assert_eq!(lines_by_log(&live), lines_by_log(&batch));
}

#[test]
fn a_follower_reads_the_live_simulator_as_it_writes_and_gets_the_batch_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (batch, live) = (dir.path().join("batch"), dir.path().join("live"));
    succeeded(otsentry(&PLANT, &batch).output().unwrap());
    // Two simulated hours in about two seconds.
    let mut args = PLANT.to_vec();
    args.extend(["--live", "--speed", "3600"]);
    let mut child = otsentry(&args, &live)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut follower = Follower::new(FollowOptions::new(vec![live.clone()]), None);
    let mut followed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut polls_with_records_while_running = 0;
    let started = Instant::now();
    loop {
        let running = child.try_wait().unwrap().is_none();
        let report = follower
            .poll(|batch| {
                while let Some(record) = batch.next_record()? {
                    let path = record.header().path().unwrap_or_default().to_owned();
                    followed.entry(path).or_default().push(record_text(&record));
                }
                Ok::<(), ZeekError>(())
            })
            .unwrap();
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        if !running {
            break;
        }
        if report.records > 0 {
            polls_with_records_while_running += 1;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the simulator hangs"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(child.wait().unwrap().success());
    assert!(
        polls_with_records_while_running >= 2,
        "the logs were written live ({polls_with_records_while_running} polls saw records)"
    );
    let expected = lines_by_log(&batch);
    assert_eq!(
        followed.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (path, lines) in &expected {
        assert!(
            followed[path] == *lines,
            "{path}: the followed lines differ from the batch run"
        );
    }
}

#[test]
fn live_options_are_checked_with_clear_messages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    for (args, expected) in [
        (vec!["--speed", "10"], "--live"),
        (
            vec!["--live", "--speed", "0"],
            "--speed must be a positive number",
        ),
        (
            vec!["--live", "--speed=-3"],
            "--speed must be a positive number",
        ),
        (vec!["--live", "--gzip"], "cannot be used with"),
    ] {
        let output = otsentry(&args, &out).output().unwrap();
        assert!(!output.status.success(), "{args:?} succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
