//! What the agency's desk reads and does besides orders: a worker's app token, an order's offers, the agency's
//! assignments, and the events feeds (the agency's, a worker's) — readers of the one log like every view.

use std::sync::Arc;

use serde_json::json;

use super::{Engine, ms, tokens};
use crate::domain::{AgencyId, Order, OrderId, WorkerId};
use crate::error::Error;
use crate::store::events::StoredEvent;
use crate::store::orders::{AssignmentFilter, AssignmentRow, OfferRow};
use crate::store::{self};

/// Events a worker's own feed shows: what happened to the worker's offers, assignments and record.
const WORKER_KINDS: &[&str] = &[
    "offer_sent",
    "offer_closed",
    "assignment_made",
    "assignment_ended",
    "standby_promoted",
    "reconfirmation_requested",
    "assignment_reconfirmed",
    "assignment_at_risk",
    "pre_shift_signal",
    "checked_in",
    "checked_out",
    "worker_status",
    "worker_stats",
    "availability_set",
    "on_call_joined",
    "timesheet_submitted",
    "timesheet_disputed",
    "timesheet_corrected",
    "timesheet_approved",
    "late_cancellation",
];

impl Engine {
    /// Issues the worker a new app token and revokes the old one, on every node as it applies the event.
    #[tracing::instrument(skip(self))]
    pub async fn issue_app_token(&self, agency: AgencyId, id: WorkerId) -> crate::Result<String> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        if store::workers::get_tx(&mut tx, agency, id).await?.is_none() {
            return Err(Error::NotFound("worker".into()));
        }
        let token = tokens::generate("cc_worker_");
        store::workers::set_app_token(&mut tx, id, &tokens::hash(&token), now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "worker_token_issued",
            &json!({"worker": id.to_string()}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(token)
    }

    /// An order of the agency (404 for another's).
    async fn agency_order(&self, agency: AgencyId, id: OrderId) -> crate::Result<Arc<Order>> {
        let order = self.order_of(id.get() as i64).await?;
        if order.agency != agency {
            return Err(Error::NotFound("order".into()));
        }
        Ok(order)
    }

    /// The offers of an agency's order, every state, oldest first, a page after offer id `after`.
    pub async fn order_offers(
        &self,
        agency: AgencyId,
        id: OrderId,
        after: i64,
        limit: i64,
    ) -> crate::Result<(Arc<Order>, Vec<OfferRow>)> {
        let order = self.agency_order(agency, id).await?;
        let rows =
            store::orders::offers_of_order_page(self.store.pool(), id.get() as i64, after, limit)
                .await?;
        Ok((order, rows))
    }

    /// The agency's assignments, filtered, oldest first, a page after assignment id `after`, each with its
    /// order.
    pub async fn agency_assignments(
        &self,
        agency: AgencyId,
        filter: &AssignmentFilter,
        after: i64,
        limit: i64,
    ) -> crate::Result<Vec<(AssignmentRow, Arc<Order>)>> {
        let rows = store::orders::assignments_of_agency(
            self.store.pool(),
            agency.get() as i64,
            filter,
            after,
            limit,
        )
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for a in rows {
            let order = self.order_of(a.order_id).await?;
            out.push((a, order));
        }
        Ok(out)
    }

    /// The agency's events after `after`, in log order.
    pub async fn agency_events(
        &self,
        agency: AgencyId,
        after: i64,
        limit: i64,
    ) -> crate::Result<Vec<StoredEvent>> {
        store::events::read_agency(self.store.pool(), agency.get() as i64, after, limit).await
    }

    /// A worker's own events after `after`, in log order (`kinds` are those of the worker's offers,
    /// assignments, attendance and record; the worker's agency is the log's own business).
    pub async fn worker_events(
        &self,
        worker: WorkerId,
        after: i64,
        limit: i64,
    ) -> crate::Result<Vec<StoredEvent>> {
        store::events::read_worker(
            self.store.pool(),
            worker.get() as i64,
            WORKER_KINDS,
            after,
            limit,
        )
        .await
    }
}
