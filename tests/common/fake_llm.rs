//! A loopback HTTP/1.1 server standing in for a triage provider's API (Anthropic Messages or
//! OpenAI-compatible chat completions), answering each request as a script says: the model's
//! text in the provider's envelope, a status, a stall, or a connection reset.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::json;

/// What the stand-in server does with one request.
#[derive(Clone)]
pub enum Behaviour {
    /// Answers with this status and the model's text wrapped in the provider's envelope.
    Model(String),
    Status(u16, String),
    /// Answers after this long.
    Stall(Duration, String),
    /// Closes the connection with the request unread, so the kernel resets it.
    Reset,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Api {
    Anthropic,
    OpenAi,
}

pub type Script = Arc<dyn Fn(usize) -> Behaviour + Send + Sync>;

/// A loopback HTTP/1.1 server answering as `api` would, following `script` (given the request
/// number, from 0). It records every request's body.
pub struct FakeApi {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
}

impl FakeApi {
    pub fn start(api: Api, script: Script) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds loopback");
        let addr = listener.local_addr().expect("address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let counter = Arc::new(AtomicUsize::new(0));
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let script = Arc::clone(&script);
                let seen = Arc::clone(&seen);
                let counter = Arc::clone(&counter);
                thread::spawn(move || serve(api, stream, &script, &seen, &counter));
            }
        });
        FakeApi { addr, requests }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

pub fn envelope(api: Api, text: &str) -> String {
    match api {
        Api::Anthropic => json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
        })
        .to_string(),
        Api::OpenAi => json!({
            "id": "chatcmpl-1", "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        })
        .to_string(),
    }
}

fn serve(
    api: Api,
    mut stream: TcpStream,
    script: &Script,
    seen: &Mutex<Vec<(String, String)>>,
    counter: &AtomicUsize,
) {
    let index = counter.fetch_add(1, Ordering::SeqCst);
    let behaviour = script(index);
    if let Behaviour::Reset = behaviour {
        let mut first = [0u8; 8];
        let _ = stream.read(&mut first);
        seen.lock().unwrap().push(("reset".into(), String::new()));
        // Unread bytes in the receive buffer make close() send a reset, not a FIN.
        return;
    }
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut head = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    seen.lock()
        .unwrap()
        .push((head, String::from_utf8_lossy(&body).into_owned()));
    let (status, text) = match behaviour {
        Behaviour::Model(text) => (200, envelope(api, &text)),
        Behaviour::Status(status, text) => (status, text),
        Behaviour::Stall(wait, text) => {
            thread::sleep(wait);
            (200, envelope(api, &text))
        }
        Behaviour::Reset => unreachable!("handled above"),
    };
    let response = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
    let _ = stream.write_all(response.as_bytes());
}
