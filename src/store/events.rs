//! The event log: every state change, appended in the same transaction as the rows it changes, in commit
//! order (see [`super::Tx`]). Every in-memory view and every outward feed is a reader of this log.

use super::{Later, Tx, db_error};
use sqlx::AnyPool;

/// An event not yet written: it gets its position in the log when its transaction commits.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// When it happened, unix milliseconds.
    pub at_ms: i64,
    /// The agency it concerns, if any.
    pub agency: Option<i64>,
    /// Its kind.
    pub kind: String,
    /// Its data.
    pub payload: serde_json::Value,
}

/// Appends one event to the transaction's events (written at commit).
pub async fn append(
    tx: &mut Tx,
    at_ms: i64,
    agency: Option<u64>,
    kind: &str,
    payload: &serde_json::Value,
) -> crate::Result<()> {
    tx.push_event(NewEvent {
        at_ms,
        agency: agency.map(|a| a as i64),
        kind: kind.to_string(),
        payload: payload.clone(),
    });
    Ok(())
}

/// The worker an event concerns, from its `worker` field (`wrk_…`): kept in a column of its own, so a worker's
/// feed is an index lookup.
fn worker_of(payload: &serde_json::Value) -> Option<i64> {
    payload
        .get("worker")
        .and_then(|w| w.as_str())
        .and_then(|w| w.parse::<crate::domain::WorkerId>().ok())
        .map(|w| w.get() as i64)
}

/// Rows per `INSERT` (five parameters each, well under either backend's limit).
const WRITE_CHUNK: usize = 1_000;

/// Writes events in order, commits the transaction and answers the events with their positions (PostgreSQL's;
/// on SQLite the writer counts them, see `group`). Each statement first runs `before`, a query of one row
/// (taking the log's lock, say), once, ahead of its first row: what must precede the events goes with them.
///
/// The last statement and the `COMMIT` go to the server in one round trip, so a lock `before` takes is held
/// only while the server runs them, never while the answer travels back to this node and the commit travels
/// out again: under load that wait is the node's turn for a core, and every other writer of the log would
/// queue behind it. That statement carries its values as literals (one query of several statements takes no
/// parameters); a new transaction is opened after the commit, for the caller's own `COMMIT` to end. Without
/// events nothing is written or committed here, and the caller's `COMMIT` ends the transaction itself.
pub(super) async fn write_and_commit(
    conn: &mut sqlx::AnyConnection,
    events: Vec<NewEvent>,
    before: &str,
) -> crate::Result<Vec<StoredEvent>> {
    let mut out = Vec::with_capacity(events.len());
    let chunks: Vec<&[NewEvent]> = events.chunks(WRITE_CHUNK).collect();
    let Some((last, first)) = chunks.split_last() else {
        return Ok(out);
    };
    // An uncorrelated scalar subquery in `WHERE` is evaluated once, before any row is produced, so the
    // positions are taken after it.
    let insert = |rows: &str| {
        format!(
            "INSERT INTO events (at, agency_id, kind, payload, worker_id) \
             SELECT * FROM (VALUES {rows}) AS v WHERE (SELECT true FROM ({before}) AS b) \
             RETURNING seq"
        )
    };
    for chunk in first {
        let sql = insert(&event_rows(0, chunk.len()));
        let texts: Vec<String> = chunk.iter().map(|e| e.payload.to_string()).collect();
        let q = sqlx::query_as::<_, (i64,)>(sqlx::AssertSqlSafe(sql));
        let seqs = bind_events(q, chunk, &texts)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error)?
            .into_iter()
            .map(|(s,)| s)
            .collect();
        out.extend(stored_as(chunk.to_vec(), sorted(seqs)));
    }
    let sql = format!("{}; COMMIT; BEGIN", insert(&literal_rows(last)?));
    let seqs = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error)?
        .iter()
        .map(|row| sqlx::Row::try_get::<i64, _>(row, 0))
        .collect::<Result<Vec<i64>, _>>()
        .map_err(db_error)?;
    out.extend(stored_as(last.to_vec(), sorted(seqs)));
    Ok(out)
}

/// Positions in order: rows of one statement take their numbers in the order of the `VALUES` list, while the
/// order of `RETURNING` rows is not promised.
fn sorted(mut seqs: Vec<i64>) -> Vec<i64> {
    seqs.sort_unstable();
    seqs
}

/// The `VALUES` rows of `events` as PostgreSQL literals, each typed as its column.
fn literal_rows(events: &[NewEvent]) -> crate::Result<String> {
    let int =
        |v: Option<i64>| v.map_or_else(|| "NULL::bigint".to_string(), |v| format!("{v}::bigint"));
    let mut rows = Vec::with_capacity(events.len());
    for e in events {
        rows.push(format!(
            "({}, {}, {}, {}, {})",
            int(Some(e.at_ms)),
            int(e.agency),
            text_literal(&e.kind)?,
            text_literal(&e.payload.to_string())?,
            int(worker_of(&e.payload)),
        ));
    }
    Ok(rows.join(", "))
}

