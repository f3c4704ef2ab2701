//! Writing and loading the sealed model file; see the module docs for the layout.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::manifest::Manifest;
use crate::features::{FeatureRanges, Schema, Vocab};

/// The first 16 bytes of every model file.
pub const MAGIC: &[u8; 16] = b"\x89OTSENTRY-MODEL\n";
/// The format this build writes and the newest it reads. Version 2 added the detectors'
/// baseline sections to the body; a version 1 file loads with none.
pub const FORMAT_VERSION: u32 = 2;

const HEADER_LEN: usize = 16 + 4 + 8 + 8;
const TRAILER_LEN: usize = 32;

/// The largest model file loaded. A default forest is well under a megabyte and one with
/// `max_samples` of 65,536 rows about 100 MB; the limit bounds what a crafted file can make the
/// decoder hold (serde's containers allocate as elements arrive, at most a few dozen bytes of
/// memory per byte of file).
pub const MAX_MODEL_BYTES: u64 = 256 << 20;

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

/// One detector's baseline learnt in training, stored as its own section of the body: the model
/// file knows its name and bytes, the detector that wrote it knows what they mean
/// (`crate::detect::baseline`). A section a build does not know is kept and ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineSection {
    /// The detector's name (`rhythm`, `schedule`).
    pub name: String,
    /// The section's own format version, checked by the detector that reads it.
    pub version: u32,
    /// postcard bytes of the detector's baseline type.
    pub body: Vec<u8>,
}

/// A model file's content: the manifest (stored as JSON), the schema models and the detectors'
/// baseline sections (postcard).
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub manifest: Manifest,
    pub schemas: Vec<SchemaModel>,
    pub baselines: Vec<BaselineSection>,
}

/// The body of a version 2 file: the schema models, then the sections (read back part by part
/// in `decode_body`).
#[derive(Serialize)]
struct BodyRef<'a> {
    schemas: &'a [SchemaModel],
    baselines: &'a [BaselineSection],
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
    #[error("{path}: the model body is damaged at byte {offset} ({part}): {reason}")]
    DecodeBody {
        path: PathBuf,
        /// Which part of the body: `the conn model's vocabulary`, `the schema count`, ...
        part: String,
        /// Byte offset in the file where that part starts.
        offset: u64,
        reason: String,
    },
    #[error("{path} is {found} bytes, more than the {limit} bytes a model file may have")]
    TooLarge {
        path: PathBuf,
        found: u64,
        limit: u64,
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
        let body = postcard::to_allocvec(&BodyRef {
            schemas: &self.schemas,
            baselines: &self.baselines,
        })
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
        let read_error = |source| ModelError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        // The size is checked before reading, and the read is bounded too, in case the file grows.
        let found = file.metadata().map_err(read_error)?.len();
        let too_large = |found| ModelError::TooLarge {
            path: path.to_path_buf(),
            found,
            limit: MAX_MODEL_BYTES,
        };
        if found > MAX_MODEL_BYTES {
            return Err(too_large(found));
        }
        let mut bytes = Vec::with_capacity(found as usize);
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file, MAX_MODEL_BYTES + 1),
            &mut bytes,
        )
        .map_err(read_error)?;
        if bytes.len() as u64 > MAX_MODEL_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
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
        let (schemas, baselines) = decode_body(
            &bytes[manifest_end..sealed_len],
            manifest_end,
            version,
            path,
        )?;
        let file = ModelFile {
            manifest,
            schemas,
            baselines,
        };
        Ok(LoadedModel {
            file,
            sha256: hex::encode(Sha256::digest(bytes)),
            bytes: bytes.len() as u64,
        })
    }
}

