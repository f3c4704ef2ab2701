//! Property tests: mutated policy files are either refused with a located error or accepted with
//! their invariants intact (the fuzz target's property, run on every `cargo test`), and any
//! single tampering with an audit chain is detected.

use otsentry::audit::{AuditDraft, StoredEntry, seal, verify_chain};
use otsentry::governance::policy::{PolicyKind, parse_policy};
use proptest::prelude::*;

const AI_POLICY: &str = include_str!("../policies/ai_governance_policy.yaml");
const RETRAINING_POLICY: &str = include_str!("../policies/retraining_policy.yaml");

/// One edit of a policy text.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    ReplaceChar(usize, char),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::DeleteLine),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (
            any::<usize>(),
            prop::sample::select(vec![
                ' ', ':', '-', '"', '[', '{', 'x', '0', '\t', '#', '&', '*'
            ])
        )
            .prop_map(|(i, c)| Edit::ReplaceChar(i, c)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for edit in edits {
        let n = lines.len().max(1);
        match edit {
            Edit::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Edit::DuplicateLine(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Edit::ReplaceChar(i, c) if !lines.is_empty() => {
                let line = &mut lines[i % n];
                let chars: Vec<char> = line.chars().collect();
                if !chars.is_empty() {
                    let at = i % chars.len();
                    *line = chars
                        .iter()
                        .enumerate()
                        .map(|(k, ch)| if k == at { *c } else { *ch })
                        .collect();
                }
            }
            Edit::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            _ => {}
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn mutated_policies_are_refused_with_a_location_or_stay_valid(
        edits in prop::collection::vec(edit(), 1..4),
        retraining in any::<bool>(),
    ) {
        let base = if retraining { RETRAINING_POLICY } else { AI_POLICY };
        let text = apply(base, &edits);
        match parse_policy(&text, "mutant.yaml") {
            Err(error) => prop_assert!(error.to_string().starts_with("mutant.yaml:"), "{error}"),
            Ok(policy) => match &policy.kind {
                PolicyKind::AiGovernance(ai) => {
                    for requirement in &ai.approvals {
                        prop_assert!(requirement.minimum_approvals >= 1);
                        prop_assert!(requirement.minimum_approvals <= requirement.approvers.len());
                    }
                }
                PolicyKind::Retraining(retraining) => {
                    prop_assert!(retraining.minimum_approvals <= retraining.who_must_approve.len());
                }
            },
        }
    }
}

fn chain(n: usize) -> Vec<StoredEntry> {
    let mut rows: Vec<StoredEntry> = Vec::new();
    let mut prev = otsentry::audit::GENESIS_HASH.to_string();
    for seq in 1..=n {
        let draft = AuditDraft {
            principal: format!("human:p{seq}"),
            action: "close_alert".into(),
            resource: format!("alert:{seq}"),
            decision: if seq % 2 == 0 { "allow" } else { "deny" }.into(),
            reason: "r".into(),
            policy_sha256: "0".repeat(64),
        };
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let link = otsentry::audit::Link {
            seq,
            prev_hash: &prev,
            effects: Vec::new(),
        };
        let entry = seal(draft, link, "2026-11-23T00:00:00Z".into(), None);
        prev.clone_from(&entry.hash);
        rows.push(StoredEntry {
            row_seq: seq,
            json: entry.to_json(),
            hash: entry.hash,
        });
    }
    rows
}

/// One way to tamper with stored rows.
#[derive(Debug, Clone)]
enum Tamper {
    EditReason(usize),
    Remove(usize),
    Swap(usize, usize),
    Duplicate(usize),
}

proptest! {
    #[test]
    fn any_tampering_is_detected(n in 2usize..20, tamper in prop_oneof![
        any::<usize>().prop_map(Tamper::EditReason),
        any::<usize>().prop_map(Tamper::Remove),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Tamper::Swap(a, b)),
        any::<usize>().prop_map(Tamper::Duplicate),
    ]) {
        let mut rows = chain(n);
        prop_assert!(verify_chain(&rows, None, None).is_ok());
        match tamper {
            Tamper::EditReason(i) => {
                let row = &mut rows[i % n];
                row.json = row.json.replace("\"reason\":\"r\"", "\"reason\":\"q\"");
            }
            Tamper::Remove(i) => {
                // Removing the newest entry leaves a valid shorter chain: only the head shows it.
                let at = i % (n - 1);
                rows.remove(at);
            }
            Tamper::Swap(a, b) => {
                let (a, b) = (a % n, b % n);
                if a == b {
                    return Ok(());
                }
                let (json_a, hash_a) = (rows[a].json.clone(), rows[a].hash.clone());
                rows[a].json = rows[b].json.clone();
                rows[a].hash = rows[b].hash.clone();
                rows[b].json = json_a;
                rows[b].hash = hash_a;
            }
            Tamper::Duplicate(i) => {
                let copy = rows[i % n].clone();
                rows.insert(i % n, copy);
            }
        }
        prop_assert!(verify_chain(&rows, None, None).is_err(), "undetected {:?}", tamper);
    }
}
