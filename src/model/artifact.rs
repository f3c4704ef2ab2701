//! Writing and loading the sealed model file; see the module docs for the layout.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::manifest::Manifest;
use crate::detect::baseline::Baselines;
use crate::features::{FeatureRanges, Schema, Vocab};

/// The first 16 bytes of every model file.
pub const MAGIC: &[u8; 16] = b"\x89OTSENTRY-MODEL\n";
/// The format this build writes and the newest it reads. Version 2 adds the detectors'
/// baselines after the schema models; a version 1 file loads with none.
pub const FORMAT_VERSION: u32 = 2;

const HEADER_LEN: usize = 16 + 4 + 8 + 8;
const TRAILER_LEN: usize = 32;

/// One schema's model: its vocabulary, feature spec and fitted model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SchemaModel {
    pub schema: Schema,
    /// Column names in matrix order; checked against this build's at load.
    pub feature_names: Vec<String>,
    pub vocab: Vocab,
    /// Training ranges of each feature, for reasons.
    pub ranges: FeatureRanges,
    #[serde(with = "stored_model")]
    pub model: iforest::Model,
    /// Training records of this schema.
    pub n_records: u64,
}

/// A model file's content: the manifest (stored as JSON) and the schema models (postcard).
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub manifest: Manifest,
    pub schemas: Vec<SchemaModel>,
    /// What the deterministic detectors learnt from the same window, one section each.
    pub baselines: Baselines,
}

/// A model read from disk, with the SHA-256 of the whole file.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    pub file: ModelFile,
    pub sha256: String,
    pub bytes: u64,
}

/// Why a model file could not be written or loaded.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("cannot read model {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write model {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an otsentry model file (it does not start with the model magic bytes)")]
    NotAModel { path: PathBuf },
    #[error(
        "{path} is model format version {found}, newer than this otsentry reads (up to {supported}); use a newer otsentry"
    )]
    NewerFormat {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("{path} is truncated: expected {expected} bytes, found {found}")]
    Truncated {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    #[error(
        "{path} was modified or damaged: its content does not match its SHA-256 trailer; refusing to load it (restore it from the registry or retrain)"
    )]
    Tampered { path: PathBuf },
    #[error(
        "{path} does not match its sidecar {sidecar}: file sha256 {actual}, sidecar says {expected}; refusing to load it"
    )]
    SidecarMismatch {
        path: PathBuf,
        sidecar: PathBuf,
        actual: String,
        expected: String,
    },
    #[error("{path}: cannot decode the model manifest: {source}")]
    DecodeManifest {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: cannot decode the model body: {source}")]
    DecodeBody {
        path: PathBuf,
        source: postcard::Error,
    },
    #[error(
        "{path}: the {schema} model has features [{found}] but this otsentry computes [{expected}]"
    )]
    FeatureMismatch {
        path: PathBuf,
        schema: &'static str,
        found: String,
        expected: String,
    },
    #[error("cannot encode the model manifest: {0}")]
    EncodeManifest(serde_json::Error),
    #[error("cannot encode the model body: {0}")]
    EncodeBody(postcard::Error),
}

/// The path of the sidecar holding a model's SHA-256: `MODEL.sha256`.
pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sha256");
    PathBuf::from(name)
}

