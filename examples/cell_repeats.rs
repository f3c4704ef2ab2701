//! Measures how much a log's scored rows repeat cells of a model's forests, and what the cell
//! cache gains on them: the figures behind docs/isolation-forest.md ("The cell cache").
//!
//! It encodes every row of the logs with the model's frozen vocabularies, exactly as scoring does,
//! then for each schema prints the rows, the distinct cells of the forest's partition they fall
//! in, and the best of three `score_samples` times with the cache off and in auto mode (on the
//! walk `OTSENTRY_FOREST_PATH` picks, the fastest by default).
//!
//! Usage: `cargo run --release --example cell_repeats -- MODEL LOG...`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use iforest::{CacheMode, Matrix, Model, ScoringOptions};
use otsentry::features::{Extractor, MAX_WIDTH, Schema, schema_of};
use otsentry::model::ModelFile;
use otsentry::sources::{SourceOptions, walk};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(model_path), logs) = (args.next().map(PathBuf::from), args.map(PathBuf::from)) else {
        bail!("usage: cell_repeats MODEL LOG...");
    };
    let logs: Vec<PathBuf> = logs.collect();
    let model = ModelFile::load(&model_path)
        .with_context(|| format!("loading {}", model_path.display()))?
        .file;
    let mut extractors: Vec<(Extractor, Vec<f32>)> = model
        .schemas
        .iter()
        .map(|schema| (Extractor::score(schema.vocab.clone()), Vec::new()))
        .collect();
    let mut buffer = [0.0; MAX_WIDTH];
    walk(
        &logs,
        &SourceOptions::default(),
        |_| {},
        |event| {
            // Value records are no forest row.
            let Some(schema) = schema_of(event) else {
                return Ok::<(), anyhow::Error>(());
            };
            let Some((extractor, rows)) = extractors
                .iter_mut()
                .find(|(extractor, _)| extractor.schema() == schema)
            else {
                return Ok::<(), anyhow::Error>(());
            };
            if let Some(raw) = extractor.push(event) {
                extractor.encode(&raw, &mut buffer);
                rows.extend(buffer[..schema.width()].iter().map(|&value| value as f32));
            }
            Ok(())
        },
    )
    .context("reading the logs")?;
    let path = ScoringOptions::from_env()?.resolve()?;
    println!("walk: {path}");
    for (schema_model, (_, rows)) in model.schemas.iter().zip(extractors) {
        let Model::Forest(forest) = &schema_model.model else {
            continue;
        };
        let schema: Schema = schema_model.schema;
        let data = Matrix::new(schema.width(), rows)?;
        let n_rows = data.n_rows();
        if n_rows == 0 {
            continue;
        }
        let cells = forest.distinct_cells(&data)?;
        let best = |cache| -> anyhow::Result<(f64, Vec<f64>)> {
            let options = ScoringOptions {
                path: Some(path),
                cache,
            };
            let mut best = f64::MAX;
            let mut scores = Vec::new();
            for _ in 0..3 {
                let started = Instant::now();
                scores = forest.score_samples_with(&data, &options)?;
                best = best.min(started.elapsed().as_secs_f64());
            }
            Ok((best, scores))
        };
        let (off, plain_scores) = best(CacheMode::Off)?;
        let (auto, cached_scores) = best(CacheMode::Auto)?;
        if plain_scores != cached_scores {
            bail!(
                "{}: the cached scores differ from the walk's",
                schema.as_str()
            );
        }
        let cells = cells.map_or("no cell index".to_string(), |cells| {
            format!(
                "{cells} distinct cells ({:.1} % of rows)",
                100.0 * cells as f64 / n_rows as f64
            )
        });
        println!(
            "{}: {n_rows} rows, {cells}; cache off {:.3} s ({:.2} M rows/s), auto {:.3} s ({:.2} M rows/s), {:.2}x",
            schema.as_str(),
            off,
            n_rows as f64 / off / 1e6,
            auto,
            n_rows as f64 / auto / 1e6,
            off / auto
        );
        // Screening at the model's own threshold, as the pipeline scores (cache auto).
        let threshold = model
            .manifest
            .forest_thresholds
            .get(schema.as_str())
            .copied()
            .unwrap_or(0.0);
        let below = forest.offset() + threshold;
        let options = ScoringOptions {
            path: Some(path),
            cache: CacheMode::Auto,
        };
        let mut screened_best = f64::MAX;
        let mut screened = Vec::new();
        for _ in 0..3 {
            let started = Instant::now();
            screened = forest.screen_samples_with(&data, below, &options)?;
            screened_best = screened_best.min(started.elapsed().as_secs_f64());
        }
        let mut exact = 0;
        for (screened, &score) in screened.iter().zip(&plain_scores) {
            match screened.exact() {
                Some(value) if value.to_bits() == score.to_bits() => exact += 1,
                Some(_) => bail!(
                    "{}: a screened score differs from the walk's",
                    schema.as_str()
                ),
                None if score < below => {
                    bail!(
                        "{}: a row below the bound was screened out",
                        schema.as_str()
                    )
                }
                None => {}
            }
        }
        println!(
            "{}: screened below {below:.6}: {:.3} s ({:.2} M rows/s), {:.2}x the walk; {exact} rows walked to the end ({:.2} %)",
            schema.as_str(),
            screened_best,
            n_rows as f64 / screened_best / 1e6,
            off / screened_best,
            100.0 * exact as f64 / n_rows as f64
        );
    }
    Ok(())
}
