//! A model-based test of the follower (after Vector's file-watcher tests): random sequences of
//! append (with partial lines), zeekctl rotation into an archive, plain rotation, gzipping an
//! archive later, copytruncate, deletion, polls (some stopping mid-batch, some saving a
//! checkpoint) and restarts from the last saved checkpoint run against the real follower on real
//! files and against a small model of what it must hand out. Every poll must hand out exactly
//! the lines the model says, in the model's order. Independently of the model, what a consumer
//! that commits with each saved checkpoint (and forgets what it took since, at a restart) has
//! committed at the end holds every line still on disk or held open exactly once, in order: no
//! restart, at whichever step it comes, loses or repeats a line.
//!
//! Layout, as Zeek with `Log::default_rotation_dir` and zeekctl write it: the live log in
//! `logs/current/conn.log`, rotated logs in `logs/archive/` named by their opening stamp, plain
//! or gzipped. The follower watches `logs/`.

mod follow_support;

use std::path::{Path, PathBuf};

use follow_support::{append, gzip_into, header, line, poll, stamp, truncate};
use proptest::prelude::*;
use zeek::follow::{Checkpoint, FollowOptions, Follower};

#[derive(Debug, Clone)]
enum Op {
    /// Complete lines, then maybe the first part of one more.
    Append { lines: u8, partial: bool },
    /// Take at most `limit` records (all when `None`); save a checkpoint afterwards or not.
    Poll { limit: Option<u8>, save: bool },
    /// Drop the follower and start one from the last saved checkpoint.
    Restart,
    /// zeekctl: `#close`, rename, gzip into the archive, delete, new live file.
    RotateArchive,
    /// Zeek's own rotation into the rotation directory, left plain.
    RotatePlain,
    /// A post-processor gzips the oldest plain archive.
    GzipArchive,
    /// copytruncate: the live file is emptied in place and a new header written.
    Truncate,
    /// The live file is deleted and a new one started.
    Delete,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0u8..4, any::<bool>()).prop_map(|(lines, partial)| Op::Append { lines, partial }),
        5 => (prop::option::weighted(0.3, 0u8..4), any::<bool>())
            .prop_map(|(limit, save)| Op::Poll { limit, save }),
        1 => Just(Op::Restart),
        1 => Just(Op::RotateArchive),
        1 => Just(Op::RotatePlain),
        1 => Just(Op::GzipArchive),
        1 => Just(Op::Truncate),
        1 => Just(Op::Delete),
    ]
}

/// One file version: the content of one `#open` from its header to its end, as items the
/// follower consumes in order: the header block, the data lines, and `#close` once rotated.
#[derive(Debug, Default)]
struct Version {
    /// Complete data lines written.
    written: usize,
    /// `#close` was written.
    closed: bool,
    /// Items consumed by the running follower.
    cursor: usize,
    /// Items covered by the last saved checkpoint.
    saved: usize,
    /// Items the running follower holds in memory, as of the last poll that reached it.
    buffered: usize,
    /// The running follower has the file open.
    opened: bool,
    /// The content is no longer on disk; only this many items can ever be consumed.
    gone: Option<usize>,
    /// The follower read the finished file to its end and will not read it again.
    complete: bool,
    /// `complete` as of the last saved checkpoint.
    saved_complete: bool,
}

impl Version {
    fn items(&self) -> usize {
        1 + self.written + usize::from(self.closed)
    }

    /// Zeek has finished with the file: rotated, or gone from the disk.
    fn is_final(&self) -> bool {
        self.closed || self.gone.is_some()
    }

    fn available(&self) -> usize {
        self.gone.unwrap_or_else(|| self.items())
    }

    /// Where a checkpoint resumes: a header block with no data line after it yet is read again.
    fn resume(&self) -> usize {
        if self.cursor >= 2 && self.written >= 1 {
            self.cursor
        } else {
            0
        }
    }
}

struct Model {
    versions: Vec<Version>,
    partial: bool,
}

impl Model {
    fn live(&mut self) -> &mut Version {
        self.versions.last_mut().expect("there is a live version")
    }

