//! Unit tests of the HEC sink: its URL and its events (the loopback collector is in
//! tests/delivery.rs).

use crate::delivery::{Record, Target, parse_url};

#[test]
fn urls() {
    for (url, base, path) in [
        (
            "https://splunk.example:8088",
            "https://splunk.example:8088",
            "/services/collector/event",
        ),
        (
            "https://splunk.example",
            "https://splunk.example:443",
            "/services/collector/event",
        ),
        (
            "http://127.0.0.1:8088/",
            "http://127.0.0.1:8088",
            "/services/collector/event",
        ),
        (
            "https://[::1]:8088/services/collector",
            "https://[::1]:8088",
            "/services/collector",
        ),
    ] {
        let Ok(Target::Hec(config)) = parse_url(url) else {
            panic!("{url} not parsed");
        };
        assert_eq!(
            (config.base.as_str(), config.event_path.as_str()),
            (base, path),
            "{url}"
        );
    }
    for (url, message) in [
        ("http://splunk.example:8088", "token in clear"),
        (
            "https://user:pw@splunk.example",
            "credentials do not belong",
        ),
        ("https://splunk.example:8088/x?y=1", "query string"),
    ] {
        let text = parse_url(url).unwrap_err().to_string();
        assert!(text.contains(message), "{url}: {text}");
    }
}

#[test]
fn events_carry_the_ecs_form() {
    let record = Record {
        seq: 0,
        spooled_ms: 0,
        event: crate::sinks::SiemEvent::Alert(crate::sinks::sample::alert(9)),
    };
    let value: serde_json::Value = serde_json::from_str(&super::event_of(&record)).unwrap();
    assert_eq!(value["sourcetype"], "otsentry:alert");
    assert_eq!(value["event"]["event"]["id"], record.event.id());
    assert_eq!(value["time"], 1_700_000_002.25);
}
