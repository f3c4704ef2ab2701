//! Delivery to SIEMs with real parts on loopback: a TCP line collector as Logstash (plain and
//! TLS with a client certificate), a HEC server as Splunk (acks, 503 when busy), a real rsyslogd
//! for syslog/CEF, and file output. Receivers are killed mid-stream and restarted; `Delivery` is
//! dropped without shutdown and reopened on its spool; every alert arrives, in order, and none
//! twice except the few a dead TCP collector may have read just before it died (plain TCP has no
//! acknowledgement: they carry the same id for the SIEM to de-duplicate). An event handed over
//! again (the same id and action), before or after a reopen, is skipped by the spool.

mod hec_server;
mod receivers;
mod rsyslog;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use otsentry::delivery::{Delivery, DeliveryConfig, DeliveryError, Spooled, TlsOptions};
use otsentry::sinks::Sink;
use otsentry::sinks::sample;
use otsentry::sinks::syslog::encode::parse_cef;

use receivers::{Received, Server, free_port, line_collector, plain, wait_until};

const WAIT: Duration = Duration::from_secs(30);

fn config(dir: &std::path::Path, urls: Vec<String>) -> DeliveryConfig {
    DeliveryConfig {
        spool_dir: dir.join("spool"),
        urls,
        stream_confirm_after: Duration::from_millis(100),
        backoff_max: Duration::from_millis(300),
        io_timeout: Duration::from_secs(2),
        ..DeliveryConfig::default()
    }
}

fn id(n: u64) -> String {
    sample::alert(n).id
}

fn send(delivery: &mut Delivery, range: std::ops::Range<u64>) {
    for n in range {
        delivery.alert(&sample::alert(n)).unwrap();
    }
    delivery.flush().unwrap();
}

/// The alert ids of ECS lines, with the receiver generation.
fn ids_of(received: &Received) -> Vec<(u32, String)> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(generation, line)| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                generation.to_owned(),
                value["event"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Checks that every expected id arrived, that first arrivals are in spool order, and that no id
/// arrived twice from one receiver generation; returns how many arrived again in a later one.
fn check_arrivals(got: &[(u32, String)], expected: &[String]) -> usize {
    let mut first_seen = Vec::new();
    let mut seen = HashSet::new();
    let mut per_generation: HashMap<(u32, &str), usize> = HashMap::new();
    for (generation, id) in got {
        *per_generation
            .entry((*generation, id.as_str()))
            .or_default() += 1;
        if seen.insert(id.as_str()) {
            first_seen.push(id.clone());
        }
    }
    assert_eq!(first_seen, expected, "every alert once, in spool order");
    for ((generation, id), count) in &per_generation {
        assert_eq!(
            *count, 1,
            "{id} arrived {count} times at receiver generation {generation}"
        );
    }
    got.len() - expected.len()
}

#[test]
fn tcp_collector_killed_mid_stream_gets_every_alert() {
    let dir = tempfile::tempdir().unwrap();
    let received: Received = Arc::default();
    let mut server = Server::start(0, plain(), line_collector(Arc::clone(&received)));
    let url = format!("tcp://127.0.0.1:{}", server.port);
    let mut delivery = Delivery::open(config(dir.path(), vec![url.clone()])).unwrap();

    // Stream in small flushes; kill the collector while alerts are in flight.
    let mut unconfirmed_at_kill = 0;
    for chunk in 0..30 {
        send(&mut delivery, chunk * 10..chunk * 10 + 10);
        std::thread::sleep(Duration::from_millis(5));
        if chunk == 12 {
            unconfirmed_at_kill = delivery.stats().sinks[0].depth_alerts;
            server.kill();
        }
    }
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        delivery.stats().sinks[0].errors > 0,
        "the sink noticed the dead collector"
    );
    assert!(
        delivery.stats().sinks[0].depth_alerts > 0,
        "alerts wait in the spool"
    );
    server.restart();
    send(&mut delivery, 300..400);

    let expected: Vec<String> = (0..400).map(id).collect();
    wait_until(WAIT, "every alert at the collector", || {
        ids_of(&received)
            .iter()
            .map(|(_, id)| id)
            .collect::<HashSet<_>>()
            .len()
            == 400
    });
    let resent = check_arrivals(&ids_of(&received), &expected);
    // Only what was unconfirmed when the collector died can come again (it may have read some).
    assert!(
        resent as u64 <= unconfirmed_at_kill,
        "{resent} alerts arrived twice, {unconfirmed_at_kill} were unconfirmed at the kill"
    );
    wait_until(WAIT, "the cursor to catch up", || {
        delivery.stats().sinks[0].depth_alerts == 0
    });
    let stats = delivery.stats();
    assert_eq!(stats.sinks[0].oldest_undelivered, None);
    assert!(stats.sinks[0].last_error.is_some());
    delivery.shutdown(Duration::from_secs(2));
}

