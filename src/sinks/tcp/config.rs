//! The `tcp://host:port` and `tcp+tls://host:port` URL.

use crate::delivery::DeliveryError;
use crate::delivery::target::{SplitUrl, bad};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl TcpConfig {
    pub fn from_url(url: &str, split: &SplitUrl) -> Result<TcpConfig, DeliveryError> {
        let port = split.port.ok_or_else(|| {
            bad(
                url,
                "a tcp sink needs a port (Logstash often listens on 5044)",
            )
        })?;
        if !split.path.is_empty() && split.path != "/" {
            return Err(bad(url, "a tcp sink has no path"));
        }
        Ok(TcpConfig {
            host: split.host.clone(),
            port,
            tls: split.scheme == "tcp+tls",
        })
    }
}
