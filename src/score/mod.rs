//! Scoring: the same feature state machine as training, against the model's frozen vocabularies,
//! with rows scored in parallel batches.
//!
//! Features are computed sequentially (the per-edge state is ordered by log time), buffered into
//! batches of up to 64 Ki rows without per-row allocation, and each batch is scored by the model
//! on all cores. Only rows that are printed get their strings built. A row is flagged when its
//! decision value is below the threshold or when it carries a novel value (see
//! [`Novelty::is_alarm`]).

pub mod reasons;

use std::net::IpAddr;
use std::path::PathBuf;
use std::thread::{Scope, ScopedJoinHandle};

use iforest::{DataError, Matrix, ScoreError as ModelScoreError};
use serde::Serialize;
use thiserror::Error;
use zeek::{ReadOptions, ZeekError};

use crate::features::walk::{WalkStats, walk};
use crate::features::{Extractor, FlowEvent, MAX_WIDTH, Novelty, RawRow, Schema, schema_of};
use crate::model::{LoadedModel, SchemaModel};

/// Rows per scoring batch.
pub const BATCH_ROWS: usize = 1 << 16;

/// What `score` needs besides the model.
#[derive(Clone, Debug)]
pub struct ScoreConfig {
    pub logs: Vec<PathBuf>,
    /// Rows with `anomaly_score < threshold` are flagged; 0 is the contamination boundary.
    pub threshold: f64,
    /// Emit every row, not only flagged ones.
    pub all: bool,
    pub read_options: ReadOptions,
    /// Only records with `ts` at or after this (epoch seconds) are scored.
    pub since: Option<f64>,
    /// Rows per scoring batch ([`BATCH_ROWS`] unless testing).
    pub batch_rows: usize,
}

/// One scored row, as printed.
#[derive(Clone, Debug, Serialize)]
pub struct ScoredRow {
    pub ts: f64,
    pub uid: String,
    #[serde(rename = "id.orig_h")]
    pub orig_h: IpAddr,
    #[serde(rename = "id.resp_h")]
    pub resp_h: IpAddr,
    #[serde(rename = "id.resp_p")]
    pub resp_p: u16,
    pub proto: &'static str,
    pub service: String,
    /// `conn` or `request`.
    pub record: &'static str,
    /// The decision value: score_samples - offset; negative is anomalous.
    pub anomaly_score: f64,
    pub score_samples: f64,
    pub flagged: bool,
    /// Names of the novel values (`source`, `destination`, `edge`, `function`, `conn_state`).
    pub novel: Vec<&'static str>,
    pub reasons: Vec<String>,
}

/// Totals of a scoring run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ScoreSummary {
    pub rows_scored: u64,
    pub rows_flagged: u64,
    /// Flagged because of a novel value.
    pub rows_novel: u64,
    /// Rows of a schema the model has no model for (e.g. protocol logs, model trained on conn.log).
    pub rows_without_model: u64,
    pub walk: WalkStats,
}

/// Why scoring failed.
#[derive(Debug, Error)]
pub enum ScoreError {
    #[error(transparent)]
    Read(#[from] ZeekError),
    #[error("the {schema} model cannot score: {source}")]
    Model {
        schema: &'static str,
        source: ModelScoreError,
    },
    #[error("the {schema} features are not finite: {source}")]
    Data {
        schema: &'static str,
        source: DataError,
    },
    #[error("cannot write the results: {0}")]
    Output(#[source] std::io::Error),
}

/// Per-row data kept until the batch is scored.
#[derive(Clone, Copy, Debug)]
struct RowMeta {
    ts: f64,
    uid_end: usize,
    raw: RawRow,
    novelty: Novelty,
}

/// One schema's scorer: its extractor and the batch being filled.
pub struct SchemaScorer<'m> {
    model: &'m SchemaModel,
    batch_rows: usize,
    extractor: Extractor,
    values: Vec<f32>,
    encoded: Vec<f64>,
    meta: Vec<RowMeta>,
    uids: String,
}

impl<'m> SchemaScorer<'m> {
    pub fn new(model: &'m SchemaModel, batch_rows: usize) -> SchemaScorer<'m> {
        let width = model.schema.width();
        SchemaScorer {
            model,
            batch_rows: batch_rows.max(1),
            extractor: Extractor::score(model.vocab.clone()),
            values: Vec::with_capacity(BATCH_ROWS * width),
            encoded: Vec::with_capacity(BATCH_ROWS * width),
            meta: Vec::with_capacity(BATCH_ROWS),
            uids: String::new(),
        }
    }

    /// Adds one event of this schema to the batch; true when the batch is full.
    pub fn push(&mut self, event: &FlowEvent<'_>) -> bool {
        let Some(raw) = self.extractor.push(event) else {
            return false;
        };
        let width = self.model.schema.width();
        let mut row = [0.0; MAX_WIDTH];
        let novelty = self.extractor.encode(&raw, &mut row);
        self.encoded.extend_from_slice(&row[..width]);
        self.values
            .extend(row[..width].iter().map(|&value| value as f32));
        self.uids.push_str(event.uid);
        self.meta.push(RowMeta {
            ts: event.ts,
            uid_end: self.uids.len(),
            raw,
            novelty,
        });
        self.meta.len() >= self.batch_rows
    }

    /// Takes the rows gathered so far out as a batch ready to score; `None` when there are none.
    pub fn seal(&mut self) -> Result<Option<Batch>, ScoreError> {
        if self.meta.is_empty() {
            return Ok(None);
        }
        let schema = self.model.schema;
        let width = schema.width();
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(BATCH_ROWS * width));
        let matrix = Matrix::new(width, values).map_err(|source| ScoreError::Data {
            schema: schema.as_str(),
            source,
        })?;
        Ok(Some(Batch {
            matrix,
            encoded: std::mem::replace(&mut self.encoded, Vec::with_capacity(BATCH_ROWS * width)),
            meta: std::mem::replace(&mut self.meta, Vec::with_capacity(BATCH_ROWS)),
            uids: std::mem::take(&mut self.uids),
        }))
    }

