//! `otsentry watch` through the real binary on real files: alerts while lines are written, kill -9
//! and restart, zeekctl rotation mid-stream, SIGTERM, a tampered, missing or wrongly signed model,
//! the lock on the state directory, a closed stderr, the delivery flags, the inventory, the
//! metrics endpoint, and the one-pipeline guarantee (a replay through `watch` gives `score`'s
//! alerts byte for byte).

mod plant_logs;
mod watch_live;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use plant_logs::*;
use watch_live::*;

#[test]
fn alerts_arrive_while_lines_are_written_and_kill_9_resumes_without_gaps_or_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let (live, state) = (dir.path().join("live"), dir.path().join("state"));
    std::fs::create_dir_all(&live).unwrap();
    let out = dir.path().join("alerts.jsonl");
    let siem = format!("file://{}", out.display());
    let logs = logs_of(&day_with_intruders(6), "2026-11-17-00-00-00");
    let args = watch_args(
        live.to_str().unwrap(),
        model.to_str().unwrap(),
        &siem,
        state.to_str().unwrap(),
    );

    let mut first = args.clone();
    first.extend(["--metrics", "127.0.0.1:0"]);
    let mut watch = Watch::start(&first);
    let addr = metrics_addr(&mut watch);
    // The first half holds intruders 1..3 (hours 1-3 of 24), written while watch runs.
    write_range(&live, &logs, 0.0, 0.25);
    std::thread::sleep(Duration::from_millis(120));
    write_range(&live, &logs, 0.25, 0.5);
    wait_for("the first three intruders' alerts", || {
        sources_opened(&alerts_in(&out)).len() == 3
    });
    // kill -9 once everything written is checkpointed and the spool has delivered it (delivery is
    // at least once: an alert sent but not yet confirmed would be sent again, under its id); then
    // more lines arrive while it is down.
    wait_for("the checkpoint to cover what was written", || {
        checkpointed_bytes(&state) == bytes_in(&live)
    });
    wait_for("the spool to be delivered", || {
        spool_delivered(&scrape(&addr))
    });
    watch.kill_9();
    write_range(&live, &logs, 0.5, 1.0);

    let watch = Watch::start(&args);
    wait_for("the other intruders' alerts", || {
        sources_opened(&alerts_in(&out)).len() == 6
    });
    wait_for("the checkpoint to cover everything", || {
        checkpointed_bytes(&state) == bytes_in(&live)
    });
    let (status, _, stderr) = watch.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("resumed from a checkpoint"), "{stderr}");
    // Without --db, the person starting it is told that the registry was not asked.
    assert!(
        stderr.contains("warning: the registry is not consulted (no --db)"),
        "{stderr}"
    );
    let alerts = alerts_in(&out);
    assert_no_repeats(&alerts);
    // Each intruder opens one alert: its conn.log and modbus.log records are the same fact.
    assert_eq!(intruders_opened(&alerts).len(), 6, "{alerts:#?}");
}

#[test]
fn a_rotation_as_zeekctl_does_it_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let (live, state) = (dir.path().join("current"), dir.path().join("state"));
    let archive = dir.path().join("logs").join("2026-11-17");
    std::fs::create_dir_all(&live).unwrap();
    std::fs::create_dir_all(&archive).unwrap();
    let out = dir.path().join("alerts.jsonl");
    let siem = format!("file://{}", out.display());
    let polls = day_with_intruders(4);
    let split = polls.len() / 2;
    let before = logs_of(&polls[..split], "2026-11-17-00-00-00");
    let after = logs_of(&polls[split..], "2026-11-17-12-00-00");
    let args = watch_args(
        live.to_str().unwrap(),
        model.to_str().unwrap(),
        &siem,
        state.to_str().unwrap(),
    );
    let watch = Watch::start(&args);
    write_range(&live, &before, 0.0, 0.5);
    wait_for("the first alerts", || !alerts_in(&out).is_empty());
    // The tail is written and the file rotated at once, before watch polls again: renamed into
    // the archive, gzipped there (the original removed), and a new file started.
    write_range(&live, &before, 0.5, 1.0);
    for name in ["conn", "modbus"] {
        let moved = archive.join(format!("{name}.00:00:00-12:00:00.log"));
        std::fs::rename(live.join(format!("{name}.log")), &moved).unwrap();
        let data = std::fs::read(&moved).unwrap();
        let gz = std::fs::File::create(archive.join(format!("{name}.00:00:00-12:00:00.log.gz")))
            .unwrap();
        let mut encoder = flate2::write::GzEncoder::new(gz, flate2::Compression::fast());
        encoder.write_all(&data).unwrap();
        encoder.finish().unwrap();
        std::fs::remove_file(&moved).unwrap();
    }
    write_range(&live, &after, 0.0, 1.0);
    wait_for("every intruder's alert", || {
        sources_opened(&alerts_in(&out)).len() == 4
    });
    wait_for("the checkpoint to cover the new files", || {
        checkpointed_bytes(&state) >= bytes_in(&live)
    });
    let (status, _, stderr) = watch.terminate();
    assert!(status.success(), "{stderr}");
    let alerts = alerts_in(&out);
    assert_no_repeats(&alerts);
    assert_eq!(intruders_opened(&alerts).len(), 4, "{alerts:#?}");
}

