//! Orders: posting, reading, headcount changes, cancellation, listing and candidates, and the dispatch step
//! that tops an order up (offers or assignments for open slots, standbys) after every change.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::{Engine, ms};
use crate::dispatch::{
    CrewPlan, NAMED_BONUS, OfferRole, candidates, plan_crew, plan_offers, quota_met_by, standby,
};
use crate::domain::{
    AgencyId, DispatchMode, Order, OrderId, Role, SeriesId, StandbySpec, Worker, WorkerId,
};
use crate::error::{Error, FieldError};
use crate::matching::{MatchContext, Ranking};
use crate::store::{
    self, Tx, orders::AssignmentRow, orders::OfferRow, orders::OrderRow, orders::RiskRow,
};
use crate::wire::order::OrderBody;

/// Assignment statuses that fill a slot of a role.
pub const FILLING: [&str; 3] = ["confirmed", "checked_in", "completed"];

/// Candidates per role ranked for standbys (and beyond those wanted for open slots).
const STANDBY_POOL: usize = 200;

/// What being one of the client's favourites adds to a candidate's score in the offer plan: more than any
/// score, so favourites come first.
const FAVOURITE_BONUS: f64 = 100.0;

/// What a `star` worker gets on `high` and `urgent` orders: more than any score, less than a favourite.
const STAR_BONUS: f64 = 10.0;

/// How long an urgent replacement offer stays open.
pub const URGENT_TTL: Duration = Duration::minutes(5);

/// An order with its offers and assignments, as stored.
#[derive(Debug, Clone)]
pub struct OrderState {
    /// The row.
    pub row: OrderRow,
    /// The validated order.
    pub order: Order,
    /// The order's pending offers, in id order (closed ones stay in the store and the event log).
    pub offers: Vec<OfferRow>,
    /// Every worker the order has ever offered a slot or a standby to, in any state of the offer, except those
    /// who may be asked again (one offer of the order, expired, its pause passed while the order was at risk).
    pub offered: Vec<i64>,
    /// Every assignment of the order, in id order.
    pub assignments: Vec<AssignmentRow>,
    /// Whether candidates ran out before the order was full.
    pub at_risk: Option<RiskRow>,
    /// The assignment whose lost slot the urgent offers sent now replace (set around a replacement's
    /// dispatch; not stored).
    pub replacing: Option<i64>,
    /// The order's SLA, if its client had a tier when it was posted.
    pub sla: Option<store::sla::OrderSlaRow>,
    /// For a pooled order in its pools: the pools, their floaters wanted and held (as read with the order).
    pub pool: Option<PoolLink>,
}

/// A pooled order's pools as its answer shows them.
#[derive(Debug, Clone, Default)]
pub struct PoolLink {
    /// The pools of its roles (one unless its roles ask for different skills), by role.
    pub ids: Vec<crate::domain::StandbyPoolId>,
    /// Floaters wanted, as last sized, summed over the pools.
    pub wanted: u32,
    /// Floaters held, summed over the pools.
    pub held: u32,
}

impl OrderState {
    /// Workers in slots of `role`.
    pub fn filled(&self, role: usize) -> u32 {
        self.assignments
            .iter()
            .filter(|a| a.role_idx as usize == role && a.kind == "shift")
            .filter(|a| FILLING.contains(&a.status.as_str()))
            .count() as u32
    }

    /// Pending shift offers of `role`.
    pub fn pending(&self, role: usize) -> u32 {
        self.offers
            .iter()
            .filter(|o| o.role_idx as usize == role && o.kind == "shift" && o.status == "pending")
            .count() as u32
    }

    /// Standbys held.
    pub fn standby_held(&self) -> u32 {
        self.assignments
            .iter()
            .filter(|a| a.status == "standby")
            .count() as u32
    }

    /// Standbys held for `role`.
    pub fn standby_held_for(&self, role: usize) -> u32 {
        self.assignments
            .iter()
            .filter(|a| a.status == "standby" && a.role_idx as usize == role)
            .count() as u32
    }

    /// Pending standby offers for `role`.
    pub fn standby_pending_for(&self, role: usize) -> u32 {
        self.offers
            .iter()
            .filter(|o| o.kind == "standby" && o.status == "pending" && o.role_idx as usize == role)
            .count() as u32
    }

    /// Confirmed workers of `role` who missed a re-confirmation and keep their assignment (the agency does
    /// not re-offer): each wants one more standby.
    pub fn at_risk_for(&self, role: usize) -> u32 {
        self.assignments
            .iter()
            .filter(|a| a.role_idx as usize == role && a.kind == "shift" && a.status == "confirmed")
            .filter(|a| a.reconfirm_missed_at.is_some())
            .count() as u32
    }

    /// Whether the order wants standbys of any kind: its own or its pool's (its setting), or one for a worker
    /// at risk.
    pub fn wants_standby(&self) -> bool {
        self.order.standby != StandbySpec::Fixed(0)
            || (0..self.order.roles.len()).any(|r| self.at_risk_for(r) > 0)
    }

    /// Whether the order wants standbys of its own: a per-order setting, or a worker at risk — except in a
    /// pooled order, whose pool covers its workers at risk by counting them as not coming.
    pub fn wants_own_standby(&self) -> bool {
        self.order.standby.per_order()
            || (self.order.standby.pool_target().is_none()
                && (0..self.order.roles.len()).any(|r| self.at_risk_for(r) > 0))
    }

    /// Workers already in the order: offered (in any state) or assigned.
    pub fn involved(&self) -> HashSet<WorkerId> {
        self.offered
            .iter()
            .copied()
            .chain(self.assignments.iter().map(|a| a.worker_id))
            .map(|w| WorkerId::new(w as u64))
            .collect()
    }

    /// Whether every role has its headcount.
    pub fn all_filled(&self) -> bool {
        (0..self.order.roles.len()).all(|r| self.filled(r) >= self.order.roles[r].headcount)
    }

    /// How an order that has ended ends: `completed` when someone was staffed (a shift assignment checked in
    /// or completed), `unfilled` when no one was.
    pub fn ended_status(&self) -> &'static str {
        let staffed = self
            .assignments
            .iter()
            .any(|a| a.kind == "shift" && matches!(a.status.as_str(), "checked_in" | "completed"));
        if staffed { "completed" } else { "unfilled" }
    }

    /// The status the order should have at `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> &'static str {
        match self.row.status.as_str() {
            "cancelled" => "cancelled",
            "completed" => "completed",
            "unfilled" => "unfilled",
            _ if now >= self.order.shift.end() => self.ended_status(),
            _ if now >= self.order.shift.start() => "in_progress",
            _ if self.all_filled() => "filled",
            _ => "open",
        }
    }
}

/// A dispatch's ranking and crew, worked out before its transaction.
#[derive(Default)]
pub(super) struct Prepared {
    /// Each role's candidates in dispatch order, when offers or standbys are wanted.
    ranked: Option<Vec<Vec<(WorkerId, f64)>>>,
    /// The crew for the open slots, in assign mode.
    crew: Option<CrewPlan>,
}

/// Parses a stored order.
pub(super) fn parse_row(row: &OrderRow) -> crate::Result<Order> {
    let body: OrderBody = serde_json::from_str(&row.body)
        .map_err(|e| Error::Internal(format!("stored order {}: {e}", row.id)))?;
    body.parse(
        OrderId::new(row.id as u64),
        AgencyId::new(row.agency_id as u64),
    )
    .map_err(|e| Error::Internal(format!("stored order {}: {e:?}", row.id)))
}

/// An order's state from its row: the validated order, its offers and its assignments, read on one
/// connection (a transaction's, or one taken from the pool for a read).
pub(super) async fn state_from_row(
    conn: &mut sqlx::AnyConnection,
    row: OrderRow,
) -> crate::Result<OrderState> {
    let order = parse_row(&row)?;
    let offers = store::orders::pending_offers_of_order(&mut *conn, row.id).await?;
    let offered = store::orders::offered_workers(&mut *conn, row.id).await?;
    let assignments = store::orders::assignments_of_order(&mut *conn, row.id).await?;
    let at_risk = store::orders::risk(&mut *conn, row.id).await?;
    let sla = store::sla::order_sla(&mut *conn, row.id).await?;
    let pool = if matches!(order.standby, StandbySpec::Pooled(_)) {
        super::standby_pools::link(&mut *conn, row.id).await?
    } else {
        None
    };
    Ok(OrderState {
        row,
        order,
        offers,
        offered,
        assignments,
        at_risk,
        replacing: None,
        sla,
        pool,
    })
}

