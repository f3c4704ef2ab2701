//! The watch checkpoint: the follower's [`Checkpoint`] (offsets, header state and fingerprint of
//! every file) and the pipeline's [`PipelineState`] in one file, so the two can never disagree.
//!
//! It is written atomically (temporary file, fsync, rename, fsync of the directory) and only
//! after the sinks have flushed the alerts it covers. Reading it is reading outside input: the
//! size is capped, format and version are checked, and each half goes through its own checks
//! (the follower's, and the pipeline's against the model when restored).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zeek::follow::Checkpoint;

use crate::pipeline::PipelineState;
use crate::pipeline::checkpoint::{self, HeaderError, check_header, write_atomic};

/// The `format` field of every watch checkpoint.
pub const FORMAT: &str = "otsentry-watch-checkpoint";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;
/// The file's name in the state directory.
pub const FILE_NAME: &str = "watch.checkpoint.json";

/// The file as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    format: String,
    version: u32,
    follower: serde_json::Value,
    pipeline: serde_json::Value,
    /// The staging candidate's pipeline state (`watch --staging`), when one runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staging: Option<serde_json::Value>,
}

/// What a restarted `watch` resumes from.
#[derive(Debug)]
pub struct WatchState {
    pub follower: Checkpoint,
    pub pipeline: PipelineState,
    /// The staging candidate's pipeline state, beside production's.
    pub staging: Option<PipelineState>,
}

/// Why the checkpoint could not be written or read.
#[derive(Debug, Error)]
pub enum StateError {
    #[error("cannot write checkpoint {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read checkpoint {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {path} is {bytes} bytes, over the {limit}-byte limit", limit = checkpoint::MAX_BYTES)]
    TooLarge { path: PathBuf, bytes: u64 },
    #[error("checkpoint {path} is not a valid watch checkpoint: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error("checkpoint {path}: the follower's part is not usable: {source}")]
    Follower {
        path: PathBuf,
        source: zeek::follow::CheckpointError,
    },
    #[error("checkpoint {path}: the pipeline's part is not usable: {source}")]
    Pipeline {
        path: PathBuf,
        source: Box<crate::pipeline::CheckpointError>,
    },
}

/// The checkpoint's path in `state_dir`.
pub fn path_in(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

impl WatchState {
    /// Writes the checkpoint atomically.
    pub fn write(&self, path: &Path) -> Result<(), StateError> {
        let write_error = |source| StateError::Write {
            path: path.to_path_buf(),
            source,
        };
        let follower: serde_json::Value = serde_json::from_slice(&self.follower.to_json())
            .map_err(|error| write_error(error.into()))?;
        let pipeline =
            serde_json::to_value(&self.pipeline).map_err(|error| write_error(error.into()))?;
        let staging = match &self.staging {
            Some(state) => {
                Some(serde_json::to_value(state).map_err(|error| write_error(error.into()))?)
            }
            None => None,
        };
        let stored = Stored {
            format: FORMAT.to_string(),
            version: VERSION,
            follower,
            pipeline,
            staging,
        };
        let json = serde_json::to_vec(&stored).map_err(|error| write_error(error.into()))?;
        write_atomic(path, &json).map_err(write_error)
    }

    /// Parses and checks a checkpoint's bytes (the pipeline part not yet against a model).
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<WatchState, StateError> {
        let stored: Stored = serde_json::from_slice(bytes).map_err(|source| StateError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        check_header(
            path,
            "watch",
            (&stored.format, stored.version),
            (FORMAT, VERSION),
        )?;
        // Each half is checked by its owner, from the bytes it wrote.
        let follower = serde_json::to_vec(&stored.follower).unwrap_or_default();
        let follower =
            Checkpoint::from_json(&follower, path).map_err(|source| StateError::Follower {
                path: path.to_path_buf(),
                source,
            })?;
        let pipeline = serde_json::to_vec(&stored.pipeline).unwrap_or_default();
        let pipeline =
            PipelineState::from_slice(&pipeline, path).map_err(|source| StateError::Pipeline {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        let staging = match &stored.staging {
            Some(value) => {
                let bytes = serde_json::to_vec(value).unwrap_or_default();
                Some(PipelineState::from_slice(&bytes, path).map_err(|source| {
                    StateError::Pipeline {
                        path: path.to_path_buf(),
                        source: Box::new(source),
                    }
                })?)
            }
            None => None,
        };
        Ok(WatchState {
            follower,
            pipeline,
            staging,
        })
    }

    /// Reads the checkpoint at `path`, or `None` when there is none yet.
    pub fn read_if_exists(path: &Path) -> Result<Option<WatchState>, StateError> {
        let read_error = |source| StateError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = match std::fs::metadata(path) {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(read_error(error)),
        };
        if bytes > checkpoint::MAX_BYTES {
            return Err(StateError::TooLarge {
                path: path.to_path_buf(),
                bytes,
            });
        }
        let data = std::fs::read(path).map_err(read_error)?;
        WatchState::from_slice(&data, path).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_checkpoints_are_named_not_panicked_on() {
        let path = Path::new("state/watch.checkpoint.json");
        let cases: [(&[u8], &str); 5] = [
            (b"", "not a valid watch checkpoint"),
            (b"{\"format\":\"x\",\"version\":1,\"follower\":{},\"pipeline\":{}}", "not an otsentry watch checkpoint"),
            (b"{\"format\":\"otsentry-watch-checkpoint\",\"version\":9,\"follower\":{},\"pipeline\":{}}", "version 9"),
            (b"{\"format\":\"otsentry-watch-checkpoint\",\"version\":1,\"follower\":{},\"pipeline\":{}}", "follower's part"),
            (b"{\"format\":\"otsentry-watch-checkpoint\",\"version\":1,\"follower\":{},\"pipeline\":{},\"extra\":1}", "unknown field"),
        ];
        for (bytes, expected) in cases {
            let error = WatchState::from_slice(bytes, path).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
            assert!(error.contains("state/watch.checkpoint.json"), "{error}");
        }
    }

    #[test]
    fn a_missing_checkpoint_is_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            WatchState::read_if_exists(&path_in(dir.path()))
                .unwrap()
                .is_none()
        );
    }
}
