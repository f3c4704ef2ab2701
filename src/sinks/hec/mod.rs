//! `https://host[:port][/path]`: Splunk's HTTP Event Collector. Events go to
//! `/services/collector/event` (unless the URL names another path) with
//! `Authorization: Splunk <token>`, the token read from an environment variable; when the
//! collector answers with an `ackId` (indexer acknowledgement enabled on the token), a batch
//! counts as delivered only once `/services/collector/ack` says it is indexed. 503 means busy:
//! back off and send again.
//!
//! Like every sink folder: `config.rs` (the URL), `encode.rs` (the wire format), `sink.rs` (the
//! transport the delivery worker drives), `tests.rs`.

mod config;
mod encode;
mod sink;
#[cfg(test)]
mod tests;

pub use config::HecConfig;
pub use encode::{encode, event_of};
pub use sink::HecSink;
