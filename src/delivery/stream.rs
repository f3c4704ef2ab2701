//! A TCP connection (plain or TLS) for the stream sinks (`tcp://`, `syslog+tcp://`), and the rule
//! that decides when what was written counts as delivered.
//!
//! TCP collectors such as Logstash's tcp input send no acknowledgement, and a successful write
//! only means the bytes reached the local kernel. So a batch counts as delivered once the peer's
//! TCP has acknowledged its last byte (`SIOCOUTQ` on Linux) and the connection has stayed up for
//! `stream_confirm_after`; if the connection fails before, the batch is sent again. A collector
//! killed with unread bytes in its socket buffer can still lose them: only a protocol with
//! application acknowledgements (HEC with indexer acks) closes that gap.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

/// A connected stream to a collector.
pub enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Conn {
    /// Connects to `host:port` (every resolved address in turn), and completes the TLS handshake
    /// when `tls` is given, so certificate problems show at connect.
    pub fn connect(
        host: &str,
        port: u16,
        tls: Option<&Arc<ClientConfig>>,
        timeout: Duration,
    ) -> Result<Conn, String> {
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|error| format!("cannot resolve {host}:{port}: {error}"))?;
        let mut last = format!("{host}:{port} resolves to no address");
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, timeout) {
                Ok(connected) => {
                    stream = Some(connected);
                    break;
                }
                Err(error) => last = format!("cannot connect to {addr}: {error}"),
            }
        }
        let stream = stream.ok_or(last)?;
        let setup = |stream: &TcpStream| {
            stream.set_nodelay(true)?;
            stream.set_write_timeout(Some(timeout))?;
            stream.set_read_timeout(Some(timeout))
        };
        setup(&stream).map_err(|error| format!("cannot set up the connection: {error}"))?;
        let Some(config) = tls else {
            return Ok(Conn::Plain(stream));
        };
        let name = ServerName::try_from(host.to_string())
            .map_err(|error| format!("{host:?} is not a valid TLS server name: {error}"))?;
        let connection = ClientConnection::new(Arc::clone(config), name)
            .map_err(|error| format!("tls setup: {error}"))?;
        let mut tls_stream = StreamOwned::new(connection, stream);
        while tls_stream.conn.is_handshaking() {
            tls_stream
                .conn
                .complete_io(&mut tls_stream.sock)
                .map_err(|error| format!("tls handshake with {host}:{port}: {error}"))?;
        }
        Ok(Conn::Tls(Box::new(tls_stream)))
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(stream) => stream,
            Conn::Tls(stream) => &stream.sock,
        }
    }

    /// Writes everything and flushes (for TLS, until the records are on the socket).
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Conn::Plain(stream) => stream.write_all(bytes),
            Conn::Tls(stream) => {
                stream.write_all(bytes)?;
                stream.flush()
            }
        }
    }

    /// Bytes written that the peer's TCP has not acknowledged; `None` where unknown.
    pub fn unacked_bytes(&self) -> Option<u64> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let mut pending: libc::c_int = 0;
            // SAFETY: SIOCOUTQ writes one int through the pointer, which is valid and aligned;
            // the descriptor is owned by `self` and open for the duration of the call.
            let rc = unsafe {
                libc::ioctl(
                    self.tcp().as_raw_fd(),
                    libc::TIOCOUTQ,
                    &mut pending as *mut libc::c_int,
                )
            };
            if rc == 0 {
                return u64::try_from(pending).ok();
            }
        }
        None
    }

    /// True when the peer closed or reset the connection (checked without blocking).
    pub fn peer_closed(&mut self) -> bool {
        if self.tcp().set_nonblocking(true).is_err() {
            return true;
        }
        let mut probe = [0u8; 1];
        let closed = match self.tcp().peek(&mut probe) {
            Ok(0) => true,
            Ok(_) => self.consume_incoming(),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => false,
            Err(_) => true,
        };
        closed || self.tcp().set_nonblocking(false).is_err()
    }

    /// Reads and discards what the peer sent (collectors send nothing we use; TLS sends
    /// session tickets and close_notify). True when that shows the peer closed.
    fn consume_incoming(&mut self) -> bool {
        let mut sink = [0u8; 4096];
        match self {
            Conn::Plain(stream) => loop {
                match stream.read(&mut sink) {
                    Ok(0) => return true,
                    Ok(_) => continue,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return false,
                    Err(_) => return true,
                }
            },
            Conn::Tls(stream) => {
                let StreamOwned { conn, sock } = stream.as_mut();
                loop {
                    match conn.read_tls(sock) {
                        Ok(0) => return true,
                        Ok(_) => {}
                        Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => return true,
                    }
                    match conn.process_new_packets() {
                        Ok(state) if state.peer_has_closed() => return true,
                        Ok(_) => {}
                        Err(_) => return true,
                    }
                    while matches!(conn.reader().read(&mut sink), Ok(n) if n > 0) {}
                }
                false
            }
        }
    }
}

/// Batches written on the current connection that are not yet confirmed.
pub struct StreamConfirm {
    /// (sequence after the batch, connection bytes written through it, when written).
    pending: VecDeque<(u64, u64, Instant)>,
    written: u64,
    after: Duration,
}

impl StreamConfirm {
    pub fn new(after: Duration) -> StreamConfirm {
        StreamConfirm {
            pending: VecDeque::new(),
            written: 0,
            after,
        }
    }

    /// Records a batch of `bytes` ending before sequence `end`, just written.
    pub fn wrote(&mut self, end: u64, bytes: u64) {
        self.written += bytes;
        self.pending.push_back((end, self.written, Instant::now()));
    }

    /// How far delivery is confirmed on `conn` (see the module doc); an error when the peer
    /// closed the connection with batches unconfirmed.
    pub fn confirmed(
        &mut self,
        conn: Option<&mut Conn>,
        stopping: bool,
    ) -> Result<Option<u64>, String> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        let Some(conn) = conn else {
            return Err("not connected".into());
        };
        if conn.peer_closed() {
            return Err("the collector closed the connection".into());
        }
        let acked = conn
            .unacked_bytes()
            .map_or(self.written, |unacked| self.written.saturating_sub(unacked));
        let mut confirmed = None;
        while let Some(&(end, through, at)) = self.pending.front() {
            if through > acked || (!stopping && at.elapsed() < self.after) {
                break;
            }
            confirmed = Some(end);
            self.pending.pop_front();
        }
        Ok(confirmed)
    }

    /// A new connection: nothing pending on it.
    pub fn reset(&mut self) {
        self.pending.clear();
        self.written = 0;
    }
}
