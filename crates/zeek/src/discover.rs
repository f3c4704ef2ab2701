//! Finding log files: expanding directories, naming each file's log path (`conn`, `modbus`, ...)
//! and rotation stamp, ordering rotated files in time order, and reading a set of files as one
//! sequence of records.
//!
//! Zeek names rotated logs `conn.2026-11-01-10-00-00.log.gz` (its own rotation) or
//! `2026-11-01/conn.10:00:00-11:00:00.log.gz` (zeekctl archives); the live file is `conn.log`.
//! Both stamps sort lexicographically in time order, and the live file comes last.

use std::path::{Path, PathBuf};

use crate::decoder::ReadOptions;
use crate::error::ZeekError;
use crate::problem::Problems;
use crate::reader::FileReader;
use crate::record::Record;

/// One log file and what its name says about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogFile {
    /// Where it is.
    pub path: PathBuf,
    /// The log path from the file name (`conn` for `conn.2026-11-01-10-00-00.log.gz`).
    pub log_path: String,
    /// The rotation stamp from the file name, if rotated.
    pub rotation: Option<String>,
}

impl LogFile {
    /// Describes `path` from its file name.
    pub fn new(path: PathBuf) -> LogFile {
        let log_path = log_path_of(&path).unwrap_or_default();
        let rotation = rotation_of(&path);
        LogFile {
            path,
            log_path,
            rotation,
        }
    }

    pub(crate) fn order_key(&self) -> (&str, bool, Option<&Path>, &str, &Path) {
        (
            &self.log_path,
            self.rotation.is_none(),
            self.path.parent(),
            self.rotation.as_deref().unwrap_or(""),
            &self.path,
        )
    }
}

/// The log path a file name suggests: the name up to its first dot (`modbus_detailed.log` →
/// `modbus_detailed`).
pub fn log_path_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split('.').next()?;
    (!stem.is_empty()).then(|| stem.to_owned())
}

fn rotation_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let name = name
        .strip_suffix(".log")
        .or_else(|| name.strip_suffix(".json"))
        .unwrap_or(name);
    let (_, stamp) = name.split_once('.')?;
    (!stamp.is_empty()).then(|| stamp.to_owned())
}

/// True for names Zeek gives its logs: `*.log` and `*.log.gz`, whatever their format.
///
/// Zeek names JSON logs `.log` too, so a directory search takes nothing else: a site's
/// `inventory.json` or a simulator's `plant.json` beside the logs is not a log. A file named on
/// the command line is read whatever its name.
pub fn is_log_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|name| name.to_str()) else {
        return false;
    };
    if name.starts_with('.') {
        return false;
    }
    let name = name.strip_suffix(".gz").unwrap_or(name);
    name.ends_with(".log")
}

/// Expands `paths` into log files: a file is taken as given (whatever its name), a directory is
/// searched recursively for files named like logs. The result is grouped by log path and each
/// group is in time order (rotated files by stamp, then the live file).
pub fn discover<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<LogFile>, ZeekError> {
    let mut files = Vec::new();
    for path in paths {
        let path = path.as_ref();
        let metadata = std::fs::metadata(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => ZeekError::NotFound {
                path: path.to_path_buf(),
            },
            _ => ZeekError::Io {
                path: Some(path.to_path_buf()),
                source,
            },
        })?;
        if metadata.is_dir() {
            let before = files.len();
            walk(path, &mut files)?;
            if files.len() == before {
                return Err(ZeekError::NoLogs {
                    path: path.to_path_buf(),
                });
            }
        } else {
            files.push(LogFile::new(path.to_path_buf()));
        }
    }
    files.sort_by(|left, right| left.order_key().cmp(&right.order_key()));
    files.dedup_by(|left, right| left.path == right.path);
    Ok(files)
}

