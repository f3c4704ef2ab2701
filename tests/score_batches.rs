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

/// `score` hands the pipeline whole decoded blocks, which its batches keep instead of copying
/// each event (`Pipeline::push_block`); pushing the same events one by one (`Pipeline::push`,
/// the live and certification drivers' way) gives the same rows and alerts, in small batches
/// cut within blocks and in large ones.
#[test]
fn blocks_kept_whole_give_what_events_pushed_one_by_one_give() {
    use otsentry::pipeline::Pipeline;
    use otsentry::sources::walk;

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model_path = dir.path().join("plant.model");
    train(&logs, &model_path, &[]);
    let model = Arc::new(ModelFile::load(&model_path).unwrap());
    let lines = |sink: &Collect| {
        let rows: Vec<String> = sink
            .rows
            .iter()
            .map(|row| serde_json::to_string(row).unwrap())
            .collect();
        let alerts: Vec<String> = sink.alerts.iter().map(ecs::to_json_line).collect();
        (rows, alerts)
    };
    for batch_rows in [7, BATCH_ROWS] {
        let mut config = ScoreConfig::new(vec![logs.clone()], &model);
        config.pipeline.threshold = Some(-0.01);
        config.pipeline.rows = RowOutput::All;
        config.pipeline.batch_rows = batch_rows;
        let mut blocks = Collect::default();
        score(Arc::clone(&model), &config, |_| {}, &mut blocks).unwrap();

        let mut events = Collect::default();
        let mut pipeline = Pipeline::new(Arc::clone(&model), config.pipeline.clone());
        walk(
            &config.logs,
            &config.source,
            |_| {},
            |event| {
                pipeline
                    .push(event, &mut events)
                    .map_err(otsentry::score::ScoreError::from)
            },
        )
        .unwrap();
        pipeline.finish(&mut events).unwrap();
        assert!(!blocks.rows.is_empty());
        assert_eq!(lines(&blocks), lines(&events), "batch of {batch_rows} rows");
    }
}