    /// Scores a batch with this schema's model (on all cores).
    pub fn score_batch(model: &SchemaModel, batch: &Batch) -> Result<Vec<f64>, ScoreError> {
        model
            .model
            .score_samples(&batch.matrix)
            .map_err(|source| ScoreError::Model {
                schema: model.schema.as_str(),
                source,
            })
    }

    /// Hands every printed row of a scored batch to `sink`; returns (rows, flagged, novel).
    pub fn emit(
        &self,
        batch: &Batch,
        scores: &[f64],
        threshold: f64,
        all: bool,
        sink: &mut dyn FnMut(&ScoredRow) -> std::io::Result<()>,
    ) -> Result<(u64, u64, u64), ScoreError> {
        let width = self.model.schema.width();
        let offset = self.model.model.offset();
        let (mut flagged, mut novel) = (0u64, 0u64);
        let mut uid_start = 0;
        for (row_idx, (meta, &score)) in batch.meta.iter().zip(scores).enumerate() {
            let decision = score - offset;
            let is_novel = meta.novelty.is_alarm();
            let is_flagged = decision < threshold || is_novel;
            flagged += u64::from(is_flagged);
            novel += u64::from(is_novel);
            let uid = &batch.uids[uid_start..meta.uid_end];
            uid_start = meta.uid_end;
            if !(is_flagged || all) {
                continue;
            }
            let encoded = &batch.encoded[row_idx * width..(row_idx + 1) * width];
            let row = build_row(
                self,
                meta,
                uid,
                encoded,
                batch.matrix.row(row_idx),
                decision,
                score,
                is_flagged,
            );
            sink(&row).map_err(ScoreError::Output)?;
        }
        Ok((batch.meta.len() as u64, flagged, novel))
    }
}

/// Rows sealed for scoring: the model's input and what is needed to print them.
pub struct Batch {
    matrix: Matrix,
    encoded: Vec<f64>,
    meta: Vec<RowMeta>,
    uids: String,
}

#[allow(clippy::too_many_arguments)]
fn build_row(
    scorer: &SchemaScorer<'_>,
    meta: &RowMeta,
    uid: &str,
    encoded: &[f64],
    values: &[f32],
    decision: f64,
    score: f64,
    flagged: bool,
) -> ScoredRow {
    let vocab = scorer.extractor.vocab();
    let edge = vocab.edges.key(meta.raw.edge);
    let host = |id: Option<u32>| {
        id.and_then(|id| vocab.hosts.key(id))
            .unwrap_or(IpAddr::from([0, 0, 0, 0]))
    };
    let explained = if flagged {
        scorer.model.model.explain(values).unwrap_or_default()
    } else {
        Vec::new()
    };
    let reasons = if flagged {
        reasons::reasons(
            &scorer.extractor,
            &meta.raw,
            meta.novelty,
            encoded,
            &explained,
            &scorer.model.ranges,
        )
    } else {
        Vec::new()
    };
    ScoredRow {
        ts: meta.ts,
        uid: uid.to_string(),
        orig_h: host(edge.map(|edge| edge.orig)),
        resp_h: host(edge.map(|edge| edge.resp)),
        resp_p: edge.map_or(0, |edge| edge.port),
        proto: edge.map_or("-", |edge| edge.proto.as_str()),
        service: edge
            .and_then(|edge| vocab.services.key(edge.service))
            .unwrap_or("-")
            .to_string(),
        record: scorer.model.schema.as_str(),
        anomaly_score: decision,
        score_samples: score,
        flagged,
        novel: novelty_names(meta.novelty),
        reasons,
    }
}

/// The names of the novel values, for output.
pub fn novelty_names(novelty: Novelty) -> Vec<&'static str> {
    [
        (Novelty::SOURCE, "source"),
        (Novelty::DESTINATION, "destination"),
        (Novelty::EDGE, "edge"),
        (Novelty::FUNCTION, "function"),
        (Novelty::CONN_STATE, "conn_state"),
    ]
    .into_iter()
    .filter(|(flag, _)| novelty.contains(*flag))
    .map(|(_, name)| name)
    .collect()
}

