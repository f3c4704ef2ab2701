//! The pipeline: drives events from any source through the feature state machine and the
//! detectors into alerts and sinks. `score` (batch over files) and `watch` (live) are its two
//! drivers; neither holds detection logic of its own.
//!
//! Per event, in reading order: the scope decision (OT traffic, or a record touching an OT asset:
//! everything else is counted and goes no further), the schema's feature state machine, and the
//! row joins the open batch. A batch is sealed when it holds `batch_rows` rows or when its oldest
//! row has waited `max_latency` (the live driver's bound), and is scored by the forest on another
//! thread while the next one fills. A scored batch lands in reading order: every event detector
//! observes each row, the forest judges it, and the findings go to the alert builder, whose alerts
//! go to the sink. Results never depend on where batches were cut.
//!
//! Records before `emit_from` (`--since`) feed every state (rhythm, detectors) without emitting
//! anything and without being scored. The whole state can be checkpointed and restored
//! (`checkpoint`): a run split in two gives the alerts one continuous run gives.

pub mod checkpoint;
mod scoring;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use crate::alerts::{Alert, AlertBuilder, AlertState, DEFAULT_WINDOW_SECS};
use crate::detect::conduit::ConduitDetector;
use crate::detect::flow_shape::{self, FlowShapeDetector};
use crate::detect::forest::{self, ForestDetector};
use crate::detect::function_code::{self, FunctionCodeDetector};
use crate::detect::novelty::NoveltyDetector;
use crate::detect::process_value::{self, ProcessValueDetector};
use crate::detect::rhythm::RhythmDetector;
use crate::detect::roles::Roles;
use crate::detect::schedule::ScheduleDetector;
use crate::detect::{Detector, Finding, Observation, Seen, Severity};
use crate::features::event_block::EventBlock;
use crate::features::{Extractor, FlowEvent, MAX_WIDTH, RawRow, Schema, schema_of};
use crate::inventory::Inventory;
use crate::model::LoadedModel;
use crate::sinks::{RowRecord, Sink, SinkError};
pub use checkpoint::{CheckpointError, PipelineState};
use iforest::Screened;
use scoring::ScoringThread;

/// Rows per batch for batch scoring.
pub const BATCH_ROWS: usize = 1 << 16;

/// Which rows the sink gets besides alerts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowOutput {
    None,
    /// Rows with at least one finding.
    Flagged,
    /// Every row.
    All,
    /// Of each row with at least one finding, only its log time and the findings themselves
    /// (`Sink::findings`): no row record is built and no reason formatted, for a sink that only
    /// counts which detectors flagged what (certification).
    Findings,
}

/// How the pipeline runs.
#[derive(Clone, Debug)]
pub struct PipelineConfig {
    /// The forest's threshold on the decision value for every schema (0 is the contamination
    /// boundary); `None` uses the thresholds the model was calibrated with in training.
    pub threshold: Option<f64>,
    /// The alert grouping window in seconds of log time.
    pub window_secs: f64,
    /// Rows per batch.
    pub batch_rows: usize,
    /// A batch is sealed once its oldest row has waited this long (live use), if set.
    pub max_latency: Option<Duration>,
    /// Records before this `ts` feed the state but emit nothing (`--since`).
    pub emit_from: Option<f64>,
    pub rows: RowOutput,
    /// The asset inventory: the conduit detector and the alerts' asset context need it.
    pub inventory: Option<Arc<Inventory>>,
}

impl Default for PipelineConfig {
    fn default() -> PipelineConfig {
        PipelineConfig {
            threshold: None,
            window_secs: DEFAULT_WINDOW_SECS,
            batch_rows: BATCH_ROWS,
            max_latency: None,
            emit_from: None,
            rows: RowOutput::None,
            inventory: None,
        }
    }
}

