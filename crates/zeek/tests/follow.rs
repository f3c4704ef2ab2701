//! The follower on real files in a temporary directory, doing what Zeek and zeekctl do to live
//! logs: appends with partial lines, zeekctl rotation (rename, gzip, move into a dated archive
//! directory, new file with a new header), plain `zeek` rotation (rename and reopen), truncation,
//! deletion, a file that appears later, a header rewritten after rotation; and restarts from a
//! saved checkpoint that neither skip nor repeat a line.

mod follow_support;

use std::path::{Path, PathBuf};

use follow_support::{append, gzip_into, header, lines, named, poll, stamp, truncate, uids};
use zeek::follow::{Checkpoint, FollowError, FollowOptions, Follower, StartAt};
use zeek::{FileReader, ReadOptions, ZeekError};

fn follower(paths: &[&Path]) -> Follower {
    Follower::new(options(paths), None)
}

fn options(paths: &[&Path]) -> FollowOptions {
    FollowOptions::new(paths.iter().map(|path| path.to_path_buf()).collect())
}

/// Saves `checkpoint`, drops the follower and starts a new one from the file, as a restart does.
fn restart(paths: &[&Path], checkpoint: &Checkpoint, dir: &Path) -> Follower {
    let state = dir.join("follow-state.json");
    checkpoint.save(&state).expect("the checkpoint is saved");
    let loaded = Checkpoint::load(&state).expect("the checkpoint loads");
    assert_eq!(&loaded, checkpoint, "the checkpoint survives the file");
    Follower::new(options(paths), Some(loaded))
}

#[test]
fn appended_lines_are_read_once_and_a_partial_line_waits_for_its_break() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("C", 1..=2)));
    append(&log, "1793527200.000000\tC3\tmod");
    let mut follower = follower(&[dir.path()]);
    assert_eq!(uids(&mut follower), named("C", 1..=2));
    assert_eq!(uids(&mut follower), Vec::<String>::new(), "nothing new");
    append(&log, "bus\n");
    append(&log, lines("C", 4..=5));
    assert_eq!(uids(&mut follower), named("C", 3..=5));
    assert_eq!(follower.problems().total(), 0, "the joined line is whole");
    assert_eq!(follower.backlog_bytes(), 0);
}

#[test]
fn zeekctl_rotation_finishes_the_old_tail_from_the_open_file_then_reads_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current");
    std::fs::create_dir(&current).unwrap();
    let log = current.join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=3)));
    // Only the live directory is watched: the archive is out of sight.
    let mut follower = follower(&[&current]);
    assert_eq!(uids(&mut follower), named("A", 1..=3));
    append(&log, lines("A", 4..=6));
    append(&log, "#close\t2026-11-01-11-00-00\n");
    // zeekctl: rename into the spool, gzip into the dated archive, delete, start a new log.
    let renamed = current.join("conn.2026-11-01-10-00-00.log");
    std::fs::rename(&log, &renamed).unwrap();
    let archive = dir.path().join("2026-11-01/conn.10:00:00-11:00:00.log.gz");
    gzip_into(&renamed, &archive);
    std::fs::remove_file(&renamed).unwrap();
    append(&log, format!("{}{}", header(&stamp(2)), lines("B", 1..=2)));
    let expected: Vec<String> = named("A", 4..=6)
        .into_iter()
        .chain(named("B", 1..=2))
        .collect();
    assert_eq!(
        uids(&mut follower),
        expected,
        "the old tail first, then the new file"
    );
    assert_eq!(uids(&mut follower), Vec::<String>::new());
    let checkpoint = follower.checkpoint();
    let old = checkpoint
        .files()
        .iter()
        .find(|file| file.path() == renamed || file.path() == log.as_path())
        .expect("the rotated file is still known");
    assert!(old.complete(), "the rotated file is finished: {old:?}");
}

#[test]
fn a_watched_archive_is_recognised_by_its_fingerprint_and_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("current/conn.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=3)));
    // The whole tree is watched: the gzipped archive appears in it.
    let mut follower = follower(&[dir.path()]);
    assert_eq!(uids(&mut follower), named("A", 1..=3));
    append(&log, lines("A", 4..=4));
    let archive = dir.path().join("2026-11-01/conn.10:00:00-11:00:00.log.gz");
    gzip_into(&log, &archive);
    std::fs::remove_file(&log).unwrap();
    append(&log, format!("{}{}", header(&stamp(2)), lines("B", 1..=1)));
    assert_eq!(uids(&mut follower), ["A4", "B1"]);
    append(&log, lines("B", 2..=2));
    assert_eq!(uids(&mut follower), ["B2"]);
}

