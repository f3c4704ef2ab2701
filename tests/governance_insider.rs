//! Issue 14 (https://github.com/otsentry/otsentry/issues/14), governance against a determined
//! insider, in the library over a real SQLite file: refused changes are audited as refused,
//! separation of duties, enrollment, verified approval channels, withdrawal and expiry, and
//! justifications of substance.

mod common;

use std::path::Path;

use otsentry::governance::{
    Action, Actor, AiComponent, AnalystDecision, ApprovalEvidence, Governance, GovernanceConfig,
    GovernanceError, Principal, PrincipalKind, verify_store,
};
use otsentry::store::{
    AlertDecision, NewAlert, NewTriage, Severity, SqliteStore, Store, TriageRecommendation,
};
use sqlx::{Connection, Executor, SqliteConnection};

fn alert() -> NewAlert {
    NewAlert {
        ts: 1_700_000_000_000_000,
        uid: Some("C1".into()),
        src: "10.0.0.5".into(),
        dst: "10.0.1.10".into(),
        port: Some(502),
        protocol: Some("tcp".into()),
        service: Some("modbus".into()),
        score: -0.12,
        reasons: vec!["write from a host that only ever read".into()],
        asset_context: serde_json::json!({"zone": "cell-1"}),
        attack_technique: Some("T0855".into()),
        detector: "iforest".into(),
        severity: Severity::High,
        stable_id: None,
    }
}

fn decision(kind: AlertDecision, justification: Option<&str>) -> AnalystDecision {
    AnalystDecision {
        decision: kind,
        justification: justification.map(str::to_string),
        severity: None,
        expected_version: None,
    }
}

async fn ai(governance: &Governance<SqliteStore>, name: &str, component: AiComponent) -> Principal {
    governance
        .create_principal(Actor::Local, name, PrincipalKind::Ai { component })
        .await
        .expect("created")
}

/// The audit log's entries as JSON values, read from the file.
async fn entries(db: &Path) -> Vec<serde_json::Value> {
    let store = SqliteStore::open(db).await.expect("opens");
    let rows = store.audit_entries().await.expect("rows");
    store.close().await;
    rows.iter()
        .map(|row| serde_json::from_str(&row.json).expect("json"))
        .collect()
}

struct Site {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    governance: Governance<SqliteStore>,
    ticketing: ed25519_dalek::SigningKey,
    alice: Principal,
    sam: Principal,
    erin: Principal,
    scorer: Principal,
}

async fn site() -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let ticketing = common::ticket_key();
    let governance = common::governance_with(
        &db,
        None,
        GovernanceConfig {
            ticket_key: Some(ticketing.verifying_key()),
            ..GovernanceConfig::default()
        },
    )
    .await;
    let (alice, _) = common::enrolled(&governance, "alice", &["analyst"]).await;
    let (sam, _) = common::enrolled(&governance, "sam", &["ot-security-lead"]).await;
    let (erin, _) = common::enrolled(&governance, "erin", &["ot-engineering-lead"]).await;
    let scorer = ai(&governance, "scorer-1", AiComponent::Scorer).await;
    Site {
        _dir: dir,
        db,
        governance,
        ticketing,
        alice,
        sam,
        erin,
        scorer,
    }
}

#[tokio::test]
async fn r14_a_close_refused_for_a_stale_version_is_audited_as_refused() {
    let site = site().await;
    let writer = site.governance.ai_writer(site.scorer.clone()).expect("ai");
    let created = writer.create_alert(alert()).await.expect("alert");
    let stale = AnalystDecision {
        expected_version: Some(7),
        ..decision(
            AlertDecision::Close,
            Some("closing after the site visit today"),
        )
    };
    let refused = site
        .governance
        .decide_alert(&site.alice, created.id, stale)
        .await;
    assert!(
        matches!(refused, Err(GovernanceError::Conflict(_))),
        "{refused:?}"
    );
    site.governance.close().await;
    let log = entries(&site.db).await;
    let closes: Vec<&serde_json::Value> = log
        .iter()
        .filter(|entry| entry["action"] == "close_alert")
        .collect();
    assert_eq!(closes.len(), 1, "one entry per attempt: {closes:?}");
    assert_eq!(closes[0]["decision"], "refuse", "{}", closes[0]);
    assert!(
        closes[0]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("changed since version 7")),
        "{}",
        closes[0]
    );
    assert!(
        closes[0].get("effects").is_none(),
        "a refusal wrote nothing"
    );
    let created_entry = log
        .iter()
        .find(|entry| entry["action"] == "create_alert")
        .expect("creation audited");
    assert_eq!(created_entry["decision"], "applied");
    assert_eq!(created_entry["effects"][0]["table"], "alerts");
}

