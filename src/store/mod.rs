//! Persistence: one sqlx pool over SQLite (the embedded default) or PostgreSQL, the migrations, the event log
//! and the projections. The store decides nothing; it writes what the engine decided, events and rows together
//! in one transaction, and reads rows back.
//!
//! Both backends share one code path through sqlx's `Any` driver: placeholders are `$1, $2, …` in order of
//! first use (SQLite reads `$N` as the N-th argument), times are unix milliseconds, ids come from `RETURNING id`.

pub mod agencies;
pub mod clients;
pub mod events;
mod flush;
mod group;
pub mod idempotency;
pub mod invites;
mod migrate;
pub mod orders;
pub mod photos;
pub mod series;
pub mod settings;
pub mod sla;
mod threads;
pub mod workers;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::error::Error;

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local SQLite file, in WAL mode, every commit on disk before it is acknowledged (see [`Durability`]).
    Sqlite,
    /// PostgreSQL, for several nodes.
    Postgres,
}

/// How hard SQLite works to keep a commit across a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is on disk before it is acknowledged. The server's setting: connections run with
    /// `synchronous=FULL`, except the writer's, which commits with `NORMAL` and syncs the log before it
    /// acknowledges (see `group::Syncer`).
    #[default]
    Full,
    /// `synchronous=OFF` in WAL mode: commits are handed to the operating system and never waited for, not
    /// even at checkpoints. An application crash loses nothing; a power loss or a crash of the operating
    /// system may lose the database. For scratch databases that are rebuilt from scratch anyway (a simulated
    /// week, a replay).
    Relaxed,
}

/// A writing transaction on either backend, with the events it will append to the log.
///
/// Events are buffered and written at commit, in the order they were appended: on PostgreSQL under a
/// transaction-scoped advisory lock held until the commit, so the log's sequence numbers commit in order and a
/// reader that has seen `seq = n` has seen every event below it (no event is ever skipped by a tailer); on
/// SQLite the single writer gives the same order. Statements run on [`Tx::conn`].
///
/// On PostgreSQL the lock is held only until the commit is visible, not until it is on disk: the appending
/// transaction commits with `synchronous_commit = off`, releases the lock, and then waits for the write-ahead
/// log to be flushed past its commit (see [`Store::flush`]) before it is answered — so appends from many
/// commands and nodes share one disk flush instead of queueing one flush each behind the lock. Readers of the
/// log flush the same way before they apply what they read, so no view ever holds an event a crash could
/// take back.
pub struct Tx {
    inner: TxConn,
    backend: Backend,
    /// Waits for durability after an asynchronous commit (PostgreSQL's; `None` on SQLite).
    flusher: Option<std::sync::Arc<flush::Flusher>>,
    events: Vec<events::NewEvent>,
    /// Writes held back to go to the database in front of the transaction's next statement (SQLite; see
    /// [`Tx::write_later`]).
    later: Later,
    /// The request's idempotency scope, when the transaction belongs to a keyed request: its commit is
    /// deferred until the key and the response are written with it.
    scope: Option<std::sync::Arc<idempotency::KeyScope>>,
}

/// The connection a transaction runs on.
enum TxConn {
    /// A PostgreSQL transaction of its own.
    Postgres(sqlx::Transaction<'static, sqlx::Any>),
    /// A command's turn on SQLite's writer connection, inside a group commit.
    Sqlite(group::Command),
}

/// Writes held back on SQLite until the transaction's next statement, which carries them to the database in the
/// same round trip: each statement on the writer is a hand-off to SQLite's connection thread and back, and
/// those hand-offs, not SQLite's work, are most of a command's time on the writer.
#[derive(Debug, Default)]
pub(crate) struct Later {
    /// The statements, each ended by `; `, their parameters numbered in one sequence.
    pub(crate) sql: String,
    /// Their parameters, in the order of their numbers.
    pub(crate) params: Vec<events::Param>,
}

impl Later {
    /// Whether nothing is held back.
    pub(crate) fn is_empty(&self) -> bool {
        self.sql.is_empty()
    }

    /// Holds `more` back after what is held, numbering its parameters after these.
    pub(crate) fn append(&mut self, more: Later) {
        if self.params.is_empty() {
            self.sql.push_str(&more.sql);
        } else {
            self.sql
                .push_str(&events::renumber(&more.sql, self.params.len()));
        }
        self.params.extend(more.params);
    }

    /// Holds back `sql`, statements without parameters, each ended by `; `.
    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }
}

