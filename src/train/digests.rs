//! The source files' SHA-256, computed from the bytes the reader reads for training, so each file
//! is read once: the digest is of exactly the bytes the model was trained on.
//!
//! The reader passes every file's bytes, as stored (before decompression), through a
//! [`zeek::SourceTap`] on its reading thread; [`SourceDigests`] hashes them there, one SHA-256
//! per opened file, in reading order.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};
use zeek::{LogFile, SourceTap};

use crate::model::SourceFile;

/// One opened file's running digest.
struct Running {
    path: PathBuf,
    hasher: Sha256,
    bytes: u64,
}

/// The digests of the files a read opens, filled through [`SourceDigests::tap`].
#[derive(Clone, Default)]
pub struct SourceDigests {
    opened: Arc<Mutex<Vec<Running>>>,
}

impl SourceDigests {
    /// The tap to set in the reader's options: it starts a digest when a file is opened and
    /// feeds it every run of bytes read.
    pub fn tap(&self) -> SourceTap {
        let opened = Arc::clone(&self.opened);
        SourceTap::new(move |path: &Path, bytes: &[u8]| {
            // Only the reading thread calls the tap, so the lock is never contended; a panic
            // elsewhere poisons nothing this needs.
            let mut opened = opened.lock().unwrap_or_else(PoisonError::into_inner);
            match opened.last_mut() {
                Some(running) if !bytes.is_empty() && running.path == path => {
                    running.hasher.update(bytes);
                    running.bytes += bytes.len() as u64;
                }
                _ => opened.push(Running {
                    path: path.to_path_buf(),
                    hasher: {
                        let mut hasher = Sha256::new();
                        hasher.update(bytes);
                        hasher
                    },
                    bytes: bytes.len() as u64,
                }),
            }
        })
    }

    /// The digest and size of every file of `files`, which the read must have opened once each,
    /// in that order (a read that succeeded has also read each to its end); otherwise the first
    /// file that was not, by name.
    pub fn finish(self, files: &[LogFile]) -> Result<Vec<SourceFile>, PathBuf> {
        let opened =
            std::mem::take(&mut *self.opened.lock().unwrap_or_else(PoisonError::into_inner));
        let mut opened = opened.into_iter();
        files
            .iter()
            .map(|file| match opened.next() {
                Some(running) if running.path == file.path => Ok(SourceFile {
                    path: file.path.display().to_string(),
                    sha256: hex::encode(running.hasher.finalize()),
                    bytes: running.bytes,
                }),
                _ => Err(file.path.clone()),
            })
            .collect()
    }
}
