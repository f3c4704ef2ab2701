//! SQLite rows of incidents and retrain runs (migration 0005), with the snapshots every write
//! leaves for its audit entry.

use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::super::records::AlertRecord;
use super::super::retraining::*;
use super::super::{R, StoreError};
use super::{SqliteTx, conflict_on_unique, rows};
use crate::governance::Permit;

fn corrupt(message: String) -> StoreError {
    StoreError::Corrupt {
        table: "incidents",
        message,
    }
}

fn incident(row: &SqliteRow) -> R<IncidentRecord> {
    let alerts: String = row.try_get("alerts")?;
    let canary: Option<String> = row.try_get("canary")?;
    Ok(IncidentRecord {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        status: row.try_get("status")?,
        started_ts: row.try_get("started_ts")?,
        ended_ts: row.try_get("ended_ts")?,
        alerts: serde_json::from_str(&alerts).map_err(|error| corrupt(error.to_string()))?,
        opened_by: row.try_get("opened_by")?,
        opened_at: row.try_get("opened_at")?,
        closed_by: row.try_get("closed_by")?,
        closed_at: row.try_get("closed_at")?,
        closure_note: row.try_get("closure_note")?,
        data_reviewed_by: row.try_get("data_reviewed_by")?,
        data_reviewed_at: row.try_get("data_reviewed_at")?,
        data_review_note: row.try_get("data_review_note")?,
        canary: canary
            .map(|text| serde_json::from_str(&text).map_err(|error| corrupt(error.to_string())))
            .transpose()?,
    })
}

fn retrain_run(row: &SqliteRow) -> R<RetrainRunRecord> {
    let provenance: String = row.try_get("provenance")?;
    Ok(RetrainRunRecord {
        id: row.try_get("id")?,
        run: RetrainRun {
            request_id: row.try_get("request_id")?,
            model_version_id: row.try_get("model_version_id")?,
            timestamp: row.try_get("timestamp")?,
            requested_by: row.try_get("requested_by")?,
            approved_by: row.try_get("approved_by")?,
            approval_ticket_id: row.try_get("approval_ticket_id")?,
            training_window_start: row.try_get("training_window_start")?,
            training_window_end: row.try_get("training_window_end")?,
            training_dataset_sha256: row.try_get("training_dataset_sha256")?,
            previous_model_sha256: row.try_get("previous_model_sha256")?,
            new_model_sha256: row.try_get("new_model_sha256")?,
            adversarial_test_result: row.try_get("adversarial_test_result")?,
            dataset_signature: row.try_get("dataset_signature")?,
            signing_key: row.try_get("signing_key")?,
            provenance: serde_json::from_str(&provenance).map_err(|error| StoreError::Corrupt {
                table: "retrain_runs",
                message: error.to_string(),
            })?,
        },
    })
}

impl RetrainingTx for SqliteTx {
    async fn incident(&mut self, id: i64) -> R<Option<IncidentRecord>> {
        let row = sqlx::query("SELECT * FROM incidents WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(incident).transpose()
    }

    async fn list_incidents(&mut self) -> R<Vec<IncidentRecord>> {
        let all = sqlx::query("SELECT * FROM incidents ORDER BY id")
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(incident).collect()
    }

    async fn alerts_between(&mut self, since: i64, until: i64) -> R<Vec<AlertRecord>> {
        let all = sqlx::query("SELECT * FROM alerts WHERE ts >= ? AND ts < ? ORDER BY ts, id")
            .bind(since)
            .bind(until)
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::alert).collect()
    }

