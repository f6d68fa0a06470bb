//! Assignments: cancellation (worker or agency), attendance (worker app, or the agency for an on-site
//! supervisor), no-shows and ratings (agency), and reviews.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{Agency, Caller};
use super::error::{ApiError, ApiResult};
use super::json::Body;
use super::pagination::{self, Page};
use super::query::Query;
use crate::domain::{AssignmentId, LatLon, ReviewId, WorkerId};
use crate::engine::{Actor, Attendance, Principal, ReviewOutcome, ReviewRow};
use crate::error::{Error, FieldError};
use crate::wire::views::AssignmentView;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/assignments/{id}/cancel", post(cancel))
        .route("/v1/assignments/{id}/check-in", post(check_in))
        .route("/v1/assignments/{id}/check-out", post(check_out))
        .route("/v1/assignments/{id}/no-show", post(no_show))
        .route("/v1/assignments/{id}/rating", post(rating))
        .route("/v1/reviews", get(reviews))
        .route("/v1/reviews/{id}/resolve", post(resolve_review))
}

pub(super) fn assignment_id(raw: &str) -> Result<AssignmentId, ApiError> {
    raw.parse::<AssignmentId>()
        .map_err(|_| ApiError::Lib(Error::NotFound("assignment".into())))
}

pub(super) fn actor(p: Principal) -> Result<Actor, ApiError> {
    match p {
        Principal::Agency(a) => Ok(Actor::Agency(a)),
        Principal::Worker { worker, .. } => Ok(Actor::Worker(worker)),
        Principal::Admin | Principal::Client { .. } => Err(ApiError::Forbidden(
            "this endpoint is for agencies and workers".into(),
        )),
    }
}

/// The answer to a cancellation.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignmentAnswer {
    assignment: AssignmentView,
}

#[utoipa::path(post, path = "/v1/assignments/{id}/cancel", tag = "assignments", params(("id" = String, Path)),
    responses((status = 200, body = AssignmentAnswer), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem)),
    security(("worker" = []), ("agency" = [])))]
async fn cancel(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<AssignmentAnswer>> {
    let a = state
        .engine
        .cancel_assignment(actor(p)?, assignment_id(&id)?)
        .await?;
    let (a, st) = state.engine.assignment_with_order(a.id).await?;
    Ok(axum::Json(AssignmentAnswer {
        assignment: AssignmentView::of(&a, &st.order),
    }))
}

/// A check-in or check-out.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Presence {
    /// Where the device is.
    lat: f64,
    /// Where the device is.
    lon: f64,
    /// The device's clock, RFC 3339; kept only as evidence.
    #[serde(default)]
    device_time: Option<String>,
}

/// The answer to a check-in or check-out.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AttendanceAnswer {
    assignment: AssignmentView,
    late_minutes: i64,
    distance_m: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    worked_minutes: Option<i64>,
    /// Metres from the venue at check-out (on a check-out's answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    check_out_distance_m: Option<f64>,
}

fn answer(a: Attendance) -> AttendanceAnswer {
    AttendanceAnswer {
        assignment: AssignmentView::of(&a.assignment, &a.order),
        late_minutes: a.late_minutes,
        distance_m: a.distance_m,
        worked_minutes: a.worked_minutes,
        check_out_distance_m: a.check_out_distance_m,
    }
}

fn position(p: &Presence) -> Result<LatLon, ApiError> {
    if let Some(t) = &p.device_time {
        crate::domain::time::parse_instant(t)
            .map_err(|e| ApiError::from(vec![e.under("device_time")]))?;
    }
    LatLon::new(p.lat, p.lon).map_err(ApiError::from)
}

#[utoipa::path(post, path = "/v1/assignments/{id}/check-in", tag = "assignments", params(("id" = String, Path)), request_body = Presence,
    responses((status = 200, body = AttendanceAnswer), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Outside the check-in window, or not confirmed"),
              (status = 422, body = super::error::Problem, description = "Outside the geofence (type ends in outside-geofence)")),
    security(("worker" = []), ("agency" = [])))]
async fn check_in(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    Body(b): Body<Presence>,
) -> ApiResult<axum::Json<AttendanceAnswer>> {
    let at = position(&b)?;
    let a = state
        .engine
        .check_in(actor(p)?, assignment_id(&id)?, at, b.device_time)
        .await?;
    Ok(axum::Json(answer(a)))
}

#[utoipa::path(post, path = "/v1/assignments/{id}/check-out", tag = "assignments", params(("id" = String, Path)), request_body = Presence,
    responses((status = 200, body = AttendanceAnswer), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "No check-in yet"),
              (status = 422, body = super::error::Problem, description = "Outside the geofence (type ends in outside-geofence); the assignment stays checked in")),
    security(("worker" = []), ("agency" = [])))]
async fn check_out(
    State(state): State<AppState>,
    Caller(p): Caller,
    Path(id): Path<String>,
    Body(b): Body<Presence>,
) -> ApiResult<axum::Json<AttendanceAnswer>> {
    let at = position(&b)?;
    let a = state
        .engine
        .check_out(actor(p)?, assignment_id(&id)?, at, b.device_time)
        .await?;
    Ok(axum::Json(answer(a)))
}

