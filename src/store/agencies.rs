//! Agencies and their API keys (stored as SHA-256 hashes only).

use super::{Tx, db_error};
use crate::domain::AgencyId;
use sqlx::AnyPool;

/// Inserts an agency and returns its id.
pub async fn insert(
    tx: &mut Tx,
    name: &str,
    api_key_hash: &str,
    at_ms: i64,
) -> crate::Result<AgencyId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO agencies (name, api_key_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(api_key_hash)
    .bind(at_ms)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    insert_key(
        tx,
        AgencyId::new(id as u64),
        api_key_hash,
        "first key",
        at_ms,
    )
    .await?;
    Ok(AgencyId::new(id as u64))
}

/// An API key of an agency (its hash is never read back out).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    /// The key's id.
    pub id: i64,
    /// What the agency calls it.
    pub label: String,
    /// Made, unix ms.
    pub created_at: i64,
    /// Revoked, unix ms.
    pub revoked_at: Option<i64>,
}

/// Adds an API key to an agency; its id.
pub async fn insert_key(
    tx: &mut Tx,
    agency: AgencyId,
    key_hash: &str,
    label: &str,
    at_ms: i64,
) -> crate::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO agency_keys (agency_id, key_hash, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(agency.get() as i64)
    .bind(key_hash)
    .bind(label)
    .bind(at_ms)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(id)
}

/// An agency's keys, oldest first.
pub async fn keys(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    agency: AgencyId,
) -> crate::Result<Vec<KeyRow>> {
    sqlx::query_as(
        "SELECT id, label, created_at, revoked_at FROM agency_keys WHERE agency_id = $1 ORDER BY id",
    )
    .bind(agency.get() as i64)
    .fetch_all(conn)
    .await
    .map_err(db_error)
}

/// Revokes a key of an agency; whether it was live.
pub async fn revoke_key(tx: &mut Tx, agency: AgencyId, id: i64, at_ms: i64) -> crate::Result<bool> {
    let r = sqlx::query(
        "UPDATE agency_keys SET revoked_at = $1 WHERE id = $2 AND agency_id = $3 AND revoked_at IS NULL",
    )
    .bind(at_ms)
    .bind(id)
    .bind(agency.get() as i64)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.rows_affected() == 1)
}

/// The agency whose live API key hashes to `hash`.
pub async fn by_key_hash(pool: &AnyPool, hash: &str) -> crate::Result<Option<AgencyId>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT agency_id FROM agency_keys WHERE key_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    Ok(row.map(|r| AgencyId::new(r.0 as u64)))
}
