//! Policy files: the documented shapes are accepted (block and flow style), each kind of mistake
//! is refused with the key and line named, and `otsentry policy check` explains a policy.

use std::path::PathBuf;
use std::process::Command;

use otsentry::governance::policy::{PolicyKind, parse_policy};
use otsentry::governance::review::TriggerEvent;
use otsentry::governance::{Action, PolicySet, load_policy};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/policies")
        .join(name)
}

/// Loads a fixture that must be refused and returns the error text.
fn refusal(name: &str) -> String {
    match load_policy(&fixture(name)) {
        Ok(policy) => panic!("{name} was accepted as {}", policy.kind_name()),
        Err(error) => error.to_string(),
    }
}

/// Asserts that the refusal of `name` names the line and every fragment.
fn check_refusal(name: &str, line: u32, fragments: &[&str]) {
    let message = refusal(name);
    assert!(
        message.contains(&format!("{name}:{line}:")),
        "{name}: message does not name line {line}: {message}"
    );
    for fragment in fragments {
        assert!(
            message.contains(fragment),
            "{name}: message lacks `{fragment}`: {message}"
        );
    }
}

#[test]
fn the_documented_ai_policy_is_accepted_and_typed() {
    let policy = load_policy(&fixture("ai_good.yaml")).expect("documented shape is valid");
    let PolicyKind::AiGovernance(ai) = &policy.kind else {
        panic!("wrong kind");
    };
    assert_eq!(ai.system_id, "ot-anomaly-detector-v1");
    assert_eq!(ai.effective_date.to_string(), "2026-05-03");
    let threshold = ai
        .approval_for(Action::ChangeThreshold)
        .expect("threshold rule");
    assert_eq!(threshold.minimum_approvals, 2);
    assert_eq!(threshold.approvers.len(), 2);
    assert_eq!(
        threshold.channel,
        "out-of-band (voice or physical presence)"
    );
    assert!(ai.prohibition_for(Action::WriteSetpoint).is_some());
    assert!(ai.prohibition_for(Action::SuppressAlert).is_some());
    assert!(
        ai.trigger_events
            .contains(&TriggerEvent::FalsePositiveCluster { more_than: 5 })
    );
    assert_eq!(policy.sha256.len(), 64);
}

#[test]
fn flow_style_and_block_style_mean_the_same_policy() {
    let block = load_policy(&fixture("ai_good.yaml")).expect("block style");
    let flow = load_policy(&fixture("ai_flow_style.yaml")).expect("flow style");
    let (PolicyKind::AiGovernance(block), PolicyKind::AiGovernance(flow)) =
        (&block.kind, &flow.kind)
    else {
        panic!("wrong kinds");
    };
    assert_eq!(format!("{block:?}"), format!("{flow:?}"));
}

#[test]
fn the_documented_retraining_policy_is_accepted() {
    let policy = load_policy(&fixture("retraining_good.yaml")).expect("documented shape is valid");
    let PolicyKind::Retraining(retraining) = &policy.kind else {
        panic!("wrong kind");
    };
    assert_eq!(retraining.staging_period_days, Some(3));
    assert_eq!(retraining.prohibited_conditions.len(), 3);
    assert_eq!(retraining.provenance.len(), 6);
    assert_eq!(retraining.log_fields.len(), 10);
    let ai = load_policy(&fixture("ai_good.yaml")).expect("valid");
    let set = PolicySet::from_policies(vec![ai.clone(), policy.clone()]).expect("same system");
    assert_ne!(
        set.sha256, ai.sha256,
        "the decision fingerprint covers both files"
    );
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    check_refusal("ai_unknown_key.yaml", 7, &["unknown key `ownr_email`"]);
    check_refusal("retraining_unknown_key.yaml", 19, &["log_data_sauces"]);
    check_refusal("unknown_top_level.yaml", 2, &["ai_goverance_policy"]);
}

#[test]
fn a_bad_date_is_named_with_its_key_and_line() {
    check_refusal("ai_bad_date.yaml", 5, &["effective_date", "2026-13-03"]);
}

#[test]
fn more_approvals_than_approvers_is_refused() {
    check_refusal(
        "ai_min_approvals.yaml",
        28,
        &["minimum_approvals", "1 approver"],
    );
}

#[test]
fn an_unknown_action_phrase_is_refused() {
    check_refusal(
        "ai_unknown_action.yaml",
        17,
        &["prohibited_actions", "reboot the PLC on a whim"],
    );
    check_refusal(
        "retraining_unknown_condition.yaml",
        12,
        &["condition", "full_moon"],
    );
}

#[test]
fn aliases_are_refused_by_the_budget() {
    let message = refusal("alias.yaml");
    assert!(message.contains("alias.yaml:"), "{message}");
}

#[test]
fn the_fingerprint_changes_with_any_byte() {
    let text = std::fs::read_to_string(fixture("ai_good.yaml")).expect("fixture");
    let a = parse_policy(&text, "a").expect("valid");
    let b = parse_policy(&format!("{text}\n# reviewed\n"), "b").expect("valid");
    assert_ne!(a.sha256, b.sha256);
}

fn otsentry(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(args)
        .output()
        .expect("the binary runs")
}

#[test]
fn policy_check_explains_who_may_do_what() {
    let path = fixture("ai_good.yaml");
    let output = otsentry(&["policy", "check", path.to_str().expect("utf-8 path")]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "scorer: create alert",
        "triage: annotate triage",
        "write to PLC setpoints",
        "change detection threshold: 2 approvals from distinct people holding ot-security-lead and ot-engineering-lead",
        "out-of-band (voice or physical presence)",
        "more than 5 alerts are rejected as false positives within one shift",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
}

#[test]
fn policy_check_explains_what_blocks_a_retrain() {
    let path = fixture("retraining_good.yaml");
    let output = otsentry(&[
        "policy",
        "check",
        path.to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(value["kind"], "retraining_policy");
    let explanation = value["explanation"].as_str().expect("text");
    assert!(
        explanation
            .contains("active_incident_open: Do not retrain while a security incident is open")
    );
    assert!(explanation.contains("staging for 3 day(s)"));
}

#[test]
fn policy_check_fails_with_the_line_for_a_broken_file() {
    let path = fixture("ai_bad_date.yaml");
    let output = otsentry(&["policy", "check", path.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("ai_bad_date.yaml:5: key `ai_governance_policy.effective_date`"),
        "{text}"
    );
}

/// Issue 14: a channel the code cannot verify is refused, with the list of channels it knows.
#[test]
fn r14_an_approval_channel_the_code_cannot_verify_is_refused() {
    check_refusal(
        "ai_unknown_channel.yaml",
        29,
        &[
            "human_approval_requirements.approval_channel",
            "`email` is not one otsentry can verify",
            "known channels: `physical presence`",
            "`signed ticket`",
        ],
    );
    let path = fixture("ai_unknown_channel.yaml");
    let output = otsentry(&["policy", "check", path.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(2));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("known channels"), "{text}");
    // A valid policy explains how each channel is verified.
    let output = otsentry(&["policy", "check", "policies/ai_governance_policy.yaml"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("physical presence: entered at the otsentry host's console"),
        "{text}"
    );
    assert!(text.contains("the requester cannot approve"), "{text}");
}
