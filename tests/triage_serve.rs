//! `otsentry serve --triage` (issue 13): a real server on loopback pre-classifies the stored open
//! alerts that have no advice yet, in the background, as the triage assistant: with the offline
//! rules, and with a loopback stand-in for the OpenAI-compatible and the Anthropic APIs. Each
//! advice is one audited annotation by the AI principal, drafts stay `pending_human_approval`,
//! nothing changes an alert's status, severity or version, a decided alert is left alone, and
//! no alert is triaged twice.

mod common;

use std::time::{Duration, Instant};

use common::fake_llm::{Api, Behaviour, FakeApi};
use common::server::Server;
use common::site::{Site, audit_entries, site};
use otsentry::governance::{Actor, AnalystDecision};
use otsentry::store::{AlertDecision, AlertRecord};
use serde_json::{Value, json};

/// Three alerts stored by the scorer; alice rejects the first before the server starts.
fn stored_alerts(site: &Site) -> Vec<AlertRecord> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let governance = common::governance(&site.db, None).await;
        let principals = governance.list_principals(Actor::Local).await.unwrap();
        let named = |name: &str| {
            principals
                .iter()
                .find(|principal| principal.name == name)
                .unwrap()
                .clone()
        };
        let writer = governance.ai_writer(named("scorer-1")).unwrap();
        let mut alerts = Vec::new();
        for (n, hostname) in [(1, "hmi-2"), (2, "plc-7"), (3, "eng-ws")] {
            alerts.push(
                writer
                    .create_alert(common::sample_alert(n, hostname))
                    .await
                    .unwrap(),
            );
        }
        governance
            .decide_alert(
                &named("alice"),
                alerts[0].id,
                AnalystDecision {
                    decision: AlertDecision::Reject,
                    justification: Some("the engineer's planned change, ticket 4411".into()),
                    severity: None,
                    expected_version: None,
                },
            )
            .await
            .unwrap();
        governance.close().await;
        alerts
    })
}

/// Waits until every alert in `ids` carries a triage note.
fn wait_for_notes(server: &Server, token: &str, ids: &[i64]) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let details: Vec<Value> = ids
            .iter()
            .map(|id| {
                let (status, detail) =
                    server.json("GET", &format!("/v1/alerts/{id}"), Some(token), None);
                assert_eq!(status, 200, "{detail}");
                detail
            })
            .collect();
        if details
            .iter()
            .all(|detail| !detail["triage"].as_array().unwrap().is_empty())
        {
            return details;
        }
        assert!(
            Instant::now() < deadline,
            "no triage within 20 s: {details:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What every triaged alert must show, whatever the provider said.
fn check_advisory(detail: &Value, triage_principal_id: &Value, provider: &str) -> Value {
    assert_eq!(detail["status"], "open", "advice never changes the status");
    assert_eq!(detail["severity"], "high", "nor the severity: {detail}");
    assert_eq!(detail["version"], 1, "nor anything else of the alert");
    let notes = detail["triage"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "triaged once: {notes:#?}");
    let note = &notes[0];
    assert_eq!(&note["principal_id"], triage_principal_id);
    let advice = note["advice"].clone();
    assert_eq!(advice["advisory_only"], true);
    assert_eq!(advice["human_confirmation_required"], true);
    assert_eq!(advice["provider"], provider, "{advice}");
    advice
}

fn principal_id(server: &Server, token: &str) -> Value {
    let (status, me) = server.json("GET", "/v1/whoami", Some(token), None);
    assert_eq!(status, 200, "{me}");
    me["id"].clone()
}

#[test]
fn serve_triages_stored_alerts_with_the_offline_rules() {
    let site = tokio::runtime::Runtime::new().unwrap().block_on(site());
    let alerts = stored_alerts(&site);
    let server = Server::start_with(
        &site.db,
        &common::ai_policy_path(),
        &[
            "--triage",
            "--triage-every",
            "0.2",
            "--triage-as",
            "triage-1",
        ],
    );
    let open: Vec<i64> = alerts[1..].iter().map(|alert| alert.id).collect();
    let details = wait_for_notes(&server, &site.alice, &open);
    let triage_id = principal_id(&server, &site.triage);
    for detail in &details {
        let advice = check_advisory(detail, &triage_id, "rules");
        assert_eq!(advice["model"], "offline-rules-v1");
    }
    // A later alert is triaged by a later pass; passes in between triage nobody twice.
    let (status, late) = server.json(
        "POST",
        "/v1/alerts",
        Some(&site.scorer),
        Some(serde_json::to_value(common::sample_alert(4, "rtu-1")).unwrap()),
    );
    assert_eq!(status, 201, "{late}");
    let late_id = late["id"].as_i64().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let mut all = open.clone();
    all.push(late_id);
    for detail in wait_for_notes(&server, &site.alice, &all) {
        check_advisory(&detail, &triage_id, "rules");
    }
    // The decided alert is not pre-classified.
    let (_, decided) = server.json(
        "GET",
        &format!("/v1/alerts/{}", alerts[0].id),
        Some(&site.alice),
        None,
    );
    assert_eq!(decided["status"], "rejected");
    assert_eq!(decided["triage"], json!([]));
    // The status endpoint counts what was recorded; an unauthenticated caller gets nothing.
    let (status, state) = server.json("GET", "/v1/triage/status", Some(&site.alice), None);
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["provider"], "rules");
    assert_eq!(state["recorded_total"], 3, "{state}");
    assert_eq!(state["record_errors_total"], 0);
    assert_eq!(state["triager"]["breaker"], "closed");
    let (status, _) = server.json("GET", "/v1/triage/status", None, None);
    assert_eq!(status, 401);
    drop(server);
    // Each advice is an audit entry by the triage assistant.
    let annotations = audit_entries(&site.db)
        .into_iter()
        .filter(|entry| entry["action"] == "annotate_triage")
        .collect::<Vec<_>>();
    assert_eq!(annotations.len(), 3, "{annotations:#?}");
    for entry in &annotations {
        assert_eq!(entry["decision"], "applied", "{entry}");
        assert!(
            entry["effects"][0]["row"]["advice"]
                .as_str()
                .unwrap()
                .contains("advisory_only")
        );
        assert_eq!(entry["principal"], "ai:triage-1", "{entry}");
    }
}

