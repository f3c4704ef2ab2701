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
    #[error(
        "key file {path} already exists; refusing to overwrite it (entries signed with it would no longer verify): move it away first to replace it"
    )]
    Exists { path: PathBuf },
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
///
/// Neither file may exist already: replacing a key would leave the entries it signed without a
/// key that verifies them. The private key is created readable by its owner only (mode 0600).
pub fn write_new_signing_key(key_path: &Path, public_path: &Path) -> Result<SigningKey, KeyError> {
    for path in [key_path, public_path] {
        if path.exists() {
            return Err(KeyError::Exists {
                path: path.to_path_buf(),
            });
        }
    }
    let mut seed = [0u8; 32];
    rand::fill(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    write_new_file(key_path, hex::encode(seed).as_bytes(), 0o600)?;
    write_new_file(
        public_path,
        hex::encode(key.verifying_key().to_bytes()).as_bytes(),
        0o644,
    )?;
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

/// Creates `path` with `mode` (on Unix) and writes `bytes`; fails if the file exists, so a race
/// with another writer cannot overwrite a key either.
fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    use std::io::Write;
    let write_error = |source| KeyError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            write_error(source)
        }
    })?;
    file.write_all(bytes).map_err(write_error)?;
    file.sync_all().map_err(write_error)
}
