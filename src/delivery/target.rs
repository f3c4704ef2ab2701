//! Sink URLs: splitting one into scheme, host, port and path, choosing the sink it names, and
//! building that sink's transport. Every mistake is an error naming the URL and what is wrong.

use sha2::{Digest, Sha256};

use super::tls::Tls;
use super::{DeliveryConfig, DeliveryError, Transport};
use crate::sinks::{file, hec, syslog, tcp};

/// A URL split into its parts (no userinfo, no fragment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitUrl {
    pub scheme: String,
    pub host: String,
    pub port: Option<u16>,
    /// Starts with `/` when present; empty otherwise.
    pub path: String,
}

/// The sink a URL names.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    Tcp(tcp::TcpConfig),
    Syslog(syslog::SyslogConfig),
    Hec(hec::HecConfig),
    File(file::FileConfig),
}

impl Target {
    /// True when the sink speaks TLS, so the TLS options apply to it.
    pub fn uses_tls(&self) -> bool {
        match self {
            Target::Tcp(sink) => sink.tls,
            Target::Syslog(sink) => sink.transport == syslog::SyslogTransport::Tls,
            Target::Hec(sink) => sink.tls,
            Target::File(_) => false,
        }
    }
}

pub(crate) fn bad(url: &str, message: impl Into<String>) -> DeliveryError {
    DeliveryError::BadUrl {
        url: url.to_string(),
        message: message.into(),
    }
}

/// Splits `scheme://host[:port][/path]`; IPv6 hosts in brackets.
pub fn split(url: &str) -> Result<SplitUrl, DeliveryError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad(url, "expected scheme://host:port"))?;
    let scheme = scheme.to_ascii_lowercase();
    if rest.contains('#') {
        return Err(bad(url, "a fragment (#...) has no meaning here"));
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(idx) => (&rest[..idx], &rest[idx..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(bad(
            url,
            "credentials do not belong in the url (the HEC token comes from an environment variable)",
        ));
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let (host, after) = inner
            .split_once(']')
            .ok_or_else(|| bad(url, "an IPv6 address needs a closing ]"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| bad(url, "expected :port after the IPv6 address"))?,
            ),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad(url, "no host"));
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(url, "the host has spaces or control characters"));
    }
    let port = match port {
        None => None,
        Some(port) => match port.parse::<u16>() {
            Ok(0) => return Err(bad(url, "port 0 is not a port")),
            Ok(port) => Some(port),
            Err(_) => {
                return Err(bad(
                    url,
                    format!("port {port:?} is not a number from 1 to 65535"),
                ));
            }
        },
    };
    Ok(SplitUrl {
        scheme,
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// Parses a sink URL into the sink it names.
pub fn parse_url(url: &str) -> Result<Target, DeliveryError> {
    if url == "-" {
        return Ok(Target::File(file::FileConfig { path: None }));
    }
    if let Some(path) = url.strip_prefix("file://") {
        return file::FileConfig::from_path(url, path).map(Target::File);
    }
    let split = split(url)?;
    match split.scheme.as_str() {
        "tcp" | "tcp+tls" => tcp::TcpConfig::from_url(url, &split).map(Target::Tcp),
        "syslog+udp" | "syslog+tcp" | "syslog+tls" => {
            syslog::SyslogConfig::from_url(url, &split).map(Target::Syslog)
        }
        "https" | "http" => hec::HecConfig::from_url(url, &split).map(Target::Hec),
        other => Err(bad(
            url,
            format!(
                "unknown scheme {other:?} (use tcp://, tcp+tls://, syslog+udp://, syslog+tcp://, syslog+tls://, https://, file://PATH or -)"
            ),
        )),
    }
}

/// The file name of a sink's cursor: readable, and unique by a digest of the whole URL.
pub fn key_of(url: &str) -> String {
    let readable: String = url
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .take(48)
        .collect();
    let digest = Sha256::digest(url.as_bytes());
    format!("{readable}-{}", hex::encode(&digest[..6]))
}

/// Builds the transport of a parsed sink.
pub fn build(
    url: &str,
    target: &Target,
    config: &DeliveryConfig,
    tls: &Tls,
) -> Result<Box<dyn Transport>, DeliveryError> {
    Ok(match target {
        Target::Tcp(sink) => Box::new(tcp::TcpSink::new(sink.clone(), config, tls)),
        Target::Syslog(sink) => Box::new(syslog::SyslogSink::new(sink.clone(), config, tls)?),
        Target::Hec(sink) => Box::new(hec::HecSink::new(url, sink.clone(), config, tls)?),
        Target::File(sink) => Box::new(file::FileSink::new(sink.clone(), config)),
    })
}
