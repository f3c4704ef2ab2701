//! Unit tests of the file sink: its URL, its lines, rotation by size.

use crate::delivery::{DeliveryConfig, Record, Target, Transport, parse_url};

#[test]
fn urls() {
    let Ok(Target::File(config)) = parse_url("file:///var/log/otsentry/alerts.jsonl") else {
        panic!("file url not parsed");
    };
    assert_eq!(
        config.path.unwrap().to_str(),
        Some("/var/log/otsentry/alerts.jsonl")
    );
    let Ok(Target::File(config)) = parse_url("-") else {
        panic!("- not parsed");
    };
    assert_eq!(config.path, None);
    for (url, message) in [
        ("file://", "no path"),
        ("file:///var/log/", "names a directory"),
        ("file:///var/log/a\nb", "control characters"),
    ] {
        let text = parse_url(url).unwrap_err().to_string();
        assert!(text.contains(message), "{url}: {text}");
    }
}

#[test]
fn rotates_by_size_and_keeps_every_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alerts.jsonl");
    let delivery = DeliveryConfig {
        file_max_bytes: 4096,
        file_keep: 100,
        ..DeliveryConfig::default()
    };
    let mut sink = super::FileSink::new(
        super::FileConfig {
            path: Some(path.clone()),
        },
        &delivery,
    );
    for seq in 0..40 {
        let record = Record {
            seq,
            spooled_ms: 0,
            event: crate::sinks::SiemEvent::Alert(crate::sinks::sample::alert(seq)),
        };
        sink.send(&[record]).unwrap();
        assert_eq!(sink.confirmed(false).unwrap(), Some(seq + 1));
    }
    let mut files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() > 3, "expected rotation, got {files:?}");
    let mut ids = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.len() <= 4096 + 2048,
            "{file:?} is {} bytes",
            text.len()
        );
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            ids.push(value["event"]["id"].as_str().unwrap().to_string());
        }
    }
    ids.sort();
    let mut expected: Vec<String> = (0..40).map(|n| format!("{n:032x}")).collect();
    expected.sort();
    assert_eq!(ids, expected);
}
