//! A small HTTP/1.1 load client for `otsentry serve`: `CLIENTS` keep-alive connections send
//! `GET PATH` with a bearer token for `SECONDS` seconds and the requests per second and latency
//! percentiles are printed. `scripts/bench_api.sh` sets up a database and a server and runs it.
//!
//! Usage: `api_load ADDRESS TOKEN PATH CLIENTS SECONDS`
//!
//! Loopback only: the address must be on 127.0.0.0/8 or ::1, and the run stops by itself.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One client's counts.
#[derive(Default)]
struct Counts {
    ok: u64,
    failed: u64,
    latencies_us: Vec<u32>,
}

/// Reads one response; returns its status. Only `Content-Length` bodies, as otsentry sends.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<u16> {
    loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buffer[..end]).into_owned();
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|code| code.parse().ok())
                .unwrap_or(0);
            let length: usize = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().ok())?
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            while buffer.len() < total {
                read_more(stream, buffer).await?;
            }
            buffer.drain(..total);
            return Ok(status);
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    buffer.extend_from_slice(&chunk[..n]);
    Ok(())
}

async fn client(address: String, request: Vec<u8>, until: Instant) -> Counts {
    let mut counts = Counts::default();
    let mut stream: Option<TcpStream> = None;
    let mut buffer = Vec::new();
    while Instant::now() < until {
        let connection = match &mut stream {
            Some(connection) => connection,
            None => match TcpStream::connect(&address).await {
                Ok(connection) => {
                    let _ = connection.set_nodelay(true);
                    buffer.clear();
                    stream.insert(connection)
                }
                Err(_) => {
                    counts.failed += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let started = Instant::now();
        let outcome = match connection.write_all(&request).await {
            Ok(()) => read_response(connection, &mut buffer).await,
            Err(error) => Err(error),
        };
        match outcome {
            Ok(200) => {
                counts.ok += 1;
                let micros = started.elapsed().as_micros().min(u128::from(u32::MAX));
                counts.latencies_us.push(micros as u32);
            }
            Ok(_) => counts.failed += 1,
            Err(_) => {
                counts.failed += 1;
                stream = None;
            }
        }
    }
    counts
}

fn percentile(sorted: &[u32], share: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() - 1) as f64 * share).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, token, path, clients, seconds] = args.as_slice() else {
        return Err("usage: api_load ADDRESS TOKEN PATH CLIENTS SECONDS".into());
    };
    let socket: std::net::SocketAddr = address.parse()?;
    if !socket.ip().is_loopback() {
        return Err(format!(
            "{address} is not a loopback address; this client only loads loopback"
        )
        .into());
    }
    let clients: usize = clients.parse()?;
    let seconds: u64 = seconds.parse()?;
    if !(1..=1024).contains(&clients) || !(1..=120).contains(&seconds) {
        return Err("CLIENTS must be 1 to 1024 and SECONDS 1 to 120".into());
    }
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\r\n")
            .into_bytes();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let all = runtime.block_on(async {
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::spawn(client(address.clone(), request.clone(), until)))
            .collect();
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.expect("client task"));
        }
        all
    });
    let elapsed = started.elapsed().as_secs_f64();
    let ok: u64 = all.iter().map(|counts| counts.ok).sum();
    let failed: u64 = all.iter().map(|counts| counts.failed).sum();
    let mut latencies: Vec<u32> = all
        .into_iter()
        .flat_map(|counts| counts.latencies_us)
        .collect();
    latencies.sort_unstable();
    println!(
        "{path}: {clients} clients, {elapsed:.1} s: {ok} ok ({:.0}/s), {failed} failed; latency p50 {:.2} ms, p99 {:.2} ms",
        ok as f64 / elapsed,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
    Ok(())
}
