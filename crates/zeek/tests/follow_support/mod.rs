//! What the follower's tests share: Zeek conn.log text with a distinct `#open` per file, file
//! operations as Zeek and zeekctl perform them (append, rename, gzip into an archive, truncate),
//! and a poll that collects every record's uid and line number.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use zeek::follow::{Checkpoint, Follower, PollReport};

/// A conn.log header opened at `open` (`2026-11-01-10-00-00`), with a ts and a uid column.
pub fn header(open: &str) -> String {
    format!(
        "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n\
         #open\t{open}\n#fields\tts\tuid\tservice\n#types\ttime\tstring\tset[string]\n"
    )
}

/// The `#open` stamp of the `n`th file of a test, distinct for every `n`.
pub fn stamp(n: u32) -> String {
    format!(
        "2026-11-01-{:02}-{:02}-{:02}",
        n / 3600 % 24,
        n / 60 % 60,
        n % 60
    )
}

/// One data line with this uid.
pub fn line(uid: &str) -> String {
    format!("1793527200.000000\t{uid}\tmodbus\n")
}

/// Appends `text` to `path`, creating it if needed.
pub fn append(path: &Path, text: impl AsRef<[u8]>) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("the log opens for appending");
    file.write_all(text.as_ref())
        .expect("the log takes the text");
}

/// Writes `source`'s content gzipped to `target`, creating its directory, as zeekctl's
/// archive-log does.
pub fn gzip_into(source: &Path, target: &Path) {
    let content = std::fs::read(source).expect("the rotated log is readable");
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir).expect("the archive directory is created");
    }
    let file = std::fs::File::create(target).expect("the archive is created");
    let mut encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    encoder
        .write_all(&content)
        .expect("the archive takes the log");
    encoder.finish().expect("the archive is finished");
}

/// Truncates `path` to nothing in place, as `logrotate`'s copytruncate does.
pub fn truncate(path: &Path) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_len(0))
        .expect("the log is truncated");
}

/// What one poll handed out: the uid of every record, and the report.
pub struct Polled {
    pub uids: Vec<String>,
    pub report: PollReport,
    /// The checkpoint after the last record taken.
    pub checkpoint: Checkpoint,
}

/// Polls once, taking every record (or only the first `limit`, leaving the rest of that batch
/// unread, as a caller that crashes mid-batch would).
pub fn poll(follower: &mut Follower, limit: Option<usize>) -> Polled {
    let mut uids = Vec::new();
    let mut checkpoint = None;
    let report = follower
        .poll(|batch| {
            while limit.is_none_or(|limit| uids.len() < limit) {
                let Some(record) = batch.next_record()? else {
                    break;
                };
                let uid = record.by_name("uid");
                uids.push(uid.as_str().unwrap_or("-").to_owned());
            }
            checkpoint = Some(batch.checkpoint());
            Ok::<(), zeek::ZeekError>(())
        })
        .expect("the poll succeeds");
    let checkpoint = match (limit, checkpoint) {
        (Some(_), Some(checkpoint)) => checkpoint,
        _ => follower.checkpoint(),
    };
    Polled {
        uids,
        report,
        checkpoint,
    }
}

/// Polls once and returns the uids handed out.
pub fn uids(follower: &mut Follower) -> Vec<String> {
    poll(follower, None).uids
}

/// `["{prefix}{first}", ..., "{prefix}{last}"]`.
pub fn named(prefix: &str, range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|n| format!("{prefix}{n}")).collect()
}

/// The lines of `named(prefix, range)`, concatenated.
pub fn lines(prefix: &str, range: std::ops::RangeInclusive<u32>) -> String {
    named(prefix, range).iter().map(|uid| line(uid)).collect()
}
