//! The SQLite back end: one database file in WAL mode with `synchronous=FULL`, versioned
//! migrations from `migrations/sqlite`, a small pool for concurrent readers, and write
//! transactions that take the write lock first (`BEGIN IMMEDIATE`), record every row they write,
//! and append their audit entry before committing. The chain head is also written to a file
//! beside the database (`<db>.audit-head`) after every commit.

mod anchor;
mod retraining;
mod rows;
mod staging;
mod state;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Row, SqlitePool as Pool, Transaction};

use super::records::*;
use super::{R, SealFn, Store, StoreError, StoreTx};
use crate::audit::{AuditEntry, Effect, Link, StoredEntry};
use crate::governance::principal::{Principal, PrincipalKind};
use crate::governance::{Permit, Scribe};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite store; cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool,
    anchor: Arc<PathBuf>,
}

/// One transaction and the rows it wrote so far.
#[derive(Debug)]
pub struct SqliteTx {
    tx: Transaction<'static, Sqlite>,
    effects: Vec<Effect>,
    anchor: Arc<PathBuf>,
}

fn conflict_on_unique(error: sqlx::Error, message: &str) -> StoreError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(message.to_string())
        }
        _ => error.into(),
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> R<Self> {
        create_private(path)?;
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool: SqlitePool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore {
            pool,
            anchor: Arc::new(anchor::path_beside(path)),
        })
    }

    /// Where the chain head is anchored outside the database.
    pub fn anchor_path(&self) -> &Path {
        &self.anchor
    }
}

/// Creates a missing database file readable and writable by its owner only (0600): it holds the
/// token digests and the audit log. SQLite gives the `-wal` and `-shm` files it creates beside it
/// the database file's mode, so they are private too. An existing file keeps its mode.
fn create_private(path: &Path) -> R<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Io(error)),
    }
}

impl Store for SqliteStore {
    type Tx = SqliteTx;

    async fn begin(&self) -> R<SqliteTx> {
        // BEGIN IMMEDIATE takes the write lock before anything is read, so two writers can
        // never decide on the same state (two last approvals, two appends on one head).
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(SqliteTx {
            tx,
            effects: Vec::new(),
            anchor: self.anchor.clone(),
        })
    }

    async fn read(&self) -> R<SqliteTx> {
        let tx = self.pool.begin().await?;
        Ok(SqliteTx {
            tx,
            effects: Vec::new(),
            anchor: self.anchor.clone(),
        })
    }

    async fn audit_entries(&self) -> R<Vec<StoredEntry>> {
        let all = sqlx::query("SELECT seq, entry, hash FROM audit_log ORDER BY seq")
            .fetch_all(&self.pool)
            .await?;
        all.iter()
            .map(|row| {
                Ok(StoredEntry {
                    row_seq: row.try_get("seq")?,
                    json: row.try_get("entry")?,
                    hash: row.try_get("hash")?,
                })
            })
            .collect()
    }

    async fn state_rows(&self) -> R<Vec<Effect>> {
        let mut conn = self.pool.acquire().await?;
        state::all_rows(&mut conn).await
    }

