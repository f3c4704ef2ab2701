//! The transport: one connection, reopened after a failure; delivery confirmed by the rule in
//! `crate::delivery::stream`.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;

use super::{TcpConfig, encode};
use crate::delivery::tls::Tls;
use crate::delivery::{Conn, DeliveryConfig, Record, SendError, StreamConfirm, Transport};

pub struct TcpSink {
    config: TcpConfig,
    tls: Option<Arc<ClientConfig>>,
    timeout: Duration,
    conn: Option<Conn>,
    confirm: StreamConfirm,
    buffer: Vec<u8>,
}

impl TcpSink {
    pub fn new(config: TcpConfig, delivery: &DeliveryConfig, tls: &Tls) -> TcpSink {
        TcpSink {
            tls: config.tls.then(|| Arc::clone(&tls.rustls)),
            config,
            timeout: delivery.io_timeout,
            conn: None,
            confirm: StreamConfirm::new(delivery.stream_confirm_after),
            buffer: Vec::new(),
        }
    }
}

impl Transport for TcpSink {
    fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        if self.conn.is_none() {
            self.confirm.reset();
            let conn = Conn::connect(
                &self.config.host,
                self.config.port,
                self.tls.as_ref(),
                self.timeout,
            )
            .map_err(SendError::Failed)?;
            self.conn = Some(conn);
        }
        self.buffer.clear();
        encode(records, &mut self.buffer);
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
        self.confirm
            .confirmed(self.conn.as_mut(), stopping)
            .map_err(SendError::Failed)
    }

    fn reset(&mut self) {
        self.conn = None;
        self.confirm.reset();
    }
}
