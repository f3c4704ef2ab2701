//! End-to-end training and scoring speed on a generated OT conn.log: read, features, model.

use std::fmt::Write as _;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otsentry::model::ModelFile;
use otsentry::score::{ScoreConfig, score};
use otsentry::train::{TrainConfig, train};

const ROWS: usize = 200_000;

fn write_conn_log(path: &Path) {
    let mut text = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tcount\tcount\n",
    );
    let start = 1_790_812_800.0;
    let step = 20.0 * 86_400.0 / ROWS as f64;
    for row in 0..ROWS {
        let master = 10 + row % 20;
        let plc = 10 + row % 200;
        writeln!(
            text,
            "{:.6}\tC{row:017}\t10.10.2.{master}\t{}\t10.10.10.{plc}\t502\ttcp\tmodbus\t0.0{}\t{}\t{}\tSF\t5\t4",
            start + row as f64 * step,
            40000 + row % 20000,
            row % 9 + 1,
            12 + row % 4,
            40 + row % 7,
        )
        .unwrap();
    }
    std::fs::write(path, text).unwrap();
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    write_conn_log(&log);
    let config = TrainConfig::new(vec![log.clone()]);
    let model_path = dir.path().join("bench.model");
    train(&config, |_| {})
        .unwrap()
        .model
        .write(&model_path)
        .unwrap();
    let model = ModelFile::load(&model_path).unwrap();

    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function("train_conn_log", |b| {
        b.iter(|| train(&config, |_| {}).unwrap())
    });
    let score_config = ScoreConfig {
        logs: vec![log.clone()],
        threshold: 0.0,
        all: false,
        read_options: zeek::ReadOptions::default(),
        since: None,
        batch_rows: otsentry::score::BATCH_ROWS,
    };
    group.bench_function("score_conn_log", |b| {
        b.iter(|| score(&model, &score_config, |_| {}, |_| Ok(())).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