#[test]
fn a_restart_across_a_zeekctl_rotation_finishes_the_tail_from_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let log = logs.join("current/conn.log");
    std::fs::create_dir_all(log.parent().unwrap()).unwrap();
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=3)));
    let mut first = follower(&[&logs]);
    let polled = poll(&mut first, None);
    assert_eq!(polled.uids, named("A", 1..=3));
    drop(first);
    // While the follower is down: more lines, then rotation into the archive.
    append(&log, lines("A", 4..=7));
    let archive = logs.join("2026-11-01/conn.10:00:00-11:00:00.log.gz");
    gzip_into(&log, &archive);
    std::fs::remove_file(&log).unwrap();
    append(&log, format!("{}{}", header(&stamp(2)), lines("B", 1..=2)));
    let mut second = restart(&[&logs], &polled.checkpoint, dir.path());
    let expected: Vec<String> = named("A", 4..=7)
        .into_iter()
        .chain(named("B", 1..=2))
        .collect();
    assert_eq!(uids(&mut second), expected);
    assert_eq!(uids(&mut second), Vec::<String>::new());
}

#[test]
fn plain_zeek_rotation_renames_in_place_and_a_later_gzip_is_not_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=2)));
    let mut follower = follower(&[dir.path()]);
    assert_eq!(uids(&mut follower), named("A", 1..=2));
    append(&log, lines("A", 3..=3));
    let rotated = dir.path().join("conn.2026-11-01-10-00-00.log");
    std::fs::rename(&log, &rotated).unwrap();
    append(&log, format!("{}{}", header(&stamp(2)), lines("B", 1..=1)));
    assert_eq!(uids(&mut follower), ["A3", "B1"]);
    // A post-processor gzips the rotated file beside it.
    gzip_into(
        &rotated,
        &dir.path().join("conn.2026-11-01-10-00-00.log.gz"),
    );
    std::fs::remove_file(&rotated).unwrap();
    append(&log, lines("B", 2..=2));
    assert_eq!(uids(&mut follower), ["B2"]);
}

#[test]
fn a_watched_file_path_follows_the_new_file_after_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=1)));
    let mut follower = follower(&[&log]);
    assert_eq!(uids(&mut follower), ["A1"]);
    append(&log, lines("A", 2..=2));
    std::fs::rename(&log, dir.path().join("elsewhere.log")).unwrap();
    append(&log, format!("{}{}", header(&stamp(2)), lines("B", 1..=1)));
    assert_eq!(uids(&mut follower), ["A2", "B1"]);
}

#[test]
fn copytruncate_reads_the_new_content_from_its_start_and_says_lines_may_be_lost() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=3)));
    let mut follower = follower(&[dir.path()]);
    assert_eq!(uids(&mut follower), named("A", 1..=3));
    truncate(&log);
    let polled = poll(&mut follower, None);
    assert!(polled.uids.is_empty());
    assert!(
        polled
            .report
            .errors
            .iter()
            .any(|error| matches!(error, FollowError::Truncated { path } if path == &log)),
        "{:?}",
        polled.report.errors
    );
    append(&log, format!("{}{}", header(&stamp(2)), lines("B", 1..=2)));
    assert_eq!(uids(&mut follower), named("B", 1..=2));
}

#[test]
fn a_file_rewritten_with_the_same_first_lines_is_read_again_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=5)));
    let mut follower = follower(&[dir.path()]);
    assert_eq!(uids(&mut follower), named("A", 1..=5));
    truncate(&log);
    append(&log, format!("{}{}", header(&stamp(1)), lines("B", 1..=1)));
    assert_eq!(uids(&mut follower), ["B1"]);
}

#[test]
fn a_deleted_file_is_read_to_its_end_through_the_open_handle() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=1)));
    let mut follower = follower(&[dir.path()]);
    assert_eq!(uids(&mut follower), ["A1"]);
    append(&log, lines("A", 2..=3));
    // A final line without its break counts, as in a batch read: the file is finished.
    append(&log, "1793527200.000000\tA4\tmodbus");
    std::fs::remove_file(&log).unwrap();
    assert_eq!(uids(&mut follower), named("A", 2..=4));
    assert!(follower.checkpoint().files()[0].complete());
}