#[test]
fn sigterm_flushes_the_alerts_and_a_restart_repeats_none() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let (live, state) = (dir.path().join("live"), dir.path().join("state"));
    std::fs::create_dir_all(&live).unwrap();
    write_range(
        &live,
        &logs_of(&day_with_intruders(2), "2026-11-17-00-00-00"),
        0.0,
        1.0,
    );
    // Alerts go to stdout through a buffer: only the flush at the stop puts them there.
    let args = watch_args(
        live.to_str().unwrap(),
        model.to_str().unwrap(),
        "-",
        state.to_str().unwrap(),
    );
    let watch = Watch::start(&args);
    wait_for("the checkpoint", || {
        checkpointed_bytes(&state) == bytes_in(&live)
    });
    let (status, stdout, stderr) = watch.terminate();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("watch stopped"), "{stderr}");
    let alerts = alerts_from_stdout(&stdout);
    assert_eq!(intruders_opened(&alerts).len(), 2, "{stdout}");
    // A restart finds nothing new: no alert is opened again.
    let mut again = args.clone();
    again.push("--exit-when-idle");
    let (status, stdout, stderr) = Watch::start(&again).finish();
    assert!(status.success(), "{stderr}");
    assert!(!stdout.contains("\"alert_opened\""), "{stdout}");
}

#[test]
fn a_replay_through_watch_gives_scores_alerts_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let day = dir.path().join("day16");
    write_logs(&day, &day_with_intruders(5));
    let (scored, watched) = replay(&day, &model, &[]);
    assert!(scored.lines().count() >= 8, "{scored}");
    assert_eq!(watched, scored);
}

#[test]
fn a_tampered_or_missing_model_stops_watch_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let mut bytes = std::fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    let tampered = dir.path().join("tampered.model");
    std::fs::write(&tampered, &bytes).unwrap();
    let live = dir.path().join("live");
    write_logs(&live, &day_with_intruders(1));
    let state = dir.path().join("state");
    for (model, expected) in [
        (tampered, "cannot load model"),
        (dir.path().join("missing.model"), "does not exist"),
    ] {
        let (status, stdout, stderr) = Watch::start(&watch_args(
            live.to_str().unwrap(),
            model.to_str().unwrap(),
            "-",
            state.to_str().unwrap(),
        ))
        .finish();
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains(model.to_str().unwrap()), "{stderr}");
        assert!(stdout.is_empty());
        assert!(!state.exists(), "nothing was read or written");
    }
}

