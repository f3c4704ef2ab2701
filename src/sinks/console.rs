//! The console sink: alerts (or rows) on standard output, as a table for people, ECS JSON lines
//! for SIEMs and scripts, or CSV.
//!
//! JSON and CSV are streamed as the pipeline emits: an alert when it opens, and again under the
//! same id when it closes with its final count. The table waits for the end and shows each
//! alert once, in its final state, most severe first. Text that came off the network (hosts,
//! services, reasons) is escaped before it reaches a terminal.

use std::collections::HashMap;
use std::io::Write;

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::{RowRecord, Sink, SinkError};
use crate::alerts::{Alert, ecs, sort_most_severe_first};
use crate::text::escape_terminal;
use crate::text::rfc3339;

/// What the console prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleFormat {
    /// Alerts in a table, most severe first, at the end.
    Table,
    /// One ECS JSON alert per line.
    Json,
    /// Alerts as CSV with a header line.
    Csv,
    /// Flagged (or, with `--all`, every) rows as JSON lines: the per-row output.
    Rows,
    /// The same rows as CSV.
    RowsCsv,
}

impl ConsoleFormat {
    /// True for the per-row formats.
    pub fn is_rows(self) -> bool {
        matches!(self, ConsoleFormat::Rows | ConsoleFormat::RowsCsv)
    }
}

/// The console sink over any writer.
pub struct Console<W: Write> {
    format: ConsoleFormat,
    out: W,
    header_written: bool,
    /// Table mode: the latest state of every alert, and the order ids first appeared.
    table: HashMap<String, Alert>,
}

/// Alerts a table shows; the rest are counted and the user is pointed to json/csv.
pub const TABLE_ALERTS: usize = 200;

const ALERT_CSV_HEADER: &str = "id,state,severity,detector,rule,first_seen,last_seen,count,uids,source,source_port,destination,destination_port,transport,service,techniques,anomaly_score,reasons";
const ROW_CSV_HEADER: &str = "ts,uid,id.orig_h,id.resp_h,id.resp_p,service,record,anomaly_score,score_samples,flagged,findings,reasons";

fn io(source: std::io::Error) -> SinkError {
    SinkError::Io {
        sink: "stdout",
        source,
    }
}

impl<W: Write> Console<W> {
    pub fn new(format: ConsoleFormat, out: W) -> Console<W> {
        Console {
            format,
            out,
            header_written: false,
            table: HashMap::new(),
        }
    }

    fn header(&mut self, header: &str) -> Result<(), SinkError> {
        if !self.header_written {
            self.header_written = true;
            writeln!(self.out, "{header}").map_err(io)?;
        }
        Ok(())
    }

    /// Alerts the table holds (each once).
    pub fn n_alerts(&self) -> usize {
        self.table.len()
    }

    /// Ends the output: the table is printed; streamed formats are flushed. Returns how many
    /// alerts the table did not show.
    pub fn finish(&mut self) -> Result<usize, SinkError> {
        let mut hidden = 0;
        match self.format {
            ConsoleFormat::Table => {
                let mut alerts: Vec<Alert> = self.table.drain().map(|(_, alert)| alert).collect();
                sort_most_severe_first(&mut alerts);
                hidden = alerts.len().saturating_sub(TABLE_ALERTS);
                alerts.truncate(TABLE_ALERTS);
                if !alerts.is_empty() {
                    writeln!(self.out, "{}", alert_table(&alerts)).map_err(io)?;
                }
            }
            ConsoleFormat::Csv => self.header(ALERT_CSV_HEADER)?,
            ConsoleFormat::RowsCsv => self.header(ROW_CSV_HEADER)?,
            ConsoleFormat::Json | ConsoleFormat::Rows => {}
        }
        self.out.flush().map_err(io)?;
        Ok(hidden)
    }
}

