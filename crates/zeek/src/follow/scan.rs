//! Finding the files to follow on each poll: the watched paths expanded (a directory is searched
//! recursively for `*.log` and `*.log.gz`, a file is taken whatever its name), each file with its
//! device and inode, size, modification time and fingerprint.
//!
//! Fingerprints are cached by device and inode and computed again when the size or the
//! modification time changes, so a directory with months of archives costs one `stat` per file
//! per poll, not one decompression. A file modified within the last [`SETTLED`] is identified
//! afresh on every poll: modification times are coarse (a few milliseconds on Linux), so a file
//! truncated and rewritten to the same size within one tick would otherwise keep a stale
//! fingerprint.

use std::collections::{HashMap, HashSet};
use std::fs::{File, Metadata};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use flate2::bufread::MultiGzDecoder;

use super::FollowError;
use super::fingerprint::{FINGERPRINT_BYTES, Fingerprint};
use crate::discover::{LogFile, is_log_name};

/// How deep a directory search goes, which also ends symbolic-link loops.
const MAX_DEPTH: usize = 16;

/// How long ago a file must have been modified for its cached fingerprint to be trusted.
const SETTLED: Duration = Duration::from_secs(2);

/// What identifies a file on disk: device and inode where the platform has them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum FileKey {
    Inode(u64, u64),
    #[cfg(not(unix))]
    Path(PathBuf),
}

impl FileKey {
    #[cfg(unix)]
    pub(crate) fn of(_path: &Path, metadata: &Metadata) -> FileKey {
        use std::os::unix::fs::MetadataExt;
        FileKey::Inode(metadata.dev(), metadata.ino())
    }

    #[cfg(not(unix))]
    pub(crate) fn of(path: &Path, _metadata: &Metadata) -> FileKey {
        FileKey::Path(path.to_path_buf())
    }
}

/// One file found by a scan.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) path: PathBuf,
    pub(crate) key: FileKey,
    /// Size on disk (compressed size for gzip).
    pub(crate) len: u64,
    pub(crate) modified: Option<SystemTime>,
    pub(crate) gzip: bool,
    /// `None` while the file is too short to be identified.
    pub(crate) fingerprint: Option<Fingerprint>,
}

impl Candidate {
    /// True when the file name carries a rotation stamp (`conn.2026-11-01-10-00-00.log`) or the
    /// file is gzipped: Zeek no longer writes to it.
    pub(crate) fn is_rotated(&self) -> bool {
        self.gzip || LogFile::new(self.path.clone()).rotation.is_some()
    }
}

#[derive(Debug, Clone)]
struct Cached {
    len: u64,
    modified: Option<SystemTime>,
    gzip: bool,
    fingerprint: Option<Fingerprint>,
    /// The file had not been modified for [`SETTLED`] when it was identified.
    settled: bool,
}

/// Expands watched paths into candidates, remembering fingerprints between polls.
#[derive(Debug, Default)]
pub(crate) struct Scanner {
    cache: HashMap<FileKey, Cached>,
}

impl Scanner {
    /// The files under `paths` now, in the order a batch read takes them (by log path, rotated
    /// files by stamp, then the live file), each once. Paths that do not exist yet are skipped;
    /// other failures are pushed to `errors` and the scan goes on.
    pub(crate) fn scan(
        &mut self,
        paths: &[PathBuf],
        errors: &mut Vec<FollowError>,
    ) -> Vec<Candidate> {
        let mut found = Vec::new();
        for path in paths {
            match std::fs::metadata(path) {
                Ok(metadata) if metadata.is_dir() => {
                    let mut visited = HashSet::new();
                    walk(path, &metadata, 0, &mut visited, &mut found, errors);
                }
                Ok(metadata) => found.push((path.clone(), metadata)),
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(source) => errors.push(FollowError::Io {
                    path: path.clone(),
                    source,
                }),
            }
        }
        let mut files: Vec<LogFile> = Vec::with_capacity(found.len());
        let mut metadata_of = HashMap::with_capacity(found.len());
        for (path, metadata) in found {
            files.push(LogFile::new(path.clone()));
            metadata_of.insert(path, metadata);
        }
        files.sort_by(|left, right| left.order_key().cmp(&right.order_key()));
        let mut seen = HashSet::new();
        let mut candidates = Vec::with_capacity(files.len());
        for file in files {
            let Some(metadata) = metadata_of.get(&file.path) else {
                continue;
            };
            let key = FileKey::of(&file.path, metadata);
            if !seen.insert(key.clone()) {
                continue;
            }
            let (len, modified) = (metadata.len(), metadata.modified().ok());
            let cached = match self.cache.get(&key) {
                Some(cached)
                    if cached.settled && cached.len == len && cached.modified == modified =>
                {
                    cached.clone()
                }
                _ => match identify(&file.path) {
                    Ok((gzip, fingerprint)) => Cached {
                        len,
                        modified,
                        gzip,
                        fingerprint,
                        settled: modified.is_some_and(|modified| {
                            modified.elapsed().is_ok_and(|elapsed| elapsed >= SETTLED)
                        }),
                    },
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(source) => {
                        errors.push(FollowError::Io {
                            path: file.path,
                            source,
                        });
                        continue;
                    }
                },
            };
            self.cache.insert(key.clone(), cached.clone());
            candidates.push(Candidate {
                path: file.path,
                key,
                len,
                modified,
                gzip: cached.gzip,
                fingerprint: cached.fingerprint,
            });
        }
        self.cache.retain(|key, _| seen.contains(key));
        candidates
    }
}

fn walk(
    dir: &Path,
    metadata: &Metadata,
    depth: usize,
    visited: &mut HashSet<FileKey>,
    found: &mut Vec<(PathBuf, Metadata)>,
    errors: &mut Vec<FollowError>,
) {
    if depth > MAX_DEPTH || !visited.insert(FileKey::of(dir, metadata)) {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return,
        Err(source) => {
            errors.push(FollowError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        // Follows symbolic links: zeekctl's `current` is one.
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            walk(&path, &metadata, depth + 1, visited, found, errors);
        } else if metadata.is_file() && is_log_name(&path) {
            found.push((path, metadata));
        }
    }
}

/// Reads the start of a file: whether it is gzip (by its magic bytes) and its fingerprint.
fn identify(path: &Path) -> io::Result<(bool, Option<Fingerprint>)> {
    let mut file = File::open(path)?;
    let mut prefix = Vec::with_capacity(FINGERPRINT_BYTES);
    (&mut file)
        .take(FINGERPRINT_BYTES as u64)
        .read_to_end(&mut prefix)?;
    if !prefix.starts_with(&[0x1f, 0x8b]) {
        return Ok((false, Fingerprint::of_prefix(&prefix)));
    }
    let input = io::Cursor::new(prefix).chain(file);
    let mut decoder = MultiGzDecoder::new(BufReader::new(input)).take(FINGERPRINT_BYTES as u64);
    let mut text = Vec::with_capacity(FINGERPRINT_BYTES);
    // A gzip file still being written ends early; what it holds so far may be enough.
    let _ = decoder.read_to_end(&mut text);
    Ok((true, Fingerprint::of_prefix(&text)))
}
