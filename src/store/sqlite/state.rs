//! The security state as rows: which tables the audit log must explain, and reading one row (or
//! all of them) as the JSON object an audit entry's effect records. Secrets a person chose are
//! never copied into the log: their column holds a SHA-256 fingerprint instead.

use sha2::{Digest, Sha256};
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, SqliteConnection, TypeInfo, ValueRef};

use super::super::R;
use crate::audit::Effect;

/// Every table whose rows the log must explain, with its key column and whether the key is an
/// integer. The audit log itself and the migrations table are not state.
const STATE_TABLES: &[(&str, &str, bool)] = &[
    ("principals", "id", true),
    ("tokens", "id", false),
    ("enrollments", "id", false),
    ("alerts", "id", true),
    ("alert_decisions", "id", true),
    ("triage_annotations", "id", true),
    ("recommendations", "id", true),
    ("change_requests", "id", true),
    ("approvals", "id", true),
    ("approval_codes", "id", true),
    ("settings", "name", false),
    ("reviews", "id", true),
    ("policies", "sha256", false),
    ("model_versions", "id", true),
    ("model_diff_items", "id", true),
    ("incidents", "id", true),
    ("retrain_runs", "id", true),
    ("model_staging_runs", "version_id", true),
    ("model_staging_counts", "id", true),
];

/// Columns recorded as a fingerprint: an Argon2id hash of a passphrase would let anyone who
/// reads the log guess the passphrase offline.
const FINGERPRINTED: &[(&str, &str)] = &[("principals", "passphrase_phc")];

fn fingerprint(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

fn value_of(row: &SqliteRow, index: usize) -> R<serde_json::Value> {
    use serde_json::Value;
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().name().to_string();
    let value = match kind.as_str() {
        "INTEGER" | "BOOLEAN" => row
            .try_get::<i64, _>(index)
            .map(Value::from)
            .or_else(|_| row.try_get_unchecked::<String, _>(index).map(Value::from))?,
        "REAL" => row
            .try_get::<f64, _>(index)
            .map(Value::from)
            .or_else(|_| row.try_get_unchecked::<String, _>(index).map(Value::from))?,
        "BLOB" => Value::from(format!(
            "blob:{}",
            hex::encode(row.try_get_unchecked::<Vec<u8>, _>(index)?)
        )),
        _ => row
            .try_get_unchecked::<String, _>(index)
            .map(Value::from)
            .or_else(|_| row.try_get::<i64, _>(index).map(Value::from))?,
    };
    Ok(value)
}

fn row_json(table: &str, row: &SqliteRow) -> R<serde_json::Value> {
    let mut object = serde_json::Map::new();
    for (index, column) in row.columns().iter().enumerate() {
        let mut value = value_of(row, index)?;
        if FINGERPRINTED.contains(&(table, column.name()))
            && let Some(text) = value.as_str()
        {
            value = serde_json::Value::from(fingerprint(text));
        }
        object.insert(column.name().to_string(), value);
    }
    Ok(serde_json::Value::Object(object))
}

fn key_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The row `key` of `table` as it is now (`None` if it does not exist).
pub async fn snapshot(conn: &mut SqliteConnection, table: &'static str, key: &str) -> R<Effect> {
    let (_, key_column, integer) = STATE_TABLES
        .iter()
        .find(|(name, _, _)| *name == table)
        .copied()
        .unwrap_or((table, "id", true));
    let sql = format!("SELECT * FROM {table} WHERE {key_column} = ?");
    // The table and column names come from STATE_TABLES, never from input.
    let query = sqlx::query(sqlx::AssertSqlSafe(sql));
    let query = match (integer, key.parse::<i64>()) {
        (true, Ok(id)) => query.bind(id),
        _ => query.bind(key.to_string()),
    };
    let row = query.fetch_optional(&mut *conn).await?;
    Ok(Effect {
        table: table.to_string(),
        key: key.to_string(),
        row: row.as_ref().map(|row| row_json(table, row)).transpose()?,
    })
}

/// Every row of every state table.
pub async fn all_rows(conn: &mut SqliteConnection) -> R<Vec<Effect>> {
    let mut all = Vec::new();
    for (table, key_column, _) in STATE_TABLES {
        let sql = format!("SELECT * FROM {table} ORDER BY {key_column}");
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut *conn)
            .await?
        {
            let json = row_json(table, &row)?;
            all.push(Effect {
                table: (*table).to_string(),
                key: key_text(&json[*key_column]),
                row: Some(json),
            });
        }
    }
    Ok(all)
}
