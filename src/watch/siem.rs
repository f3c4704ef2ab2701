//! Opening the `--siem` outputs. `-` alone writes ECS JSON lines straight to standard output
//! through the console sink, in the pipeline's thread (replays, backfills, trying it out: what
//! `score --format json` prints). Any other set of URLs goes through [`crate::delivery`]: every
//! alert is appended to the durable spool, and one worker per URL sends it from there.
//!
//! [`check`] runs before the model is read: every URL, the spool cap, the TLS files and the HEC
//! token's environment variable are checked there, each mistake named by its flag and file, so
//! a bad command line never waits for a model load to be told.

use std::ffi::OsString;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::delivery::tls::Tls;
use crate::delivery::{
    DEFAULT_HEC_TOKEN_ENV, Delivery, DeliveryConfig, DeliveryError, MIN_SPOOL_CAP, Target,
    TlsOptions, format_size, parse_url,
};
use crate::sinks::Sink;
use crate::sinks::console::{Console, ConsoleFormat};

/// What the command line says about delivery besides the URLs; `None` keeps the default.
#[derive(Clone, Debug, Default)]
pub struct SiemOptions {
    pub spool_dir: Option<PathBuf>,
    pub spool_cap_bytes: Option<u64>,
    pub tls: TlsOptions,
    /// The name of the environment variable holding the Splunk HEC token.
    pub hec_token_env: Option<String>,
}

/// Why the outputs cannot be opened.
#[derive(Debug, Error)]
pub enum SiemError {
    #[error(
        "--siem {urls} needs a spool directory: give --state-dir DIR (the spool is kept in DIR/spool) or --spool-dir DIR"
    )]
    NoSpool { urls: String },
    #[error("{flag} has no effect here: {why}")]
    Unused {
        flag: &'static str,
        why: &'static str,
    },
    #[error("--spool-cap {cap} is too small: the spool needs at least {min}", cap = format_size(*.cap), min = format_size(MIN_SPOOL_CAP))]
    CapTooSmall { cap: u64 },
    #[error("{flag} {path}: {message}")]
    File {
        flag: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error(
        "the TLS files are not usable (--tls-ca-file, --tls-client-cert, --tls-client-key): {0}"
    )]
    Tls(DeliveryError),
    #[error(
        "--hec-token-env {name:?} is not the name of an environment variable (letters, digits and _, not starting with a digit); the token itself never goes on the command line"
    )]
    BadTokenVar { name: String },
    #[error(
        "the Splunk HEC sink {url} reads its token from the environment variable {var}, which is {state}{hint}"
    )]
    Token {
        url: String,
        var: String,
        state: &'static str,
        hint: &'static str,
    },
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

/// Checks the URLs and the delivery options without opening anything (see the module docs).
pub fn check(urls: &[String], options: &SiemOptions) -> Result<(), SiemError> {
    check_with_env(urls, options, &|name| std::env::var_os(name))
}

/// Reads an environment variable; tests pass their own environment.
type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

fn check_with_env(urls: &[String], options: &SiemOptions, env: Env<'_>) -> Result<(), SiemError> {
    let mut targets = Vec::with_capacity(urls.len());
    for url in urls {
        targets.push((url, parse_url(url)?));
    }
    let unused = |flag, why| Err(SiemError::Unused { flag, why });
    if stdout_only(urls) {
        if options.spool_cap_bytes.is_some() {
            return unused(
                "--spool-cap",
                "--siem - alone writes to stdout without a spool",
            );
        }
        if options.spool_dir.is_some() {
            return unused(
                "--spool-dir",
                "--siem - alone writes to stdout without a spool",
            );
        }
    }
    if let Some(cap) = options.spool_cap_bytes
        && cap < MIN_SPOOL_CAP
    {
        return Err(SiemError::CapTooSmall { cap });
    }
    check_tls(&targets, &options.tls)?;
    check_token(&targets, options.hec_token_env.as_deref(), env)
}

