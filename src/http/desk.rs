//! The agency's desk: issuing a worker's app token, an order's offers, the agency's assignments, and the events
//! feeds (the agency's own, and a worker's in the app).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::{Agency, Worker};
use super::error::ApiResult;
use super::pagination::{self, Page};
use super::query::Query;
use super::workers::worker_id;
use crate::domain::time::{format_instant, parse_instant};
use crate::domain::{OfferId, WorkerId};
use crate::engine::{from_ms, order_id};
use crate::error::FieldError;
use crate::store::events::StoredEvent;
use crate::store::orders::AssignmentFilter;
use crate::wire::views::AssignmentView;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/workers/{id}/app-token", post(app_token))
        .route(
            "/v1/orders/{id}/offers",
            get(order_offers).post(offer_by_hand),
        )
        .route("/v1/assignments", get(assignments))
        .route("/v1/events", get(events))
        .route("/v1/me/events", get(my_events))
        .route("/v1/agency/keys", get(list_keys).post(create_key))
        .route("/v1/agency/keys/{id}", axum::routing::delete(revoke_key))
}

/// A freshly issued app token.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AppToken {
    /// The worker.
    worker_id: String,
    /// The token for the partner app, shown this once (only its hash is kept). The previous one no longer works.
    app_token: String,
}

#[utoipa::path(post, path = "/v1/workers/{id}/app-token", tag = "workers", params(("id" = String, Path)),
    responses((status = 201, body = AppToken, description = "Issued; the worker's previous token stops working on every node"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn app_token(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = worker_id(&id)?;
    let token = state.engine.issue_app_token(agency, id).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(AppToken {
            worker_id: id.to_string(),
            app_token: token,
        }),
    ))
}

/// Paging of a list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// An offer as the agency sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AgencyOfferView {
    /// The offer.
    id: String,
    /// The worker offered.
    worker_id: String,
    /// The role's name.
    role: String,
    /// `shift` or `standby`.
    kind: String,
    /// `pending`, `accepted`, `declined`, `expired` or `withdrawn`.
    status: String,
    /// An urgent replacement offer.
    urgent: bool,
    /// Sent, UTC.
    sent_at: String,
    /// Open until, UTC.
    expires_at: String,
    /// When it left `pending`, UTC.
    decided_at: Option<String>,
}

/// A page of offers.
#[derive(Serialize, utoipa::ToSchema)]
pub struct OfferPage {
    items: Vec<AgencyOfferView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/orders/{id}/offers", tag = "orders", params(("id" = String, Path), PageParams),
    responses((status = 200, body = OfferPage, description = "Every offer of the order, oldest first"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn order_offers(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Query(p): Query<PageParams>,
) -> ApiResult<axum::Json<Page<AgencyOfferView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let (order, rows) = state
        .engine
        .order_offers(agency, order_id(&id)?, after.unwrap_or(0) as i64, limit + 1)
        .await?;
    let views: Vec<(u64, AgencyOfferView)> = rows
        .iter()
        .map(|o| (o.id as u64, agency_offer_view(&order, o)))
        .collect();
    Ok(axum::Json(Page::from_keyed(views, limit)))
}

/// An offer of `order` as the agency sees it.
fn agency_offer_view(
    order: &crate::domain::Order,
    o: &crate::store::orders::OfferRow,
) -> AgencyOfferView {
    AgencyOfferView {
        id: OfferId::new(o.id as u64).to_string(),
        worker_id: WorkerId::new(o.worker_id as u64).to_string(),
        role: order
            .roles
            .get(o.role_idx as usize)
            .map(|r| r.name.clone())
            .unwrap_or_default(),
        kind: o.kind.clone(),
        status: o.status.clone(),
        urgent: o.urgent != 0,
        sent_at: format_instant(from_ms(o.created_at)),
        expires_at: format_instant(from_ms(o.expires_at)),
        decided_at: o.decided_at.map(|t| format_instant(from_ms(t))),
    }
}

/// A shift offered by hand to one worker.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOffer {
    /// The worker (`wrk_…`).
    worker_id: String,
    /// The name of the role offered.
    role: String,
}

#[utoipa::path(post, path = "/v1/orders/{id}/offers", tag = "orders", params(("id" = String, Path)),
    request_body = HandOffer,
    responses((status = 201, body = AgencyOfferView, description = "Offered; the worker answers it like any offer"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No such order or worker"),
              (status = 409, body = super::error::Problem, description = "A hard filter excludes the worker (`/problems/not-eligible` with the exclusion `reason` code), the role is full, or the order takes no more workers"),
              (status = 422, body = super::error::Problem, description = "No role of the order has this name")),
    security(("agency" = [])))]