#[test]
fn delivery_dropped_and_reopened_sends_the_rest_once() {
    let dir = tempfile::tempdir().unwrap();
    let received: Received = Arc::default();
    let mut server = Server::start(0, plain(), line_collector(Arc::clone(&received)));
    let url = format!("tcp://127.0.0.1:{}", server.port);

    // First run: the collector takes 100; then it dies and 100 more wait in the spool.
    let mut delivery = Delivery::open(config(dir.path(), vec![url.clone()])).unwrap();
    send(&mut delivery, 0..100);
    wait_until(WAIT, "100 alerts", || received.lock().unwrap().len() == 100);
    wait_until(WAIT, "the cursor at 100", || {
        delivery.stats().sinks[0].depth_alerts == 0
    });
    server.kill();
    send(&mut delivery, 100..200);
    drop(delivery);

    // A second process opens the same spool while the first one's lock is gone.
    server.restart();
    let mut delivery = Delivery::open(config(dir.path(), vec![url])).unwrap();
    assert_eq!(
        delivery.stats().sinks[0].depth_alerts,
        100,
        "what waited survived the restart"
    );
    send(&mut delivery, 200..250);
    wait_until(WAIT, "250 alerts", || {
        ids_of(&received)
            .iter()
            .map(|(_, id)| id)
            .collect::<HashSet<_>>()
            .len()
            == 250
    });
    let expected: Vec<String> = (0..250).map(id).collect();
    assert_eq!(
        check_arrivals(&ids_of(&received), &expected),
        0,
        "none twice"
    );
    delivery.shutdown(Duration::from_secs(2));
}

#[test]
fn a_spool_is_held_by_one_delivery_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("tcp://127.0.0.1:{}", free_port());
    let first = Delivery::open(config(dir.path(), vec![url.clone()])).unwrap();
    let Err(error) = Delivery::open(config(dir.path(), vec![url.clone()])) else {
        panic!("a second delivery opened the same spool");
    };
    assert!(matches!(error, DeliveryError::SpoolInUse { .. }), "{error}");
    assert!(error.to_string().contains("in use"), "{error}");
    drop(first);
    Delivery::open(config(dir.path(), vec![url])).unwrap();
}