/// Why the pipeline stopped.
#[derive(Debug, Error)]
pub enum PipelineError {
    #[error("the {schema} model cannot score: {source}")]
    Model {
        schema: &'static str,
        source: iforest::ScoreError,
    },
    #[error("the {schema} features are not finite: {source}")]
    Data {
        schema: &'static str,
        source: iforest::DataError,
    },
    #[error("the scoring thread stopped unexpectedly")]
    ScoringThread,
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// What the pipeline did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PipelineStats {
    /// Events pushed.
    pub events: u64,
    /// Events outside the scope: not OT traffic and touching no OT asset.
    pub out_of_scope: u64,
    /// In-scope events of a record kind the model has no model for.
    pub rows_without_model: u64,
    /// In-scope rows through the feature state machine.
    pub rows: u64,
    /// Of those, rows before `emit_from`: they fed the state only.
    pub rows_before_since: u64,
    /// Rows the forest scored.
    pub rows_scored: u64,
    /// Rows with at least one finding.
    pub rows_flagged: u64,
    /// Rows where something never seen in training appeared (a host, edge or function).
    pub rows_novel: u64,
    /// Value records (`modbus_detailed`) seen by the process-value detector; no forest row.
    pub value_records: u64,
    /// Findings by `detector` and by severity.
    pub findings_by_detector: BTreeMap<String, u64>,
    pub findings_by_severity: BTreeMap<Severity, u64>,
    pub alerts_opened: u64,
    pub alerts_closed: u64,
    /// Opened alerts by severity.
    pub alerts_by_severity: BTreeMap<Severity, u64>,
    /// Detectors that could not run, and why (a model without their baseline, a damaged one).
    pub detector_warnings: Vec<String>,
}

impl PipelineStats {
    /// True when most scored rows carry something never seen in training: the model was trained
    /// on another network, or the network changed.
    pub fn mostly_novel(&self) -> bool {
        let emitted = self.rows - self.rows_before_since;
        emitted >= 100 && self.rows_novel * 2 > emitted
    }
}

/// One schema's feature state machine and the model it feeds.
struct Slot {
    schema: Schema,
    extractor: Extractor,
}

/// One row waiting in a batch.
#[derive(Clone, Copy, Debug)]
struct PendingRow {
    slot: u8,
    /// Where the row's event is: `OWN_EVENTS` for the batch's own copies, else an index into
    /// the batch's lent blocks; and its index in that block.
    block: u32,
    event: u32,
    /// The row's index in its schema's matrix, or `NOT_SCORED` (before `emit_from`).
    index: u32,
    raw: RawRow,
}

const NOT_SCORED: u32 = u32::MAX;
/// [`PendingRow::block`] of an event copied into the batch's own block.
const OWN_EVENTS: u32 = u32::MAX;
/// The slot of value records, past the schemas' slots.
const VALUES_SLOT: u8 = 2;
/// The raw row of a value record, which has none.
const NO_ROW: RawRow = RawRow {
    orig: 0,
    resp: 0,
    edge: 0,
    pair: 0,
    ln_interval: f64::NAN,
    specific: [0.0; 5],
};

/// Rows in reading order, with the forest's input per schema.
#[derive(Default)]
struct Batch {
    /// Copies of events pushed one by one ([`Pipeline::push`]).
    events: EventBlock,
    /// Blocks pushed whole ([`Pipeline::push_block`]), shared with the batch before or after
    /// when a batch was sealed within one.
    lent: Vec<Arc<EventBlock>>,
    rows: Vec<PendingRow>,
    /// Per schema: the rows the forest scores (f32) and their f64 form (for reasons).
    values: [Vec<f32>; 2],
    encoded: [Vec<f64>; 2],
    started: Option<Instant>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The event of `row`.
    fn event(&self, row: &PendingRow) -> Option<FlowEvent<'_>> {
        let block = match row.block {
            OWN_EVENTS => &self.events,
            lent => self.lent.get(lent as usize)?,
        };
        block.get(row.event as usize)
    }

    /// Empties the batch for the next one, keeping its memory; lent blocks no other batch
    /// holds are handed to `spares`, emptied.
    fn clear(&mut self, spares: &mut Vec<EventBlock>) {
        self.events.clear();
        for block in self.lent.drain(..) {
            if let Ok(mut block) = Arc::try_unwrap(block) {
                block.clear();
                spares.push(block);
            }
        }
        self.rows.clear();
        for values in &mut self.values {
            values.clear();
        }
        for encoded in &mut self.encoded {
            encoded.clear();
        }
        self.started = None;
    }
}

