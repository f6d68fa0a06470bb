//! The event log: every state change, appended in the same transaction as the rows it changes.

use super::{Tx, db_error};
use sqlx::AnyPool;

/// Appends one event.
pub async fn append(
    tx: &mut Tx,
    at_ms: i64,
    agency: Option<u64>,
    kind: &str,
    payload: &serde_json::Value,
) -> crate::Result<()> {
    sqlx::query("INSERT INTO events (at, agency_id, kind, payload) VALUES ($1, $2, $3, $4)")
        .bind(at_ms)
        .bind(agency.map(|a| a as i64))
        .bind(kind)
        .bind(payload.to_string())
        .execute(&mut **tx)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// One stored event.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Position in the log.
    pub seq: i64,
    /// When it happened, unix milliseconds.
    pub at_ms: i64,
    /// The agency it concerns, if any.
    pub agency: Option<i64>,
    /// Its kind (`order_posted`, `offer_accepted`, …).
    pub kind: String,
    /// Its data.
    pub payload: serde_json::Value,
}

/// Reads events after `after_seq`, oldest first.
pub async fn read(pool: &AnyPool, after_seq: i64, limit: i64) -> crate::Result<Vec<StoredEvent>> {
    let rows: Vec<(i64, i64, Option<i64>, String, String)> = sqlx::query_as(
        "SELECT seq, at, agency_id, kind, payload FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    Ok(rows
        .into_iter()
        .map(|(seq, at_ms, agency, kind, payload)| StoredEvent {
            seq,
            at_ms,
            agency,
            kind,
            payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
        })
        .collect())
}
