//! `score`: the batch driver of the pipeline. It reads Zeek files through the file source and
//! pushes every event into the pipeline, whose alerts go to the caller's sink.
//!
//! With a checkpoint to start from, the pipeline continues where an earlier run stopped; with a
//! checkpoint to write, the run ends without closing its open alerts (they are part of the
//! state), so two runs chained by a checkpoint give the alerts of one continuous run.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use thiserror::Error;
use zeek::ZeekError;

use crate::model::LoadedModel;
use crate::pipeline::{
    CheckpointError, Pipeline, PipelineConfig, PipelineError, PipelineState, PipelineStats,
};
use crate::sinks::Sink;
use crate::sources::{SourceOptions, SourceStats, walk_blocks};

pub use crate::pipeline::BATCH_ROWS;

/// What `score` needs besides the model.
#[derive(Clone, Debug)]
pub struct ScoreConfig {
    pub logs: Vec<PathBuf>,
    pub source: SourceOptions,
    pub pipeline: PipelineConfig,
    /// Continue from this checkpoint.
    pub resume_from: Option<PathBuf>,
    /// Write the state here at the end instead of closing open alerts.
    pub checkpoint_to: Option<PathBuf>,
}

impl ScoreConfig {
    /// Scoring `logs` with the defaults and the model's own OT selection.
    pub fn new(logs: Vec<PathBuf>, model: &LoadedModel) -> ScoreConfig {
        ScoreConfig {
            logs,
            source: SourceOptions {
                read: zeek::ReadOptions::default(),
                ot: model.ot_selector(),
            },
            pipeline: PipelineConfig::default(),
            resume_from: None,
            checkpoint_to: None,
        }
    }
}

/// Totals of a scoring run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScoreSummary {
    pub source: SourceStats,
    pub pipeline: PipelineStats,
}

/// Why scoring failed.
#[derive(Debug, Error)]
pub enum ScoreError {
    #[error(transparent)]
    Read(#[from] ZeekError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

impl ScoreError {
    /// True when the output's reader went away (`otsentry score | head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, ScoreError::Pipeline(PipelineError::Sink(error)) if error.is_broken_pipe())
    }
}

/// Scores the logs in `config` against `model`, handing alerts (and rows, if configured) to
/// `sink` in the order the pipeline emits them.
pub fn score(
    model: Arc<LoadedModel>,
    config: &ScoreConfig,
    progress: impl FnMut(u64),
    sink: &mut dyn Sink,
) -> Result<ScoreSummary, ScoreError> {
    let mut pipeline = Pipeline::new(model, config.pipeline.clone());
    if let Some(path) = &config.resume_from {
        pipeline.restore(PipelineState::read(path)?)?;
    }
    // Whole blocks: the pipeline's batches keep them instead of copying every event.
    let source = walk_blocks(&config.logs, &config.source, progress, |block| {
        pipeline.push_block(block, sink).map_err(ScoreError::from)
    })?;
    match &config.checkpoint_to {
        Some(path) => pipeline.checkpoint(sink)?.write(path)?,
        None => pipeline.finish(sink)?,
    }
    Ok(ScoreSummary {
        source,
        pipeline: pipeline.stats().clone(),
    })
}
