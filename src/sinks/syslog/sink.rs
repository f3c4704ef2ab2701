//! The transport: one UDP datagram per message (confirmed once sent: UDP has no acknowledgement,
//! so a syslog+udp collector that is down loses what it misses), or a TCP/TLS stream with octet
//! counting, confirmed by the rule in `crate::delivery::stream`.

use std::net::{ToSocketAddrs, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use super::encode::{event_message, hostname_field, octet_counted};
use super::{SyslogConfig, SyslogTransport};
use crate::delivery::tls::Tls;
use crate::delivery::{
    Conn, DeliveryConfig, DeliveryError, Record, SendError, StreamConfirm, Transport,
};

pub struct SyslogSink {
    config: SyslogConfig,
    hostname: String,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    udp: Option<UdpSocket>,
    conn: Option<Conn>,
    confirm: StreamConfirm,
    udp_confirmed: Option<u64>,
    buffer: Vec<u8>,
}

/// The machine's host name, for syslog's HOSTNAME field.
fn machine_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}

impl SyslogSink {
    pub fn new(
        config: SyslogConfig,
        delivery: &DeliveryConfig,
        tls: &Tls,
    ) -> Result<SyslogSink, DeliveryError> {
        let hostname = hostname_field(
            &delivery
                .syslog_hostname
                .clone()
                .unwrap_or_else(machine_hostname),
        );
        Ok(SyslogSink {
            tls: (config.transport == SyslogTransport::Tls).then(|| Arc::clone(&tls.rustls)),
            config,
            hostname,
            timeout: delivery.io_timeout,
            udp: None,
            conn: None,
            confirm: StreamConfirm::new(delivery.stream_confirm_after),
            udp_confirmed: None,
            buffer: Vec::new(),
        })
    }

    fn send_udp(&mut self, records: &[Record]) -> Result<(), SendError> {
        let target = (self.config.host.as_str(), self.config.port);
        if self.udp.is_none() {
            let addr = target
                .to_socket_addrs()
                .map_err(|error| {
                    SendError::Failed(format!("cannot resolve {}: {error}", self.config.host))
                })?
                .next()
                .ok_or_else(|| {
                    SendError::Failed(format!("{} resolves to no address", self.config.host))
                })?;
            let local = if addr.is_ipv4() {
                "0.0.0.0:0"
            } else {
                "[::]:0"
            };
            let socket = UdpSocket::bind(local)
                .and_then(|socket| socket.connect(addr).map(|()| socket))
                .map_err(|error| SendError::Failed(format!("udp socket to {addr}: {error}")))?;
            self.udp = Some(socket);
        }
        let socket = self.udp.as_ref().expect("bound above");
        for record in records {
            let line = event_message(&record.event, &self.hostname);
            socket
                .send(line.as_bytes())
                .map_err(|error| SendError::Failed(format!("udp send: {error}")))?;
            self.udp_confirmed = Some(record.seq + 1);
        }
        Ok(())
    }
}

impl Transport for SyslogSink {
    fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        if self.config.transport == SyslogTransport::Udp {
            return self.send_udp(records);
        }
        if self.conn.is_none() {
            self.confirm.reset();
            self.conn = Some(
                Conn::connect(
                    &self.config.host,
                    self.config.port,
                    self.tls.as_ref(),
                    self.timeout,
                )
                .map_err(SendError::Failed)?,
            );
        }
        self.buffer.clear();
        for record in records {
            octet_counted(
                &event_message(&record.event, &self.hostname),
                &mut self.buffer,
            );
        }
        let conn = self.conn.as_mut().expect("connected above");
        conn.write_all(&self.buffer).map_err(|error| {
            SendError::Failed(format!(
                "write to {}:{}: {error}",
                self.config.host, self.config.port
            ))
        })?;
        self.confirm.wrote(last.seq + 1, self.buffer.len() as u64);
        Ok(())
    }

    fn confirmed(&mut self, stopping: bool) -> Result<Option<u64>, SendError> {
        if self.config.transport == SyslogTransport::Udp {
            return Ok(self.udp_confirmed.take());
        }
        self.confirm
            .confirmed(self.conn.as_mut(), stopping)
            .map_err(SendError::Failed)
    }

    fn reset(&mut self) {
        self.udp = None;
        self.conn = None;
        self.udp_confirmed = None;
        self.confirm.reset();
    }
}
