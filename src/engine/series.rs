//! Series: an order repeated on several days (`"repeat"` on `POST /v1/orders`). Each shift is an order of its
//! own, posted and dispatched exactly as a single order; the series ties them together so that the agency can
//! read their fill at once, change or cancel them from a date on, and offer a worker the whole series, and so
//! that the worker can accept all of it (or some shifts) at once.
//!
//! Every command runs in one transaction over the shifts it touches (each order's row locked as any order
//! command locks it), writes the events of each order as the single-order command would, and one event of the
//! series (`series_posted`, `series_patched`, `series_cancelled`, `series_offered`, `series_accepted`) whose
//! payload is the whole request, so that replay can re-issue it.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;

use super::offers::Refusal;
use super::orders::{OrderState, state_from_row};
use super::{Engine, ms};
use crate::domain::series::{self, Zone};
use crate::domain::time::format_instant;
use crate::domain::{AgencyId, OfferId, OrderId, SeriesId, WorkerId};
use crate::error::{Error, FieldError};
use crate::store::{self, Tx, series::SeriesRow};
use crate::wire::order::OrderBody;

/// A series with its shifts.
#[derive(Debug, Clone)]
pub struct SeriesState {
    /// The row.
    pub row: SeriesRow,
    /// The body it was posted with, its repeat rule included.
    pub body: OrderBody,
    /// Where its local times live.
    pub zone: Zone,
    /// Its shifts, by start.
    pub shifts: Vec<OrderState>,
}

impl SeriesState {
    /// The series' id.
    pub fn id(&self) -> SeriesId {
        SeriesId::new(self.row.id as u64)
    }

    /// `cancelled` when every shift is, `ended` when every shift has ended (completed, unfilled or
    /// cancelled), `active` otherwise.
    pub fn status(&self) -> &'static str {
        let done = |s: &str| matches!(s, "completed" | "unfilled" | "cancelled");
        if self.shifts.iter().all(|s| s.row.status == "cancelled") {
            "cancelled"
        } else if self.shifts.iter().all(|s| done(&s.row.status)) {
            "ended"
        } else {
            "active"
        }
    }

    /// The local date of a shift, in the series' zone.
    pub fn local_date(&self, st: &OrderState) -> NaiveDate {
        self.zone.local(st.order.shift.start()).date()
    }
}

/// What happened to one shift in a command over several: an offer sent or accepted (with its assignment),
/// or why not.
#[derive(Debug, Clone)]
pub struct ShiftOutcome {
    /// The shift's order.
    pub order: OrderId,
    /// Its start.
    pub start: DateTime<Utc>,
    /// Its end.
    pub end: DateTime<Utc>,
    /// The offer sent or accepted.
    pub offer: Option<OfferId>,
    /// The assignment an acceptance made.
    pub assignment: Option<i64>,
    /// Why not: a code and a sentence.
    pub refusal: Option<(String, String)>,
}

impl ShiftOutcome {
    fn of(st: &OrderState) -> Self {
        ShiftOutcome {
            order: st.order.id,
            start: st.order.shift.start(),
            end: st.order.shift.end(),
            offer: None,
            assignment: None,
            refusal: None,
        }
    }

    fn refused(mut self, reason: &str, detail: impl Into<String>) -> Self {
        self.refusal = Some((reason.to_string(), detail.into()));
        self
    }
}

/// Parses a series id from the API (an unknown shape is simply not found).
pub fn series_id(raw: &str) -> crate::Result<SeriesId> {
    raw.parse::<SeriesId>()
        .map_err(|_| Error::NotFound("series".into()))
}

/// The zone of a posted body: the venue's timezone, or the start's own offset.
fn zone_of(body: &OrderBody, order: &crate::domain::Order) -> Zone {
    match order.venue.timezone {
        Some(tz) => Zone::Named(tz),
        None => Zone::Fixed(
            DateTime::parse_from_rfc3339(body.start.trim())
                .map(|t| *t.offset())
                .unwrap_or_else(|_| chrono::FixedOffset::east_opt(0).expect("zero offset")),
        ),
    }
}

/// Reads a series' shifts on one connection.
async fn state_of(conn: &mut sqlx::AnyConnection, row: SeriesRow) -> crate::Result<SeriesState> {
    let body: OrderBody = serde_json::from_str(&row.body)
        .map_err(|e| Error::Internal(format!("stored series {}: {e}", row.id)))?;
    let zone = Zone::parse(&row.zone)
        .ok_or_else(|| Error::Internal(format!("stored series {}: zone {}", row.id, row.zone)))?;
    let mut shifts = Vec::new();
    for r in store::series::shifts(&mut *conn, row.id).await? {
        shifts.push(state_from_row(&mut *conn, r).await?);
    }
    Ok(SeriesState {
        row,
        body,
        zone,
        shifts,
    })
}