#[test]
fn spool_warns_before_its_cap_and_refuses_at_it_without_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("tcp://127.0.0.1:{port}");
    let cap = 64 * 1024;
    let mut delivery = Delivery::open(DeliveryConfig {
        spool_cap_bytes: cap,
        ..config(dir.path(), vec![url.clone()])
    })
    .unwrap();
    let mut accepted = 0;
    let mut warned_at = None;
    let error = loop {
        match delivery.append(&sample::alert(accepted)) {
            Ok(_) => accepted += 1,
            Err(error) => break error,
        }
        let stats = delivery.stats();
        let fill = stats.spool_bytes as f64 / cap as f64;
        match (&stats.spool_warning, warned_at) {
            (Some(_), None) => warned_at = Some(fill),
            (None, None) => assert!(fill < 0.8, "no warning at {fill:.2} of the cap"),
            _ => {}
        }
        assert!(accepted < 10_000, "the cap never refused");
    };
    let warned_at = warned_at.expect("a warning before the cap");
    assert!(
        (0.8..0.85).contains(&warned_at),
        "warned at {warned_at:.2} of the cap"
    );
    let text = error.to_string();
    assert!(text.contains("spool full") && text.contains(&url), "{text}");
    assert!(text.contains("refused, not dropped"), "{text}");
    let stats = delivery.stats();
    assert!(stats.spool_bytes <= cap);
    assert_eq!(stats.refused, 1);
    assert!(stats.spool_warning.as_deref().unwrap().contains("% full"));
    // The sink reports what was refused to the driver through the Sink trait too.
    let sink_error = Sink::alert(&mut delivery, &sample::alert(99_999)).unwrap_err();
    assert!(
        sink_error.to_string().contains("spool full"),
        "{sink_error}"
    );
    delivery.flush().unwrap();

    // The collector comes up: everything accepted arrives, the spool empties, the warning clears.
    let received: Received = Arc::default();
    let _server = Server::start(port, plain(), line_collector(Arc::clone(&received)));
    wait_until(WAIT, "every accepted alert", || {
        received.lock().unwrap().len() as u64 >= accepted
    });
    let expected: Vec<String> = (0..accepted).map(id).collect();
    assert_eq!(check_arrivals(&ids_of(&received), &expected), 0);
    wait_until(WAIT, "the warning to clear", || {
        delivery.stats().spool_warning.is_none()
    });
    delivery.append(&sample::alert(accepted)).unwrap();
    delivery.shutdown(Duration::from_secs(2));
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let open = |urls: Vec<&str>, edit: &dyn Fn(&mut DeliveryConfig)| {
        let mut config = config(dir.path(), urls.into_iter().map(str::to_string).collect());
        edit(&mut config);
        Delivery::open(config).err().map(|error| error.to_string())
    };
    let none = &|_: &mut DeliveryConfig| {};
    for (urls, message) in [
        (vec!["ftp://x:21"], "unknown scheme \"ftp\""),
        (vec!["tcp://x"], "needs a port"),
        (vec!["tcp://x:1", "tcp://x:1"], "given twice"),
        (vec![], "no sink url"),
        (
            vec!["https://splunk.example"],
            "OTSENTRY_HEC_TOKEN_UNSET_IN_TESTS",
        ),
    ] {
        let error = open(urls.clone(), &|config: &mut DeliveryConfig| {
            config.hec_token_env = "OTSENTRY_HEC_TOKEN_UNSET_IN_TESTS".into();
        })
        .unwrap_or_else(|| panic!("{urls:?} opened"));
        assert!(error.contains(message), "{urls:?}: {error}");
    }
    let error = open(vec!["-"], &|config: &mut DeliveryConfig| {
        config.spool_cap_bytes = 10
    })
    .unwrap();
    assert!(error.contains("too small"), "{error}");
    let error = open(vec!["tcp+tls://x:1"], &|config: &mut DeliveryConfig| {
        config.tls.ca_file = Some(dir.path().join("missing-ca.pem"));
    })
    .unwrap();
    assert!(error.contains("missing-ca.pem"), "{error}");
    let error = open(vec!["tcp+tls://x:1"], &|config: &mut DeliveryConfig| {
        config.tls.client_cert = Some(dir.path().join("c.pem"));
    })
    .unwrap();
    assert!(error.contains("needs its private key"), "{error}");
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let error = open(vec!["tcp+tls://x:1"], &|config: &mut DeliveryConfig| {
        config.tls.ca_file = Some(not_pem.clone());
    })
    .unwrap();
    assert!(error.contains("no PEM certificate"), "{error}");
    assert_eq!(open(vec!["-"], none), None);
}

#[test]
fn tls_collector_with_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let certs = receivers::make_certs(dir.path());
    let received: Received = Arc::default();
    let server = Server::start(
        0,
        receivers::tls_server(&certs, true),
        line_collector(Arc::clone(&received)),
    );
    let tls = TlsOptions {
        ca_file: Some(certs.ca.clone()),
        client_cert: Some(certs.client_cert.clone()),
        client_key: Some(certs.client_key.clone()),
    };
    let url = format!("tcp+tls://127.0.0.1:{}", server.port);
    let mut delivery = Delivery::open(DeliveryConfig {
        tls: tls.clone(),
        ..config(dir.path(), vec![url.clone()])
    })
    .unwrap();
    send(&mut delivery, 0..50);
    wait_until(WAIT, "50 alerts over TLS", || {
        received.lock().unwrap().len() == 50
    });
    let expected: Vec<String> = (0..50).map(id).collect();
    assert_eq!(check_arrivals(&ids_of(&received), &expected), 0);
    delivery.shutdown(Duration::from_secs(2));

    // Without the client certificate the collector refuses, and the sink says why.
    let other = tempfile::tempdir().unwrap();
    let mut delivery = Delivery::open(DeliveryConfig {
        tls: TlsOptions {
            ca_file: Some(certs.ca.clone()),
            ..TlsOptions::default()
        },
        ..config(other.path(), vec![url])
    })
    .unwrap();
    send(&mut delivery, 100..101);
    wait_until(WAIT, "a TLS error", || delivery.stats().sinks[0].errors > 0);
    assert_eq!(received.lock().unwrap().len(), 50);
    drop(delivery);
}

