//! The worker app: the own profile, offers and assignments, answers to offers, availability, on-call.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Worker;
use super::error::{ApiError, ApiResult};
use super::json::Body;
use crate::domain::time::parse_instant;
use crate::domain::{LatLon, OfferId};
use crate::error::{Error, FieldError};
use crate::wire::Period;
use crate::wire::views::{AssignmentView, OfferView};
use crate::wire::worker::{WindowBody, WorkerView};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me", get(me))
        .route("/v1/me/offers", get(offers))
        .route("/v1/me/assignments", get(assignments))
        .route("/v1/me/availability", put(availability))
        .route("/v1/me/on-call", post(on_call).get(on_call_list))
        .route("/v1/me/on-call/{id}", axum::routing::delete(leave_on_call))
        .route("/v1/offers/{id}/accept", post(accept))
        .route("/v1/offers/{id}/decline", post(decline))
        .route("/v1/me/assignments/{id}/reconfirm", post(reconfirm))
        .route("/v1/me/assignments/{id}/on-my-way", post(on_my_way))
        .route("/v1/me/assignments/{id}/location", post(location))
}

fn offer_id(raw: &str) -> Result<OfferId, ApiError> {
    raw.parse::<OfferId>()
        .map_err(|_| ApiError::Lib(Error::NotFound("offer".into())))
}

#[utoipa::path(get, path = "/v1/me", tag = "worker app",
    responses((status = 200, body = WorkerView), (status = 401, body = super::error::Problem)),
    security(("worker" = [])))]
async fn me(State(state): State<AppState>, w: Worker) -> ApiResult<axum::Json<WorkerView>> {
    let worker = state.engine.me(w.agency, w.worker).await?;
    Ok(axum::Json(WorkerView::of(&worker, None)))
}

/// A list of offers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OfferList {
    items: Vec<OfferView>,
}

#[utoipa::path(get, path = "/v1/me/offers", tag = "worker app",
    responses((status = 200, body = OfferList, description = "Pending offers, newest first"), (status = 401, body = super::error::Problem)),
    security(("worker" = [])))]
async fn offers(State(state): State<AppState>, w: Worker) -> ApiResult<axum::Json<OfferList>> {
    let items = state
        .engine
        .my_offers(w.worker, true)
        .await?
        .iter()
        .map(|(o, st)| OfferView::of(o, st))
        .collect();
    Ok(axum::Json(OfferList { items }))
}

/// A list of assignments.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignmentList {
    items: Vec<AssignmentView>,
}

#[utoipa::path(get, path = "/v1/me/assignments", tag = "worker app",
    responses((status = 200, body = AssignmentList, description = "Assignments, newest first"), (status = 401, body = super::error::Problem)),
    security(("worker" = [])))]
async fn assignments(
    State(state): State<AppState>,
    w: Worker,
) -> ApiResult<axum::Json<AssignmentList>> {
    let items = state
        .engine
        .my_assignments(w.worker)
        .await?
        .iter()
        .map(|(a, st)| AssignmentView::of(a, &st.order))
        .collect();
    Ok(axum::Json(AssignmentList { items }))
}

/// The answer to an accepted offer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Accepted {
    assignment: AssignmentView,
}

#[utoipa::path(post, path = "/v1/offers/{id}/accept", tag = "worker app", params(("id" = String, Path)),
    responses((status = 200, body = Accepted), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "No longer pending, expired, the role is full, or booked elsewhere")),
    security(("worker" = [])))]
async fn accept(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Accepted>> {
    let (_, assignment) = state.engine.accept_offer(w.worker, offer_id(&id)?).await?;
    let (a, st) = state.engine.assignment_with_order(assignment).await?;
    Ok(axum::Json(Accepted {
        assignment: AssignmentView::of(&a, &st.order),
    }))
}

/// The answer to a declined offer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Declined {
    id: String,
    status: &'static str,
}

