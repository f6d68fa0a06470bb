//! SLA rows: an agency's tier configuration, clients' tiers and each order's SLA (migration 0013).

use sqlx::{Any, Executor};

use super::{Tx, db_error};

/// An order's SLA as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderSlaRow {
    /// The order.
    pub order_id: i64,
    /// The client's tier at posting.
    pub tier: String,
    /// Posted, ms.
    pub posted_at: i64,
    /// To be fully staffed by, ms.
    pub target_at: i64,
    /// Flagged at risk at, if not staffed by then, ms.
    pub alert_at: i64,
    /// When it was flagged at risk.
    pub alerted_at: Option<i64>,
    /// When it was first fully staffed.
    pub staffed_at: Option<i64>,
    /// When its target passed unstaffed.
    pub missed_at: Option<i64>,
    /// The SLA timer's next instant; `None` once nothing more is watched.
    pub due_at: Option<i64>,
}

const COLUMNS: &str =
    "order_id, tier, posted_at, target_at, alert_at, alerted_at, staffed_at, missed_at, due_at";

/// An order's SLA, if it has one.
pub async fn order_sla<'c, E: Executor<'c, Database = Any>>(
    e: E,
    order: i64,
) -> crate::Result<Option<OrderSlaRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM order_sla WHERE order_id = $1"
    )))
    .bind(order)
    .fetch_optional(e)
    .await
    .map_err(db_error)
}

/// Records a new order's SLA.
pub async fn insert_order_sla(
    tx: &mut Tx,
    agency: i64,
    client_ref: &str,
    row: &OrderSlaRow,
) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO order_sla (order_id, agency_id, client_ref, tier, posted_at, target_at, alert_at, due_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(row.order_id)
    .bind(agency)
    .bind(client_ref)
    .bind(row.tier.clone())
    .bind(row.posted_at)
    .bind(row.target_at)
    .bind(row.alert_at)
    .bind(row.due_at)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Writes what happened to an order's SLA (the alert, staffing, the miss) and its next due instant.
pub async fn update_order_sla(tx: &mut Tx, row: &OrderSlaRow) -> crate::Result<()> {
    sqlx::query(
        "UPDATE order_sla SET alerted_at = $1, staffed_at = $2, missed_at = $3, due_at = $4 WHERE order_id = $5",
    )
    .bind(row.alerted_at)
    .bind(row.staffed_at)
    .bind(row.missed_at)
    .bind(row.due_at)
    .bind(row.order_id)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// An agency's stored tier configuration (its JSON), if it set one.
pub async fn settings<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
) -> crate::Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT body FROM sla_settings WHERE agency_id = $1")
            .bind(agency)
            .fetch_optional(e)
            .await
            .map_err(db_error)?;
    Ok(row.map(|(b,)| b))
}

/// Stores an agency's tier configuration.
pub async fn put_settings(tx: &mut Tx, agency: i64, body: &str, now: i64) -> crate::Result<()> {
    sqlx::query(
        "INSERT INTO sla_settings (agency_id, body, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (agency_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at",
    )
    .bind(agency)
    .bind(body)
    .bind(now)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A client's own tier, with when it was set.
pub async fn client_tier<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    client_ref: &str,
) -> crate::Result<Option<(String, i64)>> {
    sqlx::query_as("SELECT tier, updated_at FROM clients WHERE agency_id = $1 AND client_ref = $2")
        .bind(agency)
        .bind(client_ref)
        .fetch_optional(e)
        .await
        .map_err(db_error)
}

/// The agency's clients given a tier, with the tier: `(client_ref, tier)`.
pub async fn client_tiers<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
) -> crate::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT client_ref, tier FROM clients WHERE agency_id = $1")
        .bind(agency)
        .fetch_all(e)
        .await
        .map_err(db_error)
}

