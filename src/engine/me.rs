//! What a worker reaches through the app: the own profile, offers and assignments, availability and
//! on-call windows.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::orders::{OrderState, state_from_row};
use super::{Engine, ms};
use crate::domain::{AgencyId, Interval, LatLon, Worker, WorkerId};
use crate::error::{Error, FieldError};
use crate::store::{self, orders::AssignmentRow, orders::OfferRow};
use crate::wire::worker::{WindowBody, WorkerBody, parse_worker};

/// An on-call window of a worker.
#[derive(Debug, Clone)]
pub struct OnCallWindow {
    /// The window's id.
    pub id: i64,
    /// Start.
    pub start: DateTime<Utc>,
    /// End.
    pub end: DateTime<Utc>,
    /// Where the worker waits.
    pub lat: f64,
    /// Where the worker waits.
    pub lon: f64,
    /// How far the worker goes at short notice.
    pub radius_km: f64,
}

impl Engine {
    pub(super) async fn order_state_of(&self, order: i64) -> crate::Result<OrderState> {
        let pool = self.store.pool();
        let row = store::orders::order(pool, order)
            .await?
            .ok_or_else(|| Error::Internal("order vanished".into()))?;
        let mut conn = pool.acquire().await.map_err(store::db_error)?;
        state_from_row(&mut conn, row).await
    }

    /// The worker's offers (pending only, or all), each with its order.
    pub async fn my_offers(
        &self,
        worker: WorkerId,
        pending_only: bool,
    ) -> crate::Result<Vec<(OfferRow, OrderState)>> {
        let now = ms(self.now());
        let mut out = Vec::new();
        for o in
            store::orders::offers_of_worker(self.store.pool(), worker.get() as i64, pending_only)
                .await?
        {
            if pending_only && o.expires_at <= now {
                continue;
            }
            let st = self.order_state_of(o.order_id).await?;
            out.push((o, st));
        }
        Ok(out)
    }

    /// The worker's assignments, newest first, each with its order.
    pub async fn my_assignments(
        &self,
        worker: WorkerId,
    ) -> crate::Result<Vec<(AssignmentRow, OrderState)>> {
        let mut out = Vec::new();
        for a in
            store::orders::assignments_of_worker(self.store.pool(), worker.get() as i64).await?
        {
            let st = self.order_state_of(a.order_id).await?;
            out.push((a, st));
        }
        Ok(out)
    }

    /// One assignment with its order, for an answer.
    pub async fn assignment_with_order(
        &self,
        id: i64,
    ) -> crate::Result<(AssignmentRow, OrderState)> {
        // Inside a keyed request the request's own writes are not committed yet: read them through its
        // transaction.
        if let Some(mut tx) = self.store.parked() {
            let read = async {
                let a = store::orders::assignment(tx.conn().await?, id)
                    .await?
                    .ok_or_else(|| Error::NotFound("assignment".into()))?;
                let row = store::orders::order(tx.conn().await?, a.order_id)
                    .await?
                    .ok_or_else(|| Error::Internal("order vanished".into()))?;
                let st = state_from_row(tx.conn().await?, row).await?;
                Ok::<_, crate::Error>((a, st))
            }
            .await;
            tx.commit().await?;
            return read;
        }
        let a = store::orders::assignment(self.store.pool(), id)
            .await?
            .ok_or_else(|| Error::NotFound("assignment".into()))?;
        let st = self.order_state_of(a.order_id).await?;
        Ok((a, st))
    }

