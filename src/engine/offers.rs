//! The worker's side of dispatch: accepting and declining offers, cancelling an assignment, and the
//! replacement that follows (a standby of the order first, then urgent offers to the on-call pool and to
//! other candidates).

use chrono::{DateTime, Utc};
use serde_json::json;

use super::orders::OrderState;
use super::{Engine, ms};
use crate::domain::{AgencyId, AssignmentId, OfferId, OrderId, WorkerId, WorkerStatus};
use crate::error::Error;
use crate::matching::MatchContext;
use crate::store::{self, Tx, orders::AssignmentRow};

/// Why an offer was not accepted: a code (`not_pending`, `expired`, `role_full`, `quota`, `standby_full`,
/// `overlap`) and a sentence.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The code.
    pub reason: &'static str,
    /// The sentence.
    pub detail: String,
}

/// Who is acting on an assignment.
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    /// The agency that owns it.
    Agency(AgencyId),
    /// The worker it belongs to.
    Worker(WorkerId),
}

/// An assignment the actor may act on: its agency's, or the worker's own (404 for any other, as for none).
pub(super) async fn actor_assignment(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    actor: Actor,
    id: AssignmentId,
) -> crate::Result<AssignmentRow> {
    store::orders::assignment(conn, id.get() as i64)
        .await?
        .filter(|a| match actor {
            Actor::Agency(ag) => a.agency_id == ag.get() as i64,
            Actor::Worker(w) => a.worker_id == w.get() as i64,
        })
        .ok_or_else(|| Error::NotFound("assignment".into()))
}

/// The strike a worker's own cancellation counts for, by its notice: a day or more none (not late), under
/// 24 h a third, under 8 h two thirds, under 2 h a whole strike, as a no-show. It is `cancellation_weight`
/// less one, in thirds, so the two gradings cannot drift apart.
pub fn cancellation_strike(notice: chrono::Duration) -> f64 {
    (cancellation_weight(notice) - 1.0) / 3.0
}

/// How much a cancellation weighs, by the notice it gave: a day or more 1, under 24 h 2, under 8 h 3, under
/// 2 h 4.
pub fn cancellation_weight(notice: chrono::Duration) -> f64 {
    let h = notice.num_minutes() as f64 / 60.0;
    if h >= 24.0 {
        1.0
    } else if h >= 8.0 {
        2.0
    } else if h >= 2.0 {
        3.0
    } else {
        4.0
    }
}

impl Engine {
    pub(super) async fn own_offer(
        &self,
        tx: &mut Tx,
        worker: WorkerId,
        id: OfferId,
    ) -> crate::Result<(store::orders::OfferRow, OrderState)> {
        let offer = store::orders::offer(tx.conn().await?, id.get() as i64)
            .await?
            .filter(|o| o.worker_id == worker.get() as i64)
            .ok_or_else(|| Error::NotFound("offer".into()))?;
        let st = self
            .load_order(tx, None, OrderId::new(offer.order_id as u64))
            .await?;
        Ok((offer, st))
    }

