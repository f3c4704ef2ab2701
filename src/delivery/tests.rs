//! Unit tests of the spool: torn tails cut at open, corruption elsewhere refused with its place,
//! segments deleted only once every cursor passed them, cursors stored atomically, the keys of
//! the events held found again at open and kept while the driver has not committed them.

use std::io::Write;

use super::DeliveryError;
use super::spool::{EventKey, Spool, key_of_line, load_cursor, store_cursor};
use crate::sinks::sample;

fn line(seq: u64) -> Vec<u8> {
    let alert = serde_json::to_string(&sample::alert(seq)).unwrap();
    format!("{{\"seq\":{seq},\"t\":{seq},\"alert\":{alert}}}\n").into_bytes()
}

fn append(spool: &mut Spool, range: std::ops::Range<u64>) {
    for seq in range {
        let line = line(seq);
        assert_eq!(spool.append(&line, seq, key_of_line(&line)).unwrap(), seq);
    }
    spool.sync().unwrap();
}

fn segments(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    found.sort();
    found
}

#[test]
fn a_torn_tail_is_cut_and_numbering_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
    append(&mut spool, 0..5);
    drop(spool);
    let last = segments(dir.path()).pop().unwrap();
    let good_len = std::fs::metadata(&last).unwrap().len();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&last)
        .unwrap();
    file.write_all(&line(5)[..40]).unwrap();
    drop(file);

    let mut spool = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((spool.first(), spool.head()), (0, 5));
    assert_eq!(std::fs::metadata(&last).unwrap().len(), good_len);
    append(&mut spool, 5..7);
    let records = spool.locate(0, 100).unwrap().read().unwrap();
    let seqs: Vec<u64> = records.iter().map(|record| record.seq).collect();
    assert_eq!(seqs, (0..7).collect::<Vec<_>>());
    assert_eq!(
        records[6].event,
        crate::sinks::SiemEvent::Alert(sample::alert(6))
    );
}

#[test]
fn corruption_before_the_tail_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // Small segments: several files.
    let mut spool = Spool::open(dir.path(), 4096).unwrap();
    append(&mut spool, 0..12);
    drop(spool);
    let files = segments(dir.path());
    assert!(files.len() >= 3, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    std::fs::write(&files[0], text.replacen("\"seq\":1,", "\"seq\":9,", 1)).unwrap();
    let error = Spool::open(dir.path(), 4096).unwrap_err();
    let DeliveryError::Corrupt { path, line, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!((path, *line), (&files[0], 2), "{error}");
    assert!(
        error.to_string().contains("expected event 1, found 9"),
        "{error}"
    );
}

#[test]
fn segments_go_only_when_every_cursor_passed_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), 4096).unwrap();
    append(&mut spool, 0..20);
    let before = segments(dir.path()).len();
    let bytes = spool.total_bytes();
    assert_eq!(spool.depth(0, 20), (20, bytes));
    spool.collect(0);
    assert_eq!(segments(dir.path()).len(), before);
    spool.collect(10);
    assert!(segments(dir.path()).len() < before);
    assert!(
        spool.first() <= 10 && spool.first() > 0,
        "first {}",
        spool.first()
    );
    assert!(spool.total_bytes() < bytes);
    assert!(spool.locate(10, 1).is_some(), "event 10 is still there");
    spool.collect(20);
    assert_eq!(
        segments(dir.path()).len(),
        1,
        "the segment being written stays"
    );
    drop(spool);
    let spool = Spool::open(dir.path(), 4096).unwrap();
    assert_eq!(spool.head(), 20);
}

#[test]
fn cursors_round_trip_and_bad_ones_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let _spool = Spool::open(dir.path(), 4096).unwrap();
    assert_eq!(load_cursor(dir.path(), "k").unwrap(), None);
    store_cursor(dir.path(), "k", "tcp://x:1", 42).unwrap();
    assert_eq!(load_cursor(dir.path(), "k").unwrap(), Some(42));
    std::fs::write(dir.path().join("cursors/k.json"), "{").unwrap();
    let error = load_cursor(dir.path(), "k").unwrap_err().to_string();
    assert!(error.contains("cursors/k.json"), "{error}");
}

#[test]
fn the_keys_of_held_events_survive_a_reopen_and_go_with_their_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), 4096).unwrap();
    append(&mut spool, 0..20);
    let key = |seq| EventKey::of_alert(&sample::alert(seq));
    assert!((0..20).all(|seq| spool.holds(&key(seq))));
    assert!(!spool.holds(&key(20)));
    let mut closed = sample::alert(3);
    closed.state = crate::alerts::AlertState::Closed;
    assert!(
        !spool.holds(&EventKey::of_alert(&closed)),
        "opened and closed are two events"
    );
    drop(spool);

    let mut spool = Spool::open(dir.path(), 4096).unwrap();
    assert_eq!(spool.keys_held(), 20);
    assert!((0..20).all(|seq| spool.holds(&key(seq))));
    spool.collect(10);
    let first = spool.first();
    assert!(first > 0);
    assert!((0..first).all(|seq| !spool.holds(&key(seq))));
    assert!((first..20).all(|seq| spool.holds(&key(seq))));
}

#[test]
fn a_held_spool_keeps_delivered_segments_until_the_driver_commits() {
    let dir = tempfile::tempdir().unwrap();
    let mut spool = Spool::open(dir.path(), 4096).unwrap();
    spool.hold();
    append(&mut spool, 0..20);
    let before = segments(dir.path()).len();
    spool.collect(20);
    assert_eq!(segments(dir.path()).len(), before, "nothing is committed");
    assert_eq!(spool.keys_held(), 20);
    spool.commit();
    append(&mut spool, 20..30);
    spool.collect(30);
    assert!(
        spool.first() <= 20,
        "uncommitted events stay: {}",
        spool.first()
    );
    assert!((20..30).all(|seq| spool.holds(&EventKey::of_alert(&sample::alert(seq)))));
    spool.commit();
    spool.collect(30);
    assert_eq!(segments(dir.path()).len(), 1);
}
