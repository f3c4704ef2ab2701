//! Bearer-token authentication as an extractor: a handler that takes [`Authenticated`] only runs
//! for a valid, unexpired, unrevoked token; every failure is audited by governance.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::governance::Principal;

/// The principal behind the request's bearer token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("")
            .trim();
        let principal = state.governance.authenticate(presented).await?;
        Ok(Authenticated(principal))
    }
}
