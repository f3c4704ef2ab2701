//! Unit tests of the tcp sink: its URL and its lines (the loopback tests are in
//! tests/delivery.rs).

use crate::delivery::{Target, parse_url};

fn check_url(url: &str, expected: Result<(&str, u16, bool), &str>) {
    match (parse_url(url), expected) {
        (Ok(Target::Tcp(config)), Ok((host, port, tls))) => {
            assert_eq!(
                (config.host.as_str(), config.port, config.tls),
                (host, port, tls)
            );
        }
        (Err(error), Err(message)) => {
            let text = error.to_string();
            assert!(text.contains(message), "{url}: {text:?} lacks {message:?}");
            assert!(text.contains(url), "{url}: {text:?} does not name the url");
        }
        (other, expected) => panic!("{url}: got {other:?}, expected {expected:?}"),
    }
}

#[test]
fn urls() {
    check_url("tcp://127.0.0.1:5044", Ok(("127.0.0.1", 5044, false)));
    check_url(
        "tcp+tls://logstash.example:6514",
        Ok(("logstash.example", 6514, true)),
    );
    check_url("tcp://[::1]:5044", Ok(("::1", 5044, false)));
    check_url("tcp://127.0.0.1", Err("needs a port"));
    check_url("tcp://127.0.0.1:0", Err("port 0"));
    check_url("tcp://127.0.0.1:99999", Err("not a number from 1 to 65535"));
    check_url("tcp://:5044", Err("no host"));
    check_url("tcp://127.0.0.1:5044/x", Err("has no path"));
    check_url("tcp://[::1:5044", Err("closing ]"));
    check_url("tcpx://127.0.0.1:5044", Err("unknown scheme"));
    check_url("127.0.0.1:5044", Err("expected scheme://host:port"));
}

#[test]
fn lines_are_ecs_json() {
    let alert = crate::sinks::sample::alert(3);
    let record = crate::delivery::Record {
        seq: 3,
        spooled_ms: 0,
        event: crate::sinks::SiemEvent::Alert(alert.clone()),
    };
    let mut out = Vec::new();
    super::encode(&[record.clone(), record], &mut out);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    let value: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(value["event"]["id"], alert.id.as_str());
    assert_eq!(value["source"]["ip"], "10.0.0.3");
    assert!(text.ends_with('\n'));
}
