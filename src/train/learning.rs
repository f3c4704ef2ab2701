//! The detectors' learners and the dataset digest, on a thread of their own beside the training
//! pass.
//!
//! The pass (on the calling thread) decides which events of a block are in scope and runs the
//! feature state machine and the reservoirs over them; the learners (`detect::baseline`) and the
//! dataset digest need only those events, in the same order, and each record's interned ids. So
//! the pass hands the whole decoded block over, with the list of what it kept from it, and this
//! thread lends the kept events again, encodes them for the digest and feeds the learners:
//! neither waits for the other, and no event is copied. The block then goes back to the pass to
//! be filled again. When the pass ends, this thread finishes the baselines and the digest while
//! the pass fits the forests.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use crate::detect::baseline::{self, Learner, TrainingRecord};
use crate::features::event_block::EventBlock;
use crate::features::{RawRow, Schema};
use crate::model::BaselineSection;

use super::TrainError;
use super::dataset::DatasetHasher;

/// Blocks on their way to the learning thread; the pass waits when it is this far ahead. A
/// block is a few thousand events: enough that neither thread waits on the other's jitter.
const IN_FLIGHT: usize = 4;

/// One in-scope event of a block, as the pass kept it.
#[derive(Clone, Copy, Debug)]
pub struct Kept {
    /// Its position in the block.
    pub index: u32,
    pub record: KeptRecord,
}

/// What the learners see of a kept event.
#[derive(Clone, Copy, Debug)]
pub enum KeptRecord {
    /// A record of a schema, with its interned ids.
    Row(Schema, RawRow),
    /// A value record (`modbus_detailed`): no schema, no ids.
    Values,
    /// A record of a schema the feature state machine made no row of: digested only.
    Digested,
}

/// A block and what the pass kept of it.
type Handed = (EventBlock, Vec<Kept>);

/// What the thread gives at the end: every learner's section and the dataset digest.
type Learnt = Result<(Vec<BaselineSection>, String), TrainError>;

/// The learning thread, seen from the pass.
pub struct Learning {
    blocks: SyncSender<Handed>,
    /// Blocks and lists the thread is done with.
    spares: Receiver<Handed>,
    /// An empty list for the pass to fill with the next block's kept events.
    next_kept: Vec<Kept>,
    thread: JoinHandle<Learnt>,
}

impl Learning {
    /// Starts the thread with every detector's learner ([`baseline::learners`]) and a dataset
    /// hasher.
    pub fn start() -> Result<Learning, TrainError> {
        let (blocks, received) = sync_channel::<Handed>(IN_FLIGHT);
        let (give_back, spares) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("train-learners".to_string())
            .spawn(move || {
                let mut learners = baseline::learners();
                let mut dataset = DatasetHasher::on_thread();
                for (block, kept) in received {
                    learn(&block, &kept, &mut learners, &mut dataset);
                    // The pass may be over; then the block is simply freed.
                    let _ = give_back.send((block, kept));
                }
                let sections = baseline::finish_all(learners)?;
                Ok((sections, dataset.finish()?))
            })
            .map_err(TrainError::LearningThread)?;
        Ok(Learning {
            blocks,
            spares,
            next_kept: Vec::new(),
            thread,
        })
    }

    /// An empty list to fill with the kept events of the block at hand.
    pub fn kept_list(&mut self) -> Vec<Kept> {
        std::mem::take(&mut self.next_kept)
    }

    /// Hands `block` and what the pass kept of it to the thread, in reading order; gives back a
    /// block for the reader to fill again: one the thread is done with, or a new one while none
    /// is.
    pub fn hand_over(
        &mut self,
        block: EventBlock,
        kept: Vec<Kept>,
    ) -> Result<EventBlock, TrainError> {
        if self.blocks.send((block, kept)).is_err() {
            // The thread is gone: only a panic ends it early.
            return Err(TrainError::LearningStopped);
        }
        Ok(match self.spares.try_recv() {
            Ok((block, mut kept)) => {
                kept.clear();
                self.next_kept = kept;
                block
            }
            Err(_) => EventBlock::default(),
        })
    }

    /// Ends the pass: waits for the thread to feed the last blocks and finish every learner's
    /// section and the dataset digest.
    pub fn finish(self) -> Learnt {
        drop(self.blocks);
        self.thread
            .join()
            .map_err(|_| TrainError::LearningStopped)?
    }
}

/// Feeds one block's kept events, in order, to the digest and the learners.
fn learn(
    block: &EventBlock,
    kept: &[Kept],
    learners: &mut [Box<dyn Learner>],
    dataset: &mut DatasetHasher,
) {
    for kept in kept {
        // Every index was taken from this block by the pass.
        let Some(event) = block.get(kept.index as usize) else {
            continue;
        };
        dataset.add(&event);
        match &kept.record {
            KeptRecord::Row(schema, raw) => baseline::observe_all(
                learners,
                &TrainingRecord {
                    event: &event,
                    schema: *schema,
                    raw,
                },
            ),
            KeptRecord::Values => baseline::observe_values_all(learners, &event),
            KeptRecord::Digested => {}
        }
    }
}
