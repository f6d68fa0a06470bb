//! Operations: health, readiness, metrics, the manual clock and agencies (admin).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Admin;
use super::error::{ApiError, ApiResult};
use super::json::Body;
use crate::domain::time::{format_instant, parse_instant};
use crate::error::Error;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/agencies", post(create_agency))
        .route("/v1/admin/clock", post(set_clock).get(get_clock))
        .route("/v1/admin/views", get(views))
}

/// A node's views beside the same views rebuilt from the database.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ViewsCheck {
    /// The last log position this node has applied to its views.
    applied_seq: i64,
    /// The log position the database was read at for the rebuild.
    head_seq: i64,
    /// Events this node applied since it started: each event of the log once, so this equals
    /// `logged_events` unless one was skipped or applied twice.
    applied_events: u64,
    /// Events in the log between where this node started and `applied_seq`.
    logged_events: u64,
    /// Whether every view equals its rebuild and every event was applied exactly once.
    equal: bool,
    /// Digests of this node's views (`index`, `live`).
    #[schema(value_type = Object)]
    views: std::collections::BTreeMap<String, String>,
    /// Digests of the same views rebuilt from the database.
    #[schema(value_type = Object)]
    rebuilt: std::collections::BTreeMap<String, String>,
}

/// `GET /v1/admin/views`: checks that this node's in-memory views (the worker index and the live state) equal
/// views rebuilt from the database now. On a quiet system every node answers `equal: true` with the same
/// digests; an operator runs it after an incident, the multi-node suite after concurrent writers.
#[utoipa::path(get, path = "/v1/admin/views", tag = "operations",
    responses((status = 200, body = ViewsCheck), (status = 401, body = super::error::Problem)), security(("admin" = [])))]
async fn views(State(state): State<AppState>, _: Admin) -> ApiResult<axum::Json<ViewsCheck>> {
    let r = state.engine.views_report().await?;
    let map = |v: &[(&str, String)]| v.iter().map(|(k, d)| (k.to_string(), d.clone())).collect();
    Ok(axum::Json(ViewsCheck {
        applied_seq: r.applied_seq,
        head_seq: r.head_seq,
        applied_events: r.applied_events,
        logged_events: r.logged_events,
        equal: r.equal(),
        views: map(&r.views),
        rebuilt: map(&r.rebuilt),
    }))
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up")))]
async fn healthz() -> &'static str {
    "ok"
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready to serve"), (status = 503, description = "The database does not answer")))]
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.engine.store().ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format")))]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    state.metrics.render(&mut out);
    state.engine.render_metrics(&mut out).await;
    state.engine.render_kpis(&mut out).await;
    state.webhooks.render_metrics(&state.engine, &mut out).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

/// `POST /v1/agencies`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgency {
    /// The agency's name.
    pub name: String,
}

/// A new agency with its API key (shown only here).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgencyCreated {
    id: String,
    name: String,
    api_key: String,
}

#[utoipa::path(post, path = "/v1/agencies", tag = "operations", request_body = CreateAgency,
    responses((status = 201, body = AgencyCreated), (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("admin" = [])))]
async fn create_agency(
    State(state): State<AppState>,
    _: Admin,
    Body(req): Body<CreateAgency>,
) -> ApiResult<impl IntoResponse> {
    let a = state.engine.create_agency(&req.name).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AgencyCreated {
            id: a.id.to_string(),
            name: a.name,
            api_key: a.api_key,
        }),
    ))
}

/// `POST /v1/admin/clock`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClock {
    /// The new time, RFC 3339 with an offset; only forward.
    pub now: String,
}

/// The clock's reading.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClockReading {
    now: String,
    manual: bool,
}

#[utoipa::path(get, path = "/v1/admin/clock", tag = "operations",
    responses((status = 200, body = ClockReading), (status = 401, body = super::error::Problem)), security(("admin" = [])))]
async fn get_clock(State(state): State<AppState>, _: Admin) -> ApiResult<axum::Json<ClockReading>> {
    Ok(axum::Json(ClockReading {
        now: format_instant(state.engine.now()),
        manual: state.engine.clock().is_manual(),
    }))
}

#[utoipa::path(post, path = "/v1/admin/clock", tag = "operations", request_body = SetClock,
    responses((status = 200, body = ClockReading), (status = 404, body = super::error::Problem, description = "The clock is not manual"),
              (status = 409, body = super::error::Problem, description = "Time only moves forward"),
              (status = 422, body = super::error::Problem)),
    security(("admin" = [])))]
async fn set_clock(
    State(state): State<AppState>,
    _: Admin,
    Body(req): Body<SetClock>,
) -> ApiResult<axum::Json<ClockReading>> {
    if !state.engine.clock().is_manual() {
        return Err(ApiError::Lib(Error::NotFound("endpoint".into())));
    }
    let to = parse_instant(&req.now).map_err(|e| ApiError::from(vec![e.under("now")]))?;
    state.engine.advance_clock(to).await?;
    Ok(axum::Json(ClockReading {
        now: format_instant(state.engine.now()),
        manual: true,
    }))
}
