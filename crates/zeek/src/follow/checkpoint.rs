//! Where a follower stopped: for every file it knows (by fingerprint), the byte offset of the next
//! unread line, the number of lines before it, and the decoder's header state at that offset, so a
//! restarted follower neither skips nor repeats a line.
//!
//! A checkpoint is plain data. The follower hands one out with every batch of records
//! ([`super::Batch::checkpoint`]); the caller saves it with [`Checkpoint::save`] when the
//! records it covers are safely processed (for `otsentry watch`, when their alerts are in the
//! spool). Saving is atomic: a temporary file is written and synced, renamed over the old one,
//! and the directory is synced, so a crash or power loss leaves the old checkpoint or the new
//! one, never a mix. Loading validates everything and names what is wrong and where.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::fingerprint::Fingerprint;
use crate::header::{Format, Header};

/// The value of the `checkpoint` key that marks a follower checkpoint.
const KIND: &str = "zeek-follow";
/// The checkpoint format this build writes and reads.
pub const CHECKPOINT_VERSION: u32 = 1;

/// Where a follower stopped, for every file it knows. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Checkpoint {
    pub(crate) files: Vec<FileCheckpoint>,
}

/// Where a follower stopped in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheckpoint {
    pub(crate) fingerprint: Fingerprint,
    pub(crate) path: PathBuf,
    pub(crate) offset: u64,
    pub(crate) lines: u64,
    pub(crate) complete: bool,
    pub(crate) last_seen: u64,
    pub(crate) format: Option<Format>,
    pub(crate) header: Option<Arc<Header>>,
}

impl FileCheckpoint {
    /// The file's identity.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// Where the file was last seen (for messages; the fingerprint identifies it).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The offset, in decompressed bytes, of the next unread line.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The number of lines before [`FileCheckpoint::offset`].
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// True when the file was read to its end after it was rotated or deleted: nothing more
    /// will be read from it.
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// When the file was last seen at a watched path, in seconds since the Unix epoch.
    pub fn last_seen(&self) -> u64 {
        self.last_seen
    }

    /// The header in force at the offset, if the file has one there.
    pub fn header(&self) -> Option<&Arc<Header>> {
        self.header.as_ref()
    }
}

impl Checkpoint {
    /// An empty checkpoint: a follower started from it reads every file from its start.
    pub fn new() -> Checkpoint {
        Checkpoint::default()
    }

    /// The files, in the order the follower first saw them.
    pub fn files(&self) -> &[FileCheckpoint] {
        &self.files
    }

    /// The entry of the file with this fingerprint.
    pub fn file(&self, fingerprint: Fingerprint) -> Option<&FileCheckpoint> {
        self.files
            .iter()
            .find(|file| file.fingerprint == fingerprint)
    }

    /// The checkpoint as pretty-printed JSON, ending with a line break.
    pub fn to_json(&self) -> Vec<u8> {
        let saved = SavedCheckpoint {
            checkpoint: KIND.to_owned(),
            version: CHECKPOINT_VERSION,
            files: self.files.iter().map(SavedFile::from).collect(),
        };
        // Serializing plain strings, numbers and vectors cannot fail.
        let mut json = serde_json::to_vec_pretty(&saved).unwrap_or_default();
        json.push(b'\n');
        json
    }

    /// Parses a checkpoint written by [`Checkpoint::to_json`]; `path` names it in errors.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Checkpoint, CheckpointError> {
        parse(bytes).map_err(|problem| CheckpointError {
            path: path.to_path_buf(),
            problem,
        })
    }

    /// Reads and validates the checkpoint at `path`.
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let bytes = std::fs::read(path).map_err(|source| CheckpointError {
            path: path.to_path_buf(),
            problem: CheckpointProblem::Read(source),
        })?;
        Checkpoint::from_json(&bytes, path)
    }

    /// [`Checkpoint::load`], or `None` when there is no file at `path` (a first start).
    pub fn load_if_exists(path: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
        match std::fs::metadata(path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            _ => Checkpoint::load(path).map(Some),
        }
    }

    /// Writes the checkpoint to `path` atomically: a temporary file beside it is written and
    /// synced, renamed over `path`, and the directory is synced so the rename survives a power
    /// loss.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let fail = |step: &'static str| {
            move |source| CheckpointError {
                path: path.to_path_buf(),
                problem: CheckpointProblem::Write { step, source },
            }
        };
        let name = path.file_name().ok_or_else(|| {
            fail("naming the temporary file")(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path has no file name",
            ))
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(".tmp");
        let temp = dir.join(temp_name);
        let mut file = File::create(&temp).map_err(fail("creating the temporary file"))?;
        file.write_all(&self.to_json())
            .map_err(fail("writing the temporary file"))?;
        file.sync_all()
            .map_err(fail("syncing the temporary file"))?;
        drop(file);
        std::fs::rename(&temp, path).map_err(fail("renaming the temporary file into place"))?;
        sync_dir(&dir).map_err(fail("syncing the directory"))?;
        Ok(())
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Windows cannot open a directory as a file; its renames are durable once they return.
    Ok(())
}

