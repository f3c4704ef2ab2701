//! The SQLite back end: one database file in WAL mode with `synchronous=FULL`, versioned
//! migrations from `migrations/sqlite`, a small pool for concurrent readers, and audit appends
//! serialised by `BEGIN IMMEDIATE`.

mod rows;

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool as Pool};

use super::records::*;
use super::{R, Store, StoreError};
use crate::audit::{AuditEntry, StoredEntry};
use crate::governance::principal::{Principal, PrincipalKind};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The SQLite store; cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: Pool,
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
        Ok(SqliteStore { pool })
    }

    /// Closes the pool, checkpointing the WAL.
    pub async fn close(&self) {
        self.pool.close().await;
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
    async fn create_principal(&self, name: &str, kind: &PrincipalKind, at: i64) -> R<Principal> {
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
        .execute(&self.pool)
        .await
        .map_err(|error| conflict_on_unique(error, &format!("principal `{name}` already exists")))?;
        Ok(Principal {
            id: result.last_insert_rowid(),
            name: name.to_string(),
            kind: kind.clone(),
        })
    }

    async fn principal(&self, id: i64) -> R<Option<Principal>> {
        let row = sqlx::query("SELECT * FROM principals WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::principal).transpose()
    }

    async fn principal_by_name(&self, name: &str) -> R<Option<Principal>> {
        let row = sqlx::query("SELECT * FROM principals WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::principal).transpose()
    }

    async fn list_principals(&self) -> R<Vec<Principal>> {
        let all = sqlx::query("SELECT * FROM principals ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        all.iter().map(rows::principal).collect()
    }

    async fn insert_token(&self, token: &TokenRecord) -> R<()> {
        sqlx::query(
            "INSERT INTO tokens (id, principal_id, phc, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&token.id)
        .bind(token.principal_id)
        .bind(&token.phc)
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.revoked_at)
        .execute(&self.pool)
        .await
        .map_err(|error| conflict_on_unique(error, "token id already exists"))?;
        Ok(())
    }

    async fn token(&self, id: &str) -> R<Option<TokenRecord>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::token).transpose()
    }

    async fn revoke_token(&self, id: &str, at: i64) -> R<bool> {
        let result =
            sqlx::query("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
                .bind(at)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(result.rows_affected() == 1)
    }

    async fn insert_alert(&self, alert: &NewAlert, created_by: i64, at: i64) -> R<AlertRecord> {
        let result = sqlx::query(
            "INSERT INTO alerts (ts, uid, src, dst, port, protocol, service, score, reasons, asset_context, \
             attack_technique, detector, severity, status, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .execute(&self.pool)
        .await?;
        Ok(AlertRecord {
            id: result.last_insert_rowid(),
            alert: alert.clone(),
            status: AlertStatus::Open,
            created_by,
            created_at: at,
            version: 1,
        })
    }

    async fn alert(&self, id: i64) -> R<Option<AlertRecord>> {
        let row = sqlx::query("SELECT * FROM alerts WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::alert).transpose()
    }

    async fn list_alerts(&self, status: Option<AlertStatus>, limit: i64) -> R<Vec<AlertRecord>> {
        let all = sqlx::query(
            "SELECT * FROM alerts WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(status.map(AlertStatus::as_str))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        all.iter().map(rows::alert).collect()
    }

    async fn apply_alert_change(&self, change: &AlertChange) -> R<DecisionRecord> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query(
            "UPDATE alerts SET status = ?, severity = ?, version = version + 1 WHERE id = ? AND version = ?",
        )
        .bind(change.status.as_str())
        .bind(change.severity.as_str())
        .bind(change.alert_id)
        .bind(change.expected_version)
        .execute(&mut *tx)
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
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(DecisionRecord {
            id: result.last_insert_rowid(),
            alert_id: change.alert_id,
            principal_id: change.principal_id,
            decision: change.decision,
            justification: change.justification.clone(),
            created_at: change.at,
        })
    }

    async fn decisions(&self, alert_id: i64) -> R<Vec<DecisionRecord>> {
        let all = sqlx::query("SELECT * FROM alert_decisions WHERE alert_id = ? ORDER BY id")
            .bind(alert_id)
            .fetch_all(&self.pool)
            .await?;
        all.iter().map(rows::decision).collect()
    }

    async fn count_decisions(&self, decision: AlertDecision, since: i64, until: i64) -> R<i64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM alert_decisions WHERE decision = ? AND created_at >= ? AND created_at < ?",
        )
        .bind(decision.as_str())
        .bind(since)
        .bind(until)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn insert_triage(
        &self,
        alert_id: i64,
        triage: &NewTriage,
        principal_id: i64,
        at: i64,
    ) -> R<TriageRecord> {
        let result = sqlx::query(
            "INSERT INTO triage_annotations (alert_id, principal_id, recommendation, summary, confidence, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(alert_id)
        .bind(principal_id)
        .bind(triage.recommendation.as_str())
        .bind(&triage.summary)
        .bind(triage.confidence)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(TriageRecord {
            id: result.last_insert_rowid(),
            alert_id,
            principal_id,
            triage: triage.clone(),
            created_at: at,
        })
    }

    async fn triage(&self, alert_id: i64) -> R<Vec<TriageRecord>> {
        let all = sqlx::query("SELECT * FROM triage_annotations WHERE alert_id = ? ORDER BY id")
            .bind(alert_id)
            .fetch_all(&self.pool)
            .await?;
        all.iter().map(rows::triage).collect()
    }

    async fn insert_recommendation(
        &self,
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
        .execute(&self.pool)
        .await?;
        Ok(RecommendationRecord {
            id: result.last_insert_rowid(),
            recommendation: draft.clone(),
            drafted_by: principal_id,
            status: RecommendationStatus::PendingHumanApproval,
            decided_by: None,
            decided_at: None,
            justification: None,
            created_at: at,
        })
    }

    async fn recommendation(&self, id: i64) -> R<Option<RecommendationRecord>> {
        let row = sqlx::query("SELECT * FROM recommendations WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::recommendation).transpose()
    }

    async fn list_recommendations(
        &self,
        status: Option<RecommendationStatus>,
    ) -> R<Vec<RecommendationRecord>> {
        let all = sqlx::query(
            "SELECT * FROM recommendations WHERE (?1 IS NULL OR status = ?1) ORDER BY id",
        )
        .bind(status.map(RecommendationStatus::as_str))
        .fetch_all(&self.pool)
        .await?;
        all.iter().map(rows::recommendation).collect()
    }

    async fn decide_recommendation(
        &self,
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
        .execute(&self.pool)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "recommendation {id} was already decided"
            )));
        }
        self.recommendation(id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("recommendation {id} vanished")))
    }

    async fn insert_change_request(
        &self,
        action: &str,
        proposed_value: &str,
        reason: &str,
        requested_by: i64,
        at: i64,
    ) -> R<ChangeRequestRecord> {
        let result = sqlx::query(
            "INSERT INTO change_requests (action, proposed_value, reason, requested_by, status, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(action)
        .bind(proposed_value)
        .bind(reason)
        .bind(requested_by)
        .bind(ChangeStatus::Pending.as_str())
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(ChangeRequestRecord {
            id: result.last_insert_rowid(),
            action: action.to_string(),
            proposed_value: proposed_value.to_string(),
            reason: reason.to_string(),
            requested_by,
            status: ChangeStatus::Pending,
            created_at: at,
            applied_at: None,
        })
    }

    async fn change_request(&self, id: i64) -> R<Option<ChangeRequestRecord>> {
        let row = sqlx::query("SELECT * FROM change_requests WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::change_request).transpose()
    }

    async fn list_change_requests(
        &self,
        status: Option<ChangeStatus>,
    ) -> R<Vec<ChangeRequestRecord>> {
        let all = sqlx::query(
            "SELECT * FROM change_requests WHERE (?1 IS NULL OR status = ?1) ORDER BY id",
        )
        .bind(status.map(ChangeStatus::as_str))
        .fetch_all(&self.pool)
        .await?;
        all.iter().map(rows::change_request).collect()
    }

    async fn insert_approval(
        &self,
        request_id: i64,
        principal_id: i64,
        role: &str,
        channel: &str,
        note: Option<&str>,
        at: i64,
    ) -> R<ApprovalRecord> {
        let result = sqlx::query(
            "INSERT INTO approvals (request_id, principal_id, role, channel, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(request_id)
        .bind(principal_id)
        .bind(role)
        .bind(channel)
        .bind(note)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(|error| {
            conflict_on_unique(
                error,
                &format!("change request {request_id} already has an approval from this person or for role {role}"),
            )
        })?;
        Ok(ApprovalRecord {
            id: result.last_insert_rowid(),
            request_id,
            principal_id,
            role: role.to_string(),
            channel: channel.to_string(),
            note: note.map(str::to_string),
            created_at: at,
        })
    }

    async fn approvals(&self, request_id: i64) -> R<Vec<ApprovalRecord>> {
        let all = sqlx::query("SELECT * FROM approvals WHERE request_id = ? ORDER BY id")
            .bind(request_id)
            .fetch_all(&self.pool)
            .await?;
        all.iter().map(rows::approval).collect()
    }

    async fn apply_change_request(&self, id: i64, setting: &str, value: &str, at: i64) -> R<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let updated = sqlx::query(
            "UPDATE change_requests SET status = ?, applied_at = ? WHERE id = ? AND status = ?",
        )
        .bind(ChangeStatus::Applied.as_str())
        .bind(at)
        .bind(id)
        .bind(ChangeStatus::Pending.as_str())
        .execute(&mut *tx)
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
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn setting(&self, name: &str) -> R<Option<String>> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("value")).transpose()?)
    }

    async fn open_review(
        &self,
        trigger_event: &str,
        detail: &str,
        opened_by: &str,
        dedupe_key: Option<&str>,
        at: i64,
    ) -> R<Option<ReviewRecord>> {
        let result = sqlx::query(
            "INSERT INTO reviews (trigger_event, detail, opened_by, opened_at, status, dedupe_key) \
             VALUES (?, ?, ?, ?, 'open', ?) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(trigger_event)
        .bind(detail)
        .bind(opened_by)
        .bind(at)
        .bind(dedupe_key)
        .execute(&self.pool)
        .await?;
        if result.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(ReviewRecord {
            id: result.last_insert_rowid(),
            trigger_event: trigger_event.to_string(),
            detail: detail.to_string(),
            opened_by: opened_by.to_string(),
            opened_at: at,
            status: "open".to_string(),
        }))
    }

    async fn list_reviews(&self, open_only: bool) -> R<Vec<ReviewRecord>> {
        let all =
            sqlx::query("SELECT * FROM reviews WHERE (?1 = 0 OR status = 'open') ORDER BY id")
                .bind(open_only)
                .fetch_all(&self.pool)
                .await?;
        all.iter().map(rows::review).collect()
    }

    async fn record_policy(
        &self,
        sha256: &str,
        kind: &str,
        system_id: &str,
        text: &str,
        at: i64,
    ) -> R<()> {
        sqlx::query(
            "INSERT INTO policies (sha256, kind, system_id, text, first_loaded_at) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(kind)
        .bind(system_id)
        .bind(text)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn append_audit<F>(&self, build: F) -> R<AuditEntry>
    where
        F: FnOnce(i64, Option<&str>) -> AuditEntry + Send,
    {
        // BEGIN IMMEDIATE takes the write lock before reading the head, so two appenders can
        // never chain onto the same previous entry.
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (next, prev): (i64, Option<String>) = match head {
            Some(row) => (
                row.try_get::<i64, _>("seq")? + 1,
                Some(row.try_get("hash")?),
            ),
            None => (1, None),
        };
        let entry = build(next, prev.as_deref());
        sqlx::query("INSERT INTO audit_log (seq, entry, hash) VALUES (?, ?, ?)")
            .bind(entry.seq)
            .bind(entry.to_json())
            .bind(&entry.hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(entry)
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
}
