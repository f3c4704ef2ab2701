//! The Prometheus endpoint: `GET /metrics` (and `/`) answers the registry in the text format.
//! It runs on the caller's async runtime; binding happens before, so a taken port is an error at
//! start, not a silent absence of metrics.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::Metrics;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The routes, over `metrics`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    let handler = move || {
        let metrics = Arc::clone(&metrics);
        async move { ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics.render()).into_response() }
    };
    Router::new()
        .route("/metrics", get(handler.clone()))
        .route("/", get(handler))
}

/// Serves `metrics` on `listener` until the runtime stops.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    axum::serve(listener, router(metrics)).await
}
