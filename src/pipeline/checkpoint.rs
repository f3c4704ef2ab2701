//! Checkpoints of the pipeline's state: the feature state machines (keys added since training,
//! per-edge rhythm), each detector's state and the alert builder's open alerts, in one JSON file
//! tied to the model by its SHA-256.
//!
//! A checkpoint is written atomically (a temporary file beside it, fsync, rename, fsync of the
//! directory), so a crash leaves the old one or the new one, never half of one. Reading one is
//! reading outside input: its size is capped, its format and version are checked, and every id
//! in it is checked against the model before it is used, each failure with a message that says
//! what is wrong.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{Pipeline, PipelineError, Slot};
use crate::alerts::{AlertBuilder, BuilderState};
use crate::features::state::{ExtractorState, StateError};
use crate::features::{Extractor, Schema};
use crate::sinks::Sink;

/// The `format` field of every checkpoint.
pub const FORMAT: &str = "otsentry-pipeline-checkpoint";
/// The version this build writes and reads.
pub const VERSION: u32 = 1;
/// Larger files are refused before they are parsed.
pub const MAX_BYTES: u64 = 1 << 30;

/// Everything the pipeline needs to continue where it stopped.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineState {
    pub format: String,
    pub version: u32,
    /// SHA-256 of the model the state belongs to.
    pub model_sha256: String,
    /// Per schema (conn, request): the feature state machine's state.
    pub extractors: [Option<ExtractorState>; 2],
    /// Each detector's state, by name.
    pub detectors: Vec<(String, serde_json::Value)>,
    pub alerts: BuilderState,
}

/// Why a checkpoint could not be written, read or used.
#[derive(Debug, Error)]
pub enum CheckpointError {
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
    #[error("checkpoint {path} is {bytes} bytes, over the {MAX_BYTES}-byte limit")]
    TooLarge { path: PathBuf, bytes: u64 },
    #[error(
        "checkpoint {path} is not a valid checkpoint: {source} (line {line}, column {column})",
        line = source.line(),
        column = source.column()
    )]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(transparent)]
    Header(#[from] HeaderError),
    #[error(
        "the checkpoint belongs to model {found}, not to the model loaded ({expected}): start without the checkpoint, or load the model it was written with"
    )]
    OtherModel { found: String, expected: String },
    #[error("the checkpoint's {schema} feature state does not fit the model: {source}")]
    Features {
        schema: &'static str,
        source: StateError,
    },
    #[error("the checkpoint has {schema} feature state, but the model has no {schema} model")]
    NoSuchSchema { schema: &'static str },
    #[error("the checkpoint's state of detector {detector} is not usable: {message}")]
    Detector { detector: String, message: String },
    #[error("the checkpoint's alert window is {found} s; this run uses {expected} s")]
    Window { found: f64, expected: f64 },
}

