//! Timers: offer expiry, no-show at `start + grace`, order start and order end (standbys released, checked-in
//! workers checked out, leftover offers withdrawn), and asking again (an expired offer's worker becomes a
//! candidate once more when the pause after the expiry has passed and the order is at risk), and an order's
//! SLA (kind 7: the at-risk alert before its target, then the target itself; `sla.rs`), a standby pool's
//! end (kind 8: its floaters released; `standby_pools.rs`), and re-confirmation (kind 9: the request at
//! `start − lead_h`; kind 10: its deadline; `reconfirm.rs`). They are not kept in memory: the next due timer is always
//! derived from the stored state, so a restart loses none. With the manual clock, moving time forward fires
//! every due timer in time order, each at its own instant, before the call returns.

use chrono::{DateTime, Utc};

use super::{Engine, from_ms, ms};
use crate::domain::OrderId;
use crate::store;

/// How a timer claims its order's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// Wait for the lock (the manual clock: every due timer must have fired before the move answers).
    Wait,
    /// Skip an order another transaction holds (the ticker: whoever holds it fires it, or the next tick does).
    SkipLocked,
}

/// A timer that has fallen due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    /// A pending offer reaches `expires_at`.
    OfferExpiry { offer: i64 },
    /// A confirmed worker has not checked in by `start + grace`.
    NoShow { assignment: i64 },
    /// An order starts.
    OrderStart { order: i64 },
    /// An order ends.
    OrderEnd { order: i64 },
    /// A review of a low rating is still open at its due time (`review_overdue`, once).
    ReviewOverdue { review: i64 },
    /// An order at risk has expired offers whose pause has passed: their workers may be asked again.
    Reoffer { order: i64 },
    /// An undisputed timesheet's dispute window has ended: it is approved.
    AutoApprove { timesheet: i64 },
    /// An order's SLA timer (kind 7): its at-risk alert, then its target.
    Sla { order: i64 },
    /// A standby pool's window has ended (kind 8): its floaters not promoted are released.
    PoolEnd { pool: i64 },
    /// A confirmed worker is asked to confirm again (kind 9, `reconfirm.rs`).
    ReconfirmRequest { assignment: i64 },
    /// A re-confirmation request reaches its deadline (kind 10).
    ReconfirmDeadline { assignment: i64 },
}

impl Engine {
    /// The earliest timer due at or before `until`, with its instant, from one statement: the head of each
    /// kind (each the head of its own index), and the confirmed workers of started orders, whose no-show is
    /// due at their order's grace after the start.
    async fn next_due(
        &self,
        until: DateTime<Utc>,
    ) -> crate::Result<Option<(DateTime<Utc>, Timer)>> {
        let u = ms(until);
        let sql = heads_sql(self.reoffer_after.is_some());
        let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(u);
        if let Some(pause) = self.reoffer_after {
            query = query.bind(pause);
        }
        let heads: Vec<(i64, i64, i64, i64)> = query
            .fetch_all(self.store.pool())
            .await
            .map_err(store::db_error)?;
        let mut due: Vec<(i64, Timer)> = Vec::new();
        for (at, kind, id, order) in heads {
            let timer = match kind {
                0 => Timer::OfferExpiry { offer: id },
                1 => {
                    // `at` is when the worker could first be on site: the start or, for a replacement confirmed
                    // after the start, the confirmation.
                    let Some(grace) = self.grace_ms(order).await? else {
                        continue;
                    };
                    if at + grace > u {
                        continue;
                    }
                    due.push((at + grace, Timer::NoShow { assignment: id }));
                    continue;
                }
                2 => Timer::OrderStart { order: id },
                3 => Timer::OrderEnd { order: id },
                4 => Timer::ReviewOverdue { review: id },
                5 => Timer::Reoffer { order: id },
                6 => Timer::AutoApprove { timesheet: id },
                7 => Timer::Sla { order: id },
                8 => Timer::PoolEnd { pool: id },
                9 => Timer::ReconfirmRequest { assignment: id },
                10 => Timer::ReconfirmDeadline { assignment: id },
                _ => continue,
            };
            due.push((at, timer));
        }
        Ok(due.into_iter().min().map(|(at, t)| (from_ms(at), t)))
    }

