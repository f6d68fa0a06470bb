//! Standby pools: `/v1/standby-pools`, the on-call pools of an agency's pooled orders (`"standby": "pooled"`),
//! each an area, a block of the day and a skill signature with the floaters it holds.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::ApiResult;
use super::orders::checked_instant;
use super::pagination::{self, Page};
use super::query::Query;
use crate::wire::standby_pool::StandbyPoolView;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/standby-pools", get(list))
        .route("/v1/standby-pools/{id}", get(read))
}

/// Filters of `GET /v1/standby-pools`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Pools whose window ends after this instant (RFC 3339 with offset).
    from: Option<String>,
    /// Pools whose window starts before this instant (RFC 3339 with offset).
    to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of standby pools.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StandbyPoolPage {
    items: Vec<StandbyPoolView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/standby-pools", tag = "standby-pools", params(ListParams),
    responses((status = 200, body = StandbyPoolPage, description = "The agency's standby pools, oldest first"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<Page<StandbyPoolView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    let from = checked_instant("from", p.from.as_deref(), &mut errors);
    let to = checked_instant("to", p.to.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let pools = state
        .engine
        .standby_pools(agency, from, to, after, limit + 1)
        .await?;
    Ok(axum::Json(Page::from_keyed(pools, limit)))
}

#[utoipa::path(get, path = "/v1/standby-pools/{id}", tag = "standby-pools",
    params(("id" = String, Path, description = "The pool (`spl_…`)")),
    responses((status = 200, body = StandbyPoolView, description = "The pool, its floaters and orders, and the probability now that every order is full at start"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<StandbyPoolView>> {
    let id = crate::engine::standby_pool_id(&id)?;
    Ok(axum::Json(state.engine.standby_pool(agency, id).await?))
}
