//! `otsentry serve`: runs the JSON HTTP API over the database with the given policies.

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;

use super::common::{GovArgs, open_governance, runtime};
use crate::governance::Actor;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub gov: GovArgs,
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
        eprintln!("listening on http://{}", listener.local_addr()?);
        crate::api::serve(listener, governance)
            .await
            .context("the server stopped with an error")
    })
}
