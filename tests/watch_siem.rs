//! `otsentry watch` end to end into real collectors: the binary follows live logs and delivers
//! over TLS with a client certificate (given by `--tls-ca-file`, `--tls-client-cert` and
//! `--tls-client-key`) to a line collector on loopback standing in for Logstash; the collector is
//! killed mid-stream while lines keep coming and started again, and every alert event `score`
//! finds in the same logs arrives at least once. A HEC server with indexer acknowledgement
//! standing in for Splunk gets the token from the variable `--hec-token-env` names. `watch`
//! killed -9 between the spool's fsync and its checkpoint delivers each alert exactly once.

#[allow(dead_code)]
#[path = "delivery/hec_server.rs"]
mod hec_server;
mod plant_logs;
#[allow(dead_code)]
#[path = "delivery/receivers.rs"]
mod receivers;
mod watch_live;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use plant_logs::*;
use receivers::{Received, Server, line_collector, make_certs, plain, tls_server};
use watch_live::*;

/// The (id, action) of every alert event in ECS JSON lines.
fn events<'a>(lines: impl Iterator<Item = &'a str>) -> BTreeMap<(String, String), usize> {
    let mut found = BTreeMap::new();
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        let key = (
            value["event"]["id"].as_str().unwrap().to_string(),
            value["event"]["action"].as_str().unwrap().to_string(),
        );
        *found.entry(key).or_default() += 1;
    }
    found
}

fn received_events(received: &Received) -> BTreeMap<(String, String), usize> {
    let lines = received.lock().unwrap().clone();
    events(lines.iter().map(|(_, line)| line.as_str()))
}

/// The alert events `score` finds in `logs`, by (id, action).
fn scored_events(logs: &std::path::Path, model: &std::path::Path) -> BTreeSet<(String, String)> {
    events(score_json(logs, model, &[]).lines())
        .into_keys()
        .collect()
}

#[test]
fn splunk_hec_gets_the_token_from_the_variable_hec_token_env_names() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let logs = dir.path().join("day16");
    write_logs(&logs, &day_with_intruders(2));
    let hec = Arc::new(hec_server::HecState::default());
    hec.acks_enabled.store(true, Ordering::Release);
    let server = Server::start(0, plain(), hec_server::handler(Arc::clone(&hec)));
    let url = format!("http://127.0.0.1:{}", server.port);
    let state = dir.path().join("state");
    let output = Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(["watch", "--log", logs.to_str().unwrap()])
        .args(["--model", model.to_str().unwrap(), "--siem", &url])
        .args(["--state-dir", state.to_str().unwrap(), "--exit-when-idle"])
        .args(["--hec-token-env", "SITE_SPLUNK_TOKEN", "--drain-secs", "20"])
        .env("SITE_SPLUNK_TOKEN", hec_server::TOKEN)
        .env_remove("OTSENTRY_HEC_TOKEN")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", plant_logs::stderr(&output));
    assert_eq!(hec.bad_token.load(Ordering::Relaxed), 0);
    let expected: BTreeSet<String> = scored_events(&logs, &model)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert!(expected.len() >= 2, "{expected:?}");
    let indexed: BTreeSet<String> = hec
        .events
        .lock()
        .unwrap()
        .iter()
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(indexed, expected, "every alert indexed before watch exited");
    drop(server);
}

