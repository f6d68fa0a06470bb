//! The rows of webhooks and their deliveries. Like the rest of the store it decides nothing: the sender and the
//! commands decide, these functions write and read.

use sqlx::AnyPool;

use crate::store::{Tx, db_error};

/// A webhook as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookRow {
    /// Its id.
    pub id: i64,
    /// The agency it belongs to.
    pub agency_id: i64,
    /// Where deliveries go.
    pub url: String,
    /// The event kinds delivered, a JSON array (`["*"]`: all).
    pub events: String,
    /// The signing secret.
    pub secret: String,
    /// `active`, `paused` or `disabled`.
    pub status: String,
    /// The last log position whose events are scheduled as deliveries.
    pub log_cursor: i64,
    /// Failed attempts in a row.
    pub failures: i64,
    /// When the current run of failures began (engine clock, unix ms).
    pub failing_since: Option<i64>,
    /// When crewcall disabled it.
    pub disabled_at: Option<i64>,
    /// Made.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

impl WebhookRow {
    /// The event kinds it delivers.
    pub fn kinds(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }
}

const WEBHOOK_COLUMNS: &str = "id, agency_id, url, events, secret, status, log_cursor, failures, \
     failing_since, disabled_at, created_at, updated_at";

/// A delivery as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Its id.
    pub id: i64,
    /// The webhook it is owed to.
    pub webhook_id: i64,
    /// The event's position in the log.
    pub seq: i64,
    /// When the event happened.
    pub event_at: i64,
    /// The event's kind.
    pub kind: String,
    /// The order the event concerns, or `''`.
    pub lane: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// When the next attempt is due (engine clock).
    pub next_attempt_at: i64,
    /// When the first attempt of the current window of retries was made.
    pub first_attempt_at: Option<i64>,
    /// When the last attempt was made.
    pub last_attempt_at: Option<i64>,
    /// The HTTP status of the last attempt.
    pub last_status_code: Option<i64>,
    /// Why the last attempt got no answer.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "id, webhook_id, seq, event_at, kind, lane, status, attempts, \
     next_attempt_at, first_attempt_at, last_attempt_at, last_status_code, last_error, delivered_at";

/// Inserts a webhook; its id.
pub async fn insert(
    tx: &mut Tx,
    agency: i64,
    url: &str,
    events: &str,
    secret: &str,
    cursor: i64,
    now: i64,
) -> crate::Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO webhooks (agency_id, url, events, secret, status, log_cursor, failures, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'active', $5, 0, $6, $6) RETURNING id",
    )
    .bind(agency)
    .bind(url)
    .bind(events)
    .bind(secret)
    .bind(cursor)
    .bind(now)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(id)
}

/// The position of the last event in the log, read in the transaction.
pub async fn log_head(tx: &mut Tx) -> crate::Result<i64> {
    let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(tx.conn().await?)
        .await
        .map_err(db_error)?;
    Ok(seq)
}

/// A webhook of an agency.
pub async fn get(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    agency: i64,
    id: i64,
) -> crate::Result<Option<WebhookRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1 AND agency_id = $2"
    )))
    .bind(id)
    .bind(agency)
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

/// A page of an agency's webhooks after id `after`, oldest first.
pub async fn list(
    pool: &AnyPool,
    agency: i64,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<WebhookRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE agency_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(agency)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)
}

/// Every active webhook, the sender's work list.
pub async fn active(pool: &AnyPool) -> crate::Result<Vec<WebhookRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE status = 'active' ORDER BY id"
    )))
    .fetch_all(pool)
    .await
    .map_err(db_error)
}

