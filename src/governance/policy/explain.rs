//! Plain-words explanation of a validated policy, printed by `otsentry policy check`: who may do
//! what, what needs whose approval through which channel, and what blocks a retrain.

use std::fmt::Write;

use super::{AiGovernancePolicy, DataAccess, Policy, PolicyKind, RetrainingPolicy};
use crate::governance::gate::{AI_ALLOWED, HUMAN_OPERATOR_ACTIONS};

/// Explains a policy in plain words, one statement per line.
pub fn explain(policy: &Policy) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} for {} (sha256 {})",
        policy.kind_name(),
        policy.system_id(),
        policy.sha256
    );
    match &policy.kind {
        PolicyKind::AiGovernance(ai) => explain_ai(ai, &mut out),
        PolicyKind::Retraining(retraining) => explain_retraining(retraining, &mut out),
    }
    out
}

fn list(actions: &[crate::governance::action::Action]) -> String {
    actions
        .iter()
        .map(|action| action.name().replace('_', " "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn explain_ai(policy: &AiGovernancePolicy, out: &mut String) {
    let _ = writeln!(
        out,
        "Version {} owned by {}, in force from {}.",
        policy.version, policy.owner, policy.effective_date
    );
    let _ = writeln!(out, "\nThe AI components (scorer, triage) may:");
    for (component, actions) in AI_ALLOWED {
        let _ = writeln!(out, "  - {}: {}", component.name(), list(actions));
    }
    for source in &policy.data_sources {
        let access = match source.access {
            DataAccess::ReadOnly => "read only",
            DataAccess::WriteAlertOnly => "create alerts only",
        };
        let place = source
            .path
            .as_deref()
            .or(source.scope.as_deref())
            .unwrap_or("");
        let _ = writeln!(out, "  - data source {}: {access} {place}", source.name);
    }
    let _ = writeln!(out, "The AI may never (refused and audited):");
    for prohibition in &policy.prohibitions {
        let _ = writeln!(
            out,
            "  - {} ({})",
            prohibition.text,
            list(&prohibition.actions)
        );
    }
    let _ = writeln!(
        out,
        "  - anything not listed above; a recommendation to act on the plant or on the AI is stored as a draft pending human approval and never executed"
    );
    let _ = writeln!(
        out,
        "\nPeople holding any role may {}; the admin role manages principals and tokens and reads the audit log.",
        list(HUMAN_OPERATOR_ACTIONS)
    );
    let _ = writeln!(out, "\nActions that need human approval:");
    for requirement in &policy.approvals {
        let roles: Vec<&str> = requirement.approvers.iter().map(|r| r.as_str()).collect();
        let who = if requirement.minimum_approvals == 1 {
            format!("1 approval from a person holding {}", roles.join(" or "))
        } else if requirement.minimum_approvals == roles.len() {
            format!(
                "{} approvals from distinct people holding {}",
                requirement.minimum_approvals,
                roles.join(" and ")
            )
        } else {
            format!(
                "{} approvals from distinct people, each holding a different one of {}",
                requirement.minimum_approvals,
                roles.join(", ")
            )
        };
        let _ = writeln!(
            out,
            "  - {}: {who}, each approval entered by the approver under their own identity via {} (verified as: {}); the requester cannot approve; it takes effect only when complete",
            requirement.text,
            requirement.channel,
            requirement
                .channels
                .iter()
                .map(|channel| channel.verification())
                .collect::<Vec<_>>()
                .join("; or ")
        );
    }
    let _ = writeln!(
        out,
        "\nReviews: {} from {}; a review opens early when:",
        policy.review_frequency.name(),
        policy.effective_date
    );
    for trigger in &policy.trigger_events {
        let _ = writeln!(out, "  - {}", trigger.describe());
    }
}

fn explain_retraining(policy: &RetrainingPolicy, out: &mut String) {
    let names = |roles: &[crate::governance::principal::Role]| {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "A retrain may be requested by: {}.",
        names(&policy.who_can_request)
    );
    let _ = writeln!(
        out,
        "It needs {} approval(s) from: {}{}.",
        policy.minimum_approvals,
        names(&policy.who_must_approve),
        if policy.approval_must_precede_retrain {
            ", given before the retrain starts"
        } else {
            "; a pending request may run before them (approval_must_precede_retrain: false), and such a run is audited and recorded as run before approval"
        }
    );
    let _ = writeln!(out, "\nA retrain is blocked while:");
    for condition in &policy.prohibited_conditions {
        let _ = writeln!(out, "  - {}: {}", condition.name, condition.description);
    }
    let _ = writeln!(out, "\nEvery retrain must record:");
    for (name, requirement) in &policy.provenance {
        let status = if requirement.required {
            "required"
        } else {
            "optional"
        };
        let _ = writeln!(out, "  - {}: {status}", name.replace('_', " "));
    }
    let _ = writeln!(
        out,
        "Retrain events are logged to {} with fields: {}.",
        policy.retrain_events_log,
        policy.log_fields.join(", ")
    );
    let _ = writeln!(out, "\nAfter a retrain:");
    for (name, requirement) in &policy.validations {
        let status = if requirement.required {
            "required"
        } else {
            "optional"
        };
        let note = requirement
            .note
            .as_deref()
            .map(|note| format!(" ({note})"))
            .unwrap_or_default();
        let _ = writeln!(out, "  - {}: {status}{note}", name.replace('_', " "));
    }
    if let Some(days) = policy.staging_period_days {
        let _ = writeln!(
            out,
            "  - the new model stays in staging for {days} day(s) before production"
        );
    }
}