#[test]
fn serve_without_triage_has_no_triage_status_and_a_bad_config_is_named() {
    let site = tokio::runtime::Runtime::new().unwrap().block_on(site());
    let server = Server::start(&site.db, &common::ai_policy_path());
    let (status, body) = server.json("GET", "/v1/triage/status", Some(&site.alice), None);
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("--triage"), "{body}");
    drop(server);
    let config = site.dir.path().join("triage.yaml");
    std::fs::write(&config, "triage:\n  provider: openai\n  model: m\n").unwrap();
    let (code, _, stderr) = common::otsentry(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        site.db.to_str().unwrap(),
        "--policy",
        common::ai_policy_path().to_str().unwrap(),
        "--triage",
        config.to_str().unwrap(),
    ]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("needs an endpoint"), "{stderr}");
    let (code, _, stderr) = common::otsentry(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        site.db.to_str().unwrap(),
        "--policy",
        common::ai_policy_path().to_str().unwrap(),
        "--triage",
        "--triage-as",
        "alice",
    ]);
    assert_ne!(code, Some(0));
    assert!(stderr.contains("not the triage assistant"), "{stderr}");
}

/// A model answer that asks to close the alert and to change a setpoint, at high confidence.
fn pushy_reply() -> String {
    json!({
        "classification": "likely_benign",
        "confidence": 0.95,
        "reasoning": "Planned firmware work by the vendor.",
        "recommended_analyst_actions": ["Close the alert", "Check the work order"],
        "data_gaps": [],
        "plant_changes": [{"kind": "setpoint", "target": "plc-7 HR40001", "proposed_value": "55", "rationale": "restore the value"}],
    })
    .to_string()
}

#[test]
fn serve_triages_through_loopback_openai_and_anthropic_servers() {
    // The child server reads the key from this variable; only this test sets it.
    // SAFETY: set before any thread of this test reads the environment; the variable's name is
    // used by nothing else in this binary.
    unsafe { std::env::set_var("OTSENTRY_TEST_TRIAGE_KEY", "sk-test-key") };
    for (api, provider) in [(Api::OpenAi, "openai"), (Api::Anthropic, "anthropic")] {
        let site = tokio::runtime::Runtime::new().unwrap().block_on(site());
        let alerts = stored_alerts(&site);
        let fake = FakeApi::start(
            api,
            std::sync::Arc::new(|_| Behaviour::Model(pushy_reply())),
        );
        let config = site.dir.path().join("triage.yaml");
        std::fs::write(
            &config,
            format!(
                "triage:\n  provider: {provider}\n  model: test-model\n  endpoint: {}\n  api_key_env: OTSENTRY_TEST_TRIAGE_KEY\n  sla_seconds: 5\n",
                fake.endpoint()
            ),
        )
        .unwrap();
        let server = Server::start_with(
            &site.db,
            &common::ai_policy_path(),
            &[
                "--triage",
                config.to_str().unwrap(),
                "--triage-every",
                "0.2",
                "--triage-as",
                "triage-1",
            ],
        );
        let open: Vec<i64> = alerts[1..].iter().map(|alert| alert.id).collect();
        let triage_id = principal_id(&server, &site.triage);
        for detail in wait_for_notes(&server, &site.alice, &open) {
            let advice = check_advisory(&detail, &triage_id, provider);
            assert_eq!(advice["model"], "test-model");
            assert_eq!(advice["classification"], "likely_benign", "{advice}");
            let actions = advice["recommended_analyst_actions"].to_string();
            assert!(!actions.to_lowercase().contains("close"), "{actions}");
            let rules = advice["rewrites"].to_string();
            assert!(rules.contains("prohibited_action_removed"), "{rules}");
        }
        assert_eq!(fake.count(), 2, "{provider}: one call per open alert");
        // The setpoint idea is a draft per alert, pending a person.
        let (status, drafts) = server.json("GET", "/v1/recommendations", Some(&site.alice), None);
        assert_eq!(status, 200, "{drafts}");
        let drafts = drafts.as_array().unwrap();
        assert_eq!(drafts.len(), 2, "{drafts:#?}");
        for draft in drafts {
            assert_eq!(draft["status"], "pending_human_approval");
            assert_eq!(draft["drafted_by"], triage_id);
            assert!(open.contains(&draft["alert_id"].as_i64().unwrap()));
        }
        let requests = fake.requests.lock().unwrap();
        let (head, body) = &requests[0];
        match api {
            Api::Anthropic => assert!(head.to_lowercase().contains("x-api-key: sk-test-key")),
            Api::OpenAi => assert!(head.to_lowercase().contains("bearer sk-test-key")),
        }
        assert!(body.contains("plc-7") || body.contains("eng-ws"), "{body}");
    }
}
