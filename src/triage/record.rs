//! Recording advice: through the triage assistant's AI handle only, as one annotation (the
//! store's recommendation word, a summary, the confidence and the whole advice as JSON, rewrites
//! included, which the audit entry's rows carry) and one draft `pending_human_approval` per plant
//! change. The handle has no method that changes status, severity or assignment.
//!
//! Also the SIEM events of a triage: the annotation and each draft, as events of their own linked
//! to the alert's id, and a person's decision on a draft.

use serde_json::json;

use super::contract::Advice;
use crate::governance::{AiAlertWriter, GovernanceError, format_micros};
use crate::store::{NewRecommendation, NewTriage, RecommendationRecord, Store, TriageRecord};

/// What one recorded triage wrote.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub annotation: TriageRecord,
    pub drafts: Vec<RecommendationRecord>,
}

/// The one-line summary an annotation shows.
pub fn summary(advice: &Advice) -> String {
    let mut text = format!(
        "{} ({:.2}): {}",
        advice.classification.name(),
        advice.confidence,
        advice.reasoning
    );
    if let Some(reason) = advice.llm_triage_skipped {
        text = format!("llm_triage_skipped: {}; {text}", reason.name());
    }
    if !advice.rewrites.is_empty() {
        let rules: Vec<&str> = advice
            .rewrites
            .iter()
            .map(|rewrite| rewrite.rule.as_str())
            .collect();
        text.push_str(&format!(" [rewritten: {}]", rules.join(", ")));
    }
    text
}

/// Writes the advice as the AI principal.
pub async fn record<S: Store>(
    writer: &AiAlertWriter<S>,
    alert_id: i64,
    advice: &Advice,
) -> Result<Recorded, GovernanceError> {
    let annotation = writer
        .annotate_triage(
            alert_id,
            NewTriage {
                recommendation: advice.classification.recommendation(),
                summary: summary(advice),
                confidence: Some(advice.confidence),
                advice: serde_json::to_value(advice).ok(),
            },
        )
        .await?;
    let mut drafts = Vec::new();
    for draft in &advice.drafts {
        drafts.push(
            writer
                .draft_recommendation(NewRecommendation {
                    alert_id: Some(alert_id),
                    kind: draft.kind,
                    target: draft.target.clone(),
                    proposed_value: draft.proposed_value.clone(),
                    rationale: draft.rationale.clone(),
                })
                .await?,
        );
    }
    Ok(Recorded { annotation, drafts })
}

/// The SIEM events for a recorded triage: the advice, then one per draft, each linked to the
/// alert by its id.
pub fn siem_events(alert_id: i64, advice: &Advice, recorded: &Recorded) -> Vec<serde_json::Value> {
    let mut events = vec![json!({
        "event": {"kind": "enrichment", "action": "triage_advice", "dataset": "otsentry.triage"},
        "otsentry": {"alert_id": alert_id, "triage_id": recorded.annotation.id, "triage": advice},
        "labels": {"llm_triage_skipped": advice.llm_triage_skipped.map(|reason| reason.name())},
    })];
    for draft in &recorded.drafts {
        events.push(draft_event(draft));
    }
    events
}

/// A draft recommendation (pending, or decided by a person) as a SIEM event of its own.
pub fn draft_event(draft: &RecommendationRecord) -> serde_json::Value {
    let decided = draft.decided_at.map(|at| {
        json!({
            "decided_by_principal_id": draft.decided_by,
            "decided_at": format_micros(at),
            "justification": draft.justification,
        })
    });
    json!({
        "event": {
            "kind": "event",
            "action": if decided.is_some() { "recommendation_decided" } else { "draft_recommendation" },
            "dataset": "otsentry.recommendation",
        },
        "otsentry": {
            "alert_id": draft.recommendation.alert_id,
            "recommendation_id": draft.id,
            "status": draft.status,
            "kind": draft.recommendation.kind,
            "target": draft.recommendation.target,
            "proposed_value": draft.recommendation.proposed_value,
            "rationale": draft.recommendation.rationale,
            "decision": decided,
        },
    })
}
