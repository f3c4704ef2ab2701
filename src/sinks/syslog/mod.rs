//! `syslog+udp://`, `syslog+tcp://` and `syslog+tls://`: RFC 5424 messages carrying the alert in
//! CEF, for ArcSight, QRadar and other collectors that read CEF; octet counting on TCP (RFC 6587,
//! as RFC 5425 requires on TLS).
//!
//! Like every sink folder: `config.rs` (the URL), `encode.rs` (the wire format: our own RFC 5424
//! and CEF formatters, and a CEF parser for round trips), `sink.rs` (the transport the delivery
//! worker drives), `tests.rs`.

mod config;
pub mod encode;
mod sink;
#[cfg(test)]
mod tests;

pub use config::{SyslogConfig, SyslogTransport};
pub use sink::SyslogSink;
