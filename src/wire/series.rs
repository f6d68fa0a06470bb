//! Series on the wire: the `repeat` rule of `POST /v1/orders`, the series as the API answers it, and the
//! bodies and answers of the commands over a series.

use serde::{Deserialize, Serialize};

use super::order::VenueBody;
use crate::domain::series::RepeatInput;
use crate::domain::time::format_instant;
use crate::domain::{AssignmentId, OrderId};
use crate::engine::{SeriesState, ShiftOutcome};

/// The days of a repeat: weekday names, or `"daily"`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum RepeatDays {
    /// Weekdays: `mon`, `tue`, `wed`, `thu`, `fri`, `sat`, `sun`.
    List(Vec<String>),
    /// `"daily"`: every day (a multi-day event).
    Word(String),
}

/// How an order repeats: `{"days": ["sat", "sun"], "until": "2026-12-31"}`, `{"days": "daily", "until": …}`
/// or `{"dates": ["2026-12-05", "2026-12-06"]}`. The order's own `start`–`end` is the first shift; the others
/// start at the same local time in the venue's `timezone` (or at the start's UTC offset without one), and end
/// at the same local time as the first, the same number of days after their start.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatBody {
    /// The weekdays the shift repeats on, from the start's date through `until` (the start's weekday must be
    /// one of them), or `"daily"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<RepeatDays>,
    /// The last local date a shift may fall on (`YYYY-MM-DD`), within 366 days of the start's; with `days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The local dates of further shifts (`YYYY-MM-DD`), none before the start's date nor more than 366 days
    /// after it; instead of `days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dates: Option<Vec<String>>,
    /// "The same crew every time": a worker who accepts a shift of the series is offered the same role in
    /// every later shift still to come (each checked by that shift's hard filters). Off by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_crew: Option<bool>,
}

impl RepeatBody {
    /// The unchecked domain input.
    pub fn to_input(&self) -> RepeatInput {
        let (days, daily, days_word) = match &self.days {
            None => (None, false, None),
            Some(RepeatDays::List(l)) => (Some(l.clone()), false, None),
            Some(RepeatDays::Word(w)) if w.trim().eq_ignore_ascii_case("daily") => {
                (None, true, None)
            }
            Some(RepeatDays::Word(w)) => (None, false, Some(w.clone())),
        };
        RepeatInput {
            days,
            daily,
            days_word,
            until: self.until.clone(),
            dates: self.dates.clone(),
        }
    }
}

/// A role of a shift with its fill.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShiftRoleView {
    /// The role's name.
    pub name: String,
    /// Workers wanted.
    pub headcount: u32,
    /// Workers in its slots (confirmed, checked in or completed).
    pub filled: u32,
    /// Shift offers waiting for an answer.
    pub pending_offers: u32,
}

/// One shift of a series: an order of its own.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShiftView {
    /// The shift's order (`ord_…`), readable and changeable as any order.
    pub order_id: String,
    /// The local date of its start, in the series' zone.
    pub date: String,
    /// Start, UTC.
    pub start: String,
    /// End, UTC.
    pub end: String,
    /// The order's status: `open`, `filled`, `in_progress`, `completed`, `unfilled` or `cancelled`.
    pub status: String,
    /// Its roles with their fill.
    pub roles: Vec<ShiftRoleView>,
    /// Workers wanted over every role.
    pub headcount: u32,
    /// Workers in slots over every role.
    pub filled: u32,
}

/// A series as the API answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesView {
    /// The series (`ser_…`).
    pub id: String,
    /// `active`, `ended` (every shift over) or `cancelled` (every shift cancelled).
    pub status: String,
    /// The client.
    pub client_ref: String,
    /// The title.
    pub title: String,
    /// Where.
    pub venue: VenueBody,
    /// Where the shifts' local times live: the venue's IANA timezone, or the first start's fixed UTC offset
    /// (`+01:00`).
    pub timezone: String,
    /// The repeat rule it was posted with.
    pub repeat: RepeatBody,
    /// Its shifts, by start.
    pub shifts: Vec<ShiftView>,
    /// Workers wanted over every shift not cancelled.
    pub headcount: u32,
    /// Workers in slots over every shift not cancelled.
    pub filled: u32,
    /// When it was posted.
    pub created_at: String,
}

impl SeriesView {
    /// The view of a series.
    pub fn of(s: &SeriesState) -> Self {
        let shifts: Vec<ShiftView> = s
            .shifts
            .iter()
            .map(|st| {
                let roles: Vec<ShiftRoleView> = st
                    .order
                    .roles
                    .iter()
                    .enumerate()
                    .map(|(i, r)| ShiftRoleView {
                        name: r.name.clone(),
                        headcount: r.headcount,
                        filled: st.filled(i),
                        pending_offers: st.pending(i),
                    })
                    .collect();
                ShiftView {
                    order_id: OrderId::new(st.row.id as u64).to_string(),
                    date: s.local_date(st).to_string(),
                    start: format_instant(st.order.shift.start()),
                    end: format_instant(st.order.shift.end()),
                    status: st.row.status.clone(),
                    headcount: roles.iter().map(|r| r.headcount).sum(),
                    filled: roles.iter().map(|r| r.filled).sum(),
                    roles,
                }
            })
            .collect();
        let live = || shifts.iter().filter(|v| v.status != "cancelled");
        SeriesView {
            id: s.id().to_string(),
            status: s.status().to_string(),
            client_ref: s.body.client_ref.trim().to_string(),
            title: s.body.title.trim().to_string(),
            venue: s
                .shifts
                .first()
                .map(|st| super::order::OrderBody::from_order(&st.order).venue)
                .unwrap_or_else(|| s.body.venue.clone()),
            timezone: s.zone.name(),
            repeat: s.body.repeat.clone().unwrap_or(RepeatBody {
                days: None,
                until: None,
                dates: None,
                same_crew: None,
            }),
            headcount: live().map(|v| v.headcount).sum(),
            filled: live().map(|v| v.filled).sum(),
            shifts,
            created_at: format_instant(crate::engine::from_ms(s.row.created_at)),
        }
    }
}

