//! The backtest: alerts analysts have decided (confirmed or rejected) replayed through a provider
//! under the contract, reported as a confusion matrix (analyst decision by classification), the
//! dangerous cell (alerts analysts confirmed that the assistant would have called likely benign),
//! the rewrites the contract forced, the skips, and how often analysts overrode the advice the
//! assistant gave at the time (a dismissal they confirmed, an escalation they rejected).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::context::TriageContext;
use super::contract::Classification;
use super::provider::Provider;
use super::triager::triage_one;
use crate::store::{NewRecommendation, RecommendationKind, TriageRecommendation};

/// What the analyst decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Truth {
    Confirmed,
    Rejected,
}

impl Truth {
    pub fn name(self) -> &'static str {
        match self {
            Truth::Confirmed => "confirmed",
            Truth::Rejected => "rejected",
        }
    }
}

/// One decided alert.
#[derive(Debug, Clone)]
pub struct Case {
    pub alert_id: i64,
    pub truth: Truth,
    pub context: TriageContext,
    /// What the assistant advised when the alert was live, oldest first.
    pub earlier_advice: Vec<TriageRecommendation>,
}

/// One row of the confusion matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MatrixRow {
    pub likely_benign: usize,
    pub requires_investigation: usize,
    pub high_priority_escalate: usize,
}

impl MatrixRow {
    fn add(&mut self, class: Classification) {
        match class {
            Classification::LikelyBenign => self.likely_benign += 1,
            Classification::RequiresInvestigation => self.requires_investigation += 1,
            Classification::HighPriorityEscalate => self.high_priority_escalate += 1,
        }
    }

    pub fn get(&self, class: Classification) -> usize {
        match class {
            Classification::LikelyBenign => self.likely_benign,
            Classification::RequiresInvestigation => self.requires_investigation,
            Classification::HighPriorityEscalate => self.high_priority_escalate,
        }
    }
}

/// How analysts treated the advice they were given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overrides {
    /// Decided alerts that carried advice when the analyst decided.
    pub advised: usize,
    /// Advice the analyst went against: a dismissal confirmed, an escalation rejected.
    pub overridden: usize,
    /// Recommended dismissals the analyst followed (each needed a justification).
    pub dismissals_followed: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    pub provider: String,
    pub model: String,
    pub cases: usize,
    /// Analyst decision (confirmed, rejected) by classification.
    pub matrix: BTreeMap<Truth, MatrixRow>,
    /// Ids of confirmed alerts the assistant called likely benign.
    pub dangerous: Vec<i64>,
    /// Share of cases where the assistant agreed: confirmed and not benign, rejected and benign.
    pub agreement: f64,
    /// Contract rewrites by rule.
    pub rewrites: BTreeMap<String, usize>,
    /// Skipped triages by reason.
    pub skipped: BTreeMap<String, usize>,
    pub overrides: Overrides,
    /// True when the dangerous cell is not empty: the provider's use must be reviewed.
    pub review_required: bool,
}

