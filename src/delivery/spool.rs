//! The durable spool: a segmented append log of alert events on disk, and one acknowledged cursor
//! per sink.
//!
//! Layout under the spool directory: `segments/<first seq, 20 digits>.jsonl`, one JSON object a
//! line (`{"seq":N,"t":MS,"alert":{...}}`, or `"triage":{...}` for a triage event; `t` the wall time the event was spooled, for the age of
//! the oldest undelivered event); `cursors/<sink key>.json` holding the next sequence number the
//! sink has not had confirmed; `lock`, held while a `Delivery` has the spool open. Plain files so
//! an operator can read what waits with `head` and `jq`.
//!
//! Appends go through a buffer and become durable at `sync` (flush and fsync); only durable
//! events are handed to sinks, so a sink's cursor never points past what a restart finds. A
//! segment is deleted once every configured sink's cursor has passed it; nothing else removes an
//! event. A torn tail of the last segment (a crash between write and fsync) is cut at open with a
//! warning: those events were never promised durable, and the pipeline's checkpoint, written only
//! after `sync`, replays them.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::DeliveryError;
use crate::alerts::{Alert, AlertState};
use crate::sinks::SiemEvent;
use crate::triage::{TriageAction, TriageEvent};

/// One spooled event as a sink worker reads it back.
#[derive(Clone, Debug)]
pub struct Record {
    pub seq: u64,
    /// Wall time it was spooled, milliseconds since the epoch.
    pub spooled_ms: u64,
    pub event: SiemEvent,
}

/// An alert event's line has `alert`, a triage event's line `triage` (issue 13).
#[derive(Deserialize)]
struct LineIn {
    seq: u64,
    t: u64,
    #[serde(default)]
    alert: Option<Alert>,
    #[serde(default)]
    triage: Option<TriageEvent>,
}

/// Only the head of a line: what opening the spool needs, without building the alert.
#[derive(Deserialize)]
struct LineHead {
    seq: u64,
    t: u64,
    #[serde(default)]
    alert: Option<AlertHead>,
    #[serde(default)]
    triage: Option<TriageHead>,
}

/// What identifies an alert event: the alert's stable id and whether it opens or closes it.
#[derive(Deserialize)]
struct AlertHead {
    id: String,
    state: AlertState,
}

/// What identifies a triage event: its own stable id and its action.
#[derive(Deserialize)]
struct TriageHead {
    id: String,
    action: TriageAction,
}

impl LineHead {
    fn key(&self) -> Option<EventKey> {
        match (&self.alert, &self.triage) {
            (Some(alert), None) => Some(EventKey::of("alert", &alert.id, alert.state.as_str())),
            (None, Some(triage)) => Some(EventKey::of("triage", &triage.id, triage.action.name())),
            _ => None,
        }
    }
}

/// A spooled event's identity: 128 bits of SHA-256 over its kind, stable id and action (an
/// alert's id is sent twice by design, opened and closed). Fixed-size so a full spool's index
/// stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventKey([u8; 16]);

impl EventKey {
    fn of(kind: &str, id: &str, action: &str) -> EventKey {
        let digest = Sha256::new()
            .chain_update(kind)
            .chain_update([0])
            .chain_update(id)
            .chain_update([0])
            .chain_update(action)
            .finalize();
        let mut key = [0; 16];
        key.copy_from_slice(&digest[..16]);
        EventKey(key)
    }

    pub fn of_alert(alert: &Alert) -> EventKey {
        EventKey::of("alert", &alert.id, alert.state.as_str())
    }

    pub fn of_triage(event: &TriageEvent) -> EventKey {
        EventKey::of("triage", &event.id, event.action.name())
    }
}

/// The key of an encoded spool line, as `open` indexes it; `None` for a line that is not one.
#[cfg(test)]
pub fn key_of_line(line: &[u8]) -> Option<EventKey> {
    serde_json::from_slice::<LineHead>(line)
        .ok()
        .and_then(|head| head.key())
}

