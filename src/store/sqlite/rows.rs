//! Turning SQLite rows into records; a value the code never writes is reported as corrupt.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::super::records::*;
use super::super::{R, StoreError};
use crate::governance::principal::{AiComponent, Principal, PrincipalKind, Role};

fn corrupt(table: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        message: message.into(),
    }
}

fn text<T>(table: &'static str, value: &str, parse: impl Fn(&str) -> Option<T>) -> R<T> {
    parse(value).ok_or_else(|| corrupt(table, format!("unknown value `{value}`")))
}

pub fn principal(row: &SqliteRow) -> R<Principal> {
    let kind: String = row.try_get("kind")?;
    let kind = match kind.as_str() {
        "human" => {
            let roles: String = row.try_get("roles")?;
            let roles: Vec<Role> = serde_json::from_str(&roles)
                .map_err(|error| corrupt("principals", error.to_string()))?;
            PrincipalKind::Human { roles }
        }
        "ai" => {
            let component: Option<String> = row.try_get("component")?;
            let component = component
                .as_deref()
                .and_then(AiComponent::parse)
                .ok_or_else(|| corrupt("principals", "ai principal without a component"))?;
            PrincipalKind::Ai { component }
        }
        other => return Err(corrupt("principals", format!("unknown kind `{other}`"))),
    };
    Ok(Principal {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        kind,
    })
}

pub fn token(row: &SqliteRow) -> R<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        principal_id: row.try_get("principal_id")?,
        digest: row.try_get("digest")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

pub fn alert(row: &SqliteRow) -> R<AlertRecord> {
    let reasons: String = row.try_get("reasons")?;
    let asset_context: String = row.try_get("asset_context")?;
    let port: Option<i64> = row.try_get("port")?;
    let severity: String = row.try_get("severity")?;
    let status: String = row.try_get("status")?;
    Ok(AlertRecord {
        id: row.try_get("id")?,
        alert: NewAlert {
            ts: row.try_get("ts")?,
            uid: row.try_get("uid")?,
            src: row.try_get("src")?,
            dst: row.try_get("dst")?,
            port: port.and_then(|p| u16::try_from(p).ok()),
            protocol: row.try_get("protocol")?,
            service: row.try_get("service")?,
            score: row.try_get("score")?,
            reasons: serde_json::from_str(&reasons)
                .map_err(|error| corrupt("alerts", error.to_string()))?,
            asset_context: serde_json::from_str(&asset_context)
                .map_err(|error| corrupt("alerts", error.to_string()))?,
            attack_technique: row.try_get("attack_technique")?,
            detector: row.try_get("detector")?,
            severity: text("alerts", &severity, Severity::parse)?,
            stable_id: row.try_get("stable_id")?,
        },
        status: text("alerts", &status, AlertStatus::parse)?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        version: row.try_get("version")?,
    })
}

pub fn decision(row: &SqliteRow) -> R<DecisionRecord> {
    let decision: String = row.try_get("decision")?;
    Ok(DecisionRecord {
        id: row.try_get("id")?,
        alert_id: row.try_get("alert_id")?,
        principal_id: row.try_get("principal_id")?,
        decision: text("alert_decisions", &decision, AlertDecision::parse)?,
        justification: row.try_get("justification")?,
        created_at: row.try_get("created_at")?,
    })
}

pub fn triage(row: &SqliteRow) -> R<TriageRecord> {
    let recommendation: String = row.try_get("recommendation")?;
    Ok(TriageRecord {
        id: row.try_get("id")?,
        alert_id: row.try_get("alert_id")?,
        principal_id: row.try_get("principal_id")?,
        triage: NewTriage {
            recommendation: text(
                "triage_annotations",
                &recommendation,
                TriageRecommendation::parse,
            )?,
            summary: row.try_get("summary")?,
            confidence: row.try_get("confidence")?,
            advice: match row.try_get::<Option<String>, _>("advice")? {
                Some(text) => {
                    Some(
                        serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
                            table: "triage_annotations",
                            message: format!("advice is not JSON: {error}"),
                        })?,
                    )
                }
                None => None,
            },
        },
        created_at: row.try_get("created_at")?,
    })
}

