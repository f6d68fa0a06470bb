//! Orders, for agencies: post, read, list, change headcounts, cancel, and the explained candidates.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::ApiResult;
use super::json::Body;
use super::pagination::{self, Page};
use super::query::Query;
use super::versions::{if_match, tagged};
use crate::domain::time::parse_instant;
use crate::engine::{OrderFilter, Standing, order_id};
use crate::error::FieldError;
use crate::wire::order::OrderBody;
use crate::wire::series::SeriesView;
use crate::wire::views::OrderView;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/orders", post(create).get(list))
        .route("/v1/orders/{id}", get(read).patch(patch))
        .route("/v1/orders/{id}/cancel", post(cancel))
        .route("/v1/orders/{id}/candidates", get(candidates))
}

/// An order status filter, checked.
pub(super) fn checked_status(raw: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let s = raw?;
    if [
        "open",
        "filled",
        "in_progress",
        "completed",
        "unfilled",
        "cancelled",
    ]
    .contains(&s.as_str())
    {
        Some(s)
    } else {
        errors.push(FieldError::new(
            "status",
            "must be open, filled, in_progress, completed, unfilled or cancelled",
        ));
        None
    }
}

/// An instant filter, checked.
pub(super) fn checked_instant(
    name: &str,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    raw.and_then(|r| {
        parse_instant(r)
            .map_err(|e| errors.push(e.under(name)))
            .ok()
    })
}

pub(super) fn view(state: &AppState, st: &crate::engine::OrderState) -> OrderView {
    OrderView::of(st, state.engine.standby_wanted_now(st).iter().sum())
}

/// What `POST /v1/orders` answers: the order, or for a repeating order (`repeat`) the series of its shifts.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Posted {
    /// A single order.
    Order(Box<OrderView>),
    /// A series: one order per shift.
    Series(Box<SeriesView>),
}

#[utoipa::path(post, path = "/v1/orders", tag = "orders", request_body = OrderBody,
    responses((status = 201, body = Posted, description = "The order; with `repeat`, the series (`ser_…`) with each shift's order", headers(("ETag" = String, description = "The version, for If-Match (a single order)"))), (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn create(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Body(body): Body<OrderBody>,
) -> ApiResult<Response> {
    if body.repeat.is_some() {
        let series = state.engine.post_series(agency, body).await?;
        let posted = Posted::Series(Box::new(SeriesView::of(&series)));
        return Ok((StatusCode::CREATED, axum::Json(posted)).into_response());
    }
    let st = state.engine.post_order(agency, body).await?;
    Ok(tagged(
        st.row.version as u64,
        (
            StatusCode::CREATED,
            axum::Json(Posted::Order(Box::new(view(&state, &st)))),
        ),
    ))
}

#[utoipa::path(get, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView, headers(("ETag" = String, description = "The version, for If-Match"))), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let st = state.engine.order(agency, order_id(&id)?).await?;
    Ok(tagged(st.row.version as u64, axum::Json(view(&state, &st))))
}

/// A headcount change.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleHeadcount {
    /// The role's name.
    name: String,
    /// The new headcount.
    headcount: i64,
}

/// `PATCH /v1/orders/{id}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderPatch {
    /// Roles whose headcount changes.
    roles: Vec<RoleHeadcount>,
}

#[utoipa::path(patch, path = "/v1/orders/{id}", tag = "orders", params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "Apply only if the resource is still at this version (its ETag, `\"7\"`); 412 otherwise")), request_body = OrderPatch,
    responses((status = 200, body = OrderView, headers(("ETag" = String, description = "The version, for If-Match"))), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem), (status = 412, body = super::error::Problem, description = "If-Match names an older version"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn patch(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(p): Body<OrderPatch>,
) -> ApiResult<Response> {
    let id = order_id(&id)?;
    let expected = if_match(&headers)?;
    let st = state
        .engine
        .patch_order(
            agency,
            id,
            p.roles.into_iter().map(|r| (r.name, r.headcount)).collect(),
            expected,
        )
        .await?;
    Ok(tagged(st.row.version as u64, axum::Json(view(&state, &st))))
}

#[utoipa::path(post, path = "/v1/orders/{id}/cancel", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, body = OrderView, headers(("ETag" = String, description = "The version, for If-Match"))), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem)),
    security(("agency" = [])))]
async fn cancel(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let st = state.engine.cancel_order(agency, order_id(&id)?).await?;
    Ok(tagged(st.row.version as u64, axum::Json(view(&state, &st))))
}