    fn anchored_head(&self) -> R<Option<(i64, String)>> {
        anchor::read(&self.anchor)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

impl SqliteTx {
    /// Records the row `key` of `table` as this transaction leaves it.
    async fn touched(&mut self, table: &'static str, key: &str) -> R<()> {
        let effect = state::snapshot(&mut self.tx, table, key).await?;
        self.effects.push(effect);
        Ok(())
    }

    async fn touched_id(&mut self, table: &'static str, id: i64) -> R<()> {
        self.touched(table, &id.to_string()).await
    }
}

impl StoreTx for SqliteTx {
    async fn principal(&mut self, id: i64) -> R<Option<Principal>> {
        let row = sqlx::query("SELECT * FROM principals WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::principal).transpose()
    }

    async fn principal_by_name(&mut self, name: &str) -> R<Option<Principal>> {
        let row = sqlx::query("SELECT * FROM principals WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::principal).transpose()
    }

    async fn list_principals(&mut self) -> R<Vec<Principal>> {
        let all = sqlx::query("SELECT * FROM principals ORDER BY id")
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::principal).collect()
    }

    async fn passphrase(&mut self, principal_id: i64) -> R<Option<String>> {
        let row = sqlx::query("SELECT passphrase_phc FROM principals WHERE id = ?")
            .bind(principal_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row
            .map(|row| row.try_get::<Option<String>, _>("passphrase_phc"))
            .transpose()?
            .flatten())
    }

    async fn token(&mut self, id: &str) -> R<Option<TokenRecord>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn enrollment(&mut self, id: &str) -> R<Option<EnrollmentRecord>> {
        let row = sqlx::query("SELECT * FROM enrollments WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::enrollment).transpose()
    }

    async fn alert(&mut self, id: i64) -> R<Option<AlertRecord>> {
        let row = sqlx::query("SELECT * FROM alerts WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::alert).transpose()
    }

    async fn list_alerts(
        &mut self,
        status: Option<AlertStatus>,
        limit: i64,
    ) -> R<Vec<AlertRecord>> {
        let all = sqlx::query(
            "SELECT * FROM alerts WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(status.map(AlertStatus::as_str))
        .bind(limit)
        .fetch_all(&mut *self.tx)
        .await?;
        all.iter().map(rows::alert).collect()
    }

    async fn decisions(&mut self, alert_id: i64) -> R<Vec<DecisionRecord>> {
        let all = sqlx::query("SELECT * FROM alert_decisions WHERE alert_id = ? ORDER BY id")
            .bind(alert_id)
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::decision).collect()
    }

    async fn count_decisions(&mut self, decision: AlertDecision, since: i64, until: i64) -> R<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM alert_decisions WHERE decision = ? AND created_at >= ? AND created_at < ?",
        )
        .bind(decision.as_str())
        .bind(since)
        .bind(until)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn triage(&mut self, alert_id: i64) -> R<Vec<TriageRecord>> {
        let all = sqlx::query("SELECT * FROM triage_annotations WHERE alert_id = ? ORDER BY id")
            .bind(alert_id)
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::triage).collect()
    }

    async fn recommendation(&mut self, id: i64) -> R<Option<RecommendationRecord>> {
        let row = sqlx::query("SELECT * FROM recommendations WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::recommendation).transpose()
    }

    async fn list_recommendations(
        &mut self,
        status: Option<RecommendationStatus>,
    ) -> R<Vec<RecommendationRecord>> {
        let all = sqlx::query(
            "SELECT * FROM recommendations WHERE (?1 IS NULL OR status = ?1) ORDER BY id",
        )
        .bind(status.map(RecommendationStatus::as_str))
        .fetch_all(&mut *self.tx)
        .await?;
        all.iter().map(rows::recommendation).collect()
    }

    async fn change_request(&mut self, id: i64) -> R<Option<ChangeRequestRecord>> {
        let row = sqlx::query("SELECT * FROM change_requests WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::change_request).transpose()
    }

    async fn list_change_requests(
        &mut self,
        status: Option<ChangeStatus>,
    ) -> R<Vec<ChangeRequestRecord>> {
        let all = sqlx::query(
            "SELECT * FROM change_requests WHERE (?1 IS NULL OR status = ?1) ORDER BY id",
        )
        .bind(status.map(ChangeStatus::as_str))
        .fetch_all(&mut *self.tx)
        .await?;
        all.iter().map(rows::change_request).collect()
    }

    async fn approvals(&mut self, request_id: i64) -> R<Vec<ApprovalRecord>> {
        let all = sqlx::query("SELECT * FROM approvals WHERE request_id = ? ORDER BY id")
            .bind(request_id)
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::approval).collect()
    }

    async fn approval_codes(&mut self, request_id: i64) -> R<Vec<ApprovalCodeRecord>> {
        let all = sqlx::query("SELECT * FROM approval_codes WHERE request_id = ? ORDER BY id")
            .bind(request_id)
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::approval_code).collect()
    }

    async fn setting(&mut self, name: &str) -> R<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = ?")
            .bind(name)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|row| row.try_get("value")).transpose()?)
    }

