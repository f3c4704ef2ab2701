//! The JSON HTTP API (`otsentry serve`): bearer-token authentication, then every route calls the
//! governance service, so the gate decides and audits each request. Around the routes: flood
//! limits on failed authentications (`guard`), a body limit, a request timeout and one JSON
//! error shape for every answer; around the connections (`listen`): a connection cap, header,
//! handshake and idle timeouts, and TLS (`tls`).

mod auth;
mod error;
mod guard;
mod listen;
mod routes;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

pub use auth::Authenticated;
pub use error::ApiError;
pub use guard::{AuthGuard, AuthLimits};
pub use listen::ConnectionLimits;
pub use tls::{TlsError, server_config as tls_server_config};

use crate::governance::Governance;
use crate::store::SqliteStore;
use crate::triage::pending::PendingTriage;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub governance: Governance<SqliteStore>,
    pub guard: Arc<AuthGuard>,
    /// The background triage of stored alerts, when `serve --triage` runs it.
    pub triage: Option<Arc<PendingTriage<SqliteStore>>>,
}

/// Every limit of the server, with defaults fit for an analyst console and a few detectors.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    pub connections: ConnectionLimits,
    /// The longest a request may take, body and handler together: 408 past it.
    pub request_timeout: Duration,
    /// Request bodies are small JSON documents; a larger one is refused with 413.
    pub max_body_bytes: usize,
    pub auth: AuthLimits,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            connections: ConnectionLimits {
                max_connections: 256,
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                shutdown_grace: Duration::from_secs(10),
            },
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 256 * 1024,
            auth: AuthLimits::default(),
        }
    }
}

/// The API's routes with their request-level limits.
pub fn router(state: AppState, limits: &ServeLimits) -> Router {
    use routes::{admin, alerts, changes, triage};
    let messages = error::OuterMessages {
        max_body_bytes: limits.max_body_bytes,
        request_timeout: limits.request_timeout,
    };
    Router::new()
        .route("/v1/whoami", get(admin::whoami))
        .route("/v1/alerts", get(alerts::list).post(alerts::create))
        .route("/v1/alerts/{id}", get(alerts::detail))
        .route("/v1/alerts/{id}/triage", post(alerts::triage))
        .route("/v1/alerts/{id}/decisions", post(alerts::decide))
        .route("/v1/triage/status", get(triage::status))
        .route(
            "/v1/recommendations",
            get(changes::list_recommendations).post(changes::draft_recommendation),
        )
        .route(
            "/v1/recommendations/{id}/decision",
            post(changes::decide_recommendation),
        )
        .route("/v1/plant/setpoints", post(changes::write_setpoint))
        .route("/v1/settings/threshold", post(changes::set_threshold))
        .route(
            "/v1/change-requests",
            get(changes::list_change_requests).post(changes::request_change),
        )
        .route("/v1/change-requests/{id}", get(changes::change_request))
        .route("/v1/change-requests/{id}/approvals", post(changes::approve))
        .route("/v1/change-requests/{id}/withdraw", post(changes::withdraw))
        .route(
            "/v1/reviews/false-negatives",
            post(changes::report_false_negative),
        )
        .route(
            "/v1/reviews/reconfigurations",
            post(changes::report_reconfiguration),
        )
        .route("/v1/governance/status", get(changes::status))
        .route("/v1/audit", get(admin::audit_export))
        .route("/v1/audit/verify", get(admin::audit_verify))
        .route("/v1/principals", post(admin::create_principal))
        .route("/v1/principals/{name}/enrollments", post(admin::enroll))
        .route("/v1/enroll", post(admin::redeem))
        .route("/v1/tokens", post(admin::issue_token))
        .route("/v1/tokens/{id}", delete(admin::revoke_token))
        .fallback(routes::not_found)
        // A declared length over the limit is refused before the body is read; the extractor's
        // own limit catches a body sent without one.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::middleware::map_response(
            move |response: axum::response::Response| {
                let messages = messages.clone();
                async move { error::json_errors(&messages, response) }
            },
        ))
        .with_state(state)
}

/// Serves the API on `listener` (over TLS when `tls` is given) until the process receives
/// Ctrl-C or SIGTERM, then finishes the requests in flight. Failed authentications are written to
/// the audit log once per client and interval, and once more at shutdown.
pub async fn serve(
    listener: TcpListener,
    governance: Governance<SqliteStore>,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    limits: ServeLimits,
    triage: Option<Arc<PendingTriage<SqliteStore>>>,
) -> std::io::Result<()> {
    let address: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(address = ?address, tls = tls.is_some(), "Serving the otsentry API");
    let guard = Arc::new(AuthGuard::new(limits.auth.clone()));
    let state = AppState {
        governance: governance.clone(),
        guard: Arc::clone(&guard),
        triage,
    };
    let app = router(state, &limits);
    // The flusher is told to stop rather than aborted, so that an entry being written is
    // finished; it then writes what the last interval collected.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let flusher = {
        let (guard, governance) = (Arc::clone(&guard), governance.clone());
        let interval = limits.auth.audit_interval;
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    _ = ticks.tick() => record_failures(&guard, &governance).await,
                    _ = &mut stopped => break,
                }
            }
            record_failures(&guard, &governance).await;
        })
    };
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let outcome = listen::run(
        listener,
        app,
        acceptor,
        limits.connections.clone(),
        shutdown_signal(),
    )
    .await;
    let _ = stop.send(());
    if let Err(error) = flusher.await {
        tracing::error!(error = %error, "The failed-authentication auditor stopped abnormally");
    }
    outcome
}

/// Writes one audit entry per client with failed authentications since the last call.
async fn record_failures(guard: &AuthGuard, governance: &Governance<SqliteStore>) {
    for summary in guard.take_summaries() {
        if let Err(error) = governance.record_failed_authentications(&summary).await {
            tracing::error!(error = %error, summary = %summary, "Cannot audit failed authentications");
        }
    }
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("Shutting down the otsentry API");
}