/// A scored batch: the batch and each schema's score_samples, exact where they may flag a row.
struct Scored {
    batch: Batch,
    scores: [Vec<Screened>; 2],
}

/// The pipeline over one model.
pub struct Pipeline {
    model: Arc<LoadedModel>,
    config: PipelineConfig,
    roles: Arc<Roles>,
    /// Whether non-OT records touching OT assets were part of the model's baseline.
    wide_scope: bool,
    slots: [Option<Slot>; 2],
    detectors: Vec<Box<dyn Detector>>,
    forest: ForestDetector,
    builder: AlertBuilder,
    batch: Batch,
    /// A landed batch, emptied, to fill next (fresh memory per batch costs page faults).
    spare_batch: Option<Batch>,
    /// Emptied blocks of landed batches, for [`Pipeline::push_block`] to give back.
    spare_blocks: Vec<EventBlock>,
    in_flight: bool,
    scoring: ScoringThread,
    stats: PipelineStats,
    /// Reused per row.
    findings: Vec<Finding>,
    alerts: Vec<Alert>,
}

fn slot_of(schema: Schema) -> usize {
    match schema {
        Schema::Conn => 0,
        Schema::Request => 1,
    }
}

impl Pipeline {
    /// A pipeline over `model` with the default detectors.
    pub fn new(model: Arc<LoadedModel>, config: PipelineConfig) -> Pipeline {
        let ot = model.ot_selector();
        let roles = Arc::new(Roles::learn(
            model.file.schemas.iter().map(|schema| &schema.vocab),
            &ot,
        ));
        let slots = [Schema::Conn, Schema::Request].map(|schema| {
            model.schema(schema).map(|schema_model| Slot {
                schema,
                extractor: Extractor::score(schema_model.vocab.clone()),
            })
        });
        let mut stats = PipelineStats::default();
        let mut detectors: Vec<Box<dyn Detector>> =
            vec![Box::new(NoveltyDetector::new(Arc::clone(&roles)))];
        // Without its baseline the function-code detector still judges new functions on an
        // edge (the vocabulary's); the process-value detector has nothing to judge against.
        match FunctionCodeDetector::from_model(&model) {
            Ok(Some(detector)) => detectors.push(Box::new(detector)),
            Ok(None) => {
                stats.detector_warnings.push(format!(
                    "the model has no {} baseline (trained by an older otsentry): only functions new on an edge are judged; retrain to judge operations and exception bursts",
                    function_code::NAME
                ));
                detectors.push(Box::new(FunctionCodeDetector::new(None)));
            }
            Err(error) => {
                stats.detector_warnings.push(error.to_string());
                detectors.push(Box::new(FunctionCodeDetector::new(None)));
            }
        }
        match ProcessValueDetector::from_model(&model) {
            // The inventory's safe limits, where it has them, are judged beside the learnt ranges.
            Ok(Some(detector)) => detectors.push(Box::new(match &config.inventory {
                Some(inventory) => detector.with_inventory(Arc::clone(inventory)),
                None => detector,
            })),
            Ok(None) => stats
                .detector_warnings
                .push(no_baseline(process_value::NAME)),
            Err(error) => stats.detector_warnings.push(error.to_string()),
        }
        match RhythmDetector::from_model(&model) {
            Ok(Some(detector)) => detectors.push(Box::new(detector)),
            Ok(None) => stats.detector_warnings.push(no_baseline("rhythm")),
            Err(error) => stats.detector_warnings.push(error.to_string()),
        }
        match FlowShapeDetector::from_model(&model) {
            Ok(Some(detector)) => detectors.push(Box::new(detector)),
            Ok(None) => stats.detector_warnings.push(no_baseline(flow_shape::NAME)),
            Err(error) => stats.detector_warnings.push(error.to_string()),
        }
        match ScheduleDetector::from_model(&model) {
            Ok(Some(detector)) => detectors.push(Box::new(detector)),
            Ok(None) => stats.detector_warnings.push(no_baseline("schedule")),
            Err(error) => stats.detector_warnings.push(error.to_string()),
        }
        if let Some(inventory) = &config.inventory {
            detectors.push(Box::new(ConduitDetector::new(Arc::clone(inventory))));
        }
        let builder = AlertBuilder::new(config.window_secs, &model.sha256)
            .with_inventory(config.inventory.clone());
        let forest = ForestDetector::for_model(&model.file.manifest, config.threshold);
        // Only rows under the forest's threshold need their exact score, unless every row's
        // score is printed; a flagged row screened out gets its score walked alone (`land_scored`).
        let bounds = [Schema::Conn, Schema::Request].map(|schema| {
            let schema_model = model.schema(schema)?;
            (config.rows != RowOutput::All).then(|| forest.outlier_bound(schema_model))
        });
        Pipeline {
            wide_scope: model.file.manifest.scope.includes_ot_assets(),
            scoring: ScoringThread::start(Arc::clone(&model), bounds),
            forest,
            model,
            roles,
            slots,
            detectors,
            builder,
            batch: Batch::default(),
            spare_batch: None,
            spare_blocks: Vec::new(),
            in_flight: false,
            stats,
            findings: Vec::new(),
            alerts: Vec::new(),
            config,
        }
    }

