//! Talent pools: `/v1/pools`, an agency's named lists of workers, which a role may restrict its candidates to or
//! prefer (`"pool": {"id", "mode"}`).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::{ApiError, ApiResult};
use super::json::Body;
use crate::domain::PoolId;
use crate::domain::time::format_instant;
use crate::engine::{Pool, from_ms};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/pools", get(list).post(create))
        .route("/v1/pools/{id}", get(read).put(replace).delete(delete))
}

/// A pool as sent: its name and workers.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolBody {
    /// What the agency calls it ("bilingual + forklift"), 1 to 100 characters.
    name: String,
    /// Its workers (`wrk_…`), each a worker of the agency; at most 1000.
    #[serde(default)]
    workers: Vec<String>,
}

/// A talent pool.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PoolView {
    /// The pool (`pol_…`).
    id: String,
    /// What the agency calls it.
    name: String,
    /// Its workers, by id.
    workers: Vec<String>,
    /// Made, UTC.
    created_at: String,
    /// Last changed, UTC.
    updated_at: String,
}

/// The agency's pools.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PoolList {
    /// Oldest first.
    items: Vec<PoolView>,
}

fn view(p: &Pool) -> PoolView {
    PoolView {
        id: p.id.to_string(),
        name: p.name.clone(),
        workers: p.workers.iter().map(|w| w.to_string()).collect(),
        created_at: format_instant(from_ms(p.created_at)),
        updated_at: format_instant(from_ms(p.updated_at)),
    }
}

/// Parses a pool id from a path (an unknown shape is simply not found).
fn pool_id(raw: &str) -> Result<PoolId, ApiError> {
    raw.parse::<PoolId>()
        .map_err(|_| ApiError::Lib(crate::Error::NotFound("pool".into())))
}

#[utoipa::path(get, path = "/v1/pools", tag = "pools",
    responses((status = 200, body = PoolList, description = "The agency's pools, oldest first"),
              (status = 401, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Agency(agency): Agency,
) -> ApiResult<impl IntoResponse> {
    let pools = state.engine.list_pools(agency).await?;
    Ok(axum::Json(PoolList {
        items: pools.iter().map(view).collect(),
    }))
}

#[utoipa::path(post, path = "/v1/pools", tag = "pools", request_body = PoolBody,
    responses((status = 201, body = PoolView, description = "Made"),
              (status = 401, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "The agency keeps 100 pools already"),
              (status = 422, body = super::error::Problem, description = "A bad name, or a worker that is not the agency's")),
    security(("agency" = [])))]
async fn create(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Body(body): Body<PoolBody>,
) -> ApiResult<impl IntoResponse> {
    let pool = state
        .engine
        .create_pool(agency, &body.name, &body.workers)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&pool))))
}

#[utoipa::path(get, path = "/v1/pools/{id}", tag = "pools", params(("id" = String, Path)),
    responses((status = 200, body = PoolView), (status = 401, body = super::error::Problem),
              (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let pool = state.engine.pool(agency, pool_id(&id)?).await?;
    Ok(axum::Json(view(&pool)))
}

#[utoipa::path(put, path = "/v1/pools/{id}", tag = "pools", params(("id" = String, Path)), request_body = PoolBody,
    responses((status = 200, body = PoolView, description = "Its name and workers replaced"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "A bad name, or a worker that is not the agency's")),
    security(("agency" = [])))]
async fn replace(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(body): Body<PoolBody>,
) -> ApiResult<impl IntoResponse> {
    let id = pool_id(&id)?;
    let pool = state
        .engine
        .replace_pool(agency, id, &body.name, &body.workers)
        .await?;
    Ok(axum::Json(view(&pool)))
}

#[utoipa::path(delete, path = "/v1/pools/{id}", tag = "pools", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted: roles that name it find nobody in it"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn delete(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    state.engine.delete_pool(agency, pool_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