    /// Accepts an offer: only a pending, unexpired offer; never over the headcount; never a double booking.
    #[tracing::instrument(skip(self))]
    pub async fn accept_offer(
        &self,
        worker: WorkerId,
        id: OfferId,
    ) -> crate::Result<(OrderState, i64)> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (offer, mut st) = self.own_offer(&mut tx, worker, id).await?;
        match self
            .accept_loaded(&mut tx, &mut st, &offer, worker, now, None)
            .await?
        {
            Ok(assignment) => {
                self.offer_rest(&mut tx, &st, &offer, worker, now).await?;
                self.committed(tx).await?;
                Ok((st, assignment))
            }
            Err(refusal) => Err(Error::Conflict(refusal.detail)),
        }
    }

    /// Accepts `offer` of the order loaded in `tx` for `worker`. A refusal comes before anything is written,
    /// so the transaction may go on with other work.
    pub(super) async fn accept_loaded(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        offer: &store::orders::OfferRow,
        worker: WorkerId,
        now: chrono::DateTime<chrono::Utc>,
        series: Option<crate::domain::SeriesId>,
    ) -> crate::Result<Result<i64, Refusal>> {
        let refuse = |reason: &'static str, detail: String| Ok(Err(Refusal { reason, detail }));
        if offer.status != "pending" {
            return refuse("not_pending", format!("the offer is {}", offer.status));
        }
        if ms(now) >= offer.expires_at {
            return refuse("expired", "the offer has expired".into());
        }
        let role = offer.role_idx as usize;
        let (kind, status) = if offer.kind == "standby" {
            ("standby", "standby")
        } else {
            ("shift", "confirmed")
        };
        if kind == "shift" && st.filled(role) >= st.order.roles[role].headcount {
            return refuse("role_full", "the role is already full".into());
        }
        if kind == "shift" && !self.keeps_quota_reachable(st, role, worker) {
            return refuse(
                "quota",
                "the role keeps its remaining slots for workers who meet its quota".into(),
            );
        }
        if kind == "standby"
            && st.standby_held_for(role)
                >= self.standby_wanted_now(st).get(role).copied().unwrap_or(0)
        {
            return refuse(
                "standby_full",
                "the order holds all the standbys it needs".into(),
            );
        }
        let Some(assignment) = self
            .make_assignment(
                tx,
                st,
                worker,
                role,
                kind,
                status,
                Some(offer.id),
                offer.replaces.filter(|_| kind == "shift"),
                now,
                0.0,
            )
            .await?
        else {
            return refuse(
                "overlap",
                "the worker is booked elsewhere at an overlapping time (counting the rest gap)"
                    .into(),
            );
        };
        if !self
            .close_offer_of(tx, st, offer, "accepted", now, series)
            .await?
        {
            // The order's row lock is held and the offer was read pending under it: this cannot happen, and
            // would leave an assignment written, so the whole transaction fails.
            return Err(Error::Conflict("the offer is no longer pending".into()));
        }
        self.refresh(tx, st).await?;
        // A full role withdraws its other pending offers.
        if kind == "shift" && st.filled(role) >= st.order.roles[role].headcount {
            let pending: Vec<_> = st
                .offers
                .iter()
                .filter(|o| {
                    o.role_idx as usize == role && o.kind == "shift" && o.status == "pending"
                })
                .cloned()
                .collect();
            for o in &pending {
                self.close_offer(tx, st, o, "withdrawn", now).await?;
            }
            self.refresh(tx, st).await?;
        }
        // A role whose room for workers without its quota is used up withdraws their pending offers: any
        // offer still pending can be accepted without making the quota impossible.
        if kind == "shift" {
            let pending: Vec<_> = st
                .offers
                .iter()
                .filter(|o| {
                    o.role_idx as usize == role && o.kind == "shift" && o.status == "pending"
                })
                .filter(|o| {
                    !self.keeps_quota_reachable(st, role, WorkerId::new(o.worker_id as u64))
                })
                .cloned()
                .collect();
            for o in &pending {
                self.close_offer(tx, st, o, "withdrawn", now).await?;
            }
            if !pending.is_empty() {
                self.refresh(tx, st).await?;
            }
        }
        // The open slots are planned again over who is left.
        st.replacing = offer.replaces;
        self.dispatch(tx, st, now, offer.urgent != 0).await?;
        Ok(Ok(assignment))
    }

    /// Whether `worker` filling one more slot of `role` still leaves its quota reachable: they meet it, or
    /// the role has room for one more worker who does not.
    pub(super) fn keeps_quota_reachable(
        &self,
        st: &OrderState,
        role: usize,
        worker: WorkerId,
    ) -> bool {
        let r = &st.order.roles[role];
        let Some(q) = r.quotas.first() else {
            return true;
        };
        if self
            .index
            .get(worker)
            .is_some_and(|w| crate::dispatch::quota_met_by(q, &w))
        {
            return true;
        }
        let need = q.at_least.min(r.headcount);
        self.quota_split(st, role).1 < r.headcount - need
    }

    /// Declines an offer; the next candidate is offered the slot.
    #[tracing::instrument(skip(self))]
    pub async fn decline_offer(&self, worker: WorkerId, id: OfferId) -> crate::Result<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (offer, mut st) = self.own_offer(&mut tx, worker, id).await?;
        if offer.status != "pending" {
            return Err(Error::Conflict(format!("the offer is {}", offer.status)));
        }
        self.close_offer(&mut tx, &st, &offer, "declined", now)
            .await?;
        self.refresh(&mut tx, &mut st).await?;
        let urgent = offer.urgent != 0;
        // The next urgent offer replaces the same lost slot.
        st.replacing = offer.replaces;
        self.dispatch(&mut tx, &mut st, now, urgent).await?;
        self.committed(tx).await?;
        Ok(())
    }

    /// An assignment the actor may act on, with its order.
    pub(super) async fn own_assignment(
        &self,
        tx: &mut Tx,
        actor: Actor,
        id: AssignmentId,
    ) -> crate::Result<(AssignmentRow, OrderState)> {
        let a = actor_assignment(tx.conn().await?, actor, id).await?;
        let st = self
            .load_order(tx, None, OrderId::new(a.order_id as u64))
            .await?;
        Ok((a, st))
    }

    /// Cancels an assignment (the worker, or the agency); the engine dispatches a replacement, a standby of
    /// the order first. A worker's own cancellation counts against their record, weighted by notice.
    #[tracing::instrument(skip(self))]
    pub async fn cancel_assignment(
        &self,
        actor: Actor,
        id: AssignmentId,
    ) -> crate::Result<AssignmentRow> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (a, mut st) = self.own_assignment(&mut tx, actor, id).await?;
        if !matches!(a.status.as_str(), "confirmed" | "standby") {
            return Err(Error::Conflict(format!("the assignment is {}", a.status)));
        }
        let reason = match actor {
            Actor::Worker(_) => "worker_cancelled",
            Actor::Agency(_) => "agency_cancelled",
        };
        self.end_assignment(&mut tx, &st, &a, "cancelled", reason, now)
            .await?;
        if let Actor::Worker(w) = actor {
            let notice = st.order.shift.start() - now;
            self.bump_stats(&mut tx, w, now, |s| {
                s.cancellations += 1;
                s.cancellation_weight += cancellation_weight(notice);
            })
            .await?;
            // A late cancellation is a graded strike, counted with no-shows toward suspension.
            sqlx::query("UPDATE assignments SET strike_weight = $1 WHERE id = $2")
                .bind(cancellation_strike(notice))
                .bind(a.id)
                .execute(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
        }
        self.refresh(&mut tx, &mut st).await?;
        if a.kind == "shift" {
            self.replace(&mut tx, &mut st, a.role_idx as usize, Some(a.id), now)
                .await?;
        } else {
            self.dispatch(&mut tx, &mut st, now, false).await?;
        }
        if let Actor::Worker(w) = actor {
            self.suspend_if_struck_out(&mut tx, w, now).await?;
        }
        let updated = store::orders::assignment(tx.conn().await?, a.id)
            .await?
            .ok_or_else(|| Error::Internal("assignment vanished".into()))?;
        self.committed(tx).await?;
        Ok(updated)
    }

    /// Releases a worker who may no longer work (suspended, deleted) from everything still ahead: each future
    /// assignment (confirmed or standby, not yet started) ends `released` with `reason`, each pending offer is
    /// withdrawn, and each order touched dispatches a replacement (a standby of the order promoted first, as
    /// for a cancellation), all in the caller's transaction so no slot is left silently empty. The worker
    /// stays involved in those orders, so the replacement never goes back to them.
    pub(super) async fn release_worker(
        &self,
        tx: &mut Tx,
        worker: WorkerId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let orders: Vec<(i64,)> = sqlx::query_as(
            "SELECT order_id FROM assignments WHERE worker_id = $1 \
               AND status IN ('confirmed', 'standby') AND start_at > $2 \
             UNION SELECT order_id FROM offers WHERE worker_id = $1 AND status = 'pending' \
             ORDER BY 1",
        )
        .bind(worker.get() as i64)
        .bind(ms(now))
        .fetch_all(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        for (order,) in orders {
            let mut st = self
                .load_order(tx, None, OrderId::new(order as u64))
                .await?;
            let mine = |w: i64| w == worker.get() as i64;
            for o in st.offers.clone().iter() {
                if mine(o.worker_id) && o.status == "pending" {
                    self.close_offer(tx, &st, o, "withdrawn", now).await?;
                }
            }
            let released: Vec<AssignmentRow> = st
                .assignments
                .iter()
                .filter(|a| {
                    mine(a.worker_id)
                        && matches!(a.status.as_str(), "confirmed" | "standby")
                        && a.start_at > ms(now)
                })
                .cloned()
                .collect();
            for a in &released {
                self.end_assignment(tx, &st, a, "released", reason, now)
                    .await?;
            }
            self.refresh(tx, &mut st).await?;
            let mut replaced = false;
            for a in released.iter().filter(|a| a.kind == "shift") {
                self.replace(tx, &mut st, a.role_idx as usize, Some(a.id), now)
                    .await?;
                replaced = true;
            }
            if !replaced {
                self.dispatch(tx, &mut st, now, false).await?;
            }
        }
        // The worker's floaters belong to their pools, not to the orders above.
        self.release_floaters_of(tx, worker, reason, now).await
    }

    /// Fills a slot of `role` that was lost (no-show, cancellation): promotes the best fitting standby of the
    /// order at once; with none, urgent offers go to the on-call pool first, then to other candidates.
    pub(super) async fn replace(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        role: usize,
        lost: Option<i64>,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        if st.filled(role) >= st.order.roles[role].headcount
            || !matches!(st.row.status.as_str(), "open" | "filled" | "in_progress")
        {
            return Ok(());
        }
        if let Some(standby) = self.best_standby(st, role) {
            self.end_assignment(tx, st, &standby, "promoted", "replacement", now)
                .await?;
            let worker = WorkerId::new(standby.worker_id as u64);
            let made = self
                .make_assignment(
                    tx,
                    st,
                    worker,
                    role,
                    "shift",
                    "confirmed",
                    None,
                    lost,
                    now,
                    0.0,
                )
                .await?;
            if made.is_some() {
                store::events::append(
                    tx,
                    ms(now),
                    Some(st.order.agency.get()),
                    "standby_promoted",
                    &json!({
                        "order": st.order.id.to_string(), "worker": worker.to_string(),
                        "replaces": lost.map(|l| AssignmentId::new(l as u64).to_string()),
                        "lost_at": crate::domain::time::format_instant(now),
                    }),
                )
                .await?;
            }
            self.refresh(tx, st).await?;
            return self.update_status(tx, st, now).await;
        }
        // No standby of its own: a pooled order takes the pool's best fitting floater.
        if matches!(st.order.standby, crate::domain::StandbySpec::Pooled(_))
            && self.promote_floater(tx, st, role, lost, now).await?
        {
            return self.update_status(tx, st, now).await;
        }
        // No standby: urgent offers, the on-call pool first.
        if st.order.dispatch.mode == crate::domain::DispatchMode::Offer
            || now >= st.order.shift.start()
        {
            st.replacing = lost;
            self.offer_on_call(tx, st, role, now).await?;
            self.refresh(tx, st).await?;
            let urgent = now + chrono::Duration::hours(24) >= st.order.shift.start();
            let r = self.dispatch_urgent(tx, st, urgent, now).await;
            st.replacing = None;
            return r;
        }
        self.dispatch(tx, st, now, false).await
    }

    /// The prior of show-up probabilities at `agency`: fitted to its workers' records as the index holds them
    /// now (the same on every node at the same position in the log).
    pub(super) fn show_up_prior(&self, agency: AgencyId) -> crate::dispatch::standby::Prior {
        crate::dispatch::standby::Prior::fitted(&self.policy, &self.index.history(agency))
    }

    async fn dispatch_urgent(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        urgent: bool,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        // Urgent replacements go out as offers even for `assign` orders: the worker must confirm they can
        // come at short notice.
        let mode = st.order.dispatch.mode;
        st.order.dispatch.mode = crate::domain::DispatchMode::Offer;
        let r = self.dispatch(tx, st, now, urgent).await;
        st.order.dispatch.mode = mode;
        r
    }

    /// The standby of the order who fits `role` best (see [`can_step_in`]): holds its skills, languages and certifications; one
    /// held for this very role first, then by show-up probability, then id.
    fn best_standby(&self, st: &OrderState, role: usize) -> Option<AssignmentRow> {
        let r = &st.order.roles[role];
        let prior = self.show_up_prior(st.order.agency);
        let mut best: Option<((bool, f64), AssignmentRow)> = None;
        for a in st.assignments.iter().filter(|a| a.status == "standby") {
            let Some(w) = self.index.get(WorkerId::new(a.worker_id as u64)) else {
                continue;
            };
            if !can_step_in(&w, r) {
                continue;
            }
            let p = (
                a.role_idx as usize == role,
                crate::dispatch::standby::show_up(&w.stats, prior),
            );
            let better = match &best {
                None => true,
                Some((bp, ba)) => p > *bp || (p == *bp && a.worker_id < ba.worker_id),
            };
            if better {
                best = Some((p, a.clone()));
            }
        }
        best.map(|(_, a)| a)
    }

    /// Urgent offers to on-call workers whose window covers the shift and whose radius reaches the venue,
    /// if they fit the role.
    async fn offer_on_call(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        role: usize,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let open = st.order.roles[role]
            .headcount
            .saturating_sub(st.filled(role));
        let need = (open * st.order.dispatch.fanout).saturating_sub(st.pending(role));
        if need == 0 {
            return Ok(());
        }
        let involved = st.involved();
        let picks: Vec<(crate::domain::WorkerId, f64)> = {
            let live = self.live.read().expect("live state lock");
            let pool = live.on_call_for(&st.order.shift, st.order.venue.location);
            let ctx = MatchContext {
                order: &st.order,
                role: &st.order.roles[role],
                live: &live,
                policy: &self.policy,
                now,
                exclude: &involved,
            };
            // The on-call window is the worker's word that they are free then: it counts as availability
            // whatever their weekly windows say (`on_call_for` kept only windows covering the shift).
            let workers: Vec<_> = pool
                .into_iter()
                .filter_map(|w| self.index.get(w))
                .map(|w| {
                    let mut w = (*w).clone();
                    w.availability = crate::domain::availability::Availability::new(
                        w.availability.tz(),
                        vec![crate::domain::availability::WeeklyWindow::new(
                            crate::domain::availability::Days::from_bits(0x7f),
                            0,
                            24 * 60,
                        )],
                    );
                    std::sync::Arc::new(w)
                })
                .collect();
            crate::matching::rank(&ctx, &workers, need as usize)
                .ranked
                .into_iter()
                .map(|s| (s.worker.id, s.score))
                .collect()
        };
        for (w, score) in picks {
            self.send_offer(tx, st, w, role, "shift", true, now, score)
                .await?;
        }
        Ok(())
    }

    /// Changes a worker's record (and the tier and suspension that follow) in the database and the index.
    pub(super) async fn bump_stats(
        &self,
        tx: &mut Tx,
        worker: WorkerId,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut crate::domain::WorkerStats),
    ) -> crate::Result<()> {
        let Some(r) = store::workers::get_any_tx(tx, worker).await? else {
            return Ok(());
        };
        let mut stats = r.stats;
        f(&mut stats);
        store::workers::update_stats(tx, worker, &stats, r.status, ms(now)).await?;
        store::events::append(
            tx,
            ms(now),
            Some(r.agency.get()),
            "worker_stats",
            &json!({"worker": worker.to_string(), "completed_shifts": stats.completed_shifts,
                    "no_shows": stats.no_shows, "late_arrivals": stats.late_arrivals,
                    "cancellations": stats.cancellations, "rating_sum": stats.rating_sum,
                    "rating_count": stats.rating_count,
                    "record": crate::wire::worker::RecordBody::of(r.status, &stats)}),
        )
        .await?;
        Ok(())
    }
}

/// Whether a held standby or floater can step into a slot of `role` now: active, with the role's skills at their
/// levels, its languages and its certifications. The one check behind promotion from an order's standbys and
/// from a pool (the rest of the hard filters were passed when they were booked).
pub(super) fn can_step_in(w: &crate::domain::Worker, r: &crate::domain::Role) -> bool {
    w.status == WorkerStatus::Active
        && r.skills
            .iter()
            .all(|s| w.skill_level(&s.name).is_some_and(|l| l >= s.min_level))
        && r.languages.iter().all(|l| w.speaks(l))
        && r.certifications.iter().all(|c| w.certified(c))
}
