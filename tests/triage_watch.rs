//! `otsentry watch --triage` (issue 13) through the real binary on real files: every opened
//! alert reaches the SIEM file sink, then its triage event, keyed by the alert's id; with a slow
//! provider and a queue of one, the alerts still all go out at once and those beyond the queue
//! are tagged `llm_triage_skipped: queue_depth` and counted.

mod common;
mod plant_logs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::fake_llm::{Api, Behaviour, FakeApi};
use plant_logs::*;
use serde_json::Value;

/// A trained model and a day after it with `intruders` new hosts polling a PLC, each its own
/// alert.
fn model_and_day(dir: &Path, intruders: usize) -> (PathBuf, PathBuf) {
    let baseline = dir.join("baseline");
    write_logs(&baseline, &plant(START, 15.0, 1800.0));
    let model = dir.join("plant.model");
    let trained = train(&baseline, &model, &[]);
    assert!(trained.status.success(), "{}", stderr(&trained));
    const HOSTS: [&str; 4] = ["10.66.6.1", "10.66.6.2", "10.66.6.3", "10.66.6.4"];
    let day = START + 15.0 * 86_400.0;
    let mut polls = plant(day, 1.0, 1800.0);
    for (idx, host) in HOSTS.iter().take(intruders).enumerate() {
        polls.push(Poll {
            ts: day + 3.5 * 3600.0 * (idx as f64 + 1.0) + 7.0,
            uid: format!("CINTRUDER{idx:04}"),
            orig: host,
            resp: "10.0.1.2",
            func: "READ_HOLDING_REGISTERS",
            orig_bytes: 12,
        });
    }
    polls.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    let logs = dir.join("day16");
    write_logs(&logs, &polls);
    (model, logs)
}

/// Runs watch over `logs` until idle, into a file sink; returns the file's events and stderr.
fn watch(dir: &Path, model: &Path, logs: &Path, triage: &[&str]) -> (Vec<Value>, String) {
    let out = dir.join("siem.jsonl");
    let siem = format!("file://{}", out.display());
    let state = dir.join("state");
    let mut args = vec![
        "watch",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--siem",
        &siem,
        "--state-dir",
        state.to_str().unwrap(),
        "--exit-when-idle",
        "--poll-ms",
        "20",
    ];
    args.extend(triage);
    let output = otsentry(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&out).unwrap();
    let events = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("json line"))
        .collect();
    (events, stderr(&output))
}

/// Every opened alert is followed, later in the file, by its triage event; returns the advice
/// by alert id.
fn advice_after_alerts(events: &[Value]) -> BTreeMap<String, Value> {
    let mut opened_at = BTreeMap::new();
    let mut advice = BTreeMap::new();
    for (line, event) in events.iter().enumerate() {
        match event["event"]["action"].as_str().unwrap() {
            "alert_opened" => {
                opened_at.insert(event["event"]["id"].as_str().unwrap().to_string(), line);
            }
            "triage_advice" => {
                let alert_id = event["otsentry"]["alert_id"].as_str().unwrap().to_string();
                let opened = opened_at
                    .get(&alert_id)
                    .unwrap_or_else(|| panic!("triage event before its alert: {event}"));
                assert!(*opened < line);
                assert_eq!(event["event"]["id"], format!("{alert_id}.triage"));
                assert_eq!(event["event"]["dataset"], "otsentry.triage");
                assert!(
                    advice
                        .insert(alert_id, event["otsentry"]["triage"].clone())
                        .is_none(),
                    "one triage event per alert"
                );
            }
            _ => {}
        }
    }
    assert_eq!(
        opened_at.keys().collect::<Vec<_>>(),
        advice.keys().collect::<Vec<_>>(),
        "every opened alert has its triage event"
    );
    advice
}

