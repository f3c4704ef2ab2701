//! The HTTP API driven over loopback against the real `otsentry serve` binary: the AI's limits,
//! the justification rule, two-person approvals, token failures and the JSON error shape.

mod common;

use std::path::{Path, PathBuf};

use common::server::Server;
use otsentry::governance::{Actor, AiComponent, PrincipalKind};
use serde_json::json;
use sqlx::{Connection, SqliteConnection};

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

/// Creates the principals through the library: the people enroll themselves with their own
/// passphrase, the AI components get tokens from the local administrator. Then closes the
/// database.
async fn site() -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("gov.db");
    let governance = common::governance(&db, None).await;
    let mut tokens = Vec::new();
    for (name, roles) in [
        ("admin", "admin"),
        ("alice", "analyst"),
        ("sam", "ot-security-lead"),
        ("erin", "ot-engineering-lead"),
    ] {
        tokens.push(common::enrolled(&governance, name, &[roles]).await.1);
    }
    for (name, component) in [
        ("scorer-1", AiComponent::Scorer),
        ("triage-1", AiComponent::Triage),
    ] {
        governance
            .create_principal(Actor::Local, name, PrincipalKind::Ai { component })
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
    governance.close().await;
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
        Some(json!({"channel": "voice", "code": request["confirmation_codes"][0]})),
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
        json!({"decision": "dismiss", "justification": "."}),
        json!({"decision": "close", "justification": "ok ok"}),
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
            error_message(&reply).contains("needs a justification of substance"),
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
    // The policy says out-of-band: the requester alone sees one code per approval needed.
    let codes: Vec<String> = request["confirmation_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|code| code.as_str().expect("code").to_string())
        .collect();
    assert_eq!(codes.len(), 2, "{request}");

    // An analyst holds neither approver role.
    let (status, _) = server.json(
        "POST",
        &path,
        Some(&site.alice),
        Some(json!({"channel": "out-of-band", "code": codes[0]})),
    );
    assert_eq!(status, 403);
    let (status, first) = server.json(
        "POST",
        &path,
        Some(&site.lead),
        Some(json!({"channel": "voice", "code": codes[0], "note": "called from the control room"})),
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
        Some(json!({"channel": "out-of-band", "code": codes[1]})),
    );
    assert_eq!(status, 409, "{twice}");
    assert!(
        error_message(&twice).contains("different person"),
        "{twice}"
    );
    // Physical presence is never entered through the API, and a spent code does not work twice.
    let (status, body) = server.json(
        "POST",
        &path,
        Some(&site.engineer),
        Some(json!({"channel": "physical presence"})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(error_message(&body).contains("console"), "{body}");
    let (status, body) = server.json(
        "POST",
        &path,
        Some(&site.engineer),
        Some(json!({"channel": "out-of-band", "code": codes[0]})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(error_message(&body).contains("already used"), "{body}");

    let (status, done) = server.json(
        "POST",
        &path,
        Some(&site.engineer),
        Some(json!({"channel": "out-of-band", "code": codes[1]})),
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
        Some(json!({"channel": "out-of-band", "code": codes[1]})),
    );
    assert_eq!(status, 409);
}

#[tokio::test]
async fn forged_expired_and_revoked_tokens_are_refused() {
    let site = site().await;
    // An expired token, written straight into the database file.
    let expired = {
        let mut conn = SqliteConnection::connect(&format!("sqlite://{}", site.db.display()))
            .await
            .expect("opens");
        let new = otsentry::governance::token::generate(otsentry::governance::token::TOKEN_PREFIX);
        sqlx::query(
            "INSERT INTO tokens (id, principal_id, digest, created_at, expires_at) \
             SELECT ?, id, ?, 0, 1 FROM principals WHERE name = 'alice'",
        )
        .bind(&new.id)
        .bind(&new.digest)
        .execute(&mut conn)
        .await
        .expect("inserted");
        new.text
    };
    let server = start(&site.db);
    let (status, me) = server.json("GET", "/v1/whoami", Some(&site.alice), None);
    assert_eq!(status, 200);
    assert_eq!(me["name"], "alice");

    let mut forged = site.alice.clone();
    let last = forged.pop().expect("char");
    forged.push(if last == '0' { '1' } else { '0' });
    // An id that exists with a wrong secret, an id that does not exist, an expired token and
    // junk all get the same answer: the 401 does not say which ids exist.
    let unknown_id = format!("ots_0123456789abcdef_{}", "0".repeat(64));
    let mut answers = Vec::new();
    for token in [
        Some(forged.as_str()),
        Some(unknown_id.as_str()),
        Some(expired.as_str()),
        Some("not-a-token"),
        None,
    ] {
        let (status, body) = server.json("GET", "/v1/whoami", token, None);
        assert_eq!(status, 401, "{body}");
        answers.push(body);
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );

    let admin_id = site.admin.split('_').nth(1).expect("id part");
    let (status, _) = server.json(
        "DELETE",
        &format!("/v1/tokens/{admin_id}"),
        Some(&site.alice),
        None,
    );
    assert_eq!(status, 403, "only an admin revokes another's token");
    let id = site.alice.split('_').nth(1).expect("id part");
    let (status, _) = server.json(
        "DELETE",
        &format!("/v1/tokens/{id}"),
        Some(&site.admin),
        None,
    );
    assert_eq!(status, 204);
    let (status, _) = server.json("GET", "/v1/whoami", Some(&site.alice), None);
    assert_eq!(status, 401);
    // The admin adds a person over the API and gets an enrollment code, not a credential.
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
    let code = dave["enrollment"]["code"]
        .as_str()
        .expect("enrollment code");
    let (status, refused) = server.json(
        "POST",
        "/v1/tokens",
        Some(&site.admin),
        Some(json!({"principal": "dave", "valid_for_days": 1})),
    );
    assert_eq!(
        status, 403,
        "an admin cannot mint a person's token: {refused}"
    );
    let (status, issued) = server.json(
        "POST",
        "/v1/enroll",
        None,
        Some(json!({"code": code, "passphrase": "dave chose this himself"})),
    );
    assert_eq!(status, 201, "{issued}");
    let (status, me) = server.json("GET", "/v1/whoami", issued["token"].as_str(), None);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["roles"][0], "analyst");
    let (status, again) = server.json(
        "POST",
        "/v1/enroll",
        None,
        Some(json!({"code": code, "passphrase": "mallory tries it again"})),
    );
    assert_eq!(status, 409, "a code works once: {again}");
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
        failures >= 6,
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

/// Issue 14: with two approvers approving at the same moment, every request used to risk ending
/// fully approved and never applied. Counting and applying now happen in the approval's own
/// serialised transaction.
#[tokio::test]
async fn r14_concurrent_approvers_leave_no_request_stuck() {
    let site = site().await;
    let server = start(&site.db);
    let mut requests = Vec::new();
    for n in 0..20 {
        let (status, request) = server.json("POST", "/v1/change-requests", Some(&site.alice), Some(json!({"action": "change detection threshold", "proposed_value": format!("-0.{n:02}1"), "reason": "tuning run"})));
        assert_eq!(status, 201, "{request}");
        requests.push(request);
    }
    std::thread::scope(|scope| {
        for request in &requests {
            let path = format!("/v1/change-requests/{}/approvals", request["id"]);
            for (token, code) in [(&site.lead, 0), (&site.engineer, 1)] {
                let (server, path) = (&server, path.clone());
                let code = request["confirmation_codes"][code].clone();
                scope.spawn(move || {
                    let (status, body) = server.json(
                        "POST",
                        &path,
                        Some(token),
                        Some(json!({"channel": "out-of-band", "code": code})),
                    );
                    assert_eq!(status, 201, "{body}");
                });
            }
        }
    });
    let (status, all) = server.json("GET", "/v1/change-requests", Some(&site.alice), None);
    assert_eq!(status, 200);
    let statuses: Vec<&str> = all
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|request| request["status"].as_str())
        .collect();
    assert_eq!(statuses, ["applied"; 20], "{all}");
}

/// Sends one request, tolerating a server that is gone.
fn try_post(address: &str, path: &str, token: &str, body: &serde_json::Value) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

/// Issue 14: after kill -9 in the middle of a burst there were approvals with no audit entry and
/// "allow" entries whose action never happened. Each change and its entry now commit together,
/// so whatever the moment of the kill, the log explains the state exactly.
#[tokio::test]
async fn r14_kill_9_during_a_burst_leaves_state_and_log_in_agreement() {
    let site = site().await;
    let server = start(&site.db);
    let address = server.address.clone();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        for worker in 0..3 {
            let (address, stop, site) = (&address, &stop, &site);
            scope.spawn(move || {
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Some(status) = try_post(address, "/v1/alerts", &site.scorer, &new_alert())
                    else {
                        break;
                    };
                    assert_eq!(status, 201);
                    n += 1;
                    let decision = json!({"decision": "close", "justification": format!("worker {worker} closes burst alert {n}")});
                    if try_post(address, &format!("/v1/alerts/{n}/decisions"), &site.alice, &decision)
                        .is_none()
                    {
                        break;
                    }
                }
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(400));
        // Dropping the server sends SIGKILL while requests are in flight.
        drop(server);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let (code, out, err) =
        common::otsentry(&["audit", "verify", "--db", site.db.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out}{err}");
}