/// Writes a webhook's URL, kinds, secret and status as the agency changed them.
pub async fn update(tx: &mut Tx, w: &WebhookRow) -> crate::Result<()> {
    sqlx::query(
        "UPDATE webhooks SET url = $1, events = $2, secret = $3, status = $4, failures = $5, \
         failing_since = $6, disabled_at = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(&w.url)
    .bind(&w.events)
    .bind(&w.secret)
    .bind(&w.status)
    .bind(w.failures)
    .bind(w.failing_since)
    .bind(w.disabled_at)
    .bind(w.updated_at)
    .bind(w.id)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Makes a webhook's pending deliveries due at `now`, each with a fresh window of retries (after it was
/// re-enabled).
pub async fn resume(tx: &mut Tx, id: i64, now: i64) -> crate::Result<()> {
    sqlx::query(
        "UPDATE webhook_deliveries SET next_attempt_at = $1, first_attempt_at = NULL \
         WHERE webhook_id = $2 AND status = 'pending'",
    )
    .bind(now)
    .bind(id)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Deletes a webhook and its deliveries; whether it existed.
pub async fn delete(tx: &mut Tx, agency: i64, id: i64) -> crate::Result<bool> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND webhook_id IN (SELECT id FROM webhooks WHERE agency_id = $2)")
        .bind(id)
        .bind(agency)
        .execute(tx.conn().await?)
        .await
        .map_err(db_error)?;
    let r = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND agency_id = $2")
        .bind(id)
        .bind(agency)
        .execute(tx.conn().await?)
        .await
        .map_err(db_error)?;
    Ok(r.rows_affected() == 1)
}

/// A delivery to schedule.
pub struct NewDelivery {
    /// The event's position.
    pub seq: i64,
    /// When it happened.
    pub event_at: i64,
    /// Its kind.
    pub kind: String,
    /// The order it concerns, or `''`.
    pub lane: String,
}

/// Schedules deliveries (due at `now`) and moves the webhook's cursor from `from` to `to`, unless another
/// writer moved it meanwhile: whether it did.
pub async fn schedule(
    tx: &mut Tx,
    webhook: i64,
    from: i64,
    to: i64,
    deliveries: &[NewDelivery],
    now: i64,
) -> crate::Result<bool> {
    let moved =
        sqlx::query("UPDATE webhooks SET log_cursor = $1 WHERE id = $2 AND log_cursor = $3")
            .bind(to)
            .bind(webhook)
            .bind(from)
            .execute(tx.conn().await?)
            .await
            .map_err(db_error)?;
    if moved.rows_affected() != 1 {
        return Ok(false);
    }
    for d in deliveries {
        sqlx::query(
            "INSERT INTO webhook_deliveries (webhook_id, seq, event_at, kind, lane, status, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6) ON CONFLICT (webhook_id, seq) DO NOTHING",
        )
        .bind(webhook)
        .bind(d.seq)
        .bind(d.event_at)
        .bind(&d.kind)
        .bind(&d.lane)
        .bind(now)
        .execute(tx.conn().await?)
        .await
        .map_err(db_error)?;
    }
    Ok(true)
}

/// The order of an assignment.
pub async fn order_of_assignment(pool: &AnyPool, assignment: i64) -> crate::Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT order_id FROM assignments WHERE id = $1")
        .bind(assignment)
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    Ok(row.map(|r| r.0))
}

/// The first pending delivery of each lane of a webhook that is due at `now`, oldest first, at most `limit`:
/// a lane's later deliveries wait until its first is delivered or given up.
pub async fn due_heads(
    pool: &AnyPool,
    webhook: i64,
    now: i64,
    limit: i64,
) -> crate::Result<Vec<DeliveryRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE webhook_id = $1 AND status = 'pending' \
         AND next_attempt_at <= $2 AND seq = (SELECT MIN(seq) FROM webhook_deliveries h \
         WHERE h.webhook_id = d.webhook_id AND h.status = 'pending' AND h.lane = d.lane) \
         ORDER BY seq LIMIT $3"
    )))
    .bind(webhook)
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)
}

/// What one attempt came to.
pub struct Attempt<'a> {
    /// When it was made (engine clock).
    pub at: i64,
    /// The endpoint's HTTP status, when it answered.
    pub status_code: Option<i64>,
    /// Why it got no answer.
    pub error: Option<&'a str>,
    /// The delivery's status after it: `pending`, `delivered` or `failed`.
    pub outcome: &'a str,
    /// When the next attempt is due, while `pending`.
    pub next_at: i64,
}

/// Records an attempt of a pending delivery; whether the delivery was still there and pending.
pub async fn record(tx: &mut Tx, delivery: i64, a: &Attempt<'_>) -> crate::Result<bool> {
    let r = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, last_attempt_at = $2, \
         first_attempt_at = COALESCE(first_attempt_at, $2), last_status_code = $3, last_error = $4, \
         next_attempt_at = $5, delivered_at = $6 WHERE id = $7 AND status = 'pending'",
    )
    .bind(a.outcome)
    .bind(a.at)
    .bind(a.status_code)
    .bind(a.error)
    .bind(a.next_at)
    .bind((a.outcome == "delivered").then_some(a.at))
    .bind(delivery)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.rows_affected() == 1)
}

