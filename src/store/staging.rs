//! The store's part of the staging period: the evidence `watch --staging` leaves of a candidate
//! scoring live traffic beside production (how long, how many records) and its would-be alerts
//! counted next to production's on the same records, per log day, detector, rule and severity.
//! Plain data and the transaction methods that read and add to it (migration 0007); governance
//! decides when evidence may be added, the promotion checks read it.

use std::future::Future;

use serde::{Deserialize, Serialize};

use super::{R, StoreTx};
use crate::governance::Permit;

/// Whose alerts a count is: the staging candidate's would-be alerts or production's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StagingSide {
    Staging,
    Production,
}

impl StagingSide {
    pub fn as_str(self) -> &'static str {
        match self {
            StagingSide::Staging => "staging",
            StagingSide::Production => "production",
        }
    }

    pub fn parse(text: &str) -> Option<StagingSide> {
        match text {
            "staging" => Some(StagingSide::Staging),
            "production" => Some(StagingSide::Production),
            _ => None,
        }
    }
}

/// Opened alerts of one side on one log day (UTC date, `YYYY-MM-DD`) by detector, rule and
/// severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagingCount {
    pub day: String,
    pub side: StagingSide,
    pub detector: String,
    pub rule: String,
    pub severity: String,
    pub alerts: u64,
}

/// What one watch session adds to a version's evidence since its last write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StagingDelta {
    /// Time the candidate scored records beside production since the last write (wall-clock
    /// time, bounded by the log time its records advanced: idle time counts nothing).
    pub scored_micros: i64,
    /// Records the candidate's pipeline took.
    pub records: u64,
    pub rows_scored: u64,
    /// The production model it ran beside: evidence is of one (candidate, production) pair, and
    /// a delta beside another production model starts the evidence over.
    pub production_sha256: String,
    /// Wall-clock now, epoch microseconds.
    pub at: i64,
    pub counts: Vec<StagingCount>,
}

impl StagingDelta {
    /// True when there is nothing to add.
    pub fn is_empty(&self) -> bool {
        self.scored_micros == 0 && self.records == 0 && self.counts.is_empty()
    }
}

/// A version's staging evidence, summed over every watch session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagingEvidence {
    pub version_id: i64,
    pub first_scored_at: i64,
    pub last_scored_at: i64,
    pub scored_micros: i64,
    pub records: u64,
    pub rows_scored: u64,
    pub production_sha256: String,
    /// In (day, side, detector, rule, severity) order.
    pub counts: Vec<StagingCount>,
}

impl StagingEvidence {
    /// Opened alerts of `side` in all.
    pub fn alerts(&self, side: StagingSide) -> u64 {
        self.counts
            .iter()
            .filter(|count| count.side == side)
            .map(|count| count.alerts)
            .sum()
    }
}

/// Reads and additions of staging evidence inside one transaction.
pub trait StagingTx: StoreTx {
    fn staging_evidence(
        &mut self,
        version_id: i64,
    ) -> impl Future<Output = R<Option<StagingEvidence>>> + Send;
    /// Adds `delta` to the version's evidence (creating it at the first write).
    fn add_staging_evidence(
        &mut self,
        permit: &Permit,
        version_id: i64,
        delta: &StagingDelta,
    ) -> impl Future<Output = R<()>> + Send;
}
