//! The engine: the state machine that ties the core together. A command comes in, the engine decides using the
//! index, matching, assignment and dispatch, and the store writes the events and the rows they change in one
//! transaction. The in-memory views (index, live bookings, token cache) change only by applying the log
//! (`views.rs`): a node applies its own commits before it answers and other nodes' as it tails the log.
//!
//! There is no process-wide write lock. Commands on different orders run concurrently; commands on one order
//! serialise on the order's row (`FOR UPDATE` on PostgreSQL, the single writer on SQLite), and the database
//! enforces the invariants (no overlapping live assignments, no over-filled role, an offer decided once), so any
//! number of nodes can take commands.

mod agencies;
mod attendance;
mod auth;
mod clients;
pub mod config;
mod desk;
mod forecast;
mod invites;
mod kpis;
mod me;
mod offers;
mod orders;
mod pay;
mod photos;
mod pools;
mod rankers;
mod reconfirm;
mod relations;
mod series;
pub mod sim_support;
mod sla;
mod standby_pools;
mod timers;
mod tokens;
pub mod views;
mod workers;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;

use chrono::{DateTime, Utc};

pub use attendance::{Attendance, NoShowPolicy, ReviewOutcome, ReviewRow};
pub use auth::Principal;
pub use clients::{ClientOrder, CrewMember, link_id, parse_link_id};
pub use forecast::{area_of, demand_of};
pub use invites::{InviteParams, PeakNeed, REQUESTED_EVENT, parse_invites_body};
pub use me::OnCallWindow;
pub use offers::{Actor, cancellation_strike, cancellation_weight};
pub use orders::{OrderFilter, OrderState, PoolLink, Standing, order_id};
pub use pay::{TIMESHEET_STATUSES, TimesheetFilter};
pub use photos::{
    MAX_PHOTO_BYTES, PHOTO_TYPES, PhotoConfig, PhotoUpload, parse_photo_id, photo_id,
};
pub use pools::Pool;
pub use reconfirm::{SignalAt, SignalVerdict};
pub use relations::ClientList;
pub use series::{SeriesState, ShiftOutcome, series_id};
pub use sla::{ClientTier, SlaFigures, SlaReport};
pub use standby_pools::standby_pool_id;
pub use views::{ViewsReport, spawn_tailer};
pub use workers::{Imported, ImportedWorker, Upserted};

use crate::clock::Clock;
use crate::index::WorkerIndex;
use crate::matching::{LiveState, Policy};
use crate::store::Store;

/// The engine. Cheap to share behind an `Arc`.
pub struct Engine {
    /// The engine itself, for work handed to other threads ([`Engine::off_runtime`]).
    me: std::sync::Weak<Engine>,
    store: Store,
    clock: Arc<dyn Clock>,
    admin_token_hash: String,
    index: WorkerIndex,
    live: std::sync::RwLock<LiveState>,
    policy: Policy,
    no_show_policy: attendance::NoShowPolicy,
    /// Where photo reports are kept, how large and for how long.
    photos: PhotoConfig,
    /// Orders' no-show graces in ms, by order id (immutable once posted).
    graces: moka::sync::Cache<i64, i64>,
    /// The pause in milliseconds after which an expired offer's worker may be asked again; `None`: never.
    reoffer_after: Option<i64>,
    /// Serialises this node's timer sweeps and manual clock moves (never commands).
    timers: tokio::sync::Mutex<()>,
    /// This node's position in the log: the last event applied to its views. Held while applying.
    log: tokio::sync::Mutex<i64>,
    /// The same position, readable without waiting.
    applied: AtomicI64,
    /// The same position again, for readers that wait for it to move.
    log_head: tokio::sync::watch::Sender<i64>,
    /// Events this node has applied since it started (each event once: a node that never restarted has
    /// applied exactly the events its log holds above where it started).
    applied_events: std::sync::atomic::AtomicU64,
    /// The log position the views were built at when the node started.
    started_at: i64,
    /// Principals of tokens seen lately, by token hash; emptied when the log says a token stopped working.
    tokens: moka::sync::Cache<String, Principal>,
    /// Bumped whenever `tokens` is emptied, so that a lookup that raced with it is not cached.
    token_generation: std::sync::atomic::AtomicU64,
    /// Orders as posted or last patched, by id: a view of the log (a patch evicts its order).
    orders: moka::sync::Cache<i64, Arc<crate::domain::Order>>,
    /// Bumped whenever an order is evicted, so that a read that raced with it is not cached.
    order_generation: std::sync::atomic::AtomicU64,
    /// Each agency's tier settings with its clients' own tiers, by agency: a view of the log (emptied by
    /// `sla_tiers_set` and `client_tier_set`), so that posting an order, even a new client's first, reads
    /// neither table.
    tiers: moka::sync::Cache<u64, std::sync::Arc<sla::AgencyTiers>>,
    /// Bumped whenever `tiers` is emptied, so that a read that raced with it is not cached.
    tier_generation: std::sync::atomic::AtomicU64,
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
    /// Where photo reports are kept, how large and for how long.
    pub photos: PhotoConfig,
    /// The pause after which a worker whose offer expired may be asked again, once, when the order has run
    /// out of candidates: `None` for the default ([`DEFAULT_REOFFER_AFTER_MIN`]), `Some(0)` for never.
    pub reoffer_after_min: Option<u32>,
    /// The scoring policy's version: `None` for the current one ([`Policy::CURRENT`]); an earlier one replays a
    /// log made under it (`crewcall replay` sets it from the log).
    pub policy_version: Option<u32>,
}

