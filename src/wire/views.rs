//! Answers about orders, offers and assignments.

use serde::Serialize;

use super::order::{DispatchBody, QuotaBody, SkillReqBody, VenueBody};
use crate::domain::time::format_instant;
use crate::domain::{AssignmentId, OfferId, Order, OrderId, WorkerId};
use crate::engine::OrderState;
use crate::store::orders::{AssignmentRow, OfferRow};

/// A role with its progress.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoleView {
    /// Unique within the order.
    pub name: String,
    /// Workers wanted (as patched since posting).
    pub headcount: i64,
    /// Every one required.
    pub skills: Vec<SkillReqBody>,
    /// Every one required.
    pub languages: Vec<String>,
    /// Every one required.
    pub certifications: Vec<String>,
    /// Rank higher, not required.
    pub preferred_skills: Vec<String>,
    /// Minimum average rating.
    pub min_stars: Option<f64>,
    /// Pay per hour.
    pub pay_per_hour: Option<f64>,
    /// Bill rate per hour (what the client is invoiced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_per_hour: Option<f64>,
    /// Composition rules.
    pub quotas: Vec<QuotaBody>,
    /// Minimum reliability, 0 to 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_reliability: Option<f64>,
    /// Minimum completed shifts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_completed_shifts: Option<i64>,
    /// The role's talent pool and its mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<super::order::RolePoolBody>,
    /// Workers named for the role, offered or assigned before anyone else.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub workers: Vec<String>,
    /// Workers in its slots (confirmed, checked in or completed).
    pub filled: u32,
    /// Shift offers waiting for an answer.
    pub pending_offers: u32,
}

/// Standby of an order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandbyView {
    /// Standbys wanted (for `"auto"`, the size computed now).
    pub wanted: u32,
    /// Standbys held.
    pub held: u32,
    /// Whether the size is computed (`"auto"`).
    pub auto: bool,
    /// For a computed size, the probability of a full crew at start it aims for (0.97 unless the order
    /// set `{"auto": p}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// For a pooled order (`"pooled"`), its standby pool (`spl_…`); `wanted` and `held` are then the pool's
    /// floaters, shared with its other orders, and `target` the pool's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    /// When the order's roles ask for different skills, the pool of each role, by role (`pool` is the first);
    /// `wanted` and `held` then sum over them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<String>,
}

/// A re-confirmation request of an assignment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReconfirmView {
    /// When the worker was asked, UTC.
    pub requested_at: String,
    /// When the answer is due, UTC.
    pub deadline: String,
    /// `pending` (not answered yet), `confirmed`, or `missed` (the deadline passed unanswered).
    pub status: String,
}

impl ReconfirmView {
    /// The request of `a`, if one was sent.
    pub fn of(a: &AssignmentRow) -> Option<Self> {
        let (requested, deadline) = (a.reconfirm_requested_at?, a.reconfirm_deadline?);
        let status = if a.reconfirmed_at.is_some() {
            "confirmed"
        } else if a.reconfirm_missed_at.is_some() {
            "missed"
        } else {
            "pending"
        };
        Some(ReconfirmView {
            requested_at: format_instant(crate::engine::from_ms(requested)),
            deadline: format_instant(crate::engine::from_ms(deadline)),
            status: status.to_string(),
        })
    }
}

/// An assignment in an order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssignmentSummary {
    /// The assignment.
    pub id: String,
    /// The worker.
    pub worker_id: String,
    /// The role's name.
    pub role: String,
    /// `shift` or `standby`.
    pub kind: String,
    /// Its status.
    pub status: String,
    /// The re-confirmation request, when one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconfirm: Option<ReconfirmView>,
}

/// An order as the API answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderView {
    /// The order.
    pub id: String,
    /// `open`, `filled`, `in_progress`, `completed` (ended with someone staffed), `unfilled` (ended with no one checked in) or `cancelled`.
    pub status: String,
    /// The client.
    pub client_ref: String,
    /// The title.
    pub title: String,
    /// Where.
    pub venue: VenueBody,
    /// Start, UTC.
    pub start: String,
    /// End, UTC.
    pub end: String,
    /// Roles with progress.
    pub roles: Vec<RoleView>,
    /// Standby.
    pub standby: StandbyView,
    /// The order's travel limit.
    pub max_travel_km: Option<f64>,
    /// `normal`, `high` or `urgent`.
    pub priority: String,
    /// Dispatch settings.
    pub dispatch: DispatchBody,
    /// Minutes of grace before a no-show.
    pub no_show_grace_min: u32,
    /// Every assignment of the order.
    pub assignments: Vec<AssignmentSummary>,
    /// When it was posted.
    pub created_at: String,
    /// The version of the order's terms and status, as in its `ETag`; `If-Match` on `PATCH` compares it.
    pub version: u64,
    /// How a `widen` order may raise its reach; `max_travel_km` is its effective reach now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub widen: Option<super::order::WidenBody>,
    /// Present while candidates have run out before the order is full.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_risk: Option<AtRiskView>,
    /// The series (`ser_…`) the order is a shift of, if it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The order's SLA, taken from its client's tier at posting; `null` when the client had no tier.
    pub sla: Option<super::sla::OrderSlaView>,
}

