//! `otsentry serve` over TLS (issue 14): a real rustls client on loopback talks to the real
//! server with a self-signed certificate made here; plain HTTP beyond loopback is refused unless
//! asked for explicitly; unusable certificate files are named in the error.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::server::Server;
use common::site::site;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files in `dir`.
fn certificate(dir: &Path) -> (PathBuf, PathBuf, CertificateDer<'static>) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("certificate");
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    (cert, key, made.cert.der().clone())
}

/// Sends one HTTP/1.1 request over TLS, trusting only `trusted`, and returns the raw answer.
async fn https_get(
    address: &str,
    trusted: &CertificateDer<'static>,
    path: &str,
    token: &str,
) -> std::io::Result<String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(trusted.clone()).expect("a valid certificate");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(address).await?;
    let mut tls = connector
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A server that closes without TLS close_notify is still a complete HTTP/1.1 answer here.
    match tls.read_to_end(&mut response).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {
        }
        Err(error) => return Err(error),
    }
    Ok(String::from_utf8_lossy(&response).into_owned())
}

#[tokio::test]
async fn a_rustls_client_is_served_over_tls_and_plain_http_is_not() {
    let site = site().await;
    let (cert, key, der) = certificate(site.dir.path());
    let server = Server::start_with(
        &site.db,
        &common::ai_policy_path(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let response = https_get(&server.address, &der, "/v1/whoami", &site.alice)
        .await
        .expect("TLS exchange");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"alice\""), "{response}");
    // A client that does not trust the certificate is refused in the handshake.
    let stranger = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let refused = https_get(
        &server.address,
        &stranger.cert.der().clone(),
        "/v1/whoami",
        &site.alice,
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");
    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = server.exchange(
        format!("GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n", site.alice).as_bytes(),
    );
    assert!(!plain.starts_with("HTTP/1.1 200"), "{plain}");
}

fn serve(site: &common::site::Site, listen: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_otsentry"));
    command
        .args(["serve", "--listen", listen, "--db"])
        .arg(&site.db)
        .arg("--policy")
        .arg(common::ai_policy_path())
        .args(extra)
        .env("RUST_LOG", "warn");
    command
}

#[tokio::test]
async fn plain_http_beyond_loopback_is_refused_unless_asked_for() {
    let site = site().await;
    let output = serve(&site, "0.0.0.0:0", &[]).output().expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("refusing to serve plain HTTP on 0.0.0.0:0"),
        "{stderr}"
    );
    assert!(stderr.contains("--insecure-listen"), "{stderr}");

    // With the flag it starts, and says what it is doing.
    let mut child = serve(&site, "0.0.0.0:0", &["--insecure-listen"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("line");
        let listening = line.starts_with("listening on http://");
        seen.push(line);
        if listening {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let seen = seen.join("\n");
    assert!(seen.contains("clear text"), "{seen}");
    assert!(seen.contains("listening on http://0.0.0.0:"), "{seen}");
}

#[tokio::test]
async fn unusable_certificate_files_are_named() {
    let site = site().await;
    let (cert, key, _) = certificate(site.dir.path());
    let other = site.dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let (_, other_key, _) = certificate(&other);
    let missing = site.dir.path().join("missing.crt");
    let not_pem = site.dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello\n").unwrap();
    for (cert, key, needles) in [
        (&missing, &key, vec!["missing.crt"]),
        (&not_pem, &key, vec!["not.pem", "no PEM certificate"]),
        (&cert, &not_pem, vec!["not.pem", "private key"]),
        (&cert, &other_key, vec!["cannot be used together"]),
    ] {
        let output = serve(
            &site,
            "127.0.0.1:0",
            &[
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
        )
        .output()
        .expect("runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        for needle in needles {
            assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
        }
    }
}
