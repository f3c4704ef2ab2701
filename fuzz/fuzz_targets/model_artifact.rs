//! Fuzzes the model loader past its checksum: the input is split into a manifest and a body and
//! sealed with a correct header and SHA-256 trailer, as a crafted file would be, so the decoder
//! itself is exercised. Any input is refused with an error naming the file, or loads as a model
//! that survives write, load, write unchanged.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use otsentry::model::{FORMAT_VERSION, MAGIC, ModelFile};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let Some((split, rest)) = data.split_first_chunk::<2>() else {
        return;
    };
    let manifest_len = usize::from(u16::from_le_bytes(*split)).min(rest.len());
    let (manifest, body) = rest.split_at(manifest_len);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(manifest.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(manifest);
    bytes.extend_from_slice(body);
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(&digest);
    match ModelFile::from_bytes(&bytes, Path::new("fuzz.model")) {
        Err(error) => assert!(error.to_string().contains("fuzz.model"), "error without the file: {error}"),
        Ok(loaded) => {
            let written = loaded.file.to_bytes().expect("a loaded model encodes");
            let again = ModelFile::from_bytes(&written, Path::new("fuzz.model")).expect("what was written loads");
            assert_eq!(again.file.to_bytes().expect("encodes"), written);
        }
    }
});