/// `text` as a PostgreSQL escape-string literal (`E'…'`), read the same whatever
/// `standard_conforming_strings` says: backslashes and quotes doubled. A text holding NUL has no literal (nor
/// can PostgreSQL store it).
fn text_literal(text: &str) -> crate::Result<String> {
    if text.contains('\0') {
        return Err(crate::Error::Internal(
            "an event's text holds the NUL character".into(),
        ));
    }
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str("E'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            c => out.push(c),
        }
    }
    out.push_str("'::text");
    Ok(out)
}

/// A conditional write that a command's events depend on: one statement that must change exactly one row
/// (an `UPDATE … WHERE status = 'confirmed'`, say), its parameters numbered from `$1`. The command's events are
/// written only if it did; on SQLite the statement, the events and what follows them go in one round trip.
#[derive(Debug, Clone)]
pub struct Guard {
    sql: &'static str,
    params: Vec<Param>,
}

/// A parameter of a [`Guard`].
#[derive(Debug, Clone)]
pub enum Param {
    /// An integer.
    Int(i64),
    /// A real number.
    Real(f64),
    /// A text.
    Text(String),
    /// No value (SQL `NULL`).
    Null,
}

impl Guard {
    /// A guard of one statement and its parameters, in the order of their numbers.
    pub fn new(sql: &'static str, params: Vec<Param>) -> Self {
        Guard { sql, params }
    }

    /// Runs the statement now: whether it changed exactly one row.
    pub async fn run(&self, conn: &mut sqlx::AnyConnection) -> crate::Result<bool> {
        let r = execute(conn, self.sql.to_string(), &self.params).await?;
        Ok(r.rows_affected() == 1)
    }

    /// Whether the guard and `events` fit in one statement list (one chunk of events).
    pub(super) fn fits(events: &[NewEvent]) -> bool {
        !events.is_empty() && events.len() <= WRITE_CHUNK
    }
}

/// Guarded writes of several commands, each with its events, in one statement list and one round trip,
/// after `first` (statements ended by `; `, their parameters numbered first); answers the
/// positions of each command's events, in order, or `None` where its guard changed no row and nothing of it
/// was written. Each command's events are inserted only if its guard changed exactly
/// one row (SQLite's `changes()`, the count of the statement completed last). Every guard needs
/// [`Guard::fits`]; their parameters are numbered again to follow each other.
pub(super) async fn write_guarded(
    conn: &mut sqlx::AnyConnection,
    first: &Later,
    writes: &[(&Guard, &[NewEvent])],
) -> crate::Result<Vec<Option<Vec<i64>>>> {
    let mut sql = first.sql.clone();
    let mut before = first.params.len();
    for (i, (guard, events)) in writes.iter().enumerate() {
        debug_assert!(Guard::fits(events));
        sql.push_str(&renumber(guard.sql, before));
        before += guard.params.len();
        sql.push_str(&format!(
            "; INSERT INTO events (at, agency_id, kind, payload, worker_id) SELECT * FROM (VALUES {}) \
             WHERE changes() = 1 RETURNING seq, {i}; ",
            event_rows(before, events.len())
        ));
        before += 5 * events.len();
    }
    let texts: Vec<Vec<String>> = writes
        .iter()
        .map(|(_, events)| events.iter().map(|e| e.payload.to_string()).collect())
        .collect();
    let mut q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql));
    for p in &first.params {
        q = bind_param_as(q, p);
    }
    for ((guard, events), texts) in writes.iter().zip(&texts) {
        for p in &guard.params {
            q = bind_param_as(q, p);
        }
        q = bind_events(q, events, texts);
    }
    let mut seqs: Vec<Vec<i64>> = vec![Vec::new(); writes.len()];
    for (seq, i) in q.fetch_all(&mut *conn).await.map_err(db_error)? {
        seqs[i as usize].push(seq);
    }
    writes
        .iter()
        .zip(seqs)
        .map(|((_, events), mut seqs)| {
            if seqs.is_empty() {
                return Ok(None);
            }
            if seqs.len() != events.len() {
                return Err(crate::Error::Internal(format!(
                    "{} of {} events written behind a guard",
                    seqs.len(),
                    events.len()
                )));
            }
            seqs.sort_unstable();
            Ok(Some(seqs))
        })
        .collect()
}

/// Events with the positions the log gave them, in order.
pub(super) fn stored_as(events: Vec<NewEvent>, seqs: Vec<i64>) -> Vec<StoredEvent> {
    events
        .into_iter()
        .zip(seqs)
        .map(|(e, seq)| StoredEvent {
            seq,
            at_ms: e.at_ms,
            agency: e.agency,
            kind: e.kind,
            payload: e.payload,
        })
        .collect()
}

/// Events per statement of [`owe_events`] (six parameters each).
pub(super) const OWED_CHUNK: usize = 500;