/// A batch being scored on another thread while the next one is read: the schema index and the
/// thread, which hands the batch back with its scores.
type InFlight<'scope> = (
    usize,
    ScopedJoinHandle<'scope, Result<(Batch, Vec<f64>), ScoreError>>,
);

type Sink<'a> = dyn FnMut(&ScoredRow) -> std::io::Result<()> + 'a;

/// What the printing side needs besides the batch.
struct Emit<'a, 'b> {
    threshold: f64,
    all: bool,
    summary: &'a mut ScoreSummary,
    sink: &'a mut Sink<'b>,
}

/// Waits for the batch in flight, if any, and prints it.
fn land(
    in_flight: &mut Option<InFlight<'_>>,
    scorers: &[Option<SchemaScorer<'_>>; 2],
    emit: &mut Emit<'_, '_>,
) -> Result<(), ScoreError> {
    let Some((idx, handle)) = in_flight.take() else {
        return Ok(());
    };
    let (batch, scores) = handle.join().unwrap_or_else(|_| {
        Err(ScoreError::Output(std::io::Error::other(
            "the scoring thread panicked",
        )))
    })?;
    if let Some(scorer) = scorers[idx].as_ref() {
        let (rows, flagged, novel) =
            scorer.emit(&batch, &scores, emit.threshold, emit.all, emit.sink)?;
        emit.summary.rows_scored += rows;
        emit.summary.rows_flagged += flagged;
        emit.summary.rows_novel += novel;
    }
    Ok(())
}

/// Prints the batch in flight, then seals scorer `idx`'s rows and sends them to be scored.
fn launch<'scope, 'm: 'scope>(
    scope: &'scope Scope<'scope, '_>,
    idx: usize,
    in_flight: &mut Option<InFlight<'scope>>,
    scorers: &mut [Option<SchemaScorer<'m>>; 2],
    emit: &mut Emit<'_, '_>,
) -> Result<(), ScoreError> {
    land(in_flight, scorers, emit)?;
    let Some(scorer) = scorers[idx].as_mut() else {
        return Ok(());
    };
    if let Some(batch) = scorer.seal()? {
        let schema_model: &'m SchemaModel = scorer.model;
        let handle = scope.spawn(move || {
            SchemaScorer::score_batch(schema_model, &batch).map(|scores| (batch, scores))
        });
        *in_flight = Some((idx, handle));
    }
    Ok(())
}

/// Scores the logs in `config` against `model`, handing printed rows to `sink` in reading order
/// within each schema.
///
/// Reading and feature extraction run on this thread; each full batch is scored on a scoped
/// thread (with rayon under it) while the next batch is read, and is printed before the next one
/// is sent, so the order of rows and the memory held (two batches) are fixed.
pub fn score(
    model: &LoadedModel,
    config: &ScoreConfig,
    progress: impl FnMut(u64),
    mut sink: impl FnMut(&ScoredRow) -> std::io::Result<()>,
) -> Result<ScoreSummary, ScoreError> {
    let mut scorers: [Option<SchemaScorer<'_>>; 2] = [
        model
            .schema(Schema::Conn)
            .map(|schema| SchemaScorer::new(schema, config.batch_rows)),
        model
            .schema(Schema::Request)
            .map(|schema| SchemaScorer::new(schema, config.batch_rows)),
    ];
    let mut summary = ScoreSummary::default();
    let since = config.since.unwrap_or(f64::NEG_INFINITY);
    let mut rows_without_model = 0u64;
    let walk_stats = std::thread::scope(|scope| -> Result<WalkStats, ScoreError> {
        let mut emit = Emit {
            threshold: config.threshold,
            all: config.all,
            summary: &mut summary,
            sink: &mut sink,
        };
        let mut in_flight: Option<InFlight<'_>> = None;
        let mut failure: Option<ScoreError> = None;
        let mut active: Option<usize> = None;
        let walk_stats = walk(&config.logs, &config.read_options, progress, |event| {
            if failure.is_some() || event.ts < since {
                return;
            }
            let idx = match schema_of(event) {
                Schema::Conn => 0,
                Schema::Request => 1,
            };
            // Keep output in reading order: send the other schema's rows when the logs switch.
            if let Some(previous) = active
                && previous != idx
                && let Err(error) = launch(scope, previous, &mut in_flight, &mut scorers, &mut emit)
            {
                failure = Some(error);
                return;
            }
            active = Some(idx);
            let Some(scorer) = scorers[idx].as_mut() else {
                rows_without_model += 1;
                return;
            };
            if scorer.push(event)
                && let Err(error) = launch(scope, idx, &mut in_flight, &mut scorers, &mut emit)
            {
                failure = Some(error);
            }
        });
        let walk_stats = walk_stats?;
        if let Some(error) = failure {
            return Err(error);
        }
        for idx in 0..scorers.len() {
            launch(scope, idx, &mut in_flight, &mut scorers, &mut emit)?;
        }
        land(&mut in_flight, &scorers, &mut emit)?;
        Ok(walk_stats)
    })?;
    summary.walk = walk_stats;
    summary.rows_without_model = rows_without_model;
    Ok(summary)
}
