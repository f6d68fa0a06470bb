//! Idempotency keys, written in the same transaction as the effect of the request they key.
//!
//! A keyed request runs inside a [`KeyScope`]: every command of the request shares one transaction (the first
//! [`super::Store::begin`] starts it, its commit is deferred), and at the end [`finish`] writes the key, the
//! request's fingerprint and the response into that same transaction and commits it. A crash before the commit
//! leaves no trace of the key; a crash after leaves the saved response. There is no claim to take over.

use std::future::Future;
use std::sync::{Arc, Mutex};

use super::events::StoredEvent;
use super::{Store, Tx, db_error};

/// What a request with a key still being processed is told.
pub const IN_FLIGHT: &str = "a request with this Idempotency-Key is still being processed";

/// The key of one request and the transaction its commands share.
pub struct KeyScope {
    principal: String,
    key: String,
    request_hash: String,
    parked: Mutex<Option<Tx>>,
}

tokio::task_local! {
    static SCOPE: Arc<KeyScope>;
}

impl KeyScope {
    /// A scope for `key` of `principal` (who calls, not how the token is spelt), for the request whose
    /// fingerprint is `request_hash`.
    pub fn new(principal: String, key: String, request_hash: String) -> Arc<KeyScope> {
        Arc::new(KeyScope {
            principal,
            key,
            request_hash,
            parked: Mutex::new(None),
        })
    }

    /// Runs `f` (the request's handler) inside the scope.
    pub async fn run<F: Future>(self: &Arc<Self>, f: F) -> F::Output {
        SCOPE.scope(self.clone(), f).await
    }

    pub(super) fn park(&self, tx: Tx) {
        *self.parked.lock().expect("parked transaction") = Some(tx);
    }

    pub(super) fn take_parked(&self) -> Option<Tx> {
        self.parked.lock().expect("parked transaction").take()
    }

    /// The name of the key's advisory lock on PostgreSQL.
    pub(super) fn lock_name(&self) -> String {
        format!("idempotency:{}:{}", self.principal, self.key)
    }
}

/// The scope of the request being handled on this task, if it is keyed.
pub(super) fn current_scope() -> Option<Arc<KeyScope>> {
    SCOPE.try_with(|s| s.clone()).ok()
}

/// A response kept for a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Saved {
    /// The fingerprint of the request that made it.
    pub request_hash: String,
    /// Its status.
    pub status: u16,
    /// Its body.
    pub body: String,
}

/// The response kept for `key` of `principal`, if a request with it has finished.
pub async fn lookup(store: &Store, principal: &str, key: &str) -> crate::Result<Option<Saved>> {
    let row: Option<(String, i64, String)> = sqlx::query_as(
        "SELECT request_hash, status, body FROM idempotency WHERE principal = $1 AND key = $2",
    )
    .bind(principal)
    .bind(key)
    .fetch_optional(store.pool())
    .await
    .map_err(db_error)?;
    Ok(row.map(|(request_hash, status, body)| Saved {
        request_hash,
        status: status as u16,
        body,
    }))
}

/// Writes the key, the fingerprint and the response in the request's transaction (or, when the request
/// changed nothing, in one of its own) and commits. Answers the events the request wrote, or `None` when
/// another request with the same key finished first: then nothing of this one is kept.
pub async fn finish(
    store: &Store,
    scope: &KeyScope,
    status: u16,
    body: &str,
    now_ms: i64,
) -> crate::Result<Option<Vec<StoredEvent>>> {
    let mut tx = match scope.take_parked() {
        Some(tx) => tx,
        None => store.begin_plain().await?,
    };
    let stored: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO idempotency (principal, key, request_hash, status, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (principal, key) DO NOTHING RETURNING 1",
    )
    .bind(&scope.principal)
    .bind(&scope.key)
    .bind(&scope.request_hash)
    .bind(i64::from(status))
    .bind(body)
    .bind(now_ms)
    .fetch_optional(tx.conn().await?)
    .await
    .map_err(db_error)?;
    if stored.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    tx.commit_now().await.map(Some)
}

/// Drops whatever the request left uncommitted (it failed; a retry must run again).
pub fn abandon(scope: &KeyScope) {
    drop(scope.take_parked());
}

/// How long a key is kept: a retry within this time answers the saved response.
pub const KEPT: chrono::Duration = chrono::Duration::hours(24);

/// Forgets keys older than `before_ms`.
pub async fn purge(store: &Store, before_ms: i64) -> crate::Result<u64> {
    let mut tx = store.begin_plain().await?;
    let r = sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(before_ms)
        .execute(tx.conn().await?)
        .await
        .map_err(db_error)?;
    tx.commit_now().await?;
    Ok(r.rows_affected())
}
