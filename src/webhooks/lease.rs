//! Delivery runs on one node at a time. On PostgreSQL the node that holds a session advisory lock on a
//! connection of its own delivers; the lock goes with the connection, so a node that dies (even by SIGKILL)
//! frees it as soon as the database notices the connection closed, and another node takes over within a second.
//! On SQLite (one node by design, but nothing stops a second process on the same file) the node that holds an
//! exclusive lock on a file beside the database delivers; the operating system frees it when the process ends.

use sqlx::Connection;

use crate::store::Backend;

/// The advisory lock's key (beside the log's and the migrations').
const LOCK_KEY: i64 = 7_310_023;

/// A claim on delivering, held or not yet.
pub(super) enum Lease {
    /// A dedicated PostgreSQL connection, on which the lock is taken.
    Postgres(sqlx::postgres::PgConnection),
    /// The lock file beside a SQLite database.
    File(std::fs::File),
    /// An in-memory database: no other process can share it.
    Alone,
}

impl Lease {
    /// Opens what the lease is taken on.
    pub(super) async fn open(database_url: &str, backend: Backend) -> crate::Result<Lease> {
        match backend {
            Backend::Postgres => sqlx::postgres::PgConnection::connect(database_url)
                .await
                .map(Lease::Postgres)
                .map_err(crate::store::db_error),
            Backend::Sqlite => {
                let path = database_url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = path.split('?').next().unwrap_or_default();
                if path.is_empty()
                    || path.contains(":memory:")
                    || database_url.contains("mode=memory")
                {
                    return Ok(Lease::Alone);
                }
                std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(format!("{path}.webhooks.lock"))
                    .map(Lease::File)
                    .map_err(|e| crate::Error::Unavailable(format!("the webhook lock file: {e}")))
            }
        }
    }

    /// Tries to take the lease; whether this node holds it now.
    pub(super) async fn try_take(&mut self) -> crate::Result<bool> {
        match self {
            Lease::Postgres(conn) => {
                let (got,): (bool,) = sqlx::query_as("SELECT pg_try_advisory_lock($1)")
                    .bind(LOCK_KEY)
                    .fetch_one(conn)
                    .await
                    .map_err(crate::store::db_error)?;
                Ok(got)
            }
            Lease::File(f) => match f.try_lock() {
                Ok(()) => Ok(true),
                Err(std::fs::TryLockError::WouldBlock) => Ok(false),
                Err(std::fs::TryLockError::Error(e)) => Err(crate::Error::Unavailable(format!(
                    "the webhook lock file: {e}"
                ))),
            },
            Lease::Alone => Ok(true),
        }
    }

    /// Whether a held lease is still held (its connection still answers).
    pub(super) async fn alive(&mut self) -> bool {
        match self {
            Lease::Postgres(conn) => sqlx::query("SELECT 1").execute(conn).await.is_ok(),
            Lease::File(_) | Lease::Alone => true,
        }
    }
}
