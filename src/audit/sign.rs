//! Site-held ed25519 keys for signing audit entries: a key file holds the 32-byte seed in hex,
//! the public key file the 32-byte verifying key in hex.

use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} must hold 64 hex digits (32 bytes)")]
    Format { path: PathBuf },
    #[error("key file {path} does not hold a valid ed25519 public key")]
    Invalid { path: PathBuf },
}

fn read_32(path: &Path) -> Result<[u8; 32], KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Format {
        path: path.to_path_buf(),
    })?;
    bytes.try_into().map_err(|_| KeyError::Format {
        path: path.to_path_buf(),
    })
}

pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    Ok(SigningKey::from_bytes(&read_32(path)?))
}

pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_bytes(&read_32(path)?).map_err(|_| KeyError::Invalid {
        path: path.to_path_buf(),
    })
}

/// Creates a new signing key from the operating system's randomness, writes the seed to
/// `key_path` and the public key to `public_path`, and returns the key.
pub fn write_new_signing_key(key_path: &Path, public_path: &Path) -> Result<SigningKey, KeyError> {
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    std::fs::write(key_path, hex::encode(seed)).map_err(|source| KeyError::Write {
        path: key_path.to_path_buf(),
        source,
    })?;
    std::fs::write(public_path, hex::encode(key.verifying_key().to_bytes())).map_err(|source| {
        KeyError::Write {
            path: public_path.to_path_buf(),
            source,
        }
    })?;
    Ok(key)
}
