//! Reads conn.log files through the typed conn view and prints totals: the reader side of
//! `scripts/bench_read.sh`, doing the work a pandas `read_csv` of the same file does (split every
//! field, parse numbers and addresses).
//!
//! Usage: `cargo run --release -p zeek --example read_conn -- [--records] FILE_OR_DIR...`
//! (`--records` only splits records, without the typed view).

use std::collections::HashSet;
use std::process::ExitCode;

use zeek::{ConnColumns, LogReader, ReadOptions, ViewCache};

fn main() -> ExitCode {
    let mut paths: Vec<String> = std::env::args().skip(1).collect();
    let records_only = paths.first().is_some_and(|arg| arg == "--records");
    if records_only {
        paths.remove(0);
    }
    if paths.is_empty() {
        eprintln!("usage: read_conn [--records] FILE_OR_DIR...");
        return ExitCode::from(2);
    }
    let outcome = if records_only {
        count_records(&paths)
    } else {
        run(&paths)
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
