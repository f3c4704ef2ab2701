//! Our own RFC 5424 and CEF formatters, RFC 6587 octet counting, and a CEF parser for round
//! trips (tests, the fuzz target, and anyone checking what a collector received).
//!
//! Escaping is where SIEM bugs live, so the rules are spelled out here:
//! - RFC 5424 HOSTNAME: letters, digits, `.`, `-` and `_`, at most 255 octets, `-` when empty;
//!   other octets become `_` (RFC 5424 allows any printable ASCII, but parsers such as
//!   syslog_loose take a trailing `:` for a tag, and a host name needs nothing more). SD-PARAM values escape `"`, `\` and `]` with a backslash.
//! - CEF header fields (vendor, product, version, signature id, name) escape `\` and `|`; control
//!   characters, which cannot be escaped there, become spaces.
//! - CEF extension values escape `\` and `=`, write newline and carriage return as `\n` and
//!   `\r`, and turn other control characters into spaces. Keys are fixed ASCII names.
//!
//! CEF severity is 1, 4, 8 and 10 for low, medium, high and critical, as Microsoft Defender for
//! IoT maps its alerts; ATT&CK for ICS technique ids go in `cs1` (labelled), the alert's stable
//! id in `externalId`.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::alerts::{Alert, AlertState};
use crate::detect::Severity;
use crate::sinks::SiemEvent;
use crate::triage::{TriageAction, TriageEvent};

/// The syslog facility: local4 (20), a common choice for security tools.
pub const FACILITY: u8 = 20;
/// The private enterprise number of our structured data: 32473, reserved for documentation
/// (RFC 5612), until otsentry has its own.
pub const SD_ID: &str = "otsentry@32473";

/// CEF severity (0..10) of an alert severity.
pub fn cef_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 1,
        Severity::Medium => 4,
        Severity::High => 8,
        Severity::Critical => 10,
    }
}

/// Syslog severity (RFC 5424 table 2) of an alert severity.
pub fn syslog_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Low => 5,      // notice
        Severity::Medium => 4,   // warning
        Severity::High => 3,     // error
        Severity::Critical => 2, // critical
    }
}

/// Escapes a CEF header field.
pub fn escape_header(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// Escapes a CEF extension value.
pub fn escape_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// What a header field becomes after a round trip (control characters are spaces).
pub fn normalised_header(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// What an extension value becomes after a round trip.
pub fn normalised_value(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\r' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

/// A CEF event: the seven header fields and the extension in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cef {
    pub vendor: String,
    pub product: String,
    pub version: String,
    pub signature_id: String,
    pub name: String,
    pub severity: String,
    pub extension: Vec<(String, String)>,
}

impl Cef {
    /// The CEF text (`CEF:0|...`).
    pub fn format(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str("CEF:0|");
        for field in [
            &self.vendor,
            &self.product,
            &self.version,
            &self.signature_id,
            &self.name,
            &self.severity,
        ] {
            escape_header(field, &mut out);
            out.push('|');
        }
        for (idx, (key, value)) in self.extension.iter().enumerate() {
            if idx > 0 {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            escape_value(value, &mut out);
        }
        out
    }

    /// The value of an extension key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.extension
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a text is not CEF.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not CEF at byte {at}: {message}")]
pub struct CefError {
    pub at: usize,
    pub message: &'static str,
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Parses CEF text as `Cef::format` writes it (and as collectors read it).
pub fn parse_cef(text: &str) -> Result<Cef, CefError> {
    let rest = text.strip_prefix("CEF:0|").ok_or(CefError {
        at: 0,
        message: "does not start with CEF:0|",
    })?;
    let offset = text.len() - rest.len();
    let mut fields = Vec::with_capacity(6);
    let mut field = String::new();
    let mut chars = rest.char_indices();
    let mut ext_start = None;
    while let Some((idx, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped @ ('\\' | '|'))) => field.push(escaped),
                _ => {
                    return Err(CefError {
                        at: offset + idx,
                        message: "a backslash in a header field escapes neither \\ nor |",
                    });
                }
            },
            '|' => {
                fields.push(std::mem::take(&mut field));
                if fields.len() == 6 {
                    ext_start = Some(idx + 1);
                    break;
                }
            }
            c => field.push(c),
        }
    }
    let ext_start = ext_start.ok_or(CefError {
        at: text.len(),
        message: "fewer than seven header fields",
    })?;
    let extension = parse_extension(&rest[ext_start..], offset + ext_start)?;
    let mut fields = fields.into_iter();
    let mut next = || fields.next().unwrap_or_default();
    Ok(Cef {
        vendor: next(),
        product: next(),
        version: next(),
        signature_id: next(),
        name: next(),
        severity: next(),
        extension,
    })
}

/// `key=value key=value ...`: a value runs to the space before the next unescaped `key=`.
fn parse_extension(text: &str, offset: usize) -> Result<Vec<(String, String)>, CefError> {
    // Find every unescaped `=`, then the key before it.
    let bytes = text.as_bytes();
    let mut equals = Vec::new();
    let mut idx = 0;
    while idx < bytes.len() {
        match bytes[idx] {
            b'\\' => idx += 2,
            b'=' => {
                equals.push(idx);
                idx += 1;
            }
            _ => idx += 1,
        }
    }
    let mut pairs = Vec::with_capacity(equals.len());
    let mut key_starts = Vec::with_capacity(equals.len());
    for &eq in &equals {
        let key_start = text[..eq].rfind(' ').map_or(0, |space| space + 1);
        let key = &text[key_start..eq];
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(CefError {
                at: offset + key_start,
                message: "an extension key is empty or not alphanumeric",
            });
        }
        key_starts.push(key_start);
    }
    if equals.is_empty() && !text.trim().is_empty() {
        return Err(CefError {
            at: offset,
            message: "extension text without key=value",
        });
    }
    if let Some(&first) = key_starts.first()
        && first != 0
    {
        return Err(CefError {
            at: offset,
            message: "extension text before the first key",
        });
    }
    for (n, &eq) in equals.iter().enumerate() {
        let value_end = match key_starts.get(n + 1) {
            Some(&next_key) => next_key - 1,
            None => text.len(),
        };
        if value_end < eq + 1 {
            return Err(CefError {
                at: offset + eq,
                message: "two keys without a space between their values",
            });
        }
        let raw = &text[eq + 1..value_end];
        pairs.push((
            text[key_starts[n]..eq].to_string(),
            unescape_value(raw, offset + eq + 1)?,
        ));
    }
    Ok(pairs)
}

fn unescape_value(raw: &str, offset: usize) -> Result<String, CefError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((idx, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '\\')) => out.push('\\'),
            Some((_, '=')) => out.push('='),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 'r')) => out.push('\r'),
            _ => {
                return Err(CefError {
                    at: offset + idx,
                    message: "a backslash in a value escapes none of \\ = n r",
                });
            }
        }
    }
    Ok(out)
}

