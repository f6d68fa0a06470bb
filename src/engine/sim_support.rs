//! Read helpers for the week simulation and the replay: they watch the engine from outside, the way a fleet of
//! worker apps and an auditor would, and never change anything.
//!
//! Both read the one log: the simulation asks what happened after the last event it saw (the offers and
//! assignments made, with their statuses), so it can give each new offer a reaction and each new assignment a
//! future; the replay reads the whole event log and the final clock of a database.

use std::collections::HashMap;

use serde_json::Value;

use super::Engine;
use crate::domain::time::parse_instant;
use crate::domain::{AssignmentId, OfferId, OrderId, WorkerId};
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

/// What the log says happened after a cursor: offers and assignments made, each with its status as of the
/// last event read.
#[derive(Debug, Clone, Default)]
pub struct News {
    /// The position of the last event read (the cursor for the next look).
    pub last_seq: i64,
    /// Offers sent, oldest first.
    pub offers: Vec<OfferSeen>,
    /// Assignments made, oldest first.
    pub assignments: Vec<AssignmentSeen>,
}

/// The number of an id in a payload (`"ofr_1f"` → 31), the store's form of it.
fn num_id<T: std::str::FromStr>(p: &Value, k: &str, get: impl Fn(T) -> u64) -> Option<i64> {
    p.get(k)?
        .as_str()?
        .parse::<T>()
        .ok()
        .map(|id| get(id) as i64)
}

fn text(p: &Value, k: &str) -> String {
    p.get(k).and_then(Value::as_str).unwrap_or("").to_string()
}

/// Events read from the log per page by [`Engine::news_after`].
const NEWS_PAGE: i64 = 10_000;

impl Engine {
    /// Reads the log after `after_seq` (a reader of the one log, like every feed): the offers and
    /// assignments made since, with their statuses as the events read leave them.
    pub async fn news_after(&self, after_seq: i64) -> crate::Result<News> {
        let mut news = News {
            last_seq: after_seq,
            ..News::default()
        };
        let mut offer_at: HashMap<i64, usize> = HashMap::new();
        let mut assignment_at: HashMap<i64, usize> = HashMap::new();
        loop {
            let page = store::events::read(self.store.pool(), news.last_seq, NEWS_PAGE).await?;
            let Some(last) = page.last() else { break };
            news.last_seq = last.seq;
            // A short page was the end of the log: no need to ask again for the empty page after it (the
            // simulation looks after nearly every command, so that read would double its reads of the log).
            let done = (page.len() as i64) < NEWS_PAGE;
            for e in &page {
                let p = &e.payload;
                match e.kind.as_str() {
                    "offer_sent" => {
                        let (Some(id), Some(order_id), Some(worker_id)) = (
                            num_id(p, "offer", OfferId::get),
                            num_id(p, "order", OrderId::get),
                            num_id(p, "worker", WorkerId::get),
                        ) else {
                            continue;
                        };
                        let expires_at = parse_instant(&text(p, "expires_at"))
                            .map(|t| t.timestamp_millis())
                            .unwrap_or(e.at_ms);
                        offer_at.insert(id, news.offers.len());
                        news.offers.push(OfferSeen {
                            id,
                            order_id,
                            worker_id,
                            role_idx: p.get("role_idx").and_then(Value::as_i64).unwrap_or(0),
                            kind: text(p, "kind"),
                            status: "pending".into(),
                            urgent: p.get("urgent").and_then(Value::as_bool).unwrap_or(false),
                            created_at: e.at_ms,
                            expires_at,
                        });
                    }
                    "offer_closed" => {
                        if let Some(&i) =
                            num_id(p, "offer", OfferId::get).and_then(|id| offer_at.get(&id))
                        {
                            news.offers[i].status = text(p, "status");
                        }
                    }
                    "assignment_made" => {
                        let (Some(id), Some(order_id), Some(worker_id)) = (
                            num_id(p, "assignment", AssignmentId::get),
                            num_id(p, "order", OrderId::get),
                            num_id(p, "worker", WorkerId::get),
                        ) else {
                            continue;
                        };
                        assignment_at.insert(id, news.assignments.len());
                        news.assignments.push(AssignmentSeen {
                            id,
                            order_id,
                            worker_id,
                            kind: text(p, "kind"),
                            status: text(p, "status"),
                            created_at: e.at_ms,
                        });
                    }
                    "assignment_ended" | "checked_in" => {
                        let status = if e.kind == "checked_in" {
                            "checked_in".to_string()
                        } else {
                            text(p, "status")
                        };
                        if let Some(&i) = num_id(p, "assignment", AssignmentId::get)
                            .and_then(|id| assignment_at.get(&id))
                        {
                            news.assignments[i].status = status;
                        }
                    }
                    _ => {}
                }
            }
            if done {
                break;
            }
        }
        Ok(news)
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