impl ModelFile {
    /// Serialises the model into the sealed layout.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ModelError> {
        let manifest = serde_json::to_vec(&self.manifest).map_err(ModelError::EncodeManifest)?;
        let body = postcard::to_allocvec(&(&self.schemas, &self.baselines))
            .map_err(ModelError::EncodeBody)?;
        let mut bytes = Vec::with_capacity(HEADER_LEN + manifest.len() + body.len() + TRAILER_LEN);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(manifest.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&manifest);
        bytes.extend_from_slice(&body);
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        Ok(bytes)
    }

    /// Writes the model and its `.sha256` sidecar (in `sha256sum` format); returns the file's
    /// SHA-256. The model is written to a temporary name and renamed, so a crash never leaves a
    /// half-written model under the real name.
    pub fn write(&self, path: &Path) -> Result<String, ModelError> {
        let bytes = self.to_bytes()?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let write_error = |source| ModelError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let mut file = std::fs::File::create(&partial).map_err(write_error)?;
        file.write_all(&bytes).map_err(write_error)?;
        file.sync_all().map_err(write_error)?;
        std::fs::rename(&partial, path).map_err(write_error)?;
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::write(sidecar_path(path), format!("{sha256}  {name}\n")).map_err(write_error)?;
        Ok(sha256)
    }

    /// Loads and verifies a model file (see [`ModelFile::from_bytes`]) and, when a `.sha256`
    /// sidecar exists beside it, checks the file against it too.
    pub fn load(path: &Path) -> Result<LoadedModel, ModelError> {
        let bytes = std::fs::read(path).map_err(|source| ModelError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let loaded = ModelFile::from_bytes(&bytes, path)?;
        let sidecar = sidecar_path(path);
        if let Ok(text) = std::fs::read_to_string(&sidecar) {
            let expected = text.split_whitespace().next().unwrap_or("").to_lowercase();
            if expected != loaded.sha256 {
                return Err(ModelError::SidecarMismatch {
                    path: path.to_path_buf(),
                    sidecar,
                    actual: loaded.sha256,
                    expected,
                });
            }
        }
        Ok(loaded)
    }

    /// Verifies the magic, the format version, the length and the trailer, then decodes.
    /// `path` is only used in messages.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<LoadedModel, ModelError> {
        let path_buf = || path.to_path_buf();
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::NotAModel { path: path_buf() });
        }
        if bytes.len() < HEADER_LEN {
            return Err(ModelError::Truncated {
                path: path_buf(),
                expected: (HEADER_LEN + TRAILER_LEN) as u64,
                found: bytes.len() as u64,
            });
        }
        let mut version = [0u8; 4];
        version.copy_from_slice(&bytes[16..20]);
        let version = u32::from_le_bytes(version);
        if version > FORMAT_VERSION {
            return Err(ModelError::NewerFormat {
                path: path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let manifest_len = read_u64(&bytes[20..28]);
        let body_len = read_u64(&bytes[28..36]);
        let expected = (HEADER_LEN as u64)
            .saturating_add(manifest_len)
            .saturating_add(body_len)
            .saturating_add(TRAILER_LEN as u64);
        if bytes.len() as u64 != expected {
            if (bytes.len() as u64) < expected {
                return Err(ModelError::Truncated {
                    path: path_buf(),
                    expected,
                    found: bytes.len() as u64,
                });
            }
            return Err(ModelError::Tampered { path: path_buf() });
        }
        let sealed_len = bytes.len() - TRAILER_LEN;
        let digest = Sha256::digest(&bytes[..sealed_len]);
        if digest.as_slice() != &bytes[sealed_len..] {
            return Err(ModelError::Tampered { path: path_buf() });
        }
        // The lengths were checked against the file size above, so these fit.
        let manifest_end = HEADER_LEN + manifest_len as usize;
        let manifest: Manifest =
            serde_json::from_slice(&bytes[HEADER_LEN..manifest_end]).map_err(|source| {
                ModelError::DecodeManifest {
                    path: path_buf(),
                    source,
                }
            })?;
        let body = &bytes[manifest_end..sealed_len];
        let decode_error = |source| ModelError::DecodeBody {
            path: path_buf(),
            source,
        };
        let (schemas, baselines): (Vec<SchemaModel>, Baselines) = if version < 2 {
            (
                postcard::from_bytes(body).map_err(decode_error)?,
                Baselines::default(),
            )
        } else {
            postcard::from_bytes(body).map_err(decode_error)?
        };
        let file = ModelFile {
            manifest,
            schemas,
            baselines,
        };
        for schema_model in &file.schemas {
            let expected = schema_model.schema.feature_names();
            if schema_model.feature_names != expected {
                return Err(ModelError::FeatureMismatch {
                    path: path_buf(),
                    schema: schema_model.schema.as_str(),
                    found: schema_model.feature_names.join(", "),
                    expected: expected.join(", "),
                });
            }
        }
        Ok(LoadedModel {
            file,
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
        })
    }
}

impl LoadedModel {
    /// The OT selection the model was trained with (the defaults for models that predate it).
    pub fn ot_selector(&self) -> crate::ot::OtSelector {
        self.file
            .manifest
            .ot_selection
            .as_ref()
            .and_then(|config| config.check().ok())
            .unwrap_or_default()
    }

    /// The model of a schema, if the training data had any records of it.
    pub fn schema(&self, schema: Schema) -> Option<&SchemaModel> {
        self.file
            .schemas
            .iter()
            .find(|model| model.schema == schema)
    }
}

fn read_u64(bytes: &[u8]) -> u64 {
    let mut buffer = [0u8; 8];
    buffer.copy_from_slice(&bytes[..8]);
    u64::from_le_bytes(buffer)
}

/// Stores `iforest::Model` as an externally tagged enum: its own adjacently tagged form needs a
/// self-describing format, which postcard is not.
mod stored_model {
    use iforest::{Forest, Model, ZScoreModel};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize)]
    enum StoredRef<'a> {
        Forest(&'a Forest),
        ZScore(&'a ZScoreModel),
    }

    #[derive(Deserialize)]
    enum Stored {
        Forest(Forest),
        ZScore(ZScoreModel),
    }

    pub fn serialize<S: Serializer>(model: &Model, serializer: S) -> Result<S::Ok, S::Error> {
        match model {
            Model::Forest(forest) => StoredRef::Forest(forest),
            Model::ZScore(zscore) => StoredRef::ZScore(zscore),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Model, D::Error> {
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Forest(forest) => Model::Forest(forest),
            Stored::ZScore(zscore) => Model::ZScore(zscore),
        })
    }
}