fn epoch_ms(ts: f64) -> String {
    format!("{}", (ts * 1000.0).round() as i64)
}

/// The alert as CEF.
pub fn cef_of(alert: &Alert) -> Cef {
    let seen = &alert.seen;
    let mut extension: Vec<(String, String)> = Vec::with_capacity(24);
    let mut put = |key: &str, value: String| extension.push((key.to_string(), value));
    put("rt", epoch_ms(alert.last_seen));
    put("start", epoch_ms(alert.first_seen));
    put("end", epoch_ms(alert.last_seen));
    put("externalId", alert.id.clone());
    put(
        "act",
        match alert.state {
            AlertState::Open => "opened".into(),
            AlertState::Closed => "closed".into(),
        },
    );
    put("cat", alert.detector.clone());
    match seen.src {
        IpAddr::V4(ip) => put("src", ip.to_string()),
        IpAddr::V6(ip) => {
            put("c6a2", ip.to_string());
            put("c6a2Label", "Source IPv6 Address".into());
        }
    }
    put("spt", seen.src_port.to_string());
    match seen.dst {
        IpAddr::V4(ip) => put("dst", ip.to_string()),
        IpAddr::V6(ip) => {
            put("c6a3", ip.to_string());
            put("c6a3Label", "Destination IPv6 Address".into());
        }
    }
    put("dpt", seen.dst_port.to_string());
    put("proto", seen.transport.to_ascii_uppercase());
    if seen.service != "-" && !seen.service.is_empty() {
        put("app", seen.service.to_ascii_lowercase());
    }
    put("cnt", alert.count.to_string());
    if let Some(reason) = alert.reasons.first() {
        put("msg", reason.to_string());
    }
    if !alert.techniques.is_empty() {
        put("cs1Label", "ATT&CK for ICS techniques".into());
        put("cs1", alert.techniques.join(","));
    }
    if alert.reasons.len() > 1 {
        put("cs2Label", "reasons".into());
        put(
            "cs2",
            alert
                .reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    put("cs3Label", "zeek uids".into());
    put("cs3", alert.uids.join(","));
    put("cs4Label", "model sha256".into());
    put("cs4", alert.model_sha256.clone());
    if let Some(scores) = alert.scores {
        put("cfp1Label", "anomaly score".into());
        put("cfp1", format!("{}", scores.anomaly_score));
    }
    Cef {
        vendor: "otsentry".into(),
        product: "otsentry".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        signature_id: format!("{}.{}", alert.detector, alert.rule),
        name: alert.title.clone(),
        severity: cef_severity(alert.severity).to_string(),
        extension,
    }
}

/// An RFC 5424 HOSTNAME from any text.
pub fn hostname_field(name: &str) -> String {
    let cleaned: String = name
        .bytes()
        .take(255)
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                b as char
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "-".into()
    } else {
        cleaned
    }
}

/// Escapes an SD-PARAM value.
pub fn escape_param(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// RFC 3339 with microseconds in UTC, as RFC 5424's TIMESTAMP allows (at most 6 fraction digits).
pub fn timestamp(ts: f64) -> String {
    let micros = (ts * 1e6).round() as i128;
    match time::OffsetDateTime::from_unix_timestamp_nanos(micros * 1000) {
        Ok(at) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second(),
            at.microsecond()
        ),
        Err(_) => "-".into(),
    }
}

/// The RFC 5424 message (no framing): header, our structured data, and the CEF as MSG.
pub fn message(alert: &Alert, hostname: &str) -> String {
    let pri = FACILITY as u16 * 8 + syslog_severity(alert.severity) as u16;
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        "<{pri}>1 {} {} otsentry - alert [{SD_ID} id=\"",
        timestamp(alert.first_seen),
        hostname
    );
    escape_param(&alert.id, &mut out);
    out.push_str("\" state=\"");
    escape_param(alert.state.as_str(), &mut out);
    out.push_str("\" severity=\"");
    escape_param(alert.severity.as_str(), &mut out);
    out.push_str("\"] ");
    out.push_str(&cef_of(alert).format());
    out
}

