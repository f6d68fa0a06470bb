//! Client links: read-only access for the event organizer behind one `client_ref` of an agency (stored as the
//! SHA-256 hash of the link's token only).

use super::{Tx, db_error};

/// A client link (its token's hash is never read back out).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    /// The link's id.
    pub id: i64,
    /// The agency.
    pub agency_id: i64,
    /// The client whose orders it shows.
    pub client_ref: String,
    /// What the agency calls it.
    pub label: String,
    /// Made, unix ms.
    pub created_at: i64,
    /// When it stops working, unix ms.
    pub expires_at: Option<i64>,
    /// Revoked, unix ms.
    pub revoked_at: Option<i64>,
}

const COLUMNS: &str = "id, agency_id, client_ref, label, created_at, expires_at, revoked_at";

/// Makes a link; its id.
pub async fn insert(
    tx: &mut Tx,
    agency: i64,
    client_ref: &str,
    label: &str,
    token_hash: &str,
    at_ms: i64,
    expires_at: Option<i64>,
) -> crate::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO client_links (agency_id, client_ref, label, token_hash, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(agency)
    .bind(client_ref)
    .bind(label)
    .bind(token_hash)
    .bind(at_ms)
    .bind(expires_at)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(id)
}

/// An agency's links, newest first, a page before id `before` (`i64::MAX` for the first page).
pub async fn of_agency(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    agency: i64,
    client_ref: Option<&str>,
    before: i64,
    limit: i64,
) -> crate::Result<Vec<LinkRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM client_links WHERE agency_id = $1 AND id < $2 \
         AND ($3 IS NULL OR client_ref = $3) ORDER BY id DESC LIMIT $4"
    )))
    .bind(agency)
    .bind(before)
    .bind(client_ref)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error)
}

/// One link of an agency.
pub async fn get(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    agency: i64,
    id: i64,
) -> crate::Result<Option<LinkRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM client_links WHERE agency_id = $1 AND id = $2"
    )))
    .bind(agency)
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

/// The live (not revoked) link whose token hashes to `hash`.
pub async fn by_token_hash(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    hash: &str,
) -> crate::Result<Option<LinkRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM client_links WHERE token_hash = $1 AND revoked_at IS NULL"
    )))
    .bind(hash)
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

/// Revokes a live link; whether it was live.
pub async fn revoke(tx: &mut Tx, agency: i64, id: i64, at_ms: i64) -> crate::Result<bool> {
    let r = sqlx::query(
        "UPDATE client_links SET revoked_at = $1 WHERE id = $2 AND agency_id = $3 AND revoked_at IS NULL",
    )
    .bind(at_ms)
    .bind(id)
    .bind(agency)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.rows_affected() == 1)
}
