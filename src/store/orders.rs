//! Orders, offers and assignments. The order keeps its wire body (the headcounts of a patch are written into
//! it); offers and assignments are rows of their own so that the database can guard them: a live assignment's
//! guard range (its shift widened by half the rest gap on each side) never overlaps another of the same
//! worker — an exclusion constraint on PostgreSQL, [`overlapping_live`] inside the writing transaction on
//! SQLite.

use sqlx::{Any, Executor};

use super::events::{Guard, Param};
use super::{Tx, db_error};

/// Assignment statuses that hold the worker's time.
const LIVE_STATUSES: [&str; 3] = ["confirmed", "checked_in", "standby"];

/// A stored order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderRow {
    /// The order.
    pub id: i64,
    /// Its agency.
    pub agency_id: i64,
    /// The wire body it was posted with (headcounts as patched since).
    pub body: String,
    /// `open`, `filled`, `in_progress`, `completed` or `cancelled`.
    pub status: String,
    /// Shift start, unix ms.
    pub start_at: i64,
    /// Shift end, unix ms.
    pub end_at: i64,
    /// When it was posted.
    pub created_at: i64,
    /// Raised by every change to the row: a patch of its terms, a new status (the ETag of the order).
    pub version: i64,
    /// The series the order is a shift of, if any.
    pub series_id: Option<i64>,
}

/// A stored offer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OfferRow {
    /// The offer.
    pub id: i64,
    /// Its order.
    pub order_id: i64,
    /// The agency.
    pub agency_id: i64,
    /// The worker offered.
    pub worker_id: i64,
    /// The role, by index into the order's roles.
    pub role_idx: i64,
    /// `shift` or `standby`.
    pub kind: String,
    /// `pending`, `accepted`, `declined`, `expired` or `withdrawn`.
    pub status: String,
    /// 1 for urgent replacement offers.
    pub urgent: i64,
    /// Sent, unix ms.
    pub created_at: i64,
    /// Open until, unix ms.
    pub expires_at: i64,
    /// Left pending, unix ms.
    pub decided_at: Option<i64>,
    /// The assignment an urgent replacement offer replaces.
    pub replaces: Option<i64>,
}

/// A stored assignment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentRow {
    /// The assignment.
    pub id: i64,
    /// Its order.
    pub order_id: i64,
    /// The agency.
    pub agency_id: i64,
    /// The worker.
    pub worker_id: i64,
    /// The role, by index.
    pub role_idx: i64,
    /// `shift` or `standby`.
    pub kind: String,
    /// `confirmed`, `checked_in`, `completed`, `no_show`, `cancelled`, `standby`, `promoted`, `released`.
    pub status: String,
    /// Shift start, unix ms.
    pub start_at: i64,
    /// Shift end, unix ms.
    pub end_at: i64,
    /// The offer it came from, if any.
    pub offer_id: Option<i64>,
    /// The assignment it replaces, if any.
    pub replaces: Option<i64>,
    /// Made, unix ms.
    pub created_at: i64,
    /// Last change, unix ms.
    pub updated_at: i64,
    /// Check-in, unix ms.
    pub checked_in_at: Option<i64>,
    /// Check-out, unix ms.
    pub checked_out_at: Option<i64>,
    /// Minutes late at check-in.
    pub late_minutes: Option<i64>,
    /// Distance from the venue at check-in.
    pub distance_m: Option<f64>,
    /// Minutes worked, at check-out.
    pub worked_minutes: Option<i64>,
    /// Distance from the venue at check-out (none when the end of the shift checked the worker out).
    pub check_out_distance_m: Option<f64>,
    /// When the worker was asked to confirm again, unix ms.
    pub reconfirm_requested_at: Option<i64>,
    /// When the re-confirmation is due, unix ms.
    pub reconfirm_deadline: Option<i64>,
    /// When the worker confirmed again, unix ms.
    pub reconfirmed_at: Option<i64>,
    /// When the deadline passed unanswered, unix ms.
    pub reconfirm_missed_at: Option<i64>,
}

pub(crate) const ORDER_COLS: &str =
    "id, agency_id, body, status, start_at, end_at, created_at, version, series_id";
const OFFER_COLS: &str = "id, order_id, agency_id, worker_id, role_idx, kind, status, urgent, created_at, expires_at, decided_at, replaces";
const ASSIGNMENT_COLS: &str = "id, order_id, agency_id, worker_id, role_idx, kind, status, start_at, end_at, \
    offer_id, replaces, created_at, updated_at, checked_in_at, checked_out_at, late_minutes, distance_m, worked_minutes, check_out_distance_m, \
    reconfirm_requested_at, reconfirm_deadline, reconfirmed_at, reconfirm_missed_at";

fn q(sql: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(sql)
}