    /// An order's no-show grace in milliseconds (fixed when the order is posted, so kept once read).
    async fn grace_ms(&self, order: i64) -> crate::Result<Option<i64>> {
        if let Some(g) = self.graces.get(&order) {
            return Ok(Some(g));
        }
        let Some(row) = store::orders::order(self.store.pool(), order).await? else {
            return Ok(None);
        };
        let g = i64::from(super::orders::parse_row(&row)?.no_show_grace_min) * 60_000;
        self.graces.insert(order, g);
        Ok(Some(g))
    }

    /// Moves the manual clock towards `until` by one step: when a timer is due by then, to that timer's
    /// instant (never backwards), firing it alone, and answers `Some(instant)`; otherwise to `until`, and
    /// answers `None`. A driver that steps lets the people it models react to what each timer caused (the
    /// next offer of a waterfall after an expiry) before the next one fires. The clock is not written to
    /// the store here: the driver ends with [`Engine::advance_clock`], which is.
    pub async fn step_clock(&self, until: DateTime<Utc>) -> crate::Result<Option<DateTime<Utc>>> {
        let _guard = self.timers.lock().await;
        let now = self.now();
        let next = self.next_due(until.max(now)).await?;
        let to = match next {
            Some((at, _)) => at.max(now),
            None => until.max(now),
        };
        if to > now {
            self.clock
                .set(to)
                .map_err(|e| crate::Error::Conflict(e.to_string()))?;
        }
        if let Some((_, timer)) = next {
            self.fire(timer, to, Claim::Wait).await?;
        }
        Ok(next.map(|_| to))
    }

    /// Fires every timer due by `until`, in time order, each at its own instant.
    pub(super) async fn fire_due(
        &self,
        until: DateTime<Utc>,
        set_clock: bool,
    ) -> crate::Result<usize> {
        let mut fired = 0;
        while let Some((at, timer)) = self.next_due(until).await? {
            if set_clock && at > self.now() {
                self.clock
                    .set(at)
                    .map_err(|e| crate::Error::Internal(e.to_string()))?;
            }
            // With the manual clock each timer fires at its own instant; with the system clock, now. A node moving
            // the manual clock waits for an order another node is busy with; a ticking node leaves it to them.
            let (when, claim) = if set_clock {
                (at, Claim::Wait)
            } else {
                (self.now(), Claim::SkipLocked)
            };
            if !self.fire(timer, when, claim).await? {
                break;
            }
            fired += 1;
        }
        Ok(fired)
    }

