//! The model artifact: one file holding the fitted models, their vocabularies, the feature spec,
//! the threshold semantics and the training provenance, sealed with a SHA-256 trailer.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic         16 bytes  "\x89OTSENTRY-MODEL\n" (the high byte and newline catch text-mode damage)
//! version        4 bytes  format version; a newer one than this build knows is refused
//! manifest_len   8 bytes
//! body_len       8 bytes
//! manifest        …       JSON: provenance, parameters, threshold semantics
//! body            …       postcard: the schema models (vocabularies, ranges, fitted models) and
//!                         the detectors' baseline sections (version 2; a version 1 body has none)
//! trailer       32 bytes  SHA-256 of everything before it
//! ```
//!
//! The manifest is JSON so that it stays readable with nothing but `head -c` and `jq`. The body
//! is postcard, a compact serde format with a stable, documented wire format: JSON cannot hold
//! the `+inf` thresholds of a forest's padding nodes, and floats round-trip bit-exactly in
//! postcard, so a loaded model scores exactly as the trained one. The trailer makes a modified or truncated file fail to
//! load; the SHA-256 of the whole file, printed at training and written to `MODEL.sha256`
//! beside it, is what a registry pins. Loading checks the sidecar too when it exists.

pub mod artifact;
pub mod manifest;

pub use artifact::{
    BaselineSection, FORMAT_VERSION, LoadedModel, MAGIC, ModelError, ModelFile, SchemaModel,
};
pub use manifest::{Manifest, Scope, SourceFile, TrainParams, Window};
