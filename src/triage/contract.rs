//! The output contract of the triage assistant, enforced in code: the shape a model must answer
//! in ([`ModelReply`], strict serde with `deny_unknown_fields`), the advice that reaches an
//! analyst ([`Advice`], whose [`Advice::validate`] states the contract), and [`enforce`], which
//! turns whatever a provider returned into advice that satisfies it, recording every rewrite.
//!
//! The rules (docs/triage.md lists them with their names): output that is not JSON, misses a
//! field or has a wrong type or value becomes `requires_investigation` with confidence 0 and the
//! first 500 characters of the raw output among the data gaps; an action that closes, suppresses,
//! mutes or ignores the alert is removed; an action that would act on the plant becomes a draft
//! pending human approval; `likely_benign` below 0.85, any class below 0.6, an escalation without
//! a valid ATT&CK for ICS technique and `likely_benign` when the alert or the answer carries
//! instruction-like text all become `requires_investigation`.

use serde::{Deserialize, Serialize};

use crate::detect::attack;
use crate::store::{RecommendationKind, TriageRecommendation};

/// What the assistant thinks of an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    LikelyBenign,
    RequiresInvestigation,
    HighPriorityEscalate,
}

impl Classification {
    pub const ALL: [Classification; 3] = [
        Classification::LikelyBenign,
        Classification::RequiresInvestigation,
        Classification::HighPriorityEscalate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Classification::LikelyBenign => "likely_benign",
            Classification::RequiresInvestigation => "requires_investigation",
            Classification::HighPriorityEscalate => "high_priority_escalate",
        }
    }

    /// The store's word for the advice (the governance layer asks for a justification when an
    /// analyst follows a `dismiss`).
    pub fn recommendation(self) -> TriageRecommendation {
        match self {
            Classification::LikelyBenign => TriageRecommendation::Dismiss,
            Classification::RequiresInvestigation => TriageRecommendation::Investigate,
            Classification::HighPriorityEscalate => TriageRecommendation::Escalate,
        }
    }
}

/// Below this a `likely_benign` becomes `requires_investigation`.
pub const BENIGN_MIN_CONFIDENCE: f64 = 0.85;
/// Below this any class becomes `requires_investigation`.
pub const MIN_CONFIDENCE: f64 = 0.6;
/// How much of a raw answer a failed triage keeps among its data gaps.
pub const RAW_EXCERPT_CHARS: usize = 500;
pub const MAX_ACTIONS: usize = 3;
pub const MAX_DATA_GAPS: usize = 10;
pub const MAX_REASONING_CHARS: usize = 2_000;
pub const MAX_ITEM_CHARS: usize = 300;
pub const MAX_PLANT_CHANGES: usize = 3;

/// A change to the plant a model proposes; it only ever becomes a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlantChange {
    pub kind: RecommendationKind,
    pub target: String,
    pub proposed_value: String,
    pub rationale: String,
}

/// The JSON object a model must answer with. The fields the code sets (`advisory_only`,
/// `human_confirmation_required`, `provider`, `model`, `triage_timestamp`) may be echoed and are
/// ignored; any other key is a contract failure.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelReply {
    pub classification: Classification,
    pub confidence: f64,
    pub reasoning: String,
    pub recommended_analyst_actions: Vec<String>,
    pub data_gaps: Vec<String>,
    /// ATT&CK for ICS technique ids the model cites (needed for an escalation).
    #[serde(default)]
    pub attack_techniques: Vec<String>,
    #[serde(default)]
    pub plant_changes: Vec<PlantChange>,
    #[serde(default, rename = "advisory_only")]
    _advisory_only: Option<serde_json::Value>,
    #[serde(default, rename = "human_confirmation_required")]
    _human_confirmation_required: Option<serde_json::Value>,
    #[serde(default, rename = "provider")]
    _provider: Option<serde_json::Value>,
    #[serde(default, rename = "model")]
    _model: Option<serde_json::Value>,
    #[serde(default, rename = "triage_timestamp")]
    _triage_timestamp: Option<serde_json::Value>,
}

