//! Bad input over the API and the terminal (issue 14), against the real `otsentry serve`: a
//! reference to a missing alert is a 422 (never a 500), `confidence`, `asset_context` and token
//! lifetimes are range-checked, and control characters an AI principal stores come back as data
//! over the API but escaped on every terminal output.

mod common;

use common::server::Server;
use common::site::site;
use serde_json::json;

fn start(site: &common::site::Site) -> Server {
    Server::start(&site.db, &common::ai_policy_path())
}

fn alert(src: &str) -> serde_json::Value {
    json!({
        "ts": 1_700_000_000_000_000i64, "src": src, "dst": "10.0.1.10", "port": 502,
        "service": "modbus", "score": -0.18, "reasons": ["write from a host that only ever read"],
        "asset_context": {"zone": "cell-1"}, "attack_technique": "T0855", "detector": "iforest",
        "severity": "high"
    })
}

#[tokio::test]
async fn a_recommendation_for_a_missing_alert_is_422_not_500() {
    let site = site().await;
    let server = start(&site);
    let (status, body) = server.json(
        "POST",
        "/v1/recommendations",
        Some(&site.triage),
        Some(json!({"alert_id": 999_999, "kind": "setpoint", "target": "plc-1/holding/40001", "proposed_value": "75", "rationale": "pressure trending high"})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("does not exist")),
        "{body}"
    );
}

#[tokio::test]
async fn confidence_and_asset_context_are_checked_as_documented() {
    let site = site().await;
    let server = start(&site);
    let (status, created) = server.json(
        "POST",
        "/v1/alerts",
        Some(&site.scorer),
        Some(alert("10.0.0.5")),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    for confidence in [json!(1.5), json!(-0.1), json!(1e300)] {
        let (status, body) = server.json(
            "POST",
            &format!("/v1/alerts/{id}/triage"),
            Some(&site.triage),
            Some(json!({"recommendation": "investigate", "summary": "odd writer", "confidence": confidence})),
        );
        assert_eq!(status, 422, "{confidence}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("from 0 to 1")),
            "{body}"
        );
    }
    let (status, body) = server.json(
        "POST",
        &format!("/v1/alerts/{id}/triage"),
        Some(&site.triage),
        Some(json!({"recommendation": "investigate", "summary": "odd writer", "confidence": 1.0})),
    );
    assert_eq!(status, 201, "{body}");
    for context in [
        json!("cell-1"),
        json!(["cell-1"]),
        json!(7),
        serde_json::Value::Null,
    ] {
        let mut bad = alert("10.0.0.6");
        bad["asset_context"] = context.clone();
        let (status, body) = server.json("POST", "/v1/alerts", Some(&site.scorer), Some(bad));
        assert_eq!(status, 422, "{context}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("JSON object")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn token_lifetimes_are_range_checked_instead_of_overflowing() {
    let site = site().await;
    let server = start(&site);
    let (status, body) = server.json(
        "POST",
        "/v1/tokens",
        Some(&site.admin),
        Some(json!({"principal": "scorer-1", "valid_for_days": 150_000_000u32})),
    );
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("1 to 3650 days")),
        "{body}"
    );
    drop(server);

    let db = site.db.to_str().unwrap();
    let policy = common::ai_policy_path();
    let (code, _, stderr) = common::otsentry(&[
        "token",
        "create",
        "scorer-1",
        "--days",
        "150000000",
        "--db",
        db,
        "--policy",
        policy.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("150000000") && stderr.contains("1..=3650"),
        "{stderr}"
    );
}

/// Text that would clear the screen, move the cursor home, ring the bell and reverse the
/// reading order on a terminal that received it raw.
const HOSTILE: &str = "\u{1b}[2J\u{1b}[H\u{7}10.0.0.5\u{9b}1;1H\u{202e}evil";

fn assert_terminal_safe(output: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\u{202e}'] {
        assert!(
            !output.contains(c),
            "raw {c:?} reached the terminal: {output:?}"
        );
    }
}

#[tokio::test]
async fn a_scorer_cannot_clear_the_analysts_screen_through_alert_list() {
    let site = site().await;
    let server = start(&site);
    let mut hostile = alert(HOSTILE);
    hostile["service"] = json!(format!("modbus{HOSTILE}"));
    hostile["attack_technique"] = json!(format!("T0855{HOSTILE}"));
    let (status, created) = server.json("POST", "/v1/alerts", Some(&site.scorer), Some(hostile));
    assert_eq!(status, 201, "{created}");
    let (status, review) = server.json(
        "POST",
        "/v1/reviews/reconfigurations",
        Some(&site.scorer),
        Some(json!({"description": format!("new PLC {HOSTILE}")})),
    );
    assert_eq!(status, 201, "{review}");
    // Stored as data: the API gives back exactly what was sent.
    let id = created["id"].as_i64().expect("id");
    let (status, detail) = server.json("GET", &format!("/v1/alerts/{id}"), Some(&site.alice), None);
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["src"], HOSTILE, "{detail}");
    drop(server);

    let db = site.db.to_str().unwrap();
    let policy = common::ai_policy_path();
    let policy = policy.to_str().unwrap();
    for args in [
        vec!["alert", "list", "--db", db, "--policy", policy],
        vec![
            "alert", "list", "--db", db, "--policy", policy, "--format", "json",
        ],
        vec!["governance", "status", "--db", db, "--policy", policy],
        vec![
            "governance",
            "status",
            "--db",
            db,
            "--policy",
            policy,
            "--format",
            "json",
        ],
        vec!["audit", "export", "--db", db],
    ] {
        let (code, stdout, stderr) = common::otsentry(&args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert_terminal_safe(&stdout);
        if !args.contains(&"json") && args[0] != "audit" {
            assert!(stdout.contains("\\u{1b}[2J"), "{args:?}: {stdout}");
        }
    }
    // The JSON forms keep their value: parsed back, the text is the one stored.
    let (_, stdout, _) = common::otsentry(&[
        "alert", "list", "--db", db, "--policy", policy, "--format", "json",
    ]);
    let alerts: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(alerts[0]["src"], HOSTILE);
}
