//! Governance rules in the library: the gate's decision table, the AI handle, recommendations
//! that nothing executes, and the review triggers (false-positive cluster, false negative,
//! reconfiguration, retrain).

mod common;

use otsentry::governance::{
    Action, Actor, AiComponent, AnalystDecision, ApprovalEvidence, GovernanceConfig,
    GovernanceError, Principal, PrincipalKind, Resource, Role, Verdict, decide,
};
use otsentry::store::{
    AlertDecision, NewAlert, NewRecommendation, NewTriage, RecommendationKind, Severity,
    TriageRecommendation,
};

fn person(roles: &[&str]) -> Principal {
    Principal {
        id: 1,
        name: "p".into(),
        kind: PrincipalKind::Human {
            roles: roles
                .iter()
                .map(|r| Role::parse(r).expect("role"))
                .collect(),
        },
    }
}

fn ai(component: AiComponent) -> Principal {
    Principal {
        id: 2,
        name: "ai".into(),
        kind: PrincipalKind::Ai { component },
    }
}

/// Asserts the gate's verdict for one case.
fn check(principal: &Principal, action: Action, resource: Resource, expected: Verdict) {
    let decision = decide(&common::policies(), principal, action, &resource);
    assert_eq!(
        decision.verdict,
        expected,
        "{} {action} {resource}: {}",
        principal.audit_name(),
        decision.reason
    );
    assert!(!decision.reason.is_empty());
}

#[test]
fn the_gate_decides_from_the_policy() {
    use Verdict::{Allow, Deny};
    let scorer = ai(AiComponent::Scorer);
    let triage = ai(AiComponent::Triage);
    let analyst = person(&["analyst"]);
    let lead = person(&["ot-security-lead"]);
    let admin = person(&["admin"]);
    let threshold = Resource::ChangeRequest(1, Action::ChangeThreshold);

    check(&scorer, Action::CreateAlert, Resource::AlertQueue, Allow);
    check(&scorer, Action::AnnotateTriage, Resource::Alert(1), Deny);
    check(&triage, Action::AnnotateTriage, Resource::Alert(1), Allow);
    check(
        &triage,
        Action::DraftRecommendation,
        Resource::Plant("plc".into()),
        Allow,
    );
    for action in [
        Action::CloseAlert,
        Action::DismissAlert,
        Action::SuppressAlert,
        Action::ChangeSeverity,
        Action::ConfirmAlert,
        Action::ReadAudit,
    ] {
        check(&scorer, action, Resource::Alert(1), Deny);
        check(&triage, action, Resource::Alert(1), Deny);
    }
    for action in [
        Action::WriteSetpoint,
        Action::WriteHistorianConfig,
        Action::ModifyNetworkAcl,
        Action::TriggerPlaybook,
        Action::ChangeThreshold,
        Action::RetrainModel,
    ] {
        check(&scorer, action, Resource::Plant("plc".into()), Deny);
        check(&analyst, action, Resource::Plant("plc".into()), Deny);
        check(&lead, action, Resource::Plant("plc".into()), Deny);
    }
    check(&triage, Action::ApproveChange, threshold.clone(), Deny);
    check(&analyst, Action::ApproveChange, threshold.clone(), Deny);
    check(&lead, Action::ApproveChange, threshold.clone(), Allow);
    check(
        &person(&["ot-engineering-lead"]),
        Action::ApproveChange,
        threshold.clone(),
        Allow,
    );
    check(
        &person(&["ot-engineering-lead"]),
        Action::ApproveChange,
        Resource::ChangeRequest(2, Action::RetrainModel),
        Deny,
    );
    check(&analyst, Action::CloseAlert, Resource::Alert(1), Allow);
    check(&analyst, Action::RequestChange, threshold, Allow);
    check(&admin, Action::CloseAlert, Resource::Alert(1), Deny);
    check(
        &admin,
        Action::ManagePrincipals,
        Resource::Principal("x".into()),
        Allow,
    );
    check(
        &analyst,
        Action::ManagePrincipals,
        Resource::Principal("x".into()),
        Deny,
    );
}

