//! The `https://host[:port][/path]` URL (and `http://` for a lab collector on loopback).

use crate::delivery::DeliveryError;
use crate::delivery::target::{SplitUrl, bad};

/// The path of HEC's event endpoint, when the URL names none.
pub const EVENT_PATH: &str = "/services/collector/event";
/// The acknowledgement endpoint.
pub const ACK_PATH: &str = "/services/collector/ack";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HecConfig {
    /// `scheme://host:port` without a path.
    pub base: String,
    pub event_path: String,
    pub tls: bool,
}

impl HecConfig {
    pub fn from_url(url: &str, split: &SplitUrl) -> Result<HecConfig, DeliveryError> {
        let tls = split.scheme == "https";
        let loopback =
            matches!(split.host.as_str(), "localhost" | "::1") || split.host.starts_with("127.");
        if !tls && !loopback {
            return Err(bad(
                url,
                "plain http would send the HEC token in clear; use https:// (http:// is only for loopback)",
            ));
        }
        if split.path.contains('?') {
            return Err(bad(url, "a query string has no meaning for HEC here"));
        }
        let host = if split.host.contains(':') {
            format!("[{}]", split.host)
        } else {
            split.host.clone()
        };
        let port = split.port.unwrap_or(if tls { 443 } else { 80 });
        let event_path = match split.path.as_str() {
            "" | "/" => EVENT_PATH.to_string(),
            path => path.to_string(),
        };
        Ok(HecConfig {
            base: format!("{}://{host}:{port}", split.scheme),
            event_path,
            tls,
        })
    }
}
