//! The `file://PATH` URL (PATH as written: `file:///var/log/a.jsonl` is absolute, `file://a.jsonl`
//! relative) and `-` for stdout.

use std::path::PathBuf;

use crate::delivery::DeliveryError;
use crate::delivery::target::bad;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConfig {
    /// `None` is stdout.
    pub path: Option<PathBuf>,
}

impl FileConfig {
    pub fn from_path(url: &str, path: &str) -> Result<FileConfig, DeliveryError> {
        if path.is_empty() {
            return Err(bad(url, "no path after file://"));
        }
        if path.ends_with('/') {
            return Err(bad(url, "the path names a directory; name a file"));
        }
        if path.chars().any(char::is_control) {
            return Err(bad(url, "the path has control characters"));
        }
        Ok(FileConfig {
            path: Some(PathBuf::from(path)),
        })
    }
}