pub fn recommendation(row: &SqliteRow) -> R<RecommendationRecord> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    Ok(RecommendationRecord {
        id: row.try_get("id")?,
        recommendation: NewRecommendation {
            alert_id: row.try_get("alert_id")?,
            kind: text("recommendations", &kind, RecommendationKind::parse)?,
            target: row.try_get("target")?,
            proposed_value: row.try_get("proposed_value")?,
            rationale: row.try_get("rationale")?,
        },
        drafted_by: row.try_get("principal_id")?,
        status: text("recommendations", &status, RecommendationStatus::parse)?,
        decided_by: row.try_get("decided_by")?,
        decided_at: row.try_get("decided_at")?,
        justification: row.try_get("justification")?,
        created_at: row.try_get("created_at")?,
    })
}

pub fn change_request(row: &SqliteRow) -> R<ChangeRequestRecord> {
    let status: String = row.try_get("status")?;
    Ok(ChangeRequestRecord {
        id: row.try_get("id")?,
        action: row.try_get("action")?,
        proposed_value: row.try_get("proposed_value")?,
        reason: row.try_get("reason")?,
        requested_by: row.try_get("requested_by")?,
        status: text("change_requests", &status, ChangeStatus::parse)?,
        created_at: row.try_get("created_at")?,
        applied_at: row.try_get("applied_at")?,
        expires_at: row.try_get("expires_at")?,
        closed_at: row.try_get("closed_at")?,
    })
}

pub fn approval(row: &SqliteRow) -> R<ApprovalRecord> {
    Ok(ApprovalRecord {
        id: row.try_get("id")?,
        request_id: row.try_get("request_id")?,
        principal_id: row.try_get("principal_id")?,
        role: row.try_get("role")?,
        channel: row.try_get("channel")?,
        evidence: row.try_get("evidence")?,
        note: row.try_get("note")?,
        created_at: row.try_get("created_at")?,
    })
}

pub fn review(row: &SqliteRow) -> R<ReviewRecord> {
    Ok(ReviewRecord {
        id: row.try_get("id")?,
        trigger_event: row.try_get("trigger_event")?,
        detail: row.try_get("detail")?,
        opened_by: row.try_get("opened_by")?,
        opened_at: row.try_get("opened_at")?,
        status: row.try_get("status")?,
    })
}

pub fn enrollment(row: &SqliteRow) -> R<EnrollmentRecord> {
    Ok(EnrollmentRecord {
        id: row.try_get("id")?,
        principal_id: row.try_get("principal_id")?,
        digest: row.try_get("digest")?,
        issued_by: row.try_get("issued_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        redeemed_at: row.try_get("redeemed_at")?,
    })
}

pub fn approval_code(row: &SqliteRow) -> R<ApprovalCodeRecord> {
    Ok(ApprovalCodeRecord {
        id: row.try_get("id")?,
        request_id: row.try_get("request_id")?,
        digest: row.try_get("digest")?,
        used_by: row.try_get("used_by")?,
    })
}

fn json_column(row: &SqliteRow, table: &'static str, column: &str) -> R<Option<serde_json::Value>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|text| {
        serde_json::from_str(&text).map_err(|error| corrupt(table, format!("{column}: {error}")))
    })
    .transpose()
}

pub fn model_version(row: &SqliteRow) -> R<ModelVersionRecord> {
    let stage: String = row.try_get("stage")?;
    let certified: Option<i64> = row.try_get("certified")?;
    Ok(ModelVersionRecord {
        id: row.try_get("id")?,
        sha256: row.try_get("sha256")?,
        parent_id: row.try_get("parent_id")?,
        path: row.try_get("path")?,
        provenance: json_column(row, "model_versions", "provenance")?.unwrap_or_default(),
        stage: ModelStage::parse(&stage)
            .ok_or_else(|| corrupt("model_versions", format!("unknown stage `{stage}`")))?,
        stage_since: row.try_get("stage_since")?,
        certification: json_column(row, "model_versions", "certification")?,
        certified: certified.map(|value| value != 0),
        registered_by: row.try_get("registered_by")?,
        registered_at: row.try_get("registered_at")?,
        stage_changed_by: row.try_get("stage_changed_by")?,
    })
}

pub fn diff_item(row: &SqliteRow) -> R<DiffItemRecord> {
    Ok(DiffItemRecord {
        id: row.try_get("id")?,
        version_id: row.try_get("version_id")?,
        against_id: row.try_get("against_id")?,
        kind: row.try_get("kind")?,
        item: row.try_get("item")?,
        acknowledged_by: row.try_get("acknowledged_by")?,
        justification: row.try_get("justification")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
    })
}
