//! The model artifact: one file holding the fitted models, their vocabularies, the feature spec,
//! the threshold semantics and the training provenance, sealed with a SHA-256 trailer.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic       16 bytes  "\x89OTSENTRY-MODEL\n" (the high byte and newline catch text-mode damage)
//! version      4 bytes  format version; a newer one than this build knows is refused
//! body_len     8 bytes  length of the body
//! body          …       JSON: { "manifest": …, "schemas": [ … ] }
//! trailer     32 bytes  SHA-256 of everything before it
//! ```
//!
//! The body is JSON rather than a binary serde format: the manifest stays readable with `tail -c`
//! and `jq`, serde_json is already a dependency, and a 200-tree forest with its vocabulary is a few
//! megabytes that load in milliseconds. The trailer makes a modified or truncated file fail to
//! load; the SHA-256 of the whole file, printed at training and written to `MODEL.sha256`
//! beside it, is what a registry pins. Loading checks the sidecar too when it exists.

pub mod artifact;
pub mod manifest;

pub use artifact::{FORMAT_VERSION, LoadedModel, MAGIC, ModelError, ModelFile, SchemaModel};
pub use manifest::{Manifest, SourceFile, TrainParams, Window};