#[tokio::test]
async fn r14_the_requester_cannot_approve_their_own_change() {
    let site = site().await;
    // Sam could approve a retrain, but not the one he asked for.
    let filed = site
        .governance
        .request_change(
            &site.sam,
            Action::RetrainModel,
            "2026-10..2026-11",
            "refresh",
        )
        .await
        .expect("filed");
    let signature = common::sign_ticket(&site.ticketing, &filed.request, "SEC-1");
    let evidence = ApprovalEvidence::SignedTicket {
        ticket_id: "SEC-1",
        signature: &signature,
    };
    let own = site
        .governance
        .approve(&site.sam, filed.request.id, evidence, None)
        .await;
    assert!(
        matches!(&own, Err(GovernanceError::Denied(reason)) if reason.contains("separation of duties")),
        "{own:?}"
    );
    let detail = site
        .governance
        .change_request(Actor::Local, filed.request.id)
        .await
        .expect("detail");
    assert_eq!(detail.request.status.as_str(), "pending");
    assert!(detail.approvals.is_empty());
}

#[tokio::test]
async fn r14_nobody_mints_a_working_credential_for_another_person() {
    let site = site().await;
    let (admin, admin_token) = common::enrolled(&site.governance, "root", &["admin"]).await;
    // Neither the admin role nor the database file's owner can issue a person's token.
    for actor in [Actor::Principal(&admin), Actor::Local] {
        let refused = site.governance.issue_token(actor, "sam", Some(1)).await;
        assert!(
            matches!(&refused, Err(GovernanceError::Denied(reason)) if reason.contains("enrollment code")),
            "{refused:?}"
        );
    }
    // An AI component's token is the admin's to issue; a person issues their own.
    site.governance
        .issue_token(Actor::Principal(&admin), "scorer-1", Some(1))
        .await
        .expect("the admin issues the scorer's token");
    let own = site
        .governance
        .issue_token(Actor::Principal(&site.sam), "sam", Some(1))
        .await
        .expect("sam issues his own");
    assert_eq!(
        site.governance
            .authenticate(&own.token)
            .await
            .expect("works")
            .name,
        "sam"
    );
    // The admin can re-enroll sam, which locks sam's credentials out (so sam notices), but the
    // admin never sees a credential of sam's: the code only becomes one when redeemed.
    let enrollment = site
        .governance
        .enroll(Actor::Principal(&admin), "sam")
        .await
        .expect("issued");
    assert!(site.governance.authenticate(&own.token).await.is_err());
    assert!(
        site.governance
            .console_login("sam", &common::passphrase_of("sam"))
            .await
            .is_err(),
        "re-enrollment clears the old passphrase"
    );
    assert!(
        site.governance
            .authenticate(&enrollment.code)
            .await
            .is_err()
    );
    let redeemed = site
        .governance
        .redeem_enrollment(&enrollment.code, "sam's brand new passphrase", None)
        .await
        .expect("redeemed");
    assert_eq!(
        site.governance
            .authenticate(&redeemed.token)
            .await
            .expect("works")
            .name,
        "sam"
    );
    let twice = site
        .governance
        .redeem_enrollment(&enrollment.code, "mallory's passphrase here", None)
        .await;
    assert!(
        matches!(twice, Err(GovernanceError::Conflict(_))),
        "{twice:?}"
    );
    assert!(
        site.governance.authenticate(&admin_token).await.is_ok(),
        "the admin's own token is untouched"
    );
}

