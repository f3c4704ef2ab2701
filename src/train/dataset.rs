//! The dataset digest: SHA-256 over a canonical binary form of every training event, in reading
//! order. It identifies the training data itself (what the retraining policy asks to sign),
//! independent of file names, compression, column order or site-added columns.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::features::{EventKind, FlowEvent};

/// Accumulates the digest one event at a time.
#[derive(Clone, Debug, Default)]
pub struct DatasetHasher {
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl DatasetHasher {
    pub fn add(&mut self, event: &FlowEvent<'_>) {
        let buffer = &mut self.buffer;
        buffer.clear();
        // Log time in whole microseconds, as Zeek writes it.
        buffer.extend_from_slice(&((event.ts * 1e6).round() as i64).to_le_bytes());
        push_str(buffer, event.uid);
        push_ip(buffer, event.edge.orig_h);
        push_ip(buffer, event.edge.resp_h);
        buffer.extend_from_slice(&event.edge.resp_p.to_le_bytes());
        push_str(buffer, event.edge.proto.as_str());
        push_str(buffer, event.edge.service);
        match &event.kind {
            EventKind::Conn(conn) => {
                buffer.push(b'C');
                let duration = conn.duration.map(|seconds| (seconds * 1e6).round() as i64);
                push_opt(buffer, duration.map(|micros| micros as u64));
                for value in [
                    conn.orig_bytes,
                    conn.resp_bytes,
                    conn.orig_pkts,
                    conn.resp_pkts,
                ] {
                    push_opt(buffer, value);
                }
                push_str(buffer, conn.conn_state);
            }
            EventKind::Request(request) => {
                buffer.push(b'R');
                push_str(buffer, request.function);
                buffer.push(u8::from(request.is_error));
                buffer.push(request.direction as u8);
            }
        }
        self.hasher.update(&*buffer);
    }

    pub fn finish(self) -> String {
        hex::encode(self.hasher.finalize())
    }
}

/// Length-prefixed, so that field boundaries are part of the digest.
fn push_str(buffer: &mut Vec<u8>, text: &str) {
    buffer.extend_from_slice(&(text.len() as u32).to_le_bytes());
    buffer.extend_from_slice(text.as_bytes());
}

fn push_opt(buffer: &mut Vec<u8>, value: Option<u64>) {
    match value {
        Some(value) => {
            buffer.push(1);
            buffer.extend_from_slice(&value.to_le_bytes());
        }
        None => buffer.push(0),
    }
}

fn push_ip(buffer: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            buffer.push(4);
            buffer.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            buffer.push(6);
            buffer.extend_from_slice(&v6.octets());
        }
    }
}