/// Where each event of a segment starts, and when it was spooled.
#[derive(Debug)]
struct Segment {
    first_seq: u64,
    path: PathBuf,
    /// Byte offset of each event in the file; the file's length closes the last.
    offsets: Vec<u64>,
    spooled_ms: Vec<u64>,
    /// The key of each event that has one.
    keys: Vec<EventKey>,
    bytes: u64,
}

impl Segment {
    fn end_seq(&self) -> u64 {
        self.first_seq + self.offsets.len() as u64
    }
}

/// The spool's files and index. Shared by the writer (the pipeline's thread) and the sink
/// workers under one mutex; reads of event bodies happen outside it.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    segments: Vec<Segment>,
    writer: BufWriter<File>,
    /// The next sequence number to assign.
    head: u64,
    /// Everything below this is on disk and fsynced.
    durable: u64,
    segment_max_bytes: u64,
    total_bytes: u64,
    /// The keys of every event on disk.
    keys: HashSet<EventKey>,
    /// With [`Spool::hold`]: everything below this is covered by the driver's checkpoint, and
    /// no segment holding an event at or above it is deleted.
    committed: Option<u64>,
    _lock: File,
}

fn io_error(path: &Path, what: &'static str, source: std::io::Error) -> DeliveryError {
    DeliveryError::Spool {
        path: path.to_path_buf(),
        what,
        source,
    }
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.jsonl")
}

/// Makes a rename or a new file in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), DeliveryError> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| io_error(dir, "sync directory", source))
}

impl Spool {
    /// Opens (or creates) the spool in `dir`, indexes its segments and cuts a torn tail.
    pub fn open(dir: &Path, segment_max_bytes: u64) -> Result<Spool, DeliveryError> {
        let segments_dir = dir.join("segments");
        for sub in [dir.to_path_buf(), segments_dir.clone(), dir.join("cursors")] {
            fs::create_dir_all(&sub)
                .map_err(|source| io_error(&sub, "create directory", source))?;
        }
        let lock_path = dir.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| io_error(&lock_path, "open lock file", source))?;
        if lock.try_lock().is_err() {
            return Err(DeliveryError::SpoolInUse {
                path: dir.to_path_buf(),
            });
        }

