//! SQLite rows of the staging evidence (migration 0007), with the snapshots every addition
//! leaves for its audit entry. A version keeps the evidence of one production model: scored
//! beside another, it starts over.

use sqlx::Row;

use super::super::staging::*;
use super::super::{R, StoreError};
use super::SqliteTx;
use crate::governance::Permit;

fn corrupt(message: String) -> StoreError {
    StoreError::Corrupt {
        table: "model_staging_counts",
        message,
    }
}

/// SQLite keeps integers signed; the counts never exceed i64.
fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn unsigned(value: i64, what: &str) -> R<u64> {
    u64::try_from(value).map_err(|_| corrupt(format!("{what} is negative ({value})")))
}

impl StagingTx for SqliteTx {
    async fn staging_evidence(&mut self, version_id: i64) -> R<Option<StagingEvidence>> {
        let Some(run) = sqlx::query("SELECT * FROM model_staging_runs WHERE version_id = ?")
            .bind(version_id)
            .fetch_optional(&mut *self.tx)
            .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT * FROM model_staging_counts WHERE version_id = ? \
             ORDER BY day, side, detector, rule, severity",
        )
        .bind(version_id)
        .fetch_all(&mut *self.tx)
        .await?;
        let mut counts = Vec::with_capacity(rows.len());
        for row in &rows {
            let side: String = row.try_get("side")?;
            counts.push(StagingCount {
                day: row.try_get("day")?,
                side: StagingSide::parse(&side).ok_or_else(|| {
                    corrupt(format!("side `{side}` is not staging or production"))
                })?,
                detector: row.try_get("detector")?,
                rule: row.try_get("rule")?,
                severity: row.try_get("severity")?,
                alerts: unsigned(row.try_get("alerts")?, "alerts")?,
            });
        }
        Ok(Some(StagingEvidence {
            version_id,
            first_scored_at: run.try_get("first_scored_at")?,
            last_scored_at: run.try_get("last_scored_at")?,
            scored_micros: run.try_get("scored_micros")?,
            records: unsigned(run.try_get("records")?, "records")?,
            rows_scored: unsigned(run.try_get("rows_scored")?, "rows_scored")?,
            production_sha256: run.try_get("production_sha256")?,
            counts,
        }))
    }

    async fn add_staging_evidence(
        &mut self,
        _permit: &Permit,
        version_id: i64,
        delta: &StagingDelta,
    ) -> R<()> {
        // Evidence is of one (candidate, production) pair: scored beside another production
        // model, it starts over (what it scored beside the previous one stays in the audit log).
        let beside: Option<String> = sqlx::query_scalar(
            "SELECT production_sha256 FROM model_staging_runs WHERE version_id = ?",
        )
        .bind(version_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        if beside.is_some_and(|beside| beside != delta.production_sha256) {
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM model_staging_counts WHERE version_id = ?")
                    .bind(version_id)
                    .fetch_all(&mut *self.tx)
                    .await?;
            sqlx::query("DELETE FROM model_staging_counts WHERE version_id = ?")
                .bind(version_id)
                .execute(&mut *self.tx)
                .await?;
            for id in ids {
                self.touched_id("model_staging_counts", id).await?;
            }
            sqlx::query("DELETE FROM model_staging_runs WHERE version_id = ?")
                .bind(version_id)
                .execute(&mut *self.tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO model_staging_runs \
             (version_id, first_scored_at, last_scored_at, scored_micros, records, rows_scored, production_sha256) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (version_id) DO UPDATE SET \
             last_scored_at = excluded.last_scored_at, \
             scored_micros = scored_micros + excluded.scored_micros, \
             records = records + excluded.records, \
             rows_scored = rows_scored + excluded.rows_scored",
        )
        .bind(version_id)
        // The evidence's first write covers the time scored before it.
        .bind(delta.at.saturating_sub(delta.scored_micros.max(0)))
        .bind(delta.at)
        .bind(delta.scored_micros.max(0))
        .bind(signed(delta.records))
        .bind(signed(delta.rows_scored))
        .bind(&delta.production_sha256)
        .execute(&mut *self.tx)
        .await?;
        self.touched_id("model_staging_runs", version_id).await?;
        for count in &delta.counts {
            let row = sqlx::query(
                "INSERT INTO model_staging_counts (version_id, day, side, detector, rule, severity, alerts) \
                 VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (version_id, day, side, detector, rule, severity) \
                 DO UPDATE SET alerts = alerts + excluded.alerts \
                 RETURNING id",
            )
            .bind(version_id)
            .bind(&count.day)
            .bind(count.side.as_str())
            .bind(&count.detector)
            .bind(&count.rule)
            .bind(&count.severity)
            .bind(signed(count.alerts))
            .fetch_one(&mut *self.tx)
            .await?;
            let id: i64 = row.try_get("id")?;
            self.touched_id("model_staging_counts", id).await?;
        }
        Ok(())
    }
}
