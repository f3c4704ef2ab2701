//! Properties of the sealed model file: a saved model loads back to the same scores, and no
//! single-byte change or truncation of the file is ever accepted (nor panics).

mod plant_logs;
mod shared_data;

use std::path::Path;
use std::sync::OnceLock;

use otsentry::model::ModelFile;
use plant_logs::*;
use proptest::prelude::*;

/// A small trained model's bytes, built once.
fn model_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        write_logs(&logs, &plant(START, 15.0, 7200.0));
        let model = dir.path().join("m.model");
        train(&logs, &model, &[]);
        std::fs::read(model).unwrap()
    })
}

#[test]
fn a_saved_model_loads_back_and_saves_to_the_same_bytes() {
    let bytes = model_bytes();
    let loaded = ModelFile::from_bytes(bytes, Path::new("m.model")).unwrap();
    assert_eq!(loaded.file.to_bytes().unwrap(), bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_changed_byte_is_refused(position in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut bytes = model_bytes().to_vec();
        let idx = position.index(bytes.len());
        bytes[idx] ^= flip;
        prop_assert!(ModelFile::from_bytes(&bytes, Path::new("m.model")).is_err());
    }

    #[test]
    fn any_truncation_is_refused(position in any::<prop::sample::Index>()) {
        let bytes = model_bytes();
        let len = position.index(bytes.len());
        prop_assert!(ModelFile::from_bytes(&bytes[..len], Path::new("m.model")).is_err());
    }
}
