//! The `syslog+udp://host[:port]`, `syslog+tcp://host[:port]` and `syslog+tls://host[:port]` URL
//! (ports 514, 514 and 6514 by default).

use crate::delivery::DeliveryError;
use crate::delivery::target::{SplitUrl, bad};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyslogTransport {
    Udp,
    Tcp,
    Tls,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogConfig {
    pub transport: SyslogTransport,
    pub host: String,
    pub port: u16,
}

impl SyslogConfig {
    pub fn from_url(url: &str, split: &SplitUrl) -> Result<SyslogConfig, DeliveryError> {
        let transport = match split.scheme.as_str() {
            "syslog+udp" => SyslogTransport::Udp,
            "syslog+tcp" => SyslogTransport::Tcp,
            _ => SyslogTransport::Tls,
        };
        if !split.path.is_empty() && split.path != "/" {
            return Err(bad(url, "a syslog sink has no path"));
        }
        let default_port = match transport {
            SyslogTransport::Tls => 6514,
            _ => 514,
        };
        Ok(SyslogConfig {
            transport,
            host: split.host.clone(),
            port: split.port.unwrap_or(default_port),
        })
    }
}
