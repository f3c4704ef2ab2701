//! `otsentry watch` through the real binary on real files: alerts while lines are written, kill -9
//! and restart, zeekctl rotation mid-stream, SIGTERM, a tampered model, the metrics endpoint, and
//! the one-pipeline guarantee (a replay through `watch` gives `score`'s alerts byte for byte).

mod plant_logs;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use plant_logs::*;

/// Long enough for a loaded CI machine, short enough that a hang fails fast.
const PATIENCE: Duration = Duration::from_secs(30);

fn trained(dir: &Path) -> PathBuf {
    let logs = dir.join("baseline");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model = dir.join("plant.model");
    train(&logs, &model, &[]);
    model
}

/// The lines of one day after training: ordinary polling, with a new host polling a PLC once
/// every three and a half hours (each its own alert: a new source is a new device pair).
fn day_with_intruders(intruders: usize) -> Vec<Poll<'static>> {
    const HOSTS: [&str; 8] = [
        "10.66.6.1",
        "10.66.6.2",
        "10.66.6.3",
        "10.66.6.4",
        "10.66.6.5",
        "10.66.6.6",
        "10.66.6.7",
        "10.66.6.8",
    ];
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
    polls
}

/// A log's header lines and its data lines, as `write_logs` writes them (without `#close`, as a
/// live log has none), with `#open` set to `open` so that a new file after a rotation has its own
/// identity.
struct Log {
    header: String,
    lines: Vec<String>,
}

fn logs_of(polls: &[Poll<'_>], open: &str) -> BTreeMap<&'static str, Log> {
    let dir = tempfile::tempdir().unwrap();
    write_logs(dir.path(), polls);
    let mut logs = BTreeMap::new();
    for name in ["conn.log", "modbus.log"] {
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let mut log = Log {
            header: String::new(),
            lines: Vec::new(),
        };
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("#open\t") {
                let _ = rest;
                log.header.push_str(&format!("#open\t{open}\n"));
            } else if line.starts_with("#close") {
            } else if line.starts_with('#') {
                log.header.push_str(line);
                log.header.push('\n');
            } else {
                log.lines.push(format!("{line}\n"));
            }
        }
        logs.insert(name, log);
    }
    logs
}

fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Appends the lines of `logs` in `range` (by index into each log's lines) to the live files in
/// `dir`, the header first when the file is new.
fn write_range(dir: &Path, logs: &BTreeMap<&'static str, Log>, from: f64, to: f64) {
    for (name, log) in logs {
        let path = dir.join(name);
        let mut text = String::new();
        if !path.exists() {
            text.push_str(&log.header);
        }
        let (start, end) = (
            (log.lines.len() as f64 * from) as usize,
            (log.lines.len() as f64 * to) as usize,
        );
        for line in &log.lines[start..end] {
            text.push_str(line);
        }
        append(&path, &text);
    }
}

struct Watch {
    child: Child,
}

impl Watch {
    fn start(args: &[&str]) -> Watch {
        let child = Command::new(env!("CARGO_BIN_EXE_otsentry"))
            .arg("watch")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the otsentry binary runs");
        Watch { child }
    }

    fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status, stdout and stderr.
    fn terminate(self) -> (std::process::ExitStatus, String, String) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        self.finish()
    }

    fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        let (mut out, mut err) = (String::new(), String::new());
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut out).unwrap();
        }
        if let Some(mut stderr) = self.child.stderr.take() {
            stderr.read_to_string(&mut err).unwrap();
        }
        (self.child.wait().unwrap(), out, err)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The alert events in a JSON lines file.
fn alerts_in(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|line| line.ends_with('}'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Waits until `ready` holds, failing with `what` after [`PATIENCE`].
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The intruders' opened alerts (the forest may also flag a few ordinary polls).
fn intruders_opened(alerts: &[serde_json::Value]) -> Vec<&serde_json::Value> {
    alerts
        .iter()
        .filter(|alert| alert["event"]["action"] == "alert_opened")
        .filter(|alert| {
            alert["source"]["ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("10.66.6."))
        })
        .collect()
}

fn sources_opened(alerts: &[serde_json::Value]) -> std::collections::BTreeSet<String> {
    intruders_opened(alerts)
        .iter()
        .filter_map(|alert| alert["source"]["ip"].as_str())
        .map(str::to_string)
        .collect()
}

/// Each alert event (id and action) at most once.
fn assert_no_repeats(alerts: &[serde_json::Value]) {
    let mut seen = std::collections::BTreeSet::new();
    for alert in alerts {
        let key = (
            alert["event"]["id"].to_string(),
            alert["event"]["action"].to_string(),
        );
        assert!(seen.insert(key.clone()), "alert event {key:?} twice");
    }
}

/// The sum of the follower's offsets in the checkpoint: how many bytes it covers.
fn checkpointed_bytes(state: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(state.join("watch.checkpoint.json")) else {
        return 0;
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return 0;
    };
    json["follower"]["files"]
        .as_array()
        .map(|files| {
            files
                .iter()
                .filter_map(|file| file["offset"].as_u64())
                .sum()
        })
        .unwrap_or(0)
}

fn bytes_in(dir: &Path) -> u64 {
    ["conn.log", "modbus.log"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|metadata| metadata.len())
        .sum()
}

fn watch_args<'a>(live: &'a str, model: &'a str, out: &'a str, state: &'a str) -> Vec<&'a str> {
    vec![
        "--log",
        live,
        "--model",
        model,
        "--siem",
        out,
        "--state-dir",
        state,
        "--poll-ms",
        "50",
    ]
}

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
        let text = scrape(&addr);
        metric(&text, "otsentry_spool_alerts") == Some(0.0)
            && metric(&text, "otsentry_checkpoints_written_total").unwrap_or(0.0) > 0.0
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
    let alerts = alerts_in(&out);
    assert_no_repeats(&alerts);
    // Each intruder opens one alert per log stream (conn and modbus).
    assert_eq!(intruders_opened(&alerts).len(), 12, "{alerts:#?}");
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
    assert_eq!(intruders_opened(&alerts).len(), 8, "{alerts:#?}");
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
    let alerts: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(intruders_opened(&alerts).len(), 4, "{stdout}");
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
    let model = model.to_str().unwrap();
    let logs = day.to_str().unwrap();
    let scored = otsentry(&["score", "--log", logs, "--model", model, "--format", "json"]);
    assert!(scored.status.success(), "{}", stderr(&scored));
    let (status, watched, stderr) = Watch::start(&[
        "--log",
        logs,
        "--model",
        model,
        "--siem",
        "-",
        "--exit-when-idle",
        "--poll-ms",
        "20",
    ])
    .finish();
    assert!(status.success(), "{stderr}");
    let scored = stdout(&scored);
    assert!(scored.lines().count() >= 10, "{scored}");
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

/// The address the metrics endpoint listens on, from the start line (stderr is read up to it).
fn metrics_addr(watch: &mut Watch) -> String {
    let mut stderr = std::io::BufReader::new(watch.child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0,
            "no start line"
        );
        if let Some(at) = line.find("http://") {
            // The rest of stderr is drained, so that watch's later lines have a reader.
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return line[at + 7..]
                .trim_end()
                .trim_end_matches("/metrics")
                .to_string();
        }
    }
}

/// The value of an unlabelled metric.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
}

fn scrape(addr: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(
        response.is_empty() || response.contains("text/plain; version=0.0.4"),
        "{response}"
    );
    response
}
