//! The lock on a state directory: one `watch` at a time may use a `--state-dir`, since two would
//! write one checkpoint over the other and read the same logs twice.
//!
//! The lock is an exclusive `flock` on `DIR/watch.lock` (through `std::fs::File::try_lock`),
//! held for as long as the [`StateLock`] lives. The kernel releases it when the process ends, in
//! whatever way it ends, so a lock left by a killed `watch` never blocks the next one; the file
//! itself stays and only names the last holder's pid, which a refused `watch` shows.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The lock file's name in the state directory.
pub const FILE_NAME: &str = "watch.lock";

/// Held while a `watch` uses its state directory; dropping it releases the lock.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// Why the state directory could not be locked.
#[derive(Debug, Error)]
pub enum LockError {
    #[error("cannot lock the state directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the state directory {dir} is in use by another otsentry watch ({holder}); stop it first, or give this one its own --state-dir"
    )]
    Held { dir: PathBuf, holder: String },
}

impl StateLock {
    /// Creates `dir` if missing and locks it, or says which process holds it.
    pub fn acquire(dir: &Path) -> Result<StateLock, LockError> {
        let path = dir.join(FILE_NAME);
        let io_error = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_error)?;
        // Not truncated at open: the holder's pid must still be there for a refused one to read.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder: holder_of(&text),
                });
            }
            Err(TryLockError::Error(error)) => return Err(io_error(error)),
        }
        file.set_len(0).map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        writeln!(file, "{}", std::process::id()).map_err(io_error)?;
        file.flush().map_err(io_error)?;
        Ok(StateLock { _file: file })
    }
}

/// The holder as the lock file names it: its pid, once it has written it.
fn holder_of(text: &str) -> String {
    match text.trim().parse::<u32>() {
        Ok(pid) => format!("pid {pid}"),
        // The holder has the lock but has not written its pid yet.
        Err(_) => "a process that has not written its pid yet".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let held = StateLock::acquire(&state).unwrap();
        let error = StateLock::acquire(&state).unwrap_err().to_string();
        assert!(
            error.contains(&format!("pid {}", std::process::id())),
            "{error}"
        );
        assert!(error.contains("state"), "{error}");
        drop(held);
        let again = StateLock::acquire(&state).unwrap();
        drop(again);
    }

    #[test]
    fn a_stale_lock_file_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "999999999\n").unwrap();
        StateLock::acquire(dir.path()).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert_eq!(text.trim(), std::process::id().to_string());
        assert_eq!(holder_of(""), "a process that has not written its pid yet");
    }
}
