//! A real rsyslogd (Debian's package, installed by `scripts/test-services.sh`) on loopback ports,
//! writing what it receives to files the test reads: the raw message, and the fields rsyslog
//! parsed out of it (so the test sees that rsyslog understood our RFC 5424).
//!
//! Where rsyslogd is not installed the test prints why and skips; `OTSENTRY_REQUIRE_SYSLOG=1`
//! (set by `.ci/run`) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::receivers::{free_port, wait_until};

pub struct Rsyslog {
    binary: PathBuf,
    dir: PathBuf,
    pub tcp_port: u16,
    pub udp_port: u16,
    child: Option<Child>,
}

/// The rsyslogd binary, or why there is none.
pub fn find() -> Result<PathBuf, String> {
    for candidate in [
        "/usr/sbin/rsyslogd",
        "/sbin/rsyslogd",
        "/usr/local/sbin/rsyslogd",
    ] {
        if Path::new(candidate).exists() {
            return Ok(PathBuf::from(candidate));
        }
    }
    Err(
        "rsyslogd is not installed (run scripts/test-services.sh, which installs Debian's rsyslog)"
            .into(),
    )
}

/// rsyslogd, or `None` after printing why the test is skipped (a failure when required).
pub fn require(test: &str) -> Option<PathBuf> {
    match find() {
        Ok(binary) => Some(binary),
        Err(reason) => {
            assert!(
                std::env::var("OTSENTRY_REQUIRE_SYSLOG").as_deref() != Ok("1"),
                "{test}: OTSENTRY_REQUIRE_SYSLOG=1 but {reason}"
            );
            println!("skipped: {test}: {reason}");
            None
        }
    }
}

impl Rsyslog {
    pub fn start(binary: PathBuf, dir: &Path) -> Rsyslog {
        let mut rsyslog = Rsyslog {
            binary,
            dir: dir.to_path_buf(),
            tcp_port: free_port(),
            udp_port: free_port(),
            child: None,
        };
        let work = dir.join("work");
        std::fs::create_dir_all(&work).unwrap();
        let config = format!(
            r#"global(workDirectory="{work}")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" port="{tcp}" address="127.0.0.1")
input(type="imudp" port="{udp}" address="127.0.0.1")
template(name="raw" type="string" string="%rawmsg%\n")
template(name="fields" type="string" string="%hostname%\t%app-name%\t%msgid%\t%structured-data%\t%msg%\n")
*.* action(type="omfile" file="{raw}" template="raw")
*.* action(type="omfile" file="{fields}" template="fields")
"#,
            work = work.display(),
            tcp = rsyslog.tcp_port,
            udp = rsyslog.udp_port,
            raw = dir.join("raw.log").display(),
            fields = dir.join("fields.log").display(),
        );
        std::fs::write(dir.join("rsyslog.conf"), config).unwrap();
        rsyslog.spawn();
        rsyslog
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.binary)
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(self.dir.join("rsyslog.pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.binary.display()));
        self.child = Some(child);
        let port = self.tcp_port;
        wait_until(Duration::from_secs(10), "rsyslogd to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// Kills rsyslogd (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.dir.join("rsyslog.pid"));
    }

    pub fn restart(&mut self) {
        self.spawn();
    }

    /// The lines rsyslog wrote, raw and parsed.
    pub fn raw_lines(&self) -> Vec<String> {
        read_lines(&self.dir.join("raw.log"))
    }

    pub fn field_lines(&self) -> Vec<String> {
        read_lines(&self.dir.join("fields.log"))
    }
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect()
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        self.kill();
    }
}