fn check_tls(targets: &[(&String, Target)], tls: &TlsOptions) -> Result<(), SiemError> {
    let files = [
        ("--tls-ca-file", &tls.ca_file),
        ("--tls-client-cert", &tls.client_cert),
        ("--tls-client-key", &tls.client_key),
    ];
    let given: Vec<_> = files
        .iter()
        .filter_map(|(flag, path)| Some((*flag, path.as_ref()?)))
        .collect();
    if given.is_empty() {
        return Ok(());
    }
    if !targets.iter().any(|(_, target)| target.uses_tls()) {
        return Err(SiemError::Unused {
            flag: given[0].0,
            why: "no --siem URL uses TLS (tcp+tls://, syslog+tls://, https://)",
        });
    }
    for (flag, path) in given {
        check_readable(flag, path)?;
    }
    // The same loading `Delivery::open` does later: bad PEM and a key that does not fit its
    // certificate are found here, before the model is read.
    Tls::load(tls).map(drop).map_err(SiemError::Tls)
}

/// A file the flag names exists, is a file and can be read.
fn check_readable(flag: &'static str, path: &Path) -> Result<(), SiemError> {
    let file_error = |message: String| SiemError::File {
        flag,
        path: path.to_path_buf(),
        message,
    };
    let metadata = std::fs::metadata(path).map_err(|error| file_error(error.to_string()))?;
    if !metadata.is_file() {
        return Err(file_error("is not a file".to_string()));
    }
    std::fs::File::open(path)
        .map(drop)
        .map_err(|error| file_error(format!("cannot be read: {error}")))
}

fn check_token(
    targets: &[(&String, Target)],
    flag: Option<&str>,
    env: Env<'_>,
) -> Result<(), SiemError> {
    let hec = targets
        .iter()
        .find(|(_, target)| matches!(target, Target::Hec(_)));
    let Some((url, _)) = hec else {
        if flag.is_some() {
            return Err(SiemError::Unused {
                flag: "--hec-token-env",
                why: "no --siem URL is a Splunk HEC sink (https://)",
            });
        }
        return Ok(());
    };
    let var = flag.unwrap_or(DEFAULT_HEC_TOKEN_ENV);
    if !is_env_name(var) {
        return Err(SiemError::BadTokenVar {
            name: var.to_string(),
        });
    }
    let token_error = |state| SiemError::Token {
        url: url.to_string(),
        var: var.to_string(),
        state,
        hint: if flag.is_some() {
            ""
        } else {
            " (--hec-token-env NAME names another variable)"
        },
    };
    match env(var) {
        None => Err(token_error("not set")),
        Some(value) => match value.to_str() {
            None => Err(token_error("not valid UTF-8")),
            Some(token) if token.trim().is_empty() => Err(token_error("empty")),
            Some(_) => Ok(()),
        },
    }
}