    /// What a poll hands out, in order, updating the cursors. The handler takes records until
    /// `limit` are taken; a batch it leaves lines in (even only header lines) ends the poll.
    fn poll(&mut self, limit: Option<usize>, save: bool) -> Vec<String> {
        // A poll first opens every file it finds.
        for version in &mut self.versions {
            if version.gone.is_none() && !version.opened {
                version.opened = true;
                version.buffered = version.cursor;
            }
        }
        let limit = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        'versions: for (idx, version) in self.versions.iter_mut().enumerate() {
            if version.complete {
                continue;
            }
            if version.gone.is_none() {
                version.buffered = version.items();
            }
            let available = version.available();
            // One batch: records are taken one by one, each consuming the lines before it.
            while version.cursor < available {
                if out.len() == limit {
                    break 'versions;
                }
                let mut record = None;
                while version.cursor < available && record.is_none() {
                    let item = version.cursor;
                    version.cursor += 1;
                    if (1..=version.written).contains(&item) {
                        record = Some(uid(idx, item - 1));
                    }
                }
                match record {
                    Some(record) => out.push(record),
                    None => break,
                }
            }
            // Read to its end: a finished file is done with.
            version.complete = version.is_final();
        }
        if save {
            for version in &mut self.versions {
                version.saved = version.resume();
                version.saved_complete = version.complete;
            }
        }
        out
    }

    fn restart(&mut self) {
        for version in &mut self.versions {
            version.cursor = version.saved;
            version.complete = version.saved_complete;
            version.opened = false;
            if version.gone.is_some() {
                version.gone = Some(version.saved);
            }
        }
    }

    /// The live version's content leaves the disk: what can still be read is what the follower
    /// holds (`keeps_open_file`: the open handle, for a deletion) or has buffered.
    fn lose_live(&mut self, keeps_open_file: bool) {
        let live = self.live();
        live.gone = Some(match (live.opened, keeps_open_file) {
            (false, _) => live.cursor,
            (true, true) => live.items(),
            (true, false) => live.buffered,
        });
    }
}

fn uid(version: usize, line: usize) -> String {
    format!("V{version}L{line}")
}

struct Disk {
    root: PathBuf,
    live: PathBuf,
    archive: PathBuf,
    /// Plain archives not gzipped yet, oldest first.
    plain_archives: Vec<PathBuf>,
}

impl Disk {
    fn new(root: &Path) -> Disk {
        let disk = Disk {
            root: root.join("logs"),
            live: root.join("logs/current/conn.log"),
            archive: root.join("logs/archive"),
            plain_archives: Vec::new(),
        };
        std::fs::create_dir_all(disk.live.parent().unwrap()).unwrap();
        std::fs::create_dir_all(&disk.archive).unwrap();
        disk
    }

    fn start_version(&self, version: usize) {
        append(&self.live, header(&stamp(version as u32)));
    }

    fn archive_name(&self, version: usize, gzip: bool) -> PathBuf {
        let extension = if gzip { "log.gz" } else { "log" };
        self.archive
            .join(format!("conn.{}.{extension}", stamp(version as u32)))
    }
}

