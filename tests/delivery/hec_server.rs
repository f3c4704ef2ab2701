//! A loopback HTTP/1.1 server speaking Splunk's HEC protocol, standing in for Splunk: token
//! check, `/services/collector/event` with indexer acknowledgement (`ackId`, then
//! `/services/collector/ack`), and 503 "Server is busy" for the next N posts when asked.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::receivers::{Handler, Stream};

pub const TOKEN: &str = "test-token-0f3c";

/// What the collector has seen, shared with the test.
#[derive(Default)]
pub struct HecState {
    /// Alert ids indexed, in arrival order, with the server generation.
    pub events: Mutex<Vec<(u32, String)>>,
    pub acks_enabled: AtomicBool,
    /// Answer 503 to this many event posts.
    pub busy: AtomicU64,
    pub busy_answers: AtomicU64,
    pub ack_queries: AtomicU64,
    pub bad_token: AtomicU64,
    next_ack: AtomicU64,
    /// Ack ids handed out and whether indexed.
    acks: Mutex<HashMap<u64, bool>>,
}

struct Request {
    method: String,
    path: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<Box<dyn Stream>>, stop: &AtomicBool) -> Option<Request> {
    let mut head = Vec::new();
    let mut line = String::new();
    loop {
        if stop.load(Ordering::Acquire) {
            return None;
        }
        match reader.read_line(&mut line) {
            Ok(0) => return None,
            Ok(_) if line.ends_with('\n') => {
                if line == "\r\n" || line == "\n" {
                    break;
                }
                head.push(line.trim_end().to_string());
                line.clear();
            }
            Ok(_) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    let request_line = head.first()?.clone();
    let mut parts = request_line.split(' ');
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let headers: HashMap<String, String> = head[1..]
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; length];
    let mut filled = 0;
    while filled < length {
        if stop.load(Ordering::Acquire) {
            return None;
        }
        match reader.read(&mut body[filled..]) {
            Ok(0) => return None,
            Ok(n) => filled += n,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return None,
        }
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut BufReader<Box<dyn Stream>>, status: &str, body: &str) -> bool {
    let text = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.get_mut().write_all(text.as_bytes()).is_ok() && stream.get_mut().flush().is_ok()
}

/// The connection handler for `receivers::Server`.
pub fn handler(state: Arc<HecState>) -> Handler {
    Arc::new(move |stream, stop, generation| {
        let mut reader = BufReader::new(stream);
        while let Some(request) = read_request(&mut reader, stop) {
            let authorised = request.headers.get("authorization").map(String::as_str)
                == Some(&format!("Splunk {TOKEN}"));
            let (status, body) = if request.method != "POST" {
                (
                    "405 Method Not Allowed",
                    r#"{"text":"Method not allowed","code":7}"#.to_string(),
                )
            } else if !authorised {
                state.bad_token.fetch_add(1, Ordering::Relaxed);
                (
                    "401 Unauthorized",
                    r#"{"text":"Invalid token","code":4}"#.to_string(),
                )
            } else if request.path.starts_with("/services/collector/event") {
                if state.busy.load(Ordering::Acquire) > 0 {
                    state.busy.fetch_sub(1, Ordering::AcqRel);
                    state.busy_answers.fetch_add(1, Ordering::Relaxed);
                    (
                        "503 Service Unavailable",
                        r#"{"text":"Server is busy","code":9}"#.to_string(),
                    )
                } else {
                    let mut ids = Vec::new();
                    let values = serde_json::Deserializer::from_slice(&request.body)
                        .into_iter::<serde_json::Value>();
                    let mut ok = true;
                    for value in values {
                        match value {
                            Ok(value) => match value["event"]["event"]["id"].as_str() {
                                Some(id) => ids.push(id.to_string()),
                                None => ok = false,
                            },
                            Err(_) => ok = false,
                        }
                    }
                    if !ok {
                        (
                            "400 Bad Request",
                            r#"{"text":"Invalid data format","code":6}"#.to_string(),
                        )
                    } else {
                        state
                            .events
                            .lock()
                            .unwrap()
                            .extend(ids.into_iter().map(|id| (generation, id)));
                        if state.acks_enabled.load(Ordering::Acquire)
                            && request.headers.contains_key("x-splunk-request-channel")
                        {
                            let ack = state.next_ack.fetch_add(1, Ordering::AcqRel);
                            state.acks.lock().unwrap().insert(ack, true);
                            (
                                "200 OK",
                                format!(r#"{{"text":"Success","code":0,"ackId":{ack}}}"#),
                            )
                        } else {
                            ("200 OK", r#"{"text":"Success","code":0}"#.to_string())
                        }
                    }
                }
            } else if request.path.starts_with("/services/collector/ack") {
                state.ack_queries.fetch_add(1, Ordering::Relaxed);
                let asked: serde_json::Value =
                    serde_json::from_slice(&request.body).unwrap_or_default();
                let acks = state.acks.lock().unwrap();
                let answer: serde_json::Map<String, serde_json::Value> = asked["acks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(serde_json::Value::as_u64)
                    .map(|id| (id.to_string(), (*acks.get(&id).unwrap_or(&false)).into()))
                    .collect();
                ("200 OK", serde_json::json!({ "acks": answer }).to_string())
            } else {
                (
                    "404 Not Found",
                    r#"{"text":"The requested URL was not found","code":404}"#.to_string(),
                )
            };
            if !respond(&mut reader, status, &body) {
                return;
            }
        }
    })
}
