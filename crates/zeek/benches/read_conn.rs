//! Criterion benchmarks of reading conn.log TSV: splitting records only and reading them through
//! the typed conn view (what the feature pipeline does), on one thread from memory, and through
//! the typed conn view with `zeek::read_files` on every core from a file in the page cache.
//! Throughput is in bytes of log text. The file-level comparison with pandas is
//! `scripts/bench_read.sh`.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use zeek::{ConnColumns, FileReader, LogFile, Parallelism, ReadOptions, ViewCache, ZeekError};

/// A deterministic conn.log in the current 22-column layout with OT and IT services.
fn conn_log(n_records: usize) -> Vec<u8> {
    let mut log = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-11-01-10-00-00\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\tip_proto\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\tcount\n",
    );
    let services = [
        ("502", "modbus"),
        ("20000", "dnp3_tcp"),
        ("102", "cotp,s7comm"),
        ("44818", "enip"),
        ("53", "dns"),
        ("445", "-"),
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for idx in 0..n_records {
        // A small xorshift keeps the data varied without a dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (port, service) = services[(state % services.len() as u64) as usize];
        log.push_str(&format!(
            "{}.{:06}\tC{:017x}\t10.1.{}.{}\t{}\t10.2.{}.{}\t{port}\ttcp\t{service}\t{}.{:06}\t{}\t{}\tSF\tT\tT\t0\tShADadFf\t{}\t{}\t{}\t{}\t-\t6\n",
            1_793_527_200 + idx / 100,
            state % 1_000_000,
            state & 0xffff_ffff_ffff,
            state % 8,
            state % 250 + 1,
            1024 + state % 60_000,
            (state >> 8) % 8,
            (state >> 16) % 250 + 1,
            state % 30,
            (state >> 4) % 1_000_000,
            state % 100_000,
            (state >> 20) % 100_000,
            state % 500,
            state % 200_000,
            (state >> 9) % 500,
            (state >> 11) % 200_000,
        ));
    }
    log.push_str("#close\t2026-11-02-10-00-00\n");
    log.into_bytes()
}

fn read(c: &mut Criterion) {
    let log = conn_log(50_000);
    let mut group = c.benchmark_group("conn_tsv");
    group.throughput(Throughput::Bytes(log.len() as u64));
    group.bench_function("records", |bencher| {
        bencher.iter(|| {
            let mut reader =
                FileReader::from_reader(Cursor::new(log.clone()), None, &ReadOptions::default())
                    .unwrap();
            let mut fields = 0;
            while let Some(record) = reader.next_record().unwrap() {
                fields += record.len();
            }
            black_box(fields)
        });
    });
    group.bench_function("typed_conn_view", |bencher| {
        bencher.iter(|| {
            let mut reader =
                FileReader::from_reader(Cursor::new(log.clone()), None, &ReadOptions::default())
                    .unwrap();
            let mut conns = ViewCache::<ConnColumns>::new();
            let mut bytes = 0;
            while let Some(record) = reader.next_record().unwrap() {
                let conn = conns.read(&record).unwrap();
                bytes += conn.orig_bytes.unwrap_or(0) + u64::from(conn.common.id.resp_p);
            }
            black_box(bytes)
        });
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conn.log");
    std::fs::write(&path, &log).unwrap();
    let files = vec![LogFile::new(path)];
    group.bench_function("typed_conn_view_all_cores", |bencher| {
        bencher.iter(|| {
            let mut bytes = 0;
            zeek::read_files(
                &files,
                &ReadOptions::default(),
                Parallelism::available(),
                ViewCache::<ConnColumns>::new,
                |conns, record, block: &mut u64| {
                    let conn = conns.read(record).unwrap();
                    *block += conn.orig_bytes.unwrap_or(0) + u64::from(conn.common.id.resp_p);
                },
                |block| {
                    bytes += block;
                    Ok::<(), ZeekError>(())
                },
            )
            .unwrap();
            black_box(bytes)
        });
    });
    group.finish();
}

criterion_group!(benches, read);
criterion_main!(benches);