#[test]
fn each_opened_alert_reaches_the_siem_then_its_offline_triage() {
    let dir = tempfile::tempdir().unwrap();
    let (model, logs) = model_and_day(dir.path(), 3);
    let (events, errors) = watch(dir.path(), &model, &logs, &["--triage"]);
    let advice = advice_after_alerts(&events);
    assert!(advice.len() >= 3, "{events:#?}");
    for advice in advice.values() {
        assert_eq!(advice["provider"], "rules");
        assert_eq!(advice["advisory_only"], true);
        assert!(advice.get("llm_triage_skipped").is_none(), "{advice}");
    }
    assert!(
        errors.contains(&format!(
            "triage: {} alerts triaged, 0 went out untriaged",
            advice.len()
        )),
        "{errors}"
    );
    // Without --triage the same run has no triage events.
    let plain = tempfile::tempdir().unwrap();
    let (events, _) = watch(plain.path(), &model, &logs, &[]);
    assert!(
        events
            .iter()
            .all(|event| event["event"]["dataset"] == "otsentry.alert"),
        "no triage events without --triage"
    );
    // A bad configuration is named before anything is read.
    let config = dir.path().join("triage.yaml");
    std::fs::write(&config, "triage:\n  provider: anthropic\n  model: m\n").unwrap();
    let output = otsentry(&[
        "watch",
        "--log",
        logs.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--exit-when-idle",
        "--triage",
        config.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("api_key_env"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_slow_provider_never_holds_an_alert_and_a_full_queue_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (model, logs) = model_and_day(dir.path(), 4);
    let reply = serde_json::json!({
        "classification": "requires_investigation",
        "confidence": 0.7,
        "reasoning": "A host never seen polling this PLC.",
        "recommended_analyst_actions": ["Ask the PLC's owner who runs the new host"],
        "data_gaps": [],
    })
    .to_string();
    let fake = FakeApi::start(
        Api::OpenAi,
        Arc::new(move |_| Behaviour::Stall(Duration::from_millis(700), reply.clone())),
    );
    let config = dir.path().join("triage.yaml");
    std::fs::write(
        &config,
        format!(
            "triage:\n  provider: openai\n  model: slow\n  endpoint: {}\n  sla_seconds: 5\n  queue_limit: 1\n  workers: 1\n",
            fake.endpoint()
        ),
    )
    .unwrap();
    let (events, stderr) = watch(
        dir.path(),
        &model,
        &logs,
        &["--triage", config.to_str().unwrap()],
    );
    let advice = advice_after_alerts(&events);
    let opened = advice.len();
    assert!(opened >= 4, "{events:#?}");
    let triaged: Vec<&Value> = advice
        .values()
        .filter(|advice| advice.get("llm_triage_skipped").is_none())
        .collect();
    let skipped = advice
        .values()
        .filter(|advice| advice["llm_triage_skipped"] == "queue_depth")
        .count();
    assert!(!triaged.is_empty(), "{advice:#?}");
    assert!(skipped >= 1, "{advice:#?}");
    assert_eq!(triaged.len() + skipped, opened, "{advice:#?}");
    for advice in &triaged {
        assert_eq!(advice["provider"], "openai");
        assert_eq!(advice["classification"], "requires_investigation");
    }
    assert_eq!(fake.count(), triaged.len(), "a skipped alert costs no call");
    // Every alert was written before any triage event: none waited for the provider.
    let first_triage = events
        .iter()
        .position(|event| event["event"]["dataset"] == "otsentry.triage")
        .unwrap();
    let last_alert = events
        .iter()
        .rposition(|event| event["event"]["action"] == "alert_opened")
        .unwrap();
    let skip_events_first = events[..last_alert]
        .iter()
        .filter(|event| event["event"]["dataset"] == "otsentry.triage")
        .all(|event| event["labels"]["llm_triage_skipped"] == "queue_depth");
    assert!(
        first_triage > last_alert || skip_events_first,
        "only immediate skips may come before the last alert"
    );
    assert!(
        stderr.contains(&format!(
            "{} went out untriaged (timeout 0, queue_depth {skipped}",
            skipped
        )),
        "{stderr}"
    );
}