        let mut names = Vec::new();
        let listing = fs::read_dir(&segments_dir)
            .map_err(|source| io_error(&segments_dir, "list segments", source))?;
        for entry in listing {
            let entry = entry.map_err(|source| io_error(&segments_dir, "list segments", source))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".jsonl") else {
                continue;
            };
            let first_seq: u64 = stem.parse().map_err(|_| DeliveryError::Corrupt {
                path: entry.path(),
                line: 0,
                message: "segment name is not a sequence number".into(),
            })?;
            names.push((first_seq, entry.path()));
        }
        names.sort();

        let mut segments = Vec::with_capacity(names.len());
        let n_segments = names.len();
        for (idx, (first_seq, path)) in names.into_iter().enumerate() {
            let is_last = idx + 1 == n_segments;
            let segment = index_segment(first_seq, path, is_last)?;
            if let Some(previous) = segments.last()
                && Segment::end_seq(previous) != first_seq
            {
                return Err(DeliveryError::Corrupt {
                    path: segment.path.clone(),
                    line: 0,
                    message: format!(
                        "segment starts at {first_seq} but the previous one ends at {}",
                        Segment::end_seq(previous)
                    ),
                });
            }
            segments.push(segment);
        }

        let head = segments.last().map_or(0, Segment::end_seq);
        let total_bytes = segments.iter().map(|segment| segment.bytes).sum();
        let keys = segments
            .iter()
            .flat_map(|segment| segment.keys.iter().copied())
            .collect();
        let writer = match segments.last() {
            Some(last) if last.bytes < segment_max_bytes => open_append(&last.path)?,
            _ => {
                let segment = new_segment(&segments_dir, head)?;
                let file = open_append(&segment.path)?;
                segments.push(segment);
                file
            }
        };
        Ok(Spool {
            dir: dir.to_path_buf(),
            segments,
            writer,
            head,
            durable: head,
            segment_max_bytes,
            total_bytes,
            keys,
            committed: None,
            _lock: lock,
        })
    }

    /// Keeps every segment holding an event the driver has not committed yet, delivered or not:
    /// nothing on disk now is committed (a restart may replay any of it).
    pub fn hold(&mut self) {
        self.committed = Some(self.first());
    }

    /// The driver's checkpoint now covers every event appended so far.
    pub fn commit(&mut self) {
        if self.committed.is_some() {
            self.committed = Some(self.head);
        }
    }

    /// True when an event with this key is on disk.
    pub fn holds(&self, key: &EventKey) -> bool {
        self.keys.contains(key)
    }

    /// Events with a key on disk.
    #[cfg(test)]
    pub fn keys_held(&self) -> usize {
        self.keys.len()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The first sequence number still on disk.
    pub fn first(&self) -> u64 {
        self.segments
            .first()
            .map_or(self.head, |segment| segment.first_seq)
    }

    pub fn head(&self) -> u64 {
        self.head
    }

    pub fn durable(&self) -> u64 {
        self.durable
    }

    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// Sets the next sequence number of an empty spool (cursors ahead of an emptied spool).
    pub fn advance_empty_head(&mut self, head: u64) -> Result<(), DeliveryError> {
        if self.head >= head || self.segments.iter().any(|s| !s.offsets.is_empty()) {
            return Ok(());
        }
        for segment in self.segments.drain(..) {
            let _ = fs::remove_file(&segment.path);
        }
        let segment = new_segment(&self.dir.join("segments"), head)?;
        self.writer = open_append(&segment.path)?;
        self.segments.push(segment);
        self.head = head;
        self.durable = head;
        Ok(())
    }

    /// Appends one encoded line (`{"seq":head(),"t":spooled_ms,"alert":...}` and a newline)
    /// with its key (`key_of_line`); durable after `sync`.
    pub fn append(
        &mut self,
        line: &[u8],
        spooled_ms: u64,
        key: Option<EventKey>,
    ) -> Result<u64, DeliveryError> {
        let needs_new = self.segments.last().is_none_or(|last| {
            last.bytes > 0 && last.bytes + line.len() as u64 > self.segment_max_bytes
        });
        if needs_new {
            self.sync()?;
            let segment = new_segment(&self.dir.join("segments"), self.head)?;
            self.writer = open_append(&segment.path)?;
            self.segments.push(segment);
        }
        let last = self
            .segments
            .last_mut()
            .expect("a segment was just ensured");
        self.writer
            .write_all(line)
            .map_err(|source| io_error(&last.path, "append to segment", source))?;
        last.offsets.push(last.bytes);
        last.spooled_ms.push(spooled_ms);
        if let Some(key) = key {
            last.keys.push(key);
            self.keys.insert(key);
        }
        last.bytes += line.len() as u64;
        self.total_bytes += line.len() as u64;
        let seq = self.head;
        self.head += 1;
        Ok(seq)
    }

    /// Flushes and fsyncs: every appended event is durable when this returns.
    pub fn sync(&mut self) -> Result<(), DeliveryError> {
        if self.durable == self.head {
            return Ok(());
        }
        let path = self
            .segments
            .last()
            .map_or_else(|| self.dir.clone(), |last| last.path.clone());
        self.writer
            .flush()
            .and_then(|()| self.writer.get_ref().sync_data())
            .map_err(|source| io_error(&path, "fsync segment", source))?;
        self.durable = self.head;
        Ok(())
    }

    /// Events in `[from, to)`: how many and how many bytes.
    pub fn depth(&self, from: u64, to: u64) -> (u64, u64) {
        let mut bytes = 0;
        for segment in &self.segments {
            let lo = from.max(segment.first_seq);
            let hi = to.min(segment.end_seq());
            if lo >= hi {
                continue;
            }
            let start = segment.offsets[(lo - segment.first_seq) as usize];
            let end = if hi == segment.end_seq() {
                segment.bytes
            } else {
                segment.offsets[(hi - segment.first_seq) as usize]
            };
            bytes += end - start;
        }
        (to.saturating_sub(from), bytes)
    }

    /// When the event `seq` was spooled, if it is still on disk.
    pub fn spooled_ms(&self, seq: u64) -> Option<u64> {
        let segment = self.segment_of(seq)?;
        Some(segment.spooled_ms[(seq - segment.first_seq) as usize])
    }

    fn segment_of(&self, seq: u64) -> Option<&Segment> {
        let idx = self
            .segments
            .partition_point(|segment| segment.end_seq() <= seq);
        self.segments
            .get(idx)
            .filter(|segment| segment.first_seq <= seq && seq < segment.end_seq())
    }

    /// Where to read up to `max_events` durable events from `from`: the segment's path, the byte
    /// range, and the sequence numbers it holds. Stays within one segment.
    pub fn locate(&self, from: u64, max_events: u64) -> Option<ReadPlan> {
        if from >= self.durable {
            return None;
        }
        let segment = self.segment_of(from)?;
        let to = self
            .durable
            .min(segment.end_seq())
            .min(from + max_events.max(1));
        let start = segment.offsets[(from - segment.first_seq) as usize];
        let end = if to == segment.end_seq() {
            segment.bytes
        } else {
            segment.offsets[(to - segment.first_seq) as usize]
        };
        Some(ReadPlan {
            path: segment.path.clone(),
            start,
            end,
            from,
            to,
        })
    }

    /// Deletes the segments every cursor has passed (never the one being written, nor with
    /// [`Spool::hold`] one holding events not committed yet).
    pub fn collect(&mut self, min_cursor: u64) {
        let upto = min_cursor.min(self.committed.unwrap_or(u64::MAX));
        while self.segments.len() > 1 && self.segments[0].end_seq() <= upto {
            let segment = self.segments.remove(0);
            self.total_bytes -= segment.bytes;
            for key in &segment.keys {
                self.keys.remove(key);
            }
            if let Err(error) = fs::remove_file(&segment.path) {
                tracing::warn!(path = %segment.path.display(), %error, "Cannot delete a delivered spool segment");
            }
        }
    }
}