    /// Fires one timer in its own transaction, claiming it first: the order's row is locked (on PostgreSQL,
    /// `FOR UPDATE`, or `FOR UPDATE SKIP LOCKED` when another node may be firing it) and the timer is checked
    /// to be still due under that lock, so it fires once however many nodes try. Answers `false` when the
    /// order was locked by someone else and skipped.
    async fn fire(&self, timer: Timer, now: DateTime<Utc>, claim: Claim) -> crate::Result<bool> {
        tracing::debug!(?timer, %now, "timer");
        // Timers never join a request's transaction: each is its own unit of work.
        let mut tx = self.store.begin_plain().await?;
        if let Timer::ReviewOverdue { review } = timer {
            return self.review_overdue(tx, review, now, claim).await;
        }
        if let Timer::PoolEnd { pool } = timer {
            return self
                .close_pool(tx, pool, now, claim == Claim::SkipLocked)
                .await;
        }
        if let Timer::AutoApprove { timesheet } = timer {
            return self
                .auto_approve(tx, timesheet, now, claim == Claim::SkipLocked)
                .await;
        }
        let order = match timer {
            Timer::OfferExpiry { offer } => store::orders::offer(tx.conn().await?, offer)
                .await?
                .map(|o| o.order_id),
            Timer::NoShow { assignment }
            | Timer::ReconfirmRequest { assignment }
            | Timer::ReconfirmDeadline { assignment } => {
                store::orders::assignment(tx.conn().await?, assignment)
                    .await?
                    .map(|a| a.order_id)
            }
            Timer::OrderStart { order }
            | Timer::OrderEnd { order }
            | Timer::Reoffer { order }
            | Timer::Sla { order } => Some(order),
            Timer::ReviewOverdue { .. } | Timer::AutoApprove { .. } | Timer::PoolEnd { .. } => None,
        };
        let Some(order) = order else { return Ok(true) };
        if !self.claim_order(&mut tx, order, claim).await? {
            return Ok(false);
        }
        match timer {
            Timer::OfferExpiry { offer } => {
                // Read again under the lock: another node may have fired it, or the worker answered.
                let Some(o) = store::orders::offer(tx.conn().await?, offer)
                    .await?
                    .filter(|o| o.status == "pending" && o.expires_at <= ms(now))
                else {
                    return Ok(true);
                };
                let mut st = self
                    .load_order(&mut tx, None, OrderId::new(o.order_id as u64))
                    .await?;
                self.close_offer(&mut tx, &st, &o, "expired", now).await?;
                self.refresh(&mut tx, &mut st).await?;
                // The next urgent offer replaces the same lost slot.
                st.replacing = o.replaces;
                self.dispatch(&mut tx, &mut st, now, o.urgent != 0).await?;
            }
            Timer::NoShow { assignment } => {
                let Some(a) = store::orders::assignment(tx.conn().await?, assignment)
                    .await?
                    .filter(|a| a.status == "confirmed")
                else {
                    return Ok(true);
                };
                let mut st = self
                    .load_order(&mut tx, None, OrderId::new(a.order_id as u64))
                    .await?;
                self.no_show(&mut tx, &mut st, &a, now, "timer").await?;
            }
            Timer::OrderStart { order } => {
                let mut st = self
                    .load_order(&mut tx, None, OrderId::new(order as u64))
                    .await?;
                if !matches!(st.row.status.as_str(), "open" | "filled") {
                    return Ok(true);
                }
                for o in st
                    .offers
                    .clone()
                    .iter()
                    .filter(|o| o.status == "pending" && o.kind == "standby")
                {
                    self.close_offer(&mut tx, &st, o, "withdrawn", now).await?;
                }
                self.refresh(&mut tx, &mut st).await?;
                self.update_status(&mut tx, &mut st, now).await?;
            }
            Timer::Reoffer { order } => {
                let mut st = self
                    .load_order(&mut tx, None, OrderId::new(order as u64))
                    .await?;
                // Read again under the lock: the order may have been covered or handled by another node.
                let Some(pause) = self
                    .reoffer_after
                    .filter(|_| st.row.status == "open" && st.at_risk.is_some())
                else {
                    return Ok(true);
                };
                let workers = store::orders::mark_reask(&mut tx, order, ms(now) - pause).await?;
                if workers.is_empty() {
                    return Ok(true);
                }
                self.refresh(&mut tx, &mut st).await?;
                let again: Vec<String> = workers
                    .iter()
                    .map(|w| crate::domain::WorkerId::new(*w as u64))
                    .filter(|w| !st.involved().contains(w))
                    .map(|w| w.to_string())
                    .collect();
                store::events::append(
                    &mut tx,
                    ms(now),
                    Some(st.order.agency.get()),
                    "offers_reopened",
                    &json!({"order": st.order.id.to_string(), "workers": again}),
                )
                .await?;
                if now < st.order.shift.start() {
                    self.dispatch(&mut tx, &mut st, now, false).await?;
                }
            }
            Timer::OrderEnd { order } => {
                let mut st = self
                    .load_order(&mut tx, None, OrderId::new(order as u64))
                    .await?;
                if matches!(
                    st.row.status.as_str(),
                    "completed" | "cancelled" | "unfilled"
                ) {
                    return Ok(true);
                }
                for o in st.offers.clone().iter().filter(|o| o.status == "pending") {
                    self.close_offer(&mut tx, &st, o, "withdrawn", now).await?;
                }
                for a in st.assignments.clone().iter() {
                    match a.status.as_str() {
                        "standby" => {
                            self.end_assignment(&mut tx, &st, a, "released", "order_ended", now)
                                .await?
                        }
                        "checked_in" => {
                            self.complete(&mut tx, &st, a, now, None).await?;
                        }
                        "confirmed" => self.no_show(&mut tx, &mut st, a, now, "timer").await?,
                        _ => {}
                    }
                }
                self.refresh(&mut tx, &mut st).await?;
                // Pre-shift positions live only until the shift ends.
                self.forget_signals_of_order(&mut tx, order).await?;
                // An order no one was staffed for ends `unfilled`, not `completed`.
                let status = st.ended_status();
                store::orders::set_order_status(&mut tx, st.row.id, status, ms(now)).await?;
                store::events::append(
                    &mut tx,
                    ms(now),
                    Some(st.order.agency.get()),
                    "order_status",
                    &json!({"order": st.order.id.to_string(), "status": status}),
                )
                .await?;
            }
            Timer::Sla { order } => {
                let mut st = self
                    .load_order(&mut tx, None, OrderId::new(order as u64))
                    .await?;
                self.fire_sla(&mut tx, &mut st, now).await?;
            }
            Timer::ReconfirmRequest { assignment } => {
                self.fire_reconfirm_request(&mut tx, assignment, now)
                    .await?;
            }
            Timer::ReconfirmDeadline { assignment } => {
                let mut st = self
                    .load_order(&mut tx, None, OrderId::new(order as u64))
                    .await?;
                self.fire_reconfirm_deadline(&mut tx, &mut st, assignment, now)
                    .await?;
            }
            // Fired above, before any order is claimed.
            Timer::ReviewOverdue { .. } | Timer::AutoApprove { .. } | Timer::PoolEnd { .. } => {}
        }
        self.committed(tx).await?;
        Ok(true)
    }

