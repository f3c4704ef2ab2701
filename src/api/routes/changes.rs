//! Routes for recommendations, plant actions (always refused), change requests and approvals,
//! review reports and the governance status.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;

use super::{ApiPath, ApiQuery, body};
use crate::api::{ApiError, AppState, Authenticated};
use crate::governance::action::approvable_phrase;
use crate::governance::{
    Action, Actor, ApprovalEvidence, ChangeRequestDetail, Channel, FiledChangeRequest,
    GovernanceStatus, Resource,
};
use crate::store::{
    ChangeRequestRecord, ChangeStatus, NewRecommendation, RecommendationRecord,
    RecommendationStatus, ReviewRecord,
};

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    status: Option<String>,
}

pub async fn draft_recommendation(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    payload: Result<Json<NewRecommendation>, JsonRejection>,
) -> Result<(StatusCode, Json<RecommendationRecord>), ApiError> {
    let draft = body(payload)?;
    let record = if principal.is_ai() {
        state
            .governance
            .ai_writer(principal)?
            .draft_recommendation(draft)
            .await?
    } else {
        return Err(ApiError::invalid(
            "recommendations are drafted by the triage assistant; people decide them",
        ));
    };
    Ok((StatusCode::CREATED, Json(record)))
}

pub async fn list_recommendations(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<Vec<RecommendationRecord>>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(
            RecommendationStatus::parse(text)
                .ok_or_else(|| ApiError::invalid(format!("unknown status `{text}`")))?,
        ),
    };
    Ok(Json(
        state
            .governance
            .list_recommendations(Actor::Principal(&principal), status)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecommendationDecision {
    decision: String,
    #[serde(default)]
    justification: String,
}

pub async fn decide_recommendation(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(id): ApiPath<i64>,
    payload: Result<Json<RecommendationDecision>, JsonRejection>,
) -> Result<Json<RecommendationRecord>, ApiError> {
    let request = body(payload)?;
    let confirm = match request.decision.as_str() {
        "confirm" => true,
        "reject" => false,
        other => {
            return Err(ApiError::invalid(format!(
                "decision `{other}` must be confirm or reject"
            )));
        }
    };
    Ok(Json(
        state
            .governance
            .decide_recommendation(&principal, id, confirm, &request.justification)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct PlantWrite {
    target: String,
    #[serde(default)]
    #[allow(dead_code)]
    value: serde_json::Value,
}

/// A direct setpoint write: the gate refuses it for everyone and audits the attempt.
pub async fn write_setpoint(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    payload: Result<Json<PlantWrite>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let request = body(payload)?;
    state
        .governance
        .attempt_plant_action(&principal, Action::WriteSetpoint, &request.target)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A direct threshold change: refused by the gate; thresholds change through change requests.
pub async fn set_threshold(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<StatusCode, ApiError> {
    let _permit = state
        .governance
        .authorize(
            Actor::Principal(&principal),
            Action::ChangeThreshold,
            &Resource::Setting(crate::governance::THRESHOLD_SETTING.into()),
        )
        .await?;
    Err(ApiError::invalid(
        "thresholds change only through an approved change request",
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequestBody {
    /// A policy phrase (`change detection threshold`) or an action name (`change_threshold`).
    action: String,
    proposed_value: String,
    reason: String,
}

pub async fn request_change(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    payload: Result<Json<ChangeRequestBody>, JsonRejection>,
) -> Result<(StatusCode, Json<FiledChangeRequest>), ApiError> {
    let request = body(payload)?;
    let action = approvable_phrase(&request.action)
        .or_else(|| {
            crate::governance::GOVERNED_CHANGES
                .iter()
                .copied()
                .find(|a| a.name() == request.action)
        })
        .ok_or_else(|| ApiError::invalid(format!("unknown action `{}`", request.action)))?;
    let record = state
        .governance
        .request_change(&principal, action, &request.proposed_value, &request.reason)
        .await?;
    Ok((StatusCode::CREATED, Json(record)))
}

pub async fn list_change_requests(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<Vec<ChangeRequestRecord>>, ApiError> {
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => Some(
            ChangeStatus::parse(text)
                .ok_or_else(|| ApiError::invalid(format!("unknown status `{text}`")))?,
        ),
    };
    Ok(Json(
        state
            .governance
            .list_change_requests(Actor::Principal(&principal), status)
            .await?,
    ))
}

pub async fn change_request(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChangeRequestDetail>, ApiError> {
    Ok(Json(
        state
            .governance
            .change_request(Actor::Principal(&principal), id)
            .await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalBody {
    /// The channel the policy names: `out-of-band` (with `code`) or `signed ticket` (with
    /// `ticket_id` and `signature`). Physical presence is entered at the console, not here.
    channel: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    ticket_id: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

pub async fn approve(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(id): ApiPath<i64>,
    payload: Result<Json<ApprovalBody>, JsonRejection>,
) -> Result<(StatusCode, Json<ChangeRequestDetail>), ApiError> {
    let request = body(payload)?;
    let channel = Channel::parse(&request.channel).ok_or_else(|| {
        ApiError::invalid(format!(
            "unknown approval channel `{}`; known channels: {}",
            request.channel,
            crate::governance::channel::known_names()
        ))
    })?;
    let missing = |field: &str| ApiError::invalid(format!("channel {channel} needs `{field}`"));
    let evidence = match channel {
        Channel::PhysicalPresence => {
            return Err(ApiError::invalid(
                "physical presence approvals are entered at the otsentry host's console (`otsentry governance approve`), never through the API",
            ));
        }
        Channel::OutOfBand => ApprovalEvidence::OutOfBand {
            code: request.code.as_deref().ok_or_else(|| missing("code"))?,
        },
        Channel::SignedTicket => ApprovalEvidence::SignedTicket {
            ticket_id: request
                .ticket_id
                .as_deref()
                .ok_or_else(|| missing("ticket_id"))?,
            signature: request
                .signature
                .as_deref()
                .ok_or_else(|| missing("signature"))?,
        },
    };
    let detail = state
        .governance
        .approve(&principal, id, evidence, request.note.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(detail)))
}

/// The requester withdraws a pending request.
pub async fn withdraw(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ChangeRequestRecord>, ApiError> {
    Ok(Json(
        state.governance.withdraw_change(&principal, id).await?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    description: String,
}

pub async fn report_false_negative(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    payload: Result<Json<ReportBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Option<ReviewRecord>>), ApiError> {
    let request = body(payload)?;
    Ok((
        StatusCode::CREATED,
        Json(
            state
                .governance
                .report_false_negative(&principal, &request.description)
                .await?,
        ),
    ))
}

pub async fn report_reconfiguration(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    payload: Result<Json<ReportBody>, JsonRejection>,
) -> Result<(StatusCode, Json<Option<ReviewRecord>>), ApiError> {
    let request = body(payload)?;
    let review = if principal.is_ai() {
        state
            .governance
            .ai_writer(principal)?
            .report_reconfiguration(&request.description)
            .await?
    } else {
        state
            .governance
            .report_reconfiguration(&principal, &request.description)
            .await?
    };
    Ok((StatusCode::CREATED, Json(review)))
}

pub async fn status(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
) -> Result<Json<GovernanceStatus>, ApiError> {
    let _permit = state
        .governance
        .authorize(
            Actor::Principal(&principal),
            Action::ReadAlerts,
            &Resource::Review,
        )
        .await?;
    Ok(Json(state.governance.status().await?))
}
