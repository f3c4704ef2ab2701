//! The transport: a sync HTTP client (ureq on rustls/ring) posting batches; with indexer
//! acknowledgement, batches stay pending until `/services/collector/ack` reports them indexed,
//! and are sent again when no acknowledgement comes within `hec_ack_timeout`.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::config::ACK_PATH;
use super::{HecConfig, encode};
use crate::delivery::tls::Tls;
use crate::delivery::{DeliveryConfig, DeliveryError, Record, SendError, Transport};

/// How often pending acknowledgements are asked for.
const ACK_POLL: Duration = Duration::from_millis(200);

pub struct HecSink {
    config: HecConfig,
    agent: ureq::Agent,
    authorization: String,
    channel: String,
    ack_timeout: Duration,
    /// Batches posted and not yet confirmed: (ack id if the collector gave one, sequence after
    /// the batch, when posted).
    pending: VecDeque<(Option<u64>, u64, Instant)>,
    last_ack_query: Option<Instant>,
    buffer: Vec<u8>,
}

#[derive(Deserialize)]
struct EventReply {
    #[serde(default)]
    text: String,
    #[serde(rename = "ackId")]
    ack_id: Option<u64>,
}

#[derive(Deserialize)]
struct AckReply {
    acks: std::collections::HashMap<String, bool>,
}

/// A channel id for acknowledgements: a random UUID (version 4 layout).
fn channel_id() -> String {
    let bits: u128 = rand::random();
    let hex = format!(
        "{:032x}",
        (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
    );
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

impl HecSink {
    pub fn new(
        url: &str,
        config: HecConfig,
        delivery: &DeliveryConfig,
        tls: &Tls,
    ) -> Result<HecSink, DeliveryError> {
        let token = std::env::var(&delivery.hec_token_env)
            .ok()
            .filter(|token| !token.trim().is_empty())
            .ok_or_else(|| DeliveryError::MissingToken {
                url: url.to_string(),
                var: delivery.hec_token_env.clone(),
            })?;
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(delivery.io_timeout))
            .http_status_as_error(false)
            .tls_config(tls.ureq.clone())
            .build()
            .into();
        Ok(HecSink {
            config,
            agent,
            authorization: format!("Splunk {}", token.trim()),
            channel: channel_id(),
            ack_timeout: delivery.hec_ack_timeout,
            pending: VecDeque::new(),
            last_ack_query: None,
            buffer: Vec::new(),
        })
    }

    /// Posts a JSON body; the status and the reply text.
    fn post(&self, path: &str, body: &[u8]) -> Result<(u16, String), SendError> {
        let url = format!("{}{path}", self.config.base);
        let mut response = self
            .agent
            .post(&url)
            .header("Authorization", &self.authorization)
            .header("X-Splunk-Request-Channel", &self.channel)
            .content_type("application/json")
            .send(body)
            .map_err(|error| SendError::Failed(format!("post to {url}: {error}")))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| SendError::Failed(format!("reply from {url}: {error}")))?;
        match status {
            200 => Ok((status, text)),
            503 => Err(SendError::Busy(format!(
                "{url} answered 503: {}",
                text.trim()
            ))),
            401 | 403 => Err(SendError::Failed(format!(
                "{url} refused the token ({status}): {}",
                text.trim()
            ))),
            _ => Err(SendError::Failed(format!(
                "{url} answered {status}: {}",
                text.trim()
            ))),
        }
    }

    fn query_acks(&mut self) -> Result<(), SendError> {
        let ids: Vec<u64> = self.pending.iter().filter_map(|(id, _, _)| *id).collect();
        if ids.is_empty() {
            return Ok(());
        }
        self.last_ack_query = Some(Instant::now());
        let body = serde_json::to_vec(&serde_json::json!({ "acks": ids })).unwrap_or_default();
        let (_, text) = self.post(ACK_PATH, &body)?;
        let reply: AckReply = serde_json::from_str(&text).map_err(|error| {
            SendError::Failed(format!(
                "acknowledgement reply is not HEC's: {error}: {text}"
            ))
        })?;
        for entry in &mut self.pending {
            if let Some(id) = entry.0
                && reply.acks.get(&id.to_string()) == Some(&true)
            {
                entry.0 = None;
            }
        }
        Ok(())
    }
}

impl Transport for HecSink {
    fn send(&mut self, records: &[Record]) -> Result<(), SendError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        self.buffer.clear();
        encode(records, &mut self.buffer);
        let path = self.config.event_path.clone();
        let (_, text) = self.post(&path, &self.buffer)?;
        let reply: EventReply = serde_json::from_str(&text).map_err(|error| {
            SendError::Failed(format!("event reply is not HEC's: {error}: {text}"))
        })?;
        if !reply.text.is_empty() && reply.text != "Success" {
            return Err(SendError::Failed(format!(
                "collector said {:?}",
                reply.text
            )));
        }
        self.pending
            .push_back((reply.ack_id, last.seq + 1, Instant::now()));
        Ok(())
    }

    fn confirmed(&mut self, stopping: bool) -> Result<Option<u64>, SendError> {
        let due = stopping
            || self
                .last_ack_query
                .is_none_or(|at| at.elapsed() >= ACK_POLL);
        if due && self.pending.iter().any(|(id, _, _)| id.is_some()) {
            self.query_acks()?;
        }
        let mut confirmed = None;
        while let Some(&(id, end, posted)) = self.pending.front() {
            if id.is_some() {
                if posted.elapsed() > self.ack_timeout {
                    return Err(SendError::Failed(format!(
                        "no indexer acknowledgement within {:?}; sending again",
                        self.ack_timeout
                    )));
                }
                break;
            }
            confirmed = Some(end);
            self.pending.pop_front();
        }
        Ok(confirmed)
    }

    fn reset(&mut self) {
        self.pending.clear();
    }
}