async fn offer_by_hand(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    super::json::Body(body): super::json::Body<HandOffer>,
) -> ApiResult<impl IntoResponse> {
    let order = order_id(&id)?;
    let worker = worker_id(&body.worker_id)?;
    let (st, row) = state
        .engine
        .offer_by_hand(agency, order, worker, &body.role)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(agency_offer_view(&st.order, &row)),
    ))
}

/// Filters of the agency's assignments.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AssignmentParams {
    /// Shifts ending after this instant (RFC 3339 with offset).
    from: Option<String>,
    /// Shifts starting before this instant (RFC 3339 with offset).
    to: Option<String>,
    /// One worker's (`wrk_…`).
    worker: Option<String>,
    /// `confirmed`, `checked_in`, `completed`, `no_show`, `cancelled`, `standby`, `promoted` or `released`.
    status: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of assignments.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AssignmentPage {
    items: Vec<AssignmentView>,
    next_cursor: Option<String>,
}

const ASSIGNMENT_STATUSES: &[&str] = &[
    "confirmed",
    "checked_in",
    "completed",
    "no_show",
    "cancelled",
    "standby",
    "promoted",
    "released",
];

#[utoipa::path(get, path = "/v1/assignments", tag = "assignments", params(AssignmentParams),
    responses((status = 200, body = AssignmentPage, description = "The agency's assignments, oldest first"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn assignments(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<AssignmentParams>,
) -> ApiResult<axum::Json<Page<AssignmentView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    let mut instant = |name: &str, raw: &Option<String>| {
        raw.as_deref().and_then(|r| {
            parse_instant(r)
                .map_err(|e| errors.push(e.under(name)))
                .ok()
                .map(|t| t.timestamp_millis())
        })
    };
    let from = instant("from", &p.from);
    let to = instant("to", &p.to);
    let worker = match p.worker.as_deref() {
        None => None,
        Some(w) => match w.parse::<WorkerId>() {
            Ok(id) => Some(id.get() as i64),
            Err(_) => {
                errors.push(FieldError::new("worker", "is not a worker id (wrk_…)"));
                None
            }
        },
    };
    if let Some(s) = &p.status
        && !ASSIGNMENT_STATUSES.contains(&s.as_str())
    {
        errors.push(FieldError::new(
            "status",
            format!("must be one of {}", ASSIGNMENT_STATUSES.join(", ")),
        ));
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let filter = AssignmentFilter {
        from,
        to,
        worker,
        status: p.status,
    };
    let rows = state
        .engine
        .agency_assignments(agency, &filter, after.unwrap_or(0) as i64, limit + 1)
        .await?;
    let views: Vec<(u64, AssignmentView)> = rows
        .iter()
        .map(|(a, order)| (a.id as u64, AssignmentView::of(a, order)))
        .collect();
    Ok(axum::Json(Page::from_keyed(views, limit)))
}

/// Reading a feed.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedParams {
    /// The `cursor` of an earlier answer; from the beginning of the log when absent.
    after: Option<String>,
    /// Events per page, 1 to 500 (default 50).
    limit: Option<i64>,
}

/// One event of the log.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// The event's position in the log: unique, increasing, the id to deduplicate on.
    seq: i64,
    /// When it happened, UTC.
    at: String,
    /// What happened (`order_posted`, `offer_sent`, `assignment_made`, `checked_in`, …).
    kind: String,
    /// The event's data, as the log holds it.
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

/// A page of a feed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// Events in log order.
    items: Vec<EventView>,
    /// Where the next page starts when this one was full (more events are there now); `null` otherwise.
    next_cursor: Option<String>,
    /// Where to read from next time, always: pass it as `after` to get only what happened since.
    cursor: String,
}

/// The feed item of a stored event (also the `data` of each server-sent event of the events stream).
pub(super) fn event_view(e: StoredEvent) -> EventView {
    EventView {
        seq: e.seq,
        at: format_instant(from_ms(e.at_ms)),
        kind: e.kind,
        data: e.payload,
    }
}