/// Inserts an order and returns its id.
pub async fn insert_order(
    tx: &mut Tx,
    agency: i64,
    client_ref: &str,
    body: &str,
    start_at: i64,
    end_at: i64,
    now: i64,
) -> crate::Result<i64> {
    if let Some(id) = tx.next_order_id().await? {
        // SQLite: the id is known, and the insert rides with the command's next statement.
        tx.write_later(
            "INSERT INTO orders (id, agency_id, client_ref, body, start_at, end_at, status, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7)",
            vec![
                Param::Int(id),
                Param::Int(agency),
                Param::Text(client_ref.to_string()),
                Param::Text(body.to_string()),
                Param::Int(start_at),
                Param::Int(end_at),
                Param::Int(now),
            ],
        )
        .await?;
        return Ok(id);
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO orders (agency_id, client_ref, body, start_at, end_at, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $6) RETURNING id",
    )
    .bind(agency)
    .bind(client_ref)
    .bind(body)
    .bind(start_at)
    .bind(end_at)
    .bind(now)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(id)
}

/// Rewrites an order's body (a headcount patch).
pub async fn update_order_body(tx: &mut Tx, id: i64, body: &str, now: i64) -> crate::Result<()> {
    sqlx::query(
        "UPDATE orders SET body = $1, updated_at = $2, version = version + 1 WHERE id = $3",
    )
    .bind(body)
    .bind(now)
    .bind(id)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Sets an order's status.
pub async fn set_order_status(tx: &mut Tx, id: i64, status: &str, now: i64) -> crate::Result<()> {
    tx.write_later(
        "UPDATE orders SET status = $1, updated_at = $2, version = version + 1 WHERE id = $3",
        vec![
            Param::Text(status.to_string()),
            Param::Int(now),
            Param::Int(id),
        ],
    )
    .await
}

/// An order by id (any agency: callers check the tenant).
pub async fn order<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
) -> crate::Result<Option<OrderRow>> {
    sqlx::query_as(q(format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1")))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_error)
}

/// Which orders a list holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderListFilter<'a> {
    /// Only this status.
    pub status: Option<&'a str>,
    /// Orders ending after this, unix ms.
    pub from: Option<i64>,
    /// Orders starting before this, unix ms.
    pub to: Option<i64>,
    /// Only this client's orders.
    pub client_ref: Option<&'a str>,
}

/// Orders of an agency after `after`, filtered, in id order.
pub async fn list_orders<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    filter: OrderListFilter<'_>,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<OrderRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ORDER_COLS} FROM orders WHERE agency_id = $1 AND id > $2 \
         AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR end_at > $4) AND ($5 IS NULL OR start_at < $5) \
         AND ($6 IS NULL OR client_ref = $6) ORDER BY id LIMIT $7"
    )))
    .bind(agency)
    .bind(after)
    .bind(filter.status)
    .bind(filter.from)
    .bind(filter.to)
    .bind(filter.client_ref)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Orders not yet completed or cancelled (timers and the rebuild at start).
pub async fn active_orders<'c, E: Executor<'c, Database = Any>>(
    e: E,
) -> crate::Result<Vec<OrderRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ORDER_COLS} FROM orders WHERE status IN ('open', 'filled', 'in_progress') ORDER BY id"
    )))
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Inserts an offer and returns its id.
#[allow(clippy::too_many_arguments)]
pub async fn insert_offer(
    tx: &mut Tx,
    order: i64,
    agency: i64,
    worker: i64,
    role: i64,
    kind: &str,
    urgent: bool,
    now: i64,
    expires_at: i64,
    replaces: Option<i64>,
) -> crate::Result<OfferRow> {
    sqlx::query_as(q(format!(
        "INSERT INTO offers (order_id, agency_id, worker_id, role_idx, kind, status, urgent, created_at, expires_at, replaces) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9) RETURNING {OFFER_COLS}"
    )))
    .bind(order)
    .bind(agency)
    .bind(worker)
    .bind(role)
    .bind(kind)
    .bind(i64::from(urgent))
    .bind(now)
    .bind(expires_at)
    .bind(replaces)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)
}

/// Moves a pending offer to `status`; false when it was no longer pending (so it leaves pending once).
pub async fn decide_offer(tx: &mut Tx, id: i64, status: &str, now: i64) -> crate::Result<bool> {
    let r = sqlx::query(
        "UPDATE offers SET status = $1, decided_at = $2 WHERE id = $3 AND status = 'pending'",
    )
    .bind(status)
    .bind(now)
    .bind(id)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(r.rows_affected() == 1)
}

/// An offer by id.
pub async fn offer<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
) -> crate::Result<Option<OfferRow>> {
    sqlx::query_as(q(format!("SELECT {OFFER_COLS} FROM offers WHERE id = $1")))
        .bind(id)
        .fetch_optional(e)
        .await
        .map_err(db_error)
}