/// A portable environment variable name: what a shell can `export`.
fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Opens the outputs for `urls`, with the spool in `options.spool_dir` when they need one.
pub fn open(urls: &[String], options: SiemOptions) -> Result<Opened, SiemError> {
    if stdout_only(urls) {
        return Ok(Opened::Stdout(Box::new(Console::new(
            ConsoleFormat::Json,
            BufWriter::new(std::io::stdout()),
        ))));
    }
    let Some(spool_dir) = options.spool_dir else {
        return Err(SiemError::NoSpool {
            urls: urls.join(" "),
        });
    };
    let defaults = DeliveryConfig::default();
    let delivery = Delivery::open(DeliveryConfig {
        spool_dir,
        urls: urls.to_vec(),
        spool_cap_bytes: options.spool_cap_bytes.unwrap_or(defaults.spool_cap_bytes),
        tls: options.tls,
        hec_token_env: options.hec_token_env.unwrap_or(defaults.hec_token_env),
        // watch commits after each checkpoint: what a restart may replay stays to be recognised.
        hold_until_commit: true,
        ..defaults
    })?;
    Ok(Opened::Delivery(delivery))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(list: &[&str]) -> Vec<String> {
        list.iter().map(|url| url.to_string()).collect()
    }

    /// The environment of these tests: two variables, one of them blank.
    fn env(name: &str) -> Option<OsString> {
        match name {
            "OTSENTRY_TEST_TOKEN_EMPTY" => Some("  ".into()),
            "OTSENTRY_TEST_TOKEN_SET" => Some("0000-token".into()),
            _ => None,
        }
    }

    /// `check` fails with a message containing each of `parts`.
    fn refused(list: &[&str], options: &SiemOptions, parts: &[&str]) {
        let error = check_with_env(&urls(list), options, &env)
            .unwrap_err()
            .to_string();
        for part in parts {
            assert!(error.contains(part), "{error} lacks {part}");
        }
    }

    #[test]
    fn a_spooled_output_without_a_spool_directory_is_named() {
        let Err(error) = open(&urls(&["tcp://127.0.0.1:5044"]), SiemOptions::default()) else {
            panic!("opened without a spool");
        };
        let error = error.to_string();
        assert!(error.contains("tcp://127.0.0.1:5044") && error.contains("--state-dir"));
        assert!(stdout_only(&urls(&["-"])));
        assert!(!stdout_only(&urls(&["-", "file://a"])));
    }

    #[test]
    fn spool_flags_are_checked() {
        let cap = |bytes| SiemOptions {
            spool_cap_bytes: Some(bytes),
            ..SiemOptions::default()
        };
        refused(&["-"], &cap(1 << 30), &["--spool-cap", "without a spool"]);
        refused(
            &["tcp://127.0.0.1:1"],
            &cap(1000),
            &["--spool-cap 1 kB", "64 KiB"],
        );
        check_with_env(&urls(&["tcp://127.0.0.1:1"]), &cap(512 << 20), &env).unwrap();
        refused(&["gopher://x"], &cap(512 << 20), &["gopher://x"]);
    }

    #[test]
    fn tls_files_are_named_by_flag_and_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing-ca.pem");
        let not_pem = dir.path().join("ca.txt");
        std::fs::write(&not_pem, "not a certificate\n").unwrap();
        let with = |tls: TlsOptions| SiemOptions {
            tls,
            ..SiemOptions::default()
        };
        let ca = |path: &Path| {
            with(TlsOptions {
                ca_file: Some(path.to_path_buf()),
                ..TlsOptions::default()
            })
        };
        let tls_url = ["tcp+tls://127.0.0.1:5044"];
        refused(
            &tls_url,
            &ca(&missing),
            &["--tls-ca-file", "missing-ca.pem"],
        );
        refused(
            &tls_url,
            &ca(dir.path()),
            &["--tls-ca-file", "is not a file"],
        );
        refused(&tls_url, &ca(&not_pem), &["no PEM certificate", "ca.txt"]);
        refused(
            &["tcp://127.0.0.1:5044", "file:///tmp/a"],
            &ca(&not_pem),
            &["--tls-ca-file has no effect", "no --siem URL uses TLS"],
        );
        let cert_only = with(TlsOptions {
            client_cert: Some(not_pem.clone()),
            ..TlsOptions::default()
        });
        refused(
            &["syslog+tls://127.0.0.1"],
            &cert_only,
            &["--tls-client-key"],
        );
    }

    #[test]
    fn the_hec_token_variable_is_checked_and_never_a_token() {
        let hec = ["https://splunk.example:8088"];
        let named = |name: &str| SiemOptions {
            hec_token_env: Some(name.to_string()),
            ..SiemOptions::default()
        };
        refused(
            &hec,
            &named("OTSENTRY_TEST_TOKEN_UNSET_1"),
            &[
                "OTSENTRY_TEST_TOKEN_UNSET_1, which is not set",
                "https://splunk.example:8088",
            ],
        );
        refused(
            &hec,
            &named("4f3a-9b2c-token-value"),
            &[
                "is not the name of an environment variable",
                "never goes on the command line",
            ],
        );
        refused(&hec, &named(""), &["is not the name"]);
        refused(
            &["tcp://127.0.0.1:1"],
            &named("OTSENTRY_TEST_TOKEN_UNSET_2"),
            &["--hec-token-env has no effect", "https://"],
        );
        refused(
            &hec,
            &named("OTSENTRY_TEST_TOKEN_EMPTY"),
            &["which is empty"],
        );
        check_with_env(&urls(&hec), &named("OTSENTRY_TEST_TOKEN_SET"), &env).unwrap();
        refused(
            &hec,
            &SiemOptions::default(),
            &[
                "OTSENTRY_HEC_TOKEN, which is not set",
                "--hec-token-env NAME",
            ],
        );
        assert!(is_env_name("_A1") && !is_env_name("1A") && !is_env_name("A-B"));
    }
}