#[test]
fn a_prohibited_action_is_refused_with_the_policy_line() {
    let decision = decide(
        &common::policies(),
        &ai(AiComponent::Scorer),
        Action::SuppressAlert,
        &Resource::Alert(1),
    );
    assert!(
        decision.reason.contains("close or suppress SIEM alerts"),
        "{}",
        decision.reason
    );
}

fn alert() -> NewAlert {
    NewAlert {
        ts: 1_700_000_000_000_000,
        uid: None,
        src: "10.0.0.5".into(),
        dst: "10.0.1.10".into(),
        port: Some(20000),
        protocol: Some("tcp".into()),
        service: Some("dnp3".into()),
        score: -0.05,
        reasons: vec![],
        asset_context: serde_json::json!({}),
        attack_technique: None,
        detector: "iforest".into(),
        severity: Severity::Medium,
        stable_id: None,
    }
}

#[tokio::test]
async fn reviews_open_on_the_policys_trigger_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let governance = common::governance(&dir.path().join("gov.db"), None).await;
    let scorer = governance
        .create_principal(
            Actor::Local,
            "scorer-1",
            PrincipalKind::Ai {
                component: AiComponent::Scorer,
            },
        )
        .await
        .expect("scorer");
    let analyst = governance
        .create_principal(
            Actor::Local,
            "alice",
            PrincipalKind::Human {
                roles: vec![Role::parse("analyst").expect("role")],
            },
        )
        .await
        .expect("alice");
    let writer = governance.ai_writer(scorer).expect("ai handle");
    assert!(
        governance.ai_writer(analyst.clone()).is_err(),
        "a person gets no AI handle"
    );

    // Five rejections in one shift are within the policy; the sixth opens a review, once.
    for n in 0..7 {
        let record = writer.create_alert(alert()).await.expect("alert");
        let reject = AnalystDecision {
            decision: AlertDecision::Reject,
            justification: None,
            severity: None,
            expected_version: None,
        };
        governance
            .decide_alert(&analyst, record.id, reject)
            .await
            .expect("rejected");
        let reviews = governance.status().await.expect("status").open_reviews;
        let expected = usize::from(n >= 5);
        assert_eq!(
            reviews.len(),
            expected,
            "after {} rejections: {reviews:?}",
            n + 1
        );
    }

    governance
        .report_false_negative(&analyst, "RTU-7 firmware change went unalerted")
        .await
        .expect("reported");
    writer
        .report_reconfiguration("new PLC 10.0.2.20 in segment cell-2")
        .await
        .expect("reported");
    writer
        .report_reconfiguration("new PLC 10.0.2.20 in segment cell-2")
        .await
        .expect("deduplicated");
    let status = governance.status().await.expect("status");
    let triggers: Vec<&str> = status
        .open_reviews
        .iter()
        .map(|review| review.trigger_event.as_str())
        .collect();
    assert_eq!(
        triggers,
        [
            "false_positive_cluster",
            "confirmed_false_negative",
            "major_reconfiguration"
        ]
    );
    assert_eq!(status.next_review_date.len(), 10);
}

#[tokio::test]
async fn a_retrain_opens_a_review_once_its_approval_is_complete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ticketing = common::ticket_key();
    let governance = common::governance_with(
        &dir.path().join("gov.db"),
        None,
        GovernanceConfig {
            ticket_key: Some(ticketing.verifying_key()),
            ..GovernanceConfig::default()
        },
    )
    .await;
    let (analyst, _) = common::enrolled(&governance, "alice", &["analyst"]).await;
    let (lead, _) = common::enrolled(&governance, "sam", &["ot-security-lead"]).await;
    let filed = governance
        .request_change(
            &analyst,
            Action::RetrainModel,
            "2026-10-01..2026-11-01",
            "quarterly refresh",
        )
        .await
        .expect("request");
    assert!(
        governance
            .status()
            .await
            .expect("status")
            .open_reviews
            .is_empty()
    );
    let signature = common::sign_ticket(&ticketing, &filed.request, "SEC-4411");
    let detail = governance
        .approve(
            &lead,
            filed.request.id,
            ApprovalEvidence::SignedTicket {
                ticket_id: "SEC-4411",
                signature: &signature,
            },
            None,
        )
        .await
        .expect("approved");
    assert_eq!(detail.request.status.as_str(), "applied");
    let reviews = governance.status().await.expect("status").open_reviews;
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0].trigger_event, "model_retrain");
}

