//! The HTTP API driven over loopback against the real `otsentry serve` binary: the AI's limits,
//! the justification rule, two-person approvals, token failures and the JSON error shape.

mod common;

use std::path::{Path, PathBuf};

use common::server::Server;
use otsentry::governance::{Actor, AiComponent, PrincipalKind, Role};
use otsentry::store::{Store, TokenRecord};
use serde_json::json;

/// Tokens of the site's principals.
struct Site {
    _dir: tempfile::TempDir,
    db: PathBuf,
    admin: String,
    alice: String,
    lead: String,
    engineer: String,
    scorer: String,
    triage: String,
}

fn human(roles: &[&str]) -> PrincipalKind {
    PrincipalKind::Human {
        roles: roles
            .iter()
            .map(|r| Role::parse(r).expect("role"))
            .collect(),
    }
}

/// Creates the principals and tokens through the library, then closes the database.
async fn site() -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let governance = common::governance(&db, None).await;
    let mut tokens = Vec::new();
    for (name, kind) in [
        ("admin", human(&["admin"])),
        ("alice", human(&["analyst"])),
        ("sam", human(&["ot-security-lead"])),
        ("erin", human(&["ot-engineering-lead"])),
        (
            "scorer-1",
            PrincipalKind::Ai {
                component: AiComponent::Scorer,
            },
        ),
        (
            "triage-1",
            PrincipalKind::Ai {
                component: AiComponent::Triage,
            },
        ),
    ] {
        governance
            .create_principal(Actor::Local, name, kind)
            .await
            .expect("created");
        tokens.push(
            governance
                .issue_token(Actor::Local, name, Some(30))
                .await
                .expect("issued")
                .token,
        );
    }
    governance.store().close().await;
    let mut tokens = tokens.into_iter();
    let mut next = || tokens.next().expect("token");
    Site {
        admin: next(),
        alice: next(),
        lead: next(),
        engineer: next(),
        scorer: next(),
        triage: next(),
        _dir: dir,
        db,
    }
}

fn start(db: &Path) -> Server {
    Server::start(db, &common::ai_policy_path())
}

fn new_alert() -> serde_json::Value {
    json!({
        "ts": 1_700_000_000_000_000i64, "uid": "CabC1", "src": "10.0.0.5", "dst": "10.0.1.10",
        "port": 502, "protocol": "tcp", "service": "modbus", "score": -0.18,
        "reasons": ["write from a host that only ever read"], "asset_context": {"zone": "cell-1"},
        "attack_technique": "T0855", "detector": "iforest", "severity": "high"
    })
}

