//! Where the shared public data is (the full real-log collection, the ODDS sets) and what a test
//! does without it. The data is the directory named by `OTSENTRY_SHARED_DATA`, which
//! `.cargo/config.toml` points at the shared/ folder beside the repository and a run may
//! override. The redistributable part is vendored under `tests/data` and always read; a test that
//! needs the rest skips with a visible `skipped: ... not found` line when it is missing, unless
//! `OTSENTRY_REQUIRE_SHARED_DATA=1` (set by `.ci/run`) makes the missing data a failure.

// Each test binary that includes this module uses only some of it.
#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The variable that turns a skipped test into a failing one.
pub const REQUIRE_VAR: &str = "OTSENTRY_REQUIRE_SHARED_DATA";

/// The repository root (the directory holding Cargo.lock), for test binaries of every crate.
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .unwrap_or(manifest)
        .to_path_buf()
}

/// `part` under `tests/data` (vendored, always present).
pub fn vendored(part: &str) -> PathBuf {
    let dir = repo_root().join("tests/data").join(part);
    assert!(
        dir.exists(),
        "{} is missing from the repository",
        dir.display()
    );
    dir
}

/// `part` under the shared data directory (`zeek-real`, `odds/csv`), or `None` after printing
/// why the calling test is skipped. Panics instead when [`REQUIRE_VAR`] is `1`.
pub fn shared_data(part: &str) -> Option<PathBuf> {
    let root = std::env::var_os("OTSENTRY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data"));
    let dir = root.join(part);
    if dir.exists() {
        return Some(dir);
    }
    let required = std::env::var(REQUIRE_VAR).is_ok_and(|value| value == "1");
    assert!(
        !required,
        "{} not found and {REQUIRE_VAR}=1: put shared/ beside the repository or set \
         OTSENTRY_SHARED_DATA to its data/ folder",
        dir.display()
    );
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing tests,
    // and a skip nobody sees is a silent one.
    let _ = writeln!(
        std::io::stderr().lock(),
        "skipped: {test}: {} not found (put shared/ beside the repository or set \
         OTSENTRY_SHARED_DATA; {REQUIRE_VAR}=1 makes this a failure)",
        dir.display()
    );
    None
}
