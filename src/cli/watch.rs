//! `otsentry watch`: follow live Zeek logs, score every new line through the pipeline and send
//! the alerts to the SIEM outputs within one polling cycle, checkpointing as it goes.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::score::QueueArgs;
use super::selection::SelectionArgs;
use crate::alerts::Alert;
use crate::alerts::DEFAULT_WINDOW_SECS;
use crate::delivery::TlsOptions;
use crate::metrics::Metrics;
use crate::pipeline::{BATCH_ROWS, PipelineConfig, RowOutput};
use crate::sinks::queue::AlertQueue;
use crate::sinks::{Sink, SinkError};
use crate::store::ModelStage;
use crate::watch::diag::{self, diag};
use crate::watch::lock::StateLock;
use crate::watch::siem::{self, Opened, SiemOptions};
use crate::watch::staging::{DEFAULT_PERSIST_EVERY, StagingRun};
use crate::watch::{DEFAULT_POLL, NamedSink, Outputs, WatchConfig, WatchSummary, watch};

/// Follow live Zeek logs and alert within one polling cycle.
///
/// Every new complete line goes through the pipeline `score` runs; alerts go to every --siem
/// output, are flushed, and only then is the checkpoint in --state-dir written (the follower's
/// offsets and the pipeline's state), so a restart after SIGTERM, SIGINT, kill -9 or power loss
/// resumes where it stopped. SIGTERM and SIGINT flush everything and checkpoint before exiting.
/// The model is verified (SHA-256 trailer and sidecar, and with --public-key its signature)
/// before anything is read.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Zeek log files or directories to follow (directories are searched for *.log and
    /// *.log.gz on every poll, so rotated and new files are found).
    #[arg(long = "log", required = true, num_args = 1.., value_name = "DIR_OR_FILE")]
    pub logs: Vec<PathBuf>,
    /// The model file written by `otsentry train`.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// The site's model-signing public key (as `otsentry audit keygen` writes it): the model
    /// runs only if its detached signature MODEL.sig verifies against this key. Without it only
    /// the SHA-256 trailer and sidecar are checked, and a warning says so.
    #[arg(long, value_name = "FILE")]
    pub public_key: Option<PathBuf>,
    /// Score the registry's staging version beside production on the same events, without
    /// alerting: its would-be alerts are counted (per day, detector, rule, severity) next to
    /// production's and recorded in --db as its staging evidence, which `model promote` needs.
    /// The candidate must be signed (--public-key), certified, and in stage staging; needs
    /// --state-dir, so a restart neither loses nor doubles its counts.
    #[arg(long, requires_all = ["db", "state_dir", "public_key"])]
    pub staging: bool,
    /// As --staging, with the candidate's file named (it must be the registry's staging version).
    #[arg(long, value_name = "MODEL", requires_all = ["db", "state_dir", "public_key"], conflicts_with = "staging")]
    pub staging_model: Option<PathBuf>,
    /// The registry database. With it the model must be the registry's production version with
    /// a passed certification of this exact artifact; --staging records its evidence here.
    #[arg(long, value_name = "DB", requires = "policies")]
    pub db: Option<PathBuf>,
    /// The policy files in force for --db, as `--policy` of the governance commands.
    #[arg(
        long = "policy",
        value_name = "FILE",
        value_delimiter = ',',
        requires = "db"
    )]
    pub policies: Vec<PathBuf>,
    /// Where alerts go, repeatable: tcp://, tcp+tls://, syslog+udp://, syslog+tcp://,
    /// syslog+tls://, https:// (Splunk HEC), file://PATH, or - (standard output). Alone, -
    /// writes straight to stdout; every other output is fed from the durable spool.
    #[arg(long = "siem", value_name = "URL", default_value = "-")]
    pub siem: Vec<String>,
    /// The durable spool's directory (default: STATE_DIR/spool).
    #[arg(long, value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// The spool's size cap, a whole number with a unit (512MiB, 2GiB, 500MB; default 1GiB). At
    /// the cap new alerts are refused, never the oldest dropped; a warning comes from 80 % on.
    #[arg(long, value_name = "SIZE", value_parser = crate::delivery::parse_size)]
    pub spool_cap: Option<u64>,
    /// PEM file of the CA certificates the TLS sinks (tcp+tls://, syslog+tls://, https://)
    /// trust instead of the Mozilla roots.
    #[arg(long, value_name = "FILE")]
    pub tls_ca_file: Option<PathBuf>,
    /// PEM certificate chain the TLS sinks present to collectors that authenticate senders
    /// (with --tls-client-key).
    #[arg(long, value_name = "FILE")]
    pub tls_client_cert: Option<PathBuf>,
    /// PEM private key of --tls-client-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_client_key: Option<PathBuf>,
    /// The environment variable holding the Splunk HEC token (default OTSENTRY_HEC_TOKEN). The
    /// token itself never goes on the command line, where process listings would show it.
    #[arg(long, value_name = "NAME")]
    pub hec_token_env: Option<String>,
    /// At a stop, how many seconds the senders get to deliver what waits in the spool (what
    /// they cannot send stays spooled for the next start).
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub drain_secs: u64,
    /// Asset inventory files (YAML, as `otsentry inventory check` reads them), as for `score`:
    /// alerts carry both ends' asset context and open maintenance windows, and the conduit
    /// detector reports flows between zones that no conduit allows.
    #[arg(long = "inventory", num_args = 1.., value_name = "FILE")]
    pub inventory: Vec<PathBuf>,
    /// Where the checkpoint is kept (created if missing). Without it a restart reads the logs
    /// from their beginning again.
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Milliseconds between polls.
    #[arg(long, default_value_t = DEFAULT_POLL.as_millis() as u64, value_name = "MS",
          value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub poll_ms: u64,
    /// Serve Prometheus metrics on this address (GET /metrics), e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Seconds between health lines on stderr.
    #[arg(long, default_value_t = 60, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub health_every: u64,
    /// Stop at the first poll that finds nothing new, closing open alerts as `score` does
    /// (replays and backfills).
    #[arg(long)]
    pub exit_when_idle: bool,
    /// The forest flags rows whose anomaly_score (decision value) is below this, for every
    /// record type; 0 is the contamination boundary. Default: the thresholds the model was
    /// calibrated with in training (`model show` lists them).
    #[arg(long, allow_negative_numbers = true)]
    pub threshold: Option<f64>,
    /// Findings on the same devices within this many seconds of log time are one alert.
    #[arg(long, default_value_t = DEFAULT_WINDOW_SECS, value_name = "SECONDS")]
    pub window: f64,
    /// Triage each opened alert off the hot path, after its delivery (advisory only; a full
    /// queue or an open breaker sends it on untriaged and counts it). CONFIG is a triage
    /// configuration file (docs/triage.md); without it the offline rules answer.
    #[arg(long, value_name = "CONFIG", num_args = 0..=1)]
    pub triage: Option<Option<PathBuf>>,
    // Boxed: the flags of `watch` are the largest of the subcommands' already.
    #[command(flatten)]
    pub queue: Box<QueueArgs>,
    #[command(flatten)]
    pub selection: SelectionArgs,
}

