//! Series (repeating and multi-day orders): read, list, change or cancel from a date on, offer a worker the
//! whole series (agency); accept a series' offers at once (worker app). A series is posted with `"repeat"` on
//! `POST /v1/orders`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{Agency, Worker};
use super::error::ApiResult;
use super::json::Body;
use super::pagination::{self, Page};
use super::query::Query;
use super::workers::worker_id;
use crate::domain::series::parse_date;
use crate::engine::{order_id, series_id};
use crate::wire::series::{
    SeriesAcceptBody, SeriesAccepted, SeriesCancel, SeriesChanged, SeriesOfferBody, SeriesOffered,
    SeriesPatch, SeriesView,
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/series", get(list))
        .route("/v1/series/{id}", get(read).patch(patch))
        .route("/v1/series/{id}/cancel", post(cancel))
        .route("/v1/series/{id}/offers", post(offer))
        .route("/v1/me/series/{id}/accept", post(accept))
}

/// Paging of `GET /v1/series`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of series.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SeriesPage {
    items: Vec<SeriesView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/series", tag = "series", params(ListParams),
    responses((status = 200, body = SeriesPage, description = "The agency's series, oldest first, each with its shifts and their fill"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<Page<SeriesView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let all = state.engine.list_series(agency, after, limit + 1).await?;
    let views = all
        .iter()
        .map(|s| (s.row.id as u64, SeriesView::of(s)))
        .collect();
    Ok(axum::Json(Page::from_keyed(views, limit)))
}

#[utoipa::path(get, path = "/v1/series/{id}", tag = "series", params(("id" = String, Path)),
    responses((status = 200, body = SeriesView, description = "The series with each shift's status and fill"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<SeriesView>> {
    let s = state.engine.series(agency, series_id(&id)?).await?;
    Ok(axum::Json(SeriesView::of(&s)))
}

#[utoipa::path(patch, path = "/v1/series/{id}", tag = "series", params(("id" = String, Path)), request_body = SeriesPatch,
    responses((status = 200, body = SeriesChanged, description = "Every shift from `from` on that had not started and was open or filled, changed as `PATCH /v1/orders/{id}` changes one"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "No shift from that date on can change"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn patch(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(p): Body<SeriesPatch>,
) -> ApiResult<axum::Json<SeriesChanged>> {
    let id = series_id(&id)?;
    let from = parse_date("from", &p.from).map_err(|e| crate::Error::Invalid(vec![e]))?;
    let (s, changed) = state
        .engine
        .patch_series(
            agency,
            id,
            from,
            p.roles.into_iter().map(|r| (r.name, r.headcount)).collect(),
        )
        .await?;
    Ok(axum::Json(SeriesChanged {
        orders: changed.iter().map(|o| o.to_string()).collect(),
        series: SeriesView::of(&s),
    }))
}

#[utoipa::path(post, path = "/v1/series/{id}/cancel", tag = "series", params(("id" = String, Path)), request_body = SeriesCancel,
    responses((status = 200, body = SeriesChanged, description = "Every shift from `from` on (every shift to come without it) that had not started, cancelled as `POST /v1/orders/{id}/cancel` cancels one"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "No shift from that date on is still to come"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn cancel(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(p): Body<SeriesCancel>,
) -> ApiResult<axum::Json<SeriesChanged>> {
    let id = series_id(&id)?;
    let from = p
        .from
        .as_deref()
        .map(|f| parse_date("from", f))
        .transpose()
        .map_err(|e| crate::Error::Invalid(vec![e]))?;
    let (s, cancelled) = state.engine.cancel_series(agency, id, from).await?;
    Ok(axum::Json(SeriesChanged {
        orders: cancelled.iter().map(|o| o.to_string()).collect(),
        series: SeriesView::of(&s),
    }))
}

#[utoipa::path(post, path = "/v1/series/{id}/offers", tag = "series", params(("id" = String, Path)), request_body = SeriesOfferBody,
    responses((status = 201, body = SeriesOffered, description = "One offer per shift still to come that the worker may take (each checked by that shift's hard filters), grouped by the `series` field of each offer; the others with why"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No such series or worker"),
              (status = 409, body = super::error::Problem, description = "No shift could be offered"),
              (status = 422, body = super::error::Problem, description = "No role of the series has this name")),
    security(("agency" = [])))]
async fn offer(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(body): Body<SeriesOfferBody>,
) -> ApiResult<impl IntoResponse> {
    let sid = series_id(&id)?;
    let worker = worker_id(&body.worker_id)?;
    let outcomes = state
        .engine
        .offer_series(agency, sid, worker, &body.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(SeriesOffered::of(
            &sid.to_string(),
            &worker.to_string(),
            &body.role,
            &outcomes,
        )),
    ))
}

#[utoipa::path(post, path = "/v1/me/series/{id}/accept", tag = "worker app", params(("id" = String, Path)),
    request_body(content = Option<SeriesAcceptBody>, description = "Optional: `{\"orders\": [\"ord_…\"]}` accepts only those shifts' offers; without a body, every pending offer of the series"),
    responses((status = 200, body = SeriesAccepted, description = "Which shifts were accepted (with their assignments) and why the others were not"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No offer of this series was ever made to the worker"),
              (status = 409, body = super::error::Problem, description = "No offer of the series is pending"),
              (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn accept(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<axum::Json<SeriesAccepted>> {
    let sid = series_id(&id)?;
    let body: SeriesAcceptBody = if body.iter().all(u8::is_ascii_whitespace) {
        SeriesAcceptBody::default()
    } else {
        super::json::parse(&body)?
    };
    let only = match body.orders {
        None => None,
        Some(list) => {
            if list.len() > crate::domain::series::MAX_SHIFTS {
                return Err(crate::Error::Invalid(vec![crate::error::FieldError::new(
                    "orders",
                    format!("at most {} items", crate::domain::series::MAX_SHIFTS),
                )])
                .into());
            }
            let mut ids = Vec::with_capacity(list.len());
            for (i, raw) in list.iter().enumerate() {
                ids.push(order_id(raw).map_err(|_| {
                    crate::Error::Invalid(vec![crate::error::FieldError::new(
                        format!("orders[{i}]"),
                        "must be an order id (ord_…)",
                    )])
                })?);
            }
            Some(ids)
        }
    };
    let outcomes = state.engine.accept_series(w.worker, sid, only).await?;
    Ok(axum::Json(SeriesAccepted::of(&sid.to_string(), &outcomes)))
}
