//! The HTTP layer's one error type: every failure maps to a status code and a JSON body with a
//! clear message; internal causes are logged, never sent.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::governance::GovernanceError;

#[derive(Debug)]
pub struct ApiError(pub GovernanceError);

impl From<GovernanceError> for ApiError {
    fn from(error: GovernanceError) -> Self {
        ApiError(error)
    }
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError(GovernanceError::Invalid(message.into()))
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        ApiError(GovernanceError::NotFound(what.into()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match &self.0 {
            GovernanceError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, self.0.to_string()),
            GovernanceError::Denied(_) => (StatusCode::FORBIDDEN, self.0.to_string()),
            GovernanceError::NotFound(_) => (StatusCode::NOT_FOUND, self.0.to_string()),
            GovernanceError::Conflict(_) => (StatusCode::CONFLICT, self.0.to_string()),
            GovernanceError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, self.0.to_string()),
            GovernanceError::Store(_) | GovernanceError::Internal(_) => {
                tracing::error!(error = %self.0, "Request failed with an internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the cause".to_string(),
                )
            }
        };
        let body = serde_json::json!({
            "error": { "status": status.as_u16(), "message": message }
        });
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