/// Why a triage was not run or not used; the alert reaches the analyst queue with this tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The provider did not answer within the SLA.
    Timeout,
    /// The triage queue was deeper than its limit.
    QueueDepth,
    /// The breaker is open after repeated provider errors.
    BreakerOpen,
    /// The provider refused or failed and retrying would not help (or retries ran out).
    ProviderError,
}

impl SkipReason {
    pub fn name(self) -> &'static str {
        match self {
            SkipReason::Timeout => "timeout",
            SkipReason::QueueDepth => "queue_depth",
            SkipReason::BreakerOpen => "breaker_open",
            SkipReason::ProviderError => "provider_error",
        }
    }
}

/// One rewrite the contract forced, recorded in the annotation and the audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rewrite {
    /// The rule's name, as docs/triage.md lists it.
    pub rule: String,
    pub detail: String,
}

/// Rule names, typed once.
pub mod rules {
    pub const INVALID_OUTPUT: &str = "invalid_output";
    pub const BENIGN_LOW_CONFIDENCE: &str = "benign_below_0.85";
    pub const LOW_CONFIDENCE: &str = "confidence_below_0.6";
    pub const ESCALATION_WITHOUT_TECHNIQUE: &str = "escalation_without_valid_technique";
    pub const UNKNOWN_TECHNIQUE: &str = "unknown_technique_dropped";
    pub const PROHIBITED_ACTION: &str = "prohibited_action_removed";
    pub const PLANT_ACTION: &str = "plant_action_drafted";
    pub const PLANT_CHANGE: &str = "plant_change_drafted";
    pub const INJECTION: &str = "instruction_like_text";
    pub const TOO_MANY_ACTIONS: &str = "actions_truncated";
    pub const NO_ACTION: &str = "default_action_added";
    pub const REASONING_REFLOWED: &str = "reasoning_one_paragraph";
    pub const TEXT_TRUNCATED: &str = "text_truncated";
    pub const TOO_MANY_GAPS: &str = "data_gaps_truncated";
}

/// A draft the advice carries: it becomes a recommendation `pending_human_approval`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub kind: RecommendationKind,
    pub target: String,
    pub proposed_value: String,
    pub rationale: String,
}

/// What an analyst sees: the contract's fields, the rewrites, and the drafts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    pub classification: Classification,
    pub confidence: f64,
    pub reasoning: String,
    pub recommended_analyst_actions: Vec<String>,
    pub data_gaps: Vec<String>,
    pub attack_techniques: Vec<String>,
    /// RFC 3339, UTC.
    pub triage_timestamp: String,
    pub provider: String,
    pub model: String,
    pub advisory_only: bool,
    pub human_confirmation_required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<Rewrite>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drafts: Vec<Draft>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm_triage_skipped: Option<SkipReason>,
}

/// Who answered and when, stamped on the advice by the code, never by the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub provider: String,
    pub model: String,
    pub triage_timestamp: String,
}

/// The action a failed or skipped triage recommends.
pub const REVIEW_WITHOUT_ADVICE: &str =
    "Review the alert and its asset context without triage advice";

