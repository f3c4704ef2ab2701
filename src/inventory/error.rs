//! Errors from reading and checking inventory files: each names the file and the line, and a
//! check reports every mistake it finds rather than only the first.

use std::fmt;
use std::path::PathBuf;

/// One reason an inventory was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read inventory file {path}: {message}")]
    Read { path: PathBuf, message: String },
    /// The YAML did not parse, or did not fit the documented shape (unknown key, wrong type).
    #[error("{origin}:{line}:{column}: {message}")]
    Shape {
        origin: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// The YAML fit the shape but a value is wrong (a bad address, an unknown zone).
    #[error("{origin}:{line}: {key}: {message}")]
    Invalid {
        origin: String,
        line: u64,
        key: String,
        message: String,
    },
}

impl InventoryError {
    /// The file (or other origin) the error is about.
    pub fn origin(&self) -> String {
        match self {
            InventoryError::Read { path, .. } => path.display().to_string(),
            InventoryError::Shape { origin, .. } | InventoryError::Invalid { origin, .. } => {
                origin.clone()
            }
        }
    }

    /// The 1-based line, when the error has one.
    pub fn line(&self) -> Option<u64> {
        match self {
            InventoryError::Read { .. } => None,
            InventoryError::Shape { line, .. } | InventoryError::Invalid { line, .. } => {
                Some(*line)
            }
        }
    }
}

/// Every mistake found in a set of inventory files, in file and line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryErrors(pub Vec<InventoryError>);

impl fmt::Display for InventoryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        let noun = if count == 1 { "mistake" } else { "mistakes" };
        write!(f, "inventory has {count} {noun}")?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InventoryErrors {}