fn run(ops: &[Op]) {
    let dir = tempfile::tempdir().unwrap();
    let mut disk = Disk::new(dir.path());
    let state = dir.path().join("state.json");
    let mut model = Model {
        versions: vec![Version::default()],
        partial: false,
    };
    disk.start_version(0);
    let options = FollowOptions::new(vec![disk.root.clone()]);
    let mut follower = Follower::new(options.clone(), None);
    let mut saved: Option<Checkpoint> = None;
    // The consumer: lines handed out and covered by a saved checkpoint, and those since.
    let mut committed: Vec<String> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let finish_partial = |model: &mut Model, disk: &Disk| {
        if model.partial {
            let version = model.versions.len() - 1;
            let text = line(&uid(version, model.versions[version].written));
            append(&disk.live, &text[text.len() / 2..]);
            model.versions[version].written += 1;
            model.partial = false;
        }
    };
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Append { lines, partial } => {
                finish_partial(&mut model, &disk);
                let version = model.versions.len() - 1;
                for _ in 0..*lines {
                    let written = model.versions[version].written;
                    append(&disk.live, line(&uid(version, written)));
                    model.versions[version].written += 1;
                }
                if *partial {
                    let text = line(&uid(version, model.versions[version].written));
                    append(&disk.live, &text[..text.len() / 2]);
                    model.partial = true;
                }
            }
            Op::Poll { limit, save } => {
                let limit = limit.map(usize::from);
                let polled = poll(&mut follower, limit);
                let expected = model.poll(limit, *save);
                assert_eq!(
                    polled.uids, expected,
                    "step {step} ({op:?}) of {ops:#?}\nerrors: {:?}",
                    polled.report.errors
                );
                pending.extend(polled.uids.iter().cloned());
                if *save {
                    polled.checkpoint.save(&state).unwrap();
                    saved = Some(polled.checkpoint);
                    committed.append(&mut pending);
                }
            }
            Op::Restart => {
                pending.clear();
                let checkpoint = saved.as_ref().map(|_| Checkpoint::load(&state).unwrap());
                follower = Follower::new(options.clone(), checkpoint);
                model.restart();
            }
            Op::RotateArchive | Op::RotatePlain => {
                finish_partial(&mut model, &disk);
                append(&disk.live, "#close\t2026-11-02-00-00-00\n");
                model.live().closed = true;
                let version = model.versions.len() - 1;
                let plain = disk.archive_name(version, false);
                std::fs::rename(&disk.live, &plain).unwrap();
                if matches!(op, Op::RotateArchive) {
                    gzip_into(&plain, &disk.archive_name(version, true));
                    std::fs::remove_file(&plain).unwrap();
                } else {
                    disk.plain_archives.push(plain);
                }
                model.versions.push(Version::default());
                disk.start_version(version + 1);
            }
            Op::GzipArchive => {
                if !disk.plain_archives.is_empty() {
                    let plain = disk.plain_archives.remove(0);
                    let mut gzip = plain.clone().into_os_string();
                    gzip.push(".gz");
                    gzip_into(&plain, Path::new(&gzip));
                    std::fs::remove_file(&plain).unwrap();
                }
            }
            Op::Truncate => {
                model.partial = false;
                model.lose_live(false);
                truncate(&disk.live);
                model.versions.push(Version::default());
                disk.start_version(model.versions.len() - 1);
            }
            Op::Delete => {
                finish_partial(&mut model, &disk);
                model.lose_live(true);
                std::fs::remove_file(&disk.live).unwrap();
                model.versions.push(Version::default());
                disk.start_version(model.versions.len() - 1);
            }
        }
    }
    // In the end everything that can still be read is read, once.
    let polled = poll(&mut follower, None);
    assert_eq!(
        polled.uids,
        model.poll(None, true),
        "final poll of {ops:#?}"
    );
    committed.append(&mut pending);
    committed.extend(polled.uids);
    assert_exactly_once(&model, &committed, ops);
}

/// Every complete line written is committed once, in its file's order, except lines whose
/// content left the disk before the follower could hold it (truncated or deleted unread).
fn assert_exactly_once(model: &Model, committed: &[String], ops: &[Op]) {
    let mut expected = Vec::new();
    for (idx, version) in model.versions.iter().enumerate() {
        // Item 0 is the header block; line `l` is item `l + 1`.
        let readable = match version.gone {
            None => version.written,
            Some(items) => version.written.min(items.saturating_sub(1)),
        };
        expected.extend((0..readable).map(|line| uid(idx, line)));
    }
    let mut seen = std::collections::BTreeSet::new();
    for uid in committed {
        assert!(
            seen.insert(uid),
            "{uid} committed twice: {committed:?} of {ops:#?}"
        );
    }
    let missing: Vec<_> = expected.iter().filter(|uid| !seen.contains(uid)).collect();
    assert!(
        missing.is_empty(),
        "lost {missing:?}: {committed:?} of {ops:#?}"
    );
    assert_eq!(committed.len(), expected.len(), "{committed:?} of {ops:#?}");
    // Within a file, in the order written.
    for (idx, _) in model.versions.iter().enumerate() {
        let prefix = format!("V{idx}L");
        let lines: Vec<usize> = committed
            .iter()
            .filter_map(|uid| uid.strip_prefix(&prefix))
            .map(|line| line.parse().unwrap())
            .collect();
        assert!(
            lines.windows(2).all(|pair| pair[0] < pair[1]),
            "{committed:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_follower_hands_out_what_the_model_says(ops in prop::collection::vec(op(), 1..40)) {
        run(&ops);
    }
}

#[test]
fn a_rotation_and_a_truncation_between_polls_and_a_restart() {
    run(&[
        Op::Append {
            lines: 3,
            partial: true,
        },
        Op::Poll {
            limit: None,
            save: true,
        },
        Op::Append {
            lines: 1,
            partial: false,
        },
        Op::RotateArchive,
        Op::Append {
            lines: 2,
            partial: false,
        },
        Op::Poll {
            limit: Some(2),
            save: true,
        },
        Op::Truncate,
        Op::Append {
            lines: 1,
            partial: false,
        },
        Op::Restart,
        Op::RotatePlain,
        Op::Poll {
            limit: None,
            save: false,
        },
        Op::GzipArchive,
        Op::Restart,
        Op::Delete,
        Op::Append {
            lines: 1,
            partial: false,
        },
    ]);
}