    pub fn stats(&self) -> &PipelineStats {
        &self.stats
    }

    pub fn model(&self) -> &LoadedModel {
        &self.model
    }

    /// The names of the detectors this pipeline runs, the forest last (certification reports
    /// on each of them).
    pub fn detector_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.detectors.iter().map(|d| d.name()).collect();
        names.push(forest::NAME);
        names
    }

    /// Alerts open in the builder (waiting for their window to pass).
    pub fn open_alerts(&self) -> usize {
        self.builder.open_alerts()
    }

    /// True when the record reaches the detectors: OT traffic, or a record whose source or
    /// destination is an OT asset.
    fn in_scope(&self, event: &FlowEvent<'_>) -> bool {
        event.ot
            || (self.wide_scope
                && (self.roles.is_ot_asset(event.edge.orig_h)
                    || self.roles.is_ot_asset(event.edge.resp_h)))
    }

    /// Takes one event (in reading order).
    pub fn push(
        &mut self,
        event: &FlowEvent<'_>,
        sink: &mut dyn Sink,
    ) -> Result<(), PipelineError> {
        self.push_from(event, None, sink)
    }

    /// Takes a block of events (in reading order), exactly as pushing each of them would, but
    /// without copying them: the batches keep the block until their rows have landed. Gives
    /// back an empty block to fill again (one that landed, or a new one).
    pub fn push_block(
        &mut self,
        block: EventBlock,
        sink: &mut dyn Sink,
    ) -> Result<EventBlock, PipelineError> {
        let block = Arc::new(block);
        for (index, event) in block.iter().enumerate() {
            self.push_from(&event, Some((&block, index as u32)), sink)?;
        }
        drop(block);
        Ok(self.spare_blocks.pop().unwrap_or_default())
    }

    /// [`Pipeline::push`] of an event copied into the batch (`lent` is `None`) or lent by a
    /// block at an index.
    fn push_from(
        &mut self,
        event: &FlowEvent<'_>,
        lent: Option<(&Arc<EventBlock>, u32)>,
        sink: &mut dyn Sink,
    ) -> Result<(), PipelineError> {
        self.stats.events += 1;
        if !self.in_scope(event) {
            self.stats.out_of_scope += 1;
            return Ok(());
        }
        let emit = self.config.emit_from.is_none_or(|since| event.ts >= since);
        let Some(schema) = schema_of(event) else {
            // A value record: no forest row, but it lands in reading order with the others.
            self.stats.value_records += 1;
            return self.enqueue(
                event,
                lent,
                PendingRow {
                    slot: VALUES_SLOT,
                    block: OWN_EVENTS,
                    event: 0,
                    index: if emit { 0 } else { NOT_SCORED },
                    raw: NO_ROW,
                },
                sink,
            );
        };
        let slot_idx = slot_of(schema);
        let Some(slot) = self.slots[slot_idx].as_mut() else {
            self.stats.rows_without_model += 1;
            return Ok(());
        };
        let Some(raw) = slot.extractor.push(event) else {
            return Ok(());
        };
        self.stats.rows += 1;
        let index = if emit {
            let width = slot.schema.width();
            let mut row = [0.0; MAX_WIDTH];
            slot.extractor.encode(&raw, &mut row);
            let index = self.batch.encoded[slot_idx].len() / width;
            self.batch.encoded[slot_idx].extend_from_slice(&row[..width]);
            self.batch.values[slot_idx].extend(row[..width].iter().map(|&value| value as f32));
            index as u32
        } else {
            self.stats.rows_before_since += 1;
            NOT_SCORED
        };
        let row = PendingRow {
            slot: slot_idx as u8,
            block: OWN_EVENTS,
            event: 0,
            index,
            raw,
        };
        self.enqueue(event, lent, row, sink)
    }

    /// Adds a row to the open batch, sealing it when full or late.
    fn enqueue(
        &mut self,
        event: &FlowEvent<'_>,
        lent: Option<(&Arc<EventBlock>, u32)>,
        mut row: PendingRow,
        sink: &mut dyn Sink,
    ) -> Result<(), PipelineError> {
        if self.batch.is_empty() && self.config.max_latency.is_some() {
            self.batch.started = Some(Instant::now());
        }
        match lent {
            None => {
                row.event = self.batch.events.len() as u32;
                self.batch.events.push(event);
            }
            Some((block, index)) => {
                let lent = &mut self.batch.lent;
                if !lent.last().is_some_and(|last| Arc::ptr_eq(last, block)) {
                    lent.push(Arc::clone(block));
                }
                row.block = (lent.len() - 1) as u32;
                row.event = index;
            }
        }
        self.batch.rows.push(row);
        let full = self.batch.rows.len() >= self.config.batch_rows.max(1);
        let late = match (self.config.max_latency, self.batch.started) {
            (Some(bound), Some(started)) => started.elapsed() >= bound,
            _ => false,
        };
        if full || late {
            self.send(sink)?;
        }
        Ok(())
    }

    /// Seals the open batch if its oldest row has waited the latency bound (the live driver
    /// calls this when no line arrived for a while).
    pub fn tick(&mut self, sink: &mut dyn Sink) -> Result<(), PipelineError> {
        if let (Some(bound), Some(started)) = (self.config.max_latency, self.batch.started)
            && started.elapsed() >= bound
        {
            self.flush(sink)?;
        }
        Ok(())
    }

    /// Lands the batch in flight, then sends the open batch to be scored.
    fn send(&mut self, sink: &mut dyn Sink) -> Result<(), PipelineError> {
        self.land(sink)?;
        if self.batch.is_empty() {
            return Ok(());
        }
        let next = self.spare_batch.take().unwrap_or_default();
        let batch = std::mem::replace(&mut self.batch, next);
        self.scoring.send(batch)?;
        self.in_flight = true;
        Ok(())
    }

    /// Waits for the batch in flight, if any, and lands it.
    fn land(&mut self, sink: &mut dyn Sink) -> Result<(), PipelineError> {
        if !self.in_flight {
            return Ok(());
        }
        self.in_flight = false;
        let scored = self.scoring.receive()?;
        self.land_scored(scored, sink)?;
        Ok(())
    }

    /// Processes every row of the open batch and of the batch in flight: after it, every pushed
    /// event has been seen by every detector.
    pub fn flush(&mut self, sink: &mut dyn Sink) -> Result<(), PipelineError> {
        self.send(sink)?;
        self.land(sink)
    }

    /// The end of the input: flushes and closes every open alert.
    pub fn finish(&mut self, sink: &mut dyn Sink) -> Result<(), PipelineError> {
        self.flush(sink)?;
        let mut alerts = std::mem::take(&mut self.alerts);
        self.builder.finish(&mut alerts);
        let result = emit(&mut self.stats, &mut alerts, sink);
        self.alerts = alerts;
        result
    }

    fn land_scored(&mut self, scored: Scored, sink: &mut dyn Sink) -> Result<(), PipelineError> {
        let Scored { mut batch, scores } = scored;
        let mut findings = std::mem::take(&mut self.findings);
        let mut alerts = std::mem::take(&mut self.alerts);
        let mut result = Ok(());
        for row in &batch.rows {
            let Some(event) = batch.event(row) else {
                continue;
            };
            if row.slot == VALUES_SLOT {
                findings.clear();
                for detector in &mut self.detectors {
                    detector.observe_values(&event, &mut findings);
                }
                if row.index == NOT_SCORED {
                    continue;
                }
                count_findings(&mut self.stats, &findings);
                // Value records are protocol records: their log time is the protocol stream's.
                self.builder.advance(Schema::Request, event.ts, &mut alerts);
                for finding in findings.drain(..) {
                    self.builder.add(finding, &mut alerts);
                }
                if let Err(error) = emit(&mut self.stats, &mut alerts, sink) {
                    result = Err(error);
                    break;
                }
                continue;
            }
            let Some(slot) = self.slots[row.slot as usize].as_ref() else {
                continue;
            };
            let observation = Observation {
                event: &event,
                schema: slot.schema,
                raw: &row.raw,
                vocab: slot.extractor.vocab(),
            };
            findings.clear();
            for detector in &mut self.detectors {
                detector.observe(&observation, &mut findings);
            }
            if row.index == NOT_SCORED {
                continue;
            }
            let slot_idx = row.slot as usize;
            let index = row.index as usize;
            self.stats.rows_scored += 1;
            let Some(schema_model) = self.model.schema(slot.schema) else {
                continue;
            };
            let width = slot.schema.width();
            let values = &batch.values[slot_idx][index * width..(index + 1) * width];
            let exact = scores[slot_idx][index].exact();
            if let Some(score_samples) = exact {
                let scored_row = forest::ScoredRow {
                    raw: &row.raw,
                    encoded: &batch.encoded[slot_idx][index * width..(index + 1) * width],
                    values,
                    score_samples,
                };
                if let Some(outlier) = self
                    .forest
                    .judge(schema_model, &scored_row, || Seen::of(&event, slot.schema))
                {
                    attach_or_push(&mut findings, outlier);
                }
            }
            count_findings(&mut self.stats, &findings);
            let handed = match self.config.rows {
                RowOutput::None => Ok(()),
                RowOutput::Findings if findings.is_empty() => Ok(()),
                RowOutput::Findings => sink.findings(event.ts, &findings),
                RowOutput::Flagged if findings.is_empty() => Ok(()),
                RowOutput::Flagged | RowOutput::All => {
                    // A row another detector flagged may have been screened out of the walk:
                    // its score is walked alone, the same bits the batch's walk gives.
                    match exact.map_or_else(|| schema_model.model.score_row(values), Ok) {
                        Ok(score_samples) => sink.row(&row_record(
                            &event,
                            slot.schema,
                            schema_model,
                            score_samples,
                            &findings,
                        )),
                        Err(source) => {
                            result = Err(PipelineError::Model {
                                schema: slot.schema.as_str(),
                                source,
                            });
                            break;
                        }
                    }
                }
            };
            if let Err(error) = handed {
                result = Err(error.into());
                break;
            }
            self.builder.advance(slot.schema, event.ts, &mut alerts);
            for finding in findings.drain(..) {
                self.builder.add(finding, &mut alerts);
            }
            if let Err(error) = emit(&mut self.stats, &mut alerts, sink) {
                result = Err(error);
                break;
            }
        }
        batch.clear(&mut self.spare_blocks);
        self.spare_batch = Some(batch);
        self.findings = findings;
        self.alerts = alerts;
        result
    }
}

