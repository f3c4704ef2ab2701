//! The server's flood limits (issue 14), against the real `otsentry serve` on loopback: failed
//! authentications get 429 per client and per token id and reach the audit log as one entry per
//! client and interval; slow, idle and surplus connections are cut off; large bodies get 413 and
//! wrong methods 405, both in the JSON error shape.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::server::Server;
use common::site::{audit_entries, site};

fn start(site: &common::site::Site, extra: &[&str]) -> Server {
    Server::start_with(&site.db, &common::ai_policy_path(), extra)
}

/// A request line and headers for `GET path` with `token`, closing the connection after.
fn get(path: &str, token: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: otsentry\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
}

fn status_of(response: &str) -> u16 {
    response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

fn json_body(response: &str) -> serde_json::Value {
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {response:?}"))
}

/// The number of failures an aggregated audit reason counts (`37 failed authentications ...`).
fn counted(entry: &serde_json::Value) -> u64 {
    entry["reason"]
        .as_str()
        .and_then(|reason| reason.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no count in {entry}"))
}

#[tokio::test]
async fn a_thousand_bad_tokens_get_429_and_a_handful_of_audit_entries() {
    let site = site().await;
    let before = audit_entries(&site.db).len();
    let server = start(
        &site,
        &["--max-auth-failures", "5", "--auth-audit-secs", "1"],
    );
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut retry_after = None;
    for attempt in 0..1000u32 {
        let token = format!("ots_{attempt:016x}_{}", "ab".repeat(32));
        let response = server.exchange(get("/v1/whoami", &token).as_bytes());
        let status = status_of(&response);
        *statuses.entry(status).or_default() += 1;
        if status == 429 {
            retry_after = header(&response, "retry-after").map(str::to_string);
            assert_eq!(json_body(&response)["error"]["status"], 429, "{response}");
        }
    }
    assert_eq!(statuses.get(&401), Some(&5), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&995), "{statuses:?}");
    let seconds: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=60).contains(&seconds), "{seconds}");
    // Over the limit, even a valid token from the same client waits.
    let response = server.exchange(get("/v1/whoami", &site.admin).as_bytes());
    assert_eq!(status_of(&response), 429, "{response}");
    assert_eq!(server.terminate(), Some(0));

    let entries = audit_entries(&site.db);
    let failures: Vec<&serde_json::Value> = entries[before..]
        .iter()
        .filter(|entry| entry["action"] == "authenticate")
        .collect();
    assert!(
        !failures.is_empty() && failures.len() <= 10,
        "{} entries for 1001 failures: {failures:#?}",
        failures.len()
    );
    assert_eq!(
        failures.iter().map(|entry| counted(entry)).sum::<u64>(),
        1001
    );
    assert!(failures.iter().all(|entry| {
        entry["decision"] == "deny"
            && entry["principal"] == "unauthenticated"
            && entry["reason"]
                .as_str()
                .is_some_and(|reason| reason.contains("from 127.0.0.1"))
    }));
    assert!(
        failures.iter().any(|entry| entry["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("refused unchecked"))),
        "{failures:#?}"
    );
}

/// Sends `raw` from the loopback address `source` (any of 127.0.0.0/8) and returns the answer.
async fn exchange_from(server: &Server, source: &str, raw: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{source}:0").parse().expect("address"))
        .expect("binds a loopback address");
    let mut stream = socket
        .connect(server.address.parse().expect("server address"))
        .await
        .expect("connects");
    stream.write_all(raw.as_bytes()).await.expect("sends");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("reads");
    String::from_utf8_lossy(&response).into_owned()
}

#[tokio::test]
async fn a_token_id_under_attack_waits_from_every_client_and_other_clients_go_on() {
    let site = site().await;
    let server = start(&site, &["--max-auth-failures", "3"]);
    let (id, _) = site.alice["ots_".len()..]
        .split_once('_')
        .expect("token shape");
    let forged = format!("ots_{id}_{}", "0".repeat(64));
    // Three clients fail once each with alice's token id: the id is now over its limit.
    for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let response = exchange_from(&server, source, get("/v1/whoami", &forged)).await;
        assert_eq!(status_of(&response), 401, "{response}");
    }
    let response = exchange_from(&server, "127.0.0.5", get("/v1/whoami", &forged)).await;
    assert_eq!(status_of(&response), 429, "{response}");
    // Another token id from a fresh client is still checked, and the admin is unaffected.
    let other = format!("ots_{}_{}", "1".repeat(16), "0".repeat(64));
    let response = exchange_from(&server, "127.0.0.5", get("/v1/whoami", &other)).await;
    assert_eq!(status_of(&response), 401, "{response}");
    let response = exchange_from(&server, "127.0.0.1", get("/v1/whoami", &site.admin)).await;
    assert_eq!(status_of(&response), 200, "{response}");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_in_the_json_shape() {
    let site = site().await;
    let server = start(&site, &["--max-body-bytes", "2048"]);
    let large = format!("{{\"description\": \"{}\"}}", "x".repeat(4096));
    // With a declared length, refused before the body is read.
    let raw = format!(
        "POST /v1/reviews/false-negatives HTTP/1.1\r\nHost: otsentry\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{large}",
        site.alice,
        large.len()
    );
    let response = server.exchange(raw.as_bytes());
    assert_eq!(status_of(&response), 413, "{response}");
    let body = json_body(&response);
    assert_eq!(body["error"]["status"], 413, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("2048 bytes")),
        "{body}"
    );
    // Chunked, without a length: found while reading.
    let raw = format!(
        "POST /v1/reviews/false-negatives HTTP/1.1\r\nHost: otsentry\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{large}\r\n0\r\n\r\n",
        site.alice,
        large.len()
    );
    let response = server.exchange(raw.as_bytes());
    assert_eq!(status_of(&response), 413, "{response}");
    assert_eq!(json_body(&response)["error"]["status"], 413, "{response}");
}

