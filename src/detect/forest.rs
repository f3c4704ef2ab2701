//! The forest detector: a row whose decision value (`score_samples - offset`) is below the
//! threshold is an outlier of the learnt traffic.
//!
//! The forest answers "is this record unusual?", not "what happened", so its findings are low
//! severity (medium when the row is far below the boundary) and carry the features that isolated
//! the row as reasons. What was found (a new host, a write from a reader) raises severity; that is
//! the other detectors' job. The forest judges rows in batches: the pipeline scores a sealed batch
//! on all cores, then asks this detector about each row in reading order.

use super::reasons::forest_reasons;
use super::{Finding, Reason, Scores, Seen, Severity, Subject};
use crate::features::{RawRow, Schema};
use crate::model::{Manifest, SchemaModel};

/// The detector's name in findings and metrics.
pub const NAME: &str = "forest";

/// How far below the threshold a row must be for a medium finding: a decision value of -0.1 is
/// a row isolated in clearly fewer splits than the contamination boundary's.
pub const MEDIUM_MARGIN: f64 = 0.1;

/// The forest detector and its thresholds on the decision value, one per schema.
#[derive(Clone, Copy, Debug)]
pub struct ForestDetector {
    /// Rows with `anomaly_score < threshold` are outliers; 0 is the contamination boundary.
    conn: f64,
    request: f64,
}

/// One scored row, as the forest detector sees it.
pub struct ScoredRow<'a> {
    pub raw: &'a RawRow,
    /// The encoded row (f64, as the reasons decode it).
    pub encoded: &'a [f64],
    /// The row the forest scored (f32).
    pub values: &'a [f32],
    pub score_samples: f64,
}

impl ForestDetector {
    /// One threshold for every schema.
    pub fn with_threshold(threshold: f64) -> ForestDetector {
        ForestDetector {
            conn: threshold,
            request: threshold,
        }
    }

    /// `threshold` for every schema when given, else the thresholds `manifest` was calibrated
    /// with in training (0, the contamination boundary, for a schema or a model without one).
    pub fn for_model(manifest: &Manifest, threshold: Option<f64>) -> ForestDetector {
        if let Some(threshold) = threshold {
            return ForestDetector::with_threshold(threshold);
        }
        let calibrated = |schema: Schema| {
            manifest
                .forest_thresholds
                .get(schema.as_str())
                .copied()
                .filter(|value| value.is_finite())
                .map_or(0.0, |value| value.min(0.0))
        };
        ForestDetector {
            conn: calibrated(Schema::Conn),
            request: calibrated(Schema::Request),
        }
    }

    /// The threshold rows of `schema` are judged against.
    pub fn threshold(&self, schema: Schema) -> f64 {
        match schema {
            Schema::Conn => self.conn,
            Schema::Request => self.request,
        }
    }

    /// The `score_samples` at and above which no row of `model` is an outlier, with a margin
    /// far past the rounding of `score_samples - offset`: the scoring walk may stop early on
    /// rows it proves score at least this ([`iforest::Model::screen_samples`]).
    pub fn outlier_bound(&self, model: &SchemaModel) -> f64 {
        model.model.offset() + self.threshold(model.schema) + 1e-9
    }

    /// The decision value of a row: `score_samples - offset`.
    pub fn decision(model: &SchemaModel, score_samples: f64) -> f64 {
        score_samples - model.model.offset()
    }

    /// True when the row is an outlier.
    pub fn is_outlier(&self, model: &SchemaModel, score_samples: f64) -> bool {
        Self::decision(model, score_samples) < self.threshold(model.schema)
    }

    /// The finding for a row, if it is an outlier; `seen` builds the record's description.
    pub fn judge(
        &self,
        model: &SchemaModel,
        row: &ScoredRow<'_>,
        seen: impl FnOnce() -> Seen,
    ) -> Option<Finding> {
        let decision = Self::decision(model, row.score_samples);
        let threshold = self.threshold(model.schema);
        if decision >= threshold {
            return None;
        }
        let explained = model.model.explain(row.values).unwrap_or_default();
        let mut reasons = forest_reasons(
            model.schema,
            &model.vocab,
            row.raw,
            row.encoded,
            &explained,
            &model.ranges,
        );
        if reasons.is_empty() {
            reasons.push(Reason::new(
                format!("anomaly_score {decision:.4}"),
                "an unusual combination of features, each inside its own training range",
            ));
        }
        let severity = if decision < threshold - MEDIUM_MARGIN {
            Severity::Medium
        } else {
            Severity::Low
        };
        let seen = seen();
        Some(Finding {
            detector: NAME,
            rule: "outlier",
            title: "Traffic unlike the learnt baseline (Isolation Forest)",
            severity,
            subject: Subject {
                src: Some(seen.src),
                dst: Some(seen.dst),
            },
            reasons,
            techniques: Vec::new(),
            seen,
            scores: Some(Scores {
                anomaly_score: decision,
                score_samples: row.score_samples,
            }),
        })
    }
}
