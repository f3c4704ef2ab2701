//! Route handlers, one file per area; each turns JSON into a governance call and back.

pub mod admin;
pub mod alerts;
pub mod changes;
pub mod triage;

use axum::Json;
use axum::extract::rejection::JsonRejection;

use super::error::ApiError;

/// Unknown paths answer in the same JSON error shape as everything else.
pub async fn not_found() -> ApiError {
    ApiError::not_found("route")
}

/// Unwraps a JSON body, turning axum's rejection into a 422 with the parser's message, or a 413
/// when the body was over the limit (a body without a length is only found to be too large
/// while it is read).
pub fn body<T>(payload: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    payload.map(|Json(value)| value).map_err(|rejection| {
        if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::TooLarge(format!("request body: {}", rejection.body_text()))
        } else {
            ApiError::invalid(format!("request body: {}", rejection.body_text()))
        }
    })
}

/// A path parameter whose parse failure answers in the API's JSON error shape.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| ApiError::invalid(format!("path: {}", rejection.body_text())))
    }
}

/// A query string whose parse failure answers in the API's JSON error shape.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::invalid(format!("query: {}", rejection.body_text())))
    }
}