#[tokio::test]
async fn r14_each_channel_is_verified_not_recorded() {
    let site = site().await;
    let filed = site
        .governance
        .request_change(&site.alice, Action::ChangeThreshold, "-0.2", "backup noise")
        .await
        .expect("filed");
    let id = filed.request.id;
    assert_eq!(filed.confirmation_codes.len(), 2);
    // "out-of-band (voice or physical presence)": a signed ticket is not one of them.
    let signature = common::sign_ticket(&site.ticketing, &filed.request, "SEC-2");
    let wrong_channel = site
        .governance
        .approve(
            &site.sam,
            id,
            ApprovalEvidence::SignedTicket {
                ticket_id: "SEC-2",
                signature: &signature,
            },
            None,
        )
        .await;
    assert!(
        matches!(&wrong_channel, Err(GovernanceError::Invalid(reason)) if reason.contains("not accepted")),
        "{wrong_channel:?}"
    );
    let made_up = site
        .governance
        .approve(
            &site.sam,
            id,
            ApprovalEvidence::OutOfBand { code: "123456" },
            None,
        )
        .await;
    assert!(
        matches!(made_up, Err(GovernanceError::Invalid(_))),
        "{made_up:?}"
    );
    site.governance
        .approve(
            &site.sam,
            id,
            ApprovalEvidence::OutOfBand {
                code: &filed.confirmation_codes[0],
            },
            Some("read back on the phone"),
        )
        .await
        .expect("out-of-band approval");
    // Physical presence: erin signs in at the console with her own passphrase; someone else's
    // console sign-in does not count for her.
    assert!(
        site.governance
            .console_login("erin", "not erin's passphrase")
            .await
            .is_err()
    );
    let sams_console = site
        .governance
        .console_login("sam", &common::passphrase_of("sam"))
        .await
        .expect("sam signs in");
    let borrowed = site
        .governance
        .approve(
            &site.erin,
            id,
            ApprovalEvidence::PhysicalPresence(&sams_console),
            None,
        )
        .await;
    assert!(
        matches!(borrowed, Err(GovernanceError::Invalid(_))),
        "{borrowed:?}"
    );
    let console = site
        .governance
        .console_login("erin", &common::passphrase_of("erin"))
        .await
        .expect("erin signs in");
    let detail = site
        .governance
        .approve(
            &site.erin,
            id,
            ApprovalEvidence::PhysicalPresence(&console),
            None,
        )
        .await
        .expect("in-person approval");
    assert_eq!(detail.request.status.as_str(), "applied");
    let channels: Vec<&str> = detail
        .approvals
        .iter()
        .map(|approval| approval.channel.as_str())
        .collect();
    assert_eq!(channels, ["out-of-band", "physical presence"]);

    // A signed ticket must verify against the ticketing key, for this very request.
    let retrain = site
        .governance
        .request_change(
            &site.alice,
            Action::RetrainModel,
            "2026-10..2026-11",
            "refresh",
        )
        .await
        .expect("filed");
    for (ticket, signature) in [
        ("SEC-3", signature.as_str()),
        ("SEC-3", "00"),
        (
            "SEC-4",
            &common::sign_ticket(&site.ticketing, &retrain.request, "SEC-3"),
        ),
    ] {
        let forged = site
            .governance
            .approve(
                &site.sam,
                retrain.request.id,
                ApprovalEvidence::SignedTicket {
                    ticket_id: ticket,
                    signature,
                },
                None,
            )
            .await;
        assert!(
            matches!(forged, Err(GovernanceError::Invalid(_))),
            "{forged:?}"
        );
    }
    let good = common::sign_ticket(&site.ticketing, &retrain.request, "SEC-3");
    let applied = site
        .governance
        .approve(
            &site.sam,
            retrain.request.id,
            ApprovalEvidence::SignedTicket {
                ticket_id: "SEC-3",
                signature: &good,
            },
            None,
        )
        .await
        .expect("signed ticket approval");
    assert_eq!(applied.request.status.as_str(), "applied");
    assert_eq!(
        applied.approvals[0].evidence.as_deref(),
        Some("ticket SEC-3, signature verified")
    );
}

