//! Idempotency keys: the first response to a POST, kept per token and key, replayed for a retry.

use super::{Backend, Store, db_error};

/// What a key holds.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyState {
    /// Nobody used the key yet; it is now claimed for this request.
    Claimed,
    /// A request with this key is still being processed.
    InFlight {
        /// Hash of that request.
        request_hash: String,
    },
    /// A request with this key finished; its response is kept.
    Done {
        /// Hash of that request.
        request_hash: String,
        /// Its status.
        status: u16,
        /// Its body.
        body: String,
    },
}

/// A claim older than this is taken to be from a request that died, and may be taken over.
const STALE_CLAIM_MS: i64 = 120_000;

/// Claims `key` for a request, or tells what the key already holds.
pub async fn claim(
    store: &Store,
    token_hash: &str,
    key: &str,
    request_hash: &str,
    now_ms: i64,
) -> crate::Result<KeyState> {
    let mut tx = store.begin().await?;
    if store.backend() == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || $2))")
            .bind(token_hash)
            .bind(key)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
    }
    type KeyRow = (String, String, Option<i64>, Option<String>, i64);
    let row: Option<KeyRow> = sqlx::query_as(
        "SELECT request_hash, state, status, body, created_at FROM idempotency WHERE token_hash = $1 AND key = $2",
    )
    .bind(token_hash)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_error)?;
    let state = match row {
        Some((rh, state, status, body, created)) => {
            if state == "done" {
                Some(KeyState::Done {
                    request_hash: rh,
                    status: status.unwrap_or(200) as u16,
                    body: body.unwrap_or_default(),
                })
            } else if now_ms - created < STALE_CLAIM_MS {
                Some(KeyState::InFlight { request_hash: rh })
            } else {
                None
            }
        }
        None => None,
    };
    if let Some(s) = state {
        tx.rollback().await.map_err(db_error)?;
        return Ok(s);
    }
    sqlx::query(
        "INSERT INTO idempotency (token_hash, key, request_hash, state, created_at) VALUES ($1, $2, $3, 'in_flight', $4)
         ON CONFLICT (token_hash, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'in_flight', created_at = excluded.created_at",
    )
    .bind(token_hash)
    .bind(key)
    .bind(request_hash)
    .bind(now_ms)
    .execute(&mut *tx)
    .await
    .map_err(db_error)?;
    tx.commit().await.map_err(db_error)?;
    Ok(KeyState::Claimed)
}

/// Stores the response of a claimed key.
pub async fn finish(
    store: &Store,
    token_hash: &str,
    key: &str,
    status: u16,
    body: &str,
) -> crate::Result<()> {
    sqlx::query("UPDATE idempotency SET state = 'done', status = $1, body = $2 WHERE token_hash = $3 AND key = $4")
        .bind(i64::from(status))
        .bind(body)
        .bind(token_hash)
        .bind(key)
        .execute(store.pool())
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Gives a claimed key back (the request could not be answered), so a retry runs again.
pub async fn release(store: &Store, token_hash: &str, key: &str) -> crate::Result<()> {
    sqlx::query(
        "DELETE FROM idempotency WHERE token_hash = $1 AND key = $2 AND state = 'in_flight'",
    )
    .bind(token_hash)
    .bind(key)
    .execute(store.pool())
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Forgets keys older than `before_ms` (they are kept at least 24 hours).
pub async fn purge(store: &Store, before_ms: i64) -> crate::Result<u64> {
    let r = sqlx::query("DELETE FROM idempotency WHERE created_at < $1")
        .bind(before_ms)
        .execute(store.pool())
        .await
        .map_err(db_error)?;
    Ok(r.rows_affected())
}
