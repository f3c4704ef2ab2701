//! Tidy checks over the source tree: every Rust file says what it owns in a `//!` paragraph.
//!
//! The map in ARCHITECTURE.md stays readable only if each file states its job where a reader
//! opens it; this test fails with the list of files that do not.

use std::fs;
use std::path::{Path, PathBuf};

/// Folders holding the project's own Rust code.
const SOURCE_ROOTS: &[&str] = &["src", "crates", "tests", "benches", "fuzz/fuzz_targets"];

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == "data" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
}

fn opens_with_module_doc(text: &str) -> bool {
    text.lines()
        .map(str::trim_start)
        .find(|line| !line.is_empty() && !line.starts_with("#!["))
        .is_some_and(|line| line.starts_with("//!"))
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for source_root in SOURCE_ROOTS {
        rust_files(&root.join(source_root), &mut files);
    }
    assert!(
        files.len() > 20,
        "found only {} Rust files under {root:?}",
        files.len()
    );

    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = fs::read_to_string(path).unwrap_or_default();
            !opens_with_module_doc(&text)
        })
        .map(|path| {
            path.strip_prefix(root)
                .unwrap_or(path)
                .display()
                .to_string()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "these files do not open with a `//!` paragraph saying what they own:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_module_doc_check_tells_files_apart() {
    assert!(opens_with_module_doc(
        "//! Owns the reader.\n\nfn main() {}"
    ));
    assert!(opens_with_module_doc("#![no_main]\n//! Fuzz target.\n"));
    assert!(!opens_with_module_doc("use std::fs;\n//! late doc\n"));
    assert!(!opens_with_module_doc(
        "/// item doc, not a module doc\nfn f() {}"
    ));
    assert!(!opens_with_module_doc(""));
}