#[tokio::test]
async fn r14_a_request_can_be_withdrawn_by_its_requester_and_expires() {
    let site = site().await;
    let filed = site
        .governance
        .request_change(&site.alice, Action::ChangeThreshold, "-0.3", "noise")
        .await
        .expect("filed");
    let not_mine = site
        .governance
        .withdraw_change(&site.sam, filed.request.id)
        .await;
    assert!(
        matches!(not_mine, Err(GovernanceError::Denied(_))),
        "{not_mine:?}"
    );
    let withdrawn = site
        .governance
        .withdraw_change(&site.alice, filed.request.id)
        .await
        .expect("withdrawn");
    assert_eq!(withdrawn.status.as_str(), "withdrawn");
    let late = site
        .governance
        .approve(
            &site.sam,
            filed.request.id,
            ApprovalEvidence::OutOfBand {
                code: &filed.confirmation_codes[0],
            },
            None,
        )
        .await;
    assert!(
        matches!(late, Err(GovernanceError::Conflict(_))),
        "{late:?}"
    );

    // A request whose time ran out expires, audited, and takes no more approvals.
    let stale = site
        .governance
        .request_change(&site.alice, Action::ChangeThreshold, "-0.4", "noise")
        .await
        .expect("filed");
    let mut conn = SqliteConnection::connect(&format!("sqlite://{}", site.db.display()))
        .await
        .expect("opens");
    conn.execute(
        sqlx::query("UPDATE change_requests SET expires_at = 1 WHERE id = ?")
            .bind(stale.request.id),
    )
    .await
    .expect("backdated");
    let status = site.governance.status().await.expect("status");
    assert_eq!(status.pending_change_requests, 0);
    let expired = site
        .governance
        .approve(
            &site.sam,
            stale.request.id,
            ApprovalEvidence::OutOfBand {
                code: &stale.confirmation_codes[0],
            },
            None,
        )
        .await;
    assert!(
        matches!(&expired, Err(GovernanceError::Conflict(reason)) if reason.contains("expired")),
        "{expired:?}"
    );
    site.governance.close().await;
    let log = entries(&site.db).await;
    assert!(
        log.iter().any(|entry| entry["action"] == "expire_change"
            && entry["principal"] == "system:governance"
            && entry["decision"] == "applied"),
        "the expiry is audited"
    );
    assert!(
        log.iter()
            .any(|entry| entry["action"] == "withdraw_change" && entry["decision"] == "applied")
    );
}

#[tokio::test]
async fn r14_every_dismissal_needs_a_justification_of_substance() {
    let site = site().await;
    let writer = site.governance.ai_writer(site.scorer.clone()).expect("ai");
    let triage = ai(&site.governance, "triage-1", AiComponent::Triage).await;
    let triage = site.governance.ai_writer(triage).expect("ai");
    // Without any AI note, a close still needs reasons.
    let quiet = writer.create_alert(alert()).await.expect("alert");
    for text in [
        None,
        Some("."),
        Some("ok"),
        Some("fine fine"),
        Some("           x"),
    ] {
        let refused = site
            .governance
            .decide_alert(&site.alice, quiet.id, decision(AlertDecision::Close, text))
            .await;
        assert!(
            matches!(&refused, Err(GovernanceError::Invalid(reason)) if reason.contains("justification of substance")),
            "{text:?}: {refused:?}"
        );
    }
    // A later AI note never lifts what an earlier one required.
    let noisy = writer.create_alert(alert()).await.expect("alert");
    for recommendation in [
        TriageRecommendation::Dismiss,
        TriageRecommendation::Escalate,
    ] {
        triage
            .annotate_triage(
                noisy.id,
                NewTriage {
                    recommendation,
                    summary: "advice".into(),
                    confidence: None,
                    advice: None,
                },
            )
            .await
            .expect("noted");
    }
    let refused = site
        .governance
        .decide_alert(
            &site.alice,
            noisy.id,
            decision(AlertDecision::Dismiss, Some(".")),
        )
        .await;
    assert!(
        matches!(&refused, Err(GovernanceError::Invalid(reason)) if reason.contains("recommended dismissing")),
        "{refused:?}"
    );
    site.governance
        .decide_alert(
            &site.alice,
            noisy.id,
            decision(
                AlertDecision::Dismiss,
                Some("confirmed with the historian team: nightly backup"),
            ),
        )
        .await
        .expect("dismissed");
}

#[tokio::test]
async fn r14_the_log_explains_every_row_written_through_governance() {
    let site = site().await;
    let writer = site.governance.ai_writer(site.scorer.clone()).expect("ai");
    let created = writer.create_alert(alert()).await.expect("alert");
    site.governance
        .decide_alert(
            &site.alice,
            created.id,
            decision(
                AlertDecision::Close,
                Some("maintenance window, work order 4411"),
            ),
        )
        .await
        .expect("closed");
    let filed = site
        .governance
        .request_change(&site.alice, Action::ChangeThreshold, "-0.2", "noise")
        .await
        .expect("filed");
    for (approver, code) in [(&site.sam, 0), (&site.erin, 1)] {
        site.governance
            .approve(
                approver,
                filed.request.id,
                ApprovalEvidence::OutOfBand {
                    code: &filed.confirmation_codes[code],
                },
                None,
            )
            .await
            .expect("approved");
    }
    let store = SqliteStore::open(&site.db).await.expect("opens");
    let report = verify_store(&store, &Default::default())
        .await
        .expect("reads")
        .expect("every row explained");
    assert!(report.entries > 10);
}