    /// Flags a review still open at its due time, once: the review's row is claimed like an order's and the
    /// review checked again under the lock; the `review_overdue` event tells the agency's feed and webhooks.
    async fn review_overdue(
        &self,
        mut tx: store::Tx,
        review: i64,
        now: DateTime<Utc>,
        claim: Claim,
    ) -> crate::Result<bool> {
        let lock = match (self.store.backend(), claim) {
            (store::Backend::Postgres, Claim::Wait) => " FOR UPDATE",
            (store::Backend::Postgres, Claim::SkipLocked) => " FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT id, agency_id, assignment_id, due_at FROM reviews \
             WHERE id = $1 AND status = 'open' AND overdue_at IS NULL{lock}"
        )))
        .bind(review)
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let Some((id, agency, assignment, due_at)) = row else {
            // Resolved, flagged already, or held by another node (which fires it, or the next tick does).
            return Ok(claim == Claim::Wait);
        };
        if due_at > ms(now) {
            return Ok(true);
        }
        sqlx::query("UPDATE reviews SET overdue_at = $1 WHERE id = $2")
            .bind(ms(now))
            .bind(id)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency as u64),
            "review_overdue",
            &json!({"review": crate::domain::ReviewId::new(id as u64).to_string(),
                    "assignment": crate::domain::AssignmentId::new(assignment as u64).to_string(),
                    "due_at": crate::domain::time::format_instant(from_ms(due_at))}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(true)
    }

    /// Locks an order's row for a timer; `false` when it is skipped because another transaction holds it.
    async fn claim_order(
        &self,
        tx: &mut store::Tx,
        order: i64,
        claim: Claim,
    ) -> crate::Result<bool> {
        if self.store.backend() != store::Backend::Postgres {
            // SQLite's single writer: the transaction already excludes every other.
            return Ok(true);
        }
        let sql = match claim {
            Claim::Wait => "SELECT id FROM orders WHERE id = $1 FOR UPDATE",
            Claim::SkipLocked => "SELECT id FROM orders WHERE id = $1 FOR UPDATE SKIP LOCKED",
        };
        let row: Option<(i64,)> = sqlx::query_as(sql)
            .bind(order)
            .fetch_optional(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        Ok(row.is_some())
    }

    /// Fires whatever is due by the system clock (the ticker calls this every second).
    pub async fn tick(&self) -> crate::Result<usize> {
        let _guard = self.timers.lock().await;
        let now = self.now();
        let fired = self.fire_due(now, false).await?;
        self.expire_photos(now).await?;
        Ok(fired)
    }
}

