//! The JSON HTTP API (`otsentry serve`): bearer-token authentication, then every route calls the
//! governance service, so the gate decides and audits each request.

mod auth;
mod error;
mod routes;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;

pub use auth::Authenticated;
pub use error::ApiError;

use crate::governance::Governance;
use crate::store::SqliteStore;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub governance: Governance<SqliteStore>,
}

/// Request bodies are small JSON documents; anything larger is refused.
const BODY_LIMIT: usize = 256 * 1024;

/// The API's routes.
pub fn router(governance: Governance<SqliteStore>) -> Router {
    use routes::{admin, alerts, changes};
    Router::new()
        .route("/v1/whoami", get(admin::whoami))
        .route("/v1/alerts", get(alerts::list).post(alerts::create))
        .route("/v1/alerts/{id}", get(alerts::detail))
        .route("/v1/alerts/{id}/triage", post(alerts::triage))
        .route("/v1/alerts/{id}/decisions", post(alerts::decide))
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
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(AppState { governance })
}

/// Serves the API on `listener` until the process receives Ctrl-C or SIGTERM, then finishes
/// the requests in flight.
pub async fn serve(
    listener: TcpListener,
    governance: Governance<SqliteStore>,
) -> std::io::Result<()> {
    let address: Option<SocketAddr> = listener.local_addr().ok();
    tracing::info!(address = ?address, "Serving the otsentry API");
    axum::serve(listener, router(governance))
        .with_graceful_shutdown(shutdown_signal())
        .await
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