/// The advisory lock that orders appends to the log on PostgreSQL.
const LOG_LOCK: i64 = 7_310_022;

impl Tx {
    /// The transaction's connection, for a statement: what [`Tx::write_later`] held back is written first, so
    /// that every statement sees the transaction's writes in the order they were made.
    pub async fn conn(&mut self) -> crate::Result<&mut sqlx::AnyConnection> {
        match &mut self.inner {
            TxConn::Postgres(t) => Ok(t),
            TxConn::Sqlite(c) => c.conn(std::mem::take(&mut self.later)).await,
        }
    }

    /// Writes one statement whose outcome (rows changed, rows answered) nobody reads. On SQLite it is held back
    /// and goes to the database in front of the transaction's next statement (or with its commit), in the same
    /// round trip; its failure then fails that statement, and the command with it. On PostgreSQL it runs now.
    ///
    /// `sql` numbers its parameters from `$1` and holds no other `$`.
    pub async fn write_later(
        &mut self,
        sql: &str,
        params: Vec<events::Param>,
    ) -> crate::Result<()> {
        match self.backend {
            Backend::Sqlite => {
                self.later
                    .sql
                    .push_str(&events::renumber(sql, self.later.params.len()));
                self.later.sql.push_str("; ");
                self.later.params.extend(params);
                Ok(())
            }
            Backend::Postgres => events::execute(self.conn().await?, sql.to_string(), &params)
                .await
                .map(|_| ()),
        }
    }

    /// Runs `sql` (its parameters numbered from `$1` and bound by `bind`), answering its rows. On SQLite what
    /// [`Tx::write_later`] held back, and what the writer owes for the commands before this one, go in front of
    /// it in the same round trip (see `group`): only for a statement that does not fail by design, since its
    /// failure rolls back every command of the batch.
    pub(crate) async fn fetch_after<O>(
        &mut self,
        sql: &str,
        bind: impl FnOnce(group::Fetch<'static, O>) -> group::Fetch<'static, O>,
    ) -> crate::Result<Vec<O>>
    where
        O: Send + Unpin + 'static + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        match &mut self.inner {
            TxConn::Postgres(t) => bind(sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string())))
                .fetch_all(&mut **t)
                .await
                .map_err(db_error),
            TxConn::Sqlite(c) => {
                c.fetch_after(std::mem::take(&mut self.later), sql, bind)
                    .await
            }
        }
    }

    /// The id the next order takes, known ahead on SQLite, where this process is the one writer: an order
    /// inserted with it need not answer its id, so its insert can be held back ([`Tx::write_later`]). `None`
    /// on PostgreSQL, where the row's sequence gives the id.
    pub(crate) async fn next_order_id(&mut self) -> crate::Result<Option<i64>> {
        let TxConn::Sqlite(c) = &mut self.inner else {
            return Ok(None);
        };
        if let Some(id) = c.next_order_id() {
            return Ok(Some(id));
        }
        // Reading the highest id must see what is held back.
        self.conn().await?;
        let TxConn::Sqlite(c) = &mut self.inner else {
            unreachable!("the transaction's backend does not change")
        };
        c.read_next_order_id().await?;
        Ok(c.next_order_id())
    }

    /// Queues an event; it is written to the log when the transaction commits.
    pub fn push_event(&mut self, event: events::NewEvent) {
        self.events.push(event);
    }

    /// Which backend the transaction runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Commits, answering the events written with their positions in the log. Inside a keyed request the
    /// commit is deferred to the end of the request (the key and the response are written in the same
    /// transaction; see [`idempotency::KeyScope`]) and nothing is answered yet.
    pub async fn commit(self) -> crate::Result<Vec<events::StoredEvent>> {
        if let Some(scope) = self.scope.clone() {
            scope.park(self);
            return Ok(Vec::new());
        }
        self.commit_now().await
    }

    /// Commits behind a guard: `guard`, the transaction's last write, must change exactly one row, and
    /// otherwise nothing of the transaction is kept (`None`).
    pub async fn commit_if(
        mut self,
        guard: events::Guard,
    ) -> crate::Result<Option<Vec<events::StoredEvent>>> {
        if !guard.run(self.conn().await?).await? {
            self.rollback().await?;
            return Ok(None);
        }
        self.commit().await.map(Some)
    }

    /// Writes the buffered events and commits.
    pub(crate) async fn commit_now(self) -> crate::Result<Vec<events::StoredEvent>> {
        match self.inner {
            TxConn::Postgres(mut t) => {
                debug_assert!(self.later.is_empty(), "PostgreSQL holds nothing back");
                if self.events.is_empty() {
                    t.commit().await.map_err(db_error)?;
                    count_commit();
                    return Ok(Vec::new());
                }
                // The log's lock, and an asynchronous commit (the flush below waits for the disk, outside the
                // lock), taken by the events' own statement.
                let before = format!(
                    "SELECT pg_advisory_xact_lock({LOG_LOCK}), \
                     set_config('synchronous_commit', 'off', true)"
                );
                // The events' last statement commits (see `events::write_and_commit`), and the transaction
                // it opens after is ended here, empty.
                let stored = events::write_and_commit(&mut t, self.events, &before).await?;
                t.commit().await.map_err(db_error)?;
                count_commit();
                self.flusher
                    .as_ref()
                    .expect("a PostgreSQL transaction has a flusher")
                    .flush()
                    .await?;
                Ok(stored)
            }
            TxConn::Sqlite(c) => {
                let stored = c.commit(self.later, self.events).await?;
                count_commit();
                Ok(stored)
            }
        }
    }

    /// Rolls back.
    pub async fn rollback(self) -> crate::Result<()> {
        match self.inner {
            TxConn::Postgres(t) => t.rollback().await.map_err(db_error),
            TxConn::Sqlite(c) => c.rollback().await,
        }
    }
}

