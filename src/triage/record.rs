//! Recording advice: through the triage assistant's AI handle only, as one annotation (the
//! store's recommendation word, a summary, the confidence and the whole advice as JSON, rewrites
//! included, which the audit entry's rows carry) and one draft `pending_human_approval` per plant
//! change. The handle has no method that changes status, severity or assignment.
//!
//! Also the SIEM events of a triage: the annotation and each draft, as events of their own linked
//! to the alert's id, and a person's decision on a draft.

use super::contract::Advice;
use super::event::TriageEvent;
use crate::governance::{AiAlertWriter, GovernanceError};
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
pub fn siem_events(alert_id: i64, advice: &Advice, recorded: &Recorded) -> Vec<TriageEvent> {
    let mut events = vec![TriageEvent::advice(
        &alert_id.to_string(),
        Some(alert_id),
        Some(recorded.annotation.id),
        advice,
    )];
    events.extend(recorded.drafts.iter().map(TriageEvent::recommendation));
    events
}

/// A draft recommendation (pending, or decided by a person) as a SIEM event of its own.
pub fn draft_event(draft: &RecommendationRecord) -> serde_json::Value {
    TriageEvent::recommendation(draft).ecs()
}
