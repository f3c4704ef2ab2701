//! The dataset digest: SHA-256 over a canonical binary form of every training event, in reading
//! order. It identifies the training data itself (what the retraining policy asks to sign),
//! independent of file names, compression, column order or site-added columns.

use std::net::IpAddr;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::features::{EventKind, FlowEvent};

/// Bytes gathered before they are handed to SHA-256. The digest is of the concatenated
/// encodings, so where the stream is cut does not change it; cutting every few kilobytes rather
/// than after every event saves a call and a partial block per event.
const FLUSH_AT: usize = 8 << 10;

/// Bytes gathered before they are handed to the hashing thread: large enough that the hand-over
/// costs nothing next to hashing them.
const HAND_OVER_AT: usize = 256 << 10;

/// Buffers on their way to the hashing thread; the training pass waits when it is this far ahead.
const IN_FLIGHT: usize = 4;

/// Accumulates the digest one event at a time: the caller encodes each event into a buffer, and
/// SHA-256 runs on this thread ([`DatasetHasher::default`]) or on its own
/// ([`DatasetHasher::on_thread`]), off the training pass's critical path. Both give the same
/// digest.
#[derive(Debug, Default)]
pub struct DatasetHasher {
    /// Encoded events not yet hashed.
    buffer: Vec<u8>,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Inline(Sha256),
    Thread {
        chunks: SyncSender<Vec<u8>>,
        /// Hashed buffers coming back to be filled again.
        spares: Receiver<Vec<u8>>,
        digest: JoinHandle<String>,
    },
}

impl Default for Sink {
    fn default() -> Sink {
        Sink::Inline(Sha256::new())
    }
}

/// The dataset digest could not be finished.
#[derive(Debug, thiserror::Error)]
#[error("the dataset hashing thread stopped before the digest was finished")]
pub struct DigestError;

impl DatasetHasher {
    /// A hasher whose SHA-256 runs on a thread of its own; one that cannot be started leaves the
    /// hashing on the caller's thread.
    pub fn on_thread() -> DatasetHasher {
        let (chunks, received) = sync_channel::<Vec<u8>>(IN_FLIGHT);
        let (give_back, spares) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("dataset-digest".to_string())
            .spawn(move || {
                let mut hasher = Sha256::new();
                for chunk in received {
                    hasher.update(&chunk);
                    // The pass may be over; then the buffer is simply freed.
                    let _ = give_back.send(chunk);
                }
                hex::encode(hasher.finalize())
            });
        match spawned {
            Ok(digest) => DatasetHasher {
                buffer: Vec::with_capacity(HAND_OVER_AT + 512),
                sink: Sink::Thread {
                    chunks,
                    spares,
                    digest,
                },
            },
            Err(_) => DatasetHasher::default(),
        }
    }

    pub fn add(&mut self, event: &FlowEvent<'_>) {
        encode(&mut self.buffer, event);
        match &mut self.sink {
            Sink::Inline(hasher) => {
                if self.buffer.len() >= FLUSH_AT {
                    hasher.update(&self.buffer);
                    self.buffer.clear();
                }
            }
            Sink::Thread { chunks, spares, .. } => {
                if self.buffer.len() >= HAND_OVER_AT {
                    let mut next = spares
                        .try_recv()
                        .unwrap_or_else(|_| Vec::with_capacity(HAND_OVER_AT + 512));
                    next.clear();
                    let full = std::mem::replace(&mut self.buffer, next);
                    // A send fails only when the thread is gone; `finish` reports it.
                    let _ = chunks.send(full);
                }
            }
        }
    }

    /// The hex digest of everything added.
    pub fn finish(self) -> Result<String, DigestError> {
        match self.sink {
            Sink::Inline(mut hasher) => {
                hasher.update(&self.buffer);
                Ok(hex::encode(hasher.finalize()))
            }
            Sink::Thread { chunks, digest, .. } => {
                let last = chunks.send(self.buffer);
                drop(chunks);
                let digest = digest.join().map_err(|_| DigestError)?;
                last.map_err(|_| DigestError)?;
                Ok(digest)
            }
        }
    }
}

