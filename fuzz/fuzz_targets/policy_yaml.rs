//! Fuzzes the policy reader: any input is either refused with a located error or accepted as a
//! policy whose checked invariants hold, and reading the same text twice gives the same policy.

#![no_main]

use libfuzzer_sys::fuzz_target;
use otsentry::governance::policy::{PolicyError, PolicyKind, explain, parse_policy};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_policy(text, "fuzz") {
        Err(PolicyError::Read { .. }) => panic!("parsing text never reads files"),
        Err(error) => assert!(
            error.to_string().starts_with("fuzz:"),
            "error without origin: {error}"
        ),
        Ok(policy) => {
            let again = parse_policy(text, "fuzz").expect("deterministic");
            assert_eq!(policy.sha256, again.sha256);
            assert_eq!(format!("{:?}", policy.kind), format!("{:?}", again.kind));
            match &policy.kind {
                PolicyKind::AiGovernance(ai) => {
                    for requirement in &ai.approvals {
                        assert!(requirement.minimum_approvals >= 1);
                        assert!(requirement.minimum_approvals <= requirement.approvers.len());
                    }
                }
                PolicyKind::Retraining(retraining) => {
                    assert!(retraining.minimum_approvals >= 1);
                    assert!(retraining.minimum_approvals <= retraining.who_must_approve.len());
                }
            }
            assert!(explain(&policy).contains(&policy.sha256));
        }
    }
});
