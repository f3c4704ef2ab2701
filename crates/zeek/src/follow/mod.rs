//! Following live logs as Zeek writes them, after Vector's file source: watch files and
//! directories, poll them, and hand out the records of complete lines in batches, each with the
//! [`Checkpoint`] that covers it.
//!
//! Zeek's writers and zeekctl do four things to a live log, and the follower handles each:
//!
//! - **append**: only complete lines are read; a partial last line waits for its line break;
//! - **rotation**: zeekctl renames `conn.log`, gzips it and moves it into a dated archive
//!   directory, and Zeek starts a new `conn.log` with a new header block; a plain `zeek` renames
//!   it to `conn.2026-11-01-10-00-00.log` and reopens. The follower keeps the old file open, reads
//!   its tail to the end before it lets go, and recognises the renamed or gzipped file by its
//!   [`Fingerprint`] (a checksum of its first lines, over decompressed bytes), so it is never
//!   read twice;
//! - **truncation** (`copytruncate`): the file's content changes in place; the follower finishes
//!   the old content from what it read (or from the copy, when the copy is in a watched
//!   directory) and reads the new content from its start;
//! - **deletion**: the open handle is read to its end.
//!
//! A file that appears later under a watched directory is picked up on the next poll. Lines are
//! decoded by the same [`Decoder`] as a batch read, resumed at a checkpoint with
//! [`Decoder::resume`], so the records, line numbers and problems are those of a batch read of
//! the same bytes.
//!
//! # Example
//!
//! ```
//! use zeek::follow::{Checkpoint, FollowOptions, Follower};
//!
//! let dir = tempfile::tempdir()?;
//! let log = dir.path().join("conn.log");
//! std::fs::write(&log, "#separator \\x09\n#path\tconn\n#open\t2026-11-01-10-00-00\n#fields\tts\tuid\n#types\ttime\tstring\n1.0\tC1\n2.0\tC")?;
//!
//! let state = dir.path().join("follow.json");
//! let mut follower = Follower::new(FollowOptions::new(vec![dir.path().to_path_buf()]), None);
//! let mut uids = Vec::new();
//! follower.poll(|batch| {
//!     while let Some(record) = batch.next_record()? {
//!         uids.push(record.raw(1).unwrap_or_default().to_owned());
//!     }
//!     // Save only once the records are safely processed.
//!     batch.checkpoint().save(&state)?;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! assert_eq!(uids, ["C1"], "the partial line waits for its line break");
//!
//! // After a restart, the follower resumes from the checkpoint.
//! std::fs::OpenOptions::new().append(true).open(&log).and_then(|mut file| {
//!     std::io::Write::write_all(&mut file, b"2\n")
//! })?;
//! let mut follower = Follower::new(
//!     FollowOptions::new(vec![dir.path().to_path_buf()]),
//!     Checkpoint::load_if_exists(&state)?,
//! );
//! follower.poll(|batch| {
//!     while let Some(record) = batch.next_record()? {
//!         uids.push(record.raw(1).unwrap_or_default().to_owned());
//!     }
//!     Ok::<(), zeek::ZeekError>(())
//! })?;
//! assert_eq!(uids, ["C1", "C2"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batch;
mod checkpoint;
mod fingerprint;
mod scan;
mod source;
mod tracked;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

pub use batch::Batch;
pub use checkpoint::{
    CHECKPOINT_VERSION, Checkpoint, CheckpointError, CheckpointProblem, FileCheckpoint,
};
pub use fingerprint::{BadFingerprint, FINGERPRINT_BYTES, Fingerprint};

use crate::decoder::ReadOptions;
use crate::error::ZeekError;
use crate::input::MAX_LINE_BYTES;
use crate::problem::Problems;
use scan::{Candidate, FileKey, Scanner};
use source::{Opened, Source};
use tracked::{Tracked, read_failure};

/// How often `otsentry watch` polls by default: well inside the one-second alerting target.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Where a follower started without a checkpoint begins in the files it finds on its first poll.
/// Files that appear later are always read from their start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartAt {
    /// Read everything already there (a replay gives what a batch read gives).
    #[default]
    Beginning,
    /// Skip what is already there: only lines written from now on are handed out.
    End,
}

/// What to follow and how.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Files and directories to watch. A directory is searched recursively for `*.log` and
    /// `*.log.gz` on every poll; a file is followed whatever its name. Paths that do not exist
    /// yet are watched for.
    pub paths: Vec<PathBuf>,
    /// Decoding options, as for a batch read.
    pub read: ReadOptions,
    /// Where to begin without a checkpoint.
    pub start_at: StartAt,
    /// The pause [`Follower::wait`] keeps between polls.
    pub poll_interval: Duration,
    /// About how many bytes of lines one batch holds.
    pub batch_bytes: usize,
    /// How many files that are no longer found the checkpoint remembers (the most recently
    /// seen), so a rotated file that shows up again, gzipped in an archive, is recognised.
    pub keep_gone: usize,
}

