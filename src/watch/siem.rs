//! The `--siem` outputs `watch` can open by itself: `-` (ECS JSON lines on standard output,
//! through the console sink) and `file://PATH` (ECS JSON lines appended to a file and synced on
//! every flush). The durable spool and the network sinks (`crate::delivery`) replace these for
//! every other URL.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use thiserror::Error;

use crate::alerts::{Alert, ecs};
use crate::sinks::console::{Console, ConsoleFormat};
use crate::sinks::{Sink, SinkError};

/// An output named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SiemUrl {
    Stdout,
    File(PathBuf),
}

/// Why a `--siem` value cannot be used.
#[derive(Debug, Error)]
pub enum SiemError {
    #[error(
        "--siem {url:?} is not an output this build can open: use - (standard output) or file://PATH"
    )]
    Unsupported { url: String },
    #[error("--siem {url:?} names no file: write file:///absolute/path or file://relative/path")]
    EmptyPath { url: String },
    #[error("cannot open --siem {url:?}: {source}")]
    Open { url: String, source: std::io::Error },
}

impl SiemUrl {
    pub fn parse(url: &str) -> Result<SiemUrl, SiemError> {
        if url == "-" {
            return Ok(SiemUrl::Stdout);
        }
        match url.strip_prefix("file://") {
            Some("") => Err(SiemError::EmptyPath {
                url: url.to_string(),
            }),
            Some(path) => Ok(SiemUrl::File(PathBuf::from(path))),
            None => Err(SiemError::Unsupported {
                url: url.to_string(),
            }),
        }
    }

    /// The label metrics and messages use for this output.
    pub fn label(&self) -> String {
        match self {
            SiemUrl::Stdout => "stdout".to_string(),
            SiemUrl::File(path) => format!("file://{}", path.display()),
        }
    }

    /// Opens the output.
    pub fn open(&self) -> Result<Box<dyn Sink>, SiemError> {
        match self {
            SiemUrl::Stdout => Ok(Box::new(Console::new(
                ConsoleFormat::Json,
                BufWriter::new(std::io::stdout()),
            ))),
            SiemUrl::File(path) => {
                let file = File::options()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| SiemError::Open {
                        url: self.label(),
                        source,
                    })?;
                Ok(Box::new(JsonFile {
                    out: BufWriter::new(file),
                }))
            }
        }
    }
}

/// ECS JSON lines appended to a file; a flush writes them out and syncs the file.
struct JsonFile {
    out: BufWriter<File>,
}

fn io(source: std::io::Error) -> SinkError {
    SinkError::Io {
        sink: "file",
        source,
    }
}

impl Sink for JsonFile {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        writeln!(self.out, "{}", ecs::to_json_line(alert)).map_err(io)
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(io)?;
        self.out.get_ref().sync_data().map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_say_what_is_wrong() {
        assert_eq!(SiemUrl::parse("-").unwrap(), SiemUrl::Stdout);
        assert_eq!(
            SiemUrl::parse("file:///var/log/a.jsonl").unwrap(),
            SiemUrl::File(PathBuf::from("/var/log/a.jsonl"))
        );
        let error = SiemUrl::parse("file://").unwrap_err().to_string();
        assert!(error.contains("names no file"), "{error}");
        let error = SiemUrl::parse("gopher://x").unwrap_err().to_string();
        assert!(
            error.contains("gopher://x") && error.contains("file://PATH"),
            "{error}"
        );
    }
}