/// Appends the canonical encoding of `event` to `buffer`.
fn encode(buffer: &mut Vec<u8>, event: &FlowEvent<'_>) {
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
        EventKind::Values(values) => {
            buffer.push(b'V');
            push_opt(buffer, values.unit);
            push_str(buffer, values.function);
            push_opt(buffer, values.address);
            push_str(buffer, values.values);
            buffer.push(values.direction as u8);
        }
        EventKind::Control(control) => {
            buffer.push(b'K');
            for text in [
                control.function,
                control.block_type,
                control.trip_control_code,
                control.operation_type,
                control.status_code,
            ] {
                push_str(buffer, text);
            }
            for value in [
                control.index,
                control.execute_count,
                control.on_time,
                control.off_time,
            ] {
                push_opt(buffer, value);
            }
            buffer.push(control.direction as u8);
        }
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

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use sha2::{Digest, Sha256};

    use super::DatasetHasher;
    use crate::features::{ConnFields, EdgeRef, EventKind, FlowEvent, Proto};

    /// The canonical bytes of one conn event, written out by hand from the format above.
    fn expected_bytes(ts_micros: i64, uid: &str, orig_bytes: u64) -> Vec<u8> {
        let mut bytes = ts_micros.to_le_bytes().to_vec();
        let text = |bytes: &mut Vec<u8>, text: &str| {
            bytes.extend_from_slice(&(text.len() as u32).to_le_bytes());
            bytes.extend_from_slice(text.as_bytes());
        };
        text(&mut bytes, uid);
        bytes.extend_from_slice(&[4, 10, 0, 0, 5, 4, 10, 0, 1, 1]);
        bytes.extend_from_slice(&502u16.to_le_bytes());
        text(&mut bytes, "tcp");
        text(&mut bytes, "modbus");
        bytes.push(b'C');
        bytes.push(1);
        bytes.extend_from_slice(&12_000u64.to_le_bytes());
        bytes.push(1);
        bytes.extend_from_slice(&orig_bytes.to_le_bytes());
        bytes.push(0);
        for value in [5u64, 4] {
            bytes.push(1);
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        text(&mut bytes, "SF");
        bytes
    }

    /// The digest is SHA-256 over the concatenated canonical encodings, however many events
    /// there are, wherever the buffer is flushed and whichever thread hashes: models record it,
    /// so it must never change. 20,000 events are about 1.3 MB, several hand-overs.
    #[test]
    fn the_digest_is_sha_256_of_the_concatenated_encodings() {
        for (n_events, on_thread) in [
            (0usize, false),
            (1, false),
            (97, false),
            (5_000, false),
            (0, true),
            (97, true),
            (20_000, true),
        ] {
            let mut hasher = if on_thread {
                DatasetHasher::on_thread()
            } else {
                DatasetHasher::default()
            };
            let mut reference = Sha256::new();
            for idx in 0..n_events {
                let uid = format!("C{idx}");
                let ts = 1_793_577_600.25 + idx as f64;
                let event = FlowEvent {
                    ts,
                    uid: &uid,
                    orig_p: 49152,
                    ot: true,
                    edge: EdgeRef {
                        orig_h: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)),
                        resp_h: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
                        resp_p: 502,
                        proto: Proto::Tcp,
                        service: "modbus",
                    },
                    kind: EventKind::Conn(ConnFields {
                        duration: Some(0.012),
                        orig_bytes: Some(idx as u64),
                        resp_bytes: None,
                        orig_pkts: Some(5),
                        resp_pkts: Some(4),
                        conn_state: "SF",
                    }),
                };
                hasher.add(&event);
                reference.update(expected_bytes((ts * 1e6).round() as i64, &uid, idx as u64));
            }
            assert_eq!(
                hasher.finish().expect("digest"),
                hex::encode(reference.finalize()),
                "{n_events} events, on a thread: {on_thread}"
            );
        }
    }
}
