//! Where the shared public data is (real Zeek logs, the ODDS sets): the directory named by
//! `OTSENTRY_SHARED_DATA`, which `.cargo/config.toml` points at the shared/ folder beside the
//! repository and a run may override. A missing directory fails the test with a message saying
//! so, never a silent skip.

// Each test binary that includes this module uses it directly or through `plant_logs`.
#![allow(dead_code)]

use std::path::PathBuf;

/// `part` under the shared data directory (`zeek-real`, `odds/csv`), which must exist.
pub fn shared_data(part: &str) -> PathBuf {
    let root = std::env::var_os("OTSENTRY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let dir = root.join(part);
    assert!(
        dir.is_dir(),
        "{} is missing: the tests need the shared data (put shared/ beside the repository or set \
         OTSENTRY_SHARED_DATA to its data/ folder)",
        dir.display()
    );
    dir
}