fn hec_ids(state: &hec_server::HecState) -> Vec<(u32, String)> {
    state.events.lock().unwrap().clone()
}

#[test]
fn hec_with_acks_busy_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = Arc::new(hec_server::HecState::default());
    state.acks_enabled.store(true, Ordering::Release);
    let mut server = Server::start(0, plain(), hec_server::handler(Arc::clone(&state)));
    let url = format!("http://127.0.0.1:{}", server.port);
    // SAFETY: the variable is set once, before any delivery in this test binary reads it, and
    // read only by HEC sinks, which exist only in this test.
    unsafe { std::env::set_var("OTSENTRY_TEST_HEC_TOKEN", hec_server::TOKEN) };
    let hec_config = |dir: &std::path::Path| DeliveryConfig {
        hec_token_env: "OTSENTRY_TEST_HEC_TOKEN".into(),
        batch_max_events: 20,
        ..config(dir, vec![url.clone()])
    };
    let mut delivery = Delivery::open(hec_config(dir.path())).unwrap();
    send(&mut delivery, 0..100);
    wait_until(WAIT, "100 events indexed", || hec_ids(&state).len() == 100);
    wait_until(WAIT, "acks confirmed", || {
        delivery.stats().sinks[0].depth_alerts == 0
    });
    assert!(
        state.ack_queries.load(Ordering::Relaxed) > 0,
        "the sink asked for acks"
    );

    // Busy: the next three posts get 503; the sink backs off and sends again, in order.
    state.busy.store(3, Ordering::Release);
    send(&mut delivery, 100..200);
    wait_until(WAIT, "200 events", || hec_ids(&state).len() == 200);
    assert_eq!(state.busy_answers.load(Ordering::Relaxed), 3);
    assert!(
        delivery.stats().sinks[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("503")
    );

    // Killed and restarted while alerts keep coming: what was indexed but not yet acknowledged
    // is sent again (at least once), nothing else.
    let unconfirmed_at_kill = delivery.stats().sinks[0].depth_alerts;
    server.kill();
    send(&mut delivery, 200..300);
    std::thread::sleep(Duration::from_millis(300));
    server.restart();
    send(&mut delivery, 300..350);
    wait_until(WAIT, "350 events", || {
        hec_ids(&state)
            .iter()
            .map(|(_, id)| id)
            .collect::<HashSet<_>>()
            .len()
            == 350
    });
    wait_until(WAIT, "acks confirmed", || {
        delivery.stats().sinks[0].depth_alerts == 0
    });
    drop(delivery);

    // Reopened: nothing is sent again, new alerts follow.
    let mut delivery = Delivery::open(hec_config(dir.path())).unwrap();
    send(&mut delivery, 350..360);
    wait_until(WAIT, "360 events", || {
        hec_ids(&state)
            .iter()
            .map(|(_, id)| id)
            .collect::<HashSet<_>>()
            .len()
            == 360
    });
    wait_until(WAIT, "acks confirmed", || {
        delivery.stats().sinks[0].depth_alerts == 0
    });
    let expected: Vec<String> = (0..360).map(id).collect();
    let resent = check_arrivals(&hec_ids(&state), &expected);
    assert!(
        resent as u64 <= unconfirmed_at_kill,
        "{resent} events indexed twice, {unconfirmed_at_kill} were unacknowledged at the kill"
    );
    assert_eq!(state.bad_token.load(Ordering::Relaxed), 0);
    delivery.shutdown(Duration::from_secs(2));
}

