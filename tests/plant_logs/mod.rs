//! Shared helpers for the model CLI tests: a tiny plant written as real Zeek TSV logs, and running
//! the real binary.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

/// 2026-11-02T00:00:00Z, a Monday.
pub const START: f64 = 1_793_577_600.0;

const CONN_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-11-02-00-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n";

const MODBUS_HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tmodbus\n#open\t2026-11-02-00-00-00\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tfunc\texception\n#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\n";

/// One polling connection: a conn.log line and its Modbus request line.
pub struct Poll<'a> {
    pub ts: f64,
    pub uid: String,
    pub orig: &'a str,
    pub resp: &'a str,
    pub func: &'a str,
    pub orig_bytes: u64,
}

/// Writes conn.log and modbus.log for the given polls into `dir`.
pub fn write_logs(dir: &Path, polls: &[Poll<'_>]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut conn = String::from(CONN_HEADER);
    let mut modbus = String::from(MODBUS_HEADER);
    for (idx, poll) in polls.iter().enumerate() {
        let port = 40000 + (idx % 20000);
        writeln!(
            conn,
            "{:.6}\t{}\t{}\t{port}\t{}\t502\ttcp\tmodbus\t0.012\t{}\t{}\tSF\tT\tT\t0\tShADadFf\t6\t300\t4\t260\t(empty)",
            poll.ts,
            poll.uid,
            poll.orig,
            poll.resp,
            poll.orig_bytes,
            poll.orig_bytes + 10
        )
        .unwrap();
        writeln!(
            modbus,
            "{:.6}\t{}\t{}\t{port}\t{}\t502\t{}\t-",
            poll.ts + 0.001,
            poll.uid,
            poll.orig,
            poll.resp,
            poll.func
        )
        .unwrap();
    }
    conn.push_str("#close\t2026-12-01-00-00-00\n");
    modbus.push_str("#close\t2026-12-01-00-00-00\n");
    std::fs::write(dir.join("conn.log"), conn).unwrap();
    std::fs::write(dir.join("modbus.log"), modbus).unwrap();
}

/// A plant: one HMI polls three PLCs every `every` seconds for `days` days, starting at `start`.
pub fn plant(start: f64, days: f64, every: f64) -> Vec<Poll<'static>> {
    const PLCS: [&str; 3] = ["10.0.1.1", "10.0.1.2", "10.0.1.3"];
    let mut polls = Vec::new();
    let mut ts = start;
    let mut idx = 0u64;
    while ts < start + days * 86_400.0 {
        for (plc_idx, plc) in PLCS.iter().enumerate() {
            // A little deterministic jitter so intervals are not all identical.
            let jitter = ((idx * 7 + plc_idx as u64 * 13) % 10) as f64 * 0.05;
            polls.push(Poll {
                ts: ts + plc_idx as f64 + jitter,
                uid: format!("C{idx:08}p{plc_idx}"),
                orig: "10.0.0.5",
                resp: plc,
                func: "READ_HOLDING_REGISTERS",
                orig_bytes: 12 + (idx % 3),
            });
        }
        idx += 1;
        ts += every;
    }
    polls
}

/// Runs the real binary.
pub fn otsentry(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(args)
        .output()
        .expect("the otsentry binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Trains a model on `logs` into `model`, asserting success.
pub fn train(logs: &Path, model: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--log",
        logs.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--n-estimators",
        "50",
    ];
    args.extend_from_slice(extra);
    let output = otsentry(&args);
    assert!(output.status.success(), "train failed: {}", stderr(&output));
    output
}

/// One conn.log line that is not a poll (another service, another port, another state), added
/// after the polls with [`append_conn`].
pub struct Conn<'a> {
    pub ts: f64,
    pub uid: &'a str,
    pub orig: &'a str,
    pub orig_p: u16,
    pub resp: &'a str,
    pub resp_p: u16,
    /// Zeek's service field; `-` when no analyzer recognised the protocol.
    pub service: &'a str,
    pub conn_state: &'a str,
}

/// Appends `conns` to the conn.log that [`write_logs`] wrote in `dir`, before its `#close` line.
/// Their times must be after the last poll's, as Zeek writes in order.
pub fn append_conn(dir: &Path, conns: &[Conn<'_>]) {
    let path = dir.join("conn.log");
    let text = std::fs::read_to_string(&path).unwrap();
    let (body, close) = text.split_at(text.rfind("#close").expect("a closed log"));
    let mut body = body.to_string();
    for conn in conns {
        writeln!(
            body,
            "{:.6}\t{}\t{}\t{}\t{}\t{}\ttcp\t{}\t2.5\t4000\t9000\t{}\tT\tT\t0\tShADadFf\t40\t6000\t30\t10000\t(empty)",
            conn.ts,
            conn.uid,
            conn.orig,
            conn.orig_p,
            conn.resp,
            conn.resp_p,
            conn.service,
            conn.conn_state
        )
        .unwrap();
    }
    body.push_str(close);
    std::fs::write(&path, body).unwrap();
}

/// Runs `otsentry simulate` into `dir` with the given extra options, asserting success, and
/// returns the labels it wrote (one JSON object per injected attack).
pub fn simulate(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["simulate", "--out", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let output = otsentry(&args);
    assert!(
        output.status.success(),
        "simulate failed: {}",
        stderr(&output)
    );
    std::fs::read_to_string(dir.join("labels.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