#[test]
fn files_and_directories_that_appear_later_are_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let later_dir = dir.path().join("not-yet");
    let later_file = dir.path().join("modbus.log");
    let mut follower = follower(&[&later_dir, &later_file]);
    let polled = poll(&mut follower, None);
    assert!(polled.uids.is_empty() && polled.report.errors.is_empty());
    std::fs::create_dir(&later_dir).unwrap();
    append(
        &later_dir.join("conn.log"),
        format!("{}{}", header(&stamp(1)), lines("A", 1..=1)),
    );
    // Only the header so far: nothing to hand out, and it is picked up once complete.
    append(&later_file, &header(&stamp(2))[..40]);
    assert_eq!(uids(&mut follower), ["A1"]);
    append(
        &later_file,
        format!("{}{}", &header(&stamp(2))[40..], lines("M", 1..=1)),
    );
    assert_eq!(uids(&mut follower), ["M1"]);
    // Names that are not logs are not taken from a directory.
    append(&later_dir.join("notes.txt"), "not a log\n");
    assert!(uids(&mut follower).is_empty());
}

#[test]
fn a_header_rewritten_after_rotation_is_the_one_records_are_read_with() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=1)));
    let mut follower = follower(&[dir.path()]);
    assert_eq!(uids(&mut follower), ["A1"]);
    std::fs::rename(&log, dir.path().join("conn.2026-11-01-10-00-00.log")).unwrap();
    // The new file has a site-added column before uid.
    let wider = header(&stamp(2))
        .replace("#fields\tts\tuid", "#fields\tts\tsensor\tuid")
        .replace("#types\ttime\tstring", "#types\ttime\tstring\tstring");
    append(
        &log,
        format!("{wider}1793527300.000000\tsensor-7\tB1\tdnp3\n"),
    );
    let mut seen = Vec::new();
    follower
        .poll(|batch| {
            while let Some(record) = batch.next_record()? {
                seen.push((
                    record.header().fields().len(),
                    record.by_name("uid").as_str().map(str::to_owned),
                ));
            }
            Ok::<(), ZeekError>(())
        })
        .unwrap();
    assert_eq!(seen, [(4, Some("B1".to_owned()))]);
}

#[test]
fn a_restart_from_a_mid_batch_checkpoint_hands_out_exactly_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=10)));
    let mut first = follower(&[dir.path()]);
    let polled = poll(&mut first, Some(4));
    assert_eq!(polled.uids, named("A", 1..=4));
    assert!(polled.report.stopped_early);
    drop(first);
    append(&log, lines("A", 11..=12));
    let mut second = restart(&[dir.path()], &polled.checkpoint, dir.path());
    assert_eq!(uids(&mut second), named("A", 5..=12));
}

#[test]
fn a_checkpoint_taken_inside_a_header_block_reads_the_block_again() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=1)));
    let mut first = follower(&[dir.path()]);
    assert_eq!(uids(&mut first), ["A1"]);
    // A second header block in the same file, so far without a data line.
    let second_block = header(&stamp(1)).replace("#fields\tts\tuid", "#fields\tts\tnote\tuid");
    let second_block = second_block.replace("#types\ttime\tstring", "#types\ttime\tstring\tstring");
    append(&log, &second_block);
    let polled = poll(&mut first, None);
    assert!(polled.uids.is_empty());
    let entry = &polled.checkpoint.files()[0];
    assert_eq!(entry.lines(), 9, "resumes before the second block");
    drop(first);
    append(&log, "1793527300.000000\tx\tA2\tmodbus\n");
    let mut second = restart(&[dir.path()], &polled.checkpoint, dir.path());
    assert_eq!(uids(&mut second), ["A2"]);
}

#[test]
fn followed_in_small_appends_a_real_log_gives_the_records_of_a_batch_read() {
    let real = shared_log("automayt-ICS-pcap/Additional_Captures/4SICS-GeekLounge-151020/conn.log");
    let bytes = std::fs::read(&real).expect("the real log is readable");
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    std::fs::write(&log, b"").unwrap();
    let mut follower = follower(&[&log]);
    let mut followed = Vec::new();
    let mut written = 0;
    let mut step = 1usize;
    let mut restarts = 0;
    while written < bytes.len() {
        // Cuts fall anywhere, inside lines and inside the header.
        step = (step * 7919 + 13) % 200_000 + 1;
        let end = (written + step).min(bytes.len());
        append(&log, &bytes[written..end]);
        written = end;
        let mut checkpoint = None;
        follower
            .poll(|batch| {
                while let Some(record) = batch.next_record()? {
                    followed.push(describe(&record));
                }
                checkpoint = Some(batch.checkpoint());
                Ok::<(), ZeekError>(())
            })
            .unwrap();
        if let Some(checkpoint) = checkpoint.filter(|_| written % 3 == 0) {
            follower = restart(&[&log], &checkpoint, dir.path());
            restarts += 1;
        }
    }
    let mut reader = FileReader::open(&log, &ReadOptions::default()).unwrap();
    let mut batch = Vec::new();
    while let Some(record) = reader.next_record().unwrap() {
        batch.push(describe(&record));
    }
    assert!(batch.len() > 5000, "{} records", batch.len());
    assert!(restarts > 0);
    assert_eq!(followed.len(), batch.len());
    assert!(
        followed == batch,
        "the followed records differ from the batch read"
    );
}

