//! Alert routes: list, create, inspect, triage, and analysts' decisions.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;

use super::{ApiPath, ApiQuery, body};
use crate::api::{ApiError, AppState, Authenticated};
use crate::governance::{Actor, AlertDetail, AnalystDecision};
use crate::store::{
    AlertDecision, AlertRecord, AlertStatus, DecisionRecord, NewAlert, NewTriage, Severity,
    TriageRecord,
};

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
    limit: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<AlertRecord>>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(
            AlertStatus::parse(text)
                .ok_or_else(|| ApiError::invalid(format!("unknown alert status `{text}`")))?,
        ),
    };
    let alerts = state
        .governance
        .list_alerts(
            Actor::Principal(&principal),
            status,
            query.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(alerts))
}

pub async fn create(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    payload: Result<Json<NewAlert>, JsonRejection>,
) -> Result<(StatusCode, Json<AlertRecord>), ApiError> {
    let alert = body(payload)?;
    // An AI principal writes through its handle, exactly as in-process detectors do.
    let record = if principal.is_ai() {
        state
            .governance
            .ai_writer(principal)?
            .create_alert(alert)
            .await?
    } else {
        state.governance.create_alert(&principal, alert).await?
    };
    Ok((StatusCode::CREATED, Json(record)))
}

pub async fn detail(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertDetail>, ApiError> {
    Ok(Json(
        state
            .governance
            .alert_detail(Actor::Principal(&principal), id)
            .await?,
    ))
}

pub async fn triage(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(id): ApiPath<i64>,
    payload: Result<Json<NewTriage>, JsonRejection>,
) -> Result<(StatusCode, Json<TriageRecord>), ApiError> {
    let triage = body(payload)?;
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .governance
                .annotate_triage(&principal, id, triage)
                .await?,
        ),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    decision: AlertDecision,
    #[serde(default)]
    justification: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    expected_version: Option<i64>,
}

pub async fn decide(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(id): ApiPath<i64>,
    payload: Result<Json<DecisionBody>, JsonRejection>,
) -> Result<(StatusCode, Json<DecisionRecord>), ApiError> {
    let request = body(payload)?;
    let decision = AnalystDecision {
        decision: request.decision,
        justification: request.justification,
        severity: request.severity,
        expected_version: request.expected_version,
    };
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .governance
                .decide_alert(&principal, id, decision)
                .await?,
        ),
    ))
}