impl Engine {
    /// Posts a repeating order: a series and one order per shift, each dispatched at once as a single order
    /// is. An invalid repeat rule, or any shift that would be invalid, is a 422 and nothing is created.
    #[tracing::instrument(skip(self, body))]
    pub async fn post_series(
        &self,
        agency: AgencyId,
        body: OrderBody,
    ) -> crate::Result<SeriesState> {
        let Some(repeat) = body.repeat.clone() else {
            return Err(Error::Invalid(vec![FieldError::new(
                "repeat",
                "is required for a series",
            )]));
        };
        // The body's own errors and the rule's are reported together.
        let first = body.parse(OrderId::new(0), agency);
        let rule = repeat.to_input().validate();
        let (first, rule) = match (first, rule) {
            (Ok(f), Ok(r)) => (f, r),
            (f, r) => {
                let mut errors = f.err().unwrap_or_default();
                errors.extend(r.err().unwrap_or_default());
                return Err(Error::Invalid(errors));
            }
        };
        let zone = zone_of(&body, &first);
        let times = series::shifts(first.shift.start(), first.shift.end(), zone, &rule)
            .map_err(Error::Invalid)?;
        let now = self.now();
        self.check_new_order(agency, &first, now)?;
        // Every shift inherits the client's SLA tier, as a single order does.
        let sla = self.tier_for_new_order(agency, &first.client_ref).await?;
        let canonical = OrderBody::from_order(&first);
        let mut states = Vec::with_capacity(times.len());
        for (start, end) in &times {
            let mut b = canonical.clone();
            b.start = format_instant(*start);
            b.end = format_instant(*end);
            let mut order = b.parse(OrderId::new(0), agency).map_err(Error::Invalid)?;
            if let Some((_, tier)) = &sla {
                tier.raise(&mut order);
            }
            states.push(self.fresh_state(agency, order, now));
        }
        // Rankings and crews are worked out before the transaction, as for a single order.
        let prepared = self.prepare_dispatch(&states, now).await;
        let stored = serde_json::to_string(&body).expect("serialises");
        let mut tx = self.store.begin().await?;
        let id =
            store::series::insert(&mut tx, agency.get() as i64, &stored, &zone.name(), ms(now))
                .await?;
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "series_posted",
            &json!({
                "series": SeriesId::new(id as u64).to_string(),
                "body": body,
                "timezone": zone.name(),
                "shifts": times.iter().map(|(s, e)| json!({"start": format_instant(*s), "end": format_instant(*e)})).collect::<Vec<_>>(),
            }),
        )
        .await?;
        for (st, p) in states.iter_mut().zip(prepared) {
            self.write_posted(&mut tx, st, p, Some(id), sla.as_ref(), now)
                .await?;
        }
        let row = SeriesRow {
            id,
            agency_id: agency.get() as i64,
            body: stored,
            zone: zone.name(),
            created_at: ms(now),
        };
        self.committed(tx).await?;
        Ok(SeriesState {
            row,
            body,
            zone,
            shifts: states,
        })
    }

    /// A series of the agency with its shifts.
    pub async fn series(&self, agency: AgencyId, id: SeriesId) -> crate::Result<SeriesState> {
        let mut conn = self.store.pool().acquire().await.map_err(store::db_error)?;
        let row = store::series::get(&mut *conn, agency.get() as i64, id.get() as i64)
            .await?
            .ok_or_else(|| Error::NotFound("series".into()))?;
        state_of(&mut conn, row).await
    }

    /// The agency's series, a page after `after`.
    pub async fn list_series(
        &self,
        agency: AgencyId,
        after: Option<u64>,
        limit: i64,
    ) -> crate::Result<Vec<SeriesState>> {
        let mut conn = self.store.pool().acquire().await.map_err(store::db_error)?;
        let rows = store::series::list(
            &mut *conn,
            agency.get() as i64,
            after.unwrap_or(0) as i64,
            limit,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(state_of(&mut conn, row).await?);
        }
        Ok(out)
    }

    /// The series in `tx` (another agency's is not found) and the ids of its shifts that start after `now`
    /// on or after the local date `from` (every future shift without it), by start.
    async fn future_shifts(
        &self,
        tx: &mut Tx,
        agency: AgencyId,
        id: SeriesId,
        from: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> crate::Result<(SeriesRow, Zone, Vec<OrderId>)> {
        let row = store::series::get(tx.conn().await?, agency.get() as i64, id.get() as i64)
            .await?
            .ok_or_else(|| Error::NotFound("series".into()))?;
        let zone = Zone::parse(&row.zone).ok_or_else(|| {
            Error::Internal(format!("stored series {}: zone {}", row.id, row.zone))
        })?;
        let ids = store::series::shifts(tx.conn().await?, row.id)
            .await?
            .into_iter()
            .filter(|r| r.start_at > ms(now))
            .filter(|r| from.is_none_or(|f| zone.local(super::from_ms(r.start_at)).date() >= f))
            .map(|r| OrderId::new(r.id as u64))
            .collect();
        Ok((row, zone, ids))
    }

    /// Changes headcounts of every shift of the series from the local date `from` on that has not started
    /// and is still open or filled, as `PATCH /v1/orders/{id}` would change each. Answers the series and the
    /// shifts changed.
    #[tracing::instrument(skip(self, changes))]
    pub async fn patch_series(
        &self,
        agency: AgencyId,
        id: SeriesId,
        from: NaiveDate,
        changes: Vec<(String, i64)>,
    ) -> crate::Result<(SeriesState, Vec<OrderId>)> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (row, _, ids) = self
            .future_shifts(&mut tx, agency, id, Some(from), now)
            .await?;
        let mut changed = Vec::new();
        for oid in ids {
            let mut st = self.load_order(&mut tx, Some(agency), oid).await?;
            // Every shift shares the roles: a bad change is refused at the first, before any write.
            Self::check_headcounts(&st.order, &changes)?;
            if !matches!(st.row.status.as_str(), "open" | "filled") {
                continue;
            }
            self.patch_loaded(&mut tx, &mut st, &changes, now, Some(id))
                .await?;
            changed.push(oid);
        }
        if changed.is_empty() {
            return Err(Error::Conflict(format!(
                "no shift of the series on or after {from} is still to come and open or filled"
            )));
        }
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "series_patched",
            &json!({
                "series": id.to_string(), "from": from.to_string(),
                "roles": changes.iter().map(|(n, h)| json!({"name": n, "headcount": h})).collect::<Vec<_>>(),
                "orders": changed.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            }),
        )
        .await?;
        let st = state_of(tx.conn().await?, row).await?;
        self.committed(tx).await?;
        Ok((st, changed))
    }

    /// Cancels every shift of the series from the local date `from` on (every shift to come without it)
    /// that has not started, as `POST /v1/orders/{id}/cancel` cancels each: offers withdrawn, workers and
    /// standbys released. Answers the series and the shifts cancelled.
    #[tracing::instrument(skip(self))]
    pub async fn cancel_series(
        &self,
        agency: AgencyId,
        id: SeriesId,
        from: Option<NaiveDate>,
    ) -> crate::Result<(SeriesState, Vec<OrderId>)> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (row, _, ids) = self.future_shifts(&mut tx, agency, id, from, now).await?;
        let mut cancelled = Vec::new();
        for oid in ids {
            let mut st = self.load_order(&mut tx, Some(agency), oid).await?;
            if matches!(
                st.row.status.as_str(),
                "cancelled" | "completed" | "unfilled"
            ) {
                continue;
            }
            self.cancel_loaded(&mut tx, &mut st, now, Some(id)).await?;
            cancelled.push(oid);
        }
        if cancelled.is_empty() {
            return Err(Error::Conflict(match from {
                Some(f) => format!("no shift of the series on or after {f} is still to come"),
                None => "no shift of the series is still to come".into(),
            }));
        }
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "series_cancelled",
            &json!({
                "series": id.to_string(), "from": from.map(|f| f.to_string()),
                "orders": cancelled.iter().map(|o| o.to_string()).collect::<Vec<_>>(),
            }),
        )
        .await?;
        let st = state_of(tx.conn().await?, row).await?;
        self.committed(tx).await?;
        Ok((st, cancelled))
    }

    /// Offers a named worker a role in every shift of the series still to come: one offer per shift, each
    /// checked by the hard filters of that shift as an offer by hand is. Answers what happened to each shift;
    /// a 409 when no shift could be offered (then nothing is sent).
    #[tracing::instrument(skip(self))]
    pub async fn offer_series(
        &self,
        agency: AgencyId,
        id: SeriesId,
        worker: WorkerId,
        role: &str,
    ) -> crate::Result<Vec<ShiftOutcome>> {
        let now = self.now();
        if self
            .index
            .get(worker)
            .filter(|w| w.agency == agency)
            .is_none()
        {
            return Err(Error::NotFound("worker".into()));
        }
        let mut tx = self.store.begin().await?;
        let (_, _, ids) = self.future_shifts(&mut tx, agency, id, None, now).await?;
        let mut outcomes = Vec::new();
        for oid in ids {
            let mut st = self.load_order(&mut tx, Some(agency), oid).await?;
            if st.order.role_index(role).is_none() {
                return Err(Error::Invalid(vec![FieldError::new(
                    "role",
                    "no role of the series has this name",
                )]));
            }
            let outcome = ShiftOutcome::of(&st);
            if !matches!(st.row.status.as_str(), "open" | "filled") {
                outcomes.push(outcome.refused("closed", format!("the shift is {}", st.row.status)));
                continue;
            }
            // Every refusal below comes before anything of this shift is written.
            match self
                .offer_by_hand_loaded(&mut tx, &mut st, worker, role, now, Some(id))
                .await
            {
                Ok(offer) => outcomes.push(ShiftOutcome {
                    offer: Some(OfferId::new(offer.id as u64)),
                    ..outcome
                }),
                Err(Error::NotEligible { reason, detail }) => {
                    outcomes.push(outcome.refused(reason, detail))
                }
                Err(Error::Conflict(detail)) => outcomes.push(outcome.refused("role_full", detail)),
                Err(e) => return Err(e),
            }
        }
        if outcomes.iter().all(|o| o.offer.is_none()) {
            let why: Vec<String> = outcomes
                .iter()
                .filter_map(|o| {
                    o.refusal
                        .as_ref()
                        .map(|(r, _)| format!("{} ({r})", o.order))
                })
                .collect();
            return Err(Error::Conflict(if why.is_empty() {
                "the series has no shift still to come".into()
            } else {
                format!(
                    "no shift of the series could be offered to {worker}: {}",
                    why.join(", ")
                )
            }));
        }
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "series_offered",
            &json!({
                "series": id.to_string(), "worker": worker.to_string(), "role": role,
                "offers": outcomes.iter().filter_map(|o| o.offer.map(|f| json!({"order": o.order.to_string(), "offer": f.to_string()}))).collect::<Vec<_>>(),
                "skipped": outcomes.iter().filter_map(|o| o.refusal.as_ref().map(|(r, _)| json!({"order": o.order.to_string(), "reason": r}))).collect::<Vec<_>>(),
            }),
        )
        .await?;
        self.committed(tx).await?;
        Ok(outcomes)
    }

    /// Accepts the worker's pending offers of shifts of a series: all of them, or those of the orders
    /// listed. Each is accepted as `POST /v1/offers/{id}/accept` would (never over a headcount, never a
    /// double booking); the answer says which were accepted and why the others were not. A series in which
    /// the worker was never offered anything is not found.
    #[tracing::instrument(skip(self, only))]
    pub async fn accept_series(
        &self,
        worker: WorkerId,
        id: SeriesId,
        only: Option<Vec<OrderId>>,
    ) -> crate::Result<Vec<ShiftOutcome>> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let (sid, wid) = (id.get() as i64, worker.get() as i64);
        if !store::series::worker_involved(tx.conn().await?, sid, wid).await? {
            return Err(Error::NotFound("series".into()));
        }
        let pending = store::series::pending_offers_of_worker(tx.conn().await?, sid, wid).await?;
        let mut outcomes = Vec::new();
        if let Some(only) = &only {
            for (i, o) in only.iter().enumerate() {
                if only[..i].contains(o) {
                    return Err(Error::Invalid(vec![FieldError::new(
                        format!("orders[{i}]"),
                        "names an order a second time",
                    )]));
                }
            }
            for o in only {
                if !pending.iter().any(|(_, order)| *order == o.get() as i64) {
                    let at = store::orders::order(tx.conn().await?, o.get() as i64)
                        .await?
                        .filter(|r| r.series_id == Some(sid));
                    let (start, end) = at
                        .as_ref()
                        .map(|r| (super::from_ms(r.start_at), super::from_ms(r.end_at)))
                        .unwrap_or_default();
                    outcomes.push(ShiftOutcome {
                        order: *o,
                        start,
                        end,
                        offer: None,
                        assignment: None,
                        refusal: Some((
                            "no_pending_offer".into(),
                            "you have no pending offer for this shift of the series".into(),
                        )),
                    });
                }
            }
        }
        let wanted: Vec<(i64, i64)> = pending
            .into_iter()
            .filter(|(_, order)| {
                only.as_ref()
                    .is_none_or(|l| l.iter().any(|o| o.get() as i64 == *order))
            })
            .collect();
        if wanted.is_empty() && outcomes.is_empty() {
            return Err(Error::Conflict(
                "you have no pending offer in this series".into(),
            ));
        }
        for (offer_id, _) in wanted {
            let (offer, mut st) = self
                .own_offer(&mut tx, worker, OfferId::new(offer_id as u64))
                .await?;
            let outcome = ShiftOutcome {
                offer: Some(OfferId::new(offer_id as u64)),
                ..ShiftOutcome::of(&st)
            };
            match self
                .accept_loaded(&mut tx, &mut st, &offer, worker, now, Some(id))
                .await?
            {
                Ok(assignment) => {
                    self.offer_rest(&mut tx, &st, &offer, worker, now).await?;
                    outcomes.push(ShiftOutcome {
                        assignment: Some(assignment),
                        ..outcome
                    })
                }
                Err(Refusal { reason, detail }) => outcomes.push(outcome.refused(reason, detail)),
            }
        }
        outcomes.sort_by_key(|o| (o.start, o.order));
        if outcomes.iter().any(|o| o.assignment.is_some()) {
            let agency = store::series::agency_of(tx.conn().await?, sid).await?;
            store::events::append(
                &mut tx,
                ms(now),
                agency.map(|a| a as u64),
                "series_accepted",
                &json!({
                    "series": id.to_string(), "worker": worker.to_string(),
                    "orders": only.as_ref().map(|l| l.iter().map(|o| o.to_string()).collect::<Vec<_>>()),
                    "accepted": outcomes.iter().filter(|o| o.assignment.is_some()).map(|o| o.order.to_string()).collect::<Vec<_>>(),
                    "refused": outcomes.iter().filter_map(|o| o.refusal.as_ref().map(|(r, _)| json!({"order": o.order.to_string(), "reason": r}))).collect::<Vec<_>>(),
                }),
            )
            .await?;
            self.committed(tx).await?;
        }
        Ok(outcomes)
    }
}