/// Why an order is at risk.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AtRiskView {
    /// Since when, UTC.
    pub since: String,
    /// `no_candidates` (no candidate is left for an open slot), `quota_unreachable` (too few candidates
    /// meet a role's quota) or `sla` (not fully staffed when its SLA's at-risk instant came).
    pub reason: String,
    /// Slots that neither an accepted worker nor a pending offer covers.
    pub open_slots: u32,
}

impl OrderView {
    /// The view of an order's state; `standby_wanted` is the engine's current standby size.
    pub fn of(st: &OrderState, standby_wanted: u32) -> Self {
        let body = super::order::OrderBody::from_order(&st.order);
        OrderView {
            version: st.row.version as u64,
            id: OrderId::new(st.row.id as u64).to_string(),
            status: st.row.status.clone(),
            client_ref: body.client_ref,
            title: body.title,
            venue: body.venue,
            start: body.start,
            end: body.end,
            roles: body
                .roles
                .into_iter()
                .enumerate()
                .map(|(i, spec)| RoleView {
                    name: spec.name,
                    headcount: spec.headcount,
                    skills: spec.skills,
                    languages: spec.languages,
                    certifications: spec.certifications,
                    preferred_skills: spec.preferred_skills,
                    min_stars: spec.min_stars,
                    pay_per_hour: spec.pay_per_hour,
                    bill_per_hour: spec.bill_per_hour,
                    quotas: spec.quotas,
                    min_reliability: spec.min_reliability,
                    min_completed_shifts: spec.min_completed_shifts,
                    pool: spec.pool,
                    workers: spec.workers,
                    filled: st.filled(i),
                    pending_offers: st.pending(i),
                })
                .collect(),
            standby: StandbyView {
                wanted: standby_wanted + st.pool.as_ref().map_or(0, |p| p.wanted),
                held: st.standby_held() + st.pool.as_ref().map_or(0, |p| p.held),
                auto: st.order.standby.auto_target().is_some(),
                target: st
                    .order
                    .standby
                    .auto_target()
                    .or(st.order.standby.pool_target()),
                pool: st
                    .pool
                    .as_ref()
                    .and_then(|p| p.ids.first())
                    .map(|id| id.to_string()),
                pools: st
                    .pool
                    .as_ref()
                    .filter(|p| p.ids.len() > 1)
                    .map(|p| p.ids.iter().map(|id| id.to_string()).collect())
                    .unwrap_or_default(),
            },
            max_travel_km: body.max_travel_km,
            widen: body.widen,
            at_risk: st.at_risk.as_ref().map(|r| AtRiskView {
                since: crate::domain::time::format_instant(crate::engine::from_ms(r.since)),
                reason: r.reason.clone(),
                open_slots: r.open_slots as u32,
            }),
            sla: st
                .sla
                .as_ref()
                .map(|s| super::sla::OrderSlaView::of(s, &st.row.status)),
            priority: st.order.priority.as_str().to_string(),
            dispatch: body.dispatch.unwrap_or_default(),
            no_show_grace_min: st.order.no_show_grace_min,
            assignments: st
                .assignments
                .iter()
                .map(|a| AssignmentSummary {
                    id: AssignmentId::new(a.id as u64).to_string(),
                    worker_id: WorkerId::new(a.worker_id as u64).to_string(),
                    role: role_name(&st.order, a.role_idx),
                    kind: a.kind.clone(),
                    status: a.status.clone(),
                    reconfirm: ReconfirmView::of(a),
                })
                .collect(),
            created_at: format_instant(crate::engine::from_ms(st.row.created_at)),
            series: st
                .row
                .series_id
                .map(|s| crate::domain::SeriesId::new(s as u64).to_string()),
        }
    }
}