/// Counts a failed attempt against a webhook; its run of failures afterwards (`failures`, `failing_since`) and
/// its status.
pub async fn count_failure(
    tx: &mut Tx,
    webhook: i64,
    now: i64,
) -> crate::Result<Option<(i64, i64, String)>> {
    sqlx::query_as(
        "UPDATE webhooks SET failures = failures + 1, failing_since = COALESCE(failing_since, $1) \
         WHERE id = $2 RETURNING failures, failing_since, status",
    )
    .bind(now)
    .bind(webhook)
    .fetch_optional(tx.conn().await?)
    .await
    .map_err(db_error)
}

/// Ends a webhook's run of failures after a success.
pub async fn count_success(tx: &mut Tx, webhook: i64) -> crate::Result<()> {
    sqlx::query(
        "UPDATE webhooks SET failures = 0, failing_since = NULL WHERE id = $1 AND failures > 0",
    )
    .bind(webhook)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Disables an active webhook; whether it was active.
pub async fn disable(tx: &mut Tx, webhook: i64, now: i64) -> crate::Result<bool> {
    let r = sqlx::query(
        "UPDATE webhooks SET status = 'disabled', disabled_at = $1, updated_at = $1 \
         WHERE id = $2 AND status = 'active'",
    )
    .bind(now)
    .bind(webhook)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.rows_affected() == 1)
}

/// A page of a webhook's deliveries after event position `after`, in log order, optionally of one status.
pub async fn deliveries(
    pool: &AnyPool,
    webhook: i64,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<DeliveryRow>> {
    let filter = if status.is_some() {
        "AND status = $4"
    } else {
        ""
    };
    let mut q = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 AND seq > $2 {filter} \
         ORDER BY seq LIMIT $3"
    )))
    .bind(webhook)
    .bind(after)
    .bind(limit);
    if let Some(s) = status {
        q = q.bind(s);
    }
    q.fetch_all(pool).await.map_err(db_error)
}

/// Forgets deliveries that are done (delivered or given up) and were last tried before `before`.
pub async fn purge(tx: &mut Tx, before: i64) -> crate::Result<u64> {
    let r = sqlx::query(
        "DELETE FROM webhook_deliveries WHERE status <> 'pending' AND last_attempt_at < $1",
    )
    .bind(before)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.rows_affected())
}

/// When the oldest event an active webhook still owes happened: among its pending deliveries, and among the
/// events of its kinds not yet scheduled. `None` when every active webhook is up to date.
pub async fn oldest_undelivered(pool: &AnyPool) -> crate::Result<Option<i64>> {
    let (pending,): (Option<i64>,) = sqlx::query_as(
        "SELECT MIN(d.event_at) FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE w.status = 'active' AND d.status = 'pending'",
    )
    .fetch_one(pool)
    .await
    .map_err(db_error)?;
    let mut oldest = pending;
    for w in active(pool).await? {
        let kinds = w.kinds();
        let mut sql = String::from("SELECT MIN(at) FROM events WHERE agency_id = $1 AND seq > $2");
        if !kinds.iter().any(|k| k == "*") {
            let list: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 3)).collect();
            sql.push_str(&format!(" AND kind IN ({})", list.join(", ")));
        }
        let mut q = sqlx::query_as::<_, (Option<i64>,)>(sqlx::AssertSqlSafe(sql))
            .bind(w.agency_id)
            .bind(w.log_cursor);
        if !kinds.iter().any(|k| k == "*") {
            for k in &kinds {
                q = q.bind(k.clone());
            }
        }
        let (at,) = q.fetch_one(pool).await.map_err(db_error)?;
        oldest = match (oldest, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(oldest)
}

/// Deliveries by status, over every webhook.
pub async fn counts(pool: &AnyPool) -> crate::Result<Vec<(String, i64)>> {
    sqlx::query_as("SELECT status, COUNT(*) FROM webhook_deliveries GROUP BY status")
        .fetch_all(pool)
        .await
        .map_err(db_error)
}
