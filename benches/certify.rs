//! The full slow-drift certification (7 days of 172,800 polls: 1,209,600 polls, plus the control
//! day) through the pipeline, on a model trained on a generated Modbus conn.log: the drift test
//! alone (`slow_drift`, the figure) and the whole certification with the variants
//! (`slow_drift_full`).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use otsentry::model::ModelFile;
use otsentry::redteam::{DriftConfig, certify, drift};
use otsentry::train::{TrainConfig, train};

const ROWS: usize = 100_000;

fn write_conn_log(path: &Path) {
    let mut text = String::from(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tcount\tcount\n",
    );
    let start = 1_790_812_800.0;
    let step = 20.0 * 86_400.0 / ROWS as f64;
    for row in 0..ROWS {
        writeln!(
            text,
            "{:.6}\tC{row:017}\t10.10.2.{}\t{}\t10.10.10.{}\t502\ttcp\tmodbus\t0.0{}\t{}\t{}\tSF\t5\t4",
            start + row as f64 * step,
            10 + row % 5,
            40000 + row % 20000,
            10 + row % 20,
            row % 9 + 1,
            240 + row % 20,
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
    let model_path = dir.path().join("bench.model");
    train(&TrainConfig::new(vec![log]), |_| {})
        .unwrap()
        .model
        .write(&model_path)
        .unwrap();
    let model = Arc::new(ModelFile::load(&model_path).unwrap());
    let config = DriftConfig::default();
    let mut group = c.benchmark_group("certify");
    group.throughput(Throughput::Elements(
        u64::from(config.drift_days + 1) * config.polls_per_day,
    ));
    group.sample_size(10);
    group.bench_function("slow_drift", |b| {
        b.iter(|| drift::run(Arc::clone(&model), &config).unwrap())
    });
    group.bench_function("slow_drift_full", |b| {
        b.iter(|| certify(Arc::clone(&model), &config, &[]).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
