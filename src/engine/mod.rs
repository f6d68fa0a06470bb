//! The engine: the state machine that ties the core together. A command comes in, the engine decides using the
//! index, matching, assignment and dispatch, the store writes the events and the rows they change in one
//! transaction, and only after the commit is the in-memory state (index, live bookings) updated.
//!
//! State-changing commands are serialised by one write lock per process; reads go to the database or the
//! in-memory index directly. The database enforces the invariants too, so a second node cannot break them.

mod agencies;
mod attendance;
mod auth;
mod me;
mod offers;
mod orders;
pub mod sim_support;
mod timers;
mod tokens;
mod workers;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use attendance::{Attendance, NoShowPolicy, ReviewRow};
pub use auth::Principal;
pub use offers::{Actor, cancellation_weight};
pub use orders::{OrderFilter, OrderState, order_id};
pub use workers::{Imported, Upserted};

use crate::clock::Clock;
use crate::index::WorkerIndex;
use crate::matching::{LiveState, Policy};
use crate::store::{self, Store};

/// The engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    write: tokio::sync::Mutex<()>,
    admin_token_hash: String,
    index: WorkerIndex,
    live: std::sync::RwLock<LiveState>,
    policy: Policy,
    no_show_policy: attendance::NoShowPolicy,
    /// Orders' no-show graces in ms, by order id (immutable once posted).
    graces: moka::sync::Cache<i64, i64>,
    /// Bumped each time a command takes the write lock: a watcher that saw the same value saw every change.
    epoch: std::sync::atomic::AtomicU64,
}

/// What the engine needs to start.
#[derive(Debug, Clone, Default)]
pub struct EngineConfig {
    /// The admin token from the environment, if the operator set one.
    pub admin_token: Option<String>,
    /// Minimum rest between two shifts of a worker; the policy's default (8 hours) when absent.
    pub rest_gap: Option<chrono::Duration>,
    /// When repeated no-shows suspend a worker.
    pub no_show_policy: attendance::NoShowPolicy,
}

/// What starting the engine produced that the operator must see once.
pub struct Started {
    /// The engine.
    pub engine: Arc<Engine>,
    /// An admin token generated at this first start (printed once, stored hashed).
    pub generated_admin_token: Option<String>,
}

