//! Behaviour of the feature state machine on small hand-built event streams.

use proptest::prelude::*;

use super::*;
use crate::features::intern::DEFAULT_CAP;
use crate::features::schema::col;

fn conn(ts: f64, orig: &str, resp: &str, port: u16, bytes: u64) -> FlowEvent<'static> {
    FlowEvent {
        ts,
        uid: "C1",
        orig_p: 49152,
        ot: true,
        edge: EdgeRef {
            orig_h: orig.parse().unwrap(),
            resp_h: resp.parse().unwrap(),
            resp_p: port,
            proto: Proto::Tcp,
            service: "modbus",
        },
        kind: EventKind::Conn(ConnFields {
            duration: Some(0.01),
            orig_bytes: Some(bytes),
            resp_bytes: Some(bytes + 4),
            orig_pkts: Some(3),
            resp_pkts: Some(3),
            conn_state: "SF",
        }),
    }
}

fn request<'a>(ts: f64, orig: &str, resp: &str, function: &'a str) -> FlowEvent<'a> {
    FlowEvent {
        ts,
        uid: "C2",
        orig_p: 49152,
        ot: true,
        edge: EdgeRef {
            orig_h: orig.parse().unwrap(),
            resp_h: resp.parse().unwrap(),
            resp_p: 502,
            proto: Proto::Tcp,
            service: "modbus",
        },
        kind: EventKind::Request(RequestFields {
            function,
            is_write: functions::is_write(function),
            is_error: false,
            error: "",
            direction: Direction::Both,
        }),
    }
}

/// A plant where one HMI polls two PLCs every half second.
fn polling(n: usize) -> Vec<FlowEvent<'static>> {
    (0..n)
        .map(|idx| {
            let plc = if idx % 2 == 0 { "10.0.1.1" } else { "10.0.1.2" };
            request(
                1000.0 + idx as f64 * 0.25,
                "10.0.0.5",
                plc,
                "READ_HOLDING_REGISTERS",
            )
        })
        .collect()
}