    async fn insert_incident(&mut self, _permit: &Permit, new: &NewIncident) -> R<IncidentRecord> {
        let alerts = serde_json::to_string(&new.alerts).unwrap_or_else(|_| "[]".into());
        let result = sqlx::query(
            "INSERT INTO incidents (title, status, started_ts, alerts, opened_by, opened_at) \
             VALUES (?, 'open', ?, ?, ?, ?)",
        )
        .bind(&new.title)
        .bind(new.started_ts)
        .bind(alerts)
        .bind(&new.opened_by)
        .bind(new.at)
        .execute(&mut *self.tx)
        .await?;
        let id = result.last_insert_rowid();
        self.touched_id("incidents", id).await?;
        self.incident(id)
            .await?
            .ok_or_else(|| StoreError::Conflict("the new incident vanished".into()))
    }

    async fn close_incident(
        &mut self,
        _permit: &Permit,
        id: i64,
        ended_ts: i64,
        by: &str,
        note: &str,
        at: i64,
    ) -> R<bool> {
        let result = sqlx::query(
            "UPDATE incidents SET status = 'closed', ended_ts = ?, closed_by = ?, closure_note = ?, \
             closed_at = ? WHERE id = ? AND status = 'open'",
        )
        .bind(ended_ts)
        .bind(by)
        .bind(note)
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        self.touched_id("incidents", id).await?;
        Ok(true)
    }

    async fn review_incident_data(
        &mut self,
        _permit: &Permit,
        id: i64,
        by: &str,
        note: &str,
        at: i64,
    ) -> R<bool> {
        let result = sqlx::query(
            "UPDATE incidents SET data_reviewed_by = ?, data_review_note = ?, data_reviewed_at = ? \
             WHERE id = ? AND status = 'closed' AND data_reviewed_by IS NULL",
        )
        .bind(by)
        .bind(note)
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        self.touched_id("incidents", id).await?;
        Ok(true)
    }

    async fn set_incident_canary(
        &mut self,
        _permit: &Permit,
        id: i64,
        canary: &CanarySet,
    ) -> R<()> {
        let text = serde_json::to_string(canary).unwrap_or_default();
        sqlx::query("UPDATE incidents SET canary = ? WHERE id = ?")
            .bind(text)
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        self.touched_id("incidents", id).await
    }

    async fn list_retrain_runs(&mut self) -> R<Vec<RetrainRunRecord>> {
        let all = sqlx::query("SELECT * FROM retrain_runs ORDER BY id")
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(retrain_run).collect()
    }

    async fn retrain_run_of(&mut self, request_id: i64) -> R<Option<RetrainRunRecord>> {
        let row = sqlx::query("SELECT * FROM retrain_runs WHERE request_id = ?")
            .bind(request_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(retrain_run).transpose()
    }

    async fn insert_retrain_run(
        &mut self,
        _permit: &Permit,
        run: &RetrainRun,
    ) -> R<RetrainRunRecord> {
        let result = sqlx::query(
            "INSERT INTO retrain_runs (request_id, model_version_id, timestamp, requested_by, \
             approved_by, approval_ticket_id, training_window_start, training_window_end, \
             training_dataset_sha256, previous_model_sha256, new_model_sha256, \
             adversarial_test_result, dataset_signature, signing_key, provenance) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(run.request_id)
        .bind(run.model_version_id)
        .bind(&run.timestamp)
        .bind(&run.requested_by)
        .bind(&run.approved_by)
        .bind(&run.approval_ticket_id)
        .bind(&run.training_window_start)
        .bind(&run.training_window_end)
        .bind(&run.training_dataset_sha256)
        .bind(&run.previous_model_sha256)
        .bind(&run.new_model_sha256)
        .bind(&run.adversarial_test_result)
        .bind(&run.dataset_signature)
        .bind(&run.signing_key)
        .bind(run.provenance.to_string())
        .execute(&mut *self.tx)
        .await
        .map_err(|error| {
            conflict_on_unique(
                error,
                &format!("change request {} has already been run", run.request_id),
            )
        })?;
        let id = result.last_insert_rowid();
        self.touched_id("retrain_runs", id).await?;
        self.retrain_run_of(run.request_id)
            .await?
            .ok_or_else(|| StoreError::Conflict("the new retrain run vanished".into()))
    }
}
