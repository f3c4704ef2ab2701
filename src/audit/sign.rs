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

/// The action of the entry by which a log adopts a signing key; its resource is
/// `signing_key:HEX` and it is signed by that key. Every later entry must carry a valid signature
/// from it.
pub const ADOPT_KEY_ACTION: &str = "adopt_signing_key";

/// The resource naming an adopted key.
pub fn adoption_resource(key: &VerifyingKey) -> String {
    format!("signing_key:{}", hex::encode(key.to_bytes()))
}

/// The hex public key named by an adoption entry's resource.
pub fn adopted_key_hex(resource: &str) -> Option<String> {
    resource
        .strip_prefix("signing_key:")
        .filter(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}