/// The pending offers of an order.
pub async fn pending_offers_of_order<'c, E: Executor<'c, Database = Any>>(
    e: E,
    order: i64,
) -> crate::Result<Vec<OfferRow>> {
    sqlx::query_as(q(format!(
        "SELECT {OFFER_COLS} FROM offers WHERE order_id = $1 AND status = 'pending' ORDER BY id"
    )))
    .bind(order)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Every worker an order has offered anything to, in any state of the offer. A long waterfall leaves
/// hundreds of closed offers; they come back as one aggregated row (`string_agg` on both backends), not one
/// row each.
pub async fn offered_workers<'c, E: Executor<'c, Database = Any>>(
    e: E,
    order: i64,
) -> crate::Result<Vec<i64>> {
    let (list,): (Option<String>,) = sqlx::query_as(
        "SELECT string_agg(CAST(worker_id AS TEXT), ',') FROM (SELECT worker_id FROM offers \
         WHERE order_id = $1 GROUP BY worker_id HAVING NOT (COUNT(*) = 1 AND MAX(reask) = 1)) w",
    )
    .bind(order)
    .fetch_one(e)
    .await
    .map_err(db_error)?;
    list.as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| crate::Error::Internal(format!("offered worker id {s:?}")))
        })
        .collect()
}

/// Marks the expired shift offers of an order that expired at or before `until` and were not yet
/// considered for asking again; answers their workers, each of whom may be asked again when this was their
/// only offer of the order.
pub async fn mark_reask(tx: &mut Tx, order: i64, until: i64) -> crate::Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "UPDATE offers SET reask = 1 WHERE order_id = $1 AND status = 'expired' AND kind = 'shift' \
         AND reask = 0 AND expires_at <= $2 RETURNING worker_id",
    )
    .bind(order)
    .bind(until)
    .fetch_all(tx.conn().await?)
    .await
    .map_err(db_error)?;
    let mut workers: Vec<i64> = rows.into_iter().map(|(w,)| w).collect();
    workers.sort_unstable();
    workers.dedup();
    Ok(workers)
}

