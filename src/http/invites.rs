//! On-call invitations ahead of the forecast's peaks: the agency invites (`POST /v1/on-call/invites`) and
//! lists them; the worker sees pending ones and accepts (joining the on-call pool for the window) or declines.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::AppState;
use super::auth::{Agency, Worker};
use super::error::{ApiError, ApiResult};
use super::json::Body;
use super::pagination::{self, Page};
use super::query::Query;
use crate::domain::time::parse_instant;
use crate::engine::parse_invites_body;
use crate::error::{Error, FieldError};
use crate::wire::forecast::{InviteList, InviteView, InvitesAnswer, InvitesBody};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/on-call/invites", post(invite).get(list))
        .route("/v1/me/on-call-invites", get(mine))
        .route("/v1/me/on-call-invites/{id}/accept", post(accept))
        .route("/v1/me/on-call-invites/{id}/decline", post(decline))
}

fn invite_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| ApiError::Lib(Error::NotFound("on-call invitation".into())))
}

#[utoipa::path(post, path = "/v1/on-call/invites", tag = "on-call", request_body = InvitesBody,
    responses((status = 201, body = InvitesAnswer, description = "The peaks of the range and the invitations made for them (none twice for one worker and peak)"),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "A malformed instant, a range outside the forecast's (from the current hour, at most 14 days ahead), or a parameter out of its bounds")),
    security(("agency" = [])))]
async fn invite(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Body(b): Body<InvitesBody>,
) -> ApiResult<impl IntoResponse> {
    let params = parse_invites_body(&b, state.engine.now())?;
    let answer = state.engine.invite_on_call(agency, &params).await?;
    Ok((StatusCode::CREATED, axum::Json(answer)))
}

/// Which invitations.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InviteParams {
    /// Invitations whose window ends after this instant (RFC 3339). Default: now.
    from: Option<String>,
    /// Invitations whose window starts before this instant (RFC 3339). Default: 14 days after `from`.
    to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The agency's invitations, a page.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct InvitePage {
    /// By id (the order they were made in).
    items: Vec<InviteView>,
    /// The next page's cursor, `null` on the last.
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/on-call/invites", tag = "on-call", params(InviteParams),
    responses((status = 200, body = InvitePage, description = "The agency's invitations with their status (`pending`, `accepted`, `declined`, `expired`)"),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(q): Query<InviteParams>,
) -> ApiResult<axum::Json<InvitePage>> {
    let mut errors = Vec::new();
    let mut instant = |name: &str, raw: Option<&str>| -> Option<DateTime<Utc>> {
        parse_instant(raw?)
            .map_err(|e| errors.push(e.under(name)))
            .ok()
    };
    let from = instant("from", q.from.as_deref());
    let to = instant("to", q.to.as_deref());
    let (limit, after) = pagination::params(q.limit, q.cursor.as_deref(), &mut errors);
    let from = from.unwrap_or_else(|| state.engine.now());
    let to = to.unwrap_or(from + chrono::Duration::days(14));
    if to <= from {
        errors.push(FieldError::new("to", "must be after from"));
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let items = state
        .engine
        .agency_invites(agency, from, to, after.unwrap_or(0) as i64, limit + 1)
        .await?;
    let page = Page::from_fetched(items, limit, |i| i.id.parse().unwrap_or(0));
    Ok(axum::Json(InvitePage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/me/on-call-invites", tag = "worker app",
    responses((status = 200, body = InviteList, description = "Pending invitations still open, by window start"),
              (status = 401, body = super::error::Problem)),
    security(("worker" = [])))]
async fn mine(State(state): State<AppState>, w: Worker) -> ApiResult<axum::Json<InviteList>> {
    let items = state.engine.my_invites(w.worker).await?;
    Ok(axum::Json(InviteList { items }))
}

#[utoipa::path(post, path = "/v1/me/on-call-invites/{id}/accept", tag = "worker app", params(("id" = String, Path)),
    responses((status = 200, body = InviteView, description = "Accepted: the worker is on call for the window (`on_call_id`)"),
              (status = 401, body = super::error::Problem),
              (status = 404, body = super::error::Problem, description = "No such invitation of the worker"),
              (status = 409, body = super::error::Problem, description = "Expired, or already accepted or declined")),
    security(("worker" = [])))]
async fn accept(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<InviteView>> {
    let id = invite_id(&id)?;
    Ok(axum::Json(state.engine.accept_invite(w.worker, id).await?))
}

#[utoipa::path(post, path = "/v1/me/on-call-invites/{id}/decline", tag = "worker app", params(("id" = String, Path)),
    responses((status = 200, body = InviteView),
              (status = 401, body = super::error::Problem),
              (status = 404, body = super::error::Problem, description = "No such invitation of the worker"),
              (status = 409, body = super::error::Problem, description = "Expired, or already accepted or declined")),
    security(("worker" = [])))]
async fn decline(
    State(state): State<AppState>,
    w: Worker,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<InviteView>> {
    let id = invite_id(&id)?;
    Ok(axum::Json(state.engine.decline_invite(w.worker, id).await?))
}
