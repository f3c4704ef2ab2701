//! Unit and property tests of the syslog sink: its URL, the RFC 5424 and CEF formatters checked
//! by parsing their output with syslog_loose (Vector's parser) and our CEF parser.

use proptest::prelude::*;

use super::encode::{
    Cef, cef_of, message, normalised_header, normalised_value, octet_counted, parse_cef,
};
use super::{SyslogConfig, SyslogTransport};
use crate::delivery::{Target, parse_url};
use crate::detect::Severity;

#[test]
fn urls() {
    for (url, transport, port) in [
        ("syslog+udp://127.0.0.1", SyslogTransport::Udp, 514),
        ("syslog+tcp://127.0.0.1:1514", SyslogTransport::Tcp, 1514),
        ("syslog+tls://siem.example", SyslogTransport::Tls, 6514),
    ] {
        let Ok(Target::Syslog(SyslogConfig {
            transport: got,
            port: got_port,
            ..
        })) = parse_url(url)
        else {
            panic!("{url} not parsed");
        };
        assert_eq!((got, got_port), (transport, port), "{url}");
    }
    let text = parse_url("syslog+tcp://h:514/path")
        .unwrap_err()
        .to_string();
    assert!(text.contains("has no path"), "{text}");
}

/// Parses one of our messages with syslog_loose and returns its CEF.
fn round_trip(line: &str) -> (syslog_loose::Message<&str>, Cef) {
    let parsed = syslog_loose::parse_message(line, syslog_loose::Variant::RFC5424);
    assert_eq!(
        parsed.protocol,
        syslog_loose::Protocol::RFC5424(1),
        "{line}"
    );
    let cef = parse_cef(parsed.msg).unwrap_or_else(|error| panic!("{error}: {}", parsed.msg));
    (parsed, cef)
}

#[test]
fn a_message_round_trips_through_syslog_loose() {
    let mut alert = crate::sinks::sample::alert(7);
    alert.severity = Severity::High;
    let line = message(&alert, "sensor-1");
    let (parsed, cef) = round_trip(&line);
    assert_eq!(parsed.hostname, Some("sensor-1"));
    assert_eq!(parsed.appname, Some("otsentry"));
    assert_eq!(parsed.msgid, Some("alert"));
    assert_eq!(parsed.severity, Some(syslog_loose::SyslogSeverity::SEV_ERR));
    assert_eq!(
        parsed.facility,
        Some(syslog_loose::SyslogFacility::LOG_LOCAL4)
    );
    let sd = &parsed.structured_data[0];
    assert_eq!(sd.id, "otsentry@32473");
    let params: Vec<(String, String)> = sd
        .params()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert!(
        params.contains(&("id".into(), alert.id.clone())),
        "{params:?}"
    );
    assert_eq!(cef.severity, "8");
    assert_eq!(cef.signature_id, "novelty.new_source");
    assert_eq!(cef.get("externalId"), Some(alert.id.as_str()));
    assert_eq!(cef.get("cs1"), Some("T0846,T0888"));
    assert_eq!(cef.get("cs1Label"), Some("ATT&CK for ICS techniques"));
    assert_eq!(cef.get("src"), Some("10.0.0.7"));
    assert_eq!(cef.get("dpt"), Some("502"));
    assert_eq!(cef, cef_of(&alert));
}

#[test]
fn severities_map_to_cef_1_4_8_10() {
    for (severity, expected) in [
        (Severity::Low, "1"),
        (Severity::Medium, "4"),
        (Severity::High, "8"),
        (Severity::Critical, "10"),
    ] {
        let mut alert = crate::sinks::sample::alert(1);
        alert.severity = severity;
        assert_eq!(cef_of(&alert).severity, expected);
    }
}

#[test]
fn cef_escaping_cases() {
    let check = |name: &str, value: &str, expected_text: &str| {
        let cef = Cef {
            vendor: "v".into(),
            product: "p".into(),
            version: "1".into(),
            signature_id: "s".into(),
            name: name.into(),
            severity: "1".into(),
            extension: vec![("msg".into(), value.into()), ("cnt".into(), "1".into())],
        };
        let text = cef.format();
        assert_eq!(text, expected_text);
        assert_eq!(parse_cef(&text).unwrap(), cef);
    };
    check("a|b", "x=y", "CEF:0|v|p|1|s|a\\|b|1|msg=x\\=y cnt=1");
    check(
        "back\\slash",
        "c:\\dir",
        "CEF:0|v|p|1|s|back\\\\slash|1|msg=c:\\\\dir cnt=1",
    );
    check(
        "n",
        "two\nlines\r",
        "CEF:0|v|p|1|s|n|1|msg=two\\nlines\\r cnt=1",
    );
    check(
        "n",
        "with space cnt\\=2 ",
        "CEF:0|v|p|1|s|n|1|msg=with space cnt\\\\\\=2  cnt=1",
    );
    check(
        "pipe in value",
        "a|b",
        "CEF:0|v|p|1|s|pipe in value|1|msg=a|b cnt=1",
    );
}

