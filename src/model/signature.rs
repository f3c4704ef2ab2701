//! The detached signature of a model artifact: an ed25519 signature, by a site-held key, over a
//! manifest of the artifact's digests (the file's SHA-256, the training dataset's SHA-256 and
//! every source file's SHA-256, with the training window), written beside the model as
//! `MODEL.sig`.
//!
//! The trailer of the model file only proves the file is whole: anyone can edit the provenance
//! inside and re-seal it. The signature proves the file is the one the key holder signed, so
//! edited provenance cannot be re-sealed without the key. It works offline: verifying needs the
//! public key file only. [`load_verified`] is what a loader that runs a model (`watch`, the
//! registry) calls: it loads, checks the trailer and sidecar, then the signature.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::artifact::{LoadedModel, ModelError, ModelFile};

/// The `format` of every signature file this build writes and reads.
pub const SIGNATURE_FORMAT: &str = "otsentry-model-signature/1";

/// What is signed: the digests that pin a model and its training data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestManifest {
    /// SHA-256 of the whole model file.
    pub model_sha256: String,
    /// SHA-256 of the training dataset (canonical form of every training record).
    pub dataset_sha256: String,
    /// Every training source file and its SHA-256, in the order training read them.
    pub sources: Vec<SourceDigest>,
    /// The training window, RFC 3339.
    pub window_start_utc: String,
    pub window_end_utc: String,
}

/// One training source file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceDigest {
    pub path: String,
    pub sha256: String,
}

/// The signature file: the manifest, the public key that signed it and the signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    pub format: String,
    pub manifest: DigestManifest,
    /// Hex of the signer's ed25519 public key.
    pub public_key: String,
    /// Hex of the 64-byte signature over the manifest's canonical JSON.
    pub signature: String,
}

/// Why a model's signature was refused.
#[derive(Debug, Error)]
pub enum SignatureError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{path} has no signature file {sig}; sign it with `otsentry model sign`")]
    Missing { path: PathBuf, sig: PathBuf },
    #[error("cannot read signature file {sig}: {source}")]
    Read {
        sig: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write signature file {sig}: {source}")]
    Write {
        sig: PathBuf,
        source: std::io::Error,
    },
    #[error("signature file {sig} is not valid: {message}")]
    Malformed { sig: PathBuf, message: String },
    #[error(
        "signature file {sig} was made by key {found}, not by the site key {expected}; refusing the model"
    )]
    WrongKey {
        sig: PathBuf,
        found: String,
        expected: String,
    },
    #[error(
        "signature file {sig} does not match the model: signed {field} {signed}, the model has {actual}; refusing the model"
    )]
    Mismatch {
        sig: PathBuf,
        field: &'static str,
        signed: String,
        actual: String,
    },
    #[error(
        "signature file {sig} does not verify: its manifest was changed after signing or the signature is damaged; refusing the model"
    )]
    BadSignature { sig: PathBuf },
}

/// The path of a model's signature: `MODEL.sig`.
pub fn signature_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// The digests of a loaded model, as they are signed.
pub fn digest_manifest(loaded: &LoadedModel) -> DigestManifest {
    let manifest = &loaded.file.manifest;
    DigestManifest {
        model_sha256: loaded.sha256.clone(),
        dataset_sha256: manifest.dataset_sha256.clone(),
        sources: manifest
            .sources
            .iter()
            .map(|source| SourceDigest {
                path: source.path.clone(),
                sha256: source.sha256.clone(),
            })
            .collect(),
        window_start_utc: manifest.window.start_utc.clone(),
        window_end_utc: manifest.window.end_utc.clone(),
    }
}

/// The bytes the signature covers: the manifest's JSON (serde writes struct fields in
/// declaration order, so the form is canonical for this format version).
fn signed_bytes(manifest: &DigestManifest) -> Vec<u8> {
    // A struct of strings always serialises.
    serde_json::to_vec(manifest).unwrap_or_default()
}

/// Signs a loaded model and writes `MODEL.sig` beside `path`; returns the signature file's path.
pub fn sign(
    loaded: &LoadedModel,
    path: &Path,
    key: &SigningKey,
) -> Result<PathBuf, SignatureError> {
    let file = signature_file(digest_manifest(loaded), key);
    let sig = signature_path(path);
    let text = serde_json::to_string_pretty(&file).unwrap_or_default();
    std::fs::write(&sig, text + "\n").map_err(|source| SignatureError::Write {
        sig: sig.clone(),
        source,
    })?;
    Ok(sig)
}

