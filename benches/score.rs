//! End-to-end training and scoring speed on a generated OT conn.log (read, features, detectors,
//! alerts), in large batches and in the small latency-bound batches `watch` uses, and the time
//! from a record entering the pipeline to its alert leaving: for one record flushed at once, and
//! for a whole poll as `watch` drives it (its batch size and latency bound, 5,000 records, the
//! flush that ends a poll).

use std::fmt::Write as _;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use otsentry::alerts::Alert;
use otsentry::features::{ConnFields, EdgeRef, EventKind, FlowEvent, Proto};
use otsentry::model::ModelFile;
use otsentry::pipeline::{BATCH_ROWS, Pipeline, PipelineConfig};
use otsentry::score::{ScoreConfig, score};
use otsentry::sinks::{Collect, Sink, SinkError};
use otsentry::train::{TrainConfig, train};
use otsentry::watch::DEFAULT_POLL;
use std::time::Instant;

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
    let model = Arc::new(ModelFile::load(&model_path).unwrap());

    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.sample_size(10);
    group.bench_function("train_conn_log", |b| {
        b.iter(|| train(&config, |_| {}).unwrap())
    });
    let score_config = ScoreConfig::new(vec![log.clone()], &model);
    group.bench_function("score_conn_log", |b| {
        b.iter(|| {
            score(
                Arc::clone(&model),
                &score_config,
                |_| {},
                &mut Collect::default(),
            )
            .unwrap()
        })
    });
    // What `watch` runs: small batches sealed on a latency bound.
    let mut live_config = ScoreConfig::new(vec![log.clone()], &model);
    live_config.pipeline.batch_rows = 512;
    live_config.pipeline.max_latency = Some(Duration::from_millis(10));
    group.bench_function("score_conn_log_live_batches", |b| {
        b.iter(|| {
            score(
                Arc::clone(&model),
                &live_config,
                |_| {},
                &mut Collect::default(),
            )
            .unwrap()
        })
    });
    group.finish();

    // Latency: from a record entering the pipeline to its alert leaving, with the flush a live
    // driver does at the end of each poll.
    let mut latency = c.benchmark_group("pipeline_latency");
    let config = PipelineConfig {
        batch_rows: 512,
        max_latency: Some(Duration::from_millis(10)),
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(Arc::clone(&model), config);
    let mut sink = Collect::default();
    let mut ts = 1_790_812_800.0 + 21.0 * 86_400.0;
    latency.bench_function("new_source_record_to_alert", |b| {
        b.iter(|| {
            ts += 1.0;
            let event = new_source_event(ts);
            pipeline.push(&event, &mut sink).unwrap();
            pipeline.flush(&mut sink).unwrap();
            assert!(!sink.alerts.is_empty());
            sink.alerts.clear();
        })
    });
    latency.finish();

    watch_poll(c, &model);
}

/// Records per poll at 10,000 lines/s and the default 500 ms polling interval.
const POLL_RECORDS: usize = 5_000;

/// `watch`'s use of the pipeline: each poll pushes what was appended since the last (here a new
/// source first, then ordinary polls of the training layout) with `watch`'s batch size and
/// latency bound, then flushes. Measures rows/s over whole polls, and the time from the new
/// source's record entering to its alert leaving (it leaves at the poll's flush at the latest).
fn watch_poll(c: &mut Criterion, model: &Arc<otsentry::model::LoadedModel>) {
    let config = PipelineConfig {
        batch_rows: BATCH_ROWS,
        max_latency: Some(DEFAULT_POLL),
        ..PipelineConfig::default()
    };
    let mut pipeline = Pipeline::new(Arc::clone(model), config);
    let mut sink = Stamped::default();
    let step = 20.0 * 86_400.0 / ROWS as f64;
    let mut row = 0usize;
    let mut intruder = 0u32;
    let mut poll = |pipeline: &mut Pipeline, sink: &mut Stamped| -> Duration {
        let mut ts = 1_790_812_800.0 + 21.0 * 86_400.0 + row as f64 * step;
        intruder += 1;
        let mut event = new_source_event(ts);
        event.edge.orig_h = IpAddr::from([10, 77, (intruder >> 8) as u8, intruder as u8]);
        sink.first = None;
        let entered = Instant::now();
        pipeline.push(&event, sink).unwrap();
        for _ in 1..POLL_RECORDS {
            row += 1;
            ts += step;
            pipeline.push(&ordinary_event(row, ts), sink).unwrap();
        }
        pipeline.flush(sink).unwrap();
        let left = sink
            .first
            .expect("the new source's alert left by the poll's flush");
        left - entered
    };
    let mut group = c.benchmark_group("watch_poll");
    group.sample_size(20);
    group.throughput(Throughput::Elements(POLL_RECORDS as u64));
    group.bench_function("poll_5000_records", |b| {
        b.iter(|| poll(&mut pipeline, &mut sink))
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("record_to_alert_in_a_poll", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| poll(&mut pipeline, &mut sink)).sum())
    });
    group.finish();
}

/// Notes when the first alert of a poll left the pipeline.
#[derive(Default)]
struct Stamped {
    first: Option<Instant>,
}

impl Sink for Stamped {
    fn alert(&mut self, _alert: &Alert) -> Result<(), SinkError> {
        self.first.get_or_insert_with(Instant::now);
        Ok(())
    }
}

/// An ordinary poll of the training layout (`write_conn_log`'s row `row`).
fn ordinary_event(row: usize, ts: f64) -> FlowEvent<'static> {
    let (master, plc) = (10 + row % 20, 10 + row % 200);
    FlowEvent {
        ts,
        uid: "COrdinaryPoll0001",
        orig_p: 40000 + (row % 20000) as u16,
        ot: true,
        edge: EdgeRef {
            orig_h: IpAddr::from([10, 10, 2, master as u8]),
            resp_h: IpAddr::from([10, 10, 10, plc as u8]),
            resp_p: 502,
            proto: Proto::Tcp,
            service: "modbus",
        },
        kind: EventKind::Conn(ConnFields {
            duration: Some(0.01 * (row % 9 + 1) as f64),
            orig_bytes: Some(12 + (row % 4) as u64),
            resp_bytes: Some(40 + (row % 7) as u64),
            orig_pkts: Some(5),
            resp_pkts: Some(4),
            conn_state: "SF",
        }),
    }
}

/// A poll of a known PLC from a host never seen in training.
fn new_source_event(ts: f64) -> FlowEvent<'static> {
    FlowEvent {
        ts,
        uid: "CNewSource0000001",
        orig_p: 40000,
        ot: true,
        edge: EdgeRef {
            orig_h: IpAddr::from([10, 10, 9, 99]),
            resp_h: IpAddr::from([10, 10, 10, 11]),
            resp_p: 502,
            proto: Proto::Tcp,
            service: "modbus",
        },
        kind: EventKind::Conn(ConnFields {
            duration: Some(0.01),
            orig_bytes: Some(12),
            resp_bytes: Some(40),
            orig_pkts: Some(5),
            resp_pkts: Some(4),
            conn_state: "SF",
        }),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