/// The governance alert queue as one of watch's outputs, shared so its count can be read at
/// the end.
struct QueueOutput(Rc<RefCell<AlertQueue>>);

impl Sink for QueueOutput {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.0.borrow_mut().alert(alert)
    }
}

pub fn run(args: WatchArgs) -> anyhow::Result<()> {
    diag::init_tracing();
    // Everything that can be wrong with the command line is found before the model is read,
    // and the model is verified before a log is opened.
    let siem_options = SiemOptions {
        spool_dir: args
            .spool_dir
            .clone()
            .or_else(|| args.state_dir.as_ref().map(|dir| dir.join("spool"))),
        spool_cap_bytes: args.spool_cap,
        tls: TlsOptions {
            ca_file: args.tls_ca_file.clone(),
            client_cert: args.tls_client_cert.clone(),
            client_key: args.tls_client_key.clone(),
        },
        hec_token_env: args.hec_token_env.clone(),
    };
    siem::check(
        &args.siem,
        &SiemOptions {
            // Only the flag counts here: the default spool directory is no flag to complain about.
            spool_dir: args.spool_dir.clone(),
            ..siem_options.clone()
        },
    )?;
    let triage = match &args.triage {
        Some(config) => Some(super::triage::settings_from(config.as_deref())?),
        None => None,
    };
    let inventory = super::score::load_inventory(&args.inventory)?;
    let (model, source) = super::score::load_model_signed(
        &args.model,
        args.window,
        &args.selection,
        args.public_key.as_deref(),
    )?;
    if args.public_key.is_none() {
        diag!(
            "warning: the model's signature is not checked (no --public-key): any well-formed model file runs"
        );
    }
    if args.db.is_none() {
        diag!(
            "warning: the registry is not consulted (no --db): this model's certification and stage are not checked"
        );
    }
    // The registry's word on both models, before any log is opened.
    let staging = match &args.db {
        Some(db) => {
            super::registry::require_stage(db, &args.policies, &model, ModelStage::Production)
                .with_context(|| format!("model {} cannot run", args.model.display()))?;
            staging_run(&args, db, &model)?
        }
        None => None,
    };
    // The principal and the policy are checked here, before any log is opened.
    let queue = super::score::open_queue(&args.queue)?.map(|queue| Rc::new(RefCell::new(queue)));
    // Held until the process ends: a second watch on this state directory is refused.
    let _state_lock = match &args.state_dir {
        Some(dir) => Some(StateLock::acquire(dir)?),
        None => None,
    };
    let metrics = Arc::new(Metrics::new());
    let listener = match args.metrics {
        Some(addr) => Some(
            std::net::TcpListener::bind(addr)
                .with_context(|| format!("cannot listen for --metrics on {addr}"))?,
        ),
        None => None,
    };
    let metrics_addr = match &listener {
        Some(listener) => Some(
            listener
                .local_addr()
                .context("cannot read the --metrics address")?,
        ),
        None => None,
    };
    let mut outputs = match siem::open(&args.siem, siem_options)? {
        Opened::Stdout(sink) => Outputs::new(
            vec![NamedSink {
                name: "stdout".to_string(),
                sink,
            }],
            Arc::clone(&metrics),
        ),
        Opened::Delivery(delivery) => Outputs::spooled(delivery, Arc::clone(&metrics)),
    };
    if let Some(queue) = &queue {
        // Before the spool: an alert the queue refused stops watch before its checkpoint, so a
        // restart offers it again; one it stored already is known by its stable id and not
        // stored twice.
        outputs = outputs.with_sink(NamedSink {
            name: "alert-queue".to_string(),
            sink: Box::new(QueueOutput(Rc::clone(queue))),
        });
    }
    if let Some(settings) = &triage {
        outputs = outputs.with_triage(crate::triage::live::LiveTriage::start(settings));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let background = background(listener, Arc::clone(&metrics), Arc::clone(&stop))?;
    let config = WatchConfig {
        logs: args.logs,
        source,
        pipeline: PipelineConfig {
            threshold: args.threshold,
            window_secs: args.window,
            batch_rows: BATCH_ROWS,
            max_latency: Some(Duration::from_millis(args.poll_ms)),
            emit_from: None,
            rows: RowOutput::None,
            inventory,
        },
        state_dir: args.state_dir,
        poll: Duration::from_millis(args.poll_ms),
        exit_when_idle: args.exit_when_idle,
        health_every: Duration::from_secs(args.health_every),
        halt_after_sync: std::env::var(crate::watch::HALT_AFTER_SPOOL_SYNC)
            .ok()
            .and_then(|value| value.parse().ok()),
    };
    if config.state_dir.is_none() && !config.exit_when_idle {
        diag!(
            "warning: no --state-dir: nothing is checkpointed, and a restart reads the logs from their beginning again"
        );
    }
    diag!(
        "watching {} path(s) with model {} (sha256 {}), polling every {} ms{}",
        config.logs.len(),
        args.model.display(),
        model.sha256,
        args.poll_ms,
        match metrics_addr {
            Some(addr) => format!(", metrics on http://{addr}/metrics"),
            None => String::new(),
        }
    );
    if let Some(run) = &staging {
        diag!(
            "staging: version {} (sha256 {}) scores beside production without alerting; its would-be alerts are recorded in {}",
            run.version_id,
            run.model.sha256,
            args.db
                .as_deref()
                .unwrap_or(std::path::Path::new("-"))
                .display()
        );
    }
    let outcome = watch(model, &config, &mut outputs, staging, &stop);
    stop.store(true, Ordering::Relaxed);
    // Everything is in the spool already; the senders get a moment to deliver it.
    outputs.shutdown(Duration::from_secs(args.drain_secs));
    drop(background);
    let summary = outcome.context("watch failed")?;
    report(&summary);
    if let Some(line) = &summary.staging {
        diag!("{line}");
    }
    if let Some(line) = queue
        .as_ref()
        .and_then(|queue| args.queue.stored_line(&queue.borrow()))
    {
        diag!("{line}");
    }
    Ok(())
}

/// The staging candidate `--staging` or `--staging-model` names, verified as production is:
/// its signature, a passed certification of this artifact in the registry, stage staging, and
/// the OT selection production's events are chosen by.
fn staging_run(
    args: &WatchArgs,
    db: &std::path::Path,
    production: &crate::model::LoadedModel,
) -> anyhow::Result<Option<StagingRun>> {
    let path = match (&args.staging_model, args.staging) {
        (Some(path), _) => path.clone(),
        (None, true) => {
            let version = super::registry::staging_version(db, &args.policies)?;
            PathBuf::from(version.path)
        }
        (None, false) => return Ok(None),
    };
    let (candidate, _) = super::score::load_model_signed(
        &path,
        args.window,
        &args.selection,
        args.public_key.as_deref(),
    )
    .context("the staging candidate cannot run")?;
    let record =
        super::registry::require_stage(db, &args.policies, &candidate, ModelStage::Staging)
            .with_context(|| format!("the staging candidate {} cannot run", path.display()))?;
    anyhow::ensure!(
        candidate.sha256 != production.sha256,
        "the staging candidate {} is the production model itself",
        path.display()
    );
    anyhow::ensure!(
        candidate.ot_selector() == production.ot_selector(),
        "the staging candidate {} was trained with another OT selection ({:?}) than production ({:?}); both must judge the same events",
        path.display(),
        candidate.ot_selector().config(),
        production.ot_selector().config()
    );
    let version_id = record.id;
    let recorder = super::registry::staging_recorder(db, &args.policies, version_id)?;
    Ok(Some(StagingRun {
        model: candidate,
        version_id,
        record: recorder,
        persist_every: std::env::var(crate::watch::staging::PERSIST_EVERY_ENV)
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(DEFAULT_PERSIST_EVERY, Duration::from_millis),
    }))
}

/// The run's totals on stderr.
fn report(summary: &WatchSummary) {
    let (source, pipeline) = (&summary.source, &summary.pipeline);
    diag!(
        "watch stopped{}: {} records read in {} polls, {} rows scored, {} alerts opened, {} closed, {} parse errors, {} records outside the OT scope",
        if summary.resumed {
            " (resumed from a checkpoint)"
        } else {
            ""
        },
        source.records_read,
        summary.polls,
        pipeline.rows_scored,
        pipeline.alerts_opened,
        pipeline.alerts_closed,
        source.parse_errors,
        pipeline.out_of_scope,
    );
}

/// The thread that serves metrics and turns SIGTERM and SIGINT into a stop request. It ends with
/// the process; the watch loop only reads the flag.
fn background(
    listener: Option<std::net::TcpListener>,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    if let Some(listener) = &listener {
        listener
            .set_nonblocking(true)
            .context("cannot set up the metrics listener")?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal and metrics thread")?;
    // Signal handlers are installed here, before any log is read, so an early SIGTERM is a
    // clean stop too.
    let (mut terminate, mut interrupt) = runtime
        .block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            Ok::<_, std::io::Error>((
                signal(SignalKind::terminate())?,
                signal(SignalKind::interrupt())?,
            ))
        })
        .context("cannot install the SIGTERM and SIGINT handlers")?;
    let thread = std::thread::Builder::new()
        .name("watch-background".to_string())
        .spawn(move || {
            runtime.block_on(async move {
                if let Some(listener) = listener {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => {
                            tokio::spawn(async move {
                                if let Err(error) =
                                    crate::metrics::server::serve(listener, metrics).await
                                {
                                    diag!("warning: the metrics endpoint stopped: {error}");
                                }
                            });
                        }
                        Err(error) => {
                            diag!("warning: the metrics endpoint cannot start: {error}")
                        }
                    }
                }
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
                diag!("stopping: flushing alerts and writing the checkpoint");
                stop.store(true, Ordering::Relaxed);
            });
        })
        .context("cannot start the signal and metrics thread")?;
    Ok(thread)
}
