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
    .fetch_one(&mut **tx)
    .await
    .map_err(db_error)?;
    Ok(AgencyId::new(id as u64))
}

/// The agency whose API key hashes to `hash`.
pub async fn by_key_hash(pool: &AnyPool, hash: &str) -> crate::Result<Option<AgencyId>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM agencies WHERE api_key_hash = $1")
        .bind(hash)
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    Ok(row.map(|r| AgencyId::new(r.0 as u64)))
}