impl FollowOptions {
    /// Defaults: read from the beginning, poll every [`DEFAULT_POLL_INTERVAL`], 1 MiB batches.
    pub fn new(paths: Vec<PathBuf>) -> FollowOptions {
        FollowOptions {
            paths,
            read: ReadOptions::default(),
            start_at: StartAt::Beginning,
            poll_interval: DEFAULT_POLL_INTERVAL,
            batch_bytes: 1 << 20,
            keep_gone: 4096,
        }
    }
}

/// Something the follower could not do; it goes on with the other files.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// A watched path or a followed file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not a readable Zeek log (or, in strict mode, has a bad line); it is no longer
    /// read.
    #[error("{error}; the file is no longer followed")]
    Unreadable {
        path: PathBuf,
        #[source]
        error: ZeekError,
    },
    /// A file was truncated or rewritten in place before it was read to its end.
    #[error(
        "{} was truncated in place (copytruncate?); lines written to it after the last poll may be lost",
        path.display()
    )]
    Truncated { path: PathBuf },
    /// A gzip archive ends early, perhaps because it is still being written.
    #[error(
        "{} is a gzip file that ends early (still being written, or cut short); it is read again when it changes",
        path.display()
    )]
    IncompleteGzip { path: PathBuf },
}

/// What one poll did.
#[derive(Debug, Default)]
pub struct PollReport {
    /// Files found at the watched paths.
    pub files: usize,
    /// Lines consumed (records, header and blank lines, problems).
    pub lines: u64,
    /// Records handed out.
    pub records: u64,
    /// Bad lines skipped (see [`Follower::problems`]).
    pub problems: u64,
    /// Bytes of lines consumed.
    pub bytes: u64,
    /// True when a handler left lines of a batch unread, which ends the poll; the next poll
    /// hands them out again.
    pub stopped_early: bool,
    /// What went wrong; each is reported once.
    pub errors: Vec<FollowError>,
}

/// Follows a set of files and directories. See the module docs.
#[derive(Debug)]
pub struct Follower {
    options: FollowOptions,
    files: Vec<Tracked>,
    scanner: Scanner,
    problems: Problems,
    /// Skip what the first poll finds ([`StartAt::End`] without a checkpoint).
    skip_existing: bool,
    last_poll: Option<Instant>,
    /// Messages of the scan errors of the last poll, so a lasting one is reported once.
    last_errors: HashSet<String>,
}

impl Follower {
    /// A follower of `options.paths`, resuming from `checkpoint` when given. Nothing is read
    /// until the first [`Follower::poll`].
    pub fn new(options: FollowOptions, checkpoint: Option<Checkpoint>) -> Follower {
        let skip_existing = checkpoint.is_none() && options.start_at == StartAt::End;
        let files = checkpoint
            .map(|checkpoint| {
                checkpoint
                    .files
                    .iter()
                    .map(|file| Tracked::from_checkpoint(file, &options.read))
                    .collect()
            })
            .unwrap_or_default();
        Follower {
            problems: Problems::new(options.read.max_problems_kept),
            options,
            files,
            scanner: Scanner::default(),
            skip_existing,
            last_poll: None,
            last_errors: HashSet::new(),
        }
    }