impl Advice {
    /// Checks the contract: every rule a published advice obeys. `Err` names the first broken one.
    pub fn validate(&self) -> Result<(), String> {
        if !self.advisory_only || !self.human_confirmation_required {
            return Err("advice must be advisory only and need a person's confirmation".into());
        }
        if !(self.confidence.is_finite() && (0.0..=1.0).contains(&self.confidence)) {
            return Err(format!("confidence {} is outside [0, 1]", self.confidence));
        }
        if self.reasoning.trim().is_empty() || self.reasoning.contains('\n') {
            return Err("reasoning must be one non-empty paragraph".into());
        }
        if !(1..=MAX_ACTIONS).contains(&self.recommended_analyst_actions.len()) {
            return Err(format!(
                "{} recommended actions, not 1 to {MAX_ACTIONS}",
                self.recommended_analyst_actions.len()
            ));
        }
        if let Some(action) = self
            .recommended_analyst_actions
            .iter()
            .find(|action| prohibited(action) || acts_on_plant(action).is_some())
        {
            return Err(format!("action `{action}` may not be recommended"));
        }
        if self.data_gaps.len() > MAX_DATA_GAPS + 1 {
            return Err("too many data gaps".into());
        }
        let benign_ok = self.classification != Classification::LikelyBenign
            || self.confidence >= BENIGN_MIN_CONFIDENCE;
        let confident = self.classification == Classification::RequiresInvestigation
            || self.confidence >= MIN_CONFIDENCE;
        let technique_ok = self.classification != Classification::HighPriorityEscalate
            || self.attack_techniques.iter().any(|id| valid_technique(id));
        if !(benign_ok && confident && technique_ok) {
            return Err(format!(
                "{} at confidence {} breaks the classification rules",
                self.classification.name(),
                self.confidence
            ));
        }
        if let Some(id) = self
            .attack_techniques
            .iter()
            .find(|id| !valid_technique(id))
        {
            return Err(format!("technique `{id}` is not in the shipped list"));
        }
        if self.llm_triage_skipped.is_some()
            && (self.classification != Classification::RequiresInvestigation
                || self.confidence != 0.0)
        {
            return Err("a skipped triage must be requires_investigation at confidence 0".into());
        }
        Ok(())
    }

    /// The advice for an alert that was not triaged.
    pub fn skipped(reason: SkipReason, detail: &str, stamp: Stamp) -> Advice {
        let mut advice = Advice::failed(
            &format!("triage skipped ({}): {detail}", reason.name()),
            None,
            stamp,
        );
        advice.llm_triage_skipped = Some(reason);
        advice.rewrites.clear();
        advice
    }

    /// The advice for output that broke the contract.
    fn failed(reason: &str, raw: Option<&str>, stamp: Stamp) -> Advice {
        let mut data_gaps = Vec::new();
        if let Some(raw) = raw {
            data_gaps.push(format!(
                "raw output: {}",
                raw.chars().take(RAW_EXCERPT_CHARS).collect::<String>()
            ));
        }
        Advice {
            classification: Classification::RequiresInvestigation,
            confidence: 0.0,
            reasoning: one_paragraph(&format!(
                "Triage failed: {reason}. The alert needs a person's review without the assistant's advice."
            )),
            recommended_analyst_actions: vec![REVIEW_WITHOUT_ADVICE.to_string()],
            data_gaps,
            attack_techniques: Vec::new(),
            triage_timestamp: stamp.triage_timestamp,
            provider: stamp.provider,
            model: stamp.model,
            advisory_only: true,
            human_confirmation_required: true,
            rewrites: vec![Rewrite {
                rule: rules::INVALID_OUTPUT.into(),
                detail: reason.to_string(),
            }],
            drafts: Vec::new(),
            llm_triage_skipped: None,
        }
    }
}

/// Whether `id` names a technique of the shipped ATT&CK for ICS list.
pub fn valid_technique(id: &str) -> bool {
    attack::technique(id.trim()).is_some()
}

/// Parses a model's answer: one JSON object, alone or inside one Markdown code fence.
pub fn parse_reply(raw: &str) -> Result<ModelReply, String> {
    let text = strip_fence(raw.trim());
    let reply: ModelReply = serde_json::from_str(text)
        .map_err(|error| format!("the output is not the contract's JSON: {error}"))?;
    if !(reply.confidence.is_finite() && (0.0..=1.0).contains(&reply.confidence)) {
        return Err(format!("confidence {} is outside [0, 1]", reply.confidence));
    }
    if reply.reasoning.trim().is_empty() {
        return Err("reasoning is empty".into());
    }
    if reply.plant_changes.len() > MAX_PLANT_CHANGES {
        return Err(format!(
            "{} plant changes, more than {MAX_PLANT_CHANGES}",
            reply.plant_changes.len()
        ));
    }
    Ok(reply)
}

