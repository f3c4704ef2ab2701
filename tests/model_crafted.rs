//! Crafted model files with a valid SHA-256 trailer (issue 14): whatever sizes they state, `otsentry
//! model show` and `otsentry score` refuse them with an error naming the part of the file that is
//! wrong, and never abort on an allocation.

mod plant_logs;
mod shared_data;

use std::path::{Path, PathBuf};

use otsentry::features::{FeatureRanges, Schema, Vocab};
use otsentry::model::{MAGIC, ModelFile};
use plant_logs::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The body of a model file in the shape `SchemaModel` serialises to, with a forest whose every
/// size can be set by hand.
#[derive(Serialize)]
struct CraftedSchemaModel<'a> {
    schema: Schema,
    feature_names: Vec<String>,
    vocab: &'a Vocab,
    ranges: &'a FeatureRanges,
    model: CraftedModel<'a>,
    n_records: u64,
}

#[derive(Serialize)]
enum CraftedModel<'a> {
    Forest(CraftedForest<'a>),
}

#[derive(Serialize)]
struct CraftedForest<'a> {
    params: &'a iforest::ForestParams,
    n_features: usize,
    max_samples: usize,
    n_seen: u64,
    depth: u32,
    offset: f64,
    training_min: Vec<f32>,
    training_max: Vec<f32>,
    training_median: Vec<f32>,
    trees: Vec<CraftedTree>,
}

#[derive(Serialize, Clone)]
struct CraftedTree {
    nodes: Vec<(u32, f32)>,
    leaves: Vec<f64>,
}

struct Site {
    dir: tempfile::TempDir,
    logs: PathBuf,
    manifest: Vec<u8>,
    model: ModelFile,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 3600.0));
    let path = dir.path().join("plant.model");
    train(&logs, &path, &[]);
    let model = ModelFile::load(&path)
        .expect("the trained model loads")
        .file;
    let manifest = serde_json::to_vec(&model.manifest).unwrap();
    Site {
        dir,
        logs,
        manifest,
        model,
    }
}

impl Site {
    /// A correctly sealed file around `body`, with a matching `.sha256` sidecar.
    fn seal(&self, name: &str, body: &[u8]) -> PathBuf {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&(self.manifest.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&self.manifest);
        bytes.extend_from_slice(body);
        let digest = Sha256::digest(&bytes);
        bytes.extend_from_slice(&digest);
        let path = self.dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        std::fs::write(
            format!("{}.sha256", path.display()),
            format!("{}  {name}\n", hex::encode(Sha256::digest(&bytes))),
        )
        .unwrap();
        path
    }

    /// The conn model with its forest replaced by `depth` and `trees`.
    fn forest_body(&self, depth: u32, trees: Vec<CraftedTree>) -> Vec<u8> {
        let conn = &self.model.schemas[0];
        assert_eq!(conn.schema, Schema::Conn);
        let iforest::Model::Forest(forest) = &conn.model else {
            panic!("the default model is a forest")
        };
        let width = conn.feature_names.len();
        let crafted = vec![CraftedSchemaModel {
            schema: Schema::Conn,
            feature_names: conn.feature_names.clone(),
            vocab: &conn.vocab,
            ranges: &conn.ranges,
            model: CraftedModel::Forest(CraftedForest {
                params: forest.params(),
                n_features: width,
                max_samples: 256,
                n_seen: 1000,
                depth,
                offset: -0.5,
                training_min: vec![0.0; width],
                training_max: vec![1.0; width],
                training_median: vec![0.5; width],
                trees,
            }),
            n_records: 1000,
        }];
        postcard::to_allocvec(&crafted).unwrap()
    }
}

/// `model show` and `score` both refuse `path` with exit code 2 and every one of `needles`.
fn refused_everywhere(site: &Site, path: &Path, needles: &[&str]) {
    let model = path.to_str().unwrap();
    let logs = site.logs.to_str().unwrap();
    for args in [
        vec!["model", "show", model],
        vec!["score", "--log", logs, "--model", model],
    ] {
        let output = otsentry(&args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        for needle in needles {
            assert!(
                message.contains(needle),
                "{args:?}: {needle:?} not in {message}"
            );
        }
        assert!(!message.contains("Serde"), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}

#[test]
fn a_million_empty_trees_of_depth_24_are_refused_without_allocating_their_size() {
    // 1.1 million trees of depth 24 would need 1.1e6 * 2^24 * 16 bytes, about 300 TB, if the
    // stated sizes were believed; the file itself is 2.2 MB.
    let site = site();
    let empty = CraftedTree {
        nodes: Vec::new(),
        leaves: Vec::new(),
    };
    let body = site.forest_body(24, vec![empty; 1_100_000]);
    assert!(body.len() < 3 << 20, "{}", body.len());
    let path = site.seal("terabytes.model", &body);
    refused_everywhere(
        &site,
        &path,
        &[
            "the conn model's fitted model",
            "tree 0",
            "depth 24 needs 16777215",
            "at byte",
        ],
    );
}

#[test]
fn a_forest_deeper_than_the_limit_is_refused_with_its_reason() {
    let site = site();
    let tree = CraftedTree {
        nodes: vec![(0, 0.5)],
        leaves: vec![1.0, 1.0],
    };
    let path = site.seal("deep.model", &site.forest_body(25, vec![tree]));
    refused_everywhere(
        &site,
        &path,
        &["fitted model", "tree depth 25 is out of range"],
    );
}

#[test]
fn a_schema_count_beyond_the_schemas_there_are_is_refused_before_reading_them() {
    let site = site();
    // A varint stating 2^40 schema models, then nothing.
    let body = postcard::to_allocvec(&(1u64 << 40)).unwrap();
    let path = site.seal("count.model", &body);
    refused_everywhere(
        &site,
        &path,
        &["the schema count", "1099511627776 schema models"],
    );
}

#[test]
fn a_body_cut_short_names_the_part_it_ends_in() {
    let site = site();
    let tree = CraftedTree {
        nodes: vec![(0, 0.5)],
        leaves: vec![1.0, 1.0],
    };
    let body = site.forest_body(1, vec![tree]);
    // The schema tag, the feature names, then a few bytes of the vocabulary.
    let names_len = postcard::to_allocvec(&site.model.schemas[0].feature_names)
        .unwrap()
        .len();
    let cut = &body[..2 + names_len + 3];
    let path = site.seal("short.model", cut);
    refused_everywhere(
        &site,
        &path,
        &["the conn model's vocabulary", "ends in the middle"],
    );
}

#[test]
fn bytes_after_the_last_schema_model_are_refused() {
    let site = site();
    let tree = CraftedTree {
        nodes: vec![(0, 0.5)],
        leaves: vec![1.0, 1.0],
    };
    let mut body = site.forest_body(1, vec![tree]);
    body.extend_from_slice(b"extra");
    let path = site.seal("trailing.model", &body);
    refused_everywhere(&site, &path, &["the end of the body", "5 bytes follow"]);
}

#[test]
fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
    let site = site();
    let path = site.dir.path().join("huge.model");
    let file = std::fs::File::create(&path).unwrap();
    // Sparse: no disk is used, but the file says it is 300 MiB.
    file.set_len(300 << 20).unwrap();
    drop(file);
    refused_everywhere(
        &site,
        &path,
        &["more than the", "bytes a model file may have"],
    );
}