/// A byte range of one segment holding the events `[from, to)`.
#[derive(Debug)]
pub struct ReadPlan {
    pub path: PathBuf,
    pub start: u64,
    pub end: u64,
    pub from: u64,
    pub to: u64,
}

impl ReadPlan {
    /// Reads the events back (outside the spool's lock: the bytes are durable and immutable).
    pub fn read(&self) -> Result<Vec<Record>, DeliveryError> {
        let mut file = File::open(&self.path)
            .map_err(|source| io_error(&self.path, "open segment", source))?;
        file.seek(SeekFrom::Start(self.start))
            .map_err(|source| io_error(&self.path, "seek segment", source))?;
        let mut bytes = vec![0; (self.end - self.start) as usize];
        file.read_exact(&mut bytes)
            .map_err(|source| io_error(&self.path, "read segment", source))?;
        let mut records = Vec::with_capacity((self.to - self.from) as usize);
        for (idx, line) in bytes
            .split(|&byte| byte == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
        {
            let expected = self.from + idx as u64;
            let parsed: LineIn =
                serde_json::from_slice(line).map_err(|error| DeliveryError::Corrupt {
                    path: self.path.clone(),
                    line: 0,
                    message: format!("event {expected}: {error}"),
                })?;
            if parsed.seq != expected {
                return Err(DeliveryError::Corrupt {
                    path: self.path.clone(),
                    line: 0,
                    message: format!("expected event {expected}, found {}", parsed.seq),
                });
            }
            let event = match (parsed.alert, parsed.triage) {
                (Some(alert), None) => SiemEvent::Alert(alert),
                (None, Some(triage)) => SiemEvent::Triage(triage),
                _ => {
                    return Err(DeliveryError::Corrupt {
                        path: self.path.clone(),
                        line: 0,
                        message: format!(
                            "event {expected} holds neither exactly one alert nor one triage event"
                        ),
                    });
                }
            };
            records.push(Record {
                seq: parsed.seq,
                spooled_ms: parsed.t,
                event,
            });
        }
        Ok(records)
    }
}

fn open_append(path: &Path) -> Result<BufWriter<File>, DeliveryError> {
    OpenOptions::new()
        .append(true)
        .open(path)
        .map(|file| BufWriter::with_capacity(256 * 1024, file))
        .map_err(|source| io_error(path, "open segment for append", source))
}

fn new_segment(segments_dir: &Path, first_seq: u64) -> Result<Segment, DeliveryError> {
    let path = segments_dir.join(segment_name(first_seq));
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .append(true)
        .open(&path)
        .map_err(|source| io_error(&path, "create segment", source))?;
    sync_dir(segments_dir)?;
    Ok(Segment {
        first_seq,
        path,
        offsets: Vec::new(),
        spooled_ms: Vec::new(),
        keys: Vec::new(),
        bytes: 0,
    })
}

/// Indexes a segment; in the last one, cuts a torn tail instead of failing.
fn index_segment(first_seq: u64, path: PathBuf, is_last: bool) -> Result<Segment, DeliveryError> {
    let file = File::open(&path).map_err(|source| io_error(&path, "open segment", source))?;
    let mut reader = BufReader::new(file);
    let mut segment = Segment {
        first_seq,
        path,
        offsets: Vec::new(),
        spooled_ms: Vec::new(),
        keys: Vec::new(),
        bytes: 0,
    };
    let mut line = Vec::new();
    let mut line_no = 0;
    loop {
        line.clear();
        let n = reader
            .read_until(b'\n', &mut line)
            .map_err(|source| io_error(&segment.path, "read segment", source))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let expected = segment.end_seq();
        let problem = if line.last() != Some(&b'\n') {
            Some("the line has no newline".to_string())
        } else {
            match serde_json::from_slice::<LineHead>(&line) {
                Ok(head) if head.seq == expected => {
                    segment.offsets.push(segment.bytes);
                    segment.spooled_ms.push(head.t);
                    segment.keys.extend(head.key());
                    segment.bytes += n as u64;
                    None
                }
                Ok(head) => Some(format!("expected event {expected}, found {}", head.seq)),
                Err(error) => Some(error.to_string()),
            }
        };
        if let Some(message) = problem {
            if !is_last {
                return Err(DeliveryError::Corrupt {
                    path: segment.path,
                    line: line_no,
                    message,
                });
            }
            tracing::warn!(
                path = %segment.path.display(),
                line = line_no,
                problem = %message,
                "Cutting the spool's torn tail: events after the last fsync were not durable and are replayed from the pipeline's checkpoint"
            );
            let file = OpenOptions::new()
                .write(true)
                .open(&segment.path)
                .map_err(|source| io_error(&segment.path, "open segment", source))?;
            file.set_len(segment.bytes)
                .and_then(|()| file.sync_all())
                .map_err(|source| io_error(&segment.path, "cut torn tail", source))?;
            break;
        }
    }
    Ok(segment)
}

/// A sink's acknowledged cursor on disk.
#[derive(Serialize, Deserialize)]
struct CursorFile {
    url: String,
    next: u64,
}

/// Reads a sink's cursor; `None` when the sink has none yet.
pub fn load_cursor(dir: &Path, key: &str) -> Result<Option<u64>, DeliveryError> {
    let path = dir.join("cursors").join(format!("{key}.json"));
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<CursorFile>(&bytes)
            .map(|cursor| Some(cursor.next))
            .map_err(|error| DeliveryError::Corrupt {
                path,
                line: 1,
                message: error.to_string(),
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(io_error(&path, "read cursor", source)),
    }
}

/// Writes a sink's cursor atomically (write, fsync, rename, fsync the directory).
pub fn store_cursor(dir: &Path, key: &str, url: &str, next: u64) -> Result<(), DeliveryError> {
    let cursors = dir.join("cursors");
    let path = cursors.join(format!("{key}.json"));
    let tmp = cursors.join(format!("{key}.json.tmp"));
    let bytes = serde_json::to_vec(&CursorFile {
        url: url.to_string(),
        next,
    })
    .unwrap_or_default();
    File::create(&tmp)
        .and_then(|mut file| file.write_all(&bytes).and_then(|()| file.sync_data()))
        .and_then(|()| fs::rename(&tmp, &path))
        .map_err(|source| io_error(&path, "write cursor", source))?;
    sync_dir(&cursors)
}
