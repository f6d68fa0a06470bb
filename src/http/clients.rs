//! The client view: the agency's client links (`/v1/client-links`) and what a link reads (`/v1/client/…`): the
//! client's orders with their fill, crew, attendance and photo reports.

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::{ApiError, ApiResult};
use super::pagination::{self, Page};
use super::photos::{PhotoView, photo_view};
use super::query::Query;
use crate::domain::AgencyId;
use crate::domain::time::{format_instant, parse_instant};
use crate::engine::{OrderFilter, Principal, from_ms, link_id, order_id, parse_link_id};
use crate::store::clients::LinkRow;
use crate::wire::views::{AssignmentView, OrderView};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/client-links", get(list_links).post(create_link))
        .route("/v1/client-links/{id}", delete(revoke_link))
        .route("/v1/client/orders", get(client_orders))
        .route("/v1/client/orders/{id}", get(client_order))
}

/// A client link's caller: the event organizer behind one `client_ref`.
pub struct Client {
    /// The agency.
    pub agency: AgencyId,
    /// The link.
    pub link: i64,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match super::auth::Caller::from_request_parts(parts, state)
            .await?
            .0
        {
            Principal::Client { agency, link, .. } => Ok(Client { agency, link }),
            _ => Err(ApiError::Forbidden(
                "this endpoint is for client links".into(),
            )),
        }
    }
}

/// A client link (its token only in the answer that made it).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientLinkView {
    /// The link's id (`cln_…`).
    id: String,
    /// The client whose orders it shows.
    client_ref: String,
    /// What the agency calls it.
    label: String,
    /// Made, UTC.
    created_at: String,
    /// When it stops working, UTC; `null`: until revoked.
    expires_at: Option<String>,
    /// Revoked, UTC; `null` while it works.
    revoked_at: Option<String>,
    /// The bearer token for the client, shown this once (only its hash is kept).
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    /// The client view's page on this server with the token in its fragment (never sent to a server by a
    /// browser), to hand to the client; only in the answer that made the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

fn link_view(l: &LinkRow, token: Option<String>) -> ClientLinkView {
    ClientLinkView {
        id: link_id(l.id),
        client_ref: l.client_ref.clone(),
        label: l.label.clone(),
        created_at: format_instant(from_ms(l.created_at)),
        expires_at: l.expires_at.map(|t| format_instant(from_ms(t))),
        revoked_at: l.revoked_at.map(|t| format_instant(from_ms(t))),
        url: token.as_ref().map(|t| format!("/client#token={t}")),
        token,
    }
}

/// A new client link.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientLink {
    /// The client (an order's `client_ref`) whose orders the link shows; not empty.
    client_ref: String,
    /// What the agency calls it ("Expo organizer, ops desk"); at most 100 characters.
    #[serde(default)]
    label: String,
    /// When the link stops working (RFC 3339 with offset); none: until revoked.
    expires_at: Option<String>,
}

#[utoipa::path(post, path = "/v1/client-links", tag = "clients", request_body = NewClientLink,
    responses((status = 201, body = ClientLinkView, description = "Made; `token` and `url` are shown this once"),
              (status = 401, body = super::error::Problem), (status = 409, body = super::error::Problem, description = "Too many live links"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn create_link(
    State(state): State<AppState>,
    Agency(agency): Agency,
    super::json::Body(body): super::json::Body<NewClientLink>,
) -> ApiResult<impl IntoResponse> {
    let expires_at = body
        .expires_at
        .as_deref()
        .map(parse_instant)
        .transpose()
        .map_err(|e| ApiError::from(vec![e.under("expires_at")]))?;
    let (row, token) = state
        .engine
        .create_client_link(agency, &body.client_ref, &body.label, expires_at)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(link_view(&row, Some(token))),
    ))
}

