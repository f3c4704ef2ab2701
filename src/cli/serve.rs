//! `otsentry serve`: runs the JSON HTTP API over the database with the given policies, over TLS
//! or, on loopback (or when told so explicitly), plain HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::common::{GovArgs, open_governance, runtime};
use crate::api::{AuthLimits, ConnectionLimits, ServeLimits};
use crate::governance::Actor;
use crate::triage::Triager;
use crate::triage::pending::{PendingConfig, PendingTriage};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// PEM certificate chain (server certificate first) for HTTPS.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback. Tokens then cross the network in
    /// clear text; only for a network segment that is itself protected.
    #[arg(long, conflicts_with = "tls_cert")]
    pub insecure_listen: bool,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,
    /// Seconds a client has to send a complete request head (and finish the TLS handshake).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub header_timeout_secs: u64,
    /// Seconds a request may take, body and answer together.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub request_timeout_secs: u64,
    /// Seconds a connection may stay without traffic.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub idle_timeout_secs: u64,
    /// Largest request body in bytes; a larger one is refused with 413.
    #[arg(long, default_value_t = 256 * 1024, value_parser = clap::value_parser!(u32).range(1024..=64 * 1024 * 1024))]
    pub max_body_bytes: u32,
    /// Failed authentications a client (or a token id) may have per window before it gets 429.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_auth_failures: u32,
    /// Length of the failed-authentication window, in seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_window_secs: u64,
    /// How often failed authentications are written to the audit log (one entry per client).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub auth_audit_secs: u64,
    /// Triage the stored open alerts that have no advice yet, in the background, as the
    /// triage assistant (advisory only). CONFIG is a triage configuration file
    /// (docs/triage.md); without it the offline rules answer.
    #[arg(long, value_name = "CONFIG", num_args = 0..=1)]
    pub triage: Option<Option<PathBuf>>,
    /// Seconds between background triage passes.
    #[arg(
        long,
        default_value_t = 10.0,
        value_name = "SECONDS",
        requires = "triage"
    )]
    pub triage_every: f64,
    /// The triage assistant's AI principal (component `triage`).
    #[arg(
        long,
        default_value = "triage",
        value_name = "NAME",
        requires = "triage"
    )]
    pub triage_as: String,
    /// Asset inventory files for the triage context (both ends, maintenance windows).
    #[arg(long, value_delimiter = ',', value_name = "FILE", requires = "triage")]
    pub triage_inventory: Vec<PathBuf>,
    #[command(flatten)]
    pub gov: GovArgs,
}

impl ServeArgs {
    fn limits(&self) -> ServeLimits {
        ServeLimits {
            connections: ConnectionLimits {
                max_connections: self.max_connections as usize,
                header_timeout: Duration::from_secs(self.header_timeout_secs),
                idle_timeout: Duration::from_secs(self.idle_timeout_secs),
                shutdown_grace: Duration::from_secs(10),
            },
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            max_body_bytes: self.max_body_bytes as usize,
            auth: AuthLimits {
                max_failures: self.max_auth_failures,
                window: Duration::from_secs(self.auth_window_secs),
                audit_interval: Duration::from_secs(self.auth_audit_secs),
            },
        }
    }
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(crate::api::tls_server_config(cert, key)?),
        _ => None,
    };
    if tls.is_none() && !args.listen.ip().is_loopback() {
        if !args.insecure_listen {
            anyhow::bail!(
                "refusing to serve plain HTTP on {}, which is not a loopback address: bearer tokens would cross the network in clear text; give --tls-cert and --tls-key, or --insecure-listen if this network segment is protected otherwise",
                args.listen
            );
        }
        tracing::warn!(
            address = %args.listen,
            "Serving plain HTTP beyond loopback (--insecure-listen): tokens cross the network in clear text"
        );
    }
    let limits = args.limits();
    let triage = match &args.triage {
        Some(config) => {
            anyhow::ensure!(
                args.triage_every.is_finite()
                    && args.triage_every > 0.0
                    && args.triage_every <= 86_400.0,
                "--triage-every must be a number of seconds above 0 and at most 86400, not {}",
                args.triage_every
            );
            let inventory = if args.triage_inventory.is_empty() {
                None
            } else {
                Some(
                    crate::inventory::load_inventory(&args.triage_inventory)
                        .context("the --triage-inventory is not valid")?,
                )
            };
            Some((super::triage::settings_from(config.as_deref())?, inventory))
        }
        None => None,
    };
    runtime()?.block_on(async {
        let governance = open_governance(&args.gov).await?;
        governance
            .record_policies(Actor::Local)
            .await
            .context("otsentry serve does not start on a policy that was not approved")?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        // Tests and scripts read this line to learn the port when listening on port 0.
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!("listening on {scheme}://{}", listener.local_addr()?);
        let pending = match triage {
            Some((settings, inventory)) => {
                let writer = super::triage::triage_writer(&governance, &args.triage_as).await?;
                let config = PendingConfig {
                    every: Duration::from_secs_f64(args.triage_every),
                    batch: 1_000,
                    queue_limit: settings.triager.queue_limit,
                };
                let triager = Triager::start(settings.triager, settings.build_provider());
                let pending = PendingTriage::start(
                    governance.clone(),
                    writer,
                    triager,
                    inventory,
                    config,
                    None,
                )
                .context("cannot start the triage recorder")?;
                eprintln!(
                    "triage: {} ({}) every {} s, advisory only",
                    settings.provider_name(),
                    settings.model,
                    args.triage_every
                );
                tokio::spawn(std::sync::Arc::clone(&pending).run(std::future::pending()));
                Some(pending)
            }
            None => None,
        };
        crate::api::serve(listener, governance, tls, limits, pending)
            .await
            .context("the server stopped with an error")
    })
}
