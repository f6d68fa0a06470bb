//! Webhooks (agency): an agency's endpoints, their signing secrets and their deliveries. The rules live in
//! [`crate::webhooks`]; this module reads requests and writes answers.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::{ApiError, ApiResult};
use super::json::Body;
use super::pagination::{self, Page};
use super::query::Query;
use crate::error::{Error, FieldError};
use crate::webhooks::{self, DELIVERY_STATUSES};
use crate::wire::webhooks::{
    DeliveryView, NewWebhook, WebhookPatch, WebhookView, parse_webhook_id,
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks", post(create).get(list))
        .route("/v1/webhooks/{id}", get(read).patch(patch).delete(delete))
        .route("/v1/webhooks/{id}/rotate-secret", post(rotate_secret))
        .route("/v1/webhooks/{id}/deliveries", get(deliveries))
}

fn id_of(raw: &str) -> Result<i64, ApiError> {
    parse_webhook_id(raw).ok_or_else(|| Error::NotFound("webhook".into()).into())
}

#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, body = WebhookView, description = "Made; `secret` is shown this once"),
              (status = 401, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "The agency has the most webhooks it may have"),
              (status = 422, body = super::error::Problem, description = "An unknown event kind, or a URL that is not http(s) or points inside the operator's network")),
    security(("agency" = [])))]
async fn create(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Body(req): Body<NewWebhook>,
) -> ApiResult<impl IntoResponse> {
    let w = webhooks::create(&state.engine, &state.webhooks, agency, &req).await?;
    Ok((StatusCode::CREATED, axum::Json(WebhookView::of(&w, true))))
}

/// Paging of a list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of webhooks.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WebhookPage {
    items: Vec<WebhookView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(ListParams),
    responses((status = 200, body = WebhookPage, description = "The agency's webhooks, oldest first (never their secrets)"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<ListParams>,
) -> ApiResult<axum::Json<Page<WebhookView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let rows = webhooks::list(&state.engine, agency, after.unwrap_or(0) as i64, limit + 1).await?;
    let views = rows
        .iter()
        .map(|w| (w.id as u64, WebhookView::of(w, false)))
        .collect();
    Ok(axum::Json(Page::from_keyed(views, limit)))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookView, description = "The webhook (never its secret)"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<WebhookView>> {
    let w = webhooks::get(&state.engine, agency, id_of(&id)?).await?;
    Ok(axum::Json(WebhookView::of(&w, false)))
}

#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    request_body = WebhookPatch,
    responses((status = 200, body = WebhookView, description = "Changed; `status: active` re-enables a disabled or paused webhook, which resumes where it left off"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn patch(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(req): Body<WebhookPatch>,
) -> ApiResult<axum::Json<WebhookView>> {
    let id = id_of(&id)?;
    let w = webhooks::patch(&state.engine, &state.webhooks, agency, id, &req).await?;
    Ok(axum::Json(WebhookView::of(&w, false)))
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted, with the deliveries it still owed"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn delete(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    webhooks::delete(&state.engine, agency, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookView, description = "A new `secret`, shown this once; the old one signs nothing from now on"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn rotate_secret(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<WebhookView>> {
    let w = webhooks::rotate_secret(&state.engine, agency, id_of(&id)?).await?;
    Ok(axum::Json(WebhookView::of(&w, true)))
}

/// Filters of a webhook's deliveries.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// `pending`, `delivered` or `failed`.
    status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of deliveries.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    items: Vec<DeliveryView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveryParams),
    responses((status = 200, body = DeliveryPage, description = "The webhook's deliveries in log order, with their outcomes"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn deliveries(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Query(p): Query<DeliveryParams>,
) -> ApiResult<axum::Json<Page<DeliveryView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    if let Some(s) = &p.status
        && !DELIVERY_STATUSES.contains(&s.as_str())
    {
        errors.push(FieldError::new(
            "status",
            format!("must be one of {}", DELIVERY_STATUSES.join(", ")),
        ));
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let rows = webhooks::deliveries(
        &state.engine,
        agency,
        id_of(&id)?,
        p.status.as_deref(),
        after.unwrap_or(0) as i64,
        limit + 1,
    )
    .await?;
    let views = rows
        .iter()
        .map(|d| (d.seq as u64, DeliveryView::from(d)))
        .collect();
    Ok(axum::Json(Page::from_keyed(views, limit)))
}