#[test]
fn https_hec_with_a_custom_ca_and_a_wrong_token() {
    let dir = tempfile::tempdir().unwrap();
    let certs = receivers::make_certs(dir.path());
    let state = Arc::new(hec_server::HecState::default());
    let server = Server::start(
        0,
        receivers::tls_server(&certs, false),
        hec_server::handler(Arc::clone(&state)),
    );
    unsafe { std::env::set_var("OTSENTRY_TEST_HEC_TOKEN_TLS", hec_server::TOKEN) };
    unsafe { std::env::set_var("OTSENTRY_TEST_HEC_TOKEN_WRONG", "not-the-token") };
    let url = format!("https://localhost:{}/services/collector/event", server.port);
    let tls = TlsOptions {
        ca_file: Some(certs.ca.clone()),
        ..TlsOptions::default()
    };
    let mut delivery = Delivery::open(DeliveryConfig {
        hec_token_env: "OTSENTRY_TEST_HEC_TOKEN_TLS".into(),
        tls: tls.clone(),
        ..config(dir.path(), vec![url.clone()])
    })
    .unwrap();
    send(&mut delivery, 0..30);
    wait_until(WAIT, "30 events over https", || hec_ids(&state).len() == 30);
    delivery.shutdown(Duration::from_secs(2));

    let other = tempfile::tempdir().unwrap();
    let mut delivery = Delivery::open(DeliveryConfig {
        hec_token_env: "OTSENTRY_TEST_HEC_TOKEN_WRONG".into(),
        tls,
        ..config(other.path(), vec![url])
    })
    .unwrap();
    send(&mut delivery, 30..31);
    wait_until(WAIT, "a refused token", || {
        delivery.stats().sinks[0].errors > 0
    });
    let last = delivery.stats().sinks[0].last_error.clone().unwrap();
    assert!(last.contains("refused the token"), "{last}");
    assert_eq!(delivery.stats().sinks[0].depth_alerts, 1, "the alert waits");
    drop(delivery);
}

#[test]
fn several_sinks_each_fail_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let received: Received = Arc::default();
    let server = Server::start(0, plain(), line_collector(Arc::clone(&received)));
    let dead = format!("tcp://127.0.0.1:{}", free_port());
    let live = format!("tcp://127.0.0.1:{}", server.port);
    let file = dir.path().join("alerts.jsonl");
    let file_url = format!("file://{}", file.display());
    let mut delivery =
        Delivery::open(config(dir.path(), vec![dead.clone(), live, file_url])).unwrap();
    send(&mut delivery, 0..40);
    wait_until(WAIT, "the live sinks", || {
        let stats = delivery.stats();
        stats.sinks[1].depth_alerts == 0 && stats.sinks[2].depth_alerts == 0
    });
    let stats = delivery.stats();
    assert_eq!(stats.sinks[0].depth_alerts, 40);
    assert!(stats.sinks[0].errors > 0);
    assert!(stats.sinks[0].oldest_undelivered.is_some());
    assert_eq!((stats.sinks[1].sent, stats.sinks[2].sent), (40, 40));
    assert_eq!(stats.sinks[1].errors + stats.sinks[2].errors, 0);
    let lines = std::fs::read_to_string(&file).unwrap();
    assert_eq!(lines.lines().count(), 40);
    assert_eq!(stats.spool_alerts, 40, "the dead sink keeps the spool");
    delivery.shutdown(Duration::from_millis(200));
}

