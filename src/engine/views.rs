//! The views, derived from the log. Every in-memory view of a node — the worker index, the live state
//! (bookings, on-call windows, favourites, blocks, client experience), the token cache and the manual clock —
//! is changed only by applying events of the log, in log order, the same on every node: a node applies its own
//! commits at once (read-your-writes, [`Engine::committed`]) and everyone else's as its tailer reads them
//! ([`Engine::catch_up`], woken by PostgreSQL `NOTIFY`, with a slow poll as a safety net). At start the views are built from the tables, read in one snapshot together with the log's head.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Engine, from_ms, ms};
use crate::domain::{AgencyId, Interval, LatLon, OrderId, PoolId, Worker, WorkerId};
use crate::index::WorkerIndex;
use crate::matching::{Booking, LiveState, OnCall};
use crate::store::events::StoredEvent;
use crate::store::{self, Backend, Store, Tx};

/// Events read from the log per query while catching up.
const PAGE: i64 = 2_000;

/// How far back completed bookings are kept (they count towards the weekly hours cap).
pub(super) const BOOKINGS_KEPT: chrono::Duration = chrono::Duration::days(8);

/// The views as they stand in the database: what a node starts from.
pub(super) struct Rebuilt {
    pub index: WorkerIndex,
    pub live: LiveState,
    /// The log position the tables were read at.
    pub head: i64,
}

/// Builds the views from the tables and the log's head, read in one snapshot, so that applying the events
/// after `head` brings them up to date exactly.
pub(super) async fn rebuild(store: &Store, now: DateTime<Utc>) -> crate::Result<Rebuilt> {
    let mut conn = store.pool().acquire().await.map_err(store::db_error)?;
    match store.backend() {
        Backend::Postgres => {
            sqlx::query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *conn)
                .await
        }
        Backend::Sqlite => sqlx::query("BEGIN").execute(&mut *conn).await,
    }
    .map_err(store::db_error)?;
    let out = rebuild_in(&mut conn, now).await;
    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
    out
}

