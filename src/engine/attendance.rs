//! Attendance and ratings: check-in and check-out by the server's clock with a geofence, no-shows (reported or
//! by timer) with the suspension policy, ratings with their effects (favourites, blocks, reviews).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::offers::Actor;
use super::orders::OrderState;
use super::{Engine, from_ms, ms};
use crate::domain::{AgencyId, AssignmentId, LatLon, Stars, WorkerId, WorkerStatus};
use crate::error::{Error, FieldError};
use crate::store::{self, Tx, orders::AssignmentRow};

/// How early before the start a check-in is accepted.
pub const CHECK_IN_EARLY: Duration = Duration::minutes(60);

/// The no-show policy. Defaults: suspend after 3 strikes within 30 days; 5 shifts completed after the first
/// no-show wipe one strike. Set from the command line (`crewcall serve --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoShowPolicy {
    /// Strikes that suspend a worker.
    pub strikes_to_suspend: usize,
    /// The window in which no-shows count as strikes.
    pub strike_window: Duration,
    /// Completed shifts after a no-show that wipe one strike (strikes decay with clean work).
    pub clean_shifts_per_strike: usize,
}

impl Default for NoShowPolicy {
    fn default() -> Self {
        NoShowPolicy {
            strikes_to_suspend: 3,
            strike_window: Duration::days(30),
            clean_shifts_per_strike: 5,
        }
    }
}
/// When a review of a low rating is due.
pub const REVIEW_DUE: Duration = Duration::hours(48);

/// The answer to a check-in or check-out.
#[derive(Debug, Clone)]
pub struct Attendance {
    /// The assignment after the change.
    pub assignment: AssignmentRow,
    /// The order it belongs to.
    pub order: std::sync::Arc<crate::domain::Order>,
    /// Minutes after the start the worker checked in.
    pub late_minutes: i64,
    /// Distance from the venue at check-in, metres.
    pub distance_m: f64,
    /// Minutes worked, on check-out.
    pub worked_minutes: Option<i64>,
    /// Distance from the venue at check-out, metres.
    pub check_out_distance_m: Option<f64>,
}

/// A stored review.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewRow {
    /// The review.
    pub id: i64,
    /// The assignment rated.
    pub assignment_id: i64,
    /// The worker.
    pub worker_id: i64,
    /// The stars given.
    pub stars: i64,
    /// `open` or `resolved`.
    pub status: String,
    /// Due, unix ms.
    pub due_at: i64,
    /// Opened, unix ms.
    pub created_at: i64,
    /// How the agency resolved it: `dismissed`, `warning`, `block` or `suspension`.
    pub outcome: Option<String>,
    /// The agency's note on the resolution.
    pub note: Option<String>,
    /// Resolved, unix ms.
    pub resolved_at: Option<i64>,
}

impl ReviewRow {
    /// Whether the review is still open past its due time.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == "open" && self.due_at <= ms(now)
    }
}

/// How an agency resolves a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// Nothing follows.
    Dismissed,
    /// The worker is warned; recorded, nothing else follows.
    Warning,
    /// The worker is blocked for the client of the rated shift.
    Block,
    /// The worker is suspended, with everything a suspension releases.
    Suspension,
}

impl ReviewOutcome {
    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "dismissed" => ReviewOutcome::Dismissed,
            "warning" => ReviewOutcome::Warning,
            "block" => ReviewOutcome::Block,
            "suspension" => ReviewOutcome::Suspension,
            _ => return None,
        })
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Dismissed => "dismissed",
            ReviewOutcome::Warning => "warning",
            ReviewOutcome::Block => "block",
            ReviewOutcome::Suspension => "suspension",
        }
    }
}

/// The columns of a review, in `ReviewRow`'s order.
const REVIEW_COLS: &str =
    "id, assignment_id, worker_id, stars, status, due_at, created_at, outcome, note, resolved_at";