#[tokio::test]
async fn a_wrong_method_gets_405_in_the_json_shape() {
    let site = site().await;
    let server = start(&site, &[]);
    let raw = format!(
        "DELETE /v1/alerts HTTP/1.1\r\nHost: otsentry\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        site.alice
    );
    let response = server.exchange(raw.as_bytes());
    assert_eq!(status_of(&response), 405, "{response}");
    assert!(
        header(&response, "allow").is_some_and(|allow| allow.contains("GET")),
        "{response}"
    );
    let body = json_body(&response);
    assert_eq!(body["error"]["status"], 405, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("method not allowed")),
        "{body}"
    );
}

/// Waits for the server to close `stream`; returns how long that took, or `None` if it was
/// still open after `patience`.
fn closed_within(stream: &mut TcpStream, patience: Duration) -> Option<Duration> {
    let started = Instant::now();
    stream.set_read_timeout(Some(patience)).expect("timeout");
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return None;
            }
            Err(_) => return Some(started.elapsed()),
        }
    }
}

#[tokio::test]
async fn a_request_head_sent_too_slowly_is_cut_off() {
    let site = site().await;
    let server = start(&site, &["--header-timeout-secs", "1"]);
    let mut stream = TcpStream::connect(&server.address).expect("connects");
    stream
        .write_all(b"GET /v1/whoami HTTP/1.1\r\nHost: otsentry\r\n")
        .expect("sends half a head");
    let closed = closed_within(&mut stream, Duration::from_secs(6));
    assert!(
        closed.is_some_and(|after| after < Duration::from_secs(5)),
        "{closed:?}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let site = site().await;
    let server = start(&site, &["--idle-timeout-secs", "1"]);
    let mut stream = TcpStream::connect(&server.address).expect("connects");
    let request = format!(
        "GET /v1/whoami HTTP/1.1\r\nHost: otsentry\r\nAuthorization: Bearer {}\r\n\r\n",
        site.alice
    );
    stream.write_all(request.as_bytes()).expect("sends");
    let mut buffer = [0u8; 4096];
    let n = stream.read(&mut buffer).expect("answer");
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut stream, Duration::from_secs(6));
    assert!(
        closed.is_some_and(|after| after < Duration::from_secs(5)),
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_gets_408_in_the_json_shape() {
    let site = site().await;
    let server = start(&site, &["--request-timeout-secs", "1"]);
    let mut stream = TcpStream::connect(&server.address).expect("connects");
    let head = format!(
        "POST /v1/reviews/false-negatives HTTP/1.1\r\nHost: otsentry\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"desc",
        site.alice
    );
    stream.write_all(head.as_bytes()).expect("sends");
    stream
        .set_read_timeout(Some(Duration::from_secs(6)))
        .expect("timeout");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    assert_eq!(status_of(&response), 408, "{response}");
    assert_eq!(json_body(&response)["error"]["status"], 408, "{response}");
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let site = site().await;
    let server = start(&site, &["--max-connections", "2"]);
    let first = TcpStream::connect(&server.address).expect("connects");
    let _second = TcpStream::connect(&server.address).expect("connects");
    // Let the server take both before the third arrives.
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(&server.address).expect("the backlog takes it");
    third
        .write_all(get("/v1/whoami", &site.alice).as_bytes())
        .expect("sends");
    third
        .set_read_timeout(Some(Duration::from_millis(700)))
        .expect("timeout");
    let mut buffer = [0u8; 4096];
    let early = third.read(&mut buffer);
    assert!(
        early.as_ref().is_err_and(|error| matches!(
            error.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        )),
        "the third connection was served while two were open: {early:?}"
    );
    drop(first);
    third
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut response = Vec::new();
    third
        .read_to_end(&mut response)
        .expect("served once a slot is free");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}