fn strip_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    let rest = rest.strip_prefix("json").unwrap_or(rest);
    rest.strip_suffix("```").map_or(text, str::trim)
}

/// Turns a provider's raw answer into advice that satisfies the contract. `untrusted` is the
/// network text the alert carried (hostnames, reasons): instruction-like phrases there or in the
/// answer forbid a `likely_benign`.
pub fn enforce(raw: &str, untrusted: &[String], stamp: Stamp) -> Advice {
    let reply = match parse_reply(raw) {
        Ok(reply) => reply,
        Err(reason) => return Advice::failed(&reason, Some(raw), stamp),
    };
    let mut rewrites = Vec::new();
    let mut note = |rule: &str, detail: String| {
        rewrites.push(Rewrite {
            rule: rule.to_string(),
            detail,
        })
    };
    let mut drafts = Vec::new();
    let mut actions = Vec::new();
    for action in &reply.recommended_analyst_actions {
        let action = clip(&one_paragraph(action), MAX_ITEM_CHARS);
        if action.is_empty() {
            continue;
        }
        if prohibited(&action) {
            note(
                rules::PROHIBITED_ACTION,
                format!(
                    "removed `{action}`: the assistant never closes, suppresses, mutes or ignores an alert"
                ),
            );
        } else if let Some(kind) = acts_on_plant(&action) {
            note(
                rules::PLANT_ACTION,
                format!(
                    "`{action}` acts on the plant: drafted as a {kind} recommendation pending human approval"
                ),
            );
            drafts.push(Draft {
                kind,
                target: "see the alert".into(),
                proposed_value: action.clone(),
                rationale: action.clone(),
            });
        } else {
            actions.push(action);
        }
    }
    if actions.len() > MAX_ACTIONS {
        note(
            rules::TOO_MANY_ACTIONS,
            format!("{} actions, kept the first {MAX_ACTIONS}", actions.len()),
        );
        actions.truncate(MAX_ACTIONS);
    }
    if actions.is_empty() {
        note(
            rules::NO_ACTION,
            "no usable action was left; added the review action".into(),
        );
        actions.push(REVIEW_WITHOUT_ADVICE.to_string());
    }
    for change in reply.plant_changes.iter() {
        let draft = Draft {
            kind: change.kind,
            target: clip(&one_paragraph(&change.target), MAX_ITEM_CHARS),
            proposed_value: clip(&one_paragraph(&change.proposed_value), MAX_ITEM_CHARS),
            rationale: clip(&one_paragraph(&change.rationale), MAX_REASONING_CHARS),
        };
        note(
            rules::PLANT_CHANGE,
            format!(
                "{} on `{}` drafted pending human approval",
                draft.kind, draft.target
            ),
        );
        drafts.push(draft);
    }
    let mut reasoning = one_paragraph(&reply.reasoning);
    if reasoning != reply.reasoning.trim() && reply.reasoning.contains('\n') {
        note(
            rules::REASONING_REFLOWED,
            "the reasoning had several lines; joined into one paragraph".into(),
        );
    }
    if reasoning.chars().count() > MAX_REASONING_CHARS {
        note(
            rules::TEXT_TRUNCATED,
            format!("reasoning cut to {MAX_REASONING_CHARS} characters"),
        );
        reasoning = clip(&reasoning, MAX_REASONING_CHARS);
    }
    let mut data_gaps: Vec<String> = reply
        .data_gaps
        .iter()
        .map(|gap| clip(&one_paragraph(gap), MAX_ITEM_CHARS))
        .filter(|gap| !gap.is_empty())
        .collect();
    if data_gaps.len() > MAX_DATA_GAPS {
        note(
            rules::TOO_MANY_GAPS,
            format!(
                "{} data gaps, kept the first {MAX_DATA_GAPS}",
                data_gaps.len()
            ),
        );
        data_gaps.truncate(MAX_DATA_GAPS);
    }
    let mut techniques = Vec::new();
    for id in &reply.attack_techniques {
        let id = id.trim();
        if valid_technique(id) {
            if !techniques.iter().any(|known: &String| known == id) {
                techniques.push(id.to_string());
            }
        } else {
            note(
                rules::UNKNOWN_TECHNIQUE,
                format!(
                    "`{}` is not in the shipped ATT&CK for ICS list",
                    clip(id, 40)
                ),
            );
        }
    }
    let mut classification = reply.classification;
    let confidence = reply.confidence;
    let downgrade = Classification::RequiresInvestigation;
    if classification == Classification::LikelyBenign && confidence < BENIGN_MIN_CONFIDENCE {
        note(
            rules::BENIGN_LOW_CONFIDENCE,
            format!(
                "likely_benign at confidence {confidence} (below {BENIGN_MIN_CONFIDENCE}) became requires_investigation"
            ),
        );
        classification = downgrade;
    }
    if classification == Classification::HighPriorityEscalate && techniques.is_empty() {
        note(
            rules::ESCALATION_WITHOUT_TECHNIQUE,
            "high_priority_escalate without a valid ATT&CK for ICS technique became requires_investigation".into(),
        );
        classification = downgrade;
    }
    if classification != downgrade && confidence < MIN_CONFIDENCE {
        note(
            rules::LOW_CONFIDENCE,
            format!(
                "{} at confidence {confidence} (below {MIN_CONFIDENCE}) became requires_investigation",
                classification.name()
            ),
        );
        classification = downgrade;
    }
    if classification == Classification::LikelyBenign {
        let answer_text = std::iter::once(reply.reasoning.as_str())
            .chain(reply.recommended_analyst_actions.iter().map(String::as_str))
            .chain(reply.data_gaps.iter().map(String::as_str));
        let marker = untrusted
            .iter()
            .map(String::as_str)
            .chain(answer_text)
            .find_map(instruction_marker);
        if let Some(marker) = marker {
            note(
                rules::INJECTION,
                format!(
                    "instruction-like text (`{marker}`) in the alert's data or the answer: likely_benign became requires_investigation"
                ),
            );
            data_gaps.push(format!(
                "the alert's network text or the answer contains instruction-like text (`{marker}`); treat the advice with suspicion"
            ));
            classification = downgrade;
        }
    }
    Advice {
        classification,
        confidence,
        reasoning,
        recommended_analyst_actions: actions,
        data_gaps,
        attack_techniques: techniques,
        triage_timestamp: stamp.triage_timestamp,
        provider: stamp.provider,
        model: stamp.model,
        advisory_only: true,
        human_confirmation_required: true,
        rewrites,
        drafts,
        llm_triage_skipped: None,
    }
}