/// A new site key pair in `dir`: the private and the public key's paths.
fn keys(dir: &Path) -> (String, String) {
    let (key, public) = (dir.join("site.key"), dir.join("site.pub"));
    let output = otsentry(&[
        "audit",
        "keygen",
        "--key",
        key.to_str().unwrap(),
        "--public",
        public.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    (
        key.to_str().unwrap().to_string(),
        public.to_str().unwrap().to_string(),
    )
}

#[test]
fn with_a_public_key_only_a_model_signed_by_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let (key, public) = keys(dir.path());
    let other = tempfile::tempdir().unwrap();
    let (_, other_public) = keys(other.path());
    let live = dir.path().join("live");
    write_logs(&live, &day_with_intruders(1));
    let state = dir.path().join("state");
    let run = |public: &str| {
        Watch::start(&[
            "--log",
            live.to_str().unwrap(),
            "--model",
            model.to_str().unwrap(),
            "--public-key",
            public,
            "--state-dir",
            state.to_str().unwrap(),
            "--exit-when-idle",
            "--poll-ms",
            "20",
        ])
        .finish()
    };
    let refused = |public: &str, expected: &str| {
        let (status, stdout, stderr) = run(public);
        assert_eq!(status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains(model.to_str().unwrap()), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(!state.exists(), "nothing was read or written");
    };

    refused(&public, "has no signature file");
    let signed = otsentry(&["model", "sign", model.to_str().unwrap(), "--key", &key]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    refused(&other_public, "not by the site key");
    // The signature of another model beside this one: signed by the right key, for other bytes.
    let sig = dir.path().join("plant.model.sig");
    let original = std::fs::read_to_string(&sig).unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&original).unwrap();
    let second = tempfile::tempdir().unwrap();
    write_logs(&second.path().join("baseline"), &plant(START, 14.0, 1800.0));
    let other_model = second.path().join("plant.model");
    train(&second.path().join("baseline"), &other_model, &[]);
    let other_signed = otsentry(&[
        "model",
        "sign",
        other_model.to_str().unwrap(),
        "--key",
        &key,
    ]);
    assert!(other_signed.status.success(), "{}", stderr(&other_signed));
    std::fs::copy(second.path().join("plant.model.sig"), &sig).unwrap();
    refused(&public, "does not match the model");
    // The signed manifest edited after signing.
    document["manifest"]["dataset_sha256"] = serde_json::Value::from("0".repeat(64));
    std::fs::write(&sig, document.to_string()).unwrap();
    refused(&public, "does not verify");
    let (status, _, stderr) = run(dir.path().join("missing.pub").to_str().unwrap());
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read --public-key"), "{stderr}");

    std::fs::write(&sig, &original).unwrap();
    let (status, stdout, stderr) = run(&public);
    assert!(status.success(), "{stderr}");
    assert!(!stderr.contains("signature is not checked"), "{stderr}");
    assert_eq!(
        sources_opened(&alerts_from_stdout(&stdout)).len(),
        1,
        "{stdout}"
    );
}

#[test]
fn a_second_watch_on_a_state_dir_is_refused_and_a_killed_ones_lock_does_not_block() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let live = dir.path().join("live");
    write_logs(&live, &day_with_intruders(1));
    let state = dir.path().join("state");
    let args = watch_args(
        live.to_str().unwrap(),
        model.to_str().unwrap(),
        "-",
        state.to_str().unwrap(),
    );
    let first = Watch::start(&args);
    wait_for("the first watch's checkpoint", || {
        checkpointed_bytes(&state) == bytes_in(&live)
    });
    let (status, _, stderr) = Watch::start(&args).finish();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is in use by another otsentry watch"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("pid {}", first.child.id())),
        "{stderr}"
    );
    // kill -9 leaves the lock file behind; the kernel has released the lock itself.
    first.kill_9();
    assert!(state.join("watch.lock").exists());
    let mut again = args.clone();
    again.push("--exit-when-idle");
    let (status, _, stderr) = Watch::start(&again).finish();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("resumed from a checkpoint"), "{stderr}");
}

#[test]
fn a_closed_or_broken_stderr_does_not_stop_watch() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let live = dir.path().join("live");
    write_logs(&live, &day_with_intruders(2));
    for (idx, how) in ["closed", "broken pipe"].into_iter().enumerate() {
        let state = dir.path().join(format!("state{idx}"));
        let out = dir.path().join(format!("alerts{idx}.jsonl"));
        let siem = format!("file://{}", out.display());
        let mut args = watch_args(
            live.to_str().unwrap(),
            model.to_str().unwrap(),
            &siem,
            state.to_str().unwrap(),
        );
        // A health line every second and the start, warning and stop lines all meet the
        // unwritable stderr.
        args.extend(["--exit-when-idle", "--health-every", "1"]);
        let status = match how {
            "closed" => Command::new("sh")
                .arg("-c")
                .arg("exec \"$0\" watch \"$@\" 2>&-")
                .arg(env!("CARGO_BIN_EXE_otsentry"))
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .status()
                .unwrap(),
            _ => {
                let mut child = Command::new(env!("CARGO_BIN_EXE_otsentry"))
                    .arg("watch")
                    .args(&args)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                // The reading end goes away: every write to stderr fails with EPIPE.
                drop(child.stderr.take());
                child.wait().unwrap()
            }
        };
        assert!(status.success(), "stderr {how}: {status:?}");
        assert_eq!(
            sources_opened(&alerts_in(&out)).len(),
            2,
            "stderr {how}: the alerts were delivered"
        );
    }
    // A failure with nowhere to say so is still exit code 2, not a panic.
    let mut child = Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(["watch", "--log", "x", "--model", "missing.model"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(2));
}