/// Syslog severity of triage events: informational (6). Advice never changes an alert's
/// severity, and neither does its event.
pub const TRIAGE_SYSLOG_SEVERITY: u8 = 6;

/// A triage event's time (RFC 3339 text) in epoch seconds, when it parses.
fn triage_seconds(event: &TriageEvent) -> Option<f64> {
    let at = time::OffsetDateTime::parse(
        &event.timestamp,
        &time::format_description::well_known::Rfc3339,
    )
    .ok()?;
    Some(at.unix_timestamp_nanos() as f64 / 1e9)
}

/// A triage event (advice, a draft, a decided recommendation) as CEF: CEF severity 1, the
/// event's id in `externalId`, the alert's id in `cs5`, and its own fields in the labelled ones.
pub fn triage_cef(event: &TriageEvent) -> Cef {
    let mut extension: Vec<(String, String)> = Vec::with_capacity(16);
    let mut put = |key: &str, value: String| extension.push((key.to_string(), value));
    if let Some(seconds) = triage_seconds(event) {
        put("rt", epoch_ms(seconds));
    }
    put("externalId", event.id.clone());
    put("act", event.action.name().into());
    put("cat", "triage".into());
    put("msg", event.message());
    put("cs5Label", "alert id".into());
    put("cs5", event.alert_id.clone());
    let name = match (&event.advice, &event.draft) {
        (Some(advice), _) => {
            put("cs6Label", "classification".into());
            put("cs6", advice.classification.name().into());
            put("cfp2Label", "confidence".into());
            put("cfp2", format!("{}", advice.confidence));
            if !advice.attack_techniques.is_empty() {
                put("cs1Label", "ATT&CK for ICS techniques".into());
                put("cs1", advice.attack_techniques.join(","));
            }
            if let Some(reason) = advice.llm_triage_skipped {
                put("flexString1Label", "llm_triage_skipped".into());
                put("flexString1", reason.name().into());
            }
            format!("Triage advice: {}", advice.classification.name())
        }
        (None, Some(draft)) => {
            put("cs6Label", "recommendation status".into());
            put("cs6", draft.status.clone());
            put("cs2Label", "proposed change".into());
            put(
                "cs2",
                format!(
                    "{} {} -> {}",
                    draft.kind, draft.target, draft.proposed_value
                ),
            );
            if let Some(id) = draft.recommendation_id {
                put("cn1Label", "recommendation id".into());
                put("cn1", id.to_string());
            }
            if let Some(by) = draft.decided_by_principal_id {
                put("cn2Label", "decided by principal id".into());
                put("cn2", by.to_string());
            }
            match event.action {
                TriageAction::RecommendationDecided => format!("Recommendation {}", draft.status),
                _ => format!("Draft recommendation: {}", draft.kind),
            }
        }
        (None, None) => "Triage event".to_string(),
    };
    Cef {
        vendor: "otsentry".into(),
        product: "otsentry".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        signature_id: format!("triage.{}", event.action.name()),
        name,
        severity: "1".into(),
        extension,
    }
}

/// The RFC 5424 message of a triage event, shaped as an alert's (MSGID `triage`).
pub fn triage_message(event: &TriageEvent, hostname: &str) -> String {
    let pri = FACILITY as u16 * 8 + TRIAGE_SYSLOG_SEVERITY as u16;
    let mut out = String::with_capacity(1024);
    let _ = write!(
        out,
        "<{pri}>1 {} {} otsentry - triage [{SD_ID} id=\"",
        triage_seconds(event).map_or_else(|| "-".to_string(), timestamp),
        hostname
    );
    escape_param(&event.id, &mut out);
    out.push_str("\" alert=\"");
    escape_param(&event.alert_id, &mut out);
    out.push_str("\" action=\"");
    escape_param(event.action.name(), &mut out);
    out.push_str("\"] ");
    out.push_str(&triage_cef(event).format());
    out
}

/// The RFC 5424 message of any SIEM event.
pub fn event_message(event: &SiemEvent, hostname: &str) -> String {
    match event {
        SiemEvent::Alert(alert) => message(alert, hostname),
        SiemEvent::Triage(event) => triage_message(event, hostname),
    }
}

/// RFC 6587 octet counting: `LEN SP MSG`.
pub fn octet_counted(message: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(message.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(message.as_bytes());
}
