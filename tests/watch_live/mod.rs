//! Helpers for the tests that run the real `otsentry watch` on live logs: a trained plant
//! model, a day of polling with intruders written into live files piece by piece, the watch
//! process itself, and reading what it delivered, checkpointed and measured.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::plant_logs::*;

/// Long enough for a loaded CI machine, short enough that a hang fails fast.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub fn trained(dir: &Path) -> PathBuf {
    let logs = dir.join("baseline");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model = dir.join("plant.model");
    train(&logs, &model, &[]);
    model
}

/// The lines of one day after training: ordinary polling, with a new host polling a PLC once
/// every three and a half hours (each its own alert: a new source is a new device pair).
pub fn day_with_intruders(intruders: usize) -> Vec<Poll<'static>> {
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
pub struct Log {
    pub header: String,
    pub lines: Vec<String>,
}

pub fn logs_of(polls: &[Poll<'_>], open: &str) -> BTreeMap<&'static str, Log> {
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

pub fn append(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// Appends the lines of `logs` in `range` (by index into each log's lines) to the live files in
/// `dir`, the header first when the file is new.
pub fn write_range(dir: &Path, logs: &BTreeMap<&'static str, Log>, from: f64, to: f64) {
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

pub struct Watch {
    pub child: Child,
}

impl Watch {
    pub fn start(args: &[&str]) -> Watch {
        Watch::start_with_env(args, &[])
    }

    /// `start` with extra environment variables.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Watch {
        let child = Command::new(env!("CARGO_BIN_EXE_otsentry"))
            .arg("watch")
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the otsentry binary runs");
        Watch { child }
    }

    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status, stdout and stderr.
    pub fn terminate(self) -> (std::process::ExitStatus, String, String) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        self.finish()
    }

    pub fn finish(mut self) -> (std::process::ExitStatus, String, String) {
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

/// The alert events in a JSON lines file (a last line still being written left out).
pub fn alerts_in(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    alerts_from_stdout(&text)
}

/// The alert events in JSON lines.
pub fn alerts_from_stdout(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|line| line.ends_with('}'))
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// Waits until `ready` holds, failing with `what` after [`PATIENCE`].
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The intruders' opened alerts (the forest may also flag a few ordinary polls).
pub fn intruders_opened(alerts: &[serde_json::Value]) -> Vec<&serde_json::Value> {
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

pub fn sources_opened(alerts: &[serde_json::Value]) -> std::collections::BTreeSet<String> {
    intruders_opened(alerts)
        .iter()
        .filter_map(|alert| alert["source"]["ip"].as_str())
        .map(str::to_string)
        .collect()
}

/// Each alert event (id and action) at most once.
pub fn assert_no_repeats(alerts: &[serde_json::Value]) {
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
pub fn checkpointed_bytes(state: &Path) -> u64 {
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

pub fn bytes_in(dir: &Path) -> u64 {
    ["conn.log", "modbus.log"]
        .iter()
        .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
        .map(|metadata| metadata.len())
        .sum()
}

pub fn watch_args<'a>(live: &'a str, model: &'a str, out: &'a str, state: &'a str) -> Vec<&'a str> {
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

/// The address the metrics endpoint listens on, from the start line (stderr is read up to it).
pub fn metrics_addr(watch: &mut Watch) -> String {
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

/// Reads stderr up to a line containing `needle` (failing if stderr ends first), then drains
/// the rest in the background.
pub fn wait_for_stderr_line(watch: &mut Watch, needle: &str) {
    let mut stderr = std::io::BufReader::new(watch.child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0,
            "stderr ended without {needle:?}"
        );
        if line.contains(needle) {
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return;
        }
    }
}

/// True when every sink's stored cursor in the spool of `state` has reached the spool's head:
/// every durable event is confirmed delivered, from the files alone (a halted watch updates no
/// metrics).
pub fn spool_confirmed_on_disk(state: &Path) -> bool {
    let spool = state.join("spool");
    let Some(last) = std::fs::read_dir(spool.join("segments"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .max()
    else {
        return false;
    };
    let text = std::fs::read_to_string(&last).unwrap_or_default();
    let Some(head) = text
        .lines()
        .last()
        .and_then(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .and_then(|event| event["seq"].as_u64())
        .map(|seq| seq + 1)
    else {
        return false;
    };
    let cursors: Vec<u64> = std::fs::read_dir(spool.join("cursors"))
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .filter_map(|cursor| cursor["next"].as_u64())
        .collect();
    !cursors.is_empty() && cursors.iter().all(|&next| next == head)
}

/// The value of an unlabelled metric.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .and_then(|value| value.parse().ok())
}

pub fn scrape(addr: &str) -> String {
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

/// The sum of a labelled metric's values over the series whose labels start with `labels`.
pub fn sum_of(text: &str, name: &str, labels: &str) -> f64 {
    text.lines()
        .filter_map(|line| line.strip_prefix(&format!("{name}{{{labels}")))
        .filter_map(|rest| rest.rsplit(' ').next())
        .filter_map(|value| value.parse::<f64>().ok())
        .sum()
}

/// True when the one SIEM sink has confirmed every alert event the spool took. Both counters are
/// read from one scrape: the spool's is counted when an alert is taken, before the checkpoint
/// covering it is written, so once the checkpoint covers what was written this says all of it
/// was delivered (a spool depth of 0 alone may be a reading from before the last poll).
pub fn spool_delivered(text: &str) -> bool {
    let spooled = sum_of(text, "otsentry_alerts_total", "sink=\"spool\"");
    spooled > 0.0 && spooled == sum_of(text, "otsentry_delivered_total", "")
}

/// `score --format json` over `logs` with `extra` flags: its stdout, asserting success.
pub fn score_json(logs: &Path, model: &Path, extra: &[&str]) -> String {
    let mut args = vec!["score", "--log", logs.to_str().unwrap()];
    args.extend(["--model", model.to_str().unwrap(), "--format", "json"]);
    args.extend(extra);
    let scored = otsentry(&args);
    assert!(scored.status.success(), "{}", stderr(&scored));
    stdout(&scored)
}

/// The same logs through `score --format json` and through `watch --siem - --exit-when-idle`,
/// both with `extra` flags: the two stdouts, asserting both runs succeeded.
pub fn replay(logs: &Path, model: &Path, extra: &[&str]) -> (String, String) {
    let scored = score_json(logs, model, extra);
    let mut args = vec!["--log", logs.to_str().unwrap()];
    args.extend(["--model", model.to_str().unwrap(), "--siem", "-"]);
    args.extend(["--exit-when-idle", "--poll-ms", "20"]);
    args.extend(extra);
    let (status, watched, stderr) = Watch::start(&args).finish();
    assert!(status.success(), "{stderr}");
    (scored, watched)
}