/// A headcount for a role of every shift changed.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesRoleHeadcount {
    /// The role's name.
    pub name: String,
    /// The new headcount, 1 to 1000.
    pub headcount: i64,
}

/// `PATCH /v1/series/{id}`: what changes, from which local date on.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesPatch {
    /// The first local date (`YYYY-MM-DD`) whose shift changes; shifts that have started never do.
    pub from: String,
    /// Roles whose headcount changes, as for `PATCH /v1/orders/{id}`.
    pub roles: Vec<SeriesRoleHeadcount>,
}

/// `POST /v1/series/{id}/cancel`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesCancel {
    /// The first local date (`YYYY-MM-DD`) whose shift is cancelled; every shift still to come without it.
    #[serde(default)]
    pub from: Option<String>,
}

/// What a command over a series changed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesChanged {
    /// The shifts (orders) changed or cancelled.
    pub orders: Vec<String>,
    /// The series after the change.
    pub series: SeriesView,
}

/// `POST /v1/series/{id}/offers`: a named worker offered a role in every shift still to come.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesOfferBody {
    /// The worker (`wrk_…`), one of the agency's.
    pub worker_id: String,
    /// The role's name.
    pub role: String,
}

/// `POST /v1/me/series/{id}/accept`: which shifts to accept (all pending ones without `orders`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesAcceptBody {
    /// Only the offers of these shifts (`ord_…`).
    #[serde(default)]
    pub orders: Option<Vec<String>>,
}

/// What happened to one shift.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShiftOutcomeView {
    /// The shift's order.
    pub order_id: String,
    /// Start, UTC.
    pub start: String,
    /// End, UTC.
    pub end: String,
    /// The offer sent or accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_id: Option<String>,
    /// The assignment an acceptance made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignment_id: Option<String>,
    /// Why not, as a code: for an offer, the hard filter that leaves the worker out (`overlap`,
    /// `availability`, `excluded` — already offered or booked in that shift — …), `role_full` or `closed`; for
    /// an acceptance, `overlap`, `role_full`, `expired`, `not_pending`, `quota`, `standby_full` or
    /// `no_pending_offer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why not, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ShiftOutcomeView {
    fn of(o: &ShiftOutcome) -> Self {
        ShiftOutcomeView {
            order_id: o.order.to_string(),
            start: format_instant(o.start),
            end: format_instant(o.end),
            offer_id: o.offer.map(|f| f.to_string()),
            assignment_id: o
                .assignment
                .map(|a| AssignmentId::new(a as u64).to_string()),
            reason: o.refusal.as_ref().map(|(r, _)| r.clone()),
            detail: o.refusal.as_ref().map(|(_, d)| d.clone()),
        }
    }
}

/// The answer of `POST /v1/series/{id}/offers`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesOffered {
    /// The series.
    pub series: String,
    /// The worker.
    pub worker_id: String,
    /// The role.
    pub role: String,
    /// The shifts offered, each with its offer.
    pub offered: Vec<ShiftOutcomeView>,
    /// The shifts still to come that were not, each with why.
    pub skipped: Vec<ShiftOutcomeView>,
}

impl SeriesOffered {
    /// The answer from the outcomes.
    pub fn of(series: &str, worker: &str, role: &str, outcomes: &[ShiftOutcome]) -> Self {
        SeriesOffered {
            series: series.to_string(),
            worker_id: worker.to_string(),
            role: role.to_string(),
            offered: outcomes
                .iter()
                .filter(|o| o.refusal.is_none())
                .map(ShiftOutcomeView::of)
                .collect(),
            skipped: outcomes
                .iter()
                .filter(|o| o.refusal.is_some())
                .map(ShiftOutcomeView::of)
                .collect(),
        }
    }
}

/// The answer of `POST /v1/me/series/{id}/accept`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesAccepted {
    /// The series.
    pub series: String,
    /// The shifts accepted, each with its new assignment.
    pub accepted: Vec<ShiftOutcomeView>,
    /// The shifts not accepted, each with why.
    pub refused: Vec<ShiftOutcomeView>,
}

impl SeriesAccepted {
    /// The answer from the outcomes.
    pub fn of(series: &str, outcomes: &[ShiftOutcome]) -> Self {
        SeriesAccepted {
            series: series.to_string(),
            accepted: outcomes
                .iter()
                .filter(|o| o.assignment.is_some())
                .map(ShiftOutcomeView::of)
                .collect(),
            refused: outcomes
                .iter()
                .filter(|o| o.refusal.is_some())
                .map(ShiftOutcomeView::of)
                .collect(),
        }
    }
}
