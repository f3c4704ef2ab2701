//! Scoring in small batches (many scoring threads in flight one after another) gives exactly the
//! rows, order and scores of one large batch: the pipeline changes speed, never results.

mod plant_logs;
mod shared_data;

use otsentry::model::ModelFile;
use otsentry::score::{BATCH_ROWS, ScoreConfig, score};
use plant_logs::*;

#[test]
fn small_and_large_batches_give_the_same_rows_in_the_same_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    write_logs(&logs, &plant(START, 15.0, 1800.0));
    let model_path = dir.path().join("plant.model");
    train(&logs, &model_path, &[]);
    let model = ModelFile::load(&model_path).unwrap();
    let run = |batch_rows: usize| {
        let config = ScoreConfig {
            logs: vec![logs.clone()],
            threshold: -0.01,
            all: true,
            read_options: zeek::ReadOptions::default(),
            since: None,
            batch_rows,
        };
        let mut rows = Vec::new();
        let summary = score(
            &model,
            &config,
            |_| {},
            |row| {
                rows.push(serde_json::to_string(row).unwrap());
                Ok(())
            },
        )
        .unwrap();
        (rows, summary.rows_scored, summary.rows_flagged)
    };
    let large = run(BATCH_ROWS);
    assert_eq!(large.1, 2 * 15 * 48 * 3);
    for batch_rows in [1, 7, 500] {
        assert_eq!(run(batch_rows), large, "batch of {batch_rows} rows");
    }
}