/// The plant's zones and assets: the HMI's zone may poll the PLCs' zone over Modbus, and the
/// intruders' zone has no conduit at all.
const INVENTORY: &str = "zones:
  - name: supervisory
    cidrs: [10.0.0.0/24]
    security_level_target: 2
  - name: control
    cidrs: [10.0.1.0/24]
    security_level_target: 3
  - name: remote
    cidrs: [10.66.6.0/24]
    security_level_target: 1
conduits:
  - name: hmi-to-plcs
    from: supervisory
    to: control
    direction: one_way
    allow:
      - service: modbus
        transport: tcp
        ports: [502]
assets:
  - ip: 10.0.0.5
    name: hmi-1
    type: hmi
  - ip: 10.0.1.2
    name: plc-2
    type: plc
    criticality: high
";

#[test]
fn with_an_inventory_watch_gives_scores_asset_context_and_conduit_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let day = dir.path().join("day16");
    write_logs(&day, &day_with_intruders(1));
    let inventory = dir.path().join("plant.yaml");
    std::fs::write(&inventory, INVENTORY).unwrap();
    let (scored, watched) = replay(&day, &model, &["--inventory", inventory.to_str().unwrap()]);
    assert_eq!(watched, scored, "one pipeline, with the inventory too");
    let alerts = alerts_from_stdout(&watched);
    let intruder: Vec<_> = alerts
        .iter()
        .filter(|alert| alert["source"]["ip"] == "10.66.6.1")
        .collect();
    assert!(!intruder.is_empty(), "{watched}");
    for alert in &intruder {
        assert_eq!(alert["source"]["asset"]["zone"], "remote", "{alert}");
        assert_eq!(alert["destination"]["asset"]["name"], "plc-2", "{alert}");
        assert_eq!(alert["destination"]["asset"]["zone"], "control", "{alert}");
    }
    assert!(
        intruder
            .iter()
            .any(|alert| alert["rule"]["id"] == "conduit.no_conduit"),
        "{intruder:#?}"
    );

    // A bad inventory is found before the model is read.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "zones:\n  - name: control\n    cidrs: [10.0.0.0/33]\n",
    )
    .unwrap();
    let (status, _, stderr) = Watch::start(&[
        "--log",
        day.to_str().unwrap(),
        "--model",
        "missing.model",
        "--inventory",
        bad.to_str().unwrap(),
    ])
    .finish();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("inventory is not valid"), "{stderr}");
    assert!(stderr.contains("bad.yaml:3"), "{stderr}");
}

#[test]
fn bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let (status, _, stderr) = Watch::start(&[
        "--log",
        "x",
        "--model",
        model.to_str().unwrap(),
        "--siem",
        "gopher://siem",
    ])
    .finish();
    assert_eq!(status.code(), Some(2));
    assert!(stderr.contains("gopher://siem"), "{stderr}");
}

/// Environment changes: a variable's new value, or `None` to remove it.
type Env<'a> = [(&'a str, Option<&'a str>)];

