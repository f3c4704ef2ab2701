//! The model file's integrity checks through `otsentry model show` and `otsentry score`: a
//! modified, truncated, foreign or newer-format file is refused with a clear error.

mod plant_logs;
mod shared_data;

use std::path::{Path, PathBuf};

use plant_logs::*;
use sha2::{Digest, Sha256};

fn trained(dir: &Path) -> (PathBuf, PathBuf) {
    let logs = dir.join("logs");
    write_logs(&logs, &plant(START, 15.0, 3600.0));
    let model = dir.join("plant.model");
    train(&logs, &model, &[]);
    (logs, model)
}

/// `model show` on `path` fails with a message containing every one of `needles`.
fn refused(path: &Path, needles: &[&str]) {
    let output = otsentry(&["model", "show", path.to_str().unwrap()]);
    assert!(!output.status.success(), "{} was accepted", path.display());
    let message = stderr(&output);
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message}");
    }
}

#[test]
fn an_intact_model_loads_and_shows_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = trained(dir.path());
    let output = otsentry(&["model", "show", model.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let digest = hex::encode(Sha256::digest(std::fs::read(&model).unwrap()));
    assert!(stdout(&output).contains(&digest));
}

#[test]
fn a_modified_byte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = trained(dir.path());
    let mut bytes = std::fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let copy = dir.path().join("modified.model");
    std::fs::write(&copy, &bytes).unwrap();
    refused(&copy, &["modified or damaged", "SHA-256 trailer"]);
}

#[test]
fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = trained(dir.path());
    let bytes = std::fs::read(&model).unwrap();
    let copy = dir.path().join("truncated.model");
    std::fs::write(&copy, &bytes[..bytes.len() - 100]).unwrap();
    refused(&copy, &["truncated", "expected"]);
    std::fs::write(&copy, &bytes[..20]).unwrap();
    refused(&copy, &["truncated"]);
}

#[test]
fn a_foreign_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = dir.path().join("foreign.model");
    std::fs::write(&foreign, b"{\"not\": \"a model\"}\n").unwrap();
    refused(&foreign, &["not an otsentry model file"]);
    let empty = dir.path().join("empty.model");
    std::fs::write(&empty, b"").unwrap();
    refused(&empty, &["not an otsentry model file"]);
}

#[test]
fn a_newer_format_version_is_refused_even_when_correctly_sealed() {
    let dir = tempfile::tempdir().unwrap();
    let (_, model) = trained(dir.path());
    let mut bytes = std::fs::read(&model).unwrap();
    bytes[16..20].copy_from_slice(&99u32.to_le_bytes());
    // Re-seal, so that only the version can be the reason for refusing.
    let sealed = bytes.len() - 32;
    let digest = Sha256::digest(&bytes[..sealed]);
    bytes[sealed..].copy_from_slice(&digest);
    let newer = dir.path().join("newer.model");
    std::fs::write(&newer, &bytes).unwrap();
    refused(&newer, &["format version 99", "newer otsentry"]);
}

#[test]
fn a_model_that_does_not_match_its_sidecar_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, model) = trained(dir.path());
    let sidecar = dir.path().join("plant.model.sha256");
    std::fs::write(&sidecar, format!("{}  plant.model\n", "0".repeat(64))).unwrap();
    refused(&model, &["does not match its sidecar"]);
    // Scoring refuses it as well.
    let output = otsentry(&[
        "score",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(stderr(&output).contains("does not match its sidecar"));
}