/// Collapses all whitespace runs (newlines included) into single spaces.
pub fn one_paragraph(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((cut, _)) => text[..cut].to_string(),
        None => text.to_string(),
    }
}

/// Words that, next to an alert word, make an action one the assistant may not recommend.
const PROHIBITED_VERBS: &[&str] = &[
    "close",
    "closing",
    "suppress",
    "suppressing",
    "mute",
    "muting",
    "ignore",
    "ignoring",
    "dismiss",
    "dismissing",
    "silence",
    "silencing",
    "acknowledge and close",
    "whitelist",
    "allowlist",
    "disable",
    "disregard",
    "resolve",
    "mark as benign",
    "mark it benign",
    "mark as false positive",
    "mark it as a false positive",
    "snooze",
];
const ALERT_WORDS: &[&str] = &[
    "alert",
    "alarm",
    "ticket",
    "detection",
    "finding",
    "it",
    "this",
    "rule",
    "detector",
    "notification",
];

/// Whether an action recommends closing, suppressing, muting or ignoring the alert.
pub fn prohibited(action: &str) -> bool {
    let lower = action.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    let has_verb = PROHIBITED_VERBS.iter().any(|verb| {
        if verb.contains(' ') {
            lower.contains(verb)
        } else {
            words.contains(verb)
        }
    });
    has_verb
        && (ALERT_WORDS.iter().any(|word| words.contains(word))
            || lower.contains("false positive")
            || lower.contains("benign"))
}

