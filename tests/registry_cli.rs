//! The real binary on a model trained from real Zeek TSV files: the detached signature is
//! verified at load and a tampered artifact or signature is refused; `certify` reports every
//! field of the slow-drift test per detector and combined, stores it with the registry version,
//! and `model show` and `model card` print it; a failed model cannot be promoted.

mod plant_logs;

use std::path::Path;

use otsentry::model::ModelFile;
use plant_logs::*;

fn trained(dir: &Path) -> std::path::PathBuf {
    let logs = dir.join("logs");
    write_logs(&logs, &plant(START, 15.0, 300.0));
    let model = dir.join("m.otm");
    train(&logs, &model, &[]);
    model
}

fn keys(dir: &Path) -> (String, String) {
    let key = dir.join("site.key");
    let public = dir.join("site.pub");
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

fn verify(model: &Path, public: &str) -> std::process::Output {
    otsentry(&[
        "model",
        "verify",
        model.to_str().unwrap(),
        "--public-key",
        public,
    ])
}

#[test]
fn a_signed_model_verifies_and_every_tampering_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let (key, public) = keys(dir.path());
    let sig = dir.path().join("m.otm.sig");

    let unsigned = verify(&model, &public);
    assert_eq!(unsigned.status.code(), Some(2));
    assert!(
        stderr(&unsigned).contains("has no signature file"),
        "{}",
        stderr(&unsigned)
    );

    let signed = otsentry(&["model", "sign", model.to_str().unwrap(), "--key", &key]);
    assert!(signed.status.success(), "{}", stderr(&signed));
    let ok = verify(&model, &public);
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("is whole and signed by"));

    // Another site's key.
    let other = tempfile::tempdir().unwrap();
    let (_, other_public) = keys(other.path());
    let wrong = verify(&model, &other_public);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(
        stderr(&wrong).contains("not by the site key"),
        "{}",
        stderr(&wrong)
    );

    // The signed manifest edited (a different dataset claimed).
    let original = std::fs::read_to_string(&sig).unwrap();
    let mut document: serde_json::Value = serde_json::from_str(&original).unwrap();
    document["manifest"]["dataset_sha256"] = serde_json::Value::from("0".repeat(64));
    std::fs::write(&sig, document.to_string()).unwrap();
    let edited = verify(&model, &public);
    assert_eq!(edited.status.code(), Some(2));
    assert!(
        stderr(&edited).contains("does not verify"),
        "{}",
        stderr(&edited)
    );
    std::fs::write(&sig, "not json").unwrap();
    let garbage = verify(&model, &public);
    assert!(
        stderr(&garbage).contains("is not valid"),
        "{}",
        stderr(&garbage)
    );
    std::fs::write(&sig, &original).unwrap();

    // The provenance inside the model edited and re-sealed (trailer and sidecar recomputed): the
    // file loads, but it is not the artifact that was signed.
    let mut loaded = ModelFile::load(&model).unwrap();
    loaded.file.manifest.dataset_sha256 = "0".repeat(64);
    loaded.file.write(&model).unwrap();
    let resealed = verify(&model, &public);
    assert_eq!(resealed.status.code(), Some(2));
    assert!(
        stderr(&resealed).contains("signed model sha256"),
        "{}",
        stderr(&resealed)
    );

    // A flipped byte fails the trailer before the signature is even read.
    let mut bytes = std::fs::read(&model).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&model, &bytes).unwrap();
    let damaged = verify(&model, &public);
    assert_eq!(damaged.status.code(), Some(2));
    assert!(
        stderr(&damaged).contains("modified or damaged"),
        "{}",
        stderr(&damaged)
    );
}

