//! The findings-only output certification counts with (`RowOutput::Findings`, `Sink::findings`)
//! hands a sink exactly the flagged rows and findings the row output (`--format rows`) names, in
//! the same order, and the pipeline's alerts do not change with it: certification skips building
//! row records, never a result.

mod plant_logs;

use std::sync::Arc;

use otsentry::alerts::{Alert, ecs};
use otsentry::detect::Finding;
use otsentry::model::ModelFile;
use otsentry::pipeline::RowOutput;
use otsentry::score::{ScoreConfig, score};
use otsentry::sinks::{Collect, Fanout, Sink, SinkError};
use plant_logs::*;

/// What a findings-only sink is handed: alerts, and per flagged row its time and findings.
#[derive(Default)]
struct Findings {
    alerts: Vec<Alert>,
    rows: Vec<(f64, Vec<String>)>,
}

impl Sink for Findings {
    fn alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        self.alerts.push(alert.clone());
        Ok(())
    }

    fn findings(&mut self, ts: f64, findings: &[Finding]) -> Result<(), SinkError> {
        let names = findings
            .iter()
            .map(|finding| format!("{}.{}", finding.detector, finding.rule))
            .collect();
        self.rows.push((ts, names));
        Ok(())
    }
}

#[test]
fn findings_output_names_the_rows_and_findings_of_row_output_and_keeps_the_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("baseline");
    write_logs(&baseline, &plant(START, 15.0, 300.0));
    let model_path = dir.path().join("plant.model");
    train(&baseline, &model_path, &[]);
    let model = Arc::new(ModelFile::load(&model_path).unwrap());

    // A day after training: some polls twenty times their size, and a new source scanning.
    let day = START + 16.0 * 86_400.0;
    let mut polls = plant(day, 1.0, 300.0);
    for poll in polls.iter_mut().step_by(7) {
        poll.orig_bytes *= 20;
    }
    let logs = dir.path().join("logs");
    write_logs(&logs, &polls);
    let uids: Vec<String> = (0..12).map(|port| format!("Cscan{port}")).collect();
    let scan: Vec<Conn<'_>> = uids
        .iter()
        .enumerate()
        .map(|(port, uid)| Conn {
            ts: day + 86_400.0 + port as f64,
            uid,
            orig: "10.0.0.66",
            orig_p: 40_000,
            resp: "10.0.1.1",
            resp_p: 100 + port as u16,
            service: "-",
            conn_state: "S0",
        })
        .collect();
    append_conn(&logs, &scan);

    let config = |rows| {
        let mut config = ScoreConfig::new(vec![logs.clone()], &model);
        config.pipeline.rows = rows;
        config
    };
    let mut collect = Collect::default();
    score(
        Arc::clone(&model),
        &config(RowOutput::Flagged),
        |_| {},
        &mut collect,
    )
    .unwrap();
    let mut findings = Findings::default();
    // Through a fanout, as `watch` hands several sinks: it passes findings on as well.
    let mut fanout = Fanout(vec![&mut findings]);
    let summary = score(
        Arc::clone(&model),
        &config(RowOutput::Findings),
        |_| {},
        &mut fanout,
    )
    .unwrap();

    let rows: Vec<(f64, Vec<String>)> = collect
        .rows
        .iter()
        .map(|row| (row.ts, row.findings.clone()))
        .collect();
    assert!(
        rows.iter()
            .any(|(_, names)| names.iter().any(|name| name.starts_with("flow_shape."))),
        "the oversized polls are flagged: {rows:?}"
    );
    assert!(
        rows.iter()
            .any(|(_, names)| names.iter().any(|name| name.starts_with("novelty."))),
        "the scan is flagged: {rows:?}"
    );
    assert_eq!(findings.rows, rows);
    assert_eq!(summary.pipeline.rows_flagged, rows.len() as u64);
    let json = |alerts: &[Alert]| -> Vec<String> { alerts.iter().map(ecs::to_json_line).collect() };
    assert!(!collect.alerts.is_empty());
    assert_eq!(json(&findings.alerts), json(&collect.alerts));
}