#[test]
fn bad_cef_is_an_error_with_a_position() {
    for (text, message) in [
        ("LEEF:1|x", "does not start"),
        ("CEF:0|a|b|c", "fewer than seven"),
        ("CEF:0|a|b|c|d|e\\x|1|", "escapes neither"),
        ("CEF:0|a|b|c|d|e|1|junk", "without key=value"),
        ("CEF:0|a|b|c|d|e|1|junk k=v", "before the first key"),
        ("CEF:0|a|b|c|d|e|1|k=v\\q", "escapes none"),
        ("CEF:0|a|b|c|d|e|1|k=v b-d=1", "not alphanumeric"),
    ] {
        let error = parse_cef(text).unwrap_err();
        assert!(error.to_string().contains(message), "{text}: {error}");
    }
}

#[test]
fn octet_counting_counts_bytes() {
    let mut out = Vec::new();
    octet_counted("<165>1 é", &mut out);
    assert_eq!(out, "9 <165>1 é".as_bytes());
}

proptest! {
    #[test]
    fn any_text_round_trips(
        title in "\\PC{0,40}",
        reason in "\\PC{0,60}|[ =\\\\|\\n\\r\\t\"\\]a-z]{0,30}",
        rule in "[a-z_|\\\\]{1,12}",
        hostname in "\\PC{0,20}",
        id in "[0-9a-f\"\\]\\\\]{1,40}",
    ) {
        let mut alert = crate::sinks::sample::alert(5);
        alert.title = title.clone();
        alert.rule = rule.clone();
        alert.id = id.clone();
        alert.reasons = vec![crate::detect::Reason::new(reason.clone(), "b")];
        let hostname = super::encode::hostname_field(&hostname);
        let line = message(&alert, &hostname);
        let parsed = syslog_loose::parse_message(&line, syslog_loose::Variant::RFC5424);
        prop_assert_eq!(parsed.hostname, (hostname != "-").then_some(hostname.as_str()));
        let params: Vec<(String, String)> = parsed.structured_data[0]
            .params()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        prop_assert_eq!(&params[0], &("id".to_string(), id.clone()));
        let cef = parse_cef(parsed.msg).unwrap();
        prop_assert_eq!(&cef.name, &normalised_header(&title));
        prop_assert_eq!(&cef.signature_id, &normalised_header(&format!("novelty.{rule}")));
        prop_assert_eq!(cef.get("externalId"), Some(id.as_str()));
        prop_assert_eq!(cef.get("msg").map(str::to_string), Some(normalised_value(&alert.reasons[0].to_string())));
    }
}

#[test]
fn a_triage_event_round_trips_beside_its_alert() {
    use crate::triage::contract::{SkipReason, Stamp};
    use crate::triage::{Advice, event};
    let stamp = Stamp {
        provider: "rules".into(),
        model: "offline-rules-v1".into(),
        triage_timestamp: "2026-12-01T10:00:00.25Z".into(),
    };
    let mut advice = Advice::skipped(SkipReason::QueueDepth, "100 alerts wait", stamp);
    advice.drafts.push(crate::triage::contract::Draft {
        kind: crate::store::RecommendationKind::Setpoint,
        target: "plc-7 HR40001".into(),
        proposed_value: "55".into(),
        rationale: "restore | the = value\nnow".into(),
    });
    let events = event::unstored_events("00ff", &advice);
    let line = super::encode::triage_message(&events[0], "sensor-1");
    let (parsed, cef) = round_trip(&line);
    assert_eq!(parsed.msgid, Some("triage"));
    assert_eq!(
        parsed.severity,
        Some(syslog_loose::SyslogSeverity::SEV_INFO)
    );
    assert_eq!(
        parsed.timestamp.map(|at| at.timestamp_millis()),
        Some(1_796_119_200_250)
    );
    assert_eq!(cef.signature_id, "triage.triage_advice");
    assert_eq!(cef.get("externalId"), Some("00ff.triage"));
    assert_eq!(cef.get("cs5"), Some("00ff"));
    assert_eq!(cef.get("cs6"), Some("requires_investigation"));
    assert_eq!(cef.get("flexString1"), Some("queue_depth"));
    let (_, draft) = round_trip(&super::encode::triage_message(&events[1], "sensor-1"));
    assert_eq!(draft.name, "Draft recommendation: setpoint");
    assert_eq!(draft.get("cs6"), Some("pending_human_approval"));
    assert_eq!(draft.get("cs2"), Some("setpoint plc-7 HR40001 -> 55"));
    assert!(draft.get("msg").unwrap().contains("plc-7"));
    assert_eq!(draft, super::encode::triage_cef(&events[1]));
}
