//! Bearer-token authentication as an extractor: a handler that takes [`Authenticated`] only runs
//! for a valid, unexpired, unrevoked token. A client or token id with too many recent failures
//! is refused (429) before its token is checked; every failure is counted for the aggregated
//! audit entries of [`super::guard`].

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use super::guard::Client;
use crate::governance::{GovernanceError, Principal, token};

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
        let client = Client::of(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(address)| address.ip()),
        );
        let token_id = token::split(token::TOKEN_PREFIX, presented).map(|(id, _)| id);
        if let Some(retry_after) = state.guard.refuse(client, token_id) {
            return Err(ApiError::TooManyRequests { retry_after });
        }
        match state.governance.authenticate(presented).await {
            Ok(principal) => Ok(Authenticated(principal)),
            Err(GovernanceError::Unauthenticated(reason)) => {
                // The reason goes to the audit summary; the client learns only that the token is
                // not valid (not whether its id exists, was revoked or expired).
                state.guard.failed(client, token_id, &reason);
                Err(
                    GovernanceError::Unauthenticated("the bearer token is not valid".to_string())
                        .into(),
                )
            }
            Err(other) => Err(other.into()),
        }
    }
}
