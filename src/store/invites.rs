//! On-call invitations (`on_call_invites`): rows written by the engine's invitation commands.

use sqlx::{Any, Executor};

use super::{Tx, db_error};

/// The columns of an invitation, in [`InviteRow`] order.
const COLS: &str = "id, agency_id, worker_id, area, role, start_at, end_at, lat, lon, radius_km, expected, \
                    status, created_at, expires_at, answered_at, on_call_id";

fn q(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// A stored invitation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InviteRow {
    /// The invitation.
    pub id: i64,
    /// The agency.
    pub agency_id: i64,
    /// The worker invited.
    pub worker_id: i64,
    /// The peak's area: an H3 cell, in hexadecimal.
    pub area: String,
    /// The peak's role.
    pub role: String,
    /// The on-call window's start, unix ms.
    pub start_at: i64,
    /// The on-call window's end, unix ms.
    pub end_at: i64,
    /// The area's centre.
    pub lat: f64,
    /// The area's centre.
    pub lon: f64,
    /// The on-call radius around the centre.
    pub radius_km: f64,
    /// Slots expected at the peak's busiest hour.
    pub expected: f64,
    /// `pending`, `accepted` or `declined` (expiry is judged on read).
    pub status: String,
    /// Made, unix ms.
    pub created_at: i64,
    /// Open until, unix ms.
    pub expires_at: i64,
    /// Accepted or declined at, unix ms.
    pub answered_at: Option<i64>,
    /// The on-call window an acceptance made.
    pub on_call_id: Option<i64>,
}

/// What a new invitation holds.
#[derive(Debug, Clone)]
pub struct NewInvite<'a> {
    /// The agency.
    pub agency: i64,
    /// The worker.
    pub worker: i64,
    /// The area cell, in hexadecimal.
    pub area: &'a str,
    /// The role.
    pub role: &'a str,
    /// Window start, unix ms.
    pub start_at: i64,
    /// Window end, unix ms.
    pub end_at: i64,
    /// Centre.
    pub lat: f64,
    /// Centre.
    pub lon: f64,
    /// Radius.
    pub radius_km: f64,
    /// Slots expected at the busiest hour.
    pub expected: f64,
    /// Made at.
    pub created_at: i64,
    /// Open until.
    pub expires_at: i64,
}

/// Inserts a pending invitation and returns its id.
pub async fn insert(tx: &mut Tx, n: &NewInvite<'_>) -> crate::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO on_call_invites (agency_id, worker_id, area, role, start_at, end_at, lat, lon, \
         radius_km, expected, status, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12) RETURNING id",
    )
    .bind(n.agency)
    .bind(n.worker)
    .bind(n.area)
    .bind(n.role)
    .bind(n.start_at)
    .bind(n.end_at)
    .bind(n.lat)
    .bind(n.lon)
    .bind(n.radius_km)
    .bind(n.expected)
    .bind(n.created_at)
    .bind(n.expires_at)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(id)
}

/// Workers already invited (in any status) for a window of `area` × `role` overlapping `[start, end)`.
pub async fn invited_for<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    area: &str,
    role: &str,
    start: i64,
    end: i64,
) -> crate::Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT worker_id FROM on_call_invites WHERE agency_id = $1 AND area = $2 AND role = $3 \
         AND start_at < $5 AND end_at > $4 ORDER BY worker_id",
    )
    .bind(agency)
    .bind(area)
    .bind(role)
    .bind(start)
    .bind(end)
    .fetch_all(e)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(|(w,)| w).collect())
}

/// One invitation.
pub async fn get<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
) -> crate::Result<Option<InviteRow>> {
    sqlx::query_as(q(format!(
        "SELECT {COLS} FROM on_call_invites WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(e)
    .await
    .map_err(db_error)
}

/// Moves a pending invitation that has not expired at `now` to `status`; whether it did.
pub async fn answer(tx: &mut Tx, id: i64, status: &str, now: i64) -> crate::Result<bool> {
    let r = sqlx::query(
        "UPDATE on_call_invites SET status = $1, answered_at = $2 \
         WHERE id = $3 AND status = 'pending' AND expires_at > $2",
    )
    .bind(status)
    .bind(now)
    .bind(id)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.rows_affected() == 1)
}

/// Records the on-call window an acceptance made.
pub async fn set_on_call(tx: &mut Tx, id: i64, on_call: i64) -> crate::Result<()> {
    sqlx::query("UPDATE on_call_invites SET on_call_id = $1 WHERE id = $2")
        .bind(on_call)
        .bind(id)
        .execute(tx.conn().await?)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// A worker's pending invitations still open at `now`, by window start then id.
pub async fn pending_of_worker<'c, E: Executor<'c, Database = Any>>(
    e: E,
    worker: i64,
    now: i64,
) -> crate::Result<Vec<InviteRow>> {
    sqlx::query_as(q(format!(
        "SELECT {COLS} FROM on_call_invites WHERE worker_id = $1 AND status = 'pending' \
         AND expires_at > $2 ORDER BY start_at, id"
    )))
    .bind(worker)
    .bind(now)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// An agency's invitations whose window overlaps `[from, to)`, by id after `after`, at most `limit`.
pub async fn of_agency<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    from: i64,
    to: i64,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<InviteRow>> {
    sqlx::query_as(q(format!(
        "SELECT {COLS} FROM on_call_invites WHERE agency_id = $1 AND start_at < $3 AND end_at > $2 \
         AND id > $4 ORDER BY id LIMIT $5"
    )))
    .bind(agency)
    .bind(from)
    .bind(to)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_error)
}