fn fitted(events: &[FlowEvent<'_>], schema: Schema) -> Extractor {
    let mut extractor = Extractor::fit(schema, DEFAULT_CAP);
    for event in events {
        extractor.push(event);
    }
    extractor.freeze();
    Extractor::score(extractor.into_vocab())
}

#[test]
fn a_new_source_polling_a_plc_encodes_as_never_seen_on_its_first_record() {
    let mut extractor = fitted(&polling(200), Schema::Request);
    let event = request(2000.0, "10.9.9.9", "10.0.1.1", "READ_HOLDING_REGISTERS");
    let raw = extractor.push(&event).unwrap();
    let mut row = [0.0; MAX_WIDTH];
    extractor.encode(&raw, &mut row);
    assert_eq!(row[col::PAIR_FREQ], 0.0);
    assert_eq!(row[col::EDGE_FREQ], 0.0);
    assert_eq!(row[col::ORIG_FREQ], 0.0);
    assert!(row[col::RESP_FREQ] > 0.0);
}

#[test]
fn a_write_on_an_edge_that_only_ever_read_encodes_as_a_never_seen_function() {
    let mut extractor = fitted(&polling(200), Schema::Request);
    let event = request(2000.0, "10.0.0.5", "10.0.1.1", "WRITE_SINGLE_REGISTER");
    let raw = extractor.push(&event).unwrap();
    let mut row = [0.0; MAX_WIDTH];
    extractor.encode(&raw, &mut row);
    assert!(row[col::EDGE_FREQ] > 0.0 && row[col::ORIG_FREQ] > 0.0);
    assert_eq!(row[col::SPECIFIC], 1.0, "is_write");
    assert_eq!(row[col::PAIR_FREQ], 0.0);
}

#[test]
fn known_traffic_is_not_novel_and_keeps_its_rhythm() {
    let mut extractor = fitted(&polling(200), Schema::Request);
    let mut row = [0.0; MAX_WIDTH];
    // Each PLC is polled every 0.5 s in training; the first scored record gets the typical
    // interval, the second its real one.
    let first = extractor
        .push(&request(
            5000.0,
            "10.0.0.5",
            "10.0.1.1",
            "READ_HOLDING_REGISTERS",
        ))
        .unwrap();
    extractor.encode(&first, &mut row);
    assert!(row[col::PAIR_FREQ] > 0.0 && row[col::EDGE_FREQ] > 0.0);
    assert!((row[col::INTERVAL] - 0.5f64.ln_1p()).abs() < 1e-9);
    assert!(row[col::INTERVAL_DEV].abs() < 1e-9);
    let late = extractor
        .push(&request(
            5030.0,
            "10.0.0.5",
            "10.0.1.1",
            "READ_HOLDING_REGISTERS",
        ))
        .unwrap();
    extractor.encode(&late, &mut row);
    assert!((row[col::INTERVAL] - 30f64.ln_1p()).abs() < 1e-9);
    assert!(
        row[col::INTERVAL_DEV] > 2.0,
        "a 30 s gap breaks a 0.5 s rhythm"
    );
}

#[test]
fn events_of_the_other_schema_are_skipped() {
    let mut extractor = fitted(&polling(10), Schema::Request);
    assert!(
        extractor
            .push(&conn(1.0, "10.0.0.1", "10.0.0.2", 502, 10))
            .is_none()
    );
}

#[test]
fn conn_rows_carry_log_volumes_and_new_conn_states_encode_as_never_seen() {
    let events: Vec<_> = (0..50)
        .map(|idx| conn(idx as f64, "10.0.0.5", "10.0.1.1", 502, 100))
        .collect();
    let mut extractor = fitted(&events, Schema::Conn);
    let mut event = conn(60.0, "10.0.0.5", "10.0.1.1", 502, 100_000);
    if let EventKind::Conn(fields) = &mut event.kind {
        fields.conn_state = "REJ";
    }
    let raw = extractor.push(&event).unwrap();
    let mut row = [0.0; MAX_WIDTH];
    extractor.encode(&raw, &mut row);
    assert_eq!(row[col::PAIR_FREQ], 0.0);
    assert!(row[col::EDGE_FREQ] > 0.0);
    assert!(
        (row[7] - 100_000f64.ln_1p()).abs() < 1e-9,
        "orig_bytes column"
    );
}

#[test]
fn a_saved_vocabulary_encodes_like_the_original() {
    let events = polling(100);
    let extractor = fitted(&events, Schema::Request);
    let json = serde_json::to_string(extractor.vocab()).unwrap();
    let loaded: Vocab = serde_json::from_str(&json).unwrap();
    let mut original = extractor.clone();
    let mut reloaded = Extractor::score(loaded);
    let (mut rows_a, mut rows_b) = (vec![], vec![]);
    original.push_encode_batch(&events, &mut rows_a);
    reloaded.push_encode_batch(&events, &mut rows_b);
    assert_eq!(rows_a, rows_b);
}

proptest! {
    /// The same events in the same order give the same rows, in one batch or in any chunks:
    /// the guarantee that lets `watch` and `score` agree.
    #[test]
    fn one_batch_and_chunks_give_the_same_rows(
        gaps in proptest::collection::vec(0.0f64..5.0, 1..200),
        hosts in proptest::collection::vec(0usize..4, 1..200),
        cuts in proptest::collection::vec(1usize..50, 1..20),
    ) {
        let names = ["10.0.0.5", "10.0.0.6", "10.0.1.1", "10.0.9.9"];
        let mut ts = 0.0;
        let events: Vec<_> = gaps
            .iter()
            .zip(hosts.iter().cycle())
            .map(|(gap, &host)| {
                ts += gap;
                request(ts, names[host], names[(host + 2) % 4], "READ_COILS")
            })
            .collect();
        let trained = fitted(&polling(100), Schema::Request);

        let mut whole = trained.clone();
        let mut rows_whole = vec![];
        whole.push_encode_batch(&events, &mut rows_whole);

        let mut chunked = trained.clone();
        let mut rows_chunked = vec![];
        let mut rest = &events[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (head, tail) = rest.split_at((*cut).min(rest.len()));
            chunked.push_encode_batch(head, &mut rows_chunked);
            rest = tail;
        }
        prop_assert_eq!(rows_whole, rows_chunked);
    }
}

proptest! {
    /// The encoding's shortcuts (a table of `ln_1p` of small counts, per-entry frequencies and
    /// mean intervals computed at freezing) give bit-for-bit the values of the direct formulas,
    /// in training and on scoring events with never-seen hosts and large counts.
    #[test]
    fn frozen_tables_encode_exactly_as_the_direct_formulas(
        fit_events in proptest::collection::vec((0usize..6, 0u64..10_000, 0.0f64..30.0), 1..150),
        score_events in proptest::collection::vec((0usize..9, 0u64..1 << 40, 0.0f64..30.0), 1..80),
    ) {
        let names = [
            "10.0.0.5", "10.0.0.6", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.4",
            "10.9.9.1", "10.9.9.2", "2001:db8::1",
        ];
        let build = |events: &[(usize, u64, f64)]| -> Vec<FlowEvent<'static>> {
            let mut ts = 5000.0;
            events
                .iter()
                .map(|&(host, bytes, gap)| {
                    ts += gap;
                    conn(ts, names[host], names[(host + 3) % names.len()], 502, bytes)
                })
                .collect()
        };
        let fit_events = build(&fit_events);
        let mut fitting = Extractor::fit(Schema::Conn, DEFAULT_CAP);
        let mut raws = Vec::new();
        for event in &fit_events {
            let raw = fitting.push(event).unwrap();
            let EventKind::Conn(fields) = &event.kind else { unreachable!() };
            let bytes = fields.orig_bytes.unwrap_or(0) as f64;
            prop_assert_eq!(raw.specific[1].to_bits(), bytes.ln_1p().to_bits());
            raws.push(raw);
        }
        // Not frozen: encodes by the direct formulas.
        let direct = fitting.clone();
        let frozen_fit = {
            let mut frozen = fitting.clone();
            frozen.freeze();
            frozen
        };
        let mut scoring = Extractor::score(fitting.into_vocab());
        for event in &build(&score_events) {
            let raw = scoring.push(event).unwrap();
            let EventKind::Conn(fields) = &event.kind else { unreachable!() };
            let bytes = fields.orig_bytes.unwrap_or(0) as f64;
            prop_assert_eq!(raw.specific[1].to_bits(), bytes.ln_1p().to_bits());
            raws.push(raw);
        }
        for raw in &raws {
            let (mut expected, mut fit_row, mut score_row) =
                ([0.0; MAX_WIDTH], [0.0; MAX_WIDTH], [0.0; MAX_WIDTH]);
            direct.encode(raw, &mut expected);
            frozen_fit.encode(raw, &mut fit_row);
            scoring.encode(raw, &mut score_row);
            let bits = |row: &[f64]| row.iter().map(|value| value.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&fit_row), bits(&expected));
            prop_assert_eq!(bits(&score_row), bits(&expected));
        }
    }
}
