//! Re-confirmation and pre-shift signals: catching a worker who will not come hours before the shift, while a
//! normal offer can still replace them.
//!
//! Re-confirmation (agency settings `reconfirm`): at `start − lead_h` every `confirmed` shift assignment of an
//! open or filled order is asked to confirm again (timer kind 9, `reconfirmation_requested`), by
//! `start − deadline_h`. An assignment made after that moment is not asked: it was just agreed. The worker
//! answers in the app (`assignment_reconfirmed`). At the deadline an unanswered request (timer kind 10) makes
//! the worker at risk (`assignment_at_risk`, reason `not_reconfirmed`); then, with `reoffer`, the assignment
//! ends `cancelled` with reason `not_reconfirmed` (the worker is told by that event; it is not the worker's own
//! cancellation, so their record, strikes and the agency's late-cancellation terms are untouched) and the slot
//! is dispatched again as any open slot (assign mode: the next candidate confirmed; offer mode: normal offers),
//! the worker staying excluded from the order. Without `reoffer` the worker keeps the assignment and the
//! order's standby grows (see [`Engine::at_risk_top_up`]).
//!
//! Pre-shift signals (agency settings `pre_shift`): from `start − window_h` until the order's no-show grace has
//! passed, the worker app may send "on my way" and positions. Coordinates are rounded to 3 decimals (about
//! 100 m) before anything is done with them, kept only in `shift_signals` (the latest one per assignment,
//! deleted when the assignment or its order ends) and never written to an event or a log: the
//! `pre_shift_signal` event carries the distance to the venue rounded to 0.1 km and the verdict. The verdict
//! is worked out from that rounded distance, so replay re-issues it from the event alone: the minutes needed
//! are `distance_km / speed_kmh × 60`; if now plus those is after `start + grace` the worker cannot arrive
//! (`assignment_at_risk`, reason `cannot_arrive`) and, before the start, is replaced at once by the path a
//! no-show takes: the assignment ends `cancelled` with reason `cannot_arrive` and the order's best standby is
//! promoted, or, with none, urgent offers go to the on-call pool and then to other candidates.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::offers::Actor;
use super::orders::OrderState;
use super::{Engine, ms};
use crate::domain::{AssignmentId, LatLon, WorkerId};
use crate::error::Error;
use crate::store::{self, Tx, orders::AssignmentRow};

/// Where a pre-shift signal says the worker is.
#[derive(Debug, Clone, Copy)]
pub enum SignalAt {
    /// A position from the worker app (rounded before it is used).
    Position(LatLon),
    /// A distance to the venue already worked out, in km (replay re-issues the recorded one).
    DistanceKm(f64),
}

/// What a pre-shift signal told.
#[derive(Debug, Clone)]
pub struct SignalVerdict {
    /// The assignment.
    pub assignment: AssignmentId,
    /// Distance to the venue, km, rounded to 0.1.
    pub distance_km: f64,
    /// Minutes needed at the agency's plausible speed, rounded up.
    pub eta_min: i64,
    /// Whether the worker cannot arrive by the grace.
    pub at_risk: bool,
}

/// The condition of a request due (kind 9): the alias `a` is the assignment, `s` the agency's settings, `o`
/// its order; the moment is `start − lead`, never before the assignment was made nor before re-confirmation
/// was turned on.
const REQUEST_DUE: &str = "a.status = 'confirmed' AND a.kind = 'shift' AND a.reconfirm_requested_at IS NULL \
     AND s.reconfirm_lead_ms IS NOT NULL AND o.status IN ('open', 'filled') \
     AND a.start_at - s.reconfirm_lead_ms <= $1 AND a.start_at - s.reconfirm_lead_ms >= a.created_at \
     AND a.start_at - s.reconfirm_lead_ms >= s.reconfirm_since";

/// The condition of a deadline due (kind 10).
const DEADLINE_DUE: &str = "status = 'confirmed' AND reconfirm_deadline IS NOT NULL AND reconfirmed_at IS NULL \
     AND reconfirm_missed_at IS NULL AND reconfirm_deadline <= $1";

/// The head of the re-confirmation requests due by `$1` (kind 9), a subquery of the timers' heads: per agency
/// that asks, its first due request by start (its lead is the same for all its assignments, so that is its
/// earliest), read along `assignments_reconfirm_ask` up to the start that is due by `$1`; then the earliest
/// of those.
pub(super) fn request_head() -> String {
    format!(
        "SELECT x.start_at - s.reconfirm_lead_ms AS at, 9 AS kind, x.id AS id, 0 AS ord \
         FROM agency_settings s JOIN assignments x ON x.id = (SELECT a.id FROM assignments a \
           JOIN orders o ON o.id = a.order_id WHERE a.agency_id = s.agency_id \
           AND a.start_at <= $1 + s.reconfirm_lead_ms AND {REQUEST_DUE} \
           ORDER BY a.start_at, a.id LIMIT 1) \
         WHERE s.reconfirm_lead_ms IS NOT NULL ORDER BY 1, x.id LIMIT 1"
    )
}

