//! The scoring thread: scores sealed batches with the forest (on all cores, through rayon) while
//! the pipeline's thread reads and extracts the next batch. One batch is in flight at a time, so
//! the memory held is two batches and the order of results is the order of sending.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use iforest::{Matrix, Screened};

use super::{Batch, PipelineError, Scored};
use crate::features::Schema;
use crate::model::LoadedModel;

/// The thread and its two channels.
pub(super) struct ScoringThread {
    to_thread: Option<SyncSender<Batch>>,
    from_thread: Receiver<Result<Scored, PipelineError>>,
    handle: Option<JoinHandle<()>>,
}

impl ScoringThread {
    /// A thread scoring with `model`; per schema slot, the bound under which rows need their
    /// exact score (`None`: every row does).
    pub(super) fn start(model: Arc<LoadedModel>, bounds: [Option<f64>; 2]) -> ScoringThread {
        let (to_thread, batches) = sync_channel::<Batch>(1);
        let (results, from_thread) = sync_channel(1);
        let handle = std::thread::Builder::new()
            .name("otsentry-scoring".to_string())
            .spawn(move || {
                for batch in batches {
                    if results.send(score(&model, bounds, batch)).is_err() {
                        break;
                    }
                }
            })
            .ok();
        ScoringThread {
            to_thread: Some(to_thread),
            from_thread,
            handle,
        }
    }

    pub(super) fn send(&self, batch: Batch) -> Result<(), PipelineError> {
        self.to_thread
            .as_ref()
            .ok_or(PipelineError::ScoringThread)?
            .send(batch)
            .map_err(|_| PipelineError::ScoringThread)
    }

    pub(super) fn receive(&self) -> Result<Scored, PipelineError> {
        self.from_thread
            .recv()
            .map_err(|_| PipelineError::ScoringThread)?
    }
}

impl Drop for ScoringThread {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop.
        self.to_thread.take();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// Scores both schemas' rows of a batch: exactly, or screened below the slot's bound.
fn score(
    model: &LoadedModel,
    bounds: [Option<f64>; 2],
    mut batch: Batch,
) -> Result<Scored, PipelineError> {
    let mut scores = [Vec::new(), Vec::new()];
    for (slot, schema) in [Schema::Conn, Schema::Request].into_iter().enumerate() {
        let values = std::mem::take(&mut batch.values[slot]);
        if values.is_empty() {
            continue;
        }
        let Some(schema_model) = model.schema(schema) else {
            continue;
        };
        let matrix = Matrix::new(schema.width(), values).map_err(|source| PipelineError::Data {
            schema: schema.as_str(),
            source,
        })?;
        let scored = match bounds[slot] {
            Some(below) => schema_model.model.screen_samples(&matrix, below),
            None => schema_model
                .model
                .score_samples(&matrix)
                .map(|scores| scores.into_iter().map(Screened::Exact).collect()),
        };
        scores[slot] = scored.map_err(|source| PipelineError::Model {
            schema: schema.as_str(),
            source,
        })?;
        batch.values[slot] = matrix.into_values();
    }
    Ok(Scored { batch, scores })
}