impl LoadedModel {
    /// The baseline section a detector wrote under `name`, if the model has one.
    pub fn baseline(&self, name: &str) -> Option<&BaselineSection> {
        self.file
            .baselines
            .iter()
            .find(|section| section.name == name)
    }

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

/// Decodes the body part by part, so that an error names the part and its offset, and checks
/// each part before the next is read: the schema count against the schemas there are, the
/// feature list against this build's, the fitted model's own invariants (`iforest`'s
/// `Unchecked*` forms keep the reason, which postcard would replace with a generic message).
///
/// The parts are read in the order `SchemaModel` declares its fields, the order its derived
/// `Serialize` writes them; the struct literal at the end fails to compile if a field is added
/// without being decoded here.
fn decode_body(
    body: &[u8],
    body_start: usize,
    version: u32,
    path: &Path,
) -> Result<(Vec<SchemaModel>, Vec<BaselineSection>), ModelError> {
    let mut reader = BodyReader {
        body,
        position: 0,
        body_start,
        path,
    };
    let n_schemas: u64 = reader.take("the schema count")?;
    if n_schemas > Schema::ALL.len() as u64 {
        return Err(reader.damaged(
            "the schema count",
            0,
            format!(
                "it says {n_schemas} schema models but there are only {} schemas",
                Schema::ALL.len()
            ),
        ));
    }
    let mut schemas = Vec::with_capacity(n_schemas as usize);
    for index in 0..n_schemas {
        let schema: Schema = reader.take(&format!("the schema of model {index}"))?;
        let name = schema.as_str();
        let part = |what: &str| format!("the {name} model's {what}");
        let feature_names: Vec<String> = reader.take(&part("feature names"))?;
        let expected = schema.feature_names();
        if feature_names != expected {
            return Err(ModelError::FeatureMismatch {
                path: path.to_path_buf(),
                schema: name,
                found: feature_names.join(", "),
                expected: expected.join(", "),
            });
        }
        let vocab: Vocab = reader.take(&part("vocabulary"))?;
        let ranges: FeatureRanges = reader.take(&part("feature ranges"))?;
        let start = reader.position;
        let stored: stored_model::Unchecked = reader.take(&part("fitted model"))?;
        let model = stored
            .check()
            .map_err(|reason| reader.damaged(&part("fitted model"), start, reason))?;
        if model.n_features() != expected.len() {
            return Err(reader.damaged(
                &part("fitted model"),
                start,
                format!(
                    "it was fitted on {} features but the schema has {}",
                    model.n_features(),
                    expected.len()
                ),
            ));
        }
        let n_records: u64 = reader.take(&part("record count"))?;
        schemas.push(SchemaModel {
            schema,
            feature_names,
            vocab,
            ranges,
            model,
            n_records,
        });
    }
    // Version 2 bodies end with the detectors' sections; a version 1 body has none.
    let baselines: Vec<BaselineSection> = if version >= 2 {
        reader.take("the detectors' baseline sections")?
    } else {
        Vec::new()
    };
    if reader.position != body.len() {
        return Err(reader.damaged(
            "the end of the body",
            reader.position,
            format!(
                "{} bytes follow the last part",
                body.len() - reader.position
            ),
        ));
    }
    Ok((schemas, baselines))
}

/// A cursor over the postcard body that names the part it failed on.
struct BodyReader<'a> {
    body: &'a [u8],
    position: usize,
    body_start: usize,
    path: &'a Path,
}

impl BodyReader<'_> {
    fn take<T: serde::de::DeserializeOwned>(&mut self, part: &str) -> Result<T, ModelError> {
        let rest = &self.body[self.position..];
        let (value, unread) = postcard::take_from_bytes::<T>(rest)
            .map_err(|error| self.damaged(part, self.position, describe(&error)))?;
        self.position += rest.len() - unread.len();
        Ok(value)
    }

    fn damaged(&self, part: &str, position: usize, reason: impl Into<String>) -> ModelError {
        ModelError::DecodeBody {
            path: self.path.to_path_buf(),
            part: part.to_string(),
            offset: (self.body_start + position) as u64,
            reason: reason.into(),
        }
    }
}

/// postcard's errors in words that say what is wrong with the file.
fn describe(error: &postcard::Error) -> String {
    use postcard::Error as E;
    match error {
        E::DeserializeUnexpectedEnd => "the body ends in the middle of it".to_string(),
        E::DeserializeBadVarint => "a length or number is not a valid varint".to_string(),
        E::DeserializeBadBool => "a flag is neither 0 nor 1".to_string(),
        E::DeserializeBadChar | E::DeserializeBadUtf8 => "a text is not valid UTF-8".to_string(),
        E::DeserializeBadOption => "an optional value has a tag other than 0 or 1".to_string(),
        E::DeserializeBadEnum => "a variant tag names no known variant".to_string(),
        E::DeserializeBadEncoding | E::SerdeDeCustom => {
            "a value is out of range for its type".to_string()
        }
        other => other.to_string().to_lowercase(),
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
    use iforest::{Forest, Model, UncheckedForest, UncheckedZScoreModel, ZScoreModel};
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

    /// The stored form before the model's own checks, which the loader runs outside serde so
    /// that their message survives (see `decode_body`).
    #[derive(Deserialize)]
    #[serde(rename = "Stored")]
    pub(super) enum Unchecked {
        Forest(UncheckedForest),
        ZScore(UncheckedZScoreModel),
    }

    impl Unchecked {
        pub(super) fn check(self) -> Result<Model, String> {
            Ok(match self {
                Unchecked::Forest(forest) => Model::Forest(
                    Forest::try_from(forest).map_err(|reason| format!("forest: {reason}"))?,
                ),
                Unchecked::ZScore(zscore) => Model::ZScore(
                    ZScoreModel::try_from(zscore)
                        .map_err(|reason| format!("z-score model: {reason}"))?,
                ),
            })
        }
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