/// A checkpoint that could not be read, written or trusted.
#[derive(Debug, thiserror::Error)]
#[error("checkpoint {}: {problem}", path.display())]
pub struct CheckpointError {
    /// The checkpoint file.
    pub path: PathBuf,
    /// What is wrong.
    #[source]
    pub problem: CheckpointProblem,
}

/// What is wrong with a checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointProblem {
    /// It cannot be read.
    #[error("cannot read it: {0}")]
    Read(io::Error),
    /// It cannot be written.
    #[error("{step} failed: {source}")]
    Write {
        step: &'static str,
        source: io::Error,
    },
    /// The file holds nothing.
    #[error("the file is empty")]
    Empty,
    /// The JSON ends before it is complete.
    #[error("it ends early, at line {line} column {column} (the file was cut short)")]
    Truncated { line: usize, column: usize },
    /// The file is not JSON.
    #[error("not valid JSON at line {line} column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not a follower checkpoint.
    #[error(
        "not a zeek follow checkpoint: expected an object with \"checkpoint\": \"{KIND}\", found {found}"
    )]
    Foreign { found: String },
    /// A checkpoint of another format version.
    #[error(
        "format version {found} is not supported (this build reads version {CHECKPOINT_VERSION})"
    )]
    Version { found: String },
    /// A key the format does not have.
    #[error("unknown key {key:?} (expected checkpoint, version, files)")]
    UnknownKey { key: String },
    /// The `files` value is not a list.
    #[error("\"files\" must be a list, found {found}")]
    Files { found: String },
    /// One file entry is malformed or inconsistent.
    #[error("files[{index}]: {message}")]
    Entry { index: usize, message: String },
}

fn parse(bytes: &[u8]) -> Result<Checkpoint, CheckpointProblem> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(CheckpointProblem::Empty);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|error| {
        let (line, column) = (error.line(), error.column());
        if error.is_eof() {
            CheckpointProblem::Truncated { line, column }
        } else {
            CheckpointProblem::Syntax {
                line,
                column,
                message: error.to_string(),
            }
        }
    })?;
    let serde_json::Value::Object(mut object) = value else {
        return Err(CheckpointProblem::Foreign {
            found: describe(&value),
        });
    };
    match object.remove("checkpoint") {
        Some(serde_json::Value::String(kind)) if kind == KIND => {}
        Some(other) => {
            return Err(CheckpointProblem::Foreign {
                found: format!("\"checkpoint\": {}", short(&other)),
            });
        }
        None => {
            return Err(CheckpointProblem::Foreign {
                found: "an object without that key".to_owned(),
            });
        }
    }
    match object.remove("version") {
        Some(version) if version.as_u64() == Some(u64::from(CHECKPOINT_VERSION)) => {}
        Some(version) => {
            return Err(CheckpointProblem::Version {
                found: short(&version),
            });
        }
        None => {
            return Err(CheckpointProblem::Version {
                found: "none (the key is missing)".to_owned(),
            });
        }
    }
    let files = match object.remove("files") {
        Some(serde_json::Value::Array(files)) => files,
        Some(other) => {
            return Err(CheckpointProblem::Files {
                found: describe(&other),
            });
        }
        None => {
            return Err(CheckpointProblem::Files {
                found: "nothing (the key is missing)".to_owned(),
            });
        }
    };
    if let Some(key) = object.keys().next() {
        return Err(CheckpointProblem::UnknownKey { key: key.clone() });
    }
    let mut checkpoint = Checkpoint::new();
    for (index, value) in files.into_iter().enumerate() {
        let entry = |message: String| CheckpointProblem::Entry { index, message };
        let saved: SavedFile =
            serde_json::from_value(value).map_err(|error| entry(error.to_string()))?;
        let file = saved.check().map_err(entry)?;
        if checkpoint.file(file.fingerprint).is_some() {
            return Err(entry(format!(
                "fingerprint {} is listed twice",
                file.fingerprint
            )));
        }
        checkpoint.files.push(file);
    }
    Ok(checkpoint)
}