fn walk(dir: &Path, files: &mut Vec<LogFile>) -> Result<(), ZeekError> {
    let io_error = |source| ZeekError::Io {
        path: Some(dir.to_path_buf()),
        source,
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io_error)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let file_type = entry.file_type().map_err(io_error)?;
        if file_type.is_dir() {
            walk(&path, files)?;
        } else if is_log_name(&path) {
            files.push(LogFile::new(path));
        }
    }
    Ok(())
}

/// Reads several files as one sequence of records, file after file in the order given.
///
/// A file that is empty (a log just rotated) counts as zero records and is listed in
/// [`LogReader::empty_files`]; any other error stops the reader.
pub struct LogReader {
    files: Vec<LogFile>,
    next_file: usize,
    current: Option<FileReader>,
    options: ReadOptions,
    problems: Problems,
    empty_files: Vec<PathBuf>,
}

impl LogReader {
    /// Discovers the files under `paths` (see [`discover`]) and reads them in that order.
    pub fn open<P: AsRef<Path>>(
        paths: &[P],
        options: &ReadOptions,
    ) -> Result<LogReader, ZeekError> {
        Ok(LogReader::from_files(discover(paths)?, options))
    }

    /// Reads exactly these files in this order.
    pub fn from_files(files: Vec<LogFile>, options: &ReadOptions) -> LogReader {
        LogReader {
            files,
            next_file: 0,
            current: None,
            options: options.clone(),
            problems: Problems::new(options.max_problems_kept),
            empty_files: Vec::new(),
        }
    }

    /// The next record of the current file, moving to the next file at the end of one.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, ZeekError> {
        loop {
            if self.current.is_none() {
                let Some(file) = self.files.get(self.next_file) else {
                    return Ok(None);
                };
                self.next_file += 1;
                self.current = Some(FileReader::open(&file.path, &self.options)?);
            }
            let advanced = match self.current.as_mut().map(FileReader::advance) {
                Some(Ok(advanced)) => advanced,
                Some(Err(ZeekError::Empty { path })) => {
                    self.empty_files.extend(path);
                    false
                }
                Some(Err(error)) => return Err(error),
                None => false,
            };
            if advanced {
                return Ok(self.current.as_ref().and_then(FileReader::current_record));
            }
            if let Some(finished) = self.current.take() {
                self.problems.extend(finished.problems());
            }
        }
    }

    /// The files, in reading order.
    pub fn files(&self) -> &[LogFile] {
        &self.files
    }

    /// The file being read.
    pub fn current_file(&self) -> Option<&LogFile> {
        self.current
            .as_ref()
            .and_then(|_| self.files.get(self.next_file - 1))
    }

    /// Problems of the finished files and the current one.
    pub fn problems(&self) -> Problems {
        let mut problems = self.problems.clone();
        if let Some(current) = &self.current {
            problems.extend(current.problems());
        }
        problems
    }

    /// Files that held nothing.
    pub fn empty_files(&self) -> &[PathBuf] {
        &self.empty_files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_log_paths_and_rotation_stamps() {
        let file = LogFile::new(PathBuf::from("logs/conn.2026-11-01-10-00-00.log.gz"));
        assert_eq!(file.log_path, "conn");
        assert_eq!(file.rotation.as_deref(), Some("2026-11-01-10-00-00"));
        let file = LogFile::new(PathBuf::from(
            "logs/2026-11-01/conn.10:00:00-11:00:00.log.gz",
        ));
        assert_eq!(file.rotation.as_deref(), Some("10:00:00-11:00:00"));
        let file = LogFile::new(PathBuf::from("modbus_detailed.log"));
        assert_eq!(
            (file.log_path.as_str(), file.rotation),
            ("modbus_detailed", None)
        );
        assert!(is_log_name(Path::new("a/conn.log.gz")));
        assert!(!is_log_name(Path::new("plant.json")));
        assert!(!is_log_name(Path::new("trace.pcap")));
        assert!(!is_log_name(Path::new(".conn.log.swp")));
    }
}