/// Filters of the links list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkParams {
    /// Only the links of this client.
    client_ref: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of client links.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientLinkPage {
    items: Vec<ClientLinkView>,
    next_cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/client-links", tag = "clients", params(LinkParams),
    responses((status = 200, body = ClientLinkPage, description = "The agency's client links, live and revoked, newest first"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list_links(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<LinkParams>,
) -> ApiResult<axum::Json<Page<ClientLinkView>>> {
    let mut errors = Vec::new();
    let (limit, before) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let before = before.map_or(i64::MAX, |b| b as i64);
    let rows = state
        .engine
        .client_links(agency, p.client_ref.as_deref(), before, limit + 1)
        .await?;
    let keyed = rows
        .iter()
        .map(|l| (l.id as u64, link_view(l, None)))
        .collect();
    Ok(axum::Json(Page::from_keyed(keyed, limit)))
}

#[utoipa::path(delete, path = "/v1/client-links/{id}", tag = "clients", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked: refused at once, on every node"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Already revoked")),
    security(("agency" = [])))]
async fn revoke_link(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    state
        .engine
        .revoke_client_link(agency, parse_link_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filters of the client's orders.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientOrderParams {
    /// `open`, `filled`, `in_progress`, `completed` (ended with someone staffed), `unfilled` (ended with no one checked in) or `cancelled`.
    status: Option<String>,
    /// Orders ending after this instant (RFC 3339 with offset).
    from: Option<String>,
    /// Orders starting before this instant (RFC 3339 with offset).
    to: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/client/orders", tag = "clients", params(ClientOrderParams),
    responses((status = 200, body = super::orders::OrderPage, description = "The orders of the link's client, oldest first"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("client" = [])))]
async fn client_orders(
    State(state): State<AppState>,
    client: Client,
    Query(p): Query<ClientOrderParams>,
) -> ApiResult<axum::Json<Page<OrderView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    let filter = OrderFilter {
        status: super::orders::checked_status(p.status, &mut errors),
        from: super::orders::checked_instant("from", p.from.as_deref(), &mut errors),
        to: super::orders::checked_instant("to", p.to.as_deref(), &mut errors),
        client_ref: None,
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let orders = state
        .engine
        .client_orders(client.agency, client.link, filter, after, limit + 1)
        .await?;
    let keyed = orders
        .iter()
        .map(|st| (st.row.id as u64, super::orders::view(&state, st)))
        .collect();
    Ok(axum::Json(Page::from_keyed(keyed, limit)))
}

/// One member of a crew as the client sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CrewView {
    /// The assignment.
    assignment_id: String,
    /// The worker's first name and initial.
    worker_name: String,
    /// The role.
    role: String,
    /// `shift` or `standby`.
    kind: String,
    /// `confirmed`, `checked_in`, `completed`, `no_show`, `cancelled`, `standby`, `promoted` or `released`.
    status: String,
    /// Check-in, UTC.
    checked_in_at: Option<String>,
    /// Minutes late at check-in.
    late_minutes: Option<i64>,
    /// Metres from the venue at check-in.
    distance_m: Option<f64>,
    /// Check-out, UTC.
    checked_out_at: Option<String>,
    /// Metres from the venue at check-out.
    check_out_distance_m: Option<f64>,
    /// The assignment this one replaced (a no-show or a cancellation), if any.
    replaces: Option<String>,
    /// Photo reports from the venue.
    photos: Vec<PhotoView>,
}

/// An order as its client sees it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientOrderView {
    /// The order: fill per role, standby, status.
    order: OrderView,
    /// Who is coming and how it went, oldest assignment first.
    crew: Vec<CrewView>,
}

#[utoipa::path(get, path = "/v1/client/orders/{id}", tag = "clients", params(("id" = String, Path)),
    responses((status = 200, body = ClientOrderView),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No such order of the link's client")),
    security(("client" = [])))]
async fn client_order(
    State(state): State<AppState>,
    client: Client,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<ClientOrderView>> {
    let o = state
        .engine
        .client_order(client.agency, client.link, order_id(&id)?)
        .await?;
    let crew = o
        .crew
        .iter()
        .map(|m| {
            // The agency's view of the assignment, of which the client sees the attendance part.
            let a = AssignmentView::of(&m.assignment, &o.state.order);
            CrewView {
                assignment_id: a.id,
                worker_name: m.worker_name.clone(),
                role: a.role,
                kind: a.kind,
                status: a.status,
                checked_in_at: a.checked_in_at,
                late_minutes: a.late_minutes,
                distance_m: a.distance_m,
                checked_out_at: a.checked_out_at,
                check_out_distance_m: a.check_out_distance_m,
                replaces: a.replaces,
                photos: m
                    .photos
                    .iter()
                    .map(|p| photo_view(p, "/v1/client/photos"))
                    .collect(),
            }
        })
        .collect();
    Ok(axum::Json(ClientOrderView {
        order: super::orders::view(&state, &o.state),
        crew,
    }))
}