#[tokio::test]
async fn recommendations_wait_for_a_person_and_execute_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let governance = common::governance(&dir.path().join("gov.db"), None).await;
    let triage = governance
        .create_principal(
            Actor::Local,
            "triage-1",
            PrincipalKind::Ai {
                component: AiComponent::Triage,
            },
        )
        .await
        .expect("triage");
    let analyst = governance
        .create_principal(
            Actor::Local,
            "alice",
            PrincipalKind::Human {
                roles: vec![Role::parse("analyst").expect("role")],
            },
        )
        .await
        .expect("alice");
    let writer = governance.ai_writer(triage).expect("handle");
    let draft = writer
        .draft_recommendation(NewRecommendation {
            alert_id: None,
            kind: RecommendationKind::Threshold,
            target: "iforest".into(),
            proposed_value: "-0.25".into(),
            rationale: "most alerts this week were backups".into(),
        })
        .await
        .expect("drafted");
    assert_eq!(draft.status.as_str(), "pending_human_approval");
    let refused = governance
        .decide_recommendation(&analyst, draft.id, true, "  ")
        .await;
    assert!(
        matches!(refused, Err(GovernanceError::Invalid(_))),
        "{refused:?}"
    );
    let decided = governance
        .decide_recommendation(&analyst, draft.id, true, "agreed; raising a change request")
        .await
        .expect("decided");
    assert_eq!(decided.status.as_str(), "confirmed");
    assert_eq!(decided.decided_by, Some(analyst.id));
    // Confirming a threshold recommendation changes no threshold: only approvals do.
    assert_eq!(
        governance
            .status()
            .await
            .expect("status")
            .detection_threshold,
        None
    );
    let again = governance
        .decide_recommendation(&analyst, draft.id, false, "changed my mind after all")
        .await;
    assert!(
        matches!(again, Err(GovernanceError::Conflict(_))),
        "{again:?}"
    );

    let alert_writer_refused = writer
        .annotate_triage(
            999,
            NewTriage {
                recommendation: TriageRecommendation::Dismiss,
                summary: "x".into(),
                confidence: None,
                advice: None,
            },
        )
        .await;
    assert!(
        matches!(alert_writer_refused, Err(GovernanceError::NotFound(_))),
        "{alert_writer_refused:?}"
    );
}

#[test]
fn the_retraining_policy_decides_who_may_request_a_retrain() {
    let files = vec![
        otsentry::governance::load_policy(&common::ai_policy_path()).expect("valid"),
        otsentry::governance::load_policy(&common::repo_path("policies/retraining_policy.yaml"))
            .expect("valid"),
    ];
    let policies = otsentry::governance::PolicySet::from_policies(files).expect("compatible");
    let retrain = Resource::ChangeRequest(0, Action::RetrainModel);
    let analyst = decide(
        &policies,
        &person(&["analyst"]),
        Action::RequestChange,
        &retrain,
    );
    assert_eq!(analyst.verdict, Verdict::Deny, "{}", analyst.reason);
    let security_analyst = decide(
        &policies,
        &person(&["ot-security-analyst"]),
        Action::RequestChange,
        &retrain,
    );
    assert_eq!(
        security_analyst.verdict,
        Verdict::Allow,
        "{}",
        security_analyst.reason
    );
    // Without a retraining policy, any operational role may ask.
    let ai_only = decide(
        &common::policies(),
        &person(&["analyst"]),
        Action::RequestChange,
        &retrain,
    );
    assert_eq!(ai_only.verdict, Verdict::Allow);
}