/// Parses an order id from the API (an unknown shape is simply not found).
pub fn order_id(raw: &str) -> crate::Result<OrderId> {
    raw.parse::<OrderId>()
        .map_err(|_| Error::NotFound("order".into()))
}

/// Filters on the order list.
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Orders ending after this.
    pub from: Option<DateTime<Utc>>,
    /// Orders starting before this.
    pub to: Option<DateTime<Utc>>,
    /// Only the orders of this client.
    pub client_ref: Option<String>,
}

/// Where one worker stands among a role's candidates (see [`Engine::candidate_standing`]).
#[derive(Debug, Clone)]
pub enum Standing {
    /// A candidate: rank among the eligible (1 for the best), and the score with its explanation.
    Candidate {
        /// 1 for the best.
        rank: usize,
        /// The score and its explanation.
        scored: crate::matching::Scored,
    },
    /// Left out by this hard filter.
    Excluded(crate::matching::Reason),
}

impl Engine {
    /// Loads an order with its offers and assignments inside a transaction; another agency's is a 404.
    pub(super) async fn load_order(
        &self,
        tx: &mut Tx,
        agency: Option<AgencyId>,
        id: OrderId,
    ) -> crate::Result<OrderState> {
        if self.store.backend() == store::Backend::Postgres {
            // Several nodes may write: the order's row lock serialises changes to its slots (no over-fill).
            sqlx::query("SELECT id FROM orders WHERE id = $1 FOR UPDATE")
                .bind(id.get() as i64)
                .execute(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
        }
        let row = store::orders::order(tx.conn().await?, id.get() as i64)
            .await?
            .filter(|r| agency.is_none_or(|a| r.agency_id == a.get() as i64))
            .ok_or_else(|| Error::NotFound("order".into()))?;
        state_from_row(tx.conn().await?, row).await
    }

    /// Reads an order (outside a transaction).
    pub async fn order(&self, agency: AgencyId, id: OrderId) -> crate::Result<OrderState> {
        let pool = self.store.pool();
        let row = store::orders::order(pool, id.get() as i64)
            .await?
            .filter(|r| r.agency_id == agency.get() as i64)
            .ok_or_else(|| Error::NotFound("order".into()))?;
        let mut conn = pool.acquire().await.map_err(store::db_error)?;
        state_from_row(&mut conn, row).await
    }

    /// Posts an order and dispatches it at once.
    #[tracing::instrument(skip(self, body))]
    pub async fn post_order(&self, agency: AgencyId, body: OrderBody) -> crate::Result<OrderState> {
        let mut order = body
            .parse(OrderId::new(0), agency)
            .map_err(Error::Invalid)?;
        let now = self.now();
        self.check_new_order(agency, &order, now)?;
        // The client's SLA tier raises the order's dispatch before anything is planned or stored.
        let sla = self.tier_for_new_order(agency, &order.client_ref).await?;
        if let Some((_, tier)) = &sla {
            tier.raise(&mut order);
        }
        let mut st = self.fresh_state(agency, order, now);
        // The ranking and the crew of a new order depend only on it and the views: worked out before the
        // transaction, so the writer (on SQLite, the one writer of the file) is held only for the writes.
        let prepared = self
            .prepare_dispatch(std::slice::from_ref(&st), now)
            .await
            .pop()
            .expect("one order's");
        let mut tx = self.store.begin().await?;
        self.write_posted(&mut tx, &mut st, prepared, None, sla.as_ref(), now)
            .await?;
        self.committed(tx).await?;
        Ok(st)
    }

    /// What a new order must pass beyond its body's own checks: its shift is not over, its pools exist.
    pub(super) fn check_new_order(
        &self,
        agency: AgencyId,
        order: &Order,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        if order.shift.end() <= now {
            return Err(Error::Invalid(vec![FieldError::new(
                "end",
                "the shift is already over",
            )]));
        }
        let live = self.live.read().expect("live state lock");
        let unknown: Vec<FieldError> = order
            .roles
            .iter()
            .enumerate()
            .filter(|(_, r)| r.pool.is_some_and(|p| live.pool(agency, p.id).is_none()))
            .map(|(i, _)| {
                FieldError::new(
                    format!("roles[{i}].pool.id"),
                    "no pool of the agency has this id",
                )
            })
            .collect();
        if !unknown.is_empty() {
            return Err(Error::Invalid(unknown));
        }
        Ok(())
    }

    /// The state of an order about to be posted (no id yet).
    pub(super) fn fresh_state(
        &self,
        agency: AgencyId,
        order: Order,
        now: DateTime<Utc>,
    ) -> OrderState {
        let stored = serde_json::to_string(&OrderBody::from_order(&order)).expect("serialises");
        OrderState {
            row: OrderRow {
                id: 0,
                agency_id: agency.get() as i64,
                body: stored,
                status: "open".into(),
                start_at: ms(order.shift.start()),
                end_at: ms(order.shift.end()),
                created_at: ms(now),
                version: 1,
                series_id: None,
            },
            order,
            offers: Vec::new(),
            offered: Vec::new(),
            assignments: Vec::new(),
            at_risk: None,
            replacing: None,
            sla: None,
            pool: None,
        }
    }

    /// Writes a new order (a shift of `series`, if given) with its `order_posted` event and dispatches it;
    /// `sla` is the client's tier, already raised into the order, recorded with it.
    pub(super) async fn write_posted(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        prepared: Prepared,
        series: Option<i64>,
        sla: Option<&(crate::domain::sla::SlaConfig, crate::domain::sla::SlaTier)>,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let agency = st.order.agency;
        let id = store::orders::insert_order(
            tx,
            agency.get() as i64,
            &st.order.client_ref,
            &st.row.body,
            ms(st.order.shift.start()),
            ms(st.order.shift.end()),
            ms(now),
        )
        .await?;
        if let Some(series) = series {
            store::series::attach(tx, id, series).await?;
        }
        st.row.id = id;
        st.row.series_id = series;
        st.order.id = OrderId::new(id as u64);
        if let Some((config, tier)) = sla {
            self.record_order_sla(tx, st, config, tier, now).await?;
        }
        let sla_payload = st.sla.as_ref().map(|s| {
            json!({"tier": s.tier, "target_at": crate::domain::time::format_instant(super::from_ms(s.target_at)),
                   "at_risk_at": crate::domain::time::format_instant(super::from_ms(s.alert_at))})
        });
        let mut payload = json!({"order": OrderId::new(id as u64).to_string(), "body": OrderBody::from_order(&st.order),
                                 "sla": sla_payload});
        if let Some(series) = series {
            payload["series"] = json!(crate::domain::SeriesId::new(series as u64).to_string());
        }
        store::events::append(tx, ms(now), Some(agency.get()), "order_posted", &payload).await?;
        self.dispatch_prepared(tx, st, now, false, Some(prepared))
            .await
    }

    /// What [`Self::dispatch`] would rank and plan for each of `states` now, worked out without the database,
    /// on a ranking thread (see `rankers`).
    pub(super) async fn prepare_dispatch(
        &self,
        states: &[OrderState],
        now: DateTime<Utc>,
    ) -> Vec<Prepared> {
        let states = states.to_vec();
        self.off_runtime(move |engine| {
            states
                .iter()
                .map(|st| engine.prepare_dispatch_here(st, now))
                .collect()
        })
        .await
    }

    /// [`Self::prepare_dispatch`] on the calling thread.
    fn prepare_dispatch_here(&self, st: &OrderState, now: DateTime<Utc>) -> Prepared {
        let mut prepared = Prepared::default();
        if now >= st.order.shift.end() {
            return prepared;
        }
        let standbys = now < st.order.shift.start() && st.wants_standby();
        let wanted_offers = self.offers_wanted(st);
        if standbys
            || (st.order.dispatch.mode == DispatchMode::Offer
                && wanted_offers.iter().any(|n| *n > 0))
        {
            let extra: u32 = wanted_offers.iter().sum();
            prepared.ranked =
                Some(self.ranked_by_role(st, &st.involved(), now, STANDBY_POOL + extra as usize));
        }
        let open = self.open_slots(st);
        if st.order.dispatch.mode == DispatchMode::Assign && open.iter().any(|n| *n > 0) {
            let live = self.live.read().expect("live state lock");
            prepared.crew = Some(plan_crew(
                &self.index,
                &live,
                &self.policy,
                &st.order,
                &open,
                &st.involved(),
                now,
            ));
        }
        prepared
    }

    /// Reloads the order's assignments (and its standby pool's link) after writes that touched nothing else.
    pub(super) async fn refresh_assignments(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
    ) -> crate::Result<()> {
        st.assignments = store::orders::assignments_of_order(tx.conn().await?, st.row.id).await?;
        if matches!(st.order.standby, StandbySpec::Pooled(_)) {
            st.pool = super::standby_pools::link(tx.conn().await?, st.row.id).await?;
        }
        Ok(())
    }

    /// Reloads the order's offers and assignments after writes.
    pub(super) async fn refresh(&self, tx: &mut Tx, st: &mut OrderState) -> crate::Result<()> {
        st.offers = store::orders::pending_offers_of_order(tx.conn().await?, st.row.id).await?;
        st.offered = store::orders::offered_workers(tx.conn().await?, st.row.id).await?;
        st.assignments = store::orders::assignments_of_order(tx.conn().await?, st.row.id).await?;
        if matches!(st.order.standby, StandbySpec::Pooled(_)) {
            st.pool = super::standby_pools::link(tx.conn().await?, st.row.id).await?;
        }
        // `at_risk` is read with the order and changed only by `watch_risk`, which keeps `st` in step.
        Ok(())
    }

    /// Checks that the order's state kept in step with its writes equals the state read again (debug builds,
    /// so that every test that dispatches checks it).
    #[cfg(debug_assertions)]
    async fn check_state(&self, tx: &mut Tx, st: &OrderState) -> crate::Result<()> {
        let offers = store::orders::pending_offers_of_order(tx.conn().await?, st.row.id).await?;
        let mut offered = store::orders::offered_workers(tx.conn().await?, st.row.id).await?;
        let assignments = store::orders::assignments_of_order(tx.conn().await?, st.row.id).await?;
        let ids = |o: &[OfferRow]| {
            o.iter()
                .map(|o| (o.id, o.status.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(&st.offers),
            ids(&offers),
            "pending offers of order {}",
            st.row.id
        );
        let mut kept = st.offered.clone();
        kept.sort_unstable();
        offered.sort_unstable();
        assert_eq!(kept, offered, "offered workers of order {}", st.row.id);
        let keys = |a: &[store::orders::AssignmentRow]| {
            a.iter()
                .map(|a| (a.id, a.status.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            keys(&st.assignments),
            keys(&assignments),
            "assignments of order {}",
            st.row.id
        );
        Ok(())
    }

    /// Tops an order up: assignments (assign mode) or offers (offer mode) for open slots, standbys, and the
    /// order's status. Called after every change to the order. `urgent` marks replacement offers (5-minute TTL).
    pub(super) async fn dispatch(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
        urgent: bool,
    ) -> crate::Result<()> {
        self.dispatch_prepared(tx, st, now, urgent, None).await
    }

    /// [`Self::dispatch`], with the ranking and the crew worked out beforehand when `prepared` is given.
    async fn dispatch_prepared(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
        urgent: bool,
        prepared: Option<Prepared>,
    ) -> crate::Result<()> {
        let (pre_ranked, pre_crew) = match prepared {
            Some(p) => (Some(p.ranked.unwrap_or_default()), p.crew),
            None => (None, None),
        };
        let active = matches!(st.row.status.as_str(), "open" | "filled" | "in_progress");
        if active && now < st.order.shift.end() {
            // One ranking per role serves the slot offers and the standbys; the state is read again only
            // when something was written.
            let standbys = now < st.order.shift.start() && st.wants_standby();
            let wanted_offers = self.offers_wanted(st);
            let ranked = if let Some(r) = pre_ranked {
                r
            } else if standbys
                || (st.order.dispatch.mode == DispatchMode::Offer
                    && wanted_offers.iter().any(|n| *n > 0))
            {
                let extra: u32 = wanted_offers.iter().sum();
                self.ranked_by_role(st, &st.involved(), now, STANDBY_POOL + extra as usize)
            } else {
                Vec::new()
            };
            // Offers sent and assignments made are added to the order's state as they are written (or read
            // again, with what they change in the order's rows).
            let assign = st.order.dispatch.mode == DispatchMode::Assign;
            if assign {
                self.assign_open(tx, st, now, pre_crew).await?;
            } else {
                self.offer_open(tx, st, now, urgent).await?;
            }
            // Assign mode writes assignments only, and `assign_open` leaves them in the state: the order's
            // offers are as they were.
            if standbys && self.top_up_standby(tx, st, now, &ranked).await? > 0 && assign {
                self.refresh_assignments(tx, st).await?;
            }
            #[cfg(debug_assertions)]
            self.check_state(tx, st).await?;
            if standbys && matches!(st.order.standby, StandbySpec::Pooled(_)) {
                self.top_up_pool(tx, st, now, &ranked).await?;
                st.pool = super::standby_pools::link(tx.conn().await?, st.row.id).await?;
            }
            if st.order.dispatch.mode == DispatchMode::Offer {
                self.watch_risk(tx, st, now, urgent).await?;
            }
        }
        self.update_status(tx, st, now).await
    }

    /// Writes the status the order should have now, with an event when it changes.
    pub(super) async fn update_status(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let status = match st.status_at(now) {
            // A role's quota counts: the order is filled only when every quota holds too.
            "filled" if !self.quotas_hold(st) => "open",
            s => s,
        };
        if status != st.row.status {
            store::orders::set_order_status(tx, st.row.id, status, ms(now)).await?;
            st.row.version += 1;
            store::events::append(
                tx,
                ms(now),
                Some(st.order.agency.get()),
                "order_status",
                &json!({"order": st.order.id.to_string(), "status": status}),
            )
            .await?;
            st.row.status = status.to_string();
        }
        self.watch_sla(tx, st, now).await
    }

    fn open_slots(&self, st: &OrderState) -> Vec<u32> {
        (0..st.order.roles.len())
            .map(|r| st.order.roles[r].headcount.saturating_sub(st.filled(r)))
            .collect()
    }

    async fn assign_open(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
        mut planned: Option<CrewPlan>,
    ) -> crate::Result<usize> {
        // The views may not yet hold a booking another transaction has just made: the database refuses such a
        // pick. A one-role crew takes the next best of the plan's spares in its place (what planning again
        // without the refused would pick, found without ranking again while the writer waits); otherwise, or
        // when the spares run out, the crew is planned again without those workers (a few rounds at most).
        const ROUNDS: usize = 3;
        let mut made = 0;
        let mut refused: HashSet<WorkerId> = HashSet::new();
        let mut spares: std::collections::VecDeque<(WorkerId, f64)> = Default::default();
        let mut plans = 0;
        // Whether `st.assignments` holds every assignment written so far (else they are read again at the end).
        let mut current = true;
        loop {
            let open = self.open_slots(st);
            if open.iter().all(|n| *n == 0) {
                break;
            }
            let involved = st.involved();
            spares.retain(|(w, _)| !involved.contains(w) && !refused.contains(w));
            let mut picks: Vec<(WorkerId, usize, f64)> = if made + refused.len() > 0
                && st.order.roles.len() == 1
                && spares.len() >= open[0] as usize
            {
                spares
                    .drain(..open[0] as usize)
                    .map(|(w, score)| (w, 0, score))
                    .collect()
            } else {
                if plans == ROUNDS {
                    break;
                }
                plans += 1;
                let plan = match planned.take() {
                    Some(plan) => plan,
                    None => {
                        let mut exclude = involved;
                        exclude.extend(refused.iter().copied());
                        let live = self.live.read().expect("live state lock");
                        plan_crew(
                            &self.index,
                            &live,
                            &self.policy,
                            &st.order,
                            &open,
                            &exclude,
                            now,
                        )
                    }
                };
                spares = match plan.roles.as_slice() {
                    [one] => one.spares.iter().map(|s| (s.worker.id, s.score)).collect(),
                    _ => Default::default(),
                };
                plan.crew
                    .picks
                    .iter()
                    .map(|p| {
                        let score = plan.scored(p.role, p.worker).map_or(0.0, |s| s.score);
                        (p.worker, p.role, score)
                    })
                    .collect()
            };
            if picks.is_empty() {
                break;
            }
            let mut refused_now = 0;
            if st.order.roles.len() == 1 && !spares.is_empty() {
                // A one-role crew is booked with its spares in one statement: the first of them who are free,
                // picks first, as many as the picks. A pick booked meanwhile gives way to the next spare in the
                // same statement instead of costing another.
                let wanted = picks.len();
                picks.extend(spares.drain(..).map(|(w, score)| (w, 0, score)));
                let ids = self
                    .make_assignments(tx, st, &picks, "shift", "confirmed", now, Some(wanted))
                    .await?;
                // The rows written are known: they join the order's state without being read back (a pooled
                // order's pool link is read again at the end).
                let new = self.new_assignments(st, "shift", "confirmed", now);
                let mut rows: Vec<store::orders::AssignmentRow> = picks
                    .iter()
                    .zip(&ids)
                    .filter_map(|((w, r, _), id)| {
                        id.map(|id| new.row(id, w.get() as i64, *r as i64))
                    })
                    .collect();
                rows.sort_by_key(|r| r.id);
                if !rows.is_empty() && matches!(st.order.standby, StandbySpec::Pooled(_)) {
                    current = false;
                }
                st.assignments.extend(rows);
                #[cfg(debug_assertions)]
                {
                    let stored =
                        store::orders::assignments_of_order(tx.conn().await?, st.row.id).await?;
                    assert_eq!(
                        format!("{stored:?}"),
                        format!("{:?}", st.assignments),
                        "assignments of order {} as booked",
                        st.row.id
                    );
                }
                let booked = ids.iter().flatten().count();
                let last = ids.iter().rposition(Option::is_some);
                for (i, ((worker, _, _), id)) in picks.iter().zip(&ids).enumerate() {
                    match id {
                        Some(_) => made += 1,
                        // Those passed over were booked; those after the last one booked were not needed.
                        None if booked < wanted || last.is_some_and(|l| i < l) => {
                            refused.insert(*worker);
                            refused_now += 1;
                        }
                        None => {}
                    }
                }
                if booked == wanted {
                    break;
                }
            } else {
                // Workers are booked in id order, so two commands booking overlapping crews on different orders
                // wait for each other in one direction only and never deadlock on the exclusion constraint.
                picks.sort_by_key(|p| p.0);
                let ids = self
                    .make_assignments(tx, st, &picks, "shift", "confirmed", now, None)
                    .await?;
                for ((worker, _, _), id) in picks.iter().zip(&ids) {
                    match id {
                        Some(_) => {
                            made += 1;
                            current = false;
                        }
                        None => {
                            refused.insert(*worker);
                            refused_now += 1;
                        }
                    }
                }
            }
            if refused_now == 0 {
                break;
            }
            self.refresh_assignments(tx, st).await?;
            current = true;
        }
        if !current {
            self.refresh_assignments(tx, st).await?;
        }
        Ok(made)
    }

    /// Inserts an assignment if the worker is still free (the database checks), with its event.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn make_assignment(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        worker: WorkerId,
        role: usize,
        kind: &str,
        status: &str,
        offer: Option<i64>,
        replaces: Option<i64>,
        now: DateTime<Utc>,
        score: f64,
    ) -> crate::Result<Option<i64>> {
        let half_gap = self.policy.rest_gap.num_milliseconds() / 2;
        // A worker who accepted an offer, or a standby promoted, is waited for; a pick among candidates is not.
        let wait = offer.is_some() || replaces.is_some();
        let id = store::orders::insert_assignment(
            tx,
            st.row.id,
            st.row.agency_id,
            worker.get() as i64,
            role as i64,
            kind,
            status,
            ms(st.order.shift.start()),
            ms(st.order.shift.end()),
            half_gap,
            offer,
            replaces,
            ms(now),
            wait,
        )
        .await?;
        if let Some(id) = id {
            let made = assignment_made(st, id, worker, role, kind, status, offer, replaces, score);
            append_made(tx, st, &made, now).await?;
        }
        Ok(id)
    }

    /// Books picks among candidates (distinct workers, each with its role and score) for those still free,
    /// with an event for each assignment made, in the picks' order; answers each pick's assignment, or `None`
    /// for a worker booked meanwhile. Like [`Self::make_assignment`] for each pick, in fewer statements. With
    /// `limit`, the picks are in order of preference, only the first `limit` free ones are booked, and their
    /// events come in worker order.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn make_assignments(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        picks: &[(WorkerId, usize, f64)],
        kind: &str,
        status: &str,
        now: DateTime<Utc>,
        limit: Option<usize>,
    ) -> crate::Result<Vec<Option<i64>>> {
        if picks.is_empty() {
            return Ok(Vec::new());
        }
        let new = self.new_assignments(st, kind, status, now);
        let rows: Vec<(i64, i64)> = picks
            .iter()
            .map(|(w, r, _)| (w.get() as i64, *r as i64))
            .collect();
        let ids = store::orders::insert_assignments(tx, new, &rows, limit).await?;
        let mut made: Vec<(WorkerId, usize, f64, i64)> = picks
            .iter()
            .zip(&ids)
            .filter_map(|(&(worker, role, score), id)| id.map(|id| (worker, role, score, id)))
            .collect();
        if limit.is_some() {
            // In worker order, as the crew's rows were inserted.
            made.sort_by_key(|m| m.0);
        }
        for (worker, role, score, id) in made {
            let made = assignment_made(st, id, worker, role, kind, status, None, None, score);
            append_made(tx, st, &made, now).await?;
        }
        Ok(ids)
    }

    /// What [`Self::make_assignments`] writes for each pick of `st`, beside the worker and the role.
    fn new_assignments<'k>(
        &self,
        st: &OrderState,
        kind: &'k str,
        status: &'k str,
        now: DateTime<Utc>,
    ) -> store::orders::NewAssignments<'k> {
        store::orders::NewAssignments {
            order: st.row.id,
            agency: st.row.agency_id,
            kind,
            status,
            start_at: ms(st.order.shift.start()),
            end_at: ms(st.order.shift.end()),
            half_gap_ms: self.policy.rest_gap.num_milliseconds() / 2,
            now: ms(now),
        }
    }

    /// Candidates of a role in dispatch order: the client's favourites first, then on `high` and `urgent`
    /// orders `star` workers, then by score (ties by id).
    pub(super) fn dispatch_order(
        &self,
        st: &OrderState,
        role: &Role,
        exclude: &HashSet<WorkerId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Vec<(WorkerId, f64)> {
        let live = self.live.read().expect("live state lock");
        let ctx = MatchContext {
            order: &st.order,
            role,
            live: &live,
            policy: &self.policy,
            now,
            exclude,
        };
        let stars = st.order.priority.favours_stars();
        // Without favourites or stars to put first, dispatch order is the ranking's own order (score, then
        // id); with them, each priority group is ranked on its own and the groups come in priority order
        // (`candidates_by_priority`), so either way the answer is in dispatch order and only the first `limit`
        // of each group need an exact score.
        let favourites = live.favourites(st.order.agency, &st.order.client_ref);
        let ranked = if stars || favourites.is_some() {
            let priority = |w: &Worker| {
                let favourite = favourites.is_some_and(|f| f.contains(&w.id));
                let star = stars && w.stats.tier() == crate::domain::Tier::Star;
                f64::from(u8::from(favourite) * 2 + u8::from(star))
            };
            crate::dispatch::plan::candidates_by_priority(&self.index, &ctx, limit, &priority)
        } else {
            candidates(&self.index, &ctx, limit).ranked
        };
        ranked
            .into_iter()
            .take(limit)
            .map(|s| (s.worker.id, s.score))
            .collect()
    }

    /// Offers each role still wants: `fanout` per open slot, less those pending.
    fn offers_wanted(&self, st: &OrderState) -> Vec<u32> {
        let fanout = st.order.dispatch.fanout;
        (0..st.order.roles.len())
            .map(|r| {
                let open = st.order.roles[r].headcount.saturating_sub(st.filled(r));
                (open * fanout).saturating_sub(st.pending(r))
            })
            .collect()
    }

    /// What each role needs from the offer plan: open slots, the quota units still missing and the room left
    /// for workers who do not meet the quota (both counted over the filled workers), its pending offers, and
    /// the offers it wants pending (`fanout` per open slot).
    fn offer_roles(&self, st: &OrderState) -> Vec<OfferRole> {
        let fanout = st.order.dispatch.fanout;
        (0..st.order.roles.len())
            .map(|r| {
                let role = &st.order.roles[r];
                let open = role.headcount.saturating_sub(st.filled(r));
                let (met, not_met) = self.quota_split(st, r);
                let (quota_missing, non_quota_room) = match role.quotas.first() {
                    None => (None, None),
                    Some(q) => {
                        let need = q.at_least.min(role.headcount);
                        (
                            Some(need.saturating_sub(met)),
                            Some((role.headcount - need).saturating_sub(not_met)),
                        )
                    }
                };
                OfferRole {
                    open,
                    quota_missing,
                    non_quota_room,
                    pending: st
                        .offers
                        .iter()
                        .filter(|o| {
                            o.role_idx as usize == r && o.kind == "shift" && o.status == "pending"
                        })
                        .map(|o| WorkerId::new(o.worker_id as u64))
                        .collect(),
                    wanted: if open == 0 { 0 } else { open * fanout },
                }
            })
            .collect()
    }

    /// How many of the workers filling `role` meet its quota, and how many do not (without a quota, all
    /// count as meeting it).
    pub(super) fn quota_split(&self, st: &OrderState, role: usize) -> (u32, u32) {
        let quota = st.order.roles[role].quotas.first();
        let (mut met, mut not_met) = (0, 0);
        for a in st.assignments.iter().filter(|a| {
            a.role_idx as usize == role && a.kind == "shift" && FILLING.contains(&a.status.as_str())
        }) {
            let meets = quota.is_none_or(|q| {
                self.index
                    .get(WorkerId::new(a.worker_id as u64))
                    .is_some_and(|w| quota_met_by(q, &w))
            });
            if meets {
                met += 1;
            } else {
                not_met += 1;
            }
        }
        (met, not_met)
    }

    /// Whether every role's quota is met by the workers filling it.
    pub(super) fn quotas_hold(&self, st: &OrderState) -> bool {
        st.order.roles.iter().enumerate().all(|(r, role)| {
            role.quotas
                .first()
                .is_none_or(|q| self.quota_split(st, r).0 >= q.at_least.min(role.headcount))
        })
    }

    /// Offers for open slots, as the offer plan gives them (see [`plan_offers`]): the optimal crew over who
    /// is left, the pending offers tentatively held, then runners-up up to the fanout.
    async fn offer_open(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
        urgent: bool,
    ) -> crate::Result<usize> {
        let roles = self.offer_roles(st);
        if roles.iter().all(|x| x.open == 0) {
            return Ok(0);
        }
        let picks = {
            let live = self.live.read().expect("live state lock");
            let agency = st.order.agency;
            let client = &st.order.client_ref;
            let stars = st.order.priority.favours_stars();
            let favourites = live
                .favourites(agency, client)
                .is_some_and(|f| !f.is_empty());
            // Dispatch order as before the plan: the client's favourites first, then (on `high` and
            // `urgent` orders) `star` workers, then by score; the bonuses lift them above any score.
            let named = st.order.roles.iter().any(|r| !r.workers.is_empty());
            let priority = |r: usize, w: &Worker| {
                let mut bonus = 0.0;
                if st.order.roles[r].workers.contains(&w.id) {
                    bonus += NAMED_BONUS;
                }
                if favourites && live.is_favourite(agency, client, w.id) {
                    bonus += FAVOURITE_BONUS;
                }
                if stars && w.stats.tier() == crate::domain::Tier::Star {
                    bonus += STAR_BONUS;
                }
                bonus
            };
            plan_offers(
                &self.index,
                &live,
                &self.policy,
                &st.order,
                &roles,
                &st.involved(),
                now,
                &priority,
                stars || favourites || named,
            )
        };
        let mut sent = 0;
        for (r, list) in picks.into_iter().enumerate() {
            for (worker, score) in list {
                self.send_offer(tx, st, worker, r, "shift", urgent, now, score)
                    .await?;
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Slots of an offer-mode order that neither an accepted worker nor a pending offer covers (a quota's
    /// missing units counted against the pending offers that meet it), and why.
    fn uncovered(&self, st: &OrderState) -> (u32, &'static str) {
        let mut slots = 0;
        let mut reason = "no_candidates";
        for (r, x) in self.offer_roles(st).iter().enumerate() {
            let plain = x.open.saturating_sub(x.pending.len() as u32);
            let quota = match (x.quota_missing, st.order.roles[r].quotas.first()) {
                (Some(missing), Some(q)) => {
                    let pending_q = x
                        .pending
                        .iter()
                        .filter(|w| self.index.get(**w).is_some_and(|w| quota_met_by(q, &w)))
                        .count() as u32;
                    missing.saturating_sub(pending_q)
                }
                _ => 0,
            };
            if quota > plain {
                reason = "quota_unreachable";
            }
            slots += plain.max(quota);
        }
        (slots, reason)
    }

    /// After an offer-mode dispatch: when candidates ran out before the order is full, widens the search if
    /// the order allows it (its `max_travel_km` raised by `widen.step_km` at a time, up to `widen.max_km`,
    /// offers following each step) and, if slots stay uncovered, marks the order at risk with an
    /// `order_at_risk` event; an order covered again is no longer at risk (`order_risk_cleared`).
    async fn watch_risk(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
        urgent: bool,
    ) -> crate::Result<()> {
        if now >= st.order.shift.start() || !matches!(st.row.status.as_str(), "open" | "filled") {
            return Ok(());
        }
        let (mut slots, mut reason) = self.uncovered(st);
        while slots > 0 {
            let (Some(w), Some(reach)) = (st.order.widen, st.order.max_travel_km) else {
                break;
            };
            if reach.km() >= w.max_km {
                break;
            }
            let km = (reach.km() + w.step_km).min(w.max_km);
            let Ok(wider) = crate::domain::TravelKm::new(km) else {
                break;
            };
            st.order.max_travel_km = Some(wider);
            let stored =
                serde_json::to_string(&OrderBody::from_order(&st.order)).expect("serialises");
            store::orders::update_order_body(tx, st.row.id, &stored, ms(now)).await?;
            st.row.body = stored;
            st.row.version += 1;
            store::events::append(
                tx,
                ms(now),
                Some(st.order.agency.get()),
                "order_widened",
                &json!({"order": st.order.id.to_string(), "max_travel_km": km, "open_slots": slots}),
            )
            .await?;
            if self.offer_open(tx, st, now, urgent).await? > 0 {
                self.refresh(tx, st).await?;
            }
            (slots, reason) = self.uncovered(st);
        }
        // An order flagged for its SLA target stays flagged until it is fully staffed (`watch_sla`).
        if st
            .at_risk
            .as_ref()
            .is_some_and(|r| r.reason == super::sla::SLA_RISK)
        {
            return Ok(());
        }
        let agency = Some(st.order.agency.get());
        match (&st.at_risk, slots) {
            (None, 0) => {}
            (Some(_), 0) => {
                store::orders::set_risk(tx, st.row.id, None).await?;
                store::events::append(
                    tx,
                    ms(now),
                    agency,
                    "order_risk_cleared",
                    &json!({"order": st.order.id.to_string()}),
                )
                .await?;
                st.at_risk = None;
            }
            (Some(r), n) if r.reason == reason && r.open_slots == i64::from(n) => {}
            (prior, n) => {
                let risk = RiskRow {
                    since: prior.as_ref().map_or(ms(now), |r| r.since),
                    reason: reason.to_string(),
                    open_slots: i64::from(n),
                };
                store::orders::set_risk(tx, st.row.id, Some(&risk)).await?;
                store::events::append(
                    tx,
                    ms(now),
                    agency,
                    "order_at_risk",
                    &json!({
                        "order": st.order.id.to_string(),
                        "since": crate::domain::time::format_instant(super::from_ms(risk.since)),
                        "reason": reason, "open_slots": n,
                    }),
                )
                .await?;
                st.at_risk = Some(risk);
            }
        }
        Ok(())
    }

    /// Sends one offer, with its event.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn send_offer(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        worker: WorkerId,
        role: usize,
        kind: &str,
        urgent: bool,
        now: DateTime<Utc>,
        score: f64,
    ) -> crate::Result<i64> {
        let ttl = Duration::seconds(i64::from(st.order.dispatch.offer_ttl_s));
        let ttl = if urgent { ttl.min(URGENT_TTL) } else { ttl };
        let expires = (now + ttl).min(st.order.shift.end());
        // An urgent offer for a slot says whose slot it fills.
        let replaces = st.replacing.filter(|_| urgent && kind == "shift");
        let row = store::orders::insert_offer(
            tx,
            st.row.id,
            st.row.agency_id,
            worker.get() as i64,
            role as i64,
            kind,
            urgent,
            ms(now),
            ms(expires),
            replaces,
        )
        .await?;
        let id = row.id;
        // The order's state follows the write: the offer is pending, and its worker offered.
        st.offers.push(row);
        if !st.offered.contains(&(worker.get() as i64)) {
            st.offered.push(worker.get() as i64);
        }
        store::events::append(
            tx,
            ms(now),
            Some(st.order.agency.get()),
            "offer_sent",
            &json!({
                "offer": crate::domain::OfferId::new(id as u64).to_string(), "order": st.order.id.to_string(),
                "worker": worker.to_string(), "role": st.order.roles[role].name, "role_idx": role, "kind": kind,
                "urgent": urgent, "expires_at": crate::domain::time::format_instant(expires), "score": score,
                "replaces": replaces.map(|a| crate::domain::AssignmentId::new(a as u64).to_string()),
            }),
        )
        .await?;
        Ok(id)
    }

    /// Each role's candidates in dispatch order (at most `limit`), the pool offers and standbys are drawn
    /// from.
    fn ranked_by_role(
        &self,
        st: &OrderState,
        involved: &HashSet<WorkerId>,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Vec<Vec<(WorkerId, f64)>> {
        st.order
            .roles
            .iter()
            .map(|role| self.dispatch_order(st, role, involved, now, limit))
            .collect()
    }

    /// How many standbys the order wants per role now: its number placed where no-shows hurt most, or for
    /// `"auto"` the fewest that make a full crew at start at least 97% likely given the booked workers (and,
    /// for open slots, the next candidates). See [`standby::plan`].
    fn standby_wanted(&self, st: &OrderState, ranked: &[Vec<(WorkerId, f64)>]) -> Vec<u32> {
        // A confirmed worker who missed a re-confirmation is counted as not coming: one more standby for
        // their role, whatever the order's standby setting — unless the order is pooled, where the pool does.
        let mut wanted = self.standby_planned(st, ranked);
        if st.order.standby.pool_target().is_some() {
            return wanted;
        }
        for (r, w) in wanted.iter_mut().enumerate() {
            *w += st.at_risk_for(r);
        }
        wanted
    }

    /// The standbys the order's own setting wants per role (see [`Self::standby_wanted`]).
    fn standby_planned(&self, st: &OrderState, ranked: &[Vec<(WorkerId, f64)>]) -> Vec<u32> {
        let goal = match st.order.standby {
            StandbySpec::Fixed(0) | StandbySpec::Pooled(_) => return vec![0; st.order.roles.len()],
            StandbySpec::Fixed(n) => standby::Goal::Fixed(n),
            StandbySpec::Auto => standby::Goal::Target(standby::AUTO_TARGET),
            StandbySpec::AutoTarget(_) => standby::Goal::Target(
                st.order
                    .standby
                    .auto_target()
                    .unwrap_or(standby::AUTO_TARGET),
            ),
        };
        let prior = self.show_up_prior(st.order.agency);
        let p = |w: WorkerId| {
            let stats = self.index.get(w).map(|w| w.stats).unwrap_or_default();
            standby::show_up(&stats, prior)
        };
        let open = self.open_slots(st);
        let odds: Vec<standby::RoleOdds> = st
            .order
            .roles
            .iter()
            .enumerate()
            .map(|(r, role)| {
                let mut crew: Vec<f64> = st
                    .assignments
                    .iter()
                    .filter(|a| {
                        a.kind == "shift"
                            && a.role_idx as usize == r
                            && FILLING.contains(&a.status.as_str())
                    })
                    .map(|a| p(WorkerId::new(a.worker_id as u64)))
                    .collect();
                let mut rest = ranked[r].iter().map(|(w, _)| p(*w));
                crew.extend(rest.by_ref().take(open[r] as usize));
                standby::RoleOdds {
                    headcount: role.headcount as usize,
                    crew,
                    spare: rest.collect(),
                }
            })
            .collect();
        standby::plan(&odds, goal)
    }

    async fn top_up_standby(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
        ranked: &[Vec<(WorkerId, f64)>],
    ) -> crate::Result<usize> {
        if !st.wants_own_standby() {
            return Ok(0);
        }
        let mut sent = 0;
        let mut taken = st.involved();
        // The ranking may predate offers sent in this same command: those workers are involved now.
        let ranked: Vec<Vec<(WorkerId, f64)>> = ranked
            .iter()
            .map(|r| {
                r.iter()
                    .filter(|(w, _)| !taken.contains(w))
                    .copied()
                    .collect()
            })
            .collect();
        let wanted = self.standby_wanted(st, &ranked);
        let open = self.open_slots(st);
        for (r, ranked) in ranked.into_iter().enumerate() {
            let have = st.standby_held_for(r) + st.standby_pending_for(r);
            let need = wanted[r].saturating_sub(have) as usize;
            if need == 0 {
                continue;
            }
            // Open slots get the best candidates first; standbys come from those after them.
            let skip = match st.order.dispatch.mode {
                DispatchMode::Assign => 0,
                DispatchMode::Offer => (open[r] * st.order.dispatch.fanout) as usize,
            };
            let picks: Vec<(WorkerId, f64)> = ranked
                .into_iter()
                .skip(skip)
                .filter(|(w, _)| !taken.contains(w))
                .take(need)
                .collect();
            taken.extend(picks.iter().map(|(w, _)| *w));
            sent += picks.len();
            match st.order.dispatch.mode {
                DispatchMode::Assign => {
                    let picks: Vec<(WorkerId, usize, f64)> =
                        picks.into_iter().map(|(w, score)| (w, r, score)).collect();
                    self.make_assignments(tx, st, &picks, "standby", "standby", now, None)
                        .await?;
                }
                DispatchMode::Offer => {
                    for (worker, score) in picks {
                        self.send_offer(tx, st, worker, r, "standby", false, now, score)
                            .await?;
                    }
                }
            }
        }
        Ok(sent)
    }

    /// The standbys an order wants now, per role (for `"auto"`, computed from the current crew and
    /// candidates).
    pub fn standby_wanted_now(&self, st: &OrderState) -> Vec<u32> {
        match st.order.standby {
            StandbySpec::Fixed(0) | StandbySpec::Pooled(_) if !st.wants_own_standby() => {
                vec![0; st.order.roles.len()]
            }
            _ => {
                let ranked = self.ranked_by_role(st, &st.involved(), self.now(), STANDBY_POOL);
                self.standby_wanted(st, &ranked)
            }
        }
    }

    /// Offers a shift of `role` to one worker the agency names by hand, if the matching's hard filters let
    /// them in (a worker already offered or assigned in the order is `excluded`); the offer is then like any
    /// other. Answers the order and the offer.
    pub async fn offer_by_hand(
        &self,
        agency: AgencyId,
        id: OrderId,
        worker: WorkerId,
        role: &str,
    ) -> crate::Result<(OrderState, OfferRow)> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut st = self.load_order(&mut tx, Some(agency), id).await?;
        let row = self
            .offer_by_hand_loaded(&mut tx, &mut st, worker, role, now, None)
            .await?;
        self.committed(tx).await?;
        Ok((st, row))
    }

    /// [`Self::offer_by_hand`] on an order loaded in `tx`. Every refusal (`Invalid`, `Conflict`, `NotFound`,
    /// `NotEligible`) comes before anything is written.
    pub(super) async fn offer_by_hand_loaded(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        worker: WorkerId,
        role: &str,
        now: DateTime<Utc>,
        series: Option<SeriesId>,
    ) -> crate::Result<OfferRow> {
        let agency = st.order.agency;
        let r = st.order.role_index(role).ok_or_else(|| {
            Error::Invalid(vec![FieldError::new(
                "role",
                "no role of the order has this name",
            )])
        })?;
        if !matches!(st.row.status.as_str(), "open" | "filled" | "in_progress")
            || now >= st.order.shift.end()
        {
            return Err(Error::Conflict(format!(
                "the order is {} and takes no more workers",
                st.row.status
            )));
        }
        if st.filled(r) >= st.order.roles[r].headcount {
            return Err(Error::Conflict(format!("the role {role} is full")));
        }
        let w = self
            .index
            .get(worker)
            .filter(|w| w.agency == agency)
            .ok_or_else(|| Error::NotFound("worker".into()))?;
        let verdict = {
            let live = self.live.read().expect("live state lock");
            let exclude = st.involved();
            let ctx = MatchContext {
                order: &st.order,
                role: &st.order.roles[r],
                live: &live,
                policy: &self.policy,
                now,
                exclude: &exclude,
            };
            crate::matching::evaluate(&ctx, &w)
        };
        let score = verdict
            .map_err(|reason| Error::NotEligible {
                reason: reason.as_str(),
                detail: format!(
                    "{worker} is not a candidate of the role {role}: {}",
                    reason.as_str()
                ),
            })?
            .score;
        // The agency's command, as the log carries it (the offer that follows is the engine's); one made by a
        // series command names the series, whose own event carries the command.
        let mut payload =
            json!({"order": st.order.id.to_string(), "worker": worker.to_string(), "role": role});
        if let Some(series) = series {
            payload["series"] = json!(series.to_string());
        }
        store::events::append(tx, ms(now), Some(agency.get()), "offer_by_hand", &payload).await?;
        let offer = self
            .send_offer(tx, st, worker, r, "shift", false, now, score)
            .await?;
        self.dispatch(tx, st, now, false).await?;
        store::orders::offer(tx.conn().await?, offer)
            .await?
            .ok_or_else(|| Error::Internal("the offer just sent is gone".into()))
    }

    /// Ranks the candidates of one role as the engine would use them now.
    pub async fn order_candidates(
        &self,
        agency: AgencyId,
        id: OrderId,
        role: Option<&str>,
        limit: usize,
    ) -> crate::Result<(OrderState, usize, Ranking)> {
        let st = self.order(agency, id).await?;
        let r = match role {
            None => 0,
            Some(name) => st.order.role_index(name).ok_or_else(|| {
                Error::Invalid(vec![FieldError::new(
                    "role",
                    "no role of the order has this name",
                )])
            })?,
        };
        let exclude = st.involved();
        let live = self.live.read().expect("live state lock");
        let ctx = MatchContext {
            order: &st.order,
            role: &st.order.roles[r],
            live: &live,
            policy: &self.policy,
            now: self.now(),
            exclude: &exclude,
        };
        let ranking = candidates(&self.index, &ctx, limit);
        drop(live);
        Ok((st, r, ranking))
    }

    /// Where one worker stands among the candidates of a role now: their rank (1 for the best) and scored
    /// entry if they are one, otherwise the hard filter that leaves them out (`excluded` for a worker already
    /// offered or assigned in the order). Another agency's worker, or an unknown one, is not found.
    pub async fn candidate_standing(
        &self,
        agency: AgencyId,
        id: OrderId,
        role: Option<&str>,
        worker: WorkerId,
    ) -> crate::Result<Standing> {
        let st = self.order(agency, id).await?;
        let r = match role {
            None => 0,
            Some(name) => st.order.role_index(name).ok_or_else(|| {
                Error::Invalid(vec![FieldError::new(
                    "role",
                    "no role of the order has this name",
                )])
            })?,
        };
        let w = self
            .index
            .get(worker)
            .filter(|w| w.agency == agency)
            .ok_or_else(|| Error::NotFound("worker".into()))?;
        let exclude = st.involved();
        let live = self.live.read().expect("live state lock");
        let ctx = MatchContext {
            order: &st.order,
            role: &st.order.roles[r],
            live: &live,
            policy: &self.policy,
            now: self.now(),
            exclude: &exclude,
        };
        if let Err(reason) = crate::matching::check(&ctx, &w) {
            return Ok(Standing::Excluded(reason));
        }
        // Its rank needs every eligible candidate's score: the whole role is ranked.
        let ranking = candidates(&self.index, &ctx, usize::MAX);
        Ok(
            match ranking.ranked.iter().position(|s| s.worker.id == worker) {
                Some(i) => Standing::Candidate {
                    rank: i + 1,
                    scored: ranking.ranked[i].clone(),
                },
                None => match crate::matching::evaluate(&ctx, &w) {
                    // Eligible by the filters but not retrieved: cannot happen while retrieval is a
                    // superset of the filters; answered as its exact standing outside the list.
                    Ok(scored) => Standing::Candidate {
                        rank: 1 + ranking
                            .ranked
                            .iter()
                            .filter(|s| s.score > scored.score)
                            .count(),
                        scored,
                    },
                    Err(reason) => Standing::Excluded(reason),
                },
            },
        )
    }

    /// Changes headcounts: more dispatches more, fewer releases the last confirmed and withdraws extra offers.
    #[tracing::instrument(skip(self, changes_wanted))]
    pub async fn patch_order(
        &self,
        agency: AgencyId,
        id: OrderId,
        changes_wanted: Vec<(String, i64)>,
        if_match: Option<u64>,
    ) -> crate::Result<OrderState> {
        let now = self.now();
        if changes_wanted.len() > crate::domain::limits::PATCH_ROLES {
            return Err(Error::Invalid(vec![FieldError::new(
                "roles",
                format!("at most {} items", crate::domain::limits::PATCH_ROLES),
            )]));
        }
        let mut tx = self.store.begin().await?;
        let mut st = self.load_order(&mut tx, Some(agency), id).await?;
        if let Some(v) = if_match
            && v != st.row.version as u64
        {
            return Err(Error::Stale(format!(
                "the order is at version {}, not {v}; read it again",
                st.row.version
            )));
        }
        self.patch_loaded(&mut tx, &mut st, &changes_wanted, now, None)
            .await?;
        self.committed(tx).await?;
        Ok(st)
    }

    /// Checks a headcount change against the roles of an order.
    pub(super) fn check_headcounts(
        order: &Order,
        changes_wanted: &[(String, i64)],
    ) -> crate::Result<Order> {
        if changes_wanted.len() > crate::domain::limits::PATCH_ROLES {
            return Err(Error::Invalid(vec![FieldError::new(
                "roles",
                format!("at most {} items", crate::domain::limits::PATCH_ROLES),
            )]));
        }
        let mut errors = Vec::new();
        let mut order = order.clone();
        for (i, (name, headcount)) in changes_wanted.iter().enumerate() {
            if changes_wanted[..i].iter().any(|(n, _)| n == name) {
                errors.push(FieldError::new(
                    format!("roles[{i}].name"),
                    "names a role a second time in the same change",
                ));
                continue;
            }
            match order.role_index(name) {
                None => errors.push(FieldError::new(
                    format!("roles[{i}].name"),
                    "no role of the order has this name",
                )),
                Some(r) => {
                    if !(1..=crate::domain::order::MAX_HEADCOUNT).contains(headcount) {
                        errors.push(FieldError::new(
                            format!("roles[{i}].headcount"),
                            "must be between 1 and 1000",
                        ));
                    } else {
                        order.roles[r].headcount = *headcount as u32;
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(order)
    }

    /// Applies a headcount change to an order loaded in `tx`: the new terms with their event, the workers
    /// and offers beyond them released or withdrawn, and a dispatch for the rest.
    pub(super) async fn patch_loaded(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        changes_wanted: &[(String, i64)],
        now: DateTime<Utc>,
        series: Option<SeriesId>,
    ) -> crate::Result<()> {
        if !matches!(st.row.status.as_str(), "open" | "filled") {
            return Err(Error::Conflict(format!(
                "the order is {}; only open or filled orders change",
                st.row.status
            )));
        }
        let order = Self::check_headcounts(&st.order, changes_wanted)?;
        let agency = st.order.agency;
        let id = st.order.id;
        let stored = serde_json::to_string(&OrderBody::from_order(&order)).expect("serialises");
        store::orders::update_order_body(tx, st.row.id, &stored, ms(now)).await?;
        st.row.version += 1;
        let mut payload = json!({"order": id.to_string(), "roles": changes_wanted.iter().map(|(n, h)| json!({"name": n, "headcount": h})).collect::<Vec<_>>()});
        if let Some(series) = series {
            payload["series"] = json!(series.to_string());
        }
        store::events::append(tx, ms(now), Some(agency.get()), "order_patched", &payload).await?;
        st.order = order;
        st.row.body = stored;
        // Fewer: release the most recently confirmed, withdraw offers beyond what the open slots need.
        for r in 0..st.order.roles.len() {
            let headcount = st.order.roles[r].headcount;
            let mut filling: Vec<&AssignmentRow> = st
                .assignments
                .iter()
                .filter(|a| {
                    a.role_idx as usize == r && a.kind == "shift" && a.status == "confirmed"
                })
                .collect();
            let over = st.filled(r).saturating_sub(headcount) as usize;
            filling.sort_by_key(|a| std::cmp::Reverse(a.id));
            for a in filling.into_iter().take(over) {
                self.end_assignment(tx, st, a, "released", "headcount_lowered", now)
                    .await?;
            }
            let open = headcount.saturating_sub(st.filled(r));
            let allowed = (open * st.order.dispatch.fanout) as usize;
            let mut pending: Vec<&OfferRow> = st
                .offers
                .iter()
                .filter(|o| o.role_idx as usize == r && o.kind == "shift" && o.status == "pending")
                .collect();
            pending.sort_by_key(|o| std::cmp::Reverse(o.id));
            let extra = pending.len().saturating_sub(allowed);
            for o in pending.into_iter().take(extra) {
                self.close_offer(tx, st, o, "withdrawn", now).await?;
            }
        }
        self.refresh(tx, st).await?;
        self.dispatch(tx, st, now, false).await
    }

    /// Ends a live assignment with `status` (released, cancelled, no_show), with its event.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn end_assignment(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        a: &AssignmentRow,
        status: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        self.record_late_cancellation(tx, st, a, reason, now)
            .await?;
        store::orders::set_assignment_status(tx, a.id, status, ms(now)).await?;
        self.forget_signals_of(tx, a.id).await?;
        store::events::append(
            tx,
            ms(now),
            Some(st.order.agency.get()),
            "assignment_ended",
            &json!({
                "assignment": crate::domain::AssignmentId::new(a.id as u64).to_string(),
                "order": st.order.id.to_string(), "worker": WorkerId::new(a.worker_id as u64).to_string(),
                "status": status, "reason": reason,
            }),
        )
        .await?;
        Ok(())
    }

    /// Moves a pending offer out of pending (withdrawn, expired, declined), with its event.
    pub(super) async fn close_offer(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        o: &OfferRow,
        status: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<bool> {
        self.close_offer_of(tx, st, o, status, now, None).await
    }

    /// [`Self::close_offer`] within a command of `series`, which its event names (a worker's accept through
    /// the series, which the series' own event carries).
    pub(super) async fn close_offer_of(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        o: &OfferRow,
        status: &str,
        now: DateTime<Utc>,
        series: Option<SeriesId>,
    ) -> crate::Result<bool> {
        let moved = store::orders::decide_offer(tx, o.id, status, ms(now)).await?;
        if moved {
            let mut payload = json!({
                "offer": crate::domain::OfferId::new(o.id as u64).to_string(),
                "order": st.order.id.to_string(), "worker": WorkerId::new(o.worker_id as u64).to_string(),
                "status": status,
            });
            if let Some(series) = series {
                payload["series"] = json!(series.to_string());
            }
            store::events::append(
                tx,
                ms(now),
                Some(st.order.agency.get()),
                "offer_closed",
                &payload,
            )
            .await?;
        }
        Ok(moved)
    }

    /// Cancels an order: pending offers withdrawn, confirmed workers and standbys released (and told).
    #[tracing::instrument(skip(self))]
    pub async fn cancel_order(&self, agency: AgencyId, id: OrderId) -> crate::Result<OrderState> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let mut st = self.load_order(&mut tx, Some(agency), id).await?;
        self.cancel_loaded(&mut tx, &mut st, now, None).await?;
        self.committed(tx).await?;
        Ok(st)
    }

    /// Cancels an order loaded in `tx`: pending offers withdrawn, confirmed workers and standbys released.
    pub(super) async fn cancel_loaded(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
        series: Option<SeriesId>,
    ) -> crate::Result<()> {
        if matches!(
            st.row.status.as_str(),
            "cancelled" | "completed" | "unfilled"
        ) {
            return Err(Error::Conflict(format!(
                "the order is already {}",
                st.row.status
            )));
        }
        for o in st.offers.iter().filter(|o| o.status == "pending") {
            self.close_offer(tx, st, o, "withdrawn", now).await?;
        }
        for a in st
            .assignments
            .iter()
            .filter(|a| matches!(a.status.as_str(), "confirmed" | "standby"))
        {
            self.end_assignment(tx, st, a, "released", "order_cancelled", now)
                .await?;
        }
        store::orders::set_order_status(tx, st.row.id, "cancelled", ms(now)).await?;
        self.end_sla(tx, st).await?;
        st.row.version += 1;
        let mut payload = json!({"order": st.order.id.to_string(), "status": "cancelled"});
        if let Some(series) = series {
            payload["series"] = json!(series.to_string());
        }
        store::events::append(
            tx,
            ms(now),
            Some(st.order.agency.get()),
            "order_status",
            &payload,
        )
        .await?;
        self.refresh(tx, st).await?;
        st.row.status = "cancelled".into();
        Ok(())
    }

    /// Orders of the agency, a page after `after`.
    pub async fn list_orders(
        &self,
        agency: AgencyId,
        filter: &OrderFilter,
        after: Option<u64>,
        limit: i64,
    ) -> crate::Result<Vec<OrderState>> {
        let rows = store::orders::list_orders(
            self.store.pool(),
            agency.get() as i64,
            store::orders::OrderListFilter {
                status: filter.status.as_deref(),
                from: filter.from.map(ms),
                to: filter.to.map(ms),
                client_ref: filter.client_ref.as_deref(),
            },
            after.unwrap_or(0) as i64,
            limit,
        )
        .await?;
        let mut conn = self.store.pool().acquire().await.map_err(store::db_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(state_from_row(&mut conn, row).await?);
        }
        Ok(out)
    }

    /// A worker as matching sees it now (the index's copy).
    pub fn indexed_worker(&self, id: WorkerId) -> Option<std::sync::Arc<Worker>> {
        self.index.get(id)
    }
}

/// Appends an `assignment_made` event with its payload.
async fn append_made(
    tx: &mut Tx,
    st: &OrderState,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> crate::Result<()> {
    store::events::append(
        tx,
        ms(now),
        Some(st.order.agency.get()),
        "assignment_made",
        payload,
    )
    .await
}

/// The payload of an `assignment_made` event.
#[allow(clippy::too_many_arguments)]
fn assignment_made(
    st: &OrderState,
    id: i64,
    worker: WorkerId,
    role: usize,
    kind: &str,
    status: &str,
    offer: Option<i64>,
    replaces: Option<i64>,
    score: f64,
) -> serde_json::Value {
    json!({
        "assignment": crate::domain::AssignmentId::new(id as u64).to_string(),
        "order": st.order.id.to_string(), "worker": worker.to_string(),
        "role": st.order.roles[role].name, "role_idx": role, "kind": kind, "status": status,
        "start": ms(st.order.shift.start()), "end": ms(st.order.shift.end()),
        "client_ref": st.order.client_ref,
        "offer": offer.map(|o| crate::domain::OfferId::new(o as u64).to_string()),
        "replaces": replaces.map(|a| crate::domain::AssignmentId::new(a as u64).to_string()),
        "score": score,
    })
}