tokio::task_local! {
    /// Transactions committed by the task inside [`counting_commits`].
    static COMMITS: std::cell::Cell<u32>;
}

/// Runs `f`, answering with its output how many transactions it committed on this task. A request that lost a
/// race and committed nothing can be run again whole ([`crate::Error::Contended`]); one that committed part of
/// its work cannot.
pub async fn counting_commits<F: std::future::Future>(f: F) -> (F::Output, u32) {
    COMMITS
        .scope(std::cell::Cell::new(0), async {
            let out = f.await;
            (out, COMMITS.with(|c| c.get()))
        })
        .await
}

fn count_commit() {
    let _ = COMMITS.try_with(|c| c.set(c.get() + 1));
}

/// The database.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's writer connection and group commit (`None` on PostgreSQL).
    group: Option<group::Group>,
    /// PostgreSQL's shared flushes of its write-ahead log (`None` on SQLite).
    flusher: Option<std::sync::Arc<flush::Flusher>>,
}

/// How long a writer waits for SQLite's lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;

impl Store {
    /// Connects to `url` (`sqlite://path.db` — created when missing — or `postgres://…`).
    pub async fn connect(url: &str) -> crate::Result<Store> {
        Self::connect_with(url, Durability::Full).await
    }

    /// Connects to `url` with the given durability (which only SQLite reads; PostgreSQL keeps its own
    /// settings).
    pub async fn connect_with(url: &str, durability: Durability) -> crate::Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend) = if url.starts_with("sqlite:") {
            let mut url = url.to_string();
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
            (url, Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            (url.to_string(), Backend::Postgres)
        } else {
            return Err(Error::invalid(
                "database_url",
                "must start with sqlite: or postgres:",
            ));
        };
        let options = AnyConnectOptions::from_str(&url).map_err(db_error)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    // One connection is the writer's (see `group`), the others read.
                    .max_connections(9)
                    .acquire_timeout(Duration::from_secs(15))
                    .after_connect(move |conn, _meta| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute(match durability {
                                Durability::Full => "PRAGMA synchronous = FULL",
                                Durability::Relaxed => "PRAGMA synchronous = OFF",
                            })
                            .await?;
                            conn.execute(sqlx::AssertSqlSafe(format!(
                                "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"
                            )))
                            .await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            // The connection's thread exists now: it runs ahead of the runtime's.
                            threads::raise_sqlite_threads();
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(15))
                    .connect_with(options)
                    .await
            }
        }
        .map_err(db_error)?;
        let group = (backend == Backend::Sqlite)
            .then(|| group::Group::new(pool.clone(), durability == Durability::Full));
        let flusher = (backend == Backend::Postgres)
            .then(|| std::sync::Arc::new(flush::Flusher::new(pool.clone())));
        Ok(Store {
            pool,
            backend,
            group,
            flusher,
        })
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> crate::Result<()> {
        migrate::run(&self.pool, self.backend).await
    }

    /// Begins a writing transaction; on SQLite with `BEGIN IMMEDIATE`, so the write lock is taken up front and
    /// two writers never deadlock upgrading a read lock.
    ///
    /// Inside a keyed request (see [`idempotency::KeyScope`]) every command of the request runs in one
    /// transaction: the first `begin` starts it (and, on PostgreSQL, takes the key's lock, so the same key
    /// arriving at another node meanwhile is told it is still being processed), later ones continue it.
    pub async fn begin(&self) -> crate::Result<Tx> {
        let scope = idempotency::current_scope();
        if let Some(tx) = scope.as_ref().and_then(|s| s.take_parked()) {
            return Ok(tx);
        }
        let mut tx = self.begin_plain().await?;
        if let Some(scope) = scope {
            if self.backend == Backend::Postgres {
                let (got,): (bool,) =
                    sqlx::query_as("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))")
                        .bind(scope.lock_name())
                        .fetch_one(tx.conn().await?)
                        .await
                        .map_err(db_error)?;
                if !got {
                    return Err(Error::Conflict(idempotency::IN_FLIGHT.into()));
                }
            }
            tx.scope = Some(scope);
        }
        Ok(tx)
    }

    /// Runs a command whose one write is `guard` (a conditional write that must change exactly one row) with
    /// its `events`, which are written only if it did: `None` when it changed nothing and nothing was kept.
    ///
    /// On SQLite, outside a keyed request, such commands need no turn of their own on the writer: those that
    /// arrive together go to the database in one round trip (see `group`). Elsewhere this is [`Store::begin`]
    /// and [`Tx::commit_if`].
    pub async fn write_if(
        &self,
        guard: events::Guard,
        events: Vec<events::NewEvent>,
    ) -> crate::Result<Option<Vec<events::StoredEvent>>> {
        if let Some(group) = &self.group
            && idempotency::current_scope().is_none()
            && events::Guard::fits(&events)
        {
            let stored = group.write_if(guard, events).await?;
            if stored.is_some() {
                count_commit();
            }
            return Ok(stored);
        }
        let mut tx = self.begin().await?;
        for e in events {
            tx.push_event(e);
        }
        tx.commit_if(guard).await
    }

    /// The transaction a keyed request's commands share, when one is waiting for the end of the request: a
    /// read made through it sees the request's own writes. Give it back with [`Tx::commit`] (which parks it
    /// again).
    pub fn parked(&self) -> Option<Tx> {
        idempotency::current_scope().and_then(|s| s.take_parked())
    }

    /// Begins a transaction outside any request's idempotency scope.
    pub(crate) async fn begin_plain(&self) -> crate::Result<Tx> {
        let inner = match &self.group {
            Some(group) => TxConn::Sqlite(group.begin().await?),
            None => TxConn::Postgres(self.pool.begin().await.map_err(db_error)?),
        };
        Ok(Tx {
            inner,
            backend: self.backend,
            flusher: self.flusher.clone(),
            events: Vec::new(),
            later: Later::default(),
            scope: None,
        })
    }

    /// Waits until everything committed so far is on disk: a commit may be visible to readers before it is
    /// (see [`Tx`], and SQLite's group commit).
    pub async fn flush(&self) -> crate::Result<()> {
        match &self.group {
            Some(group) => {
                group.flush().await;
                Ok(())
            }
            None => match &self.flusher {
                Some(flusher) => flusher.flush().await,
                None => Ok(()),
            },
        }
    }

    /// The pool, for reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        if let Some(group) = &self.group {
            group.close().await;
        }
        self.pool.close().await;
    }
}

/// Maps a database error to the library's error: constraint violations are conflicts, an exhausted pool or a
/// lost connection is `Unavailable`, anything else internal.
pub fn db_error(e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) => {
            let code = d.code().map(|c| c.to_string()).unwrap_or_default();
            // 23505 unique, 23P01 exclusion (PostgreSQL); 2067/1555 unique, 787 foreign key (SQLite extended codes).
            if matches!(code.as_str(), "23505" | "23P01" | "2067" | "1555")
                || d.is_unique_violation()
            {
                Error::Conflict(format!("conflicts with existing data ({})", d.message()))
            } else if code == "5" || code == "517" || d.message().contains("database is locked") {
                Error::Unavailable("the database is busy".into())
            } else if matches!(code.as_str(), "40P01" | "40001") {
                // A deadlock or serialisation failure: the transaction was rolled back; a retry may pass.
                Error::Contended(format!(
                    "the database rolled back a conflicting change ({code})"
                ))
            } else {
                Error::Internal(format!("database: {e}"))
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            Error::Unavailable(format!("database: {e}"))
        }
        _ => Error::Internal(format!("database: {e}")),
    }
}
