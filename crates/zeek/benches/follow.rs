//! Criterion benchmarks of the log follower's throughput in lines per second: catching up on a
//! conn.log already on disk in one poll (a restart with a backlog), and steady polling of a file
//! that grows by a block of lines between polls (live following). Both hand every record to the
//! caller and read its uid, as a pipeline would.

use std::hint::black_box;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use zeek::ZeekError;
use zeek::follow::{FollowOptions, Follower};

const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-11-01-10-00-00\n\
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n\
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";

/// `n_lines` conn.log lines of the usual 21 columns, numbered from `first`.
fn conn_lines(first: usize, n_lines: usize) -> String {
    let mut text = String::with_capacity(n_lines * 200);
    for idx in first..first + n_lines {
        text.push_str(&format!(
            "{}.{:06}\tC{idx:017}\t10.1.{}.{}\t{}\t10.2.0.{}\t502\ttcp\tmodbus\t0.{:06}\t{}\t{}\tSF\tT\tT\t0\tShADadFf\t8\t{}\t6\t{}\t-\n",
            1_793_527_200 + idx / 100,
            idx % 1_000_000,
            idx % 8,
            idx % 250 + 1,
            1024 + idx % 60_000,
            idx % 250 + 1,
            idx % 1_000_000,
            idx % 500,
            idx % 300,
            idx % 900 + 40,
            idx % 700 + 40,
        ));
    }
    text
}

fn take_all(follower: &mut Follower) -> usize {
    let mut records = 0;
    follower
        .poll(|batch| {
            while let Some(record) = batch.next_record()? {
                black_box(record.raw(1));
                records += 1;
            }
            Ok::<(), ZeekError>(())
        })
        .expect("the poll succeeds");
    records
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("the log opens");
    file.write_all(text.as_bytes())
        .expect("the log takes the lines");
}

fn follow(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut group = c.benchmark_group("follow");

    let backlog_lines = 200_000;
    let backlog = dir.path().join("backlog/conn.log");
    std::fs::create_dir_all(backlog.parent().unwrap()).unwrap();
    std::fs::write(
        &backlog,
        format!("{HEADER}{}", conn_lines(0, backlog_lines)),
    )
    .unwrap();
    group.throughput(Throughput::Elements(backlog_lines as u64));
    group.sample_size(10);
    group.bench_function("catch_up_200k_lines", |b| {
        b.iter_batched(
            || Follower::new(FollowOptions::new(vec![backlog.clone()]), None),
            |mut follower| assert_eq!(take_all(&mut follower), backlog_lines),
            BatchSize::LargeInput,
        );
    });

    let block_lines = 10_000;
    let block = conn_lines(0, block_lines);
    let live = dir.path().join("live/conn.log");
    std::fs::create_dir_all(live.parent().unwrap()).unwrap();
    group.throughput(Throughput::Elements(block_lines as u64));
    group.bench_function("poll_10k_appended_lines", |b| {
        b.iter_custom(|iters| {
            let mut elapsed = Duration::ZERO;
            let mut follower = None;
            for iter in 0..iters {
                // A fresh file now and then keeps the temporary directory small.
                if iter % 32 == 0 {
                    std::fs::write(&live, HEADER).unwrap();
                    let mut fresh = Follower::new(FollowOptions::new(vec![live.clone()]), None);
                    take_all(&mut fresh);
                    follower = Some(fresh);
                }
                let follower = follower.as_mut().expect("a follower");
                append(&live, &block);
                let started = Instant::now();
                assert_eq!(take_all(follower), block_lines);
                elapsed += started.elapsed();
            }
            elapsed
        });
    });
    group.finish();
}

criterion_group!(benches, follow);
criterion_main!(benches);
