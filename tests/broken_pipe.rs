//! Every subcommand behaves when the reader of its output goes away (`otsentry ... | head`): the
//! real binary runs with stdout a pipe whose reading end is closed, once before the command
//! starts (so its first write fails) and once after its first byte was read, and must exit 0
//! without a panic. The list of subcommands is read from `--help`, so a new one without a case
//! here fails the test.

mod plant_logs;
mod shared_data;

use std::collections::BTreeSet;
use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};

use plant_logs::*;

/// Leaf subcommands (`inspect`, `audit verify`) listed by `--help`.
fn subcommands() -> BTreeSet<String> {
    let mut leaves = BTreeSet::new();
    for top in command_names(&[]) {
        let subs = command_names(&[top.as_str()]);
        if subs.is_empty() {
            leaves.insert(top);
        } else {
            leaves.extend(subs.into_iter().map(|sub| format!("{top} {sub}")));
        }
    }
    leaves
}

/// The commands in the `Commands:` section of `otsentry ARGS --help`, without `help`.
fn command_names(args: &[&str]) -> Vec<String> {
    let mut args = args.to_vec();
    args.push("--help");
    let output = otsentry(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        // Continuation lines of a long description are indented further than the names.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// How the reading end of stdout goes away.
#[derive(Debug, Clone, Copy)]
enum Reader {
    /// Closed before the command starts.
    Gone,
    /// Closed after reading the first byte.
    StopsAfterOneByte,
}

/// Runs `args` with stdout closed as `reader` says; returns (exit code, stderr).
fn run_with_reader(args: &[String], reader: Reader) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_otsentry"));
    command.args(args).stderr(Stdio::piped());
    let child = match reader {
        Reader::Gone => {
            let (read_end, write_end) = std::io::pipe().expect("a pipe");
            drop(read_end);
            command.stdout(write_end).spawn()
        }
        Reader::StopsAfterOneByte => command.stdout(Stdio::piped()).spawn(),
    };
    let mut child = child.expect("the otsentry binary runs");
    if let Some(mut out) = child.stdout.take() {
        let mut first = [0u8; 1];
        let _ = out.read(&mut first);
        drop(out);
    }
    let output = child.wait_with_output().expect("otsentry ends");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The cases: subcommand, then its arguments, for run `idx` (names that must be new each run,
/// such as a principal's, carry it).
fn cases(dir: &Path, idx: usize) -> Vec<(&'static str, Vec<String>)> {
    let path = |name: &str| dir.join(name).display().to_string();
    let logs = path("logs");
    let model = path("plant.model");
    let db = path("gov.db");
    let policy = common_policy();
    let gov = |mut args: Vec<String>| {
        args.extend(["--db".into(), db.clone(), "--policy".into(), policy.clone()]);
        args
    };
    let strings = |args: &[&str]| args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>();
    vec![
        (
            "demo",
            strings(&[
                "demo",
                "--out",
                &path(&format!("demo{idx}")),
                "--days",
                "2",
                "--plcs",
                "1",
                "--attack-days",
                "1",
                "--poll-ms",
                "60000",
                "--n-estimators",
                "20",
            ]),
        ),
        (
            "simulate",
            strings(&[
                "simulate",
                "--hours",
                "2",
                "--plcs",
                "1",
                "--poll-ms",
                "60000",
                "--out",
                &path(&format!("sim{idx}")),
            ]),
        ),
        ("inspect", strings(&["inspect", &logs])),
        (
            "train",
            strings(&[
                "train",
                "--log",
                &logs,
                "--out",
                &path(&format!("m{idx}")),
                "--n-estimators",
                "20",
            ]),
        ),
        (
            "score",
            strings(&["score", "--log", &logs, "--model", &model]),
        ),
        ("model show", strings(&["model", "show", &model])),
        (
            "eval",
            vec![
                "eval".into(),
                shared_data::vendored("odds").display().to_string(),
                "--repeat".into(),
                "1".into(),
            ],
        ),
        ("policy check", strings(&["policy", "check", &policy])),
        (
            "db init",
            strings(&["db", "init", "--db", &path(&format!("init{idx}.db"))]),
        ),
        (
            "principal add",
            gov(strings(&[
                "principal",
                "add",
                &format!("p{idx}"),
                "--role",
                "analyst",
            ])),
        ),
        ("principal list", gov(strings(&["principal", "list"]))),
        (
            "token create",
            gov(strings(&["token", "create", "scorer-1", "--days", "1"])),
        ),
        (
            "token revoke",
            gov(strings(&["token", "revoke", &token_id(&db, &policy)])),
        ),
        ("alert list", gov(strings(&["alert", "list"]))),
        (
            "inventory check",
            strings(&[
                "inventory",
                "check",
                &Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("examples/inventory/plant.yaml")
                    .display()
                    .to_string(),
            ]),
        ),
        (
            "assets discover",
            strings(&["assets", "discover", "--log", &logs]),
        ),
        ("audit verify", strings(&["audit", "verify", "--db", &db])),
        ("audit export", strings(&["audit", "export", "--db", &db])),
        (
            "audit keygen",
            strings(&[
                "audit",
                "keygen",
                "--key",
                &path(&format!("key{idx}")),
                "--public",
                &path(&format!("key{idx}.pub")),
            ]),
        ),
        ("governance status", gov(strings(&["governance", "status"]))),
        ("model list", gov(strings(&["model", "list"]))),
        ("incident list", gov(strings(&["incident", "list"]))),
        ("retrain list", gov(strings(&["retrain", "list"]))),
    ]
}

fn common_policy() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("policies/ai_governance_policy.yaml")
        .display()
        .to_string()
}

/// A fresh token of the AI identity `scorer-1`, for a revoke to act on (a person's token is
/// issued only to that person, with their own passphrase).
fn token_id(db: &str, policy: &str) -> String {
    let output = otsentry(&[
        "token", "create", "scorer-1", "--days", "1", "--db", db, "--policy", policy, "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let issued: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    issued["id"].as_str().expect("a token id").to_owned()
}

#[test]
fn every_subcommand_exits_0_without_a_panic_when_its_reader_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    write_logs(&dir.path().join("logs"), &plant(START, 15.0, 1800.0));
    train(
        &dir.path().join("logs"),
        &dir.path().join("plant.model"),
        &[],
    );
    let db = dir.path().join("gov.db").display().to_string();
    let policy = common_policy();
    for args in [
        vec!["db", "init", "--db", &db],
        vec![
            "principal",
            "add",
            "root",
            "--role",
            "admin",
            "--db",
            &db,
            "--policy",
            &policy,
        ],
        vec![
            "principal",
            "add",
            "scorer-1",
            "--component",
            "scorer",
            "--db",
            &db,
            "--policy",
            &policy,
        ],
    ] {
        let output = otsentry(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    }

    // `serve` writes nothing on stdout (it logs on stderr) and runs until stopped.
    let mut expected = subcommands();
    assert!(
        expected.remove("serve"),
        "serve is a subcommand: {expected:?}"
    );
    // These read a person's secret (passphrase, enrollment code) or a signing key on standard
    // input or from a file the person holds; they print a line or two once it is accepted and
    // are covered by the governance and retraining tests, not here.
    for interactive in [
        "governance approve",
        "principal enroll",
        "principal redeem",
        "audit adopt-key",
        "incident open",
        "incident close",
        "incident review",
        "incident canary",
        "retrain request",
        "retrain approve",
    ] {
        assert!(
            expected.remove(interactive),
            "{interactive} is a subcommand"
        );
    }
    // Not covered here yet, each with its own tests: `watch` runs until stopped like `serve`
    // (tests/watch.rs); `certify` scores 1.2 million polls (tests/registry_cli.rs); the registry
    // commands need a registered, signed version first (tests/registry_*.rs; `model compare` a
    // staging version with evidence, tests/watch_staging.rs; `model reject` a candidate,
    // tests/registry_promotion.rs); `triage` needs an
    // alert in the store (tests/triage.rs); `retrain run` an approved request (tests/retrain_cli.rs).
    for later in [
        "watch",
        "certify",
        "triage",
        "model register",
        "model stage",
        "model ack",
        "model promote",
        "model rollback",
        "model card",
        "model compare",
        "model reject",
        "model sign",
        "model verify",
        "retrain run",
    ] {
        assert!(expected.remove(later), "{later} is a subcommand");
    }
    for (idx, reader) in [Reader::Gone, Reader::StopsAfterOneByte]
        .into_iter()
        .enumerate()
    {
        let cases = cases(dir.path(), idx);
        let covered: BTreeSet<String> = cases.iter().map(|(name, _)| name.to_string()).collect();
        assert_eq!(covered, expected, "every subcommand has a case");
        for (name, args) in cases {
            let (code, err) = run_with_reader(&args, reader);
            assert!(
                !err.contains("panicked"),
                "{name} ({reader:?}) panicked: {err}"
            );
            assert_eq!(code, Some(0), "{name} ({reader:?}): {err}");
        }
    }
    for args in [["--help"], ["--version"]] {
        for reader in [Reader::Gone, Reader::StopsAfterOneByte] {
            let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
            let (code, err) = run_with_reader(&args, reader);
            assert!(!err.contains("panicked"), "{args:?} ({reader:?}): {err}");
            assert_eq!(code, Some(0), "{args:?} ({reader:?}): {err}");
        }
    }
}
