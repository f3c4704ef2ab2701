//! The property the `syslog_cef` fuzz target checks: our RFC 5424 + CEF output round-trips.
//!
//! - Any text put into an alert (title, rule, reason, id, host name) comes back from the message
//!   through syslog_loose (Vector's syslog parser) and our CEF parser as the formatter's own
//!   `Cef` value, up to the documented normalisation of control characters; the SD `id` comes
//!   back exactly.
//! - Any text our CEF parser accepts prints and parses back to the same value (parse-print-parse).

use otsentry::detect::Reason;
use otsentry::sinks::sample;
use otsentry::sinks::syslog::encode::{
    Cef, cef_of, hostname_field, message, normalised_header, normalised_value, parse_cef,
};

/// What a `Cef` becomes after format and parse.
fn normalised(cef: &Cef) -> Cef {
    Cef {
        vendor: normalised_header(&cef.vendor),
        product: normalised_header(&cef.product),
        version: normalised_header(&cef.version),
        signature_id: normalised_header(&cef.signature_id),
        name: normalised_header(&cef.name),
        severity: normalised_header(&cef.severity),
        extension: cef
            .extension
            .iter()
            .map(|(key, value)| (key.clone(), normalised_value(value)))
            .collect(),
    }
}

/// Checks both properties on one input.
pub fn check_syslog_cef(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\u{1}');
    let mut alert = sample::alert(data.len() as u64);
    alert.title = parts.next().unwrap_or_default().to_string();
    alert.rule = parts.next().unwrap_or_default().to_string();
    alert.reasons = vec![Reason::new(parts.next().unwrap_or_default(), "baseline")];
    if let Some(id) = parts.next().filter(|id| !id.is_empty()) {
        alert.id = id.to_string();
    }
    let hostname = hostname_field(parts.next().unwrap_or("sensor"));

    let line = message(&alert, &hostname);
    let parsed = syslog_loose::parse_message(&line, syslog_loose::Variant::RFC5424);
    assert_eq!(parsed.appname, Some("otsentry"), "{line:?}");
    assert_eq!(
        parsed.hostname,
        (hostname != "-").then_some(hostname.as_str()),
        "{line:?}"
    );
    let sd = parsed.structured_data.first().expect("our structured data");
    let id = sd
        .params()
        .find(|(key, _)| **key == "id")
        .map(|(_, value)| value.to_string());
    assert_eq!(id.as_deref(), Some(alert.id.as_str()), "{line:?}");
    let cef = parse_cef(parsed.msg).unwrap_or_else(|error| panic!("{error}: {line:?}"));
    assert_eq!(cef, normalised(&cef_of(&alert)), "{line:?}");

    if let Ok(cef) = parse_cef(&text) {
        let again = parse_cef(&cef.format()).expect("printed CEF parses");
        assert_eq!(again, normalised(&cef), "{text:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::check_syslog_cef;

    #[test]
    fn regression_inputs() {
        for input in [
            "".as_bytes(),
            b"title|with\\pipes\x01rule\x01reason = with\nnewline\x01id\"]\\\x01host:",
            b"CEF:0|a|b|c|d|e|1|msg=x\\=y cnt=1",
            b"CEF:0|a\\|b|c|d|e|f|1|k=v  w=two  words ",
            b"\x01\x01\x01\x01",
            b"\x00\x7f\x1b[31m\x01\xff\xfe",
        ] {
            check_syslog_cef(input);
        }
    }
}