/// A worker's offers, pending only or all, newest first.
pub async fn offers_of_worker<'c, E: Executor<'c, Database = Any>>(
    e: E,
    worker: i64,
    pending_only: bool,
) -> crate::Result<Vec<OfferRow>> {
    let filter = if pending_only {
        "AND status = 'pending'"
    } else {
        ""
    };
    sqlx::query_as(q(format!(
        "SELECT {OFFER_COLS} FROM offers WHERE worker_id = $1 {filter} ORDER BY id DESC LIMIT 500"
    )))
    .bind(worker)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Inserts an assignment after checking, in the same transaction, that the worker holds no live assignment
/// within the rest gap (PostgreSQL's exclusion constraint checks it again). Returns the id, or `None` when the
/// worker is booked.
#[allow(clippy::too_many_arguments)]
pub async fn insert_assignment(
    tx: &mut Tx,
    order: i64,
    agency: i64,
    worker: i64,
    role: i64,
    kind: &str,
    status: &str,
    start_at: i64,
    end_at: i64,
    half_gap_ms: i64,
    offer: Option<i64>,
    replaces: Option<i64>,
    now: i64,
    wait: bool,
) -> crate::Result<Option<i64>> {
    let guard_start = start_at - half_gap_ms;
    let guard_end = end_at + half_gap_ms;
    if tx.backend() == super::Backend::Postgres {
        // Claim the worker for this transaction first. Two transactions inserting clashing rows would each
        // wait for the other inside the exclusion constraint's check (a deadlock PostgreSQL breaks after a
        // second); with the claim, the second one sees the worker taken. A dispatch that picks among many
        // (`wait: false`) moves on to the next candidate; an accepted offer or a promotion waits its turn.
        let sql = if wait {
            format!("SELECT true FROM pg_advisory_xact_lock({WORKER_LOCK}, $1::int4)")
        } else {
            format!("SELECT pg_try_advisory_xact_lock({WORKER_LOCK}, $1::int4)")
        };
        let (got,): (bool,) = sqlx::query_as(q(sql))
            .bind(worker)
            .fetch_one(tx.conn().await?)
            .await
            .map_err(db_error)?;
        if !got {
            return Ok(None);
        }
    }
    if overlapping_live(tx, worker, guard_start, guard_end).await? {
        return Ok(None);
    }
    // On PostgreSQL the exclusion constraint is the arbiter: a worker booked meanwhile by another node's
    // transaction (which the check above cannot see until it commits) makes the insert do nothing.
    let id: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO assignments (order_id, agency_id, worker_id, role_idx, kind, status, start_at, end_at, \
         guard_start, guard_end, offer_id, replaces, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(order)
    .bind(agency)
    .bind(worker)
    .bind(role)
    .bind(kind)
    .bind(status)
    .bind(start_at)
    .bind(end_at)
    .bind(guard_start)
    .bind(guard_end)
    .bind(offer)
    .bind(replaces)
    .bind(now)
    .fetch_optional(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(id.map(|(id,)| id))
}

/// What a set of new assignments of one order share: all are picks among candidates, none waits for a worker.
#[derive(Debug, Clone, Copy)]
pub struct NewAssignments<'a> {
    /// The order.
    pub order: i64,
    /// Its agency.
    pub agency: i64,
    /// `shift` or `standby`.
    pub kind: &'a str,
    /// `confirmed` or `standby`.
    pub status: &'a str,
    /// The shift's start, unix ms.
    pub start_at: i64,
    /// The shift's end, unix ms.
    pub end_at: i64,
    /// Half the minimum rest gap, ms: the guard range is the shift widened by it on each side.
    pub half_gap_ms: i64,
    /// Now, unix ms.
    pub now: i64,
}

impl NewAssignments<'_> {
    /// The row [`insert_assignments`] wrote for `worker` in `role` under `id`, as the database holds it
    /// (every column it does not set is empty), so a caller need not read it back.
    pub fn row(&self, id: i64, worker: i64, role: i64) -> AssignmentRow {
        AssignmentRow {
            id,
            order_id: self.order,
            agency_id: self.agency,
            worker_id: worker,
            role_idx: role,
            kind: self.kind.to_string(),
            status: self.status.to_string(),
            start_at: self.start_at,
            end_at: self.end_at,
            offer_id: None,
            replaces: None,
            created_at: self.now,
            updated_at: self.now,
            checked_in_at: None,
            checked_out_at: None,
            late_minutes: None,
            distance_m: None,
            worked_minutes: None,
            check_out_distance_m: None,
            reconfirm_requested_at: None,
            reconfirm_deadline: None,
            reconfirmed_at: None,
            reconfirm_missed_at: None,
        }
    }
}

/// The advisory lock space in which a PostgreSQL transaction claims a worker before booking them.
const WORKER_LOCK: i64 = 7_310_023;

/// Rows per statement of [`insert_assignments`] (two parameters each).
const BOOK_CHUNK: usize = 400;

/// Inserts assignments for those of `picks` (distinct workers, each with its role) who hold no live assignment
/// within the rest gap; answers each pick's new id, or `None` for a worker already booked.
///
/// On SQLite one statement checks and inserts them all: the writer's turn is held for one statement, not two
/// per worker. SQLite reads the statement's `SELECT` in full before it inserts (it reads the table it writes),
/// so the picks are checked against the assignments before the statement, and distinct workers cannot clash
/// with each other. On PostgreSQL the same statement also claims each free worker for the transaction
/// (`pg_try_advisory_xact_lock`, as [`insert_assignment`] does), passing over one another transaction holds,
/// and the exclusion constraint skips a worker booked by a transaction that committed after the statement
/// began; the statement runs again for the rest while the crew is short and it still books someone.
///
/// With `limit`, `picks` are candidates in order of preference, and only the first `limit` of them who are free
/// are booked (the rest answer `None` too), in one statement.
pub async fn insert_assignments(
    tx: &mut Tx,
    new: NewAssignments<'_>,
    picks: &[(i64, i64)],
    limit: Option<usize>,
) -> crate::Result<Vec<Option<i64>>> {
    let distinct = {
        let mut workers: Vec<i64> = picks.iter().map(|(w, _)| *w).collect();
        workers.sort_unstable();
        workers.windows(2).all(|p| p[0] != p[1])
    };
    if !distinct {
        return insert_assignments_one_by_one(tx, new, picks, limit).await;
    }
    let postgres = tx.backend() == super::Backend::Postgres;
    let guard_start = new.start_at - new.half_gap_ms;
    let guard_end = new.end_at + new.half_gap_ms;
    let mut ids: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
    // The best `limit` free candidates are among the first `BOOK_CHUNK`.
    let chunks: Vec<&[(i64, i64)]> = match limit {
        Some(_) => vec![&picks[..picks.len().min(BOOK_CHUNK)]],
        None => picks.chunks(BOOK_CHUNK).collect(),
    };
    for chunk in chunks {
        // On PostgreSQL a statement can book fewer than it could (a worker booked by a transaction that
        // committed after the statement began is skipped by the exclusion constraint): it runs again for the
        // rest, its new snapshot seeing that booking, until the crew is whole or nothing more is booked.
        let mut rest: Vec<(i64, i64)> = chunk.to_vec();
        loop {
            let wanted = limit.map(|l| l.saturating_sub(ids.len()));
            if rest.is_empty() || wanted == Some(0) {
                break;
            }
            let sql = booking_sql(rest.len(), wanted, postgres);
            let batch = rest.clone();
            // What the command held back (its order's row, say), and what the writer owes, go in front, in
            // the same round trip: the statement cannot fail by design (a worker already booked is left out).
            let rows: Vec<(i64, i64)> = tx
                .fetch_after(&sql, move |mut q| {
                    q = q
                        .bind(new.order)
                        .bind(new.agency)
                        .bind(new.kind.to_string())
                        .bind(new.status.to_string())
                        .bind(new.start_at)
                        .bind(new.end_at)
                        .bind(guard_start)
                        .bind(guard_end)
                        .bind(new.now);
                    for (worker, role) in batch {
                        q = q.bind(worker).bind(role);
                    }
                    q
                })
                .await?;
            let booked = rows.len();
            ids.extend(rows.into_iter().map(|(id, worker)| (worker, id)));
            if !postgres || booked == 0 || wanted.is_none() {
                break;
            }
            rest.retain(|(w, _)| !ids.contains_key(w));
        }
    }
    Ok(picks.iter().map(|(w, _)| ids.get(w).copied()).collect())
}

/// The statement of [`insert_assignments`] for `picks` candidates (parameters `$10` on, two each, after the
/// nine the rows share), booking at most `limit` of them. Public so that a test can ask each backend for its
/// plan.
pub fn booking_sql(picks: usize, limit: Option<usize>, postgres: bool) -> String {
    const SHARED: usize = 9;
    let mut values = String::new();
    for i in 0..picks {
        if i > 0 {
            values.push_str(", ");
        }
        let b = SHARED + 2 * i;
        values.push_str(&format!("(${}, ${}, {i})", b + 1, b + 2));
    }
    let busy = live_meets("p.column1", "$7", "$8", postgres);
    let chosen = if postgres {
        // A free candidate is claimed for the transaction (as `insert_assignment` claims one) before it is
        // booked, and one claimed by another transaction is passed over: two transactions never wait for each
        // other inside the exclusion constraint. `CASE` claims only candidates found free, and the `VALUES`
        // are read in their order, so with a limit only as many are claimed as are booked.
        let free = format!(
            "SELECT p.column1 AS worker, p.column2 AS role FROM (VALUES {values}) AS p \
             WHERE CASE WHEN {busy} THEN false ELSE pg_try_advisory_xact_lock({WORKER_LOCK}, p.column1::int4) END"
        );
        match limit {
            Some(n) => format!("{free} LIMIT {n}"),
            None => free,
        }
    } else {
        let free = format!(
            "SELECT p.column1 AS worker, p.column2 AS role FROM (VALUES {values}) AS p WHERE NOT {busy}"
        );
        // With a limit, the first free in order of preference; either way inserted in worker order. The
        // `VALUES` are read in their order (a co-routine, as on PostgreSQL) and the materialized limit stops
        // the reading at the `n`-th free candidate, so the spares behind it are never checked: sorting on the
        // preference instead would check every candidate, three seeks each, before the limit applies.
        match limit {
            Some(n) => format!("WITH f AS MATERIALIZED ({free} LIMIT {n}) SELECT * FROM f"),
            None => free,
        }
    };
    // On PostgreSQL the exclusion constraint is the arbiter of a booking made meanwhile by a transaction
    // the statement's snapshot does not see.
    let conflict = if postgres {
        " ON CONFLICT DO NOTHING"
    } else {
        ""
    };
    format!(
        "INSERT INTO assignments (order_id, agency_id, worker_id, role_idx, kind, status, start_at, end_at, \
         guard_start, guard_end, offer_id, replaces, created_at, updated_at) \
         SELECT $1, $2, c.worker, c.role, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, $9 \
         FROM ({chosen}) AS c ORDER BY c.worker{conflict} \
         RETURNING id, worker_id"
    )
}

/// The condition that the worker `worker` (an SQL expression) holds a live assignment whose guard range meets
/// `[start, end)`.
///
/// A worker's live assignments never meet each other's guard ranges (invariant 1), so of those of one status
/// only the last to start before `end` can meet the range: one seek per status in `assignments_by_worker`,
/// however many assignments the worker holds.
///
/// On PostgreSQL the seek is written as a row comparison, `(worker_id, status, guard_start) < (worker, status,
/// end)`, read backwards: only a B-tree can answer it, so the planner never takes the exclusion constraint's
/// GiST index instead. Asked for the worker alone, that index looks as cheap while the table's statistics are
/// young (a new database, a table grown since the last `ANALYZE`), but it visits every entry of the worker, on
/// pages that do not keep them together. The row found is the worker's only if its first two columns say so.
fn live_meets(worker: &str, start: &str, end: &str, postgres: bool) -> String {
    let last = |status: &str| {
        if postgres {
            format!(
                "SELECT (SELECT CASE WHEN a.worker_id = {worker} AND a.status = '{status}' THEN a.guard_end END \
                 FROM assignments a WHERE (a.worker_id, a.status, a.guard_start) < ({worker}, '{status}', {end}) \
                 ORDER BY a.worker_id DESC, a.status DESC, a.guard_start DESC LIMIT 1) AS e"
            )
        } else {
            format!(
                "SELECT (SELECT a.guard_end FROM assignments a WHERE a.worker_id = {worker} \
                 AND a.status = '{status}' AND a.guard_start < {end} ORDER BY a.guard_start DESC LIMIT 1) AS e"
            )
        }
    };
    let each: Vec<String> = LIVE_STATUSES.iter().map(|s| last(s)).collect();
    format!(
        "EXISTS (SELECT 1 FROM ({}) AS l WHERE l.e > {start})",
        each.join(" UNION ALL ")
    )
}

/// [`insert_assignments`] for picks that name a worker twice: one [`insert_assignment`] each, in order.
async fn insert_assignments_one_by_one(
    tx: &mut Tx,
    new: NewAssignments<'_>,
    picks: &[(i64, i64)],
    limit: Option<usize>,
) -> crate::Result<Vec<Option<i64>>> {
    let mut out = Vec::with_capacity(picks.len());
    let mut booked = 0;
    for &(worker, role) in picks {
        if limit.is_some_and(|l| booked >= l) {
            out.push(None);
            continue;
        }
        let id = insert_assignment(
            tx,
            new.order,
            new.agency,
            worker,
            role,
            new.kind,
            new.status,
            new.start_at,
            new.end_at,
            new.half_gap_ms,
            None,
            None,
            new.now,
            false,
        )
        .await?;
        booked += usize::from(id.is_some());
        out.push(id);
    }
    Ok(out)
}

/// The statement of [`overlapping_live`] on `backend`: 1 when the worker `$1` holds a live assignment whose
/// guard range meets `[$2, $3)`, else 0. Public so that a test can ask each backend for its plan.
pub fn overlap_check_sql(backend: super::Backend) -> String {
    // A 64-bit integer on both backends (`EXISTS` is a boolean on one, an integer on the other).
    format!(
        "SELECT CAST(CASE WHEN {} THEN 1 ELSE 0 END AS BIGINT)",
        live_meets("$1", "$2", "$3", backend == super::Backend::Postgres)
    )
}

/// Whether the worker holds a live assignment whose guard range meets `[guard_start, guard_end)`.
pub async fn overlapping_live(
    tx: &mut Tx,
    worker: i64,
    guard_start: i64,
    guard_end: i64,
) -> crate::Result<bool> {
    let (busy,): (i64,) = sqlx::query_as(q(overlap_check_sql(tx.backend())))
        .bind(worker)
        .bind(guard_start)
        .bind(guard_end)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(db_error)?;
    Ok(busy == 1)
}

/// Sets an assignment's status.
pub async fn set_assignment_status(
    tx: &mut Tx,
    id: i64,
    status: &str,
    now: i64,
) -> crate::Result<()> {
    sqlx::query("UPDATE assignments SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(tx.conn().await?)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The write of a check-in, conditional on the assignment still being confirmed: a [`Guard`] that changes
/// its row only then.
pub fn check_in_guard(
    id: i64,
    at: i64,
    late_minutes: i64,
    distance_m: f64,
    evidence: &str,
) -> Guard {
    Guard::new(
        "UPDATE assignments SET status = 'checked_in', checked_in_at = $1, late_minutes = $2, distance_m = $3, \
         check_in = $4, updated_at = $1 WHERE id = $5 AND status = 'confirmed'",
        vec![
            Param::Int(at),
            Param::Int(late_minutes),
            Param::Real(distance_m),
            Param::Text(evidence.to_string()),
            Param::Int(id),
        ],
    )
}

/// Records a check-out.
pub async fn check_out(
    tx: &mut Tx,
    id: i64,
    at: i64,
    worked_minutes: i64,
    evidence: &str,
    distance_m: Option<f64>,
) -> crate::Result<()> {
    sqlx::query(
        "UPDATE assignments SET status = 'completed', checked_out_at = $1, worked_minutes = $2, check_out = $3, \
         check_out_distance_m = $4, updated_at = $1 WHERE id = $5",
    )
    .bind(at)
    .bind(worked_minutes)
    .bind(evidence)
    .bind(distance_m)
    .bind(id)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// An assignment by id.
pub async fn assignment<'c, E: Executor<'c, Database = Any>>(
    e: E,
    id: i64,
) -> crate::Result<Option<AssignmentRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ASSIGNMENT_COLS} FROM assignments WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(e)
    .await
    .map_err(db_error)
}

/// The assignments of an order, in id order (a standby pool's floaters, whose rows name the pool's anchor
/// order, belong to the pool and are left out).
pub async fn assignments_of_order<'c, E: Executor<'c, Database = Any>>(
    e: E,
    order: i64,
) -> crate::Result<Vec<AssignmentRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ASSIGNMENT_COLS} FROM assignments WHERE order_id = $1 AND pool_id IS NULL ORDER BY id"
    )))
    .bind(order)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// A worker's assignments, newest first.
