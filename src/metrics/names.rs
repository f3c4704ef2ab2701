//! Every metric otsentry exports, in one place (Vector's internal_events habit): name, kind,
//! labels and help text. Code records a metric through these constants only, so a name cannot
//! be misspelt in one place and docs/watch.md can list them all from here.

/// How Prometheus should read a metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One metric's definition.
#[derive(Debug, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// The label names its series carry, in order.
    pub labels: &'static [&'static str],
    pub help: &'static str,
}

pub const LINES_READ: Metric = Metric {
    name: "otsentry_lines_read_total",
    kind: Kind::Counter,
    labels: &["log"],
    help: "Zeek records read, by log path (conn, modbus, ...)",
};

pub const PARSE_ERRORS: Metric = Metric {
    name: "otsentry_parse_errors_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Lines the reader could not parse plus records a typed view could not read",
};

pub const FOLLOW_ERRORS: Metric = Metric {
    name: "otsentry_follow_errors_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Files the follower could not read, or found truncated in place",
};

pub const FINDINGS: Metric = Metric {
    name: "otsentry_findings_total",
    kind: Kind::Counter,
    labels: &["detector"],
    help: "Findings of the detectors, by detector",
};

pub const FINDINGS_BY_SEVERITY: Metric = Metric {
    name: "otsentry_findings_by_severity_total",
    kind: Kind::Counter,
    labels: &["severity"],
    help: "Findings of the detectors, by severity",
};

pub const ALERTS: Metric = Metric {
    name: "otsentry_alerts_total",
    kind: Kind::Counter,
    labels: &["sink", "action"],
    help: "Alert events a sink took, by sink and action (opened, closed)",
};

pub const DELIVERED: Metric = Metric {
    name: "otsentry_delivered_total",
    kind: Kind::Counter,
    labels: &["sink"],
    help: "Alert events a SIEM sink confirmed, by sink URL",
};

pub const SPOOL_BYTES: Metric = Metric {
    name: "otsentry_spool_bytes",
    kind: Kind::Gauge,
    labels: &[],
    help: "Bytes of the durable spool on disk",
};

pub const SINK_ERRORS: Metric = Metric {
    name: "otsentry_sink_errors_total",
    kind: Kind::Counter,
    labels: &["sink"],
    help: "Failures of an output to take or flush alerts, or of a SIEM sink to send them (each is retried)",
};

pub const LATENCY: Metric = Metric {
    name: "otsentry_alert_latency_seconds",
    kind: Kind::Histogram,
    labels: &[],
    help: "From the start of the poll that read a line to its alert being durable at the sinks",
};

pub const BACKLOG: Metric = Metric {
    name: "otsentry_follow_backlog_bytes",
    kind: Kind::Gauge,
    labels: &[],
    help: "Bytes in the followed files not read yet at the end of the last poll",
};

pub const FALLING_BEHIND: Metric = Metric {
    name: "otsentry_falling_behind",
    kind: Kind::Gauge,
    labels: &[],
    help: "1 when the last poll took longer than the polling interval or left a backlog, else 0",
};

pub const POLL_SECONDS: Metric = Metric {
    name: "otsentry_poll_duration_seconds",
    kind: Kind::Gauge,
    labels: &[],
    help: "How long the last poll took (reading, scoring, delivery and checkpoint)",
};

pub const CHECKPOINTS: Metric = Metric {
    name: "otsentry_checkpoints_written_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Checkpoints written to the state directory",
};

pub const SPOOL_DEPTH: Metric = Metric {
    name: "otsentry_spool_alerts",
    kind: Kind::Gauge,
    labels: &[],
    help: "Alerts in the durable spool the slowest sink has not had confirmed yet",
};

pub const SPOOL_AGE: Metric = Metric {
    name: "otsentry_spool_oldest_age_seconds",
    kind: Kind::Gauge,
    labels: &[],
    help: "Age of the oldest alert waiting in the spool",
};

pub const SPOOL_DUPLICATES: Metric = Metric {
    name: "otsentry_spool_duplicates_total",
    kind: Kind::Counter,
    labels: &[],
    help: "Alert events skipped because the spool already held their id and action (records replayed after a stop before the checkpoint)",
};

pub const TRIAGE: Metric = Metric {
    name: "otsentry_triage_alerts_total",
    kind: Kind::Counter,
    labels: &["outcome"],
    help: "Opened alerts by triage outcome: triaged, or skipped for timeout, queue_depth, breaker_open or provider_error (watch --triage)",
};

pub const TRIAGE_BREAKER: Metric = Metric {
    name: "otsentry_triage_breaker_state",
    kind: Kind::Gauge,
    labels: &[],
    help: "The triage provider's circuit breaker: 0 closed, 1 open, 2 half-open (watch --triage)",
};

/// Every metric, in the order the endpoint lists them.
pub const ALL: &[&Metric] = &[
    &LINES_READ,
    &PARSE_ERRORS,
    &FOLLOW_ERRORS,
    &FINDINGS,
    &FINDINGS_BY_SEVERITY,
    &ALERTS,
    &DELIVERED,
    &SINK_ERRORS,
    &LATENCY,
    &BACKLOG,
    &FALLING_BEHIND,
    &POLL_SECONDS,
    &CHECKPOINTS,
    &SPOOL_DEPTH,
    &SPOOL_AGE,
    &SPOOL_BYTES,
    &SPOOL_DUPLICATES,
    &TRIAGE,
    &TRIAGE_BREAKER,
];

/// The upper bounds of the latency histogram's buckets, in seconds: one polling cycle (0.5 s)
/// sits in the middle, so both "well inside" and "late" are visible.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