    /// Looks at the watched paths once and hands every complete line read since the last poll
    /// to `handler`, in batches: the files in the order they were first seen (so a rotated
    /// file's tail comes before its successor), the lines of each file in order.
    ///
    /// The handler takes records with [`Batch::next_record`] until it returns `None`. A handler
    /// that returns with lines left in its batch ends the poll there (back pressure); those
    /// lines come again at the next poll. An error from the handler ends the poll and is
    /// returned.
    pub fn poll<E>(
        &mut self,
        mut handler: impl FnMut(&mut Batch<'_>) -> Result<(), E>,
    ) -> Result<PollReport, E> {
        self.last_poll = Some(Instant::now());
        let mut report = PollReport::default();
        let mut scan_errors = Vec::new();
        let candidates = self.scanner.scan(&self.options.paths, &mut scan_errors);
        let messages: HashSet<String> = scan_errors.iter().map(ToString::to_string).collect();
        report.errors.extend(
            scan_errors
                .into_iter()
                .filter(|error| !self.last_errors.contains(&error.to_string())),
        );
        self.last_errors = messages;
        report.files = candidates.len();
        self.reconcile(&candidates, &mut report);
        self.skip_existing = false;
        for idx in 0..self.files.len() {
            if !self.read_file(idx, &mut handler, &mut report)? {
                report.stopped_early = true;
                break;
            }
        }
        self.prune();
        Ok(report)
    }

    /// Everything handed out so far, as a checkpoint to save once it is processed.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            files: self.files.iter().map(Tracked::entry).collect(),
        }
    }

    /// Bad lines met so far, with the first few kept with their locations.
    pub fn problems(&self) -> &Problems {
        &self.problems
    }

    /// Bytes in the followed plain files, at the last poll, that are not read yet.
    pub fn backlog_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter(|file| file.present && !file.complete && !file.failed)
            .filter_map(|file| {
                let len = file.known_len?;
                Some(len.saturating_sub(file.position.offset))
            })
            .sum()
    }

    /// Sleeps until [`FollowOptions::poll_interval`] has passed since the last poll began.
    pub fn wait(&self) {
        if let Some(last) = self.last_poll {
            let due = last + self.options.poll_interval;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
    }

    /// Matches what the scan found with the files already known, and opens what must be read.
    fn reconcile(&mut self, candidates: &[Candidate], report: &mut PollReport) {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let by_key: HashMap<_, _> = candidates
            .iter()
            .map(|candidate| (&candidate.key, candidate))
            .collect();
        let read = &self.options.read;
        // Files held open: still there, renamed, rewritten in place, or gone.
        for file in &mut self.files {
            file.present = false;
            let Some(key) = file.source.as_ref().and_then(Source::plain_key) else {
                continue;
            };
            match by_key.get(key) {
                Some(candidate) if candidate.fingerprint == Some(file.fingerprint) => {
                    if candidate.len < file.read_position() {
                        // Rewritten from the start with the same first lines.
                        file.restart(read);
                        report.errors.push(FollowError::Truncated {
                            path: candidate.path.clone(),
                        });
                    }
                    file.path.clone_from(&candidate.path);
                    file.final_bytes = candidate.is_rotated();
                }
                Some(candidate) => {
                    report.errors.push(FollowError::Truncated {
                        path: candidate.path.clone(),
                    });
                    file.source = None;
                    file.truncated = true;
                }
                // Moved out of the watched paths or deleted: Zeek has finished with it, and the
                // open handle still reads it to its end. The path is looked at again first, so
                // that a directory the scan could not read does not end a live file.
                None => {
                    let still_there = std::fs::metadata(&file.path)
                        .is_ok_and(|metadata| FileKey::of(&file.path, &metadata) == *key);
                    if still_there {
                        file.present = true;
                        continue;
                    }
                    let identity = file.source.as_mut().map(Source::plain_identity);
                    match identity {
                        Some(Ok(Some((Some(fingerprint), len))))
                            if fingerprint == file.fingerprint && len >= file.read_position() =>
                        {
                            file.final_bytes = true;
                        }
                        _ => {
                            // Rewritten in place before it went away: its old tail is lost.
                            report.errors.push(FollowError::Truncated {
                                path: file.path.clone(),
                            });
                            file.source = None;
                            file.truncated = true;
                        }
                    }
                }
            }
        }
        let mut index: HashMap<Fingerprint, usize> = self
            .files
            .iter()
            .enumerate()
            .map(|(idx, file)| (file.fingerprint, idx))
            .collect();
        let mut sources: HashMap<Fingerprint, Vec<&Candidate>> = HashMap::new();
        for candidate in candidates {
            if let Some(fingerprint) = candidate.fingerprint {
                sources.entry(fingerprint).or_default().push(candidate);
            }
        }
        let mut created = HashSet::new();
        for candidate in candidates {
            let Some(fingerprint) = candidate.fingerprint else {
                continue;
            };
            let idx = *index.entry(fingerprint).or_insert_with(|| {
                created.insert(fingerprint);
                self.files
                    .push(Tracked::new(fingerprint, candidate.path.clone(), read));
                self.files.len() - 1
            });
            let file = &mut self.files[idx];
            if self.skip_existing && created.contains(&fingerprint) {
                // What is there now is skipped: a plain file up to its size, an archive whole
                // (unless a plain copy of it is there to be followed).
                let has_plain = sources[&fingerprint].iter().any(|found| !found.gzip);
                if !candidate.gzip {
                    file.skip_before = file.skip_before.max(candidate.len);
                } else if !has_plain {
                    file.complete = true;
                }
            }
            file.present = true;
            file.last_seen = now;
            if !candidate.gzip {
                file.known_len = Some(candidate.len);
            }
            if file.source.is_none() && !file.complete {
                file.path.clone_from(&candidate.path);
            }
        }
        // Files with nothing open: open the best source of their content.
        for file in &mut self.files {
            if file.source.is_some() || file.complete || file.failed {
                continue;
            }
            let mut found = sources.get(&file.fingerprint).cloned().unwrap_or_default();
            // A plain copy is read at an offset; a gzip copy must be decompressed up to it.
            found.sort_by_key(|candidate| candidate.gzip);
            for candidate in found {
                if candidate.gzip
                    && file.gzip_wait.is_some()
                    && file.gzip_wait == Some((candidate.len, candidate.modified))
                {
                    continue;
                }
                match Source::open(candidate, file.read_position()) {
                    Ok(Opened::At(source)) => {
                        file.source = Some(source);
                        file.final_bytes = candidate.is_rotated();
                        file.truncated = false;
                        file.gzip_wait = None;
                        file.path.clone_from(&candidate.path);
                        break;
                    }
                    Ok(Opened::Shorter) if candidate.gzip => {
                        // The archive holds less than was read from the live file: nothing
                        // is left in it.
                        file.finish();
                        break;
                    }
                    Ok(Opened::Shorter) => {
                        report.errors.push(FollowError::Truncated {
                            path: candidate.path.clone(),
                        });
                        file.restart(read);
                        if let Ok(Opened::At(source)) = Source::open(candidate, 0) {
                            file.source = Some(source);
                            file.final_bytes = candidate.is_rotated();
                            break;
                        }
                    }
                    Ok(Opened::Replaced) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => report.errors.push(FollowError::Io {
                        path: candidate.path.clone(),
                        source,
                    }),
                }
            }
        }
    }

    /// Hands out the complete lines of file `idx`; false when the handler stopped early.
    fn read_file<E>(
        &mut self,
        idx: usize,
        handler: &mut impl FnMut(&mut Batch<'_>) -> Result<(), E>,
        report: &mut PollReport,
    ) -> Result<bool, E> {
        let batch_bytes = self.options.batch_bytes.max(1);
        let strict = self.options.read.strict;
        let (before, rest) = self.files.split_at_mut(idx);
        let Some((file, after)) = rest.split_first_mut() else {
            return Ok(true);
        };
        if file.complete || file.failed {
            return Ok(true);
        }
        let mut exhausted = file.source.is_none();
        let mut clean_end = !file.truncated;
        loop {
            let unread = file.buffer.len() - file.consumed;
            let has_line = memchr::memrchr(b'\n', &file.buffer[file.consumed..]).is_some();
            if !exhausted && (unread < batch_bytes || !has_line) {
                if unread >= MAX_LINE_BYTES && !has_line {
                    let error = ZeekError::LineTooLong {
                        path: Some(file.path.clone()),
                        line: file.position.lines + 1,
                        limit: MAX_LINE_BYTES,
                    };
                    file.failed = true;
                    report.errors.push(FollowError::Unreadable {
                        path: file.path.clone(),
                        error,
                    });
                    return Ok(true);
                }
                match file.read_more() {
                    Ok(0) => exhausted = true,
                    Ok(_) => {}
                    Err(error) => {
                        exhausted = true;
                        clean_end = false;
                        report.errors.push(read_failure(file, error));
                    }
                }
                continue;
            }
            let unread = &file.buffer[file.consumed..];
            let length = match memchr::memrchr(b'\n', unread) {
                Some(last) => last + 1,
                None if exhausted && clean_end && file.final_bytes && !unread.is_empty() => {
                    unread.len()
                }
                None => break,
            };
            let end = file.consumed + length;
            let mut batch = Batch {
                file: &mut *file,
                end,
                others: [&*before, &*after],
                problems: &mut self.problems,
                report: &mut *report,
                strict,
            };
            handler(&mut batch)?;
            if file.failed {
                file.source = None;
                return Ok(true);
            }
            if file.consumed < end {
                return Ok(false);
            }
        }
        // A finished file read to its end is done; so is one whose content was lost in place
        // (its unterminated last line with it: it was cut, not finished).
        if exhausted && ((clean_end && file.final_bytes) || file.truncated) {
            file.finish();
        }
        Ok(true)
    }

    /// Forgets the files not found for longest, beyond [`FollowOptions::keep_gone`].
    fn prune(&mut self) {
        let is_gone = |file: &Tracked| !file.present && file.source.is_none();
        let mut last_seen: Vec<u64> = self
            .files
            .iter()
            .filter(|file| is_gone(file))
            .map(|file| file.last_seen)
            .collect();
        if last_seen.len() <= self.options.keep_gone {
            return;
        }
        last_seen.sort_unstable();
        let to_drop = last_seen.len() - self.options.keep_gone;
        let threshold = last_seen[to_drop - 1];
        let below = last_seen
            .iter()
            .take_while(|seen| **seen < threshold)
            .count();
        let mut equal_to_drop = to_drop - below;
        self.files.retain(|file| {
            if !is_gone(file) || file.last_seen > threshold {
                return true;
            }
            if file.last_seen < threshold {
                return false;
            }
            if equal_to_drop > 0 {
                equal_to_drop -= 1;
                return false;
            }
            true
        });
    }
}