fn describe(record: &zeek::Record<'_>) -> (u64, Vec<Option<String>>, usize) {
    let fields = (0..record.len())
        .map(|idx| record.get(idx).as_str().map(str::to_owned))
        .collect();
    (
        record.line_number(),
        fields,
        record.header().line_number() as usize,
    )
}

fn shared_log(relative: &str) -> PathBuf {
    let root = std::env::var_os("OTSENTRY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = root.join("zeek-real").join(relative);
    assert!(
        path.is_file(),
        "{} is missing: put shared/ beside the repository or set OTSENTRY_SHARED_DATA",
        path.display()
    );
    path
}

#[test]
fn json_logs_are_followed_and_resumed_with_their_columns() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(
        &log,
        "{\"ts\":1.0,\"uid\":\"J1\"}\n{\"ts\":2.0,\"uid\":\"J2\",\"extra\":\"x\"}\n",
    );
    let mut first = follower(&[dir.path()]);
    let polled = poll(&mut first, None);
    assert_eq!(polled.uids, ["J1", "J2"]);
    drop(first);
    append(&log, "{\"extra\":\"y\",\"uid\":\"J3\",\"ts\":3.0}\n");
    let mut second = restart(&[dir.path()], &polled.checkpoint, dir.path());
    let mut columns = Vec::new();
    second
        .poll(|batch| {
            while let Some(record) = batch.next_record()? {
                columns.push(record.header().fields().to_vec());
            }
            Ok::<(), ZeekError>(())
        })
        .unwrap();
    assert_eq!(columns, [vec!["ts", "uid", "extra"]]);
}

#[test]
fn start_at_end_skips_what_is_there_and_reads_what_comes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=3)));
    gzip_into(&log, &dir.path().join("old/conn.09:00:00-10:00:00.log.gz"));
    let mut options = options(&[dir.path()]);
    options.start_at = StartAt::End;
    let mut follower = Follower::new(options, None);
    assert!(uids(&mut follower).is_empty());
    append(&log, lines("A", 4..=4));
    append(
        &dir.path().join("modbus.log"),
        format!("{}{}", header(&stamp(2)), lines("M", 1..=1)),
    );
    assert_eq!(
        uids(&mut follower),
        ["A4", "M1"],
        "new lines and new files are read"
    );
}

#[test]
fn a_file_that_is_not_a_zeek_log_is_reported_once_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    append(
        &dir.path().join("app.log"),
        "2026-11-01 10:00:00 INFO started\n",
    );
    let log = dir.path().join("conn.log");
    append(&log, format!("{}{}", header(&stamp(1)), lines("A", 1..=1)));
    let mut follower = follower(&[dir.path()]);
    let polled = poll(&mut follower, None);
    assert_eq!(polled.uids, ["A1"]);
    let messages: Vec<String> = polled
        .report
        .errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("app.log") && messages[0].ends_with("the file is no longer followed"),
        "{}",
        messages[0]
    );
    append(
        &dir.path().join("app.log"),
        "2026-11-01 10:00:01 INFO more\n",
    );
    append(&log, lines("A", 2..=2));
    let polled = poll(&mut follower, None);
    assert_eq!(polled.uids, ["A2"]);
    assert!(
        polled.report.errors.is_empty(),
        "{:?}",
        polled.report.errors
    );
}

#[test]
fn bad_lines_are_counted_with_their_location_and_strict_mode_stops_at_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("conn.log");
    append(
        &log,
        format!(
            "{}{}only-one-field\n{}",
            header(&stamp(1)),
            lines("A", 1..=1),
            lines("A", 2..=2)
        ),
    );
    let mut lenient = follower(&[dir.path()]);
    let polled = poll(&mut lenient, None);
    assert_eq!(polled.uids, ["A1", "A2"]);
    assert_eq!(polled.report.problems, 1);
    assert_eq!(
        lenient.problems().kept()[0].to_string(),
        format!(
            "{}:10: expected 3 fields as in #fields, found 1",
            log.display()
        )
    );
    let mut options = options(&[dir.path()]);
    options.read.strict = true;
    let mut strict = Follower::new(options, None);
    let mut taken = Vec::new();
    let result = strict.poll(|batch| {
        while let Some(record) = batch.next_record()? {
            taken.push(record.line_number());
        }
        Ok::<(), ZeekError>(())
    });
    assert_eq!(taken, [9]);
    let error = result.expect_err("strict mode stops");
    assert!(error.to_string().contains("strict mode"), "{error}");
}