/// Appends to `owed` the statement that writes `events` (at most [`OWED_CHUNK`]) at the positions from
/// `first_seq` on, given by the writer that counts them (SQLite's; see `group`): such a statement answers
/// nothing, so it can go to the database in front of a later one.
pub(super) fn owe_events(owed: &mut Later, first_seq: i64, events: &[NewEvent]) {
    debug_assert!(events.len() <= OWED_CHUNK);
    let before = owed.params.len();
    let rows = (0..events.len())
        .map(|i| {
            let b = before + i * 6;
            format!(
                "(${}, ${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    owed.sql.push_str(&format!(
        "INSERT INTO events (seq, at, agency_id, kind, payload, worker_id) VALUES {rows}; "
    ));
    let or_null = |v: Option<i64>| v.map_or(Param::Null, Param::Int);
    for (i, e) in events.iter().enumerate() {
        owed.params.extend([
            Param::Int(first_seq + i as i64),
            Param::Int(e.at_ms),
            or_null(e.agency),
            Param::Text(e.kind.clone()),
            Param::Text(e.payload.to_string()),
            or_null(worker_of(&e.payload)),
        ]);
    }
}

/// Runs `sql` (one statement or several) with `params`, numbered in one sequence.
pub(crate) async fn execute(
    conn: &mut sqlx::AnyConnection,
    sql: String,
    params: &[Param],
) -> crate::Result<sqlx::any::AnyQueryResult> {
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for p in params {
        q = match p {
            Param::Int(v) => q.bind(*v),
            Param::Real(v) => q.bind(*v),
            Param::Text(v) => q.bind(v.clone()),
            Param::Null => q.bind(None::<i64>),
        };
    }
    q.execute(conn).await.map_err(db_error)
}

/// Binds one parameter, to a query answering rows of `O`.
pub(crate) fn bind_param_as<'q, O>(
    q: sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>,
    p: &Param,
) -> sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments> {
    match p {
        Param::Int(v) => q.bind(*v),
        Param::Real(v) => q.bind(*v),
        Param::Text(v) => q.bind(v.clone()),
        Param::Null => q.bind(None::<i64>),
    }
}

/// `sql` with each parameter `$n` numbered `$(n + by)` (the statement has no other `$`).
pub(crate) fn renumber(sql: &str, by: usize) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: usize = rest[..digits]
            .parse()
            .expect("a guard's parameters are numbered");
        out.push_str(&(n + by).to_string());
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// The `VALUES` rows of `rows` events, five parameters each, numbered after the first `before`.
fn event_rows(before: usize, rows: usize) -> String {
    (0..rows)
        .map(|i| {
            let b = before + i * 5;
            format!(
                "(${}, ${}, ${}, ${}, ${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

type EventInsert<'q, O> = sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments>;

/// Binds the columns of each event, in the order of [`event_rows`]; `texts` are their payloads as text.
fn bind_events<'q, O>(
    mut q: EventInsert<'q, O>,
    events: &'q [NewEvent],
    texts: &'q [String],
) -> EventInsert<'q, O> {
    for (e, text) in events.iter().zip(texts) {
        q = q
            .bind(e.at_ms)
            .bind(e.agency)
            .bind(&e.kind)
            .bind(text)
            .bind(worker_of(&e.payload));
    }
    q
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

/// Reads events after `after_seq`, oldest first. Because appends commit in log order, what this answers is
/// final: no event below the last one answered can appear later.
pub async fn read(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    after_seq: i64,
    limit: i64,
) -> crate::Result<Vec<StoredEvent>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, at, agency_id, kind, payload FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(stored).collect())
}

/// A row of `SELECT seq, at, agency_id, kind, payload`.
type Row = (i64, i64, Option<i64>, String, String);

fn stored((seq, at_ms, agency, kind, payload): Row) -> StoredEvent {
    StoredEvent {
        seq,
        at_ms,
        agency,
        kind,
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
    }
}

/// The position of the last event in the log (0 when it is empty).
pub async fn head(pool: &AnyPool) -> crate::Result<i64> {
    let (seq,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(pool)
        .await
        .map_err(db_error)?;
    Ok(seq)
}

/// An agency's events after `after_seq`, oldest first, at most `limit` (the agency's feed).
pub async fn read_agency(
    pool: &AnyPool,
    agency: i64,
    after_seq: i64,
    limit: i64,
) -> crate::Result<Vec<StoredEvent>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT seq, at, agency_id, kind, payload FROM events WHERE agency_id = $1 AND seq > $2 \
         ORDER BY seq LIMIT $3",
    )
    .bind(agency)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(stored).collect())
}

/// A worker's events after `after_seq` of the given kinds, oldest first, at most `limit` (the worker's feed).
pub async fn read_worker(
    pool: &AnyPool,
    worker: i64,
    kinds: &[&str],
    after_seq: i64,
    limit: i64,
) -> crate::Result<Vec<StoredEvent>> {
    let list = kinds
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT seq, at, agency_id, kind, payload FROM events WHERE worker_id = $1 AND seq > $2 \
             AND kind IN ({list}) ORDER BY seq LIMIT $3"
    )))
    .bind(worker)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await
    .map_err(db_error)?;
    Ok(rows.into_iter().map(stored).collect())
}