#[test]
fn a_collector_killed_mid_stream_and_restarted_gets_every_alert() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let certs = make_certs(dir.path());
    let received: Received = Arc::default();
    let mut server = Server::start(
        0,
        tls_server(&certs, true),
        line_collector(Arc::clone(&received)),
    );
    let url = format!("tcp+tls://127.0.0.1:{}", server.port);
    let (live, state) = (dir.path().join("live"), dir.path().join("state"));
    std::fs::create_dir_all(&live).unwrap();
    let logs = logs_of(&day_with_intruders(8), "2026-11-17-00-00-00");
    let paths = [&certs.ca, &certs.client_cert, &certs.client_key].map(|p| p.to_str().unwrap());
    let mut args = watch_args(
        live.to_str().unwrap(),
        model.to_str().unwrap(),
        &url,
        state.to_str().unwrap(),
    );
    args.extend([
        "--tls-ca-file",
        paths[0],
        "--tls-client-cert",
        paths[1],
        "--tls-client-key",
        paths[2],
        "--spool-cap",
        "64MiB",
    ]);
    let mut first = args.clone();
    first.extend(["--metrics", "127.0.0.1:0"]);
    let mut watch = Watch::start(&first);
    let addr = metrics_addr(&mut watch);

    write_range(&live, &logs, 0.0, 0.2);
    wait_for("the first alerts at the collector", || {
        !received_events(&received).is_empty()
    });
    // Killed while lines keep coming: what is written meanwhile waits in the spool.
    write_range(&live, &logs, 0.2, 0.3);
    server.kill();
    write_range(&live, &logs, 0.3, 0.6);
    wait_for("the sink to notice the dead collector", || {
        sum_of(
            &scrape(&addr),
            "otsentry_sink_errors_total",
            "sink=\"tcp+tls://",
        ) > 0.0
    });
    wait_for("the checkpoint to cover what was written", || {
        checkpointed_bytes(&state) == bytes_in(&live)
    });
    assert!(
        metric(&scrape(&addr), "otsentry_spool_alerts").is_some_and(|depth| depth > 0.0),
        "alerts wait in the spool while the collector is down"
    );
    server.restart();
    write_range(&live, &logs, 0.6, 1.0);
    wait_for("the checkpoint to cover everything", || {
        checkpointed_bytes(&state) == bytes_in(&live)
    });
    wait_for("the spool to be delivered", || {
        spool_delivered(&scrape(&addr))
    });
    let (status, _, stderr) = watch.terminate();
    assert!(status.success(), "{stderr}");
    // A last run closes the open alerts as `score` does at the end of its input.
    args.push("--exit-when-idle");
    let (status, _, stderr) = Watch::start(&args).finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("resumed from a checkpoint"), "{stderr}");

    let expected = scored_events(&live, &model);
    assert!(
        expected
            .iter()
            .filter(|(_, action)| action == "alert_opened")
            .count()
            >= 8,
        "{expected:?}"
    );
    wait_for("every alert event at the collector", || {
        received_events(&received).len() >= expected.len()
    });
    let got: BTreeSet<_> = received_events(&received).into_keys().collect();
    assert_eq!(got, expected, "every alert event arrived, and nothing else");
    // Delivery is at least once: a few events the dead collector had not confirmed come again,
    // never many.
    let repeats: usize = received_events(&received)
        .values()
        .map(|count| count - 1)
        .sum();
    assert!(repeats <= expected.len() / 2, "{repeats} repeats");
    drop(server);
}

#[test]
fn kill_9_between_the_spool_fsync_and_the_checkpoint_delivers_each_alert_once() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let received: Received = Arc::default();
    let server = Server::start(0, plain(), line_collector(Arc::clone(&received)));
    let url = format!("tcp://127.0.0.1:{}", server.port);
    let (live, state) = (dir.path().join("live"), dir.path().join("state"));
    std::fs::create_dir_all(&live).unwrap();
    let logs = logs_of(&day_with_intruders(8), "2026-11-17-00-00-00");
    let mut args = watch_args(
        live.to_str().unwrap(),
        model.to_str().unwrap(),
        &url,
        state.to_str().unwrap(),
    );
    // A small spool: segments of 16 KiB, so the events of one poll span several of them and a
    // delivered segment could go before the checkpoint (the spool must keep it to know its ids).
    args.extend(["--spool-cap", "256KiB"]);

    // The first poll with alerts is checkpointed; the second stops after the spool's fsync.
    write_range(&live, &logs, 0.0, 0.3);
    let mut watch = Watch::start_with_env(&args, &[(otsentry::watch::HALT_AFTER_SPOOL_SYNC, "2")]);
    wait_for("the first alerts checkpointed", || {
        checkpointed_bytes(&state) == bytes_in(&live) && !received_events(&received).is_empty()
    });
    let checkpointed = checkpointed_bytes(&state);
    write_range(&live, &logs, 0.3, 0.6);
    wait_for_stderr_line(&mut watch, otsentry::watch::HALTED);
    // The crash window: the alerts are delivered and confirmed, the checkpoint is the old one.
    wait_for("the collector to confirm what the spool holds", || {
        spool_confirmed_on_disk(&state)
    });
    assert!(checkpointed_bytes(&state) < bytes_in(&live));
    assert!(checkpointed_bytes(&state) >= checkpointed);
    let before = received_events(&received).len();
    watch.kill_9();

    write_range(&live, &logs, 0.6, 1.0);
    args.push("--exit-when-idle");
    let (status, _, stderr) = Watch::start(&args).finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("resumed from a checkpoint"), "{stderr}");
    assert!(
        stderr.contains("alert events the spool already held"),
        "the restart replayed the halted poll and skipped its alerts: {stderr}"
    );

    let expected = scored_events(&live, &model);
    assert!(expected.len() > before, "{expected:?}");
    wait_for("every alert event at the collector", || {
        received_events(&received).len() >= expected.len()
    });
    let got = received_events(&received);
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "every alert event arrived, and nothing else"
    );
    let twice: Vec<_> = got.iter().filter(|(_, count)| **count > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    drop(server);
}