fn error_message(body: &serde_json::Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_ai_may_create_but_never_close_suppress_approve_or_write_setpoints() {
    let site = site().await;
    let server = start(&site.db);
    let (status, alert) = server.json("POST", "/v1/alerts", Some(&site.scorer), Some(new_alert()));
    assert_eq!(status, 201, "{alert}");
    let id = alert["id"].as_i64().expect("id");
    assert_eq!(alert["status"], "open");

    for (token, decision) in [
        (&site.scorer, "close"),
        (&site.scorer, "suppress"),
        (&site.triage, "dismiss"),
        (&site.triage, "change_severity"),
    ] {
        let (status, body) = server.json(
            "POST",
            &format!("/v1/alerts/{id}/decisions"),
            Some(token),
            Some(json!({"decision": decision, "justification": "ai says so", "severity": "low"})),
        );
        assert_eq!(status, 403, "{decision}: {body}");
        assert_eq!(body["error"]["status"], 403);
    }
    let (status, body) = server.json(
        "POST",
        "/v1/plant/setpoints",
        Some(&site.scorer),
        Some(json!({"target": "plc-1/holding/40001", "value": 80})),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        error_message(&body).contains("write to PLC setpoints"),
        "{body}"
    );
    let (status, body) = server.json("POST", "/v1/settings/threshold", Some(&site.triage), None);
    assert_eq!(status, 403, "{body}");

    let (status, request) = server.json("POST", "/v1/change-requests", Some(&site.alice), Some(json!({"action": "change detection threshold", "proposed_value": "-0.2", "reason": "too noisy on cell-1"})));
    assert_eq!(status, 201, "{request}");
    let request_id = request["id"].as_i64().expect("id");
    let (status, body) = server.json(
        "POST",
        &format!("/v1/change-requests/{request_id}/approvals"),
        Some(&site.scorer),
        Some(json!({"channel": "voice"})),
    );
    assert_eq!(status, 403, "{body}");

    // The AI's own writes still work, and a plant-changing idea becomes a draft only.
    let (status, note) = server.json("POST", &format!("/v1/alerts/{id}/triage"), Some(&site.triage), Some(json!({"recommendation": "escalate", "summary": "new writer on a PLC", "confidence": 0.8})));
    assert_eq!(status, 201, "{note}");
    let (status, draft) = server.json("POST", "/v1/recommendations", Some(&site.triage), Some(json!({"alert_id": id, "kind": "setpoint", "target": "plc-1/holding/40001", "proposed_value": "75", "rationale": "pressure trending high"})));
    assert_eq!(status, 201, "{draft}");
    assert_eq!(draft["status"], "pending_human_approval");

    // Every refusal is in the audit log, with the AI principal and the reason.
    let (status, log) = server.request("GET", "/v1/audit", Some(&site.admin), None);
    assert_eq!(status, 200);
    let denials: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .filter(|entry: &serde_json::Value| {
            entry["decision"] == "deny"
                && entry["principal"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("ai:"))
        })
        .collect();
    let actions: Vec<&str> = denials
        .iter()
        .filter_map(|entry| entry["action"].as_str())
        .collect();
    for expected in [
        "close_alert",
        "suppress_alert",
        "dismiss_alert",
        "change_severity",
        "write_setpoint",
        "change_threshold",
        "approve_change",
    ] {
        assert!(
            actions.contains(&expected),
            "no audited denial of {expected}: {actions:?}"
        );
    }
    assert!(denials.iter().all(|entry| {
        entry["policy_sha256"]
            .as_str()
            .is_some_and(|sha| sha.len() == 64)
    }));
    let (status, verdict) = server.json("GET", "/v1/audit/verify", Some(&site.admin), None);
    assert_eq!(status, 200);
    assert_eq!(verdict["valid"], true, "{verdict}");
}

#[tokio::test]
async fn dismissing_what_the_ai_said_to_dismiss_needs_a_justification() {
    let site = site().await;
    let server = start(&site.db);
    let (_, alert) = server.json("POST", "/v1/alerts", Some(&site.scorer), Some(new_alert()));
    let id = alert["id"].as_i64().expect("id");
    let (status, _) = server.json(
        "POST",
        &format!("/v1/alerts/{id}/triage"),
        Some(&site.triage),
        Some(json!({"recommendation": "dismiss", "summary": "looks like the nightly backup"})),
    );
    assert_eq!(status, 201);

    for body in [
        json!({"decision": "dismiss"}),
        json!({"decision": "dismiss", "justification": "   "}),
        json!({"decision": "close"}),
    ] {
        let (status, reply) = server.json(
            "POST",
            &format!("/v1/alerts/{id}/decisions"),
            Some(&site.alice),
            Some(body),
        );
        assert_eq!(status, 422, "{reply}");
        assert!(
            error_message(&reply).contains("needs your own written justification"),
            "{reply}"
        );
    }
    // A decision made on a stale view of the alert is a conflict, not a silent overwrite.
    let (status, stale) = server.json(
        "POST",
        &format!("/v1/alerts/{id}/decisions"),
        Some(&site.alice),
        Some(json!({"decision": "confirm", "expected_version": 7})),
    );
    assert_eq!(status, 409, "{stale}");
    let (status, decision) = server.json("POST", &format!("/v1/alerts/{id}/decisions"), Some(&site.alice), Some(json!({"decision": "dismiss", "justification": "checked with the historian team: scheduled backup job"})));
    assert_eq!(status, 201, "{decision}");
    let (status, detail) = server.json("GET", &format!("/v1/alerts/{id}"), Some(&site.alice), None);
    assert_eq!(status, 200);
    assert_eq!(detail["status"], "dismissed");
    assert_eq!(
        detail["decisions"][0]["justification"],
        "checked with the historian team: scheduled backup job"
    );
    // A dismissed alert cannot be decided again.
    let (status, _) = server.json(
        "POST",
        &format!("/v1/alerts/{id}/decisions"),
        Some(&site.alice),
        Some(json!({"decision": "confirm"})),
    );
    assert_eq!(status, 409);
    for path in ["/v1/alerts/abc", "/v1/alerts?limit=many"] {
        let (status, body) = server.json("GET", path, Some(&site.alice), None);
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(
            body["error"]["status"], 422,
            "{path}: JSON error shape: {body}"
        );
    }
    let (status, body) = server.json("GET", "/v1/alerts/999", Some(&site.alice), None);
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.json(
        "POST",
        &format!("/v1/alerts/{id}/decisions"),
        Some(&site.alice),
        Some(json!({"decision": "obliterate"})),
    );
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn a_threshold_change_needs_two_distinct_people_in_the_two_roles() {
    let site = site().await;
    let server = start(&site.db);
    let (status, request) = server.json("POST", "/v1/change-requests", Some(&site.alice), Some(json!({"action": "change detection threshold", "proposed_value": "-0.2", "reason": "false positives on cell-1"})));
    assert_eq!(status, 201, "{request}");
    let path = format!("/v1/change-requests/{}/approvals", request["id"]);

    // An analyst holds neither approver role.
    let (status, _) = server.json(
        "POST",
        &path,
        Some(&site.alice),
        Some(json!({"channel": "voice"})),
    );
    assert_eq!(status, 403);
    let (status, first) = server.json(
        "POST",
        &path,
        Some(&site.lead),
        Some(json!({"channel": "voice", "note": "called from the control room"})),
    );
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["status"], "pending");
    let (_, status_body) = server.json("GET", "/v1/governance/status", Some(&site.alice), None);
    assert!(
        status_body["detection_threshold"].is_null(),
        "threshold changed early: {status_body}"
    );

    let (status, twice) = server.json(
        "POST",
        &path,
        Some(&site.lead),
        Some(json!({"channel": "physical presence"})),
    );
    assert_eq!(status, 409, "{twice}");
    assert!(
        error_message(&twice).contains("different person"),
        "{twice}"
    );

    let (status, done) = server.json(
        "POST",
        &path,
        Some(&site.engineer),
        Some(json!({"channel": "physical presence"})),
    );
    assert_eq!(status, 201, "{done}");
    assert_eq!(done["status"], "applied");
    let roles: Vec<&str> = done["approvals"]
        .as_array()
        .expect("approvals")
        .iter()
        .filter_map(|a| a["role"].as_str())
        .collect();
    assert_eq!(roles, ["ot-security-lead", "ot-engineering-lead"]);
    let (_, status_body) = server.json("GET", "/v1/governance/status", Some(&site.alice), None);
    assert_eq!(status_body["detection_threshold"], "-0.2");
    let (status, _) = server.json(
        "POST",
        &path,
        Some(&site.engineer),
        Some(json!({"channel": "voice"})),
    );
    assert_eq!(status, 409);
}

#[tokio::test]
async fn forged_expired_and_revoked_tokens_are_refused() {
    let site = site().await;
    // An expired token, written straight into the store.
    let expired = {
        let store = otsentry::store::SqliteStore::open(&site.db)
            .await
            .expect("opens");
        let alice = store
            .principal_by_name("alice")
            .await
            .expect("query")
            .expect("alice");
        let new = otsentry::governance::token::generate().expect("token");
        store
            .insert_token(&TokenRecord {
                id: new.id,
                principal_id: alice.id,
                phc: new.phc,
                created_at: 0,
                expires_at: Some(1),
                revoked_at: None,
            })
            .await
            .expect("inserted");
        store.close().await;
        new.token
    };
    let server = start(&site.db);
    let (status, me) = server.json("GET", "/v1/whoami", Some(&site.alice), None);
    assert_eq!(status, 200);
    assert_eq!(me["name"], "alice");

    let mut forged = site.alice.clone();
    let last = forged.pop().expect("char");
    forged.push(if last == '0' { '1' } else { '0' });
    for (token, reason) in [
        (Some(forged.as_str()), "does not match"),
        (Some(expired.as_str()), "expired"),
        (Some("not-a-token"), "malformed"),
        (None, "malformed"),
    ] {
        let (status, body) = server.json("GET", "/v1/whoami", token, None);
        assert_eq!(status, 401, "{body}");
        assert!(error_message(&body).contains(reason), "{reason}: {body}");
    }

    let id = site.alice.split('_').nth(1).expect("id part");
    let (status, _) = server.json(
        "DELETE",
        &format!("/v1/tokens/{id}"),
        Some(&site.alice),
        None,
    );
    assert_eq!(status, 403, "only an admin revokes");
    let (status, _) = server.json(
        "DELETE",
        &format!("/v1/tokens/{id}"),
        Some(&site.admin),
        None,
    );
    assert_eq!(status, 204);
    let (status, body) = server.json("GET", "/v1/whoami", Some(&site.alice), None);
    assert_eq!(status, 401);
    assert!(error_message(&body).contains("revoked"), "{body}");
    // The admin adds a person over the API; the new token works at once, shown only in this reply.
    let (status, body) = server.json(
        "POST",
        "/v1/principals",
        Some(&site.lead),
        Some(json!({"name": "dave", "roles": ["analyst"]})),
    );
    assert_eq!(status, 403, "{body}");
    let (status, dave) = server.json(
        "POST",
        "/v1/principals",
        Some(&site.admin),
        Some(json!({"name": "dave", "roles": ["analyst"]})),
    );
    assert_eq!(status, 201, "{dave}");
    let (status, issued) = server.json(
        "POST",
        "/v1/tokens",
        Some(&site.admin),
        Some(json!({"principal": "dave", "valid_for_days": 1})),
    );
    assert_eq!(status, 201, "{issued}");
    let (status, me) = server.json("GET", "/v1/whoami", issued["token"].as_str(), None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["roles"][0], "analyst");
    let (status, _) = server.json("GET", "/v1/nowhere", Some(&site.admin), None);
    assert_eq!(status, 404);

    // Failures are audited once per client and interval, and at the latest at shutdown.
    assert_eq!(server.terminate(), Some(0));
    let entries = common::site::audit_entries(&site.db);
    let failures: u64 = entries
        .iter()
        .filter(|entry| entry["action"] == "authenticate" && entry["decision"] == "deny")
        .filter_map(|entry| {
            entry["reason"]
                .as_str()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert!(
        failures >= 5,
        "every failed authentication is counted in the audit log:\n{entries:#?}"
    );
}

#[tokio::test]
async fn the_server_stops_cleanly_on_sigterm() {
    let site = site().await;
    let server = start(&site.db);
    let (status, _) = server.json("GET", "/v1/whoami", Some(&site.alice), None);
    assert_eq!(status, 200);
    assert_eq!(server.terminate(), Some(0));
    let (code, out, err) =
        common::otsentry(&["audit", "verify", "--db", site.db.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out}{err}");
}