    /// Replaces the worker's weekly windows and blackouts.
    #[tracing::instrument(skip(self, availability, blackouts))]
    pub async fn set_availability(
        &self,
        agency: AgencyId,
        worker: WorkerId,
        availability: Vec<WindowBody>,
        blackouts: Vec<crate::wire::Period>,
    ) -> crate::Result<Worker> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let row = store::workers::get_tx(&mut tx, agency, worker)
            .await?
            .ok_or_else(|| Error::NotFound("worker".into()))?;
        let old = super::workers::from_row(&row)?;
        let mut body = WorkerBody::from_worker(&old);
        body.history = None;
        body.availability = Some(availability);
        body.blackouts = blackouts;
        let mut w = parse_worker(&body, worker, agency).map_err(Error::Invalid)?;
        w.status = old.status;
        w.stats = old.stats;
        let mut stored = body.clone();
        stored.history = None;
        store::workers::update_profile(
            &mut tx,
            worker,
            &w.external_ref,
            &serde_json::to_string(&stored).expect("serialises"),
            w.status,
            now,
        )
        .await?;
        store::events::append(&mut tx, now, Some(agency.get()), "availability_set", &{
            let mut e = crate::wire::worker::worker_event(&w);
            e["availability"] = json!(body.availability);
            e["blackouts"] = json!(body.blackouts);
            e
        })
        .await?;
        self.committed(tx).await?;
        Ok(w)
    }

    /// Joins the on-call pool for a window: urgent replacements near `center` within `radius_km` are offered
    /// to the worker first.
    #[tracing::instrument(skip(self))]
    pub async fn join_on_call(
        &self,
        agency: AgencyId,
        worker: WorkerId,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        center: LatLon,
        radius_km: f64,
    ) -> crate::Result<i64> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let id = self
            .join_on_call_in(
                &mut tx,
                agency,
                worker,
                (start, end),
                center,
                radius_km,
                None,
                now,
            )
            .await?;
        self.committed(tx).await?;
        Ok(id)
    }

    /// Joins the on-call pool inside the caller's transaction: the one code path of `POST /v1/me/on-call` and of
    /// an accepted on-call invitation (`invite` names it in the `on_call_joined` event). Checks the window and
    /// radius first, so a refusal writes nothing.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn join_on_call_in(
        &self,
        tx: &mut store::Tx,
        agency: AgencyId,
        worker: WorkerId,
        (start, end): (DateTime<Utc>, DateTime<Utc>),
        center: LatLon,
        radius_km: f64,
        invite: Option<i64>,
        now: DateTime<Utc>,
    ) -> crate::Result<i64> {
        let interval = Interval::new(start, end).map_err(|e| Error::Invalid(vec![e]))?;
        if !(radius_km.is_finite() && radius_km > 0.0 && radius_km <= 500.0) {
            return Err(Error::Invalid(vec![FieldError::new(
                "radius_km",
                "must be above 0 and at most 500",
            )]));
        }
        if interval.duration() > chrono::Duration::days(14) {
            return Err(Error::Invalid(vec![FieldError::new(
                "end",
                "an on-call window lasts at most 14 days",
            )]));
        }
        if end <= now {
            return Err(Error::Invalid(vec![FieldError::new(
                "end",
                "is already past",
            )]));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO on_call (agency_id, worker_id, start_at, end_at, lat, lon, radius_km) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(agency.get() as i64)
        .bind(worker.get() as i64)
        .bind(ms(start))
        .bind(ms(end))
        .bind(center.lat())
        .bind(center.lon())
        .bind(radius_km)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let mut payload = json!({"worker": worker.to_string(), "id": id, "start": ms(start), "end": ms(end),
                "lat": center.lat(), "lon": center.lon(), "radius_km": radius_km});
        if let Some(invite) = invite {
            payload["invite"] = json!(invite);
        }
        store::events::append(tx, ms(now), Some(agency.get()), "on_call_joined", &payload).await?;
        Ok(id)
    }

    /// The worker's on-call windows that have not ended, by start.
    pub async fn on_call_windows(
        &self,
        agency: AgencyId,
        worker: WorkerId,
    ) -> crate::Result<Vec<OnCallWindow>> {
        let rows: Vec<(i64, i64, i64, f64, f64, f64)> = sqlx::query_as(
            "SELECT id, start_at, end_at, lat, lon, radius_km FROM on_call \
             WHERE agency_id = $1 AND worker_id = $2 AND end_at > $3 ORDER BY start_at, id",
        )
        .bind(agency.get() as i64)
        .bind(worker.get() as i64)
        .bind(ms(self.now()))
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(rows
            .into_iter()
            .map(|(id, start, end, lat, lon, radius_km)| OnCallWindow {
                id,
                start: super::from_ms(start),
                end: super::from_ms(end),
                lat,
                lon,
                radius_km,
            })
            .collect())
    }

    /// Leaves an on-call window (404 when it is not the worker's or has ended): urgent replacements are no
    /// longer offered to the worker for it. Offers already sent stay.
    #[tracing::instrument(skip(self))]
    pub async fn leave_on_call(
        &self,
        agency: AgencyId,
        worker: WorkerId,
        id: i64,
    ) -> crate::Result<()> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let row: Option<(i64, i64, f64, f64, f64)> = sqlx::query_as(
            "SELECT start_at, end_at, lat, lon, radius_km FROM on_call \
             WHERE id = $1 AND agency_id = $2 AND worker_id = $3 AND end_at > $4",
        )
        .bind(id)
        .bind(agency.get() as i64)
        .bind(worker.get() as i64)
        .bind(ms(now))
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let Some((start, end, lat, lon, radius_km)) = row else {
            return Err(Error::NotFound("on-call window".into()));
        };
        sqlx::query("DELETE FROM on_call WHERE id = $1")
            .bind(id)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "on_call_left",
            &json!({"worker": worker.to_string(), "id": id, "start": start, "end": end,
                    "lat": lat, "lon": lon, "radius_km": radius_km}),
        )
        .await?;
        self.committed(tx).await
    }

    /// The worker's own profile.
    pub async fn me(&self, agency: AgencyId, worker: WorkerId) -> crate::Result<Worker> {
        self.worker(agency, worker).await
    }
}