async fn rebuild_in(conn: &mut sqlx::AnyConnection, now: DateTime<Utc>) -> crate::Result<Rebuilt> {
    let (head,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(seq), 0) FROM events")
        .fetch_one(&mut *conn)
        .await
        .map_err(store::db_error)?;
    const WORKERS_PAGE: i64 = 10_000;
    let mut workers = Vec::new();
    let mut after = 0;
    loop {
        let rows = store::workers::page(&mut *conn, after, WORKERS_PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id.get() as i64;
        for r in &rows {
            workers.push(super::workers::from_row(r)?);
        }
    }
    let n = workers.len();
    let index = WorkerIndex::bulk_build(workers)?;
    tracing::info!(workers = n, head, "index built from the database");

    let mut live = LiveState::new();
    let since = ms(now - BOOKINGS_KEPT);
    let mut orders: HashMap<i64, crate::domain::Order> = HashMap::new();
    for a in store::orders::recent_assignments(&mut *conn, since).await? {
        if !orders.contains_key(&a.order_id)
            && let Some(row) = store::orders::order(&mut *conn, a.order_id).await?
        {
            orders.insert(a.order_id, super::orders::parse_row(&row)?);
        }
        if let Some(order) = orders.get(&a.order_id) {
            live.add_booking(
                WorkerId::new(a.worker_id as u64),
                Booking {
                    interval: order.shift,
                    order: order.id,
                    role: Some(a.role_idx as u32),
                    client_ref: order.client_ref.clone(),
                },
            );
        }
    }
    let rels: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT agency_id, client_ref, worker_id, favourite, blocked, completed FROM client_relations",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(store::db_error)?;
    for (agency, client, worker, fav, blocked, completed) in rels {
        let (a, w) = (AgencyId::new(agency as u64), WorkerId::new(worker as u64));
        live.set_favourite(a, &client, w, fav != 0);
        live.set_blocked(a, &client, w, blocked != 0);
        live.set_client_experience(w, &client, completed as u32);
    }
    let on_call: Vec<(i64, i64, i64, f64, f64, f64)> = sqlx::query_as(
        "SELECT worker_id, start_at, end_at, lat, lon, radius_km FROM on_call WHERE end_at > $1",
    )
    .bind(ms(now))
    .fetch_all(&mut *conn)
    .await
    .map_err(store::db_error)?;
    for (worker, start, end, lat, lon, radius_km) in on_call {
        if let (Ok(interval), Ok(center)) = (
            Interval::new(from_ms(start), from_ms(end)),
            LatLon::new(lat, lon),
        ) {
            live.add_on_call(
                WorkerId::new(worker as u64),
                OnCall {
                    interval,
                    center,
                    radius_km,
                },
            );
        }
    }
    Ok(Rebuilt { index, live, head })
}

/// One change to the index, in log order.
enum IndexOp {
    /// A profile written (terms may have changed).
    Upsert(Worker),
    /// Only the record or the status changed.
    Record(Worker),
    /// Deleted.
    Remove(WorkerId),
}

/// The digests of a node's views against the same views rebuilt from the database.
#[derive(Debug, Clone)]
pub struct ViewsReport {
    /// The last log position this node has applied.
    pub applied_seq: i64,
    /// The log position the database was read at for the rebuild.
    pub head_seq: i64,
    /// Events this node has applied since it started.
    pub applied_events: u64,
    /// Events the log holds above the position this node started at.
    pub logged_events: u64,
    /// Digests of this node's views, by name.
    pub views: Vec<(&'static str, String)>,
    /// Digests of the views rebuilt from the database.
    pub rebuilt: Vec<(&'static str, String)>,
}

impl ViewsReport {
    /// Whether every view equals its rebuild and every event was applied once.
    pub fn equal(&self) -> bool {
        self.views == self.rebuilt && self.applied_events == self.logged_events
    }
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn index_digest(index: &WorkerIndex) -> String {
    let mut h = Sha256::new();
    for w in index.workers() {
        h.update(format!("{w:?}\n").as_bytes());
    }
    hex::encode(h.finalize())
}

fn text<'a>(p: &'a Value, k: &str) -> &'a str {
    p.get(k).and_then(Value::as_str).unwrap_or("")
}

impl Engine {
    /// Commits a transaction and applies what it wrote to this node's views before answering, so the caller
    /// reads its own writes. Events of other nodes that committed before it are applied first, in log order.
    pub(super) async fn committed(&self, tx: Tx) -> crate::Result<()> {
        let events = tx.commit().await?;
        self.absorb(events).await;
        Ok(())
    }

    /// Runs a command whose one write is `guard` ([`store::Store::write_if`]) and applies what was written:
    /// `false` when the guard changed no row and nothing was kept.
    pub(super) async fn written_if(
        &self,
        guard: store::events::Guard,
        events: Vec<store::events::NewEvent>,
    ) -> crate::Result<bool> {
        match self.store.write_if(guard, events).await? {
            Some(events) => {
                self.absorb(events).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Applies events this node has just committed (and, first, any that precede them in the log).
    pub(crate) async fn absorb(&self, events: Vec<StoredEvent>) {
        let Some(last) = events.last().map(|e| e.seq) else {
            return;
        };
        let mut cursor = self.log.lock().await;
        if *cursor >= last {
            return;
        }
        let first = events[0].seq;
        if first > *cursor + 1 {
            // Others committed before us: every event below ours is final, read them from the log.
            if let Err(e) = self.catch_up_locked(&mut cursor, Some(first - 1)).await {
                tracing::error!(error = %e, "reading the log before our own events failed");
            }
        }
        let fresh: Vec<StoredEvent> = events.into_iter().filter(|e| e.seq > *cursor).collect();
        self.apply_events(&fresh);
        *cursor = last;
        self.set_applied(last);
    }

    /// Ends a keyed request: writes its key and response in the transaction its commands share, commits,
    /// and applies what it wrote. `false` when another request with the same key finished first (nothing of
    /// this one is kept).
    pub async fn finish_keyed(
        &self,
        scope: &store::idempotency::KeyScope,
        status: u16,
        body: &str,
    ) -> crate::Result<bool> {
        let now = ms(self.now());
        match store::idempotency::finish(&self.store, scope, status, body, now).await? {
            Some(events) => {
                self.absorb(events).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Applies every event after this node's position in the log; answers how many.
    pub async fn catch_up(&self) -> crate::Result<usize> {
        let mut cursor = self.log.lock().await;
        self.catch_up_locked(&mut cursor, None).await
    }

    async fn catch_up_locked(&self, cursor: &mut i64, until: Option<i64>) -> crate::Result<usize> {
        let mut n = 0;
        loop {
            let mut page = store::events::read(self.store.pool(), *cursor, PAGE).await?;
            if let Some(u) = until {
                page.retain(|e| e.seq <= u);
            }
            let Some(last) = page.last().map(|e| e.seq) else {
                break;
            };
            if until.is_none() {
                // Another node's commit may be visible before it is on disk (see `store::Tx`): apply only
                // what a crash cannot take back. (Events below a commit of our own are durable with it.)
                self.store.flush().await?;
            }
            self.apply_events(&page);
            n += page.len();
            *cursor = last;
            self.set_applied(last);
            if (page.len() as i64) < PAGE || until.is_some_and(|u| last >= u) {
                break;
            }
        }
        if let Some(u) = until
            && *cursor < u
        {
            // Positions left by transactions that rolled back are never filled.
            *cursor = u;
            self.set_applied(u);
        }
        Ok(n)
    }

    /// Moves this node's position in the log and wakes every reader waiting on it (see [`Engine::watch_log`]).
    fn set_applied(&self, seq: i64) {
        self.applied.store(seq, Ordering::SeqCst);
        self.log_head.send_if_modified(|v| {
            let moved = *v < seq;
            if moved {
                *v = seq;
            }
            moved
        });
    }

    /// A receiver that changes whenever this node has applied more of the log: the outward feeds (the events
    /// stream, webhooks) wait on it instead of polling. Its value is [`Engine::applied_seq`].
    pub fn watch_log(&self) -> tokio::sync::watch::Receiver<i64> {
        self.log_head.subscribe()
    }

    /// How many events this node has applied since it started.
    pub fn applied_events(&self) -> u64 {
        self.applied_events.load(Ordering::SeqCst)
    }

    /// The last log position this node has applied to its views.
    pub fn applied_seq(&self) -> i64 {
        self.applied.load(Ordering::SeqCst)
    }

    /// Applies events, in order, to every view.
    fn apply_events(&self, events: &[StoredEvent]) {
        self.applied_events
            .fetch_add(events.len() as u64, Ordering::SeqCst);
        let mut ops: Vec<IndexOp> = Vec::new();
        {
            let mut live = self.live.write().expect("live state lock");
            for e in events {
                self.apply_event(e, &mut live, &mut ops);
            }
        }
        self.apply_index(ops);
    }

    fn apply_event(&self, e: &StoredEvent, live: &mut LiveState, ops: &mut Vec<IndexOp>) {
        let p = &e.payload;
        let agency = e.agency.map(|a| AgencyId::new(a as u64));
        let worker = || text(p, "worker").parse::<WorkerId>().ok();
        match e.kind.as_str() {
            "worker_created" | "worker_updated" | "availability_set" => {
                match agency.and_then(|a| crate::wire::worker::worker_of_event(p, a)) {
                    Some(w) => ops.push(IndexOp::Upsert(w)),
                    None => tracing::error!(seq = e.seq, "a worker event the index cannot apply"),
                }
            }
            "worker_stats" | "worker_status" => {
                let record: Option<crate::wire::worker::RecordBody> = p
                    .get("record")
                    .and_then(|r| serde_json::from_value(r.clone()).ok());
                if let (Some(id), Some((status, stats))) =
                    (worker(), record.as_ref().and_then(|r| r.parts()))
                    && let Some(mut w) = latest(ops, &self.index, id)
                {
                    w.status = status;
                    w.stats = stats;
                    ops.push(IndexOp::Record(w));
                }
            }
            "worker_deleted" => {
                if let Some(id) = worker() {
                    ops.push(IndexOp::Remove(id));
                    self.forget_tokens();
                }
            }
            // A new app token: the old one stops working on every node.
            "worker_token_issued" | "agency_key_revoked" | "client_link_revoked" => {
                self.forget_tokens()
            }
            "assignment_made" => {
                let live_status =
                    matches!(text(p, "status"), "confirmed" | "standby" | "checked_in");
                let interval = Interval::new(
                    from_ms(p.get("start").and_then(Value::as_i64).unwrap_or(0)),
                    from_ms(p.get("end").and_then(Value::as_i64).unwrap_or(0)),
                );
                if let (true, Some(w), Ok(order), Ok(interval)) = (
                    live_status,
                    worker(),
                    text(p, "order").parse::<OrderId>(),
                    interval,
                ) {
                    live.add_booking(
                        w,
                        Booking {
                            interval,
                            order,
                            role: p.get("role_idx").and_then(Value::as_u64).map(|r| r as u32),
                            client_ref: text(p, "client_ref").to_string(),
                        },
                    );
                }
            }
            "assignment_ended" => {
                if let (Some(w), Ok(order)) = (worker(), text(p, "order").parse::<OrderId>()) {
                    live.remove_booking(w, order);
                }
            }
            "checked_out" => {
                if let Some(w) = worker() {
                    live.record_completed(w, text(p, "client_ref"));
                }
            }
            "pool_set" => {
                if let (Some(a), Ok(id)) = (agency, text(p, "pool").parse::<PoolId>()) {
                    let workers = p
                        .get("workers")
                        .and_then(Value::as_array)
                        .map(|ws| {
                            ws.iter()
                                .filter_map(|w| w.as_str()?.parse::<WorkerId>().ok())
                                .collect()
                        })
                        .unwrap_or_default();
                    live.set_pool(a, id, workers);
                }
            }
            "pool_deleted" => {
                if let Ok(id) = text(p, "pool").parse::<PoolId>() {
                    live.remove_pool(id);
                }
            }
            "sla_tiers_set" | "client_tier_set" => self.forget_tiers(),
            "client_lists_set" => {
                if let (Some(a), Some(w)) = (agency, worker()) {
                    let client = text(p, "client_ref");
                    let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
                    live.set_favourite(a, client, w, flag("favourite"));
                    live.set_blocked(a, client, w, flag("blocked"));
                }
            }
            "rated" => {
                let stars = p.get("stars").and_then(Value::as_u64).unwrap_or(0);
                if let (Some(a), Some(w), true) = (agency, worker(), stars == 5 || stars == 1) {
                    let client = text(p, "client_ref");
                    live.set_favourite(a, client, w, stars == 5);
                    live.set_blocked(a, client, w, stars == 1);
                }
            }
            "on_call_joined" | "on_call_left" => {
                let num = |k: &str| p.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
                let window = Interval::new(
                    from_ms(p.get("start").and_then(Value::as_i64).unwrap_or(0)),
                    from_ms(p.get("end").and_then(Value::as_i64).unwrap_or(0)),
                );
                if let (Some(w), Ok(interval), Ok(center)) =
                    (worker(), window, LatLon::new(num("lat"), num("lon")))
                {
                    let window = OnCall {
                        interval,
                        center,
                        radius_km: num("radius_km"),
                    };
                    if e.kind == "on_call_joined" {
                        live.add_on_call(w, window);
                    } else {
                        live.remove_on_call(w, &window);
                    }
                }
            }
            "order_patched" => {
                if let Ok(order) = text(p, "order").parse::<OrderId>() {
                    self.order_generation.fetch_add(1, Ordering::SeqCst);
                    self.orders.invalidate(&(order.get() as i64));
                }
            }
            "clock_set" => {
                if self.clock.is_manual()
                    && let Some(to) = p.get("now").and_then(Value::as_i64).map(from_ms)
                    && to > self.clock.now()
                {
                    let _ = self.clock.set(to);
                }
            }
            _ => {}
        }
    }

    fn apply_index(&self, ops: Vec<IndexOp>) {
        let mut ops = ops.into_iter().peekable();
        while let Some(op) = ops.next() {
            let result = match op {
                IndexOp::Upsert(w) => {
                    let mut batch = vec![w];
                    while let Some(IndexOp::Upsert(_)) = ops.peek() {
                        if let Some(IndexOp::Upsert(w)) = ops.next() {
                            batch.push(w);
                        }
                    }
                    self.index.upsert_many(batch)
                }
                IndexOp::Record(w) => {
                    let mut batch = vec![w];
                    while let Some(IndexOp::Record(_)) = ops.peek() {
                        if let Some(IndexOp::Record(w)) = ops.next() {
                            batch.push(w);
                        }
                    }
                    self.index.update_records(batch)
                }
                IndexOp::Remove(id) => self.index.remove(id).map(|_| ()),
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "applying the log to the index failed");
            }
        }
    }

    /// Digests of this node's views beside the same views rebuilt from the database now. The node first
    /// applies the log up to the position the database was read at, so on a quiet system both sides hold the
    /// same events.
    pub async fn views_report(&self) -> crate::Result<ViewsReport> {
        let now = self.now();
        let rebuilt = rebuild(&self.store, now).await?;
        let mut cursor = self.log.lock().await;
        if *cursor < rebuilt.head {
            self.catch_up_locked(&mut cursor, Some(rebuilt.head))
                .await?;
        }
        let since = now - BOOKINGS_KEPT;
        let views = {
            let live = self.live.read().expect("live state lock");
            vec![
                ("index", index_digest(&self.index)),
                ("live", digest(&live.canonical(since, now))),
            ]
        };
        let rebuilt_digests = vec![
            ("index", index_digest(&rebuilt.index)),
            ("live", digest(&rebuilt.live.canonical(since, now))),
        ];
        let (logged,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM events WHERE seq > $1 AND seq <= $2")
                .bind(self.started_at)
                .bind(*cursor)
                .fetch_one(self.store.pool())
                .await
                .map_err(store::db_error)?;
        Ok(ViewsReport {
            applied_seq: *cursor,
            head_seq: rebuilt.head,
            applied_events: self.applied_events(),
            logged_events: logged as u64,
            views,
            rebuilt: rebuilt_digests,
        })
    }
}

/// The worker as the ops so far leave it, else as the index holds it.
fn latest(ops: &[IndexOp], index: &WorkerIndex, id: WorkerId) -> Option<Worker> {
    for op in ops.iter().rev() {
        match op {
            IndexOp::Upsert(w) | IndexOp::Record(w) if w.id == id => return Some(w.clone()),
            IndexOp::Remove(r) if *r == id => return None,
            _ => {}
        }
    }
    index.get(id).map(|w| (*w).clone())
}

/// Keeps a node's views current with what other nodes write: woken by PostgreSQL `NOTIFY` on `crewcall_log`
/// and polling every `poll` in case a notification was lost (on SQLite, where one process is the only writer
/// and applies its own commits at once, the poll only picks up what a `crewcall import` beside it wrote).
pub fn spawn_tailer(engine: std::sync::Arc<Engine>, database_url: String, poll: Duration) {
    tokio::spawn(async move {
        let mut listener = None;
        loop {
            if engine.store.backend() == Backend::Postgres && listener.is_none() {
                match sqlx::postgres::PgListener::connect(&database_url).await {
                    Ok(mut l) => match l.listen("crewcall_log").await {
                        Ok(()) => listener = Some(l),
                        Err(e) => tracing::warn!(error = %e, "LISTEN crewcall_log failed"),
                    },
                    Err(e) => tracing::warn!(error = %e, "connecting the log listener failed"),
                }
            }
            // Catch up after (re)connecting too: notifications sent while not listening are gone.
            if let Err(e) = engine.catch_up().await {
                tracing::warn!(error = %e, "tailing the log failed");
            }
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        n = l.try_recv() => match n {
                            Ok(Some(_)) => {
                                // One read of the log answers every notification already here.
                                while l.next_buffered().is_some() {}
                            }
                            Ok(None) | Err(_) => listener = None,
                        },
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
                None => tokio::time::sleep(poll).await,
            }
        }
    });
}
