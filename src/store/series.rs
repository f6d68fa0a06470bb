//! Series rows and the lookups over their shifts (orders with a `series_id`).

use sqlx::{Any, Executor};

use super::orders::{ORDER_COLS, OrderRow};
use super::{Tx, db_error};

/// A stored series.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SeriesRow {
    /// The series.
    pub id: i64,
    /// Its agency.
    pub agency_id: i64,
    /// The body it was posted with, the repeat rule included (JSON).
    pub body: String,
    /// Where its local times live: an IANA name or a fixed offset (`+01:00`).
    pub zone: String,
    /// When it was posted.
    pub created_at: i64,
}

const COLS: &str = "id, agency_id, body, zone, created_at";

fn q(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Inserts a series and returns its id.
pub async fn insert(
    tx: &mut Tx,
    agency: i64,
    body: &str,
    zone: &str,
    now: i64,
) -> crate::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO series (agency_id, body, zone, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
         RETURNING id",
    )
    .bind(agency)
    .bind(body)
    .bind(zone)
    .bind(now)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(id)
}

/// Makes an order a shift of a series.
pub async fn attach(tx: &mut Tx, order: i64, series: i64) -> crate::Result<()> {
    sqlx::query("UPDATE orders SET series_id = $1 WHERE id = $2")
        .bind(series)
        .bind(order)
        .execute(tx.conn().await?)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// A series of the agency.
pub async fn get<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    id: i64,
) -> crate::Result<Option<SeriesRow>> {
    sqlx::query_as(q(format!(
        "SELECT {COLS} FROM series WHERE id = $1 AND agency_id = $2"
    )))
    .bind(id)
    .bind(agency)
    .fetch_optional(e)
    .await
    .map_err(db_error)
}

/// The agency's series, a page after `after` in id order.
pub async fn list<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<SeriesRow>> {
    sqlx::query_as(q(format!(
        "SELECT {COLS} FROM series WHERE agency_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(agency)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// The shifts (orders) of a series, by start.
pub async fn shifts<'c, E: Executor<'c, Database = Any>>(
    e: E,
    series: i64,
) -> crate::Result<Vec<OrderRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ORDER_COLS} FROM orders WHERE series_id = $1 ORDER BY start_at, id"
    )))
    .bind(series)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// The worker's pending offers of shifts of a series, as `(offer, order)`, by the shift's start.
pub async fn pending_offers_of_worker<'c, E: Executor<'c, Database = Any>>(
    e: E,
    series: i64,
    worker: i64,
) -> crate::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "SELECT f.id, f.order_id FROM offers f JOIN orders o ON o.id = f.order_id \
         WHERE o.series_id = $1 AND f.worker_id = $2 AND f.status = 'pending' ORDER BY o.start_at, f.id",
    )
    .bind(series)
    .bind(worker)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Whether the worker has, or had, any offer or assignment in a shift of the series.
pub async fn worker_involved<'c, E: Executor<'c, Database = Any>>(
    e: E,
    series: i64,
    worker: i64,
) -> crate::Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT f.id FROM offers f JOIN orders o ON o.id = f.order_id \
         WHERE o.series_id = $1 AND f.worker_id = $2 LIMIT 1",
    )
    .bind(series)
    .bind(worker)
    .fetch_optional(e)
    .await
    .map_err(db_error)?;
    Ok(row.is_some())
}

/// The agency of a series.
pub async fn agency_of<'c, E: Executor<'c, Database = Any>>(
    e: E,
    series: i64,
) -> crate::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT agency_id FROM series WHERE id = $1")
        .bind(series)
        .fetch_optional(e)
        .await
        .map_err(db_error)?;
    Ok(row.map(|(a,)| a))
}