#[test]
fn rsyslog_receives_cef_over_tcp_and_udp_and_across_its_restart() {
    let Some(binary) =
        rsyslog::require("rsyslog_receives_cef_over_tcp_and_udp_and_across_its_restart")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut daemon = rsyslog::Rsyslog::start(binary, dir.path());
    let tcp = format!("syslog+tcp://127.0.0.1:{}", daemon.tcp_port);
    let udp = format!("syslog+udp://127.0.0.1:{}", daemon.udp_port);
    let mut delivery = Delivery::open(DeliveryConfig {
        syslog_hostname: Some("sensor-7".into()),
        ..config(dir.path(), vec![tcp])
    })
    .unwrap();
    send(&mut delivery, 0..60);
    wait_until(WAIT, "60 messages at rsyslog", || {
        daemon.raw_lines().len() == 60
    });
    wait_until(WAIT, "the cursor", || {
        delivery.stats().sinks[0].depth_alerts == 0
    });

    // rsyslog crashes; alerts wait; it comes back and gets them.
    daemon.kill();
    send(&mut delivery, 60..100);
    std::thread::sleep(Duration::from_millis(300));
    daemon.restart();
    wait_until(WAIT, "100 messages at rsyslog", || {
        daemon.raw_lines().len() >= 100
    });
    delivery.shutdown(Duration::from_secs(2));

    let mut udp_delivery = Delivery::open(DeliveryConfig {
        syslog_hostname: Some("sensor-7".into()),
        ..config(&dir.path().join("udp"), vec![udp])
    })
    .unwrap();
    send(&mut udp_delivery, 100..120);
    wait_until(WAIT, "20 datagrams at rsyslog", || {
        daemon.raw_lines().len() >= 120
    });
    udp_delivery.shutdown(Duration::from_secs(2));

    // What rsyslog parsed: our host, app and msgid, our structured data, and CEF as the message.
    let mut ids = Vec::new();
    for line in daemon.field_lines() {
        let fields: Vec<&str> = line.splitn(5, '\t').collect();
        assert_eq!(&fields[..3], ["sensor-7", "otsentry", "alert"], "{line}");
        assert!(fields[3].starts_with("[otsentry@32473 id=\""), "{line}");
        let cef = parse_cef(fields[4]).unwrap_or_else(|error| panic!("{error}: {line}"));
        assert_eq!(cef.get("cs1"), Some("T0846,T0888"));
        ids.push(cef.get("externalId").unwrap().to_string());
    }
    let expected: Vec<String> = (0..120).map(id).collect();
    let got: Vec<(u32, String)> = ids.into_iter().map(|id| (0, id)).collect();
    assert_eq!(
        check_arrivals(&got, &expected),
        0,
        "every message once, in order"
    );
    // The raw lines are RFC 5424 that syslog_loose reads back to the same CEF.
    for line in daemon.raw_lines() {
        let parsed = syslog_loose::parse_message(&line, syslog_loose::Variant::RFC5424);
        assert_eq!(parsed.appname, Some("otsentry"), "{line}");
        parse_cef(parsed.msg).unwrap();
    }
}

#[test]
fn an_event_handed_over_again_is_skipped_before_and_after_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let received: Received = Arc::default();
    let server = Server::start(0, plain(), line_collector(Arc::clone(&received)));
    let url = format!("tcp://127.0.0.1:{}", server.port);
    let held = DeliveryConfig {
        hold_until_commit: true,
        ..config(dir.path(), vec![url.clone()])
    };
    let mut delivery = Delivery::open(held.clone()).unwrap();
    send(&mut delivery, 0..10);
    assert_eq!(
        delivery.append(&sample::alert(3)).unwrap(),
        Spooled::AlreadyHeld
    );
    // The same alert closing is another event.
    let mut closed = sample::alert(3);
    closed.state = otsentry::alerts::AlertState::Closed;
    assert_eq!(delivery.append(&closed).unwrap(), Spooled::Appended);
    delivery.flush().unwrap();
    wait_until(WAIT, "the first events confirmed", || {
        delivery.stats().sinks[0].depth_alerts == 0
    });
    // Dropped as a crash would; reopened, it still knows what it holds (nothing was committed).
    drop(delivery);
    let mut delivery = Delivery::open(held).unwrap();
    for n in 0..12 {
        delivery.append(&sample::alert(n)).unwrap();
    }
    delivery.append(&closed).unwrap();
    delivery.flush().unwrap();
    assert_eq!(delivery.stats().duplicates, 11);
    wait_until(WAIT, "every event at the collector", || {
        received.lock().unwrap().len() >= 13
    });
    std::thread::sleep(Duration::from_millis(300));
    let ids = ids_of(&received);
    assert_eq!(ids.len(), 13, "{ids:?}");
    let unique: HashSet<_> = received
        .lock()
        .unwrap()
        .iter()
        .map(|(_, l)| l.clone())
        .collect();
    assert_eq!(unique.len(), 13, "each event once");
    delivery.shutdown(Duration::from_secs(2));
}
