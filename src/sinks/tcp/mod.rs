//! `tcp://host:port` (and `tcp+tls://`): newline-delimited JSON, one alert's ECS form a line, as
//! Logstash's tcp input with the json_lines codec, or any TCP collector, takes it.
//!
//! Like every sink folder: `config.rs` (the URL), `encode.rs` (the wire format), `sink.rs` (the
//! transport the delivery worker drives), `tests.rs`.

mod config;
mod encode;
mod sink;
#[cfg(test)]
mod tests;

pub use config::TcpConfig;
pub use encode::encode;
pub use sink::TcpSink;