    async fn list_reviews(&mut self, open_only: bool) -> R<Vec<ReviewRecord>> {
        let all =
            sqlx::query("SELECT * FROM reviews WHERE (?1 = 0 OR status = 'open') ORDER BY id")
                .bind(open_only)
                .fetch_all(&mut *self.tx)
                .await?;
        all.iter().map(rows::review).collect()
    }

    async fn policy_text(&mut self, sha256: &str) -> R<Option<String>> {
        let row = sqlx::query("SELECT text FROM policies WHERE sha256 = ?")
            .bind(sha256)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(row.map(|row| row.try_get("text")).transpose()?)
    }

    async fn put_setting(&mut self, _permit: &Permit, name: &str, value: &str, at: i64) -> R<()> {
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        self.touched("settings", name).await
    }

    async fn model_version(&mut self, id: i64) -> R<Option<ModelVersionRecord>> {
        let row = sqlx::query("SELECT * FROM model_versions WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::model_version).transpose()
    }

    async fn model_version_by_sha(&mut self, sha256: &str) -> R<Option<ModelVersionRecord>> {
        let row = sqlx::query("SELECT * FROM model_versions WHERE sha256 = ?")
            .bind(sha256)
            .fetch_optional(&mut *self.tx)
            .await?;
        row.as_ref().map(rows::model_version).transpose()
    }

    async fn list_model_versions(&mut self) -> R<Vec<ModelVersionRecord>> {
        let all = sqlx::query("SELECT * FROM model_versions ORDER BY id")
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::model_version).collect()
    }

    async fn insert_model_version(
        &mut self,
        _permit: &Permit,
        version: &NewModelVersion,
    ) -> R<ModelVersionRecord> {
        let result = sqlx::query(
            "INSERT INTO model_versions (sha256, parent_id, path, provenance, stage, stage_since, \
             registered_by, registered_at, stage_changed_by) VALUES (?, ?, ?, ?, 'candidate', ?, ?, ?, ?)",
        )
        .bind(&version.sha256)
        .bind(version.parent_id)
        .bind(&version.path)
        .bind(version.provenance.to_string())
        .bind(version.at)
        .bind(&version.registered_by)
        .bind(version.at)
        .bind(&version.registered_by)
        .execute(&mut *self.tx)
        .await
        .map_err(|error| {
            conflict_on_unique(
                error,
                &format!("model {} is already registered", version.sha256),
            )
        })?;
        let id = result.last_insert_rowid();
        self.touched_id("model_versions", id).await?;
        self.model_version(id)
            .await?
            .ok_or_else(|| StoreError::Conflict("the new model version vanished".into()))
    }

