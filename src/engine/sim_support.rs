//! Read helpers for the week simulation and the replay: they watch the engine from outside, the way a fleet of
//! worker apps and an auditor would, and never change anything.
//!
//! The simulation asks for the offers and assignments created since the last ones it saw (ids only grow), so
//! it can give each new offer a reaction and each new assignment a future; the replay reads the event log and
//! the final clock of a database.

use super::Engine;
use crate::store::{self, events::StoredEvent};

/// An offer as the simulation sees it: who is asked, for what, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferSeen {
    /// The offer's id.
    pub id: i64,
    /// Its order.
    pub order_id: i64,
    /// The worker asked.
    pub worker_id: i64,
    /// The role, by index into the order's roles.
    pub role_idx: i64,
    /// `shift` or `standby`.
    pub kind: String,
    /// `pending` unless it was already closed within the same command.
    pub status: String,
    /// Whether it is an urgent replacement offer.
    pub urgent: bool,
    /// Sent, unix ms.
    pub created_at: i64,
    /// Open until, unix ms.
    pub expires_at: i64,
}

/// An assignment as the simulation sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentSeen {
    /// The assignment's id.
    pub id: i64,
    /// Its order.
    pub order_id: i64,
    /// The worker.
    pub worker_id: i64,
    /// `shift` or `standby`.
    pub kind: String,
    /// `confirmed`, `standby`, `checked_in`, …
    pub status: String,
    /// Made, unix ms.
    pub created_at: i64,
}

type OfferTuple = (i64, i64, i64, i64, String, String, i64, i64, i64);
type AssignmentTuple = (i64, i64, i64, String, String, i64);

impl Engine {
    /// Offers with an id above `after`, oldest first.
    pub async fn offers_after(&self, after: i64) -> crate::Result<Vec<OfferSeen>> {
        let rows: Vec<OfferTuple> = sqlx::query_as(
            "SELECT id, order_id, worker_id, role_idx, kind, status, urgent, created_at, expires_at \
             FROM offers WHERE id > $1 ORDER BY id",
        )
        .bind(after)
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(rows
            .into_iter()
            .map(
                |(
                    id,
                    order_id,
                    worker_id,
                    role_idx,
                    kind,
                    status,
                    urgent,
                    created_at,
                    expires_at,
                )| {
                    OfferSeen {
                        id,
                        order_id,
                        worker_id,
                        role_idx,
                        kind,
                        status,
                        urgent: urgent != 0,
                        created_at,
                        expires_at,
                    }
                },
            )
            .collect())
    }

    /// Assignments with an id above `after`, oldest first.
    pub async fn assignments_after(&self, after: i64) -> crate::Result<Vec<AssignmentSeen>> {
        let rows: Vec<AssignmentTuple> = sqlx::query_as(
            "SELECT id, order_id, worker_id, kind, status, created_at FROM assignments WHERE id > $1 ORDER BY id",
        )
        .bind(after)
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, order_id, worker_id, kind, status, created_at)| AssignmentSeen {
                    id,
                    order_id,
                    worker_id,
                    kind,
                    status,
                    created_at,
                },
            )
            .collect())
    }

    /// The status of an assignment now, if it exists.
    pub async fn assignment_status(&self, id: i64) -> crate::Result<Option<(i64, String)>> {
        sqlx::query_as("SELECT worker_id, status FROM assignments WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await
            .map_err(store::db_error)
    }

    /// Shift slots of an order held now by a worker who is confirmed, checked in or done.
    pub async fn staffed_now(&self, order_id: i64) -> crate::Result<u32> {
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM assignments WHERE order_id = $1 AND kind = 'shift' \
             AND status IN ('confirmed', 'checked_in', 'completed')",
        )
        .bind(order_id)
        .fetch_one(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(n as u32)
    }

    /// Events after `after_seq`, oldest first, at most `limit`.
    pub async fn events_after(
        &self,
        after_seq: i64,
        limit: i64,
    ) -> crate::Result<Vec<StoredEvent>> {
        store::events::read(self.store.pool(), after_seq, limit).await
    }
}

/// Every event of a store, oldest first.
pub async fn all_events(store: &store::Store) -> crate::Result<Vec<StoredEvent>> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map_or(0, |e: &StoredEvent| e.seq);
        let page = store::events::read(store.pool(), after, 50_000).await?;
        if page.is_empty() {
            return Ok(out);
        }
        out.extend(page);
    }
}

/// Where a manual clock last stood in a store, unix ms.
pub async fn manual_clock_ms(store: &store::Store) -> crate::Result<Option<i64>> {
    Ok(store::settings::get(store.pool(), "manual_clock_ms")
        .await?
        .and_then(|v| v.parse().ok()))
}