pub async fn assignments_of_worker<'c, E: Executor<'c, Database = Any>>(
    e: E,
    worker: i64,
) -> crate::Result<Vec<AssignmentRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ASSIGNMENT_COLS} FROM assignments WHERE worker_id = $1 ORDER BY id DESC LIMIT 500"
    )))
    .bind(worker)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Assignments that hold time from `since` on (the live state rebuilt at start; completed ones count
/// towards weekly hours).
pub async fn recent_assignments<'c, E: Executor<'c, Database = Any>>(
    e: E,
    since: i64,
) -> crate::Result<Vec<AssignmentRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ASSIGNMENT_COLS} FROM assignments WHERE end_at > $1 \
         AND status IN ('confirmed', 'checked_in', 'standby', 'completed') ORDER BY id"
    )))
    .bind(since)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Every offer of an order with an id above `after`, oldest first, at most `limit`.
pub async fn offers_of_order_page<'c, E: Executor<'c, Database = Any>>(
    e: E,
    order: i64,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<OfferRow>> {
    sqlx::query_as(q(format!(
        "SELECT {OFFER_COLS} FROM offers WHERE order_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )))
    .bind(order)
    .bind(after)
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// Filters of an agency's assignment list.
#[derive(Debug, Clone, Default)]
pub struct AssignmentFilter {
    /// Shifts ending after this instant, unix ms.
    pub from: Option<i64>,
    /// Shifts starting before this instant, unix ms.
    pub to: Option<i64>,
    /// One worker's.
    pub worker: Option<i64>,
    /// In this status.
    pub status: Option<String>,
}

/// An agency's assignments with an id above `after`, oldest first, filtered, at most `limit`.
pub async fn assignments_of_agency<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    f: &AssignmentFilter,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<AssignmentRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ASSIGNMENT_COLS} FROM assignments WHERE agency_id = $1 AND id > $2 \
         AND ($3 IS NULL OR end_at > $3) AND ($4 IS NULL OR start_at < $4) \
         AND ($5 IS NULL OR worker_id = $5) AND ($6 IS NULL OR status = $6) ORDER BY id LIMIT $7"
    )))
    .bind(agency)
    .bind(after)
    .bind(f.from)
    .bind(f.to)
    .bind(f.worker)
    .bind(f.status.clone())
    .bind(limit)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

/// An order at risk: since when (ms), why, and how many slots nothing covers.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RiskRow {
    /// Since when, in ms.
    pub since: i64,
    /// `no_candidates` or `quota_unreachable`.
    pub reason: String,
    /// Slots no accepted worker or pending offer covers.
    pub open_slots: i64,
}

