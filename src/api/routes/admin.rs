//! Administration routes (admin role): principals, tokens, the audit log.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use serde::Deserialize;

use super::{ApiPath, body};
use crate::api::{ApiError, AppState, Authenticated};
use crate::governance::{
    Actor, AiComponent, IssuedEnrollment, IssuedToken, Principal, PrincipalKind, Role,
};

pub async fn whoami(Authenticated(principal): Authenticated) -> Json<Principal> {
    Json(principal)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalBody {
    name: String,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    component: Option<AiComponent>,
}

/// A created principal; a person comes with the enrollment code to hand them.
#[derive(Debug, serde::Serialize)]
pub struct CreatedPrincipal {
    #[serde(flatten)]
    principal: Principal,
    #[serde(skip_serializing_if = "Option::is_none")]
    enrollment: Option<IssuedEnrollment>,
}

pub async fn create_principal(
    State(state): State<AppState>,
    Authenticated(admin): Authenticated,
    payload: Result<Json<PrincipalBody>, JsonRejection>,
) -> Result<(StatusCode, Json<CreatedPrincipal>), ApiError> {
    let request = body(payload)?;
    let kind = match (request.component, request.roles.is_empty()) {
        (Some(component), true) => PrincipalKind::Ai { component },
        (None, false) => PrincipalKind::Human {
            roles: request.roles,
        },
        (Some(_), false) => return Err(ApiError::invalid("an AI component has no roles")),
        (None, true) => {
            return Err(ApiError::invalid(
                "give roles for a person or a component for an AI",
            ));
        }
    };
    let principal = state
        .governance
        .create_principal(Actor::Principal(&admin), &request.name, kind)
        .await?;
    let enrollment = if principal.is_ai() {
        None
    } else {
        Some(
            state
                .governance
                .enroll(Actor::Principal(&admin), &principal.name)
                .await?,
        )
    };
    Ok((
        StatusCode::CREATED,
        Json(CreatedPrincipal {
            principal,
            enrollment,
        }),
    ))
}

/// A new enrollment code for a person (their earlier credentials are revoked).
pub async fn enroll(
    State(state): State<AppState>,
    Authenticated(admin): Authenticated,
    ApiPath(name): ApiPath<String>,
) -> Result<(StatusCode, Json<IssuedEnrollment>), ApiError> {
    let issued = state
        .governance
        .enroll(Actor::Principal(&admin), &name)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedeemBody {
    code: String,
    passphrase: String,
    #[serde(default)]
    valid_for_days: Option<u32>,
}

/// A person redeems their enrollment code: no bearer token, the code is the credential.
pub async fn redeem(
    State(state): State<AppState>,
    payload: Result<Json<RedeemBody>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let request = body(payload)?;
    let issued = state
        .governance
        .redeem_enrollment(&request.code, &request.passphrase, request.valid_for_days)
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    principal: String,
    #[serde(default)]
    valid_for_days: Option<u32>,
}

pub async fn issue_token(
    State(state): State<AppState>,
    Authenticated(admin): Authenticated,
    payload: Result<Json<TokenBody>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedToken>), ApiError> {
    let request = body(payload)?;
    let issued = state
        .governance
        .issue_token(
            Actor::Principal(&admin),
            &request.principal,
            request.valid_for_days,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(issued)))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Authenticated(admin): Authenticated,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state
        .governance
        .revoke_token(Actor::Principal(&admin), &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit log as JSON lines.
pub async fn audit_export(
    State(state): State<AppState>,
    Authenticated(admin): Authenticated,
) -> Result<impl IntoResponse, ApiError> {
    let lines = state
        .governance
        .audit_export(Actor::Principal(&admin))
        .await?;
    let mut text = lines.join("\n");
    text.push('\n');
    Ok(([(CONTENT_TYPE, "application/jsonl")], text))
}

pub async fn audit_verify(
    State(state): State<AppState>,
    Authenticated(admin): Authenticated,
) -> Result<Json<serde_json::Value>, ApiError> {
    let outcome = state
        .governance
        .audit_verify(
            Actor::Principal(&admin),
            &crate::audit::VerifyOptions::default(),
        )
        .await?;
    Ok(Json(match outcome {
        Ok(report) => serde_json::json!({"valid": true, "report": report}),
        Err(broken) => {
            serde_json::json!({"valid": false, "message": broken.to_string(), "break": broken})
        }
    }))
}