/// Filters of `GET /v1/orders`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `open`, `filled`, `in_progress`, `completed` (ended with someone staffed), `unfilled` (ended with no one checked in) or `cancelled`.
    status: Option<String>,
    /// Orders ending after this instant (RFC 3339 with offset).
    from: Option<String>,
    /// Orders starting before this instant (RFC 3339 with offset).
    to: Option<String>,
    /// Only the orders of this client (`client_ref`).
    client_ref: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of orders.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OrderPage {
    items: Vec<OrderView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/orders", tag = "orders", params(ListParams),
    responses((status = 200, body = OrderPage), (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<Page<OrderView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    let filter = OrderFilter {
        status: checked_status(p.status, &mut errors),
        from: checked_instant("from", p.from.as_deref(), &mut errors),
        to: checked_instant("to", p.to.as_deref(), &mut errors),
        client_ref: p.client_ref,
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let orders = state
        .engine
        .list_orders(agency, &filter, after, limit + 1)
        .await?;
    let ids: Vec<u64> = orders.iter().map(|o| o.row.id as u64).collect();
    let views: Vec<(u64, OrderView)> = ids
        .into_iter()
        .zip(orders.iter().map(|st| view(&state, st)))
        .collect();
    Ok(axum::Json(Page::from_keyed(views, limit)))
}

/// Parameters of the candidates list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CandidateParams {
    /// The role's name; the first role when absent.
    role: Option<String>,
    /// How many, 1 to 500 (default 20).
    limit: Option<i64>,
    /// A worker (`wrk_…`) to say where they stand: their rank and explanation, or why they are not a
    /// candidate (the answer's `worker`).
    worker: Option<String>,
}

/// Where one asked-about worker stands among the role's candidates.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WorkerStanding {
    worker_id: String,
    /// Whether they pass every hard filter.
    candidate: bool,
    /// When not a candidate: the reason code of the hard filter that leaves them out (`excluded` for a
    /// worker already offered or assigned in the order).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// When a candidate: their rank among the eligible, 1 for the best.
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<usize>,
    /// When a candidate: their score.
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    /// When a candidate: each feature's contribution to the score.
    #[serde(skip_serializing_if = "Option::is_none")]
    explain: Option<BTreeMap<&'static str, f64>>,
}

/// A ranked candidate with the contribution of each feature to its score.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CandidateView {
    worker_id: String,
    name: String,
    score: f64,
    distance_km: f64,
    tier: &'static str,
    explain: BTreeMap<&'static str, f64>,
}

/// The candidates of one role.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Candidates {
    role: String,
    /// The policy version that scored them.
    policy_version: u32,
    /// How many passed every hard filter.
    eligible: usize,
    /// How many each hard filter left out, by reason code.
    excluded: BTreeMap<&'static str, usize>,
    items: Vec<CandidateView>,
    /// With `?worker=`: where that worker stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    worker: Option<WorkerStanding>,
}

#[utoipa::path(get, path = "/v1/orders/{id}/candidates", tag = "orders", params(("id" = String, Path), CandidateParams),
    responses((status = 200, body = Candidates), (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn candidates(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Query(p): Query<CandidateParams>,
) -> ApiResult<impl IntoResponse> {
    let limit = match p.limit {
        None => 20,
        Some(l) if (1..=500).contains(&l) => l as usize,
        Some(_) => {
            return Err(vec![FieldError::new("limit", "must be between 1 and 500")].into());
        }
    };
    let asked = p
        .worker
        .as_deref()
        .map(super::workers::worker_id)
        .transpose()?;
    let started = std::time::Instant::now();
    let (st, role, ranking) = state
        .engine
        .order_candidates(agency, order_id(&id)?, p.role.as_deref(), limit)
        .await?;
    let standing = match asked {
        None => None,
        Some(w) => {
            let s = state
                .engine
                .candidate_standing(agency, st.order.id, p.role.as_deref(), w)
                .await?;
            Some(match s {
                Standing::Candidate { rank, scored } => WorkerStanding {
                    worker_id: w.to_string(),
                    candidate: true,
                    reason: None,
                    rank: Some(rank),
                    score: Some(scored.score),
                    explain: Some(
                        scored
                            .explain
                            .iter()
                            .map(|(f, c)| (f.as_str(), c))
                            .collect(),
                    ),
                },
                Standing::Excluded(reason) => WorkerStanding {
                    worker_id: w.to_string(),
                    candidate: false,
                    reason: Some(reason.as_str()),
                    rank: None,
                    score: None,
                    explain: None,
                },
            })
        }
    };
    let took = started.elapsed();
    state.metrics.observe_match(took.as_secs_f64());
    // The engine's share of the answer, for clients and load tests: `Server-Timing: match;dur=<ms>`.
    let timing = format!("match;dur={:.3}", took.as_secs_f64() * 1000.0);
    let header = [(axum::http::HeaderName::from_static("server-timing"), timing)];
    Ok((
        header,
        axum::Json(Candidates {
            role: st.order.roles[role].name.clone(),
            policy_version: state.engine.policy().version,
            eligible: ranking.eligible,
            excluded: ranking
                .excluded
                .iter()
                .map(|(r, n)| (r.as_str(), *n))
                .collect(),
            items: ranking
                .ranked
                .iter()
                .map(|s| CandidateView {
                    worker_id: s.worker.id.to_string(),
                    name: s.worker.name.clone(),
                    score: s.score,
                    distance_km: s.distance_km,
                    tier: s.worker.stats.tier().as_str(),
                    explain: s.explain.iter().map(|(f, c)| (f.as_str(), c)).collect(),
                })
                .collect(),
            worker: standing,
        }),
    ))
}