/// The order's risk, if it is at risk.
pub async fn risk<'c, E: Executor<'c, Database = Any>>(
    e: E,
    order: i64,
) -> crate::Result<Option<RiskRow>> {
    sqlx::query_as("SELECT since, reason, open_slots FROM order_risks WHERE order_id = $1")
        .bind(order)
        .fetch_optional(e)
        .await
        .map_err(db_error)
}

/// Marks an order at risk, or updates its reason and open slots (keeping `since`); `None` clears it.
pub async fn set_risk(tx: &mut Tx, order: i64, risk: Option<&RiskRow>) -> crate::Result<()> {
    let q = match risk {
        None => sqlx::query("DELETE FROM order_risks WHERE order_id = $1").bind(order),
        Some(r) => sqlx::query(
            "INSERT INTO order_risks (order_id, since, reason, open_slots) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (order_id) DO UPDATE SET reason = excluded.reason, open_slots = excluded.open_slots",
        )
        .bind(order)
        .bind(r.since)
        .bind(r.reason.clone())
        .bind(r.open_slots),
    };
    q.execute(tx.conn().await?).await.map_err(db_error)?;
    Ok(())
}

/// The agency's orders, cancelled ones aside, whose shift overlaps `[from, to)` (unix ms), in id order: the
/// history of the demand forecast.
pub async fn demand_history<'c, E: Executor<'c, Database = Any>>(
    e: E,
    agency: i64,
    from: i64,
    to: i64,
) -> crate::Result<Vec<OrderRow>> {
    sqlx::query_as(q(format!(
        "SELECT {ORDER_COLS} FROM orders WHERE agency_id = $1 AND status <> 'cancelled' \
         AND end_at > $2 AND start_at < $3 ORDER BY id"
    )))
    .bind(agency)
    .bind(from)
    .bind(to)
    .fetch_all(e)
    .await
    .map_err(db_error)
}