    async fn production_history(&mut self) -> R<Vec<i64>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT CAST(json_extract(effect.value, '$.key') AS INTEGER) \
             FROM audit_log, json_each(audit_log.entry, '$.effects') AS effect \
             WHERE json_extract(effect.value, '$.table') = 'model_versions' \
             AND json_extract(effect.value, '$.row.stage') = 'production' \
             ORDER BY audit_log.seq",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        // Other changes to a production version's row (its certification) repeat it.
        let mut history: Vec<i64> = Vec::new();
        for id in rows {
            if history.last() != Some(&id) {
                history.push(id);
            }
        }
        Ok(history)
    }

    async fn set_model_stage(
        &mut self,
        _permit: &Permit,
        id: i64,
        stage: ModelStage,
        by: &str,
        at: i64,
    ) -> R<()> {
        sqlx::query(
            "UPDATE model_versions SET stage = ?, stage_since = ?, stage_changed_by = ? WHERE id = ?",
        )
        .bind(stage.as_str())
        .bind(at)
        .bind(by)
        .bind(id)
        .execute(&mut *self.tx)
        .await
        .map_err(|error| conflict_on_unique(error, "another model is in production"))?;
        self.touched_id("model_versions", id).await
    }

    async fn set_model_certification(
        &mut self,
        _permit: &Permit,
        id: i64,
        report: &serde_json::Value,
        passed: bool,
    ) -> R<()> {
        sqlx::query("UPDATE model_versions SET certification = ?, certified = ? WHERE id = ?")
            .bind(report.to_string())
            .bind(i64::from(passed))
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        self.touched_id("model_versions", id).await
    }

    async fn diff_items(&mut self, version_id: i64) -> R<Vec<DiffItemRecord>> {
        let all = sqlx::query("SELECT * FROM model_diff_items WHERE version_id = ? ORDER BY id")
            .bind(version_id)
            .fetch_all(&mut *self.tx)
            .await?;
        all.iter().map(rows::diff_item).collect()
    }

    async fn insert_diff_item(
        &mut self,
        _permit: &Permit,
        version_id: i64,
        against_id: i64,
        kind: &str,
        item: &str,
    ) -> R<()> {
        let result = sqlx::query(
            "INSERT OR IGNORE INTO model_diff_items (version_id, against_id, kind, item) VALUES (?, ?, ?, ?)",
        )
        .bind(version_id)
        .bind(against_id)
        .bind(kind)
        .bind(item)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 1 {
            self.touched_id("model_diff_items", result.last_insert_rowid())
                .await?;
        }
        Ok(())
    }

    async fn acknowledge_diff_item(
        &mut self,
        _permit: &Permit,
        id: i64,
        by: &str,
        justification: &str,
        at: i64,
    ) -> R<bool> {
        let result = sqlx::query(
            "UPDATE model_diff_items SET acknowledged_by = ?, justification = ?, acknowledged_at = ? \
             WHERE id = ? AND acknowledged_by IS NULL",
        )
        .bind(by)
        .bind(justification)
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(false);
        }
        self.touched_id("model_diff_items", id).await?;
        Ok(true)
    }

    async fn create_principal(
        &mut self,
        _permit: &Permit,
        name: &str,
        kind: &PrincipalKind,
        at: i64,
    ) -> R<Principal> {
        let (kind_text, roles, component) = match kind {
            PrincipalKind::Human { roles } => (
                "human",
                serde_json::to_string(roles).unwrap_or_else(|_| "[]".into()),
                None,
            ),
            PrincipalKind::Ai { component } => ("ai", "[]".to_string(), Some(component.name())),
        };
        let result = sqlx::query(
            "INSERT INTO principals (name, kind, roles, component, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(name)
        .bind(kind_text)
        .bind(roles)
        .bind(component)
        .bind(at)
        .execute(&mut *self.tx)
        .await
        .map_err(|error| conflict_on_unique(error, &format!("principal `{name}` already exists")))?;
        let id = result.last_insert_rowid();
        self.touched_id("principals", id).await?;
        Ok(Principal {
            id,
            name: name.to_string(),
            kind: kind.clone(),
        })
    }

    async fn set_passphrase(
        &mut self,
        _permit: &Permit,
        principal_id: i64,
        phc: Option<&str>,
    ) -> R<()> {
        sqlx::query("UPDATE principals SET passphrase_phc = ? WHERE id = ?")
            .bind(phc)
            .bind(principal_id)
            .execute(&mut *self.tx)
            .await?;
        self.touched_id("principals", principal_id).await
    }

    async fn insert_token(&mut self, _permit: &Permit, token: &TokenRecord) -> R<()> {
        sqlx::query(
            "INSERT INTO tokens (id, principal_id, digest, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(token.principal_id)
        .bind(&token.digest)
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.revoked_at)
        .execute(&mut *self.tx)
        .await
        .map_err(|error| conflict_on_unique(error, "token id already exists"))?;
        self.touched("tokens", &token.id).await
    }

    async fn revoke_token(&mut self, _permit: &Permit, id: &str, at: i64) -> R<bool> {
        let result =
            sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
        if result.rows_affected() == 1 {
            self.touched("tokens", id).await?;
        }
        Ok(result.rows_affected() == 1)
    }

    async fn revoke_credentials_of(
        &mut self,
        _permit: &Permit,
        principal_id: i64,
        at: i64,
    ) -> R<u64> {
        let tokens: Vec<String> = sqlx::query_scalar(
            "UPDATE tokens SET revoked_at = ? WHERE principal_id = ? AND revoked_at IS NULL RETURNING id",
        )
        .bind(at)
        .bind(principal_id)
        .fetch_all(&mut *self.tx)
        .await?;
        // An unredeemed enrollment is spent by marking it redeemed at the revocation time.
        let enrollments: Vec<String> = sqlx::query_scalar(
            "UPDATE enrollments SET redeemed_at = ? WHERE principal_id = ? AND redeemed_at IS NULL RETURNING id",
        )
        .bind(at)
        .bind(principal_id)
        .fetch_all(&mut *self.tx)
        .await?;
        for id in &tokens {
            self.touched("tokens", id).await?;
        }
        for id in &enrollments {
            self.touched("enrollments", id).await?;
        }
        Ok(u64::try_from(tokens.len() + enrollments.len()).unwrap_or(u64::MAX))
    }

    async fn insert_enrollment(
        &mut self,
        _permit: &Permit,
        enrollment: &EnrollmentRecord,
    ) -> R<()> {
        sqlx::query(
            "INSERT INTO enrollments (id, principal_id, digest, issued_by, created_at, expires_at, redeemed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&enrollment.id)
        .bind(enrollment.principal_id)
        .bind(&enrollment.digest)
        .bind(&enrollment.issued_by)
        .bind(enrollment.created_at)
        .bind(enrollment.expires_at)
        .bind(enrollment.redeemed_at)
        .execute(&mut *self.tx)
        .await
        .map_err(|error| conflict_on_unique(error, "enrollment id already exists"))?;
        self.touched("enrollments", &enrollment.id).await
    }

    async fn redeem_enrollment(&mut self, _permit: &Permit, id: &str, at: i64) -> R<bool> {
        let result = sqlx::query(
            "UPDATE enrollments SET redeemed_at = ? WHERE id = ? AND redeemed_at IS NULL",
        )
        .bind(at)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 1 {
            self.touched("enrollments", id).await?;
        }
        Ok(result.rows_affected() == 1)
    }

    async fn insert_alert(
        &mut self,
        _permit: &Permit,
        alert: &NewAlert,
        created_by: i64,
        at: i64,
    ) -> R<AlertRecord> {
        if let Some(stable_id) = &alert.stable_id {
            let stored: Option<i64> =
                sqlx::query_scalar("SELECT id FROM alerts WHERE stable_id = ?")
                    .bind(stable_id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
            if let Some(id) = stored {
                return Err(StoreError::Conflict(format!(
                    "alert {stable_id} is already stored (as alert {id})"
                )));
            }
        }
        let result = sqlx::query(
            "INSERT INTO alerts (ts, uid, src, dst, port, protocol, service, score, reasons, asset_context, \
             attack_technique, detector, severity, status, created_by, created_at, stable_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(alert.ts)
        .bind(&alert.uid)
        .bind(&alert.src)
        .bind(&alert.dst)
        .bind(alert.port.map(i64::from))
        .bind(&alert.protocol)
        .bind(&alert.service)
        .bind(alert.score)
        .bind(serde_json::to_string(&alert.reasons).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::to_string(&alert.asset_context).unwrap_or_else(|_| "{}".into()))
        .bind(&alert.attack_technique)
        .bind(&alert.detector)
        .bind(alert.severity.as_str())
        .bind(AlertStatus::Open.as_str())
        .bind(created_by)
        .bind(at)
        .bind(&alert.stable_id)
        .execute(&mut *self.tx)
        .await?;
        let id = result.last_insert_rowid();
        self.touched_id("alerts", id).await?;
        Ok(AlertRecord {
            id,
            alert: alert.clone(),
            status: AlertStatus::Open,
            created_by,
            created_at: at,
            version: 1,
        })
    }

    async fn apply_alert_change(
        &mut self,
        _permit: &Permit,
        change: &AlertChange,
    ) -> R<DecisionRecord> {
        let updated = sqlx::query(
            "UPDATE alerts SET status = ?, severity = ?, version = version + 1 WHERE id = ? AND version = ?",
        )
        .bind(change.status.as_str())
        .bind(change.severity.as_str())
        .bind(change.alert_id)
        .bind(change.expected_version)
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "alert {} changed since version {}",
                change.alert_id, change.expected_version
            )));
        }
        let result = sqlx::query(
            "INSERT INTO alert_decisions (alert_id, principal_id, decision, justification, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(change.alert_id)
        .bind(change.principal_id)
        .bind(change.decision.as_str())
        .bind(&change.justification)
        .bind(change.at)
        .execute(&mut *self.tx)
        .await?;
        let id = result.last_insert_rowid();
        self.touched_id("alerts", change.alert_id).await?;
        self.touched_id("alert_decisions", id).await?;
        Ok(DecisionRecord {
            id,
            alert_id: change.alert_id,
            principal_id: change.principal_id,
            decision: change.decision,
            justification: change.justification.clone(),
            created_at: change.at,
        })
    }

    async fn insert_triage(
        &mut self,
        _permit: &Permit,
        alert_id: i64,
        triage: &NewTriage,
        principal_id: i64,
        at: i64,
    ) -> R<TriageRecord> {
        let result = sqlx::query(
            "INSERT INTO triage_annotations (alert_id, principal_id, recommendation, summary, confidence, advice, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(alert_id)
        .bind(principal_id)
        .bind(triage.recommendation.as_str())
        .bind(&triage.summary)
        .bind(triage.confidence)
        .bind(triage.advice.as_ref().map(serde_json::Value::to_string))
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        let id = result.last_insert_rowid();
        self.touched_id("triage_annotations", id).await?;
        Ok(TriageRecord {
            id,
            alert_id,
            principal_id,
            triage: triage.clone(),
            created_at: at,
        })
    }

    async fn insert_recommendation(
        &mut self,
        _permit: &Permit,
        draft: &NewRecommendation,
        principal_id: i64,
        at: i64,
    ) -> R<RecommendationRecord> {
        let result = sqlx::query(
            "INSERT INTO recommendations (alert_id, principal_id, kind, target, proposed_value, rationale, status, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(draft.alert_id)
        .bind(principal_id)
        .bind(draft.kind.as_str())
        .bind(&draft.target)
        .bind(&draft.proposed_value)
        .bind(&draft.rationale)
        .bind(RecommendationStatus::PendingHumanApproval.as_str())
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        let id = result.last_insert_rowid();
        self.touched_id("recommendations", id).await?;
        Ok(RecommendationRecord {
            id,
            recommendation: draft.clone(),
            drafted_by: principal_id,
            status: RecommendationStatus::PendingHumanApproval,
            decided_by: None,
            decided_at: None,
            justification: None,
            created_at: at,
        })
    }

    async fn decide_recommendation(
        &mut self,
        _permit: &Permit,
        id: i64,
        status: RecommendationStatus,
        decided_by: i64,
        justification: &str,
        at: i64,
    ) -> R<RecommendationRecord> {
        let result = sqlx::query(
            "UPDATE recommendations SET status = ?, decided_by = ?, decided_at = ?, justification = ? WHERE id = ? AND status = ?",
        )
        .bind(status.as_str())
        .bind(decided_by)
        .bind(at)
        .bind(justification)
        .bind(id)
        .bind(RecommendationStatus::PendingHumanApproval.as_str())
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "recommendation {id} was already decided"
            )));
        }
        self.touched_id("recommendations", id).await?;
        self.recommendation(id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("recommendation {id} vanished")))
    }

    async fn insert_change_request(
        &mut self,
        _permit: &Permit,
        request: &NewChangeRequest,
    ) -> R<ChangeRequestRecord> {
        let result = sqlx::query(
            "INSERT INTO change_requests (action, proposed_value, reason, requested_by, status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&request.action)
        .bind(&request.proposed_value)
        .bind(&request.reason)
        .bind(request.requested_by)
        .bind(ChangeStatus::Pending.as_str())
        .bind(request.at)
        .bind(request.expires_at)
        .execute(&mut *self.tx)
        .await?;
        let id = result.last_insert_rowid();
        self.touched_id("change_requests", id).await?;
        Ok(ChangeRequestRecord {
            id,
            action: request.action.clone(),
            proposed_value: request.proposed_value.clone(),
            reason: request.reason.clone(),
            requested_by: request.requested_by,
            status: ChangeStatus::Pending,
            created_at: request.at,
            applied_at: None,
            expires_at: Some(request.expires_at),
            closed_at: None,
        })
    }

    async fn close_change_request(
        &mut self,
        _permit: &Permit,
        id: i64,
        status: ChangeStatus,
        at: i64,
    ) -> R<bool> {
        let result = sqlx::query(
            "UPDATE change_requests SET status = ?, closed_at = ? WHERE id = ? AND status = ?",
        )
        .bind(status.as_str())
        .bind(at)
        .bind(id)
        .bind(ChangeStatus::Pending.as_str())
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 1 {
            self.touched_id("change_requests", id).await?;
        }
        Ok(result.rows_affected() == 1)
    }

    async fn insert_approval(
        &mut self,
        _permit: &Permit,
        approval: &NewApproval,
    ) -> R<ApprovalRecord> {
        let result = sqlx::query(
            "INSERT INTO approvals (request_id, principal_id, role, channel, evidence, note, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(approval.request_id)
        .bind(approval.principal_id)
        .bind(&approval.role)
        .bind(&approval.channel)
        .bind(&approval.evidence)
        .bind(&approval.note)
        .bind(approval.at)
        .execute(&mut *self.tx)
        .await
        .map_err(|error| {
            conflict_on_unique(
                error,
                &format!(
                    "change request {} already has an approval from this person or for role {}",
                    approval.request_id, approval.role
                ),
            )
        })?;
        let id = result.last_insert_rowid();
        self.touched_id("approvals", id).await?;
        Ok(ApprovalRecord {
            id,
            request_id: approval.request_id,
            principal_id: approval.principal_id,
            role: approval.role.clone(),
            channel: approval.channel.clone(),
            evidence: Some(approval.evidence.clone()),
            note: approval.note.clone(),
            created_at: approval.at,
        })
    }

    async fn insert_approval_code(
        &mut self,
        _permit: &Permit,
        request_id: i64,
        digest: &str,
    ) -> R<()> {
        let result = sqlx::query("INSERT INTO approval_codes (request_id, digest) VALUES (?, ?)")
            .bind(request_id)
            .bind(digest)
            .execute(&mut *self.tx)
            .await?;
        self.touched_id("approval_codes", result.last_insert_rowid())
            .await
    }

    async fn use_approval_code(
        &mut self,
        _permit: &Permit,
        code_id: i64,
        principal_id: i64,
        at: i64,
    ) -> R<bool> {
        let result = sqlx::query(
            "UPDATE approval_codes SET used_by = ?, used_at = ? WHERE id = ? AND used_by IS NULL",
        )
        .bind(principal_id)
        .bind(at)
        .bind(code_id)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 1 {
            self.touched_id("approval_codes", code_id).await?;
        }
        Ok(result.rows_affected() == 1)
    }

    async fn apply_change_request(
        &mut self,
        _permit: &Permit,
        id: i64,
        setting: &str,
        value: &str,
        at: i64,
    ) -> R<()> {
        let updated = sqlx::query(
            "UPDATE change_requests SET status = ?, applied_at = ? WHERE id = ? AND status = ?",
        )
        .bind(ChangeStatus::Applied.as_str())
        .bind(at)
        .bind(id)
        .bind(ChangeStatus::Pending.as_str())
        .execute(&mut *self.tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "change request {id} is not pending"
            )));
        }
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(setting)
        .bind(value)
        .bind(at)
        .execute(&mut *self.tx)
        .await?;
        self.touched_id("change_requests", id).await?;
        self.touched("settings", setting).await
    }

    async fn open_review(
        &mut self,
        _permit: &Permit,
        review: &NewReview<'_>,
    ) -> R<Option<ReviewRecord>> {
        let result = sqlx::query(
            "INSERT INTO reviews (trigger_event, detail, opened_by, opened_at, status, dedupe_key) \
             VALUES (?, ?, ?, ?, 'open', ?) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(review.trigger_event)
        .bind(review.detail)
        .bind(review.opened_by)
        .bind(review.at)
        .bind(review.dedupe_key)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        let id = result.last_insert_rowid();
        self.touched_id("reviews", id).await?;
        Ok(Some(ReviewRecord {
            id,
            trigger_event: review.trigger_event.to_string(),
            detail: review.detail.to_string(),
            opened_by: review.opened_by.to_string(),
            opened_at: review.at,
            status: "open".to_string(),
        }))
    }

    async fn record_policy(&mut self, _permit: &Permit, policy: &PolicyCopy<'_>) -> R<()> {
        let result = sqlx::query(
            "INSERT INTO policies (sha256, kind, system_id, text, first_loaded_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(policy.sha256)
        .bind(policy.kind)
        .bind(policy.system_id)
        .bind(policy.text)
        .bind(policy.at)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() == 1 {
            self.touched("policies", policy.sha256).await?;
        }
        Ok(())
    }

    async fn commit(mut self, _scribe: &Scribe, seal: SealFn<'_>) -> R<AuditEntry> {
        let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *self.tx)
            .await?;
        let (next, prev): (i64, String) = match head {
            Some(row) => (row.try_get::<i64, _>("seq")? + 1, row.try_get("hash")?),
            None => (1, crate::audit::GENESIS_HASH.to_string()),
        };
        let adopted: Option<String> = sqlx::query_scalar(
            "SELECT json_extract(entry, '$.resource') FROM audit_log \
             WHERE json_extract(entry, '$.action') = ? ORDER BY seq DESC LIMIT 1",
        )
        .bind(crate::audit::ADOPT_KEY_ACTION)
        .fetch_optional(&mut *self.tx)
        .await?
        .flatten();
        let adopted = adopted.as_deref().and_then(crate::audit::adopted_key_hex);
        let link = Link {
            seq: next,
            prev_hash: &prev,
            effects: std::mem::take(&mut self.effects),
        };
        let entry = seal(link, adopted.as_deref()).map_err(StoreError::Refused)?;
        sqlx::query("INSERT INTO audit_log (seq, entry, hash) VALUES (?, ?, ?)")
            .bind(entry.seq)
            .bind(entry.to_json())
            .bind(&entry.hash)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        anchor::advance(&self.anchor, entry.seq, &entry.hash)?;
        Ok(entry)
    }
}
