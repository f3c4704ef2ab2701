//! The staging period with the real binary on `otsentry simulate`'s logs and a real SQLite
//! registry: a promotion without staging evidence is refused with the reason; `watch --staging`
//! scores the candidate beside production, its would-be alerts never reach the SIEM sink and
//! land in the database next to production's, and survive a restart without being counted
//! twice; with the evidence (and the policy's period over) the promotion passes.

mod plant_logs;

use std::path::{Path, PathBuf};

use plant_logs::{otsentry, stderr, stdout, train};

struct Site {
    dir: PathBuf,
    db: String,
    policy: String,
    public: String,
}

impl Site {
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", &self.db, "--policy", &self.policy]);
        otsentry(&all)
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stdout(&output)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The simulated plant, two signed and certified models, version 1 in production (the first
/// model, by the admin's override), version 2 staged; the policy's staging period is `days`.
fn site(dir: &Path, days: u32) -> (Site, PathBuf, PathBuf) {
    let logs = dir.join("logs");
    let simulated = otsentry(&[
        "simulate",
        "--out",
        path(&logs),
        "--days",
        "3",
        "--plcs",
        "2",
        "--poll-ms",
        "20000",
        "--attacks",
        "none",
    ]);
    assert!(simulated.status.success(), "{}", stderr(&simulated));
    let a = dir.join("a.model");
    let b = dir.join("b.model");
    let short = ["--allow-short-baseline", "--until"];
    train(&logs, &a, &[short[0], short[1], "2026-10-02T00:00:00Z"]);
    train(
        &logs,
        &b,
        &[short[0], "--seed", "7", short[1], "2026-10-02T12:00:00Z"],
    );
    let key = dir.join("site.key");
    let public = dir.join("site.pub");
    let keygen = otsentry(&[
        "audit",
        "keygen",
        "--key",
        path(&key),
        "--public",
        path(&public),
    ]);
    assert!(keygen.status.success(), "{}", stderr(&keygen));
    for model in [&a, &b] {
        let signed = otsentry(&["model", "sign", path(model), "--key", path(&key)]);
        assert!(signed.status.success(), "{}", stderr(&signed));
    }
    let retraining = std::fs::read_to_string(plant_logs_repo("policies/retraining_policy.yaml"))
        .unwrap()
        .replace(
            "staging_period_days: 3",
            &format!("staging_period_days: {days}"),
        );
    let retraining_path = dir.join("retraining_policy.yaml");
    std::fs::write(&retraining_path, retraining).unwrap();
    let site = Site {
        dir: dir.to_path_buf(),
        db: path(&dir.join("registry.db")).to_string(),
        policy: format!(
            "{},{}",
            path(&plant_logs_repo("policies/ai_governance_policy.yaml")),
            path(&retraining_path)
        ),
        public: path(&public).to_string(),
    };
    let added = site.ok(&["principal", "add", "root", "--role", "admin"]);
    let code = added
        .split_whitespace()
        .find(|word| word.starts_with("otsenroll_"))
        .expect("an enrollment code")
        .to_string();
    let pass = dir.join("root.pass");
    std::fs::write(&pass, "correct horse battery staple root\n").unwrap();
    with_stdin(&site, &["principal", "redeem", &code], &pass);
    for (version, model) in [("1", &a), ("2", &b)] {
        site.ok(&[
            "model",
            "register",
            path(model),
            "--public-key",
            &site.public,
        ]);
        // The shortened drift test from the edge's median: a pass on this plant, in seconds.
        site.ok(&[
            "certify",
            path(model),
            "--polls-per-day",
            "200",
            "--from-edge-median",
        ]);
        site.ok(&["model", "stage", version]);
        if version == "1" {
            with_stdin(
                &site,
                &[
                    "model",
                    "promote",
                    "1",
                    "--override-staging",
                    "root",
                    "--justification",
                    "the site's first model, CHG-1",
                ],
                &pass,
            );
        }
    }
    (site, logs, a)
}

fn plant_logs_repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn with_stdin(site: &Site, args: &[&str], input: &Path) -> String {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--db", &site.db, "--policy", &site.policy]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args(&all)
        .stdin(std::fs::File::open(input).unwrap())
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    stdout(&output)
}

fn watch(
    site: &Site,
    logs: &Path,
    model: &Path,
    state: &Path,
    siem: &Path,
) -> std::process::Output {
    site.run(&[
        "watch",
        "--log",
        path(logs),
        "--model",
        path(model),
        "--public-key",
        &site.public,
        "--staging",
        "--state-dir",
        path(state),
        "--siem",
        &format!("file://{}", path(siem)),
        "--exit-when-idle",
        "--poll-ms",
        "50",
    ])
}

fn evidence(site: &Site) -> serde_json::Value {
    serde_json::from_str(&site.ok(&["model", "compare", "2", "--format", "json"])).unwrap()
}

fn totals(evidence: &serde_json::Value, side: &str) -> u64 {
    evidence["counts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|count| count["side"] == side)
        .map(|count| count["alerts"].as_u64().unwrap())
        .sum()
}

/// Copies every log's first `keep` lines (all of them when `keep` is `None`).
fn copy_logs(from: &Path, to: &Path, keep: Option<usize>) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if !name.to_string_lossy().ends_with(".log") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let n = keep.map_or(lines.len(), |keep| keep.min(lines.len()));
        let mut out = lines[..n].join("\n");
        out.push('\n');
        std::fs::write(to.join(name), out).unwrap();
    }
}

#[test]
fn staging_evidence_is_gathered_beside_production_and_gates_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let (site, logs, production) = site(dir.path(), 0);