/// The warning for a model trained before a detector existed.
fn no_baseline(detector: &str) -> String {
    format!(
        "the model has no {detector} baseline (trained by an older otsentry): the {detector} detector is off; retrain to use it"
    )
}

/// Adds the forest's finding on a row: when another detector already found something on the
/// same row, the forest's scores and reasons support that finding (one record, one alert);
/// otherwise the outlier is a finding of its own.
fn attach_or_push(findings: &mut Vec<Finding>, outlier: Finding) {
    let strongest = findings.iter_mut().max_by_key(|finding| finding.severity);
    match strongest {
        Some(finding) => {
            finding.scores = outlier.scores;
            for reason in outlier.reasons {
                if !finding.reasons.contains(&reason) {
                    finding.reasons.push(reason);
                }
            }
        }
        None => findings.push(outlier),
    }
}

/// Hands alerts to the sink, counting them.
fn emit(
    stats: &mut PipelineStats,
    alerts: &mut Vec<Alert>,
    sink: &mut dyn Sink,
) -> Result<(), PipelineError> {
    for alert in alerts.drain(..) {
        match alert.state {
            AlertState::Open => {
                stats.alerts_opened += 1;
                *stats.alerts_by_severity.entry(alert.severity).or_default() += 1;
            }
            AlertState::Closed => stats.alerts_closed += 1,
        }
        sink.alert(&alert)?;
    }
    Ok(())
}