/// The signature file of a manifest signed with `key`.
pub fn signature_file(manifest: DigestManifest, key: &SigningKey) -> SignatureFile {
    let signature = key.sign(&signed_bytes(&manifest));
    SignatureFile {
        format: SIGNATURE_FORMAT.to_string(),
        manifest,
        public_key: hex::encode(key.verifying_key().to_bytes()),
        signature: hex::encode(signature.to_bytes()),
    }
}

/// Reads a signature file's text: its JSON shape and format; `sig` names it in errors.
pub fn parse_signature(text: &str, sig: &Path) -> Result<SignatureFile, SignatureError> {
    let malformed = |message: String| SignatureError::Malformed {
        sig: sig.to_path_buf(),
        message,
    };
    let file: SignatureFile =
        serde_json::from_str(text).map_err(|error| malformed(error.to_string()))?;
    if file.format != SIGNATURE_FORMAT {
        return Err(malformed(format!(
            "format `{}`, expected `{SIGNATURE_FORMAT}`",
            file.format
        )));
    }
    Ok(file)
}

/// Checks that `file` was signed by `key` and that its manifest is what was signed.
pub fn verify_signature(
    file: &SignatureFile,
    sig: &Path,
    key: &VerifyingKey,
) -> Result<(), SignatureError> {
    let expected_key = hex::encode(key.to_bytes());
    if file.public_key.to_lowercase() != expected_key {
        return Err(SignatureError::WrongKey {
            sig: sig.to_path_buf(),
            found: file.public_key.clone(),
            expected: expected_key,
        });
    }
    let bytes: [u8; 64] = hex::decode(&file.signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| SignatureError::Malformed {
            sig: sig.to_path_buf(),
            message: "the signature must be 128 hex digits (64 bytes)".into(),
        })?;
    let signature = Signature::from_bytes(&bytes);
    key.verify_strict(&signed_bytes(&file.manifest), &signature)
        .map_err(|_| SignatureError::BadSignature {
            sig: sig.to_path_buf(),
        })
}

/// Verifies the signature beside `path` for the loaded model against the site's public key.
pub fn verify(
    loaded: &LoadedModel,
    path: &Path,
    key: &VerifyingKey,
) -> Result<DigestManifest, SignatureError> {
    let sig = signature_path(path);
    let text = match std::fs::read_to_string(&sig) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(SignatureError::Missing {
                path: path.to_path_buf(),
                sig,
            });
        }
        Err(source) => return Err(SignatureError::Read { sig, source }),
    };
    verify_text(loaded, &text, &sig, key)
}

/// [`verify`] over the signature file's text; `sig` is only used in messages.
pub fn verify_text(
    loaded: &LoadedModel,
    text: &str,
    sig: &Path,
    key: &VerifyingKey,
) -> Result<DigestManifest, SignatureError> {
    let file = parse_signature(text, sig)?;
    verify_signature(&file, sig, key)?;
    let actual = digest_manifest(loaded);
    let mismatch = |field, signed: &str, actual: &str| SignatureError::Mismatch {
        sig: sig.to_path_buf(),
        field,
        signed: signed.to_string(),
        actual: actual.to_string(),
    };
    if file.manifest.model_sha256 != actual.model_sha256 {
        return Err(mismatch(
            "model sha256",
            &file.manifest.model_sha256,
            &actual.model_sha256,
        ));
    }
    if file.manifest.dataset_sha256 != actual.dataset_sha256 {
        return Err(mismatch(
            "dataset sha256",
            &file.manifest.dataset_sha256,
            &actual.dataset_sha256,
        ));
    }
    if file.manifest != actual {
        return Err(mismatch(
            "sources and window",
            &format!("{:?}", file.manifest.sources),
            &format!("{:?}", actual.sources),
        ));
    }
    Ok(file.manifest)
}

/// Loads a model (trailer and sidecar checked) and verifies its signature against the site key:
/// the one call a loader that runs a model makes.
pub fn load_verified(path: &Path, key: &VerifyingKey) -> Result<LoadedModel, SignatureError> {
    let loaded = ModelFile::load(path)?;
    verify(&loaded, path, key)?;
    Ok(loaded)
}
