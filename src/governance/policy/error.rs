//! Errors from reading and validating policy files: each names the file, the line and the key.

use std::path::PathBuf;

/// Why a policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The YAML did not parse, or did not fit the documented shape (unknown key, wrong type).
    #[error("{origin}:{line}:{column}: {message}")]
    Shape {
        origin: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// The YAML fit the shape but a value is wrong (a bad date, an unknown action phrase).
    #[error("{origin}:{line}: key `{key}`: {message}")]
    Invalid {
        origin: String,
        line: u64,
        key: String,
        message: String,
    },
}