/// Runs `watch` with `args` and the environment changes `env`; returns the exit code and stderr.
fn watch_with_env(args: &[&str], env: &Env) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_otsentry"));
    command.arg("watch").args(args).stdin(Stdio::null());
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn delivery_flags_are_checked_before_the_model_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    // The model does not exist: each mistake below must be found before that is.
    let base = [
        "--log",
        "x",
        "--model",
        "missing.model",
        "--state-dir",
        state,
    ];
    let not_pem = dir.path().join("ca.txt");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let not_pem = not_pem.to_str().unwrap();
    let missing_ca = dir.path().join("missing-ca.pem");
    let missing_ca = missing_ca.to_str().unwrap();
    let tcp = ["--siem", "tcp://127.0.0.1:5044"];
    let tls = ["--siem", "tcp+tls://127.0.0.1:5044"];
    let hec = ["--siem", "https://127.0.0.1:8088"];
    let token_unset = [("OTSENTRY_HEC_TOKEN", None)];
    let cases: Vec<(Vec<&str>, &Env, Vec<&str>)> = vec![
        (
            [&tcp[..], &["--spool-cap", "12parsecs"]].concat(),
            &[],
            vec!["--spool-cap", "\"12parsecs\" is not a size", "512MiB"],
        ),
        (
            [&tcp[..], &["--spool-cap", "1KiB"]].concat(),
            &[],
            vec!["--spool-cap 1 KiB is too small", "64 KiB"],
        ),
        (
            vec!["--siem", "-", "--spool-cap", "512MiB"],
            &[],
            vec!["--spool-cap has no effect"],
        ),
        (
            [&tls[..], &["--tls-ca-file", missing_ca]].concat(),
            &[],
            vec!["--tls-ca-file", missing_ca],
        ),
        (
            [&tls[..], &["--tls-ca-file", not_pem]].concat(),
            &[],
            vec!["no PEM certificate", not_pem],
        ),
        (
            [&tcp[..], &["--tls-ca-file", not_pem]].concat(),
            &[],
            vec!["--tls-ca-file has no effect", "no --siem URL uses TLS"],
        ),
        (
            [&tls[..], &["--tls-client-cert", not_pem]].concat(),
            &[],
            vec!["--tls-client-key"],
        ),
        (
            hec.to_vec(),
            &token_unset,
            vec![
                "OTSENTRY_HEC_TOKEN, which is not set",
                "https://127.0.0.1:8088",
            ],
        ),
        (
            [&hec[..], &["--hec-token-env", "SITE_HEC_TOKEN"]].concat(),
            &[("SITE_HEC_TOKEN", Some(""))],
            vec!["SITE_HEC_TOKEN, which is empty"],
        ),
        (
            [&hec[..], &["--hec-token-env", "b7d1-44e0-a-token"]].concat(),
            &[],
            vec!["not the name of an environment variable"],
        ),
        (
            [&tcp[..], &["--hec-token-env", "SITE_HEC_TOKEN"]].concat(),
            &[],
            vec!["--hec-token-env has no effect"],
        ),
    ];
    for (extra, env, expected) in cases {
        let args = [&base[..], &extra[..]].concat();
        let (code, stderr) = watch_with_env(&args, env);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        for part in expected {
            assert!(stderr.contains(part), "{args:?}: {stderr} lacks {part}");
        }
        assert!(!stderr.contains("does not exist"), "{args:?}: {stderr}");
    }
    assert!(!Path::new(state).exists(), "nothing was written");
}

#[test]
fn the_metrics_endpoint_counts_lines_and_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let live = dir.path().join("live");
    write_logs(&live, &day_with_intruders(1));
    let state = dir.path().join("state");
    let out = dir.path().join("alerts.jsonl");
    let siem = format!("file://{}", out.display());
    let mut watch = Watch::start(&[
        "--log",
        live.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
        "--siem",
        &siem,
        "--metrics",
        "127.0.0.1:0",
        "--state-dir",
        state.to_str().unwrap(),
        "--poll-ms",
        "50",
    ]);
    let addr = metrics_addr(&mut watch);
    wait_for("the alerts", || sources_opened(&alerts_in(&out)).len() == 1);
    let mut text = String::new();
    wait_for("metrics that count the alerts", || {
        text = scrape(&addr);
        text.contains("otsentry_delivered_total{sink=\"file://")
    });
    let records = |log: &str| {
        text.lines()
            .find(|line| line.starts_with(&format!("otsentry_lines_read_total{{log=\"{log}\"}}")))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse::<u64>().ok())
    };
    let conn_lines = std::fs::read_to_string(live.join("conn.log"))
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with('#'))
        .count() as u64;
    assert_eq!(records("conn"), Some(conn_lines), "{text}");
    assert!(
        text.contains("otsentry_findings_total{detector=\"novelty\"}"),
        "{text}"
    );
    assert!(
        text.contains("otsentry_alert_latency_seconds_count"),
        "{text}"
    );
    assert!(text.contains("otsentry_follow_backlog_bytes 0"), "{text}");
    let (status, _, _) = watch.terminate();
    assert!(status.success());
}
