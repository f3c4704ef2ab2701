//! Real receivers on loopback for the delivery tests: a TCP line collector standing in for
//! Logstash's tcp input (plain or TLS, optionally requiring a client certificate), and certificates
//! made with rcgen.
//!
//! A receiver can be killed (listener closed, every connection shut down, unread bytes lost as
//! when a collector dies) and started again on the same port.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Lines received, each with the generation of the receiver that got it (0 before the first
/// kill, 1 after the first restart, ...).
pub type Received = Arc<Mutex<Vec<(u32, String)>>>;

/// A stream the receiver reads: plain TCP or TLS over it.
pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// Wraps an accepted connection (for TLS: the server side of the handshake).
pub type Wrap = Arc<dyn Fn(TcpStream) -> Option<Box<dyn Stream>> + Send + Sync>;

pub fn plain() -> Wrap {
    Arc::new(|stream| Some(Box::new(stream) as Box<dyn Stream>))
}

pub fn tls_server(certs: &Certs, require_client_cert: bool) -> Wrap {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_file(&certs.ca).unwrap())
            .unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let chain = vec![CertificateDer::from_pem_file(&certs.server_cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&certs.server_key).unwrap();
    let config = Arc::new(builder.with_single_cert(chain, key).unwrap());
    Arc::new(move |stream: TcpStream| {
        let connection = rustls::ServerConnection::new(Arc::clone(&config)).ok()?;
        Some(Box::new(rustls::StreamOwned::new(connection, stream)) as Box<dyn Stream>)
    })
}

/// A CA, a server certificate for 127.0.0.1 and localhost, and a client certificate, in files.
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

pub fn make_certs(dir: &Path) -> Certs {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server_cert =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .unwrap()
            .signed_by(&server_key, &issuer)
            .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["sensor.otsentry.test".to_string()])
        .unwrap()
        .signed_by(&client_key, &issuer)
        .unwrap();
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    Certs {
        ca: write("ca.pem", ca_cert.pem()),
        server_cert: write("server.pem", server_cert.pem()),
        server_key: write("server.key", server_key.serialize_pem()),
        client_cert: write("client.pem", client_cert.pem()),
        client_key: write("client.key", client_key.serialize_pem()),
    }
}

/// What one accepted connection does with its stream until `stop`.
pub type Handler = Arc<dyn Fn(Box<dyn Stream>, &AtomicBool, u32) + Send + Sync>;

/// A loopback server that can be killed and restarted on its port.
pub struct Server {
    pub port: u16,
    generation: u32,
    stop: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<JoinHandle<()>>,
    wrap: Wrap,
    handler: Handler,
}

impl Server {
    pub fn start(port: u16, wrap: Wrap, handler: Handler) -> Server {
        let mut server = Server {
            port,
            generation: 0,
            stop: Arc::new(AtomicBool::new(false)),
            conns: Arc::new(Mutex::new(Vec::new())),
            thread: None,
            wrap,
            handler,
        };
        server.listen();
        server
    }

    fn listen(&mut self) {
        // The port may linger for a moment after a kill.
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(listener) => break listener,
                Err(error) if Instant::now() > deadline => {
                    panic!("cannot bind {}: {error}", self.port)
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        self.port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        self.stop = Arc::clone(&stop);
        let conns = Arc::clone(&self.conns);
        let wrap = Arc::clone(&self.wrap);
        let handler = Arc::clone(&self.handler);
        let generation = self.generation;
        self.thread = Some(std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !stop.load(Ordering::Acquire) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        stream
                            .set_read_timeout(Some(Duration::from_millis(50)))
                            .unwrap();
                        conns.lock().unwrap().push(stream.try_clone().unwrap());
                        let stop = Arc::clone(&stop);
                        let wrap = Arc::clone(&wrap);
                        let handler = Arc::clone(&handler);
                        workers.push(std::thread::spawn(move || {
                            if let Some(stream) = wrap(stream) {
                                handler(stream, &stop, generation);
                            }
                        }));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            for worker in workers {
                let _ = worker.join();
            }
        }));
    }

    /// Kills the server: no more reads, every connection reset, the port closed.
    pub fn kill(&mut self) {
        self.stop.store(true, Ordering::Release);
        for conn in self.conns.lock().unwrap().drain(..) {
            let _ = conn.shutdown(Shutdown::Both);
        }
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }

    pub fn restart(&mut self) {
        self.generation += 1;
        self.listen();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A line collector (Logstash's tcp input with json_lines): every line into `received`.
pub fn line_collector(received: Received) -> Handler {
    Arc::new(move |stream, stop, generation| {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while !stop.load(Ordering::Acquire) {
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) if line.ends_with('\n') => {
                    received
                        .lock()
                        .unwrap()
                        .push((generation, line.trim_end().to_string()));
                    line.clear();
                }
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
        }
    })
}

/// Waits until `done` holds (polling), or panics after `timeout` with `what`.
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A free loopback port (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