#[test]
fn certify_reports_every_field_and_a_failed_model_is_not_promoted() {
    let dir = tempfile::tempdir().unwrap();
    let model = trained(dir.path());
    let model_arg = model.to_str().unwrap();
    let db = dir.path().join("otsentry.db");
    let db_arg = db.to_str().unwrap();
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/ai_governance_policy.yaml"
    );
    let gov = ["--db", db_arg, "--policy", policy];

    let bad = otsentry(&["certify", model_arg, "--polls-per-day", "1"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--polls-per-day"), "{}", stderr(&bad));

    let register = otsentry(&[&["model", "register", model_arg][..], &gov].concat());
    assert!(register.status.success(), "{}", stderr(&register));
    assert!(stdout(&register).contains("registered version 1"));

    let certify = otsentry(
        &[
            &[
                "certify",
                model_arg,
                "--drift-days",
                "2",
                "--polls-per-day",
                "600",
                "--format",
                "json",
            ][..],
            &gov,
        ]
        .concat(),
    );
    assert!(certify.status.success(), "{}", stderr(&certify));
    let report: serde_json::Value = serde_json::from_str(&stdout(&certify)).unwrap();
    let drift = &report["drift"];
    let detectors: Vec<&str> = drift["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["detector"].as_str().unwrap())
        .collect();
    assert!(detectors.contains(&"forest"), "{detectors:?}");
    assert!(detectors.contains(&"novelty"), "{detectors:?}");
    for result in drift["detectors"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&drift["combined"]])
    {
        assert_eq!(result["drift_days"], 2);
        assert_eq!(result["initial_value"], 250.0);
        assert_eq!(result["target_value"], 450.0);
        assert_eq!(result["total_polls"], 1200);
        let detected = result["detected"].as_u64().unwrap();
        let rate = result["detection_rate"].as_f64().unwrap();
        assert!((rate - detected as f64 / 1200.0).abs() < 1e-12);
        let first = result["first_detection_day"].as_u64();
        assert_eq!(first.is_some(), detected > 0, "{result}");
        assert!(first.is_none_or(|day| (1..=2).contains(&day)), "{result}");
        let control = result["control_rate"].as_f64().unwrap();
        let meets = rate >= 0.9 && first.is_some_and(|day| day <= 5) && control <= 0.1;
        assert_eq!(result["meets_requirement"], meets, "{result}");
    }
    assert_eq!(report["passed"], drift["combined"]["meets_requirement"]);
    assert_eq!(
        report["model_sha256"].as_str().unwrap(),
        ModelFile::load(&model).unwrap().sha256
    );

    let show = otsentry(&[&["model", "show", model_arg][..], &gov].concat());
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(
        stdout(&show).contains("registry version"),
        "{}",
        stdout(&show)
    );
    assert!(stdout(&show).contains("drift forest"), "{}", stdout(&show));
    assert!(
        stdout(&show).contains("variant timing_mimicry"),
        "{}",
        stdout(&show)
    );

    let card = otsentry(&[&["model", "card", "1"][..], &gov].concat());
    assert!(card.status.success(), "{}", stderr(&card));
    let card = stdout(&card);
    assert!(card.contains("## Certification"), "{card}");
    assert!(card.contains("| forest | 2 | 250"), "{card}");
    assert!(card.contains("## Known blind spots"), "{card}");
    assert!(card.contains("Realistic variants:"), "{card}");
    // The plant's logs have no register values: the register drift cannot run, a blind spot.
    assert!(
        card.contains("- register_drift: not caught as required"),
        "{card}"
    );

    let stage = otsentry(&[&["model", "stage", "1"][..], &gov].concat());
    assert!(stage.status.success(), "{}", stderr(&stage));
    let promote = otsentry(&[&["model", "promote", "1"][..], &gov].concat());
    assert_eq!(promote.status.code(), Some(2));
    if report["passed"] == false {
        assert!(
            stderr(&promote).contains("failed its adversarial certification"),
            "{}",
            stderr(&promote)
        );
    }
    assert!(
        stderr(&promote).contains("staging period"),
        "{}",
        stderr(&promote)
    );

    let list = otsentry(&[&["model", "list", "--format", "json"][..], &gov].concat());
    let versions: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(versions[0]["stage"], "staging");

    // The uncertified version is rejected: archived without ever running, with its reason;
    // neither a second rejection nor a promotion moves it again.
    let reject = otsentry(
        &[
            &["model", "reject", "1", "--reason", "fails register drift"][..],
            &gov,
        ]
        .concat(),
    );
    assert!(reject.status.success(), "{}", stderr(&reject));
    let list = otsentry(&[&["model", "list", "--format", "json"][..], &gov].concat());
    let versions: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(versions[0]["stage"], "archived");
    for again in [
        &["model", "reject", "1", "--reason", "again"][..],
        &["model", "promote", "1"][..],
    ] {
        let refused = otsentry(&[again, &gov].concat());
        assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
        assert!(
            stderr(&refused).contains("archived"),
            "{}",
            stderr(&refused)
        );
    }
}

mod common;

/// The simulator-style poisoning: an attacker polls and writes a PLC from day 1 of the new
/// window. Production never saw it; the candidate learnt it, and the baseline diff names it.
#[test]
fn a_poisoned_window_shows_up_in_the_baseline_diff() {
    use otsentry::governance::{Actor, StagingOverride};
    use otsentry::store::NewModelVersion;

    let dir = tempfile::tempdir().unwrap();
    let clean = trained(dir.path());
    let poisoned_logs = dir.path().join("poisoned");
    let mut polls = plant(START, 15.0, 300.0);
    let mut ts = START;
    let mut idx = 0;
    while ts < START + 15.0 * 86_400.0 {
        polls.push(Poll {
            ts: ts + 17.0,
            uid: format!("Cattacker{idx:06}"),
            orig: "10.0.0.101",
            resp: "10.0.1.2",
            func: "WRITE_SINGLE_REGISTER",
            orig_bytes: 12,
        });
        idx += 1;
        ts += 3_600.0;
    }
    polls.sort_by(|a, b| a.ts.total_cmp(&b.ts));
    write_logs(&poisoned_logs, &polls);
    let candidate = dir.path().join("poisoned.otm");
    train(&poisoned_logs, &candidate, &[]);

    let db = dir.path().join("otsentry.db");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // Production: the clean model, put there through the registry's own checks.
        let governance = common::governance(&db, None).await;
        common::enrolled(&governance, "root", &["admin"]).await;
        let admin = governance
            .console_login("root", &common::passphrase_of("root"))
            .await
            .unwrap();
        let loaded = ModelFile::load(&clean).unwrap();
        let version = governance
            .register_model(
                Actor::Local,
                NewModelVersion {
                    sha256: loaded.sha256.clone(),
                    parent_id: None,
                    path: clean.display().to_string(),
                    provenance: serde_json::to_value(&loaded.file.manifest).unwrap(),
                    registered_by: String::new(),
                    at: 0,
                },
                None,
            )
            .await
            .unwrap();
        governance
            .stage_model(Actor::Local, version.id)
            .await
            .unwrap();
        // A stand-in for a passing certification: the drift test fails every model today.
        let report = serde_json::json!({ "model_sha256": loaded.sha256 });
        governance
            .record_certification(Actor::Local, version.id, &report, true)
            .await
            .unwrap();
        let over = StagingOverride {
            admin: &admin,
            justification: "test fixture",
        };
        governance
            .promote_model(Actor::Local, version.id, Some(over))
            .await
            .unwrap();
        governance.close().await;
    });

    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/ai_governance_policy.yaml"
    );
    let gov = ["--db", db.to_str().unwrap(), "--policy", policy];
    let register = otsentry(
        &[
            &["model", "register", candidate.to_str().unwrap()][..],
            &gov,
        ]
        .concat(),
    );
    assert!(register.status.success(), "{}", stderr(&register));
    assert!(
        stdout(&register).contains("baseline diff against version 1"),
        "{}",
        stdout(&register)
    );
    let card = otsentry(&[&["model", "card", "2"][..], &gov].concat());
    let card = stdout(&card);
    assert!(
        card.contains("host `10.0.0.101`: **not acknowledged**"),
        "{card}"
    );
    assert!(
        card.contains("edge `10.0.0.101 -> 10.0.1.2:502/tcp modbus`"),
        "{card}"
    );
    assert!(card.contains("function `WRITE_SINGLE_REGISTER`"), "{card}");
    assert!(
        !card.contains("10.0.0.5 -> 10.0.1.1"),
        "known edges are not items: {card}"
    );
}