/// Minutes after an expiry before its worker may be asked again, unless configured.
pub const DEFAULT_REOFFER_AFTER_MIN: u32 = 30;

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
        let policy = config::policy_of(&config)?;
        let recorded = config.recorded(clock.is_manual());
        let (admin_token_hash, generated) = auth::admin_token(&store, config.admin_token).await?;
        let views::Rebuilt { index, live, head } = views::rebuild(&store, clock.now()).await?;
        let engine = Arc::new_cyclic(|me| Engine {
            me: me.clone(),
            store,
            clock,
            admin_token_hash,
            index,
            live: std::sync::RwLock::new(live),
            policy,
            no_show_policy: config.no_show_policy,
            photos: config.photos,
            reoffer_after: match config
                .reoffer_after_min
                .unwrap_or(DEFAULT_REOFFER_AFTER_MIN)
            {
                0 => None,
                m => Some(i64::from(m) * 60_000),
            },
            graces: moka::sync::Cache::new(100_000),
            timers: tokio::sync::Mutex::new(()),
            log: tokio::sync::Mutex::new(head),
            applied: AtomicI64::new(head),
            log_head: tokio::sync::watch::Sender::new(head),
            applied_events: std::sync::atomic::AtomicU64::new(0),
            started_at: head,
            tokens: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(std::time::Duration::from_secs(600))
                .build(),
            token_generation: std::sync::atomic::AtomicU64::new(0),
            orders: moka::sync::Cache::new(100_000),
            order_generation: std::sync::atomic::AtomicU64::new(0),
            tiers: moka::sync::Cache::new(10_000),
            tier_generation: std::sync::atomic::AtomicU64::new(0),
        });
        engine.record_config(recorded).await?;
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

    /// An order as posted or last patched (from the cache the log keeps current, else the database).
    pub(crate) async fn order_of(&self, id: i64) -> crate::Result<Arc<crate::domain::Order>> {
        if let Some(o) = self.orders.get(&id) {
            return Ok(o);
        }
        let generation = self
            .order_generation
            .load(std::sync::atomic::Ordering::SeqCst);
        let row = crate::store::orders::order(self.store.pool(), id)
            .await?
            .ok_or_else(|| crate::Error::NotFound("order".into()))?;
        let order = Arc::new(orders::parse_row(&row)?);
        if self
            .order_generation
            .load(std::sync::atomic::Ordering::SeqCst)
            == generation
        {
            self.orders.insert(id, order.clone());
        }
        Ok(order)
    }

    /// The store (for the HTTP layer's idempotency keys and health checks).
    pub fn store(&self) -> &Store {
        &self.store
    }
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
        let _guard = self.timers.lock().await;
        self.fire_due(to, true).await?;
        self.clock
            .set(to)
            .map_err(|e| crate::Error::Conflict(e.to_string()))?;
        self.expire_photos(to).await?;
        self.record_clock(to).await
    }

    /// Writes where the manual clock stands, with a `clock_set` event: a restart resumes there, and every
    /// other node's clock follows it as it tails the log.
    pub(crate) async fn record_clock(&self, to: DateTime<Utc>) -> crate::Result<()> {
        let mut tx = self.store.begin().await?;
        crate::store::settings::put(tx.conn().await?, "manual_clock_ms", &ms(to).to_string())
            .await?;
        crate::store::events::append(
            &mut tx,
            ms(to),
            None,
            "clock_set",
            &serde_json::json!({"now": ms(to)}),
        )
        .await?;
        self.committed(tx).await
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
