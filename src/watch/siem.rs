//! Opening the `--siem` outputs. `-` alone writes ECS JSON lines straight to standard output
//! through the console sink, in the pipeline's thread (replays, backfills, trying it out: what
//! `score --format json` prints). Any other set of URLs goes through [`crate::delivery`]: every
//! alert is appended to the durable spool, and one worker per URL sends it from there.

use std::io::BufWriter;
use std::path::PathBuf;

use thiserror::Error;

use crate::delivery::{Delivery, DeliveryConfig, DeliveryError};
use crate::sinks::Sink;
use crate::sinks::console::{Console, ConsoleFormat};

/// Why the outputs cannot be opened.
#[derive(Debug, Error)]
pub enum SiemError {
    #[error(
        "--siem {urls} needs a spool directory: give --state-dir DIR (the spool is kept in DIR/spool) or --spool-dir DIR"
    )]
    NoSpool { urls: String },
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
}

/// The outputs: the direct console, or the spool and its senders.
pub enum Opened {
    Stdout(Box<dyn Sink>),
    Delivery(Delivery),
}

/// True when the URLs ask only for standard output, which needs no spool.
pub fn stdout_only(urls: &[String]) -> bool {
    urls.iter().all(|url| url == "-")
}

/// Opens the outputs for `urls`, with the spool in `spool_dir` when they need one.
pub fn open(urls: &[String], spool_dir: Option<PathBuf>) -> Result<Opened, SiemError> {
    if stdout_only(urls) {
        return Ok(Opened::Stdout(Box::new(Console::new(
            ConsoleFormat::Json,
            BufWriter::new(std::io::stdout()),
        ))));
    }
    let Some(spool_dir) = spool_dir else {
        return Err(SiemError::NoSpool {
            urls: urls.join(" "),
        });
    };
    let delivery = Delivery::open(DeliveryConfig {
        spool_dir,
        urls: urls.to_vec(),
        ..DeliveryConfig::default()
    })?;
    Ok(Opened::Delivery(delivery))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spooled_output_without_a_spool_directory_is_named() {
        let Err(error) = open(&["tcp://127.0.0.1:5044".to_string()], None) else {
            panic!("opened without a spool");
        };
        let error = error.to_string();
        assert!(error.contains("tcp://127.0.0.1:5044") && error.contains("--state-dir"));
        assert!(stdout_only(&["-".to_string()]));
        assert!(!stdout_only(&["-".to_string(), "file://a".to_string()]));
    }
}