#[utoipa::path(post, path = "/v1/offers/{id}/decline", tag = "worker app", params(("id" = String, Path)),
    responses((status = 200, body = Declined), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem)),
    security(("worker" = [])))]
async fn decline(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Declined>> {
    let id = offer_id(&id)?;
    state.engine.decline_offer(w.worker, id).await?;
    Ok(axum::Json(Declined {
        id: id.to_string(),
        status: "declined",
    }))
}

/// `PUT /v1/me/availability`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityBody {
    /// Weekly windows in the worker's timezone.
    availability: Vec<WindowBody>,
    /// Periods the worker cannot work.
    #[serde(default)]
    blackouts: Vec<Period>,
}

#[utoipa::path(put, path = "/v1/me/availability", tag = "worker app", request_body = AvailabilityBody,
    responses((status = 200, body = WorkerView), (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn availability(
    State(state): State<AppState>,
    w: Worker,
    Body(b): Body<AvailabilityBody>,
) -> ApiResult<axum::Json<WorkerView>> {
    let worker = state
        .engine
        .set_availability(w.agency, w.worker, b.availability, b.blackouts)
        .await?;
    Ok(axum::Json(WorkerView::of(&worker, None)))
}

/// `POST /v1/me/on-call`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnCallBody {
    /// Start, RFC 3339 with offset.
    start: String,
    /// End, RFC 3339 with offset.
    end: String,
    /// Where the worker waits.
    lat: f64,
    /// Where the worker waits.
    lon: f64,
    /// How far the worker goes at short notice.
    radius_km: f64,
}

/// The answer to joining the on-call pool.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OnCallJoined {
    id: String,
    start: String,
    end: String,
    radius_km: f64,
}

#[utoipa::path(post, path = "/v1/me/on-call", tag = "worker app", request_body = OnCallBody,
    responses((status = 201, body = OnCallJoined), (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn on_call(
    State(state): State<AppState>,
    w: Worker,
    Body(b): Body<OnCallBody>,
) -> ApiResult<impl IntoResponse> {
    let mut errors = Vec::new();
    let start = parse_instant(&b.start)
        .map_err(|e| errors.push(e.under("start")))
        .ok();
    let end = parse_instant(&b.end)
        .map_err(|e| errors.push(e.under("end")))
        .ok();
    let at = LatLon::new(b.lat, b.lon)
        .map_err(|es| errors.extend(es))
        .ok();
    let (Some(start), Some(end), Some(at)) = (start, end, at) else {
        return Err(errors.into());
    };
    if end <= start {
        return Err(vec![FieldError::new("end", "must be after start")].into());
    }
    let id = state
        .engine
        .join_on_call(w.agency, w.worker, start, end, at, b.radius_km)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(OnCallJoined {
            id: id.to_string(),
            start: crate::domain::time::format_instant(start),
            end: crate::domain::time::format_instant(end),
            radius_km: b.radius_km,
        }),
    ))
}

/// An on-call window.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OnCallView {
    /// The window (the `id` that joining answered).
    id: String,
    /// Start, UTC.
    start: String,
    /// End, UTC.
    end: String,
    /// Where the worker waits.
    lat: f64,
    /// Where the worker waits.
    lon: f64,
    /// How far the worker goes at short notice.
    radius_km: f64,
}

/// The worker's on-call windows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OnCallList {
    /// Windows that have not ended, by start.
    items: Vec<OnCallView>,
}

#[utoipa::path(get, path = "/v1/me/on-call", tag = "worker app",
    responses((status = 200, body = OnCallList), (status = 401, body = super::error::Problem)),
    security(("worker" = [])))]
async fn on_call_list(
    State(state): State<AppState>,
    w: Worker,
) -> ApiResult<axum::Json<OnCallList>> {
    let items = state
        .engine
        .on_call_windows(w.agency, w.worker)
        .await?
        .into_iter()
        .map(|o| OnCallView {
            id: o.id.to_string(),
            start: crate::domain::time::format_instant(o.start),
            end: crate::domain::time::format_instant(o.end),
            lat: o.lat,
            lon: o.lon,
            radius_km: o.radius_km,
        })
        .collect();
    Ok(axum::Json(OnCallList { items }))
}