use serde_json::json;

/// The heads of every timer kind due by `$1`, as rows `(at, kind, id, order)`: one subquery per kind, each
/// the first row of its own index; the asking-again head (kind 5, with the pause after an expiry as `$2`)
/// only when the engine asks again. Kind 1 rows are the confirmed workers of started orders (up to 1,000,
/// earliest first) with the instant their grace runs from and their order, whose grace decides the no-show.
fn heads_sql(reoffer: bool) -> &'static str {
    static WITH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    static WITHOUT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let build = |reoffer: bool| {
        let mut parts = vec![
            "SELECT expires_at AS at, 0 AS kind, id, 0 AS ord FROM offers \
             WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at, id LIMIT 1"
                .to_string(),
            "SELECT start_at AS at, 2 AS kind, id, 0 AS ord FROM orders \
             WHERE status IN ('open', 'filled') AND start_at <= $1 ORDER BY start_at, id LIMIT 1"
                .to_string(),
            "SELECT end_at AS at, 3 AS kind, id, 0 AS ord FROM orders \
             WHERE status IN ('open', 'filled', 'in_progress') AND end_at <= $1 ORDER BY end_at, id LIMIT 1"
                .to_string(),
            "SELECT due_at AS at, 4 AS kind, id, 0 AS ord FROM reviews \
             WHERE status = 'open' AND overdue_at IS NULL AND due_at <= $1 ORDER BY due_at, id LIMIT 1"
                .to_string(),
            "SELECT due_at AS at, 7 AS kind, order_id AS id, 0 AS ord FROM order_sla \
             WHERE due_at IS NOT NULL AND due_at <= $1 ORDER BY due_at, order_id LIMIT 1"
                .to_string(),
            super::pay::AUTO_APPROVAL_HEAD.to_string(),
            super::standby_pools::POOL_END_HEAD.to_string(),
            super::reconfirm::request_head(),
            super::reconfirm::deadline_head(),
            "SELECT CASE WHEN a.created_at > a.start_at THEN a.created_at ELSE a.start_at END AS at, \
             1 AS kind, a.id AS id, a.order_id AS ord FROM assignments a WHERE a.status = 'confirmed' \
             AND a.kind = 'shift' AND a.start_at <= $1 ORDER BY a.start_at, a.id LIMIT 1000"
                .to_string(),
        ];
        if reoffer {
            // Expired shift offers of orders at risk, not yet considered: due when the pause has passed and
            // the order is at risk (whichever is later), if the order has not started by then.
            let at =
                "CASE WHEN r.since > o.expires_at + $2 THEN r.since ELSE o.expires_at + $2 END";
            parts.push(format!(
                "SELECT {at} AS at, 5 AS kind, o.order_id AS id, 0 AS ord FROM offers o \
                 JOIN order_risks r ON r.order_id = o.order_id JOIN orders d ON d.id = o.order_id \
                 WHERE o.status = 'expired' AND o.kind = 'shift' AND o.reask = 0 AND d.status = 'open' \
                 AND {at} <= $1 AND d.start_at > {at} ORDER BY 1, o.order_id LIMIT 1"
            ));
        }
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| format!("SELECT at, kind, id, ord FROM ({p}) h{i}"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ")
    };
    if reoffer {
        WITH.get_or_init(|| build(true))
    } else {
        WITHOUT.get_or_init(|| build(false))
    }
}