impl<W: Write> Sink for Console<W> {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        match self.format {
            ConsoleFormat::Table => {
                self.table.insert(alert.id.clone(), alert.clone());
                Ok(())
            }
            ConsoleFormat::Json => writeln!(self.out, "{}", ecs::to_json_line(alert)).map_err(io),
            ConsoleFormat::Csv => {
                self.header(ALERT_CSV_HEADER)?;
                write_alert_csv(&mut self.out, alert).map_err(io)
            }
            ConsoleFormat::Rows | ConsoleFormat::RowsCsv => Ok(()),
        }
    }

    /// Triage events appear in the JSON lines only, after their alert.
    fn triage(&mut self, event: &crate::triage::TriageEvent) -> Result<(), SinkError> {
        match self.format {
            ConsoleFormat::Json => writeln!(self.out, "{}", event.to_json_line()).map_err(io),
            _ => Ok(()),
        }
    }

    fn row(&mut self, row: &RowRecord) -> Result<(), SinkError> {
        match self.format {
            ConsoleFormat::Rows => {
                serde_json::to_writer(&mut self.out, row).map_err(|error| io(error.into()))?;
                self.out.write_all(b"\n").map_err(io)
            }
            ConsoleFormat::RowsCsv => {
                self.header(ROW_CSV_HEADER)?;
                write_row_csv(&mut self.out, row).map_err(io)
            }
            _ => Ok(()),
        }
    }

    /// Writes out what is buffered; the table still waits for [`Console::finish`].
    fn flush(&mut self) -> Result<(), SinkError> {
        self.out.flush().map_err(io)
    }
}

fn write_alert_csv(out: &mut impl Write, alert: &Alert) -> std::io::Result<()> {
    let seen = &alert.seen;
    let reasons: Vec<String> = alert.reasons.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        alert.id,
        alert.state.as_str(),
        alert.severity,
        alert.detector,
        alert.rule,
        rfc3339(alert.first_seen),
        rfc3339(alert.last_seen),
        alert.count,
        csv_field(&alert.uids.join(";")),
        seen.src,
        seen.src_port,
        seen.dst,
        seen.dst_port,
        seen.transport,
        csv_field(&seen.service),
        alert.techniques.join(";"),
        alert
            .scores
            .map_or_else(String::new, |scores| format!("{:.6}", scores.anomaly_score)),
        csv_field(&reasons.join("; ")),
    )
}

fn write_row_csv(out: &mut impl Write, row: &RowRecord) -> std::io::Result<()> {
    writeln!(
        out,
        "{:.6},{},{},{},{},{},{},{:.6},{:.6},{},{},{}",
        row.ts,
        csv_field(&row.uid),
        row.orig_h,
        row.resp_h,
        row.resp_p,
        csv_field(&row.service),
        row.record,
        row.anomaly_score,
        row.score_samples,
        row.flagged,
        row.findings.join(";"),
        csv_field(&row.reasons.join("; ")),
    )
}

/// Quotes a CSV field when it needs it.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn alert_table(alerts: &[Alert]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header([
            "severity",
            "first seen",
            "count",
            "source",
            "destination",
            "what",
            "ATT&CK for ICS",
            "reasons",
        ]);
    for alert in alerts {
        let seen = &alert.seen;
        let reasons: Vec<String> = alert
            .reasons
            .iter()
            .take(4)
            .map(|reason| escape_terminal(&reason.to_string()).into_owned())
            .collect();
        table.add_row([
            alert.severity.to_string(),
            rfc3339(alert.first_seen),
            alert.count.to_string(),
            format!("{}", seen.src),
            format!(
                "{}:{}/{} {}",
                seen.dst,
                seen.dst_port,
                seen.transport,
                escape_terminal(&seen.service)
            ),
            format!("{}.{}", alert.detector, alert.rule),
            alert
                .techniques
                .iter()
                .map(|id| format!("{id} {}", crate::detect::attack::name_of(id)))
                .collect::<Vec<_>>()
                .join("\n"),
            reasons.join("\n"),
        ]);
    }
    table
}
