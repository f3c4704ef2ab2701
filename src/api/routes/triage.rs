//! Triage routes: the state of the background triage `serve --triage` runs (its provider, the
//! passes, what was recorded, the queue's counters and the breaker).

use axum::Json;
use axum::extract::State;

use crate::api::{ApiError, AppState, Authenticated};
use crate::governance::{Action, Actor, Resource};
use crate::triage::pending::PendingStatus;

pub async fn status(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<PendingStatus>, ApiError> {
    let _permit = state
        .governance
        .authorize(
            Actor::Principal(&principal),
            Action::ReadAlerts,
            &Resource::AlertQueue,
        )
        .await?;
    let triage = state.triage.as_ref().ok_or_else(|| {
        ApiError::not_found("background triage (this server runs without --triage)")
    })?;
    Ok(Json(triage.status()))
}