fn count_findings(stats: &mut PipelineStats, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    stats.rows_flagged += 1;
    if findings.iter().any(|finding| {
        finding.detector == crate::detect::novelty::NAME || finding.rule == "new_function"
    }) {
        stats.rows_novel += 1;
    }
    for finding in findings {
        // Looked up before inserting: a flagged row must not allocate the detector's name.
        match stats.findings_by_detector.get_mut(finding.detector) {
            Some(count) => *count += 1,
            None => {
                stats
                    .findings_by_detector
                    .insert(finding.detector.to_string(), 1);
            }
        }
        *stats
            .findings_by_severity
            .entry(finding.severity)
            .or_default() += 1;
    }
}

/// The row as `--format rows` prints it.
fn row_record(
    event: &FlowEvent<'_>,
    schema: Schema,
    model: &crate::model::SchemaModel,
    score_samples: f64,
    findings: &[Finding],
) -> RowRecord {
    RowRecord {
        ts: event.ts,
        uid: event.uid.to_string(),
        orig_h: event.edge.orig_h,
        orig_p: event.orig_p,
        resp_h: event.edge.resp_h,
        resp_p: event.edge.resp_p,
        proto: event.edge.proto.as_str(),
        service: event.edge.service.to_string(),
        record: schema.as_str(),
        ot: event.ot,
        anomaly_score: ForestDetector::decision(model, score_samples),
        score_samples,
        flagged: !findings.is_empty(),
        findings: findings
            .iter()
            .map(|finding| format!("{}.{}", finding.detector, finding.rule))
            .collect(),
        reasons: findings
            .iter()
            .flat_map(|finding| finding.reasons.iter().map(ToString::to_string))
            .collect(),
    }
}
