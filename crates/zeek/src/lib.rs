//! Streaming reader for Zeek logs: TSV driven by its `#` header, and JSON lines, plain or gzip.
//!
//! This crate knows nothing about otsentry or machine learning: it turns bytes into records and
//! reports every line it could not read with its file and line number.

pub mod write;