#[cfg(test)]
mod tests {
    use super::{NewAssignments, insert_assignments};
    use crate::store::Store;

    /// Eight workers of one agency and two orders at the same hours, on a fresh SQLite file.
    async fn store_with_workers() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("book.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let conn = tx.conn().await.unwrap();
        sqlx::raw_sql(
            "INSERT INTO agencies (id, name, api_key_hash, created_at) VALUES (1, 'a', 'h', 0); \
             INSERT INTO orders (id, agency_id, client_ref, body, start_at, end_at, status, created_at, updated_at) \
             VALUES (1, 1, 'c', '{}', 36000000, 64800000, 'open', 0, 0), \
                    (2, 1, 'c', '{}', 36000000, 64800000, 'open', 0, 0);",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        for w in 1..=8 {
            sqlx::query(
                "INSERT INTO workers (id, agency_id, external_ref, profile, status, created_at, updated_at) \
                 VALUES ($1, 1, $2, '{}', 'active', 0, 0)",
            )
            .bind(w)
            .bind(format!("W-{w}"))
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        (dir, store)
    }

    fn shift(order: i64) -> NewAssignments<'static> {
        NewAssignments {
            order,
            agency: 1,
            kind: "shift",
            status: "confirmed",
            start_at: 36_000_000,
            end_at: 64_800_000,
            half_gap_ms: 0,
            now: 0,
        }
    }

    /// A crew booked with spares takes the first free candidates in order of preference, however the
    /// candidates' ids are ordered, and leaves the booked ones and the spares behind the crew alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_crew_with_spares_books_the_first_free_candidates_in_order_of_preference() {
        let (_dir, store) = store_with_workers().await;
        let mut tx = store.begin().await.unwrap();
        let first = insert_assignments(&mut tx, shift(1), &[(5, 0), (2, 0)], None)
            .await
            .unwrap();
        assert!(first.iter().all(Option::is_some), "{first:?}");
        // Workers 2 and 5 are booked at these hours; the best free three are 7, 3 and 8.
        let picks = [
            (7, 0),
            (2, 0),
            (5, 1),
            (3, 1),
            (8, 0),
            (1, 0),
            (4, 0),
            (6, 1),
        ];
        let booked = insert_assignments(&mut tx, shift(2), &picks, Some(3))
            .await
            .unwrap();
        let workers: Vec<i64> = picks
            .iter()
            .zip(&booked)
            .filter(|(_, id)| id.is_some())
            .map(|((w, _), _)| *w)
            .collect();
        assert_eq!(workers, vec![7, 3, 8], "{booked:?}");
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT worker_id, role_idx FROM assignments WHERE order_id = 2 ORDER BY id",
        )
        .fetch_all(tx.conn().await.unwrap())
        .await
        .unwrap();
        // Inserted in worker order, each with its own role.
        assert_eq!(rows, vec![(3, 1), (7, 0), (8, 0)]);
    }

    /// The index of a pool's floaters holds only assignments with a pool, and the lookups of a pool's floaters
    /// (by the pool, and by the pool of each pooled order) still go through it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_pools_floaters_are_read_through_an_index_of_pooled_assignments_only() {
        let (_dir, store) = store_with_workers().await;
        let mut tx = store.begin().await.unwrap();
        let conn = tx.conn().await.unwrap();
        let (partial,): (String,) = sqlx::query_as(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'assignments_by_pool'",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert!(partial.ends_with("WHERE pool_id IS NOT NULL"), "{partial}");
        for lookup in [
            "SELECT id FROM assignments WHERE pool_id = 1 AND status = 'standby' ORDER BY id",
            "SELECT p.id, (SELECT COUNT(*) FROM assignments a WHERE a.pool_id = p.id AND a.status = 'standby') \
             FROM standby_pools p WHERE p.id = 1",
        ] {
            let plan: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {lookup}")))
                    .fetch_all(&mut *conn)
                    .await
                    .unwrap();
            assert!(
                plan.iter().any(|(_, _, _, detail)| detail
                    .contains("USING INDEX assignments_by_pool")
                    || detail.contains("USING COVERING INDEX assignments_by_pool")),
                "{lookup}: {plan:?}"
            );
        }
    }
}