#[utoipa::path(post, path = "/v1/assignments/{id}/no-show", tag = "assignments", params(("id" = String, Path)),
    responses((status = 200, body = AssignmentAnswer), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem)),
    security(("agency" = [])))]
async fn no_show(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<AssignmentAnswer>> {
    let a = state
        .engine
        .report_no_show(agency, assignment_id(&id)?)
        .await?;
    let (a, st) = state.engine.assignment_with_order(a.id).await?;
    Ok(axum::Json(AssignmentAnswer {
        assignment: AssignmentView::of(&a, &st.order),
    }))
}

/// `POST /v1/assignments/{id}/rating`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    /// 1 to 5.
    stars: i64,
    /// What happened.
    #[serde(default)]
    comment: String,
}

/// A review of a low rating.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewView {
    id: String,
    assignment_id: String,
    worker_id: String,
    stars: i64,
    /// `open` or `resolved`.
    status: String,
    due_at: String,
    created_at: String,
    /// Still open past its due time (computed from the engine's clock when read).
    overdue: bool,
    /// How the agency resolved it: `dismissed`, `warning`, `block` or `suspension`.
    outcome: Option<String>,
    /// The agency's note on the resolution.
    note: Option<String>,
    /// When it was resolved, UTC.
    resolved_at: Option<String>,
}

impl ReviewView {
    fn of(r: &ReviewRow, now: chrono::DateTime<chrono::Utc>) -> Self {
        let t = |ms| crate::domain::time::format_instant(crate::engine::from_ms(ms));
        ReviewView {
            id: ReviewId::new(r.id as u64).to_string(),
            assignment_id: AssignmentId::new(r.assignment_id as u64).to_string(),
            worker_id: WorkerId::new(r.worker_id as u64).to_string(),
            stars: r.stars,
            status: r.status.clone(),
            due_at: t(r.due_at),
            created_at: t(r.created_at),
            overdue: r.is_overdue(now),
            outcome: r.outcome.clone(),
            note: r.note.clone(),
            resolved_at: r.resolved_at.map(t),
        }
    }
}

/// The answer to a rating.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Rated {
    assignment_id: String,
    stars: i64,
    /// The review opened by a rating of 2 stars or fewer.
    review: Option<ReviewView>,
}

#[utoipa::path(post, path = "/v1/assignments/{id}/rating", tag = "assignments", params(("id" = String, Path)), request_body = RatingBody,
    responses((status = 201, body = Rated), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Not checked out yet, or already rated"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn rating(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(b): Body<RatingBody>,
) -> ApiResult<impl IntoResponse> {
    let id = assignment_id(&id)?;
    let review = state.engine.rate(agency, id, b.stars, b.comment).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Rated {
            assignment_id: id.to_string(),
            stars: b.stars,
            review: review
                .as_ref()
                .map(|r| ReviewView::of(r, state.engine.now())),
        }),
    ))
}

/// Filters of `GET /v1/reviews`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewParams {
    /// `open`, `resolved`, or `overdue` (open past its due time).
    status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of reviews.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    items: Vec<ReviewView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/reviews", tag = "assignments", params(ReviewParams),
    responses((status = 200, body = ReviewPage), (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn reviews(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<ReviewParams>,
) -> ApiResult<axum::Json<Page<ReviewView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    if let Some(s) = &p.status
        && s != "open"
        && s != "resolved"
        && s != "overdue"
    {
        errors.push(FieldError::new(
            "status",
            "must be open, resolved or overdue",
        ));
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let rows = state
        .engine
        .reviews(
            agency,
            p.status.as_deref(),
            after.unwrap_or(0) as i64,
            limit + 1,
        )
        .await?;
    let page = Page::from_fetched(rows, limit, |r| r.id as u64);
    Ok(axum::Json(Page {
        items: page
            .items
            .iter()
            .map(|r| ReviewView::of(r, state.engine.now()))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// `POST /v1/reviews/{id}/resolve`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// `dismissed`, `warning`, `block` (the worker is blocked for the rated order's client) or `suspension`
    /// (the worker is suspended, their future work released and replaced).
    outcome: String,
    /// Why, for the record (at most 2000 characters).
    #[serde(default)]
    note: String,
}

/// The answer to a resolution.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewAnswer {
    review: ReviewView,
}

#[utoipa::path(post, path = "/v1/reviews/{id}/resolve", tag = "assignments", params(("id" = String, Path)), request_body = ResolveBody,
    responses((status = 200, body = ReviewAnswer), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Already resolved, or a block on an order without a client"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn resolve_review(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(b): Body<ResolveBody>,
) -> ApiResult<axum::Json<ReviewAnswer>> {
    let id = id
        .parse::<ReviewId>()
        .map_err(|_| ApiError::Lib(Error::NotFound("review".into())))?;
    let outcome = ReviewOutcome::parse(&b.outcome).ok_or_else(|| {
        ApiError::from(vec![FieldError::new(
            "outcome",
            "must be dismissed, warning, block or suspension",
        )])
    })?;
    let r = state
        .engine
        .resolve_review(agency, id, outcome, b.note)
        .await?;
    Ok(axum::Json(ReviewAnswer {
        review: ReviewView::of(&r, state.engine.now()),
    }))
}
