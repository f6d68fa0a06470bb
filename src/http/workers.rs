//! Workers, for agencies: upsert, read, patch, delete, search and NDJSON import.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::{ApiError, ApiResult};
use super::json::Body;
use super::pagination::{self, Page};
use super::query::Query;
use super::versions::{if_match, tagged};
use crate::domain::{LatLon, SkillName, WorkerId};
use crate::error::FieldError;
use crate::index::SearchQuery;
use crate::wire::worker::{WorkerBody, WorkerView};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/workers", post(upsert).get(search))
        .route(
            "/v1/workers/import",
            post(import).layer(DefaultBodyLimit::max(super::IMPORT_BODY_LIMIT)),
        )
        .route("/v1/workers/{id}", get(read).patch(patch).delete(delete))
}

/// Parses a worker id from a path (an unknown shape is simply not found).
pub(super) fn worker_id(raw: &str) -> Result<WorkerId, ApiError> {
    raw.parse::<WorkerId>()
        .map_err(|_| ApiError::Lib(crate::Error::NotFound("worker".into())))
}

#[utoipa::path(post, path = "/v1/workers", tag = "workers", request_body = WorkerBody,
    responses((status = 201, body = WorkerView, description = "Created", headers(("ETag" = String, description = "The version, for If-Match"))), (status = 200, body = WorkerView, description = "Updated by external_ref", headers(("ETag" = String, description = "The version, for If-Match"))),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn upsert(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Body(body): Body<WorkerBody>,
) -> ApiResult<impl IntoResponse> {
    let u = state.engine.upsert_worker(agency, body).await?;
    let status = if u.app_token.is_some() {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(tagged(
        u.version,
        (
            status,
            axum::Json(WorkerView::of(&u.worker, u.app_token).versioned(u.version)),
        ),
    ))
}

#[utoipa::path(get, path = "/v1/workers/{id}", tag = "workers", params(("id" = String, Path)),
    responses((status = 200, body = WorkerView, headers(("ETag" = String, description = "The version, for If-Match"))), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (w, version) = state
        .engine
        .worker_versioned(agency, worker_id(&id)?)
        .await?;
    Ok(tagged(
        version,
        axum::Json(WorkerView::of(&w, None).versioned(version)),
    ))
}

#[utoipa::path(patch, path = "/v1/workers/{id}", tag = "workers", params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Apply only if the resource is still at this version (its ETag, `\"7\"`); 412 otherwise")),
    request_body = WorkerPatch,
    responses((status = 200, body = WorkerView, headers(("ETag" = String, description = "The version, for If-Match"))), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem), (status = 412, body = super::error::Problem, description = "If-Match names an older version"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn patch(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(patch): Body<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Response> {
    let expected = if_match(&headers)?;
    let (w, version) = state
        .engine
        .patch_worker(agency, worker_id(&id)?, patch, expected)
        .await?;
    Ok(tagged(
        version,
        axum::Json(WorkerView::of(&w, None).versioned(version)),
    ))
}

#[utoipa::path(delete, path = "/v1/workers/{id}", tag = "workers", params(("id" = String, Path)),
    responses((status = 204, description = "Personal data removed; history stays, anonymised"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn delete(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = worker_id(&id)?;
    state.engine.delete_worker(agency, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PATCH /v1/workers/{id}`: any field of the profile, and `status`; fields left out keep their value.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct WorkerPatch {
    external_ref: Option<String>,
    name: Option<String>,
    home: Option<crate::wire::Point>,
    max_travel_km: Option<f64>,
    skills: Option<Vec<crate::wire::worker::SkillBody>>,
    languages: Option<Vec<String>>,
    certifications: Option<Vec<String>>,
    timezone: Option<String>,
    availability: Option<Vec<crate::wire::worker::WindowBody>>,
    blackouts: Option<Vec<crate::wire::Period>>,
    max_hours_per_week: Option<f64>,
    bio: Option<String>,
    /// `active` or `suspended`.
    status: Option<String>,
}

/// Search parameters of `GET /v1/workers`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Words of the bio, name or skills.
    q: Option<String>,
    /// A skill the worker holds.
    skill: Option<String>,
    /// `lat,lon` of a point.
    near: Option<String>,
    /// Radius around `near`, km (default 10).
    radius_km: Option<f64>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of workers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkerPage {
    items: Vec<WorkerView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/workers", tag = "workers", params(SearchParams),
    responses((status = 200, body = WorkerPage), (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn search(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<SearchParams>,
) -> ApiResult<axum::Json<Page<WorkerView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    let skill = match p.skill.as_deref() {
        None => None,
        Some(s) => SkillName::new(s)
            .map_err(|e| errors.push(FieldError::new("skill", e.message)))
            .ok(),
    };
    let radius = p.radius_km.unwrap_or(10.0);
    if !(radius.is_finite() && radius > 0.0 && radius <= 500.0) {
        errors.push(FieldError::new(
            "radius_km",
            "must be above 0 and at most 500",
        ));
    }
    let near = match p.near.as_deref() {
        None => None,
        Some(raw) => {
            let parsed = raw
                .split_once(',')
                .and_then(|(a, b)| {
                    Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?))
                })
                .and_then(|(lat, lon)| LatLon::new(lat, lon).ok());
            match parsed {
                Some(p) => Some((p, radius)),
                None => {
                    errors.push(FieldError::new("near", "must be `lat,lon` in degrees"));
                    None
                }
            }
        }
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let ids = state.engine.search_workers(&SearchQuery {
        agency,
        text: p.q.filter(|q| !q.trim().is_empty()),
        skill,
        near,
        after: after.map(WorkerId::new),
        limit: limit as usize + 1,
    });
    let workers = state.engine.workers_by_ids(agency, &ids).await?;
    let views: Vec<WorkerView> = workers
        .iter()
        .map(|(w, v)| WorkerView::of(w, None).versioned(*v))
        .collect();
    Ok(axum::Json(Page::from_fetched(views, limit, |v| {
        v.id.parse::<WorkerId>().map(|i| i.get()).unwrap_or(0)
    })))
}

/// What an import did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    created: usize,
    updated: usize,
    errors: Vec<ImportError>,
    /// Every worker written, in line order.
    workers: Vec<ImportedView>,
}

/// A worker an import wrote.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportedView {
    /// Its line in the body (1-based).
    line: usize,
    /// The worker's id.
    id: String,
    /// The agency's key for it.
    external_ref: String,
    /// `created` or `updated`.
    status: &'static str,
    /// With `?issue_tokens=true`: the app token of a created worker, shown this once (only its hash is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    app_token: Option<String>,
}

/// Options of an import.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportParams {
    /// Answer the app token of every worker the import creates (default false). Workers it updates keep
    /// theirs; `POST /v1/workers/{id}/app-token` issues a new one.
    #[serde(default)]
    issue_tokens: bool,
}

/// A refused line.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ImportError {
    line: usize,
    message: String,
}

#[utoipa::path(post, path = "/v1/workers/import", tag = "workers",
    params(ImportParams),
    request_body(content = String, content_type = "application/x-ndjson", description = "One worker object a line, upserted by external_ref"),
    responses((status = 200, body = ImportReport), (status = 401, body = super::error::Problem), (status = 413, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "An empty body")),
    security(("agency" = [])))]
async fn import(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(params): Query<ImportParams>,
    req: axum::extract::Request,
) -> ApiResult<axum::Json<ImportReport>> {
    let deadline = req.extensions().get::<super::BodyDeadline>().copied();
    let body = super::json::read_body(req.into_body(), super::IMPORT_BODY_LIMIT, deadline).await?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::Malformed("the body is not UTF-8 text".into()))?;
    if text.trim().is_empty() {
        return Err(ApiError::from(vec![FieldError::new(
            "body",
            "is empty: send one worker object a line",
        )]));
    }
    let r = state.engine.import_workers(agency, text).await?;
    Ok(axum::Json(ImportReport {
        created: r.created,
        updated: r.updated,
        errors: r
            .errors
            .into_iter()
            .map(|(line, message)| ImportError { line, message })
            .collect(),
        workers: r
            .workers
            .into_iter()
            .map(|w| ImportedView {
                line: w.line,
                id: w.id.to_string(),
                external_ref: w.external_ref,
                status: if w.app_token.is_some() {
                    "created"
                } else {
                    "updated"
                },
                app_token: w.app_token.filter(|_| params.issue_tokens),
            })
            .collect(),
    }))
}