impl Engine {
    /// Checks a worker in: between 60 minutes before start and the end, inside the venue's geofence, by the
    /// server's clock. A repeated check-in answers the first one again.
    #[tracing::instrument(skip(self, at, device_time))]
    pub async fn check_in(
        &self,
        actor: Actor,
        id: AssignmentId,
        at: LatLon,
        device_time: Option<String>,
    ) -> crate::Result<Attendance> {
        // Everything a check-in depends on is read and checked before the writer's turn; the write is
        // conditional on the assignment still being confirmed, and a change in between is read again.
        const TRIES: usize = 3;
        for _ in 0..TRIES {
            let now = self.now();
            let a = super::offers::actor_assignment(self.store.pool(), actor, id).await?;
            let order = self.order_of(a.order_id).await?;
            if a.status == "checked_in" || (a.status == "completed" && a.checked_in_at.is_some()) {
                return Ok(Attendance {
                    late_minutes: a.late_minutes.unwrap_or(0),
                    distance_m: a.distance_m.unwrap_or(0.0),
                    worked_minutes: None,
                    check_out_distance_m: a.check_out_distance_m,
                    assignment: a,
                    order: order.clone(),
                });
            }
            if a.status != "confirmed" {
                return Err(Error::Conflict(format!("the assignment is {}", a.status)));
            }
            let (start, end) = (order.shift.start(), order.shift.end());
            if now < start - CHECK_IN_EARLY || now >= end {
                return Err(Error::Conflict(
                    "check-in is open from 60 minutes before the start until the end".into(),
                ));
            }
            let distance_m = (order.venue.location.distance_km(at) * 1000.0).round();
            if distance_m > order.venue.geofence_m {
                return Err(Error::Refused {
                    problem: "outside-geofence",
                    detail: format!(
                        "{distance_m} m from the venue; the geofence is {} m",
                        order.venue.geofence_m
                    ),
                });
            }
            // A replacement confirmed after the start is late from its confirmation, not from the start.
            let due = start.max(from_ms(a.created_at));
            let late_minutes = ((now - due).num_seconds().max(0)) / 60;
            let evidence =
                json!({"lat": at.lat(), "lon": at.lon(), "device_time": device_time}).to_string();
            let write =
                store::orders::check_in_guard(a.id, ms(now), late_minutes, distance_m, &evidence);
            let event = store::events::NewEvent {
                at_ms: ms(now),
                agency: Some(order.agency.get() as i64),
                kind: "checked_in".into(),
                payload: json!({"assignment": id.to_string(), "late_minutes": late_minutes,
                                "distance_m": distance_m, "lat": at.lat(), "lon": at.lon()}),
            };
            // The write is conditional: it finds the assignment changed since it was read (a no-show, a
            // cancellation, the same check-in twice) and then nothing of this command is kept.
            let done = if late_minutes > 0 {
                // The worker's record changes too, and only if the check-in does: the write goes first.
                let mut tx = self.store.begin().await?;
                tx.push_event(event);
                if write.run(tx.conn().await?).await? {
                    self.bump_stats(&mut tx, WorkerId::new(a.worker_id as u64), now, |s| {
                        s.late_arrivals += 1
                    })
                    .await?;
                    self.committed(tx).await?;
                    true
                } else {
                    tx.rollback().await?;
                    false
                }
            } else {
                // On time, the write is the command's only one: on SQLite it shares a round trip to the
                // writer with the other check-ins that arrive meanwhile.
                self.written_if(write, vec![event]).await?
            };
            if !done {
                continue;
            }
            let assignment = AssignmentRow {
                status: "checked_in".into(),
                checked_in_at: Some(ms(now)),
                late_minutes: Some(late_minutes),
                distance_m: Some(distance_m),
                updated_at: ms(now),
                ..a
            };
            return Ok(Attendance {
                assignment,
                order,
                late_minutes,
                distance_m,
                worked_minutes: None,
                check_out_distance_m: None,
            });
        }
        Err(Error::Unavailable(
            "the assignment kept changing; retry the check-in".into(),
        ))
    }

