//! The SIEM events of a triage, beside the alert they belong to: the advice, each draft
//! recommendation (pending, or decided by a person), each keyed by the alert's id. One plain
//! [`TriageEvent`] goes through the spool like an alert does; its ECS JSON form is [`TriageEvent::ecs`]
//! here, its CEF and syslog forms are in `crate::sinks::syslog::encode`, next to the alert's.
//!
//! The alert's id is the pipeline's stable id in `watch` (the alert's own `otsentry.alert_id`) and
//! the store's id, as text, in `serve` and the CLI (which also give it as `store_alert_id`). Each
//! event has a stable id of its own (`<alert>.triage`, `<alert>.draft.<n>`,
//! `<alert>.recommendation.<id>.decided`), so a SIEM de-duplicates what at-least-once delivery
//! sends twice.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::contract::{Advice, Draft};
use crate::governance::format_micros;
use crate::store::RecommendationRecord;

/// What a triage event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageAction {
    TriageAdvice,
    DraftRecommendation,
    RecommendationDecided,
}

impl TriageAction {
    pub fn name(self) -> &'static str {
        match self {
            TriageAction::TriageAdvice => "triage_advice",
            TriageAction::DraftRecommendation => "draft_recommendation",
            TriageAction::RecommendationDecided => "recommendation_decided",
        }
    }
}

/// A drafted plant change as the SIEM sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftFacts {
    /// The recommendation's id in the store; `None` where there is no store (`watch`).
    pub recommendation_id: Option<i64>,
    pub kind: String,
    pub target: String,
    pub proposed_value: String,
    pub rationale: String,
    /// `pending_human_approval`, `confirmed` or `rejected`.
    pub status: String,
    pub decided_by_principal_id: Option<i64>,
    pub decided_at: Option<String>,
    pub justification: Option<String>,
}

/// One triage event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageEvent {
    /// The event's own stable id.
    pub id: String,
    pub action: TriageAction,
    /// The alert it belongs to.
    pub alert_id: String,
    pub store_alert_id: Option<i64>,
    /// The triage annotation's id in the store.
    pub triage_id: Option<i64>,
    /// When the advice was given or the draft decided, RFC 3339.
    pub timestamp: String,
    pub advice: Option<Advice>,
    pub draft: Option<DraftFacts>,
}

/// The status a draft has before any person looked at it.
pub const PENDING: &str = "pending_human_approval";

impl TriageEvent {
    /// The advice itself.
    pub fn advice(
        alert_id: &str,
        store_alert_id: Option<i64>,
        triage_id: Option<i64>,
        advice: &Advice,
    ) -> TriageEvent {
        TriageEvent {
            id: format!("{alert_id}.triage"),
            action: TriageAction::TriageAdvice,
            alert_id: alert_id.to_string(),
            store_alert_id,
            triage_id,
            timestamp: advice.triage_timestamp.clone(),
            advice: Some(advice.clone()),
            draft: None,
        }
    }

    /// A draft of the advice where no store holds it (`watch`): pending, numbered in the advice.
    pub fn unstored_draft(alert_id: &str, index: usize, draft: &Draft, at: &str) -> TriageEvent {
        TriageEvent {
            id: format!("{alert_id}.draft.{}", index + 1),
            action: TriageAction::DraftRecommendation,
            alert_id: alert_id.to_string(),
            store_alert_id: None,
            triage_id: None,
            timestamp: at.to_string(),
            advice: None,
            draft: Some(DraftFacts {
                recommendation_id: None,
                kind: draft.kind.to_string(),
                target: draft.target.clone(),
                proposed_value: draft.proposed_value.clone(),
                rationale: draft.rationale.clone(),
                status: PENDING.to_string(),
                decided_by_principal_id: None,
                decided_at: None,
                justification: None,
            }),
        }
    }

    /// A stored recommendation: its draft while pending, a person's decision once decided.
    pub fn recommendation(record: &RecommendationRecord) -> TriageEvent {
        let store_alert_id = record.recommendation.alert_id;
        let alert_id = store_alert_id.map_or_else(|| "none".to_string(), |id| id.to_string());
        let decided_at = record.decided_at.map(format_micros);
        let (id, action) = match decided_at {
            Some(_) => (
                format!("{alert_id}.recommendation.{}.decided", record.id),
                TriageAction::RecommendationDecided,
            ),
            None => (
                format!("{alert_id}.draft.{}", record.id),
                TriageAction::DraftRecommendation,
            ),
        };
        TriageEvent {
            id,
            action,
            alert_id,
            store_alert_id,
            triage_id: None,
            timestamp: decided_at
                .clone()
                .unwrap_or_else(|| format_micros(record.created_at)),
            advice: None,
            draft: Some(DraftFacts {
                recommendation_id: Some(record.id),
                kind: record.recommendation.kind.to_string(),
                target: record.recommendation.target.clone(),
                proposed_value: record.recommendation.proposed_value.clone(),
                rationale: record.recommendation.rationale.clone(),
                status: record.status.to_string(),
                decided_by_principal_id: record.decided_by,
                decided_at,
                justification: record.justification.clone(),
            }),
        }
    }

