//! The metrics `otsentry watch` keeps and serves: a small registry of counters, gauges and one
//! histogram keyed by the definitions in [`names`], rendered in the Prometheus text format
//! (version 0.0.4), and the HTTP endpoint that serves it (`server`).
//!
//! A hand-rolled registry rather than the `metrics` crates: a dozen series, one writer thread and
//! an occasional scrape need a mutex and a map, and the text format is a few lines.

pub mod names;
pub mod server;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use names::{ALL, Kind, LATENCY_BUCKETS, Metric};

/// One series: a metric and its label values (in the metric's label order).
type Key = (&'static str, Vec<String>);

#[derive(Debug, Default)]
struct Histogram {
    /// Observations at or below each bucket bound (not cumulative; summed when rendered).
    buckets: Vec<u64>,
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Values {
    scalars: BTreeMap<Key, f64>,
    histograms: BTreeMap<Key, Histogram>,
}

/// The registry. Shared between the watch loop (writer) and the endpoint (reader).
#[derive(Debug, Default)]
pub struct Metrics {
    values: Mutex<Values>,
}

fn key(metric: &Metric, labels: &[&str]) -> Key {
    debug_assert_eq!(metric.labels.len(), labels.len(), "{}", metric.name);
    (
        metric.name,
        labels.iter().map(|label| label.to_string()).collect(),
    )
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn with<R>(&self, change: impl FnOnce(&mut Values) -> R) -> R {
        // A panic elsewhere while holding the lock leaves plain numbers: still usable.
        let mut values = self
            .values
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut values)
    }

    /// Adds `by` to a counter.
    pub fn add(&self, metric: &Metric, labels: &[&str], by: f64) {
        self.with(|values| *values.scalars.entry(key(metric, labels)).or_default() += by);
    }

    /// Sets a gauge, or a counter whose total is kept elsewhere (the pipeline's statistics).
    pub fn set(&self, metric: &Metric, labels: &[&str], value: f64) {
        self.with(|values| {
            values.scalars.insert(key(metric, labels), value);
        });
    }

    /// The current value of a counter or gauge (0 when never recorded).
    pub fn get(&self, metric: &Metric, labels: &[&str]) -> f64 {
        self.with(|values| {
            values
                .scalars
                .get(&key(metric, labels))
                .copied()
                .unwrap_or(0.0)
        })
    }

    /// Records one observation of a histogram, `count` times.
    pub fn observe(&self, metric: &Metric, labels: &[&str], value: f64, count: u64) {
        if count == 0 {
            return;
        }
        self.with(|values| {
            let histogram = values.histograms.entry(key(metric, labels)).or_default();
            if histogram.buckets.is_empty() {
                histogram.buckets = vec![0; LATENCY_BUCKETS.len()];
            }
            if let Some(idx) = LATENCY_BUCKETS.iter().position(|bound| value <= *bound) {
                histogram.buckets[idx] += count;
            }
            histogram.count += count;
            histogram.sum += value * count as f64;
        });
    }

    /// Everything in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.with(|values| {
            let mut out = String::new();
            for metric in ALL {
                let _ = writeln!(out, "# HELP {} {}", metric.name, metric.help);
                let _ = writeln!(out, "# TYPE {} {}", metric.name, metric.kind.as_str());
                if metric.kind == Kind::Histogram {
                    for ((name, labels), histogram) in &values.histograms {
                        if *name == metric.name {
                            render_histogram(&mut out, metric, labels, histogram);
                        }
                    }
                    continue;
                }
                let mut any = false;
                for ((name, labels), value) in &values.scalars {
                    if *name == metric.name {
                        any = true;
                        let _ = writeln!(
                            out,
                            "{}{} {}",
                            metric.name,
                            label_set(metric.labels, labels, None),
                            number(*value)
                        );
                    }
                }
                // A series without labels is always there, so dashboards see a 0, not a gap.
                if !any && metric.labels.is_empty() {
                    let _ = writeln!(out, "{} 0", metric.name);
                }
            }
            out
        })
    }
}

fn render_histogram(out: &mut String, metric: &Metric, labels: &[String], histogram: &Histogram) {
    let mut cumulative = 0;
    for (bound, count) in LATENCY_BUCKETS.iter().zip(&histogram.buckets) {
        cumulative += count;
        let le = number(*bound);
        let _ = writeln!(
            out,
            "{}_bucket{} {cumulative}",
            metric.name,
            label_set(metric.labels, labels, Some(&le))
        );
    }
    let _ = writeln!(
        out,
        "{}_bucket{} {}",
        metric.name,
        label_set(metric.labels, labels, Some("+Inf")),
        histogram.count
    );
    let plain = label_set(metric.labels, labels, None);
    let _ = writeln!(out, "{}_sum{plain} {}", metric.name, number(histogram.sum));
    let _ = writeln!(out, "{}_count{plain} {}", metric.name, histogram.count);
}

/// `{a="x",b="y"}` with values escaped as the text format requires, or nothing.
fn label_set(names: &[&str], values: &[String], le: Option<&str>) -> String {
    let mut pairs: Vec<String> = names
        .iter()
        .zip(values)
        .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
        .collect();
    if let Some(le) = le {
        pairs.push(format!("le=\"{le}\""));
    }
    if pairs.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", pairs.join(","))
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique_and_prometheus_shaped() {
        let mut seen = std::collections::HashSet::new();
        for metric in ALL {
            assert!(seen.insert(metric.name), "{} twice", metric.name);
            assert!(metric.name.starts_with("otsentry_"));
            assert!(
                metric
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
            if metric.kind == Kind::Counter {
                assert!(metric.name.ends_with("_total"), "{}", metric.name);
            }
        }
    }

    #[test]
    fn renders_counters_with_escaped_labels_and_a_cumulative_histogram() {
        let metrics = Metrics::new();
        metrics.add(&names::LINES_READ, &["conn"], 3.0);
        metrics.add(&names::LINES_READ, &["conn"], 2.0);
        metrics.add(&names::LINES_READ, &["we\"ird\\"], 1.0);
        metrics.observe(&names::LATENCY, &[], 0.003, 2);
        metrics.observe(&names::LATENCY, &[], 0.7, 1);
        metrics.observe(&names::LATENCY, &[], 60.0, 1);
        let text = metrics.render();
        assert!(
            text.contains("otsentry_lines_read_total{log=\"conn\"} 5\n"),
            "{text}"
        );
        assert!(text.contains("otsentry_lines_read_total{log=\"we\\\"ird\\\\\"} 1\n"));
        assert!(text.contains("otsentry_alert_latency_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(text.contains("otsentry_alert_latency_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("otsentry_alert_latency_seconds_bucket{le=\"1\"} 3\n"));
        assert!(text.contains("otsentry_alert_latency_seconds_bucket{le=\"+Inf\"} 4\n"));
        assert!(text.contains("otsentry_alert_latency_seconds_count 4\n"));
        assert!(text.contains("otsentry_parse_errors_total 0\n"));
        assert!(text.contains("# TYPE otsentry_falling_behind gauge\n"));
    }
}
