//! Scoring in small batches (many scoring threads in flight one after another) gives exactly the
//! alerts, rows, order and scores of one large batch: the pipeline changes speed, never results.

mod plant_logs;
mod shared_data;

use std::sync::Arc;

use otsentry::alerts::ecs;
use otsentry::model::ModelFile;
use otsentry::pipeline::RowOutput;
use otsentry::score::{BATCH_ROWS, ScoreConfig, score};
use otsentry::sinks::Collect;
use plant_logs::*;

#[test]
fn small_and_large_batches_give_the_same_alerts_and_rows_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model_path = dir.path().join("plant.model");
    train(&logs, &model_path, &[]);
    let model = Arc::new(ModelFile::load(&model_path).unwrap());
    let run = |batch_rows: usize| {
        let mut config = ScoreConfig::new(vec![logs.clone()], &model);
        config.pipeline.threshold = Some(-0.01);
        config.pipeline.rows = RowOutput::All;
        config.pipeline.batch_rows = batch_rows;
        let mut sink = Collect::default();
        let summary = score(Arc::clone(&model), &config, |_| {}, &mut sink).unwrap();
        let rows: Vec<String> = sink
            .rows
            .iter()
            .map(|row| serde_json::to_string(row).unwrap())
            .collect();
        let alerts: Vec<String> = sink.alerts.iter().map(ecs::to_json_line).collect();
        (rows, alerts, summary.pipeline.rows_scored)
    };
    let large = run(BATCH_ROWS);
    assert_eq!(large.2, 2 * 15 * 48 * 3);
    assert_eq!(large.0.len() as u64, large.2);
    for batch_rows in [1, 7, 500] {
        assert_eq!(run(batch_rows), large, "batch of {batch_rows} rows");
    }
}