    /// A one-line description, the ECS `message` and the CEF `msg`.
    pub fn message(&self) -> String {
        match (&self.advice, &self.draft) {
            (Some(advice), _) => format!(
                "triage advice for alert {}: {}",
                self.alert_id,
                super::record::summary(advice)
            ),
            (None, Some(draft)) => format!(
                "{} for alert {}: {} {} -> {} ({})",
                match self.action {
                    TriageAction::RecommendationDecided => "recommendation decided",
                    _ => "draft recommendation",
                },
                self.alert_id,
                draft.kind,
                draft.target,
                draft.proposed_value,
                draft.status
            ),
            (None, None) => format!("triage event for alert {}", self.alert_id),
        }
    }

    /// The event in the Elastic Common Schema (`event.kind` `enrichment` for advice, `event`
    /// for drafts), otsentry's fields under `otsentry`.
    pub fn ecs(&self) -> serde_json::Value {
        let dataset = match self.action {
            TriageAction::TriageAdvice => "otsentry.triage",
            _ => "otsentry.recommendation",
        };
        let kind = match self.action {
            TriageAction::TriageAdvice => "enrichment",
            _ => "event",
        };
        let mut otsentry = json!({
            "alert_id": self.alert_id,
            "store_alert_id": self.store_alert_id,
        });
        if let Some(triage_id) = self.triage_id {
            otsentry["triage_id"] = json!(triage_id);
        }
        if let Some(advice) = &self.advice {
            otsentry["triage"] = json!(advice);
        }
        if let Some(draft) = &self.draft {
            otsentry["recommendation_id"] = json!(draft.recommendation_id);
            otsentry["status"] = json!(draft.status);
            otsentry["kind"] = json!(draft.kind);
            otsentry["target"] = json!(draft.target);
            otsentry["proposed_value"] = json!(draft.proposed_value);
            otsentry["rationale"] = json!(draft.rationale);
            otsentry["decision"] = match &draft.decided_at {
                Some(at) => json!({
                    "decided_by_principal_id": draft.decided_by_principal_id,
                    "decided_at": at,
                    "justification": draft.justification,
                }),
                None => serde_json::Value::Null,
            };
        }
        json!({
            "@timestamp": self.timestamp,
            "message": self.message(),
            "event": {
                "kind": kind,
                "category": ["intrusion_detection"],
                "type": ["info"],
                "action": self.action.name(),
                "id": self.id,
                "dataset": dataset,
                "module": "otsentry",
            },
            "labels": {
                "llm_triage_skipped": self.advice.as_ref().and_then(|advice| advice.llm_triage_skipped).map(|reason| reason.name()),
            },
            "otsentry": otsentry,
        })
    }

    /// The ECS form as one line of JSON (no newline).
    pub fn to_json_line(&self) -> String {
        self.ecs().to_string()
    }
}

/// The events of one advice where no store holds it: the advice, then its drafts, pending.
pub fn unstored_events(alert_id: &str, advice: &Advice) -> Vec<TriageEvent> {
    let mut events = vec![TriageEvent::advice(alert_id, None, None, advice)];
    for (index, draft) in advice.drafts.iter().enumerate() {
        events.push(TriageEvent::unstored_draft(
            alert_id,
            index,
            draft,
            &advice.triage_timestamp,
        ));
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RecommendationKind;
    use crate::triage::contract::{SkipReason, Stamp};

    fn stamp() -> Stamp {
        Stamp {
            provider: "rules".into(),
            model: "offline-rules-v1".into(),
            triage_timestamp: "2026-12-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn advice_and_drafts_are_keyed_by_the_alert() {
        let mut advice = Advice::skipped(SkipReason::Timeout, "30 s passed", stamp());
        advice.drafts.push(Draft {
            kind: RecommendationKind::Setpoint,
            target: "plc-7 HR40001".into(),
            proposed_value: "55".into(),
            rationale: "restore".into(),
        });
        let events = unstored_events("00ab", &advice);
        let ids: Vec<&str> = events.iter().map(|event| event.id.as_str()).collect();
        assert_eq!(ids, ["00ab.triage", "00ab.draft.1"]);
        let ecs = events[0].ecs();
        assert_eq!(ecs["event"]["action"], "triage_advice");
        assert_eq!(ecs["otsentry"]["alert_id"], "00ab");
        assert_eq!(ecs["labels"]["llm_triage_skipped"], "timeout");
        assert_eq!(ecs["otsentry"]["triage"]["advisory_only"], true);
        let draft = events[1].ecs();
        assert_eq!(draft["event"]["dataset"], "otsentry.recommendation");
        assert_eq!(draft["otsentry"]["status"], PENDING);
        assert_eq!(draft["otsentry"]["decision"], serde_json::Value::Null);
        // The spool keeps the event as JSON and reads back the same event.
        let text = serde_json::to_string(&events[1]).unwrap();
        assert_eq!(
            serde_json::from_str::<TriageEvent>(&text).unwrap(),
            events[1]
        );
    }
}