impl Engine {
    /// After `worker` accepted `offer` of a shift of a series posted with `"same_crew": true`: offers them the
    /// same role in every later shift of the series still to come, each checked by that shift's hard filters
    /// (a shift that is full, closed, or where they are excluded — already offered or booked there — is
    /// passed over). Does nothing for an order outside a series, a standby offer, or a series without it.
    pub(super) async fn offer_rest(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        offer: &store::orders::OfferRow,
        worker: WorkerId,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let Some(sid) = st.row.series_id else {
            return Ok(());
        };
        if offer.kind != "shift" {
            return Ok(());
        }
        let agency = st.order.agency;
        let Some(row) = store::series::get(tx.conn().await?, agency.get() as i64, sid).await?
        else {
            return Ok(());
        };
        let body: OrderBody = serde_json::from_str(&row.body)
            .map_err(|e| Error::Internal(format!("stored series {}: {e}", row.id)))?;
        if body.repeat.and_then(|r| r.same_crew) != Some(true) {
            return Ok(());
        }
        let Some(role) = st.order.roles.get(offer.role_idx as usize) else {
            return Ok(());
        };
        let later: Vec<i64> = store::series::shifts(tx.conn().await?, sid)
            .await?
            .into_iter()
            .filter(|r| r.start_at > st.row.start_at && r.start_at > ms(now))
            .filter(|r| matches!(r.status.as_str(), "open" | "filled"))
            .map(|r| r.id)
            .collect();
        let mut offers = Vec::new();
        for oid in later {
            let mut later_st = self
                .load_order(tx, Some(agency), OrderId::new(oid as u64))
                .await?;
            match self
                .offer_by_hand_loaded(
                    tx,
                    &mut later_st,
                    worker,
                    &role.name,
                    now,
                    Some(SeriesId::new(sid as u64)),
                )
                .await
            {
                Ok(o) => offers.push(json!({
                    "order": OrderId::new(oid as u64).to_string(),
                    "offer": OfferId::new(o.id as u64).to_string(),
                })),
                Err(
                    Error::NotEligible { .. }
                    | Error::Conflict(_)
                    | Error::Invalid(_)
                    | Error::NotFound(_),
                ) => {}
                Err(e) => return Err(e),
            }
        }
        if !offers.is_empty() {
            store::events::append(
                tx,
                ms(now),
                Some(agency.get()),
                "series_offered",
                &json!({
                    "series": SeriesId::new(sid as u64).to_string(), "worker": worker.to_string(),
                    "role": role.name, "offers": offers, "skipped": [],
                    "after_accepting": st.order.id.to_string(),
                }),
            )
            .await?;
        }
        Ok(())
    }
}
