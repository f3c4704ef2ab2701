//! The HTTP layer's one error type: every failure maps to a status code and a JSON body with a
//! clear message; internal causes are logged, never sent. [`json_errors`] gives the answers that
//! come from outside the handlers (a wrong method, a body over the limit, a request that took too
//! long) the same shape.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::governance::GovernanceError;

#[derive(Debug)]
pub enum ApiError {
    /// What governance said: 401, 403, 404, 409, 422 or 500.
    Governance(GovernanceError),
    /// Too many failed authentications from this client or for this token id: 429.
    TooManyRequests { retry_after: Duration },
    /// The request body is over the limit: 413.
    TooLarge(String),
}

impl From<GovernanceError> for ApiError {
    fn from(error: GovernanceError) -> Self {
        ApiError::Governance(error)
    }
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Governance(GovernanceError::Invalid(message.into()))
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError::Governance(GovernanceError::NotFound(what.into()))
    }
}

/// The JSON body every error answer carries.
fn error_body(status: StatusCode, message: &str) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "error": { "status": status.as_u16(), "message": message }
    }))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            ApiError::Governance(error) => match error {
                GovernanceError::Unauthenticated(_) => {
                    (StatusCode::UNAUTHORIZED, error.to_string())
                }
                GovernanceError::Denied(_) => (StatusCode::FORBIDDEN, error.to_string()),
                GovernanceError::NotFound(_) => (StatusCode::NOT_FOUND, error.to_string()),
                GovernanceError::Conflict(_) => (StatusCode::CONFLICT, error.to_string()),
                GovernanceError::Invalid(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
                }
                GovernanceError::Store(_) | GovernanceError::Internal(_) => {
                    tracing::error!(error = %error, "Request failed with an internal error");
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "internal error; the server log has the cause".to_string(),
                    )
                }
            },
            ApiError::TooManyRequests { retry_after } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many failed authentications; try again in {} s",
                    retry_after_secs(*retry_after)
                ),
            ),
            ApiError::TooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, message.clone()),
        };
        let mut response = (status, error_body(status, &message)).into_response();
        let headers = response.headers_mut();
        match &self {
            ApiError::Governance(GovernanceError::Unauthenticated(_)) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::TooManyRequests { retry_after } => {
                headers.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(*retry_after)),
                );
            }
            _ => {}
        }
        response
    }
}

/// Whole seconds, rounded up so that a client waiting that long is let in.
fn retry_after_secs(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// The messages of the answers made outside the handlers, which [`json_errors`] needs.
#[derive(Debug, Clone)]
pub struct OuterMessages {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

/// Gives an error answer without a JSON body (axum's 405 for a wrong method, tower-http's 413
/// and 408) the API's JSON error shape, keeping its status and headers (`Allow` on a 405).
pub fn json_errors(messages: &OuterMessages, response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = response
                .headers()
                .get(header::ALLOW)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("");
            format!("method not allowed on this path; allowed: {allowed}")
        }
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "request body is larger than the {} bytes allowed",
            messages.max_body_bytes
        ),
        StatusCode::REQUEST_TIMEOUT => format!(
            "the request took longer than the {} s allowed",
            messages.request_timeout.as_secs_f64()
        ),
        other => other.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = error_body(status, &message).into_response();
    let (body_parts, body) = body.into_parts();
    for (name, value) in &body_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}