/// The head of the re-confirmation deadlines due by `$1` (kind 10), a subquery of the timers' heads.
pub(super) fn deadline_head() -> String {
    format!(
        "SELECT reconfirm_deadline AS at, 10 AS kind, id, 0 AS ord FROM assignments \
         WHERE {DEADLINE_DUE} ORDER BY reconfirm_deadline, id LIMIT 1"
    )
}

/// A coordinate rounded to 3 decimals (about 100 m), before it is stored or used.
fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Engine {
    /// Timer kind 9: asks a confirmed worker to confirm again, if the request is still due under the order's
    /// lock (the same condition the timer was found by).
    pub(super) async fn fire_reconfirm_request(
        &self,
        tx: &mut Tx,
        assignment: i64,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let sql = format!(
            "SELECT a.id FROM assignments a JOIN agency_settings s ON s.agency_id = a.agency_id \
             JOIN orders o ON o.id = a.order_id WHERE {REQUEST_DUE} AND a.id = $2"
        );
        let due: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(ms(now))
            .bind(assignment)
            .fetch_optional(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        if due.is_none() {
            return Ok(());
        }
        let Some(a) = store::orders::assignment(tx.conn().await?, assignment).await? else {
            return Ok(());
        };
        let s = super::pay::settings_tx(tx, a.agency_id).await?;
        let deadline = (a.start_at - i64::from(s.reconfirm.deadline_h) * 3_600_000).max(ms(now));
        sqlx::query(
            "UPDATE assignments SET reconfirm_requested_at = $1, reconfirm_deadline = $2, updated_at = $1 \
             WHERE id = $3",
        )
        .bind(ms(now))
        .bind(deadline)
        .bind(a.id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            tx,
            ms(now),
            Some(a.agency_id as u64),
            "reconfirmation_requested",
            &json!({
                "assignment": AssignmentId::new(a.id as u64).to_string(),
                "order": crate::domain::OrderId::new(a.order_id as u64).to_string(),
                "worker": WorkerId::new(a.worker_id as u64).to_string(),
                "deadline": crate::domain::time::format_instant(super::from_ms(deadline)),
            }),
        )
        .await
    }

    /// Timer kind 10: a request unanswered at its deadline makes the worker at risk; the slot is dispatched
    /// again (`reoffer`) or the order's standby grows.
    pub(super) async fn fire_reconfirm_deadline(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        assignment: i64,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let sql = format!("SELECT id FROM assignments WHERE {DEADLINE_DUE} AND id = $2");
        let due: Option<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(ms(now))
            .bind(assignment)
            .fetch_optional(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        let Some(a) = st
            .assignments
            .iter()
            .find(|a| a.id == assignment && due.is_some())
            .cloned()
        else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE assignments SET reconfirm_missed_at = $1, updated_at = $1 WHERE id = $2",
        )
        .bind(ms(now))
        .bind(a.id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        self.at_risk_event(tx, st, &a, "not_reconfirmed", None, now)
            .await?;
        let s = super::pay::settings_tx(tx, a.agency_id).await?;
        if s.reconfirm.reoffer {
            self.end_assignment(tx, st, &a, "cancelled", "not_reconfirmed", now)
                .await?;
            self.refresh(tx, st).await?;
            if now < st.order.shift.start() {
                // Hours ahead: the slot is open like any other, for normal offers or the next candidate.
                self.dispatch(tx, st, now, false).await
            } else {
                self.replace(tx, st, a.role_idx as usize, Some(a.id), now)
                    .await
            }
        } else {
            self.refresh(tx, st).await?;
            self.at_risk_top_up(tx, st, &a, now).await
        }
    }

    /// Covers a worker at risk who keeps their assignment: the order's own standby, which counts each
    /// confirmed worker who missed a re-confirmation as one more standby wanted for their role (see
    /// [`OrderState::at_risk_for`]), or, for a pooled order, its pool, which counts them as not coming; either
    /// is topped up by the order's dispatch, now.
    pub(super) async fn at_risk_top_up(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        _at_risk: &AssignmentRow,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        self.dispatch(tx, st, now, false).await
    }

    async fn at_risk_event(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        a: &AssignmentRow,
        reason: &str,
        distance_km: Option<f64>,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let mut payload = json!({
            "assignment": AssignmentId::new(a.id as u64).to_string(),
            "order": st.order.id.to_string(),
            "worker": WorkerId::new(a.worker_id as u64).to_string(),
            "reason": reason,
        });
        if let Some(d) = distance_km {
            payload["distance_km"] = json!(d);
        }
        store::events::append(
            tx,
            ms(now),
            Some(st.order.agency.get()),
            "assignment_at_risk",
            &payload,
        )
        .await
    }

    /// The worker confirms their assignment again. Only an open request of a confirmed assignment; the same
    /// call again answers the same.
    #[tracing::instrument(skip(self))]
    pub async fn reconfirm(
        &self,
        worker: WorkerId,
        id: AssignmentId,
    ) -> crate::Result<AssignmentRow> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (a, st) = self
            .own_assignment(&mut tx, Actor::Worker(worker), id)
            .await?;
        if a.reconfirmed_at.is_some() {
            return Ok(a);
        }
        if a.status != "confirmed" {
            return Err(Error::Conflict(format!("the assignment is {}", a.status)));
        }
        if a.reconfirm_requested_at.is_none() || a.reconfirm_missed_at.is_some() {
            return Err(Error::Conflict(
                "no re-confirmation request is open for this assignment".into(),
            ));
        }
        sqlx::query("UPDATE assignments SET reconfirmed_at = $1, updated_at = $1 WHERE id = $2")
            .bind(ms(now))
            .bind(a.id)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            ms(now),
            Some(st.order.agency.get()),
            "assignment_reconfirmed",
            &json!({"assignment": id.to_string(), "order": st.order.id.to_string(),
                    "worker": worker.to_string()}),
        )
        .await?;
        let updated = store::orders::assignment(tx.conn().await?, a.id)
            .await?
            .ok_or_else(|| Error::Internal("assignment vanished".into()))?;
        self.committed(tx).await?;
        Ok(updated)
    }

    /// A pre-shift signal from the worker app (`kind` is `on_my_way` or `location`): judged against the
    /// venue's distance and the agency's plausible speed; a worker who cannot arrive is replaced before the
    /// start.
    #[tracing::instrument(skip(self, at))]
    pub async fn pre_shift_signal(
        &self,
        worker: WorkerId,
        id: AssignmentId,
        kind: &str,
        at: SignalAt,
    ) -> crate::Result<SignalVerdict> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (a, mut st) = self
            .own_assignment(&mut tx, Actor::Worker(worker), id)
            .await?;
        let s = super::pay::settings_tx(&mut tx, a.agency_id).await?;
        if !s.pre_shift.enabled {
            return Err(Error::Conflict(
                "the agency does not take pre-shift signals".into(),
            ));
        }
        if a.status != "confirmed" || a.kind != "shift" {
            return Err(Error::Conflict(format!("the assignment is {}", a.status)));
        }
        let start = st.order.shift.start();
        let grace = chrono::Duration::minutes(i64::from(st.order.no_show_grace_min));
        let opens = start - chrono::Duration::hours(i64::from(s.pre_shift.window_h));
        if now < opens || now >= start + grace {
            return Err(Error::Conflict(format!(
                "pre-shift signals are taken from {} until {}",
                crate::domain::time::format_instant(opens),
                crate::domain::time::format_instant(start + grace)
            )));
        }
        let (distance, position) = match at {
            SignalAt::Position(p) => {
                let rounded =
                    LatLon::new(round3(p.lat()), round3(p.lon())).map_err(Error::Invalid)?;
                (rounded.distance_km(st.order.venue.location), Some(rounded))
            }
            SignalAt::DistanceKm(d) => (d, None),
        };
        let distance_km = (distance * 10.0).round() / 10.0;
        let needed_min = distance_km / f64::from(s.pre_shift.speed_kmh) * 60.0;
        let eta_min = needed_min.ceil() as i64;
        let arrives = now + chrono::Duration::milliseconds((needed_min * 60_000.0).round() as i64);
        let at_risk = arrives > start + grace;
        sqlx::query("DELETE FROM shift_signals WHERE assignment_id = $1")
            .bind(a.id)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        if let Some(p) = position {
            sqlx::query(
                "INSERT INTO shift_signals (assignment_id, order_id, kind, lat, lon, at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(a.id)
            .bind(a.order_id)
            .bind(kind)
            .bind(p.lat())
            .bind(p.lon())
            .bind(ms(now))
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        }
        store::events::append(
            &mut tx,
            ms(now),
            Some(st.order.agency.get()),
            "pre_shift_signal",
            &json!({"assignment": id.to_string(), "order": st.order.id.to_string(),
                    "worker": worker.to_string(), "kind": kind, "distance_km": distance_km,
                    "eta_min": eta_min, "at_risk": at_risk}),
        )
        .await?;
        if at_risk {
            self.at_risk_event(&mut tx, &st, &a, "cannot_arrive", Some(distance_km), now)
                .await?;
            if now < start {
                // Replaced as a no-show would be, hours or minutes earlier.
                self.end_assignment(&mut tx, &st, &a, "cancelled", "cannot_arrive", now)
                    .await?;
                self.refresh(&mut tx, &mut st).await?;
                self.replace(&mut tx, &mut st, a.role_idx as usize, Some(a.id), now)
                    .await?;
            }
        }
        self.committed(tx).await?;
        Ok(SignalVerdict {
            assignment: id,
            distance_km,
            eta_min,
            at_risk,
        })
    }

    /// Deletes the pre-shift positions of an assignment that has ended.
    pub(super) async fn forget_signals_of(
        &self,
        tx: &mut Tx,
        assignment: i64,
    ) -> crate::Result<()> {
        sqlx::query("DELETE FROM shift_signals WHERE assignment_id = $1")
            .bind(assignment)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        Ok(())
    }

    /// Deletes the pre-shift positions of an order that has ended.
    pub(super) async fn forget_signals_of_order(
        &self,
        tx: &mut Tx,
        order: i64,
    ) -> crate::Result<()> {
        sqlx::query("DELETE FROM shift_signals WHERE order_id = $1")
            .bind(order)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        Ok(())
    }
}