    // Staged, certified, period 0 days: still refused, it never scored beside production.
    let refused = site.run(&["model", "promote", "2"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("never scored live traffic beside production"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(evidence(&site), serde_json::Value::Null);

    // Half the logs, then the rest after a restart, as a live site would see them.
    let live = site.dir.join("live");
    copy_logs(&logs, &live, Some(40_000));
    let state = site.dir.join("state");
    let siem = site.dir.join("siem.jsonl");
    let first = watch(&site, &live, &production, &state, &siem);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("would-be alerts"),
        "{}",
        stderr(&first)
    );
    let after_first = evidence(&site);
    let records_first = after_first["records"].as_u64().unwrap();
    assert!(records_first > 0, "{after_first}");
    copy_logs(&logs, &live, None);
    let second = watch(&site, &live, &production, &state, &siem);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stderr(&second).contains("resumed from a checkpoint"));
    let after = evidence(&site);
    assert!(after["records"].as_u64().unwrap() > records_first);
    assert!(
        after["scored_micros"].as_i64().unwrap() > after_first["scored_micros"].as_i64().unwrap()
    );

    // The same logs in one run on a copy of the registry made before: the restart neither lost
    // nor doubled anything.
    let once = tempfile::tempdir().unwrap();
    let (fresh, fresh_logs, fresh_production) = site_copy(&site, once.path(), &logs, &production);
    let single = watch(
        &fresh,
        &fresh_logs,
        &fresh_production,
        &once.path().join("state"),
        &once.path().join("siem.jsonl"),
    );
    assert!(single.status.success(), "{}", stderr(&single));
    let whole = evidence(&fresh);
    assert_eq!(after["records"], whole["records"]);
    assert_eq!(after["rows_scored"], whole["rows_scored"]);
    assert!(totals(&after, "production") > 0, "{after}");

    // Every SIEM event is production's: the candidate's would-be alerts never reach a sink.
    let b_sha = after_sha(&site, 2);
    let a_sha = after_sha(&site, 1);
    let events = std::fs::read_to_string(&siem).unwrap();
    assert!(!events.is_empty());
    assert!(!events.contains(&b_sha));
    let opened = events
        .lines()
        .filter(|line| line.contains("\"alert_opened\""))
        .count() as u64;
    assert_eq!(opened, totals(&after, "production"));
    assert!(
        events
            .lines()
            .all(|line| !line.contains("model_sha256") || line.contains(&a_sha))
    );

    // With the evidence and the period over, the promotion passes; show names the evidence.
    let shown = site.ok(&["model", "show", path(&site.dir.join("b.model"))]);
    assert!(shown.contains("staging evidence"), "{shown}");
    assert!(shown.contains("would-be"), "{shown}");
    // The model card shows the same evidence, by rule and by day, as `model compare` does.
    let card = site.ok(&["model", "card", "2"]);
    assert!(card.contains("## Staging beside production"), "{card}");
    let compared = site.ok(&["model", "compare", "2"]);
    for line in compared.lines().filter(|line| line.contains("would-be,")) {
        let cells: Vec<&str> = line
            .split('|')
            .map(str::trim)
            .filter(|cell| !cell.is_empty())
            .collect();
        assert!(
            card.contains(&format!("| {} | {} |", cells[0], cells[1])),
            "{line} not in the card:\n{card}"
        );
    }
    assert!(card.contains("| day 2026-10-0"), "{card}");
    assert!(
        card.contains("scored live traffic beside production"),
        "{card}"
    );
    site.ok(&["model", "promote", "2"]);
    // Evidence is recorded only for a staging model: watch on the archived one is refused.
    let refused = watch(&site, &live, &production, &site.dir.join("state2"), &siem);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("not production"),
        "{}",
        stderr(&refused)
    );
    // Rolling back to version 1 needs its registered file: moved away, the rollback is refused
    // and production stays version 2; put back, version 1 returns.
    let moved = site.dir.join("moved.model");
    std::fs::rename(&production, &moved).unwrap();
    let refused = site.run(&["model", "rollback"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("version 1's artifact")
            && stderr(&refused).contains("its file cannot be read")
            && stderr(&refused).contains("production is unchanged"),
        "{}",
        stderr(&refused)
    );
    let list = site.ok(&["model", "list"]);
    let stage_of = |list: &str, version: &str| {
        list.lines()
            .find(|line| {
                line.trim_start_matches(['|', ' '])
                    .starts_with(&format!("{version} "))
            })
            .map(|line| line.contains("production"))
    };
    assert_eq!(stage_of(&list, "2"), Some(true), "{list}");
    std::fs::rename(&moved, &production).unwrap();
    let restored = site.ok(&["model", "rollback"]);
    assert!(restored.contains("rolled back to"), "{restored}");
    let list = site.ok(&["model", "list"]);
    assert_eq!(stage_of(&list, "1"), Some(true), "{list}");
    let verify = otsentry(&["audit", "verify", "--db", &site.db]);
    assert!(verify.status.success(), "{}", stderr(&verify));
}

/// The registry `site` had before any watch, on another directory (built the same way).
fn site_copy(
    _site: &Site,
    dir: &Path,
    logs: &Path,
    _production: &Path,
) -> (Site, PathBuf, PathBuf) {
    let (fresh, _, production) = site(dir, 0);
    let whole = dir.join("whole");
    copy_logs(logs, &whole, None);
    (fresh, whole, production)
}

fn after_sha(site: &Site, version: i64) -> String {
    let list: serde_json::Value =
        serde_json::from_str(&site.ok(&["model", "list", "--format", "json"])).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == version)
        .unwrap()["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_staging_period_counts_only_time_scored_beside_production() {
    let dir = tempfile::tempdir().unwrap();
    let (site, logs, production) = site(dir.path(), 3);
    let state = site.dir.join("state");
    let siem = site.dir.join("siem.jsonl");
    let run = watch(&site, &logs, &production, &state, &siem);
    assert!(run.status.success(), "{}", stderr(&run));
    let refused = site.run(&["model", "promote", "2"]);
    assert!(!refused.status.success());
    let message = stderr(&refused);
    assert!(
        message.contains("the candidate scored live traffic beside production for 0 of 72 hour(s)"),
        "{message}"
    );
    assert!(message.contains("72 hour(s) left"), "{message}");
}

/// Time the watch sat idle, with nothing new to score, does not count toward the staging
/// period: only time in which the candidate scored records beside production does.
#[test]
fn idle_time_beside_production_does_not_count_toward_the_staging_period() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let (site, logs, production) = site(dir.path(), 3);
    let state = site.dir.join("state");
    let siem = site.dir.join("siem.jsonl");
    let started = Instant::now();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_otsentry"))
        .args([
            "watch",
            "--log",
            path(&logs),
            "--model",
            path(&production),
            "--public-key",
            &site.public,
            "--staging",
            "--state-dir",
            path(&state),
            "--siem",
            &format!("file://{}", path(&siem)),
            "--poll-ms",
            "50",
            "--db",
            &site.db,
            "--policy",
            &site.policy,
        ])
        .env("OTSENTRY_STAGING_RECORD_MS", "100")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Until every record is scored: the evidence stops growing.
    let mut last = 0;
    let mut stable_since = Instant::now();
    let busy = loop {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the watch never finished its logs"
        );
        std::thread::sleep(Duration::from_millis(100));
        let records = evidence(&site)["records"].as_u64().unwrap_or(0);
        if records == 0 || records != last {
            last = records;
            stable_since = Instant::now();
        } else if stable_since.elapsed() > Duration::from_millis(600) {
            break started.elapsed();
        }
    };
    // Idle: the watch polls logs in which nothing new arrives.
    let idle = Duration::from_secs(4);
    std::thread::sleep(idle);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let whole = started.elapsed();
    let scored = Duration::from_micros(evidence(&site)["scored_micros"].as_u64().unwrap());
    assert!(scored > Duration::ZERO);
    assert!(
        scored < busy + Duration::from_secs(1),
        "scored {scored:?} of a run of {whole:?} that was busy for {busy:?} and then idle for {idle:?}"
    );
}