impl Engine {
    /// Starts the engine over a migrated store: sets up the admin token and rebuilds in-memory state.
    pub async fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
    ) -> crate::Result<Started> {
        let (admin_token_hash, generated) = auth::admin_token(&store, config.admin_token).await?;
        let index = rebuild_index(&store).await?;
        let mut policy = Policy::default();
        if let Some(gap) = config.rest_gap {
            policy.rest_gap = gap;
        }
        let live = rebuild_live(&store, clock.now(), &policy).await?;
        let engine = Arc::new(Engine {
            store,
            clock,
            write: tokio::sync::Mutex::new(()),
            admin_token_hash,
            index,
            live: std::sync::RwLock::new(live),
            policy,
            no_show_policy: config.no_show_policy,
            graces: moka::sync::Cache::new(100_000),
            epoch: std::sync::atomic::AtomicU64::new(0),
        });
        Ok(Started {
            engine,
            generated_admin_token: generated,
        })
    }

    /// The current instant by the engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// Takes the write lock that serialises state-changing commands, and marks a possible change.
    async fn write_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        let guard = self.write.lock().await;
        self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        guard
    }

    /// A number that grows whenever a command may have changed something: reading the same value twice
    /// means nothing was written in between.
    pub fn write_epoch(&self) -> u64 {
        self.epoch.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The store (for the HTTP layer's idempotency keys and health checks).
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Reads every live worker from the database into a fresh index: the database is the truth, the index a
/// projection of it that each node keeps in memory.
async fn rebuild_index(store: &Store) -> crate::Result<WorkerIndex> {
    const PAGE: i64 = 10_000;
    let mut workers = Vec::new();
    let mut after = 0;
    loop {
        let rows = store::workers::page(store.pool(), after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.id.get() as i64;
        for r in &rows {
            workers.push(workers::from_row(r)?);
        }
    }
    let n = workers.len();
    let index = WorkerIndex::bulk_build(workers)?;
    tracing::info!(workers = n, "index rebuilt from the database");
    Ok(index)
}

/// Rebuilds the live state from the database: bookings of live and recently completed assignments (the
/// latter count towards weekly hours), client favourites, blocks and experience.
async fn rebuild_live(
    store: &Store,
    now: DateTime<Utc>,
    _policy: &Policy,
) -> crate::Result<LiveState> {
    let mut live = LiveState::new();
    let since = ms(now - chrono::Duration::days(8));
    let mut orders: std::collections::HashMap<i64, crate::domain::Order> = Default::default();
    for a in store::orders::recent_assignments(store.pool(), since).await? {
        if let std::collections::hash_map::Entry::Vacant(e) = orders.entry(a.order_id)
            && let Some(row) = store::orders::order(store.pool(), a.order_id).await?
        {
            e.insert(orders::parse_row(&row)?);
        }
        if let Some(order) = orders.get(&a.order_id) {
            let mut c = orders::Changes::default();
            c.book(a.worker_id, order, a.role_idx as usize);
            let _ = c.apply(&mut live);
        }
    }
    let rels: Vec<(i64, String, i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT agency_id, client_ref, worker_id, favourite, blocked, completed FROM client_relations",
    )
    .fetch_all(store.pool())
    .await
    .map_err(store::db_error)?;
    for (agency, client, worker, fav, blocked, completed) in rels {
        let (a, w) = (
            crate::domain::AgencyId::new(agency as u64),
            crate::domain::WorkerId::new(worker as u64),
        );
        live.set_favourite(a, &client, w, fav != 0);
        live.set_blocked(a, &client, w, blocked != 0);
        live.set_client_experience(w, &client, completed as u32);
    }
    let on_call: Vec<(i64, i64, i64, f64, f64, f64)> = sqlx::query_as(
        "SELECT worker_id, start_at, end_at, lat, lon, radius_km FROM on_call WHERE end_at > $1",
    )
    .bind(ms(now))
    .fetch_all(store.pool())
    .await
    .map_err(store::db_error)?;
    for (worker, start, end, lat, lon, radius_km) in on_call {
        if let (Ok(interval), Ok(center)) = (
            crate::domain::Interval::new(from_ms(start), from_ms(end)),
            crate::domain::LatLon::new(lat, lon),
        ) {
            live.add_on_call(
                crate::domain::WorkerId::new(worker as u64),
                crate::matching::OnCall {
                    interval,
                    center,
                    radius_km,
                },
            );
        }
    }
    Ok(live)
}

impl Engine {
    /// The scoring policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The worker index (read side).
    pub fn index(&self) -> &WorkerIndex {
        &self.index
    }
}

/// Unix milliseconds of an instant, the store's representation of time.
pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// The instant of unix milliseconds.
pub fn from_ms(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

impl Engine {
    /// Moves the manual clock to `to`, firing every timer that falls due on the way, in time order, before it
    /// answers.
    pub async fn advance_clock(&self, to: DateTime<Utc>) -> crate::Result<()> {
        if to < self.now() {
            return Err(crate::Error::Conflict(
                "the clock only moves forward".into(),
            ));
        }
        let _guard = self.write_lock().await;
        self.fire_due(to, true).await?;
        self.clock
            .set(to)
            .map_err(|e| crate::Error::Conflict(e.to_string()))?;
        crate::store::settings::put(self.store.pool(), "manual_clock_ms", &ms(to).to_string())
            .await?;
        Ok(())
    }

    /// Appends the engine's own metrics in Prometheus text format.
    pub async fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let pool = self.store.pool();
        let count = |sql: &'static str| async move {
            sqlx::query_as::<_, (String, i64)>(sql)
                .fetch_all(pool)
                .await
                .unwrap_or_default()
        };
        let _ = writeln!(
            out,
            "# HELP crewcall_assignments Assignments by kind and status."
        );
        let _ = writeln!(out, "# TYPE crewcall_assignments gauge");
        for (k, n) in
            count("SELECT kind || ',' || status, COUNT(*) FROM assignments GROUP BY kind, status")
                .await
        {
            let (kind, status) = k.split_once(',').unwrap_or((&k, ""));
            let _ = writeln!(
                out,
                "crewcall_assignments{{kind=\"{kind}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP crewcall_offers Offers by status.");
        let _ = writeln!(out, "# TYPE crewcall_offers gauge");
        for (s, n) in count("SELECT status, COUNT(*) FROM offers GROUP BY status").await {
            let _ = writeln!(out, "crewcall_offers{{status=\"{s}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP crewcall_orders Orders by status.");
        let _ = writeln!(out, "# TYPE crewcall_orders gauge");
        for (s, n) in count("SELECT status, COUNT(*) FROM orders GROUP BY status").await {
            let _ = writeln!(out, "crewcall_orders{{status=\"{s}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "# HELP crewcall_events_total Engine events by kind (no-shows, standby promotions, ...)."
        );
        let _ = writeln!(out, "# TYPE crewcall_events_total counter");
        for (k, n) in count("SELECT kind, COUNT(*) FROM events GROUP BY kind").await {
            let _ = writeln!(out, "crewcall_events_total{{kind=\"{k}\"}} {n}");
        }
        // Fill rate at start: of the slots of orders that have started, the share filled by a worker who
        // checked in or is still confirmed.
        let started: Option<(i64, i64)> = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN status IN ('checked_in', 'completed') THEN 1 ELSE 0 END), 0) \
             FROM assignments WHERE kind = 'shift' AND start_at <= $1 AND status IN ('checked_in', 'completed', 'no_show')",
        )
        .bind(ms(self.now()))
        .fetch_optional(pool)
        .await
        .unwrap_or_default();
        if let Some((due, came)) = started.filter(|(d, _)| *d > 0) {
            let _ = writeln!(
                out,
                "# HELP crewcall_attendance_rate Share of due shift assignments that were worked."
            );
            let _ = writeln!(out, "# TYPE crewcall_attendance_rate gauge");
            let _ = writeln!(out, "crewcall_attendance_rate {}", came as f64 / due as f64);
        }
    }
}