/// The kind of plant change an action describes, when it describes one.
pub fn acts_on_plant(action: &str) -> Option<RecommendationKind> {
    let lower = action.to_lowercase();
    let any = |needles: &[&str]| needles.iter().any(|needle| lower.contains(needle));
    if any(&[
        "setpoint",
        "set point",
        "write register",
        "write to the plc",
        "write the register",
        "change the register",
    ]) {
        Some(RecommendationKind::Setpoint)
    } else if any(&["threshold"]) {
        Some(RecommendationKind::Threshold)
    } else if any(&[
        "playbook",
        "automated response",
        "isolate the",
        "shut down",
        "shutdown the",
        "restart the plc",
        "reboot the",
    ]) {
        Some(RecommendationKind::Playbook)
    } else if any(&[
        "firewall",
        "acl",
        "block traffic",
        "block the",
        "blocklist",
        "network rule",
    ]) {
        Some(RecommendationKind::NetworkAcl)
    } else if any(&["historian config"]) {
        Some(RecommendationKind::HistorianConfig)
    } else {
        None
    }
}

/// Phrases that try to instruct a model, lower case.
const INSTRUCTION_MARKERS: &[&str] = &[
    "ignore previous",
    "ignore all previous",
    "ignore the previous",
    "ignore prior",
    "ignore your instructions",
    "disregard previous",
    "disregard the above",
    "disregard all",
    "new instructions",
    "system prompt",
    "you are now",
    "classify this as",
    "classify as benign",
    "mark this benign",
    "mark as benign",
    "as an ai",
];