#[utoipa::path(delete, path = "/v1/me/on-call/{id}", tag = "worker app", params(("id" = String, Path)),
    responses((status = 204, description = "Left: no more urgent offers for this window"),
              (status = 401, body = super::error::Problem),
              (status = 404, body = super::error::Problem, description = "No such window of the worker, or it has ended")),
    security(("worker" = [])))]
async fn leave_on_call(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::Lib(Error::NotFound("on-call window".into())))?;
    state.engine.leave_on_call(w.agency, w.worker, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The answer to a re-confirmation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Reconfirmed {
    assignment: AssignmentView,
}

#[utoipa::path(post, path = "/v1/me/assignments/{id}/reconfirm", tag = "worker app", params(("id" = String, Path)),
    responses((status = 200, body = Reconfirmed, description = "Confirmed again (the same answer when repeated)"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "No request is open, or the assignment is not confirmed")),
    security(("worker" = [])))]
async fn reconfirm(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<Reconfirmed>> {
    let a = state
        .engine
        .reconfirm(w.worker, super::assignments::assignment_id(&id)?)
        .await?;
    let (a, st) = state.engine.assignment_with_order(a.id).await?;
    Ok(axum::Json(Reconfirmed {
        assignment: AssignmentView::of(&a, &st.order),
    }))
}

/// Where the worker's device is (`on-my-way`, `location`). Rounded to 3 decimals (about 100 m) before it is
/// stored; never logged nor written to an event.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalBody {
    /// Latitude, degrees.
    lat: f64,
    /// Longitude, degrees.
    lon: f64,
}

/// What a pre-shift signal told.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SignalAnswer {
    /// The assignment.
    assignment: String,
    /// Distance to the venue, km, rounded to 0.1.
    distance_km: f64,
    /// Minutes needed at the agency's plausible speed.
    eta_min: i64,
    /// Whether the worker cannot arrive by the no-show grace (then replaced at once before the start).
    at_risk: bool,
}

async fn signal(
    state: AppState,
    w: Worker,
    id: &str,
    kind: &str,
    b: SignalBody,
) -> ApiResult<axum::Json<SignalAnswer>> {
    let id = super::assignments::assignment_id(id)?;
    let at = LatLon::new(b.lat, b.lon).map_err(ApiError::from)?;
    let v = state
        .engine
        .pre_shift_signal(w.worker, id, kind, crate::engine::SignalAt::Position(at))
        .await?;
    Ok(axum::Json(SignalAnswer {
        assignment: v.assignment.to_string(),
        distance_km: v.distance_km,
        eta_min: v.eta_min,
        at_risk: v.at_risk,
    }))
}

#[utoipa::path(post, path = "/v1/me/assignments/{id}/on-my-way", tag = "worker app", params(("id" = String, Path)),
    request_body = SignalBody,
    responses((status = 200, body = SignalAnswer), (status = 401, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Signals are off, outside the window, or the assignment is not confirmed"),
              (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn on_my_way(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
    Body(b): Body<SignalBody>,
) -> ApiResult<axum::Json<SignalAnswer>> {
    signal(state, w, &id, "on_my_way", b).await
}

#[utoipa::path(post, path = "/v1/me/assignments/{id}/location", tag = "worker app", params(("id" = String, Path)),
    request_body = SignalBody,
    responses((status = 200, body = SignalAnswer), (status = 401, body = super::error::Problem),
              (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Signals are off, outside the window, or the assignment is not confirmed"),
              (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn location(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
    Body(b): Body<SignalBody>,
) -> ApiResult<axum::Json<SignalAnswer>> {
    signal(state, w, &id, "location", b).await
}