/// A versioned JSON file's `(format, version)` header that is not the one this build reads.
#[derive(Debug, Error)]
pub enum HeaderError {
    #[error("checkpoint {path} is not an otsentry {kind} checkpoint (format {found:?})")]
    Foreign {
        path: PathBuf,
        kind: &'static str,
        found: String,
    },
    #[error("checkpoint {path} has version {found}; this build reads version {expected}")]
    Version {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
}

/// Checks the `(format, version)` a checkpoint file of `kind` (`pipeline`, `watch`) carries
/// against what this build writes: a foreign format first, then another version.
pub fn check_header(
    path: &Path,
    kind: &'static str,
    (format, version): (&str, u32),
    (expected_format, expected_version): (&str, u32),
) -> Result<(), HeaderError> {
    if format != expected_format {
        return Err(HeaderError::Foreign {
            path: path.to_path_buf(),
            kind,
            found: format.to_string(),
        });
    }
    if version != expected_version {
        return Err(HeaderError::Version {
            path: path.to_path_buf(),
            found: version,
            expected: expected_version,
        });
    }
    Ok(())
}

impl PipelineState {
    /// Parses and checks a checkpoint's bytes (not yet against a model).
    pub fn from_slice(bytes: &[u8], path: &Path) -> Result<PipelineState, CheckpointError> {
        let state: PipelineState =
            serde_json::from_slice(bytes).map_err(|source| CheckpointError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        check_header(
            path,
            "pipeline",
            (&state.format, state.version),
            (FORMAT, VERSION),
        )?;
        Ok(state)
    }

    /// Reads a checkpoint file.
    pub fn read(path: &Path) -> Result<PipelineState, CheckpointError> {
        let read_error = |source| CheckpointError::Read {
            path: path.to_path_buf(),
            source,
        };
        let bytes = std::fs::metadata(path).map_err(read_error)?.len();
        if bytes > MAX_BYTES {
            return Err(CheckpointError::TooLarge {
                path: path.to_path_buf(),
                bytes,
            });
        }
        let data = std::fs::read(path).map_err(read_error)?;
        PipelineState::from_slice(&data, path)
    }

    /// Writes the checkpoint atomically: temporary file, fsync, rename, fsync of the directory.
    pub fn write(&self, path: &Path) -> Result<(), CheckpointError> {
        let json = serde_json::to_vec(self).map_err(|error| CheckpointError::Write {
            path: path.to_path_buf(),
            source: error.into(),
        })?;
        write_atomic(path, &json).map_err(|source| CheckpointError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename, fsync of the
/// directory, so a crash or power loss leaves the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "checkpoint".to_string());
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        // The rename is durable once the directory entry is.
        if let Ok(dir) = std::fs::File::open(dir) {
            dir.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}

impl Pipeline {
    /// Processes everything pushed so far, then returns the state to checkpoint. Open alerts stay
    /// open: they are part of the state, and the run that restores it closes them.
    pub fn checkpoint(&mut self, sink: &mut dyn Sink) -> Result<PipelineState, PipelineError> {
        self.flush(sink)?;
        let extractors = [Schema::Conn, Schema::Request].map(|schema| {
            let slot = self.slots[super::slot_of(schema)].as_ref()?;
            let trained = &self.model.schema(schema)?.vocab;
            Some(slot.extractor.checkpoint(trained))
        });
        Ok(PipelineState {
            format: FORMAT.to_string(),
            version: VERSION,
            model_sha256: self.model.sha256.clone(),
            extractors,
            detectors: self
                .detectors
                .iter()
                .map(|detector| (detector.name().to_string(), detector.checkpoint()))
                .collect(),
            alerts: self.builder.state(),
        })
    }

    /// Continues from a checkpointed state; the pipeline must be fresh (nothing pushed yet).
    pub fn restore(&mut self, state: PipelineState) -> Result<(), CheckpointError> {
        if state.model_sha256 != self.model.sha256 {
            return Err(CheckpointError::OtherModel {
                found: state.model_sha256,
                expected: self.model.sha256.clone(),
            });
        }
        if state.alerts.window != self.config.window_secs {
            return Err(CheckpointError::Window {
                found: state.alerts.window,
                expected: self.config.window_secs,
            });
        }
        let mut slots: [Option<Slot>; 2] = [None, None];
        for (idx, schema) in [Schema::Conn, Schema::Request].into_iter().enumerate() {
            let model = self.model.schema(schema);
            slots[idx] = match (&state.extractors[idx], model) {
                (Some(extractor_state), Some(model)) => Some(Slot {
                    schema,
                    extractor: Extractor::restore(model.vocab.clone(), extractor_state).map_err(
                        |source| CheckpointError::Features {
                            schema: schema.as_str(),
                            source,
                        },
                    )?,
                }),
                (Some(_), None) => {
                    return Err(CheckpointError::NoSuchSchema {
                        schema: schema.as_str(),
                    });
                }
                (None, Some(model)) => Some(Slot {
                    schema,
                    extractor: Extractor::score(model.vocab.clone()),
                }),
                (None, None) => None,
            };
        }
        for (name, detector_state) in state.detectors {
            let detector = self
                .detectors
                .iter_mut()
                .find(|detector| detector.name() == name)
                .ok_or_else(|| CheckpointError::Detector {
                    message: if name == crate::detect::conduit::NAME {
                        "the checkpoint was written with an inventory and this run has none: give the same --inventory".to_string()
                    } else {
                        "this run does not run it (a build without it, or a model without its baseline)".to_string()
                    },
                    detector: name.clone(),
                })?;
            detector
                .restore(detector_state)
                .map_err(|message| CheckpointError::Detector {
                    detector: name.clone(),
                    message,
                })?;
        }
        self.slots = slots;
        self.builder = AlertBuilder::restore(state.alerts, &self.model.sha256)
            .with_inventory(self.config.inventory.clone());
        Ok(())
    }
}