/// The instruction-like phrase in `text`, if any.
pub fn instruction_marker(text: &str) -> Option<&'static str> {
    let lower = one_paragraph(&text.to_lowercase());
    INSTRUCTION_MARKERS
        .iter()
        .copied()
        .find(|marker| lower.contains(marker))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp {
        Stamp {
            provider: "test".into(),
            model: "m".into(),
            triage_timestamp: "2026-12-01T00:00:00Z".into(),
        }
    }

    fn check(raw: &str, class: Classification, rules_seen: &[&str]) {
        let advice = enforce(raw, &[], stamp());
        advice.validate().unwrap();
        assert_eq!(advice.classification, class, "{advice:#?}");
        let got: Vec<&str> = advice.rewrites.iter().map(|r| r.rule.as_str()).collect();
        assert_eq!(got, rules_seen, "{advice:#?}");
    }

    fn reply(class: &str, confidence: f64, actions: &str, techniques: &str) -> String {
        format!(
            r#"{{"classification":"{class}","confidence":{confidence},"reasoning":"r","recommended_analyst_actions":[{actions}],"data_gaps":[],"attack_techniques":[{techniques}]}}"#
        )
    }

    #[test]
    fn rules() {
        use Classification::*;
        check(
            &reply("likely_benign", 0.9, r#""Check the maintenance log""#, ""),
            LikelyBenign,
            &[],
        );
        check(
            &reply("likely_benign", 0.7, r#""Check""#, ""),
            RequiresInvestigation,
            &[rules::BENIGN_LOW_CONFIDENCE],
        );
        check(
            &reply("high_priority_escalate", 0.9, r#""Call the lead""#, ""),
            RequiresInvestigation,
            &[rules::ESCALATION_WITHOUT_TECHNIQUE],
        );
        check(
            &reply(
                "high_priority_escalate",
                0.9,
                r#""Call the lead""#,
                r#""T0855""#,
            ),
            HighPriorityEscalate,
            &[],
        );
        check(
            &reply("high_priority_escalate", 0.9, r#""Call""#, r#""T9999""#),
            RequiresInvestigation,
            &[
                rules::UNKNOWN_TECHNIQUE,
                rules::ESCALATION_WITHOUT_TECHNIQUE,
            ],
        );
        check(
            &reply("high_priority_escalate", 0.5, r#""Call""#, r#""T0855""#),
            RequiresInvestigation,
            &[rules::LOW_CONFIDENCE],
        );
        check(
            &reply("likely_benign", 0.95, r#""Close the alert""#, ""),
            LikelyBenign,
            &[rules::PROHIBITED_ACTION, rules::NO_ACTION],
        );
        check(
            &reply(
                "requires_investigation",
                0.7,
                r#""Raise the detection threshold to 0.2""#,
                "",
            ),
            RequiresInvestigation,
            &[rules::PLANT_ACTION, rules::NO_ACTION],
        );
        check(
            &reply("requires_investigation", 0.7, r#""a","b","c","d""#, ""),
            RequiresInvestigation,
            &[rules::TOO_MANY_ACTIONS],
        );
        check("not json", RequiresInvestigation, &[rules::INVALID_OUTPUT]);
        check(
            r#"{"classification":"likely_benign"}"#,
            RequiresInvestigation,
            &[rules::INVALID_OUTPUT],
        );
        check(
            &reply("likely_benign", 1.5, r#""a""#, ""),
            RequiresInvestigation,
            &[rules::INVALID_OUTPUT],
        );
    }

    #[test]
    fn prohibited_actions() {
        for action in [
            "Close the alert",
            "suppress this alert for 24h",
            "Mute the detector",
            "Ignore it",
            "Mark as false positive",
        ] {
            assert!(prohibited(action), "{action}");
        }
        for action in [
            "Check the engineering workstation",
            "Ask the vendor whether the session was planned",
            "Compare with the change calendar",
        ] {
            assert!(!prohibited(action), "{action}");
        }
    }

    #[test]
    fn failed_keeps_500_characters() {
        let raw = "x".repeat(2_000);
        let advice = enforce(&raw, &[], stamp());
        assert_eq!(advice.confidence, 0.0);
        assert_eq!(
            advice.data_gaps[0].chars().count(),
            "raw output: ".len() + RAW_EXCERPT_CHARS
        );
    }

    proptest::proptest! {
        /// Whatever a model answers in roughly the contract's shape, the advice satisfies the
        /// contract, is never more lenient than the model, and a benign verdict survives only at
        /// 0.85 or above with no prohibited action left.
        #[test]
        fn any_reply_becomes_valid_advice(
            class in 0usize..3,
            confidence in -0.5f64..1.5,
            actions in proptest::collection::vec(proptest::sample::select(vec![
                "Close the alert", "Check the work order", "Raise the detection threshold", "",
                "Ask the vendor", "ignore it", "Call the lead\n\nnow", "Mute the detector",
            ]), 0..6),
            techniques in proptest::collection::vec(proptest::sample::select(vec!["T0855", "T0999", "t0855", ""]), 0..3),
            drop_field in proptest::option::of(0usize..5),
            reasoning in "[a-z \n]{0,40}",
        ) {
            let class = Classification::ALL[class];
            let mut object = serde_json::json!({
                "classification": class,
                "confidence": confidence,
                "reasoning": reasoning,
                "recommended_analyst_actions": actions,
                "data_gaps": ["x"],
                "attack_techniques": techniques,
            });
            if let Some(index) = drop_field {
                let key = ["classification", "confidence", "reasoning", "recommended_analyst_actions", "data_gaps"][index];
                object.as_object_mut().unwrap().remove(key);
            }
            let advice = enforce(&object.to_string(), &[], stamp());
            proptest::prop_assert!(advice.validate().is_ok(), "{:?}: {:#?}", advice.validate(), advice);
            if advice.classification != class {
                proptest::prop_assert_eq!(advice.classification, Classification::RequiresInvestigation);
            }
            if advice.classification == Classification::LikelyBenign {
                proptest::prop_assert!(advice.confidence >= BENIGN_MIN_CONFIDENCE);
            }
        }
    }
}