/// Sets a client's tier, or (`None`) takes it away so the default applies.
pub async fn set_client_tier(
    tx: &mut Tx,
    agency: i64,
    client_ref: &str,
    tier: Option<&str>,
    now: i64,
) -> crate::Result<()> {
    let q = match tier {
        None => sqlx::query("DELETE FROM clients WHERE agency_id = $1 AND client_ref = $2")
            .bind(agency)
            .bind(client_ref),
        Some(t) => sqlx::query(
            "INSERT INTO clients (agency_id, client_ref, tier, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (agency_id, client_ref) DO UPDATE SET tier = excluded.tier, updated_at = excluded.updated_at",
        )
        .bind(agency)
        .bind(client_ref)
        .bind(t.to_string())
        .bind(now),
    };
    q.execute(tx.conn().await?).await.map_err(db_error)?;
    Ok(())
}

/// The agency's clients after `after` in `client_ref` order (those given a tier and those named by an order),
/// each with its own tier if it has one: at most `limit`.
pub async fn clients<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    after: &str,
    limit: i64,
) -> crate::Result<Vec<(String, Option<String>, Option<i64>)>> {
    sqlx::query_as(
        "SELECT n.client_ref, c.tier, c.updated_at FROM \
           (SELECT client_ref FROM clients WHERE agency_id = $1 AND client_ref > $2 \
            UNION SELECT client_ref FROM orders WHERE agency_id = $1 AND client_ref <> '' AND client_ref > $2) n \
         LEFT JOIN clients c ON c.agency_id = $1 AND c.client_ref = n.client_ref \
         ORDER BY n.client_ref LIMIT $3",
    )
    .bind(agency)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Clients of the agency holding `tier`, at most `limit`.
pub async fn clients_holding<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    tier: &str,
    limit: i64,
) -> crate::Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT client_ref FROM clients WHERE agency_id = $1 AND tier = $2 ORDER BY client_ref LIMIT $3",
    )
    .bind(agency)
    .bind(tier)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}

/// One order of the SLA report: its SLA with the order's client, status and start.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReportRow {
    /// The order.
    pub order_id: i64,
    /// Its client.
    pub client_ref: String,
    /// Its tier.
    pub tier: String,
    /// Posted, ms.
    pub posted_at: i64,
    /// Target, ms.
    pub target_at: i64,
    /// First fully staffed, ms.
    pub staffed_at: Option<i64>,
    /// Target missed, ms.
    pub missed_at: Option<i64>,
    /// The order's status.
    pub status: String,
    /// The shift's start, ms.
    pub start_at: i64,
}

/// The agency's orders with an SLA posted in `[from, to)`, by id.
pub async fn report_rows<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    from: i64,
    to: i64,
) -> crate::Result<Vec<ReportRow>> {
    sqlx::query_as(
        "SELECT s.order_id, s.client_ref, s.tier, s.posted_at, s.target_at, s.staffed_at, s.missed_at, \
                o.status, o.start_at \
         FROM order_sla s JOIN orders o ON o.id = s.order_id \
         WHERE s.agency_id = $1 AND s.posted_at >= $2 AND s.posted_at < $3 ORDER BY s.order_id",
    )
    .bind(agency)
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Per order of the agency posted in `[from, to)` with an SLA: shift workers confirmed at the start (made by
/// then and not cancelled or released before it), no-shows, and replacements (assignments that replace a
/// lost one: a standby promoted or an urgent offer accepted).
pub async fn report_assignments<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    from: i64,
    to: i64,
) -> crate::Result<Vec<(i64, i64, i64, i64)>> {
    sqlx::query_as(
        "SELECT a.order_id, \
           COALESCE(SUM(CASE WHEN a.kind = 'shift' AND a.created_at <= o.start_at \
             AND (a.status NOT IN ('cancelled', 'released') OR a.updated_at > o.start_at) THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN a.kind = 'shift' AND a.status = 'no_show' THEN 1 ELSE 0 END), 0), \
           COALESCE(SUM(CASE WHEN a.replaces IS NOT NULL THEN 1 ELSE 0 END), 0) \
         FROM assignments a JOIN order_sla s ON s.order_id = a.order_id JOIN orders o ON o.id = a.order_id \
         WHERE s.agency_id = $1 AND s.posted_at >= $2 AND s.posted_at < $3 GROUP BY a.order_id",
    )
    .bind(agency)
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
    .map_err(db_error)
}
