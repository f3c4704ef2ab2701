//! Route handlers, one file per area; each turns JSON into a governance call and back.

pub mod admin;
pub mod alerts;
pub mod changes;

use axum::Json;
use axum::extract::rejection::JsonRejection;

use super::error::ApiError;

/// Unknown paths answer in the same JSON error shape as everything else.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

/// Unwraps a JSON body, turning axum's rejection into a 422 with the parser's message.
pub fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload
        .map(|Json(value)| value)
        .map_err(|rejection| ApiError::invalid(format!("request body: {}", rejection.body_text())))
}
