//! Reads conn.log files through the typed conn view and prints totals: the reader side of
//! `scripts/bench_read.sh`, doing the work a pandas `read_csv` of the same file does (split every
//! field, parse numbers and addresses).
//!
//! Usage: `cargo run --release -p zeek --example read_conn -- [--records | --sequential] FILE_OR_DIR...`
//! (`--records` only splits records, without the typed view, on one thread; `--sequential` reads
//! through the typed view on one thread; the default reads through the typed view with
//! [`zeek::read_files`], one decoding thread per core).

use std::collections::HashSet;
use std::net::IpAddr;
use std::process::ExitCode;

use zeek::{ConnColumns, LogReader, Parallelism, ReadOptions, ViewCache, ZeekError};

fn main() -> ExitCode {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    let mode = match paths.first().map(String::as_str) {
        Some(flag @ ("--records" | "--sequential")) => {
            let flag = flag.to_owned();
            paths.remove(0);
            flag
        }
        _ => "--parallel".to_owned(),
    };
    if paths.is_empty() {
        eprintln!("usage: read_conn [--records | --sequential] FILE_OR_DIR...");
        return ExitCode::from(2);
    }
    let outcome = match mode.as_str() {
        "--records" => count_records(&paths),
        "--sequential" => run(&paths),
        _ => run_parallel(&paths),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(1)
        }
    }
}

fn count_records(paths: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let mut reader = LogReader::open(paths, &ReadOptions::default())?;
    let (mut records, mut fields) = (0u64, 0u64);
    while let Some(record) = reader.next_record()? {
        records += 1;
        fields += record.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "records={records} fields={fields} problems={} seconds={seconds:.3} records_per_second={:.0}",
        reader.problems().total(),
        records as f64 / seconds
    );
    Ok(())
}

fn run(paths: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let mut reader = LogReader::open(paths, &ReadOptions::default())?;
    let mut conns = ViewCache::<ConnColumns>::new();
    let (mut records, mut orig_bytes, mut resp_pkts, mut duration) = (0u64, 0u64, 0u64, 0f64);
    let mut responders = HashSet::new();
    while let Some(record) = reader.next_record()? {
        let conn = conns.read(&record)?;
        records += 1;
        orig_bytes += conn.orig_bytes.unwrap_or(0);
        resp_pkts += conn.resp_pkts.unwrap_or(0);
        duration += conn.duration.unwrap_or(0.0);
        responders.insert(conn.common.id.resp_h);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "records={records} orig_bytes={orig_bytes} resp_pkts={resp_pkts} duration={duration:.3} responders={} problems={} seconds={seconds:.3} records_per_second={:.0}",
        responders.len(),
        reader.problems().total(),
        records as f64 / seconds
    );
    Ok(())
}

/// One block's totals.
#[derive(Default)]
struct BlockTotals {
    records: u64,
    orig_bytes: u64,
    resp_pkts: u64,
    duration: f64,
    /// Responders this block's thread had not seen before: each thread keeps its own set, so a
    /// block carries a handful of addresses rather than a set to merge.
    new_responders: Vec<IpAddr>,
    bad: u64,
}

fn run_parallel(paths: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let files = zeek::discover(paths)?;
    let mut totals = BlockTotals::default();
    let mut responders = HashSet::new();
    let summary = zeek::read_files(
        &files,
        &ReadOptions::default(),
        Parallelism::available(),
        || (ViewCache::<ConnColumns>::new(), HashSet::new()),
        |(conns, seen), record, block: &mut BlockTotals| match conns.read(record) {
            Ok(conn) => {
                block.records += 1;
                block.orig_bytes += conn.orig_bytes.unwrap_or(0);
                block.resp_pkts += conn.resp_pkts.unwrap_or(0);
                block.duration += conn.duration.unwrap_or(0.0);
                if seen.insert(conn.common.id.resp_h) {
                    block.new_responders.push(conn.common.id.resp_h);
                }
            }
            Err(_) => block.bad += 1,
        },
        |block| {
            totals.records += block.records;
            totals.orig_bytes += block.orig_bytes;
            totals.resp_pkts += block.resp_pkts;
            totals.duration += block.duration;
            responders.extend(block.new_responders);
            totals.bad += block.bad;
            Ok::<(), ZeekError>(())
        },
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let records = totals.records;
    println!(
        "records={records} orig_bytes={} resp_pkts={} duration={:.3} responders={} problems={} seconds={seconds:.3} records_per_second={:.0}",
        totals.orig_bytes,
        totals.resp_pkts,
        totals.duration,
        responders.len(),
        summary.problems.total() + totals.bad,
        records as f64 / seconds
    );
    Ok(())
}