/// Replays the cases through the provider, one at a time, each under the SLA.
pub fn run(cases: &[Case], provider: &Arc<dyn Provider>, sla: Duration) -> BacktestReport {
    let mut matrix: BTreeMap<Truth, MatrixRow> = BTreeMap::new();
    matrix.insert(Truth::Confirmed, MatrixRow::default());
    matrix.insert(Truth::Rejected, MatrixRow::default());
    let mut dangerous = Vec::new();
    let mut rewrites: BTreeMap<String, usize> = BTreeMap::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut agreed = 0usize;
    let mut overrides = Overrides::default();
    for case in cases {
        let advice = triage_one(provider, &case.context, sla);
        let class = advice.classification;
        matrix.entry(case.truth).or_default().add(class);
        let benign = class == Classification::LikelyBenign;
        if case.truth == Truth::Confirmed && benign {
            dangerous.push(case.alert_id);
        }
        if (case.truth == Truth::Confirmed) != benign {
            agreed += 1;
        }
        for rewrite in &advice.rewrites {
            *rewrites.entry(rewrite.rule.clone()).or_default() += 1;
        }
        if let Some(reason) = advice.llm_triage_skipped {
            *skipped.entry(reason.name().to_string()).or_default() += 1;
        }
        if let Some(last) = case.earlier_advice.last() {
            overrides.advised += 1;
            match (last, case.truth) {
                (TriageRecommendation::Dismiss, Truth::Confirmed)
                | (TriageRecommendation::Escalate, Truth::Rejected) => overrides.overridden += 1,
                (TriageRecommendation::Dismiss, Truth::Rejected) => {
                    overrides.dismissals_followed += 1;
                }
                _ => {}
            }
        }
    }
    BacktestReport {
        provider: provider.name().to_string(),
        model: provider.model().to_string(),
        cases: cases.len(),
        matrix,
        review_required: !dangerous.is_empty(),
        dangerous,
        agreement: if cases.is_empty() {
            0.0
        } else {
            agreed as f64 / cases.len() as f64
        },
        rewrites,
        skipped,
        overrides,
    }
}

/// The target of the governance review a backtest opens, one per provider and model.
pub fn review_target(report: &BacktestReport) -> String {
    format!("triage provider {} ({})", report.provider, report.model)
}

/// The review a backtest opens when the provider's advice cannot be trusted as it is: the
/// dangerous cell is not empty, or the share of decided alerts it disagreed on is above
/// `max_disagreement`. It is a recommendation `pending_human_approval` (stop using the
/// provider), so a person decides, with a justification, whether to keep using it.
pub fn review(report: &BacktestReport, max_disagreement: f64) -> Option<NewRecommendation> {
    if report.cases == 0 {
        return None;
    }
    let disagreement = 1.0 - report.agreement;
    let over = disagreement > max_disagreement;
    if !(report.review_required || over) {
        return None;
    }
    let mut why = Vec::new();
    if report.review_required {
        why.push(format!(
            "it would have called {} alert(s) analysts confirmed likely_benign (alerts {})",
            report.dangerous.len(),
            report
                .dangerous
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if over {
        why.push(format!(
            "it disagreed with analysts on {:.1}% of {} decided alerts, above the {:.1}% limit",
            disagreement * 100.0,
            report.cases,
            max_disagreement * 100.0
        ));
    }
    Some(NewRecommendation {
        alert_id: None,
        kind: RecommendationKind::Other,
        target: review_target(report),
        proposed_value: "stop using this provider's advice until a person has reviewed it".into(),
        rationale: format!("Backtest: {}.", why.join("; ")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(cases: usize, agreement: f64, dangerous: Vec<i64>) -> BacktestReport {
        BacktestReport {
            provider: "openai".into(),
            model: "tiny".into(),
            cases,
            matrix: BTreeMap::new(),
            review_required: !dangerous.is_empty(),
            dangerous,
            agreement,
            rewrites: BTreeMap::new(),
            skipped: BTreeMap::new(),
            overrides: Overrides::default(),
        }
    }

    #[test]
    fn a_review_opens_on_the_dangerous_cell_or_above_the_disagreement_limit() {
        assert_eq!(review(&report(10, 0.9, vec![]), 0.2), None);
        assert_eq!(review(&report(0, 0.0, vec![]), 0.2), None);
        let dangerous = review(&report(10, 0.9, vec![4]), 0.2).unwrap();
        assert_eq!(dangerous.target, "triage provider openai (tiny)");
        assert!(
            dangerous.rationale.contains("alerts 4"),
            "{}",
            dangerous.rationale
        );
        let disagreeing = review(&report(10, 0.7, vec![]), 0.2).unwrap();
        assert!(
            disagreeing.rationale.contains("30.0% of 10"),
            "{}",
            disagreeing.rationale
        );
        assert_eq!(review(&report(10, 0.7, vec![]), 0.5), None);
    }
}
