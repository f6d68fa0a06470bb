//! Worker rows: the profile as its wire JSON, the record in columns (so attendance can update it in place),
//! the app token as a hash, and `deleted_at` for anonymised workers whose history stays.

use sqlx::AnyPool;

use super::{Tx, db_error};
use crate::domain::{AgencyId, WorkerId, WorkerStats, WorkerStatus};

/// A worker row as stored.
#[derive(Debug, Clone)]
pub struct WorkerRow {
    /// The worker.
    pub id: WorkerId,
    /// Its agency.
    pub agency: AgencyId,
    /// The profile in the wire shape of `POST /v1/workers`.
    pub profile: String,
    /// `active` or `suspended`.
    pub status: WorkerStatus,
    /// The track record.
    pub stats: WorkerStats,
    /// Last change, unix ms.
    pub updated_at: i64,
    /// Raised by every change to the row (the ETag of the worker).
    pub version: u64,
}

type Raw = (
    i64,
    i64,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    f64,
    i64,
    i64,
    i64,
    i64,
);

const COLUMNS: &str = "id, agency_id, profile, status, completed_shifts, no_shows, late_arrivals, \
    cancellations, cancellation_weight, rating_sum, rating_count, updated_at, version";

fn row(r: Raw) -> WorkerRow {
    WorkerRow {
        id: WorkerId::new(r.0 as u64),
        agency: AgencyId::new(r.1 as u64),
        profile: r.2,
        status: WorkerStatus::parse(&r.3).unwrap_or(WorkerStatus::Active),
        stats: WorkerStats {
            completed_shifts: r.4 as u32,
            no_shows: r.5 as u32,
            late_arrivals: r.6 as u32,
            cancellations: r.7 as u32,
            cancellation_weight: r.8,
            rating_sum: r.9 as u32,
            rating_count: r.10 as u32,
        },
        updated_at: r.11,
        version: r.12 as u64,
    }
}

/// The id of the live worker an agency knows by `external_ref`.
pub async fn id_by_ref(
    tx: &mut Tx,
    agency: AgencyId,
    external_ref: &str,
) -> crate::Result<Option<WorkerId>> {
    let r: Option<(i64,)> = sqlx::query_as(
        "SELECT id FROM workers WHERE agency_id = $1 AND external_ref = $2 AND deleted_at IS NULL",
    )
    .bind(agency.get() as i64)
    .bind(external_ref)
    .fetch_optional(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.map(|r| WorkerId::new(r.0 as u64)))
}

/// Inserts a worker and returns its id.
pub async fn insert(
    tx: &mut Tx,
    agency: AgencyId,
    external_ref: &str,
    profile: &str,
    stats: &WorkerStats,
    app_token_hash: &str,
    at_ms: i64,
) -> crate::Result<WorkerId> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO workers (agency_id, external_ref, profile, status, app_token_hash, completed_shifts, \
         no_shows, late_arrivals, cancellations, cancellation_weight, rating_sum, rating_count, created_at, \
         updated_at) VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING id",
    )
    .bind(agency.get() as i64)
    .bind(external_ref)
    .bind(profile)
    .bind(app_token_hash)
    .bind(i64::from(stats.completed_shifts))
    .bind(i64::from(stats.no_shows))
    .bind(i64::from(stats.late_arrivals))
    .bind(i64::from(stats.cancellations))
    .bind(stats.cancellation_weight)
    .bind(i64::from(stats.rating_sum))
    .bind(i64::from(stats.rating_count))
    .bind(at_ms)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(WorkerId::new(id as u64))
}

/// Replaces a worker's profile (and its upsert key) and status.
pub async fn update_profile(
    tx: &mut Tx,
    id: WorkerId,
    external_ref: &str,
    profile: &str,
    status: WorkerStatus,
    at_ms: i64,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE workers SET external_ref = $1, profile = $2, status = $3, updated_at = $4, version = version + 1 \
         WHERE id = $5",
    )
    .bind(external_ref)
    .bind(profile)
    .bind(status.as_str())
    .bind(at_ms)
    .bind(id.get() as i64)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Writes a worker's track record.
pub async fn update_stats(
    tx: &mut Tx,
    id: WorkerId,
    s: &WorkerStats,
    status: WorkerStatus,
    at_ms: i64,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE workers SET completed_shifts = $1, no_shows = $2, late_arrivals = $3, cancellations = $4, \
         cancellation_weight = $5, rating_sum = $6, rating_count = $7, status = $8, updated_at = $9, \
         version = version + 1 WHERE id = $10",
    )
    .bind(i64::from(s.completed_shifts))
    .bind(i64::from(s.no_shows))
    .bind(i64::from(s.late_arrivals))
    .bind(i64::from(s.cancellations))
    .bind(s.cancellation_weight)
    .bind(i64::from(s.rating_sum))
    .bind(i64::from(s.rating_count))
    .bind(status.as_str())
    .bind(at_ms)
    .bind(id.get() as i64)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Removes personal data: the profile becomes a placeholder, the upsert key is freed, the app token revoked.
/// The row stays so that assignments, ratings and events keep pointing at it.
pub async fn anonymise(tx: &mut Tx, id: WorkerId, at_ms: i64) -> crate::Result<()> {
    sqlx::query(
        "UPDATE workers SET external_ref = $1, profile = '{}', status = 'suspended', app_token_hash = NULL, \
         deleted_at = $2, updated_at = $2, version = version + 1 WHERE id = $3",
    )
    .bind(format!("deleted:{}", id.get()))
    .bind(at_ms)
    .bind(id.get() as i64)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A live (not deleted) worker of an agency.
pub async fn get(
    pool: &AnyPool,
    agency: AgencyId,
    id: WorkerId,
) -> crate::Result<Option<WorkerRow>> {
    let r: Option<Raw> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workers WHERE id = $1 AND agency_id = $2 AND deleted_at IS NULL"
    )))
    .bind(id.get() as i64)
    .bind(agency.get() as i64)
    .fetch_optional(pool)
    .await
    .map_err(db_error)?;
    Ok(r.map(row))
}

/// The same, inside a transaction.
pub async fn get_tx(
    tx: &mut Tx,
    agency: AgencyId,
    id: WorkerId,
) -> crate::Result<Option<WorkerRow>> {
    let r: Option<Raw> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workers WHERE id = $1 AND agency_id = $2 AND deleted_at IS NULL"
    )))
    .bind(id.get() as i64)
    .bind(agency.get() as i64)
    .fetch_optional(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.map(row))
}

/// A live worker of any agency (the engine's own bookkeeping: records and statuses), in a transaction.
pub async fn get_any_tx(tx: &mut Tx, id: WorkerId) -> crate::Result<Option<WorkerRow>> {
    let r: Option<Raw> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workers WHERE id = $1 AND deleted_at IS NULL"
    )))
    .bind(id.get() as i64)
    .fetch_optional(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.map(row))
}

/// Live workers with ids above `after`, in id order, a page at a time (the engine's rebuild at start).
pub async fn page(
    conn: &mut sqlx::AnyConnection,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<WorkerRow>> {
    let rows: Vec<Raw> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM workers WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(row).collect())
}

/// Gives a worker a new app token (by its hash); the old one stops working.
pub async fn set_app_token(
    tx: &mut Tx,
    id: WorkerId,
    app_token_hash: &str,
    at_ms: i64,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE workers SET app_token_hash = $1, updated_at = $2, version = version + 1 WHERE id = $3",
    )
    .bind(app_token_hash)
    .bind(at_ms)
    .bind(id.get() as i64)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}
