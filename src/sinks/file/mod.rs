//! `file://PATH`: JSON lines of the alerts' ECS form, rotated by size (PATH.1 is the newest old
//! file); and `-`: the same lines on stdout.
//!
//! Like every sink folder: `config.rs` (the URL), `encode.rs` (the wire format), `sink.rs` (the
//! transport the delivery worker drives), `tests.rs`.

mod config;
mod encode;
mod sink;
#[cfg(test)]
mod tests;

pub use config::FileConfig;
pub use encode::encode;
pub use sink::FileSink;