fn describe(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "null".to_owned(),
        serde_json::Value::Bool(_) => "a boolean".to_owned(),
        serde_json::Value::Number(_) => "a number".to_owned(),
        serde_json::Value::String(_) => "a string".to_owned(),
        serde_json::Value::Array(_) => "a list".to_owned(),
        serde_json::Value::Object(_) => "an object".to_owned(),
    }
}

/// A value as JSON, cut to a length that fits in a message.
fn short(value: &serde_json::Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text
    }
}

/// The file as written: a mirror of [`Checkpoint`] whose shape is the format.
#[derive(Serialize)]
struct SavedCheckpoint {
    checkpoint: String,
    version: u32,
    files: Vec<SavedFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedFile {
    fingerprint: String,
    path: String,
    offset: u64,
    lines: u64,
    complete: bool,
    last_seen: u64,
    format: Option<Format>,
    header: Option<SavedHeader>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedHeader {
    separator: u8,
    set_separator: String,
    empty_field: String,
    unset_field: String,
    path: Option<String>,
    open: Option<String>,
    fields: Vec<String>,
    types: Vec<String>,
    line_number: u64,
}

impl From<&FileCheckpoint> for SavedFile {
    fn from(file: &FileCheckpoint) -> SavedFile {
        SavedFile {
            fingerprint: file.fingerprint.to_string(),
            path: file.path.to_string_lossy().into_owned(),
            offset: file.offset,
            lines: file.lines,
            complete: file.complete,
            last_seen: file.last_seen,
            format: file.format,
            header: file.header.as_deref().map(|header| SavedHeader {
                separator: header.separator,
                set_separator: header.set_separator.clone(),
                empty_field: header.empty_field.clone(),
                unset_field: header.unset_field.clone(),
                path: header.path.clone(),
                open: header.open.clone(),
                fields: header.fields.clone(),
                types: header.types.clone(),
                line_number: header.line_number,
            }),
        }
    }
}

impl SavedFile {
    /// Checks what the types cannot: the fingerprint's form and that offset, line count,
    /// format and header agree with each other.
    fn check(self) -> Result<FileCheckpoint, String> {
        let fingerprint: Fingerprint = self
            .fingerprint
            .parse()
            .map_err(|error| format!("fingerprint: {error}"))?;
        if self.lines > self.offset {
            return Err(format!(
                "{} lines cannot fit in the {} bytes before the offset",
                self.lines, self.offset
            ));
        }
        if self.offset == 0 && (self.format.is_some() || self.header.is_some()) {
            return Err("a file read from its start cannot have a format or header yet".to_owned());
        }
        let header = match (self.header, self.format) {
            (None, _) => None,
            (Some(_), None) => return Err("a header needs a format".to_owned()),
            (Some(saved), Some(format)) => Some(Arc::new(saved.check(format)?)),
        };
        Ok(FileCheckpoint {
            fingerprint,
            path: PathBuf::from(self.path),
            offset: self.offset,
            lines: self.lines,
            complete: self.complete,
            last_seen: self.last_seen,
            format: self.format,
            header,
        })
    }
}

impl SavedHeader {
    fn check(self, format: Format) -> Result<Header, String> {
        if self.fields.is_empty() {
            return Err("header: no fields".to_owned());
        }
        if !self.types.is_empty() && self.types.len() != self.fields.len() {
            return Err(format!(
                "header: {} types for {} fields",
                self.types.len(),
                self.fields.len()
            ));
        }
        if matches!(self.separator, b'\n' | b'\r') {
            return Err("header: a line break cannot be the separator".to_owned());
        }
        if format == Format::Json {
            // JSON lines are rewritten with Zeek's default markers; a header that says
            // otherwise would make records read differently than a batch read.
            let defaults = Header::with_fields(None, Vec::<String>::new());
            if self.separator != defaults.separator
                || self.set_separator != defaults.set_separator
                || self.empty_field != defaults.empty_field
                || self.unset_field != defaults.unset_field
                || !self.types.is_empty()
                || self.open.is_some()
            {
                return Err(
                    "header: a JSON header has Zeek's default markers and no types or #open"
                        .to_owned(),
                );
            }
        }
        Ok(Header {
            format,
            separator: self.separator,
            set_separator: self.set_separator,
            empty_field: self.empty_field,
            unset_field: self.unset_field,
            path: self.path,
            open: self.open,
            fields: self.fields,
            types: self.types,
            line_number: self.line_number,
        })
    }
}