fn feed_params(p: &FeedParams) -> Result<(i64, i64), super::error::ApiError> {
    let mut errors = Vec::new();
    let limit = pagination::limit(p.limit)
        .map_err(|e| errors.push(e))
        .unwrap_or(pagination::DEFAULT_LIMIT);
    let after = pagination::decode(p.after.as_deref())
        .map_err(|e| errors.push(FieldError::new("after", e.message)))
        .unwrap_or(None);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok((limit, after.unwrap_or(0) as i64))
}

#[utoipa::path(get, path = "/v1/events", tag = "events", params(FeedParams),
    responses((status = 200, body = EventPage, description = "The agency's events in log order"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn events(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<FeedParams>,
) -> ApiResult<axum::Json<EventPage>> {
    let (limit, after) = feed_params(&p)?;
    let items = state.engine.agency_events(agency, after, limit).await?;
    Ok(axum::Json(feed_page(items, after, limit)))
}

fn feed_page(items: Vec<StoredEvent>, after: i64, limit: i64) -> EventPage {
    let full = items.len() as i64 == limit;
    let last = items.last().map_or(after, |e| e.seq);
    let cursor = pagination::encode(last as u64);
    EventPage {
        items: items.into_iter().map(event_view).collect(),
        next_cursor: full.then(|| cursor.clone()),
        cursor,
    }
}

#[utoipa::path(get, path = "/v1/me/events", tag = "worker app", params(FeedParams),
    responses((status = 200, body = EventPage, description = "The worker's own events (offers, assignments, attendance, record) in log order"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn my_events(
    State(state): State<AppState>,
    w: Worker,
    Query(p): Query<FeedParams>,
) -> ApiResult<axum::Json<EventPage>> {
    let (limit, after) = feed_params(&p)?;
    let items = state.engine.worker_events(w.worker, after, limit).await?;
    Ok(axum::Json(feed_page(items, after, limit)))
}

/// An agency's API key (never its value, except once in the answer that made it).
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// The key's id (`key_…`).
    id: String,
    /// What the agency calls it.
    label: String,
    /// Made, UTC.
    created_at: String,
    /// Revoked, UTC; `null` while it works.
    revoked_at: Option<String>,
    /// The key itself, only in the answer that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
}

fn key_view(k: &crate::store::agencies::KeyRow, api_key: Option<String>) -> KeyView {
    KeyView {
        id: format!("key_{:x}", k.id),
        label: k.label.clone(),
        created_at: format_instant(from_ms(k.created_at)),
        revoked_at: k.revoked_at.map(|t| format_instant(from_ms(t))),
        api_key,
    }
}

fn key_id(raw: &str) -> Result<i64, super::error::ApiError> {
    raw.strip_prefix("key_")
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| crate::Error::NotFound("key".into()).into())
}

/// The agency's keys.
#[derive(Serialize, utoipa::ToSchema)]
pub struct KeyList {
    items: Vec<KeyView>,
}

#[utoipa::path(get, path = "/v1/agency/keys", tag = "agency",
    responses((status = 200, body = KeyList, description = "Every API key of the agency, live and revoked, oldest first"),
              (status = 401, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list_keys(
    State(state): State<AppState>,
    Agency(agency): Agency,
) -> ApiResult<axum::Json<KeyList>> {
    let keys = state.engine.agency_keys(agency).await?;
    Ok(axum::Json(KeyList {
        items: keys.iter().map(|k| key_view(k, None)).collect(),
    }))
}

/// A new key.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What the agency calls it ("booking tool", "night desk"); at most 100 characters.
    #[serde(default)]
    label: String,
}

#[utoipa::path(post, path = "/v1/agency/keys", tag = "agency", request_body = NewKey,
    responses((status = 201, body = KeyView, description = "Made; `api_key` is shown this once"),
              (status = 401, body = super::error::Problem), (status = 409, body = super::error::Problem, description = "Too many live keys")),
    security(("agency" = [])))]
async fn create_key(
    State(state): State<AppState>,
    Agency(agency): Agency,
    super::json::Body(body): super::json::Body<NewKey>,
) -> ApiResult<impl IntoResponse> {
    let (row, key) = state.engine.create_agency_key(agency, &body.label).await?;
    Ok((StatusCode::CREATED, axum::Json(key_view(&row, Some(key)))))
}

#[utoipa::path(delete, path = "/v1/agency/keys/{id}", tag = "agency", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked: refused at once, on every node"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Already revoked, or the agency's last live key")),
    security(("agency" = [])))]
async fn revoke_key(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state.engine.revoke_agency_key(agency, key_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}