fn role_name(order: &Order, idx: i64) -> String {
    order
        .roles
        .get(idx as usize)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// An offer, as the worker app sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OfferView {
    /// The offer.
    pub id: String,
    /// The order.
    pub order_id: String,
    /// The role's name.
    pub role: String,
    /// `shift` or `standby`.
    pub kind: String,
    /// Where.
    pub venue: VenueBody,
    /// Start, UTC.
    pub start: String,
    /// End, UTC.
    pub end: String,
    /// Pay per hour, if the role gives one.
    pub pay_per_hour: Option<f64>,
    /// Open until, UTC.
    pub expires_at: String,
    /// `pending`, `accepted`, `declined`, `expired` or `withdrawn`.
    pub status: String,
    /// Whether it is an urgent replacement.
    pub urgent: bool,
    /// The assignment an urgent replacement replaces (a no-show, a cancellation, a released worker).
    pub replaces: Option<String>,
    /// The series (`ser_…`) whose shift this is, if the order is one: the worker may accept all its offers
    /// at once with `POST /v1/me/series/{id}/accept`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
}

impl OfferView {
    /// The view of an offer of an order.
    pub fn of(o: &OfferRow, st: &OrderState) -> Self {
        let body = super::order::OrderBody::from_order(&st.order);
        OfferView {
            id: OfferId::new(o.id as u64).to_string(),
            order_id: OrderId::new(o.order_id as u64).to_string(),
            role: role_name(&st.order, o.role_idx),
            kind: o.kind.clone(),
            venue: body.venue,
            start: body.start,
            end: body.end,
            pay_per_hour: st
                .order
                .roles
                .get(o.role_idx as usize)
                .and_then(|r| r.pay_per_hour),
            expires_at: format_instant(crate::engine::from_ms(o.expires_at)),
            status: o.status.clone(),
            urgent: o.urgent != 0,
            replaces: o.replaces.map(|r| AssignmentId::new(r as u64).to_string()),
            series: st
                .row
                .series_id
                .map(|s| crate::domain::SeriesId::new(s as u64).to_string()),
        }
    }
}

/// An assignment with its shift, for the worker app and attendance answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AssignmentView {
    /// The assignment.
    pub id: String,
    /// The order.
    pub order_id: String,
    /// The worker.
    pub worker_id: String,
    /// The role's name.
    pub role: String,
    /// `shift` or `standby`.
    pub kind: String,
    /// Its status.
    pub status: String,
    /// Where.
    pub venue: VenueBody,
    /// Start, UTC.
    pub start: String,
    /// End, UTC.
    pub end: String,
    /// Pay per hour, if the role gives one.
    pub pay_per_hour: Option<f64>,
    /// Check-in, UTC.
    pub checked_in_at: Option<String>,
    /// Check-out, UTC.
    pub checked_out_at: Option<String>,
    /// Minutes late at check-in.
    pub late_minutes: Option<i64>,
    /// Metres from the venue at check-in.
    pub distance_m: Option<f64>,
    /// Minutes worked.
    pub worked_minutes: Option<i64>,
    /// Metres from the venue at check-out.
    pub check_out_distance_m: Option<f64>,
    /// The assignment this one replaced, if any.
    pub replaces: Option<String>,
    /// The re-confirmation request, when one was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconfirm: Option<ReconfirmView>,
}

impl AssignmentView {
    /// The view of an assignment of an order.
    pub fn of(a: &AssignmentRow, order: &Order) -> Self {
        let body = super::order::OrderBody::from_order(order);
        AssignmentView {
            id: AssignmentId::new(a.id as u64).to_string(),
            order_id: OrderId::new(a.order_id as u64).to_string(),
            worker_id: WorkerId::new(a.worker_id as u64).to_string(),
            role: role_name(order, a.role_idx),
            kind: a.kind.clone(),
            status: a.status.clone(),
            venue: body.venue,
            start: body.start,
            end: body.end,
            pay_per_hour: order
                .roles
                .get(a.role_idx as usize)
                .and_then(|r| r.pay_per_hour),
            checked_in_at: a
                .checked_in_at
                .map(|t| format_instant(crate::engine::from_ms(t))),
            checked_out_at: a
                .checked_out_at
                .map(|t| format_instant(crate::engine::from_ms(t))),
            late_minutes: a.late_minutes,
            distance_m: a.distance_m.map(|d| d.round()),
            worked_minutes: a.worked_minutes,
            check_out_distance_m: a.check_out_distance_m.map(|d| d.round()),
            replaces: a.replaces.map(|r| AssignmentId::new(r as u64).to_string()),
            reconfirm: ReconfirmView::of(a),
        }
    }
}
