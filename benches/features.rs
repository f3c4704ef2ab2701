//! Feature extraction speed: events through the per-schema state machine, encoded into rows.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otsentry::features::intern::DEFAULT_CAP;
use otsentry::features::{
    ConnFields, Direction, EdgeRef, EventKind, Extractor, FlowEvent, Proto, RequestFields, Schema,
};

const FUNCTIONS: [&str; 3] = [
    "READ_HOLDING_REGISTERS",
    "READ_COILS",
    "WRITE_SINGLE_REGISTER",
];

fn requests(n: usize) -> Vec<FlowEvent<'static>> {
    (0..n)
        .map(|idx| FlowEvent {
            ts: 1_790_812_800.0 + idx as f64 * 0.01,
            uid: "CAbcdefghijklmnopq",
            orig_p: 49152,
            ot: true,
            edge: EdgeRef {
                orig_h: IpAddr::V4(Ipv4Addr::new(10, 10, 2, (idx % 20) as u8)),
                resp_h: IpAddr::V4(Ipv4Addr::new(10, 10, 10, (idx % 200) as u8)),
                resp_p: 502,
                proto: Proto::Tcp,
                service: "modbus",
            },
            kind: EventKind::Request(RequestFields {
                function: FUNCTIONS[idx % 3],
                is_write: idx % 3 == 2,
                is_error: false,
                error: "",
                direction: Direction::Both,
            }),
        })
        .collect()
}

fn conns(n: usize) -> Vec<FlowEvent<'static>> {
    requests(n)
        .into_iter()
        .enumerate()
        .map(|(idx, mut event)| {
            event.kind = EventKind::Conn(ConnFields {
                duration: Some(0.01),
                orig_bytes: Some(12 + (idx % 4) as u64),
                resp_bytes: Some(40),
                orig_pkts: Some(5),
                resp_pkts: Some(4),
                conn_state: "SF",
            });
            event
        })
        .collect()
}

fn trained(schema: Schema, events: &[FlowEvent<'_>]) -> Extractor {
    let mut extractor = Extractor::fit(schema, DEFAULT_CAP);
    for event in events {
        extractor.push(event);
    }
    extractor.freeze();
    Extractor::score(extractor.into_vocab())
}

fn bench(c: &mut Criterion) {
    const N: usize = 100_000;
    let mut group = c.benchmark_group("features");
    group.throughput(Throughput::Elements(N as u64));
    for (name, schema, events) in [
        ("request", Schema::Request, requests(N)),
        ("conn", Schema::Conn, conns(N)),
    ] {
        let extractor = trained(schema, &events);
        let mut rows = Vec::with_capacity(N * schema.width());
        group.bench_function(format!("push_encode_{name}"), |b| {
            b.iter(|| {
                let mut state = extractor.clone();
                rows.clear();
                black_box(state.push_encode_batch(&events, &mut rows))
            })
        });
        group.bench_function(format!("fit_{name}"), |b| {
            b.iter(|| {
                let mut state = Extractor::fit(schema, DEFAULT_CAP);
                for event in &events {
                    black_box(state.push(event));
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