    /// Checks a worker out: only after a check-in; worked minutes run from the later of check-in and start.
    /// A repeated check-out answers the first one again.
    #[tracing::instrument(skip(self, at, device_time))]
    pub async fn check_out(
        &self,
        actor: Actor,
        id: AssignmentId,
        at: LatLon,
        device_time: Option<String>,
    ) -> crate::Result<Attendance> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (a, st) = self.own_assignment(&mut tx, actor, id).await?;
        if a.status == "completed" && a.checked_out_at.is_some() {
            return Ok(Attendance {
                late_minutes: a.late_minutes.unwrap_or(0),
                distance_m: a.distance_m.unwrap_or(0.0),
                worked_minutes: a.worked_minutes,
                check_out_distance_m: a.check_out_distance_m,
                assignment: a,
                order: std::sync::Arc::new(st.order),
            });
        }
        if a.status != "checked_in" {
            return Err(Error::Conflict(format!(
                "check-out needs a check-in first; the assignment is {}",
                a.status
            )));
        }
        // Check-out is geofenced like check-in: outside it the assignment stays checked in.
        let distance_m = (st.order.venue.location.distance_km(at) * 1000.0).round();
        if distance_m > st.order.venue.geofence_m {
            return Err(Error::Refused {
                problem: "outside-geofence",
                detail: format!(
                    "{distance_m} m from the venue; the geofence is {} m",
                    st.order.venue.geofence_m
                ),
            });
        }
        let worked = self
            .complete(&mut tx, &st, &a, now, Some((at, device_time)))
            .await?;
        let assignment = store::orders::assignment(tx.conn().await?, a.id)
            .await?
            .ok_or_else(|| Error::Internal("assignment vanished".into()))?;
        self.committed(tx).await?;
        Ok(Attendance {
            late_minutes: assignment.late_minutes.unwrap_or(0),
            distance_m: assignment.distance_m.unwrap_or(0.0),
            worked_minutes: Some(worked),
            check_out_distance_m: assignment.check_out_distance_m,
            assignment,
            order: std::sync::Arc::new(st.order),
        })
    }

    /// Completes a checked-in assignment (check-out, or the end of the shift): worked minutes, the worker's
    /// record, experience with the client.
    pub(super) async fn complete(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        a: &AssignmentRow,
        now: DateTime<Utc>,
        at: Option<(LatLon, Option<String>)>,
    ) -> crate::Result<i64> {
        // Pre-shift positions live only until the worker's shift ends.
        self.forget_signals_of(tx, a.id).await?;
        let from = from_ms(a.checked_in_at.unwrap_or(a.start_at)).max(st.order.shift.start());
        let until = now.min(st.order.shift.end());
        let worked = ((until - from).num_seconds().max(0)) / 60;
        let place = at.as_ref().map(|(p, _)| (p.lat(), p.lon()));
        let distance_m = at
            .as_ref()
            .map(|(p, _)| (st.order.venue.location.distance_km(*p) * 1000.0).round());
        let evidence = match at {
            Some((p, device_time)) => {
                json!({"lat": p.lat(), "lon": p.lon(), "device_time": device_time}).to_string()
            }
            None => json!({"automatic": "shift ended"}).to_string(),
        };
        store::orders::check_out(tx, a.id, ms(now), worked, &evidence, distance_m).await?;
        self.submit_timesheet(tx, st, a, now, worked).await?;
        store::events::append(
            tx,
            ms(now),
            Some(st.order.agency.get()),
            "checked_out",
            &json!({"assignment": AssignmentId::new(a.id as u64).to_string(), "worked_minutes": worked,
                    "distance_m": distance_m,
                    "lat": place.map(|p| p.0), "lon": place.map(|p| p.1),
                    "worker": WorkerId::new(a.worker_id as u64).to_string(), "client_ref": st.order.client_ref}),
        )
        .await?;
        let worker = WorkerId::new(a.worker_id as u64);
        self.bump_stats(tx, worker, now, |s| s.completed_shifts += 1)
            .await?;
        sqlx::query(
            "INSERT INTO client_relations (agency_id, client_ref, worker_id, completed) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (agency_id, client_ref, worker_id) DO UPDATE SET completed = client_relations.completed + 1",
        )
        .bind(st.row.agency_id)
        .bind(&st.order.client_ref)
        .bind(a.worker_id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        Ok(worked)
    }

    /// The agency reports a no-show now (after the start).
    #[tracing::instrument(skip(self))]
    pub async fn report_no_show(
        &self,
        agency: AgencyId,
        id: AssignmentId,
    ) -> crate::Result<AssignmentRow> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (a, mut st) = self
            .own_assignment(&mut tx, Actor::Agency(agency), id)
            .await?;
        if a.status != "confirmed" {
            return Err(Error::Conflict(format!(
                "only a confirmed assignment can be a no-show; this one is {}",
                a.status
            )));
        }
        if now < st.order.shift.start() {
            return Err(Error::Conflict("the shift has not started yet".into()));
        }
        self.no_show(&mut tx, &mut st, &a, now, "reported").await?;
        let updated = store::orders::assignment(tx.conn().await?, a.id)
            .await?
            .ok_or_else(|| Error::Internal("assignment vanished".into()))?;
        self.committed(tx).await?;
        Ok(updated)
    }

    /// Marks a no-show, applies the suspension policy and replaces the worker.
    pub(super) async fn no_show(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        a: &AssignmentRow,
        now: DateTime<Utc>,
        how: &str,
    ) -> crate::Result<()> {
        self.end_assignment(tx, st, a, "no_show", how, now).await?;
        let worker = WorkerId::new(a.worker_id as u64);
        self.bump_stats(tx, worker, now, |s| s.no_shows += 1)
            .await?;
        self.suspend_if_struck_out(tx, worker, now).await?;
        self.refresh(tx, st).await?;
        self.replace(tx, st, a.role_idx as usize, Some(a.id), now)
            .await
    }

    /// Strikes, in thirds of a strike: within the policy's window, a no-show is a whole strike and a worker's
    /// own late cancellation its graded strike (`cancellation_strike`); every `clean_shifts_per_strike` shifts
    /// completed after the first strike wipe a whole one. Thirds keep the sum exact.
    async fn strike_thirds(
        &self,
        tx: &mut Tx,
        worker: WorkerId,
        now: DateTime<Utc>,
    ) -> crate::Result<i64> {
        let rows: Vec<(String, Option<f64>)> = sqlx::query_as(
            "SELECT status, strike_weight FROM assignments WHERE worker_id = $1 \
             AND ((kind = 'shift' AND status IN ('no_show', 'completed')) \
                  OR (status = 'cancelled' AND strike_weight > 0)) \
             AND start_at >= $2 ORDER BY start_at, id",
        )
        .bind(worker.get() as i64)
        .bind(ms(now - self.no_show_policy.strike_window))
        .fetch_all(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let thirds = |r: &(String, Option<f64>)| match r.0.as_str() {
            "no_show" => 3,
            "cancelled" => (r.1.unwrap_or(0.0) * 3.0).round() as i64,
            _ => 0,
        };
        let struck: i64 = rows.iter().map(thirds).sum();
        let first = rows.iter().position(|r| thirds(r) > 0);
        let clean_after = first.map_or(0, |i| {
            rows[i..].iter().filter(|r| r.0 == "completed").count()
        });
        let wiped = (clean_after / self.no_show_policy.clean_shifts_per_strike.max(1)) as i64;
        Ok((struck - 3 * wiped).max(0))
    }

    pub(super) async fn suspend_if_struck_out(
        &self,
        tx: &mut Tx,
        worker: WorkerId,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        if self.strike_thirds(tx, worker, now).await?
            < 3 * self.no_show_policy.strikes_to_suspend as i64
        {
            return Ok(());
        }
        self.set_status(tx, worker, WorkerStatus::Suspended, "no_show_strikes", now)
            .await
    }

    async fn set_status(
        &self,
        tx: &mut Tx,
        worker: WorkerId,
        status: WorkerStatus,
        reason: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        sqlx::query("UPDATE workers SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(ms(now))
            .bind(worker.get() as i64)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        let Some(r) = store::workers::get_any_tx(tx, worker).await? else {
            return Ok(());
        };
        store::events::append(
            tx,
            ms(now),
            Some(r.agency.get()),
            "worker_status",
            &json!({"worker": worker.to_string(), "status": status.as_str(), "reason": reason,
                    "record": crate::wire::worker::RecordBody::of(status, &r.stats)}),
        )
        .await?;
        if status == WorkerStatus::Suspended {
            self.release_worker(tx, worker, "worker_suspended", now)
                .await?;
        }
        Ok(())
    }

    /// Rates a completed assignment, once: 5 stars makes the worker a favourite of the client, 1 star blocks
    /// them for the client, 2 stars or fewer opens a review due in 48 hours.
    #[tracing::instrument(skip(self, comment))]
    pub async fn rate(
        &self,
        agency: AgencyId,
        id: AssignmentId,
        stars: i64,
        comment: String,
    ) -> crate::Result<Option<ReviewRow>> {
        let stars = Stars::new(stars).map_err(|e| Error::Invalid(vec![e]))?;
        if comment.chars().count() > 2000 {
            return Err(Error::Invalid(vec![FieldError::new(
                "comment",
                "at most 2000 characters",
            )]));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (a, st) = self
            .own_assignment(&mut tx, Actor::Agency(agency), id)
            .await?;
        if a.status != "completed" {
            return Err(Error::Conflict(format!(
                "only a completed (checked-out) assignment can be rated; this one is {}",
                a.status
            )));
        }
        let exists: Option<(i64,)> =
            sqlx::query_as("SELECT assignment_id FROM ratings WHERE assignment_id = $1")
                .bind(a.id)
                .fetch_optional(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
        if exists.is_some() {
            return Err(Error::Conflict("the assignment is already rated".into()));
        }
        sqlx::query(
            "INSERT INTO ratings (assignment_id, agency_id, worker_id, stars, comment, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(a.id)
        .bind(a.agency_id)
        .bind(a.worker_id)
        .bind(i64::from(stars.get()))
        .bind(&comment)
        .bind(ms(now))
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "rated",
            &json!({"assignment": id.to_string(), "worker": WorkerId::new(a.worker_id as u64).to_string(), "stars": stars.get(),
                    "client_ref": st.order.client_ref, "comment": comment}),
        )
        .await?;
        let worker = WorkerId::new(a.worker_id as u64);
        self.bump_stats(&mut tx, worker, now, |s| {
            s.rating_sum += u32::from(stars.get());
            s.rating_count += 1;
        })
        .await?;
        let (fav, blocked) = (stars.get() == 5, stars.get() == 1);
        if fav || blocked {
            sqlx::query(
                "INSERT INTO client_relations (agency_id, client_ref, worker_id, favourite, blocked) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agency_id, client_ref, worker_id) DO UPDATE \
                 SET favourite = excluded.favourite, blocked = excluded.blocked",
            )
            .bind(a.agency_id)
            .bind(&st.order.client_ref)
            .bind(a.worker_id)
            .bind(i64::from(fav))
            .bind(i64::from(blocked))
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        }
        let mut review = None;
        if stars.get() <= 2 {
            let (rid,): (i64,) = sqlx::query_as(
                "INSERT INTO reviews (agency_id, assignment_id, worker_id, stars, status, due_at, created_at) \
                 VALUES ($1, $2, $3, $4, 'open', $5, $6) RETURNING id",
            )
            .bind(a.agency_id)
            .bind(a.id)
            .bind(a.worker_id)
            .bind(i64::from(stars.get()))
            .bind(ms(now + REVIEW_DUE))
            .bind(ms(now))
            .fetch_one(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
            store::events::append(
                &mut tx,
                ms(now),
                Some(agency.get()),
                "review_opened",
                &json!({"review": crate::domain::ReviewId::new(rid as u64).to_string(), "assignment": id.to_string()}),
            )
            .await?;
            review = Some(ReviewRow {
                id: rid,
                assignment_id: a.id,
                worker_id: a.worker_id,
                stars: i64::from(stars.get()),
                status: "open".into(),
                due_at: ms(now + REVIEW_DUE),
                created_at: ms(now),
                outcome: None,
                note: None,
                resolved_at: None,
            });
        }
        self.committed(tx).await?;
        Ok(review)
    }

    /// The agency's reviews, optionally by status (`open`, `resolved`, or `overdue`: open past its due time,
    /// computed on read from the engine's clock), a page after `after`.
    pub async fn reviews(
        &self,
        agency: AgencyId,
        status: Option<&str>,
        after: i64,
        limit: i64,
    ) -> crate::Result<Vec<ReviewRow>> {
        let (status, due_by) = match status {
            Some("overdue") => (Some("open"), ms(self.now())),
            s => (s, i64::MAX),
        };
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLS} FROM reviews \
             WHERE agency_id = $1 AND ($2 IS NULL OR status = $2) AND due_at <= $3 AND id > $4 \
             ORDER BY id LIMIT $5"
        )))
        .bind(agency.get() as i64)
        .bind(status)
        .bind(due_by)
        .bind(after)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)
    }

    /// Resolves an open review, once (a second resolve is 409): `block` blocks the worker for the client of
    /// the rated shift (as `set_client_list` does), `suspension` suspends the worker with everything a
    /// suspension releases, all in the resolution's transaction.
    #[tracing::instrument(skip(self, note))]
    pub async fn resolve_review(
        &self,
        agency: AgencyId,
        id: crate::domain::ReviewId,
        outcome: ReviewOutcome,
        note: String,
    ) -> crate::Result<ReviewRow> {
        if note.chars().count() > 2000 {
            return Err(Error::Invalid(vec![FieldError::new(
                "note",
                "at most 2000 characters",
            )]));
        }
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let lock = if self.store.backend() == store::Backend::Postgres {
            " FOR UPDATE"
        } else {
            ""
        };
        let review: ReviewRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLS} FROM reviews WHERE id = $1 AND agency_id = $2{lock}"
        )))
        .bind(id.get() as i64)
        .bind(agency.get() as i64)
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?
        .ok_or_else(|| Error::NotFound("review".into()))?;
        if review.status != "open" {
            return Err(Error::Conflict(format!(
                "the review is already resolved ({})",
                review.outcome.as_deref().unwrap_or("resolved")
            )));
        }
        sqlx::query(
            "UPDATE reviews SET status = 'resolved', outcome = $1, note = $2, resolved_at = $3 WHERE id = $4",
        )
        .bind(outcome.as_str())
        .bind(&note)
        .bind(ms(now))
        .bind(review.id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let worker = WorkerId::new(review.worker_id as u64);
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "review_resolved",
            &json!({"review": id.to_string(), "assignment": AssignmentId::new(review.assignment_id as u64).to_string(),
                    "worker": worker.to_string(), "outcome": outcome.as_str(), "note": note}),
        )
        .await?;
        match outcome {
            ReviewOutcome::Dismissed | ReviewOutcome::Warning => {}
            ReviewOutcome::Block => {
                let a = store::orders::assignment(tx.conn().await?, review.assignment_id)
                    .await?
                    .ok_or_else(|| Error::Internal("reviewed assignment vanished".into()))?;
                let order = self.order_of(a.order_id).await?;
                if order.client_ref.trim().is_empty() {
                    return Err(Error::Conflict(
                        "the rated order names no client: there is no list to block the worker on"
                            .into(),
                    ));
                }
                self.set_client_list_in(
                    &mut tx,
                    agency,
                    &order.client_ref,
                    super::ClientList::Blocks,
                    worker,
                    true,
                    Some(id),
                )
                .await?;
            }
            ReviewOutcome::Suspension => {
                self.set_status(&mut tx, worker, WorkerStatus::Suspended, "review", now)
                    .await?;
            }
        }
        self.committed(tx).await?;
        Ok(ReviewRow {
            status: "resolved".into(),
            outcome: Some(outcome.as_str().into()),
            note: Some(note),
            resolved_at: Some(ms(now)),
            ..review
        })
    }
}
