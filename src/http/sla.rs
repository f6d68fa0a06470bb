//! SLA tiers per client: the agency's tiers (`/v1/agency/sla-tiers`), clients and their tiers
//! (`/v1/clients`, `/v1/clients/{client_ref}`) and the SLA report (`/v1/reports/sla`).

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::ApiResult;
use super::json::Body;
use super::pagination;
use super::query::Query;
use crate::domain::time::{format_instant, parse_instant};
use crate::engine::{ClientTier, from_ms};
use crate::error::FieldError;
use crate::wire::sla::{SlaConfigBody, SlaReportView};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/agency/sla-tiers", get(read_tiers).put(set_tiers))
        .route("/v1/clients", get(list_clients))
        .route("/v1/clients/{client_ref}", get(read_client).put(set_client))
        .route("/v1/reports/sla", get(report))
}

/// A client and its SLA tier.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientView {
    /// The client, as orders name it.
    client_ref: String,
    /// Its tier: its own, else the agency's default; `null` with neither (its orders have no SLA).
    tier: Option<String>,
    /// `client` (its own), `default` (the agency's default tier) or `none`.
    tier_source: &'static str,
    /// The tier's target: fully staffed within this many minutes of posting; `null`: by the shift's start
    /// (or no tier).
    within_minutes: Option<u32>,
    /// When its own tier was set, UTC.
    updated_at: Option<String>,
}

fn client_view(c: ClientTier) -> ClientView {
    ClientView {
        tier_source: match (&c.tier, c.own) {
            (_, true) => "client",
            (Some(_), false) => "default",
            (None, false) => "none",
        },
        client_ref: c.client_ref,
        tier: c.tier,
        within_minutes: c.within_min,
        updated_at: c.updated_at.map(|t| format_instant(from_ms(t))),
    }
}

/// A client's tier as set.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientBody {
    /// One of the agency's tier names (`P0`); `null` or absent takes the client's own tier away, so the
    /// agency's default applies.
    #[serde(default)]
    tier: Option<String>,
}

/// A page of clients.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientPage {
    /// By `client_ref`.
    items: Vec<ClientView>,
    /// Where the next page starts; `null` on the last.
    next_cursor: Option<String>,
}

/// Paging of `GET /v1/clients`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ClientListParams {
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The period of `GET /v1/reports/sla`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// Orders posted at or after this: an RFC 3339 instant with offset, or a date (`2026-11-23`, from its
    /// start, UTC). Required.
    #[param(required = true, example = "2026-11-23")]
    from: Option<String>,
    /// Orders posted before this: an RFC 3339 instant with offset, or a date (`2026-11-23`, through its end,
    /// UTC). Required.
    #[param(required = true, example = "2026-11-29")]
    to: Option<String>,
}

fn cursor_after(raw: Option<&str>) -> Result<String, FieldError> {
    let Some(raw) = raw else {
        return Ok(String::new());
    };
    let bad = || FieldError::new("cursor", "is not a cursor this server gave out");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    String::from_utf8(bytes)
        .ok()
        .and_then(|s| s.strip_prefix("client:").map(str::to_string))
        .ok_or_else(bad)
}

/// An instant or a date of the report's period; a date is its first instant (UTC), or with `end` the first
/// instant of the day after.
fn period_bound(
    name: &str,
    raw: Option<&str>,
    end: bool,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let Some(raw) = raw else {
        errors.push(FieldError::new(
            name,
            "is required: an RFC 3339 instant with offset, or a date (YYYY-MM-DD)",
        ));
        return None;
    };
    let bad = || {
        FieldError::new(
            name,
            "must be an RFC 3339 instant with offset, or a date (YYYY-MM-DD)",
        )
    };
    let at = match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        Ok(d) => if end { d.succ_opt() } else { Some(d) }
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        Err(_) => parse_instant(raw).ok(),
    };
    if at.is_none() {
        errors.push(bad());
    }
    at
}

#[utoipa::path(get, path = "/v1/agency/sla-tiers", tag = "sla",
    responses((status = 200, body = SlaConfigBody, description = "The agency's SLA tiers (the defaults P0, P1, P2 until it sets its own)"),
              (status = 401, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read_tiers(
    State(state): State<AppState>,
    Agency(agency): Agency,
) -> ApiResult<axum::Json<SlaConfigBody>> {
    let config = state.engine.sla_config(agency).await?;
    Ok(axum::Json(SlaConfigBody::from_config(&config)))
}

#[utoipa::path(put, path = "/v1/agency/sla-tiers", tag = "sla", request_body = SlaConfigBody,
    responses((status = 200, body = SlaConfigBody, description = "The tiers replaced; orders already posted keep the tier and target they took"),
              (status = 401, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "A tier left out is still held by a client"),
              (status = 422, body = super::error::Problem, description = "Bad names, targets, effects, default tier or lead")),
    security(("agency" = [])))]
async fn set_tiers(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Body(body): Body<SlaConfigBody>,
) -> ApiResult<axum::Json<SlaConfigBody>> {
    let config = state.engine.set_sla_config(agency, &body).await?;
    Ok(axum::Json(SlaConfigBody::from_config(&config)))
}

#[utoipa::path(get, path = "/v1/clients", tag = "sla", params(ClientListParams),
    responses((status = 200, body = ClientPage, description = "The agency's clients (given a tier, or named by an order) with their tiers, by client_ref"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list_clients(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<ClientListParams>,
) -> ApiResult<axum::Json<ClientPage>> {
    let mut errors = Vec::new();
    let limit = pagination::limit(p.limit)
        .map_err(|e| errors.push(e))
        .unwrap_or(pagination::DEFAULT_LIMIT);
    let after = cursor_after(p.cursor.as_deref())
        .map_err(|e| errors.push(e))
        .unwrap_or_default();
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let mut clients = state.engine.list_clients(agency, &after, limit + 1).await?;
    let next_cursor = if clients.len() as i64 > limit {
        clients.truncate(limit as usize);
        clients
            .last()
            .map(|c| URL_SAFE_NO_PAD.encode(format!("client:{}", c.client_ref)))
    } else {
        None
    };
    Ok(axum::Json(ClientPage {
        items: clients.into_iter().map(client_view).collect(),
        next_cursor,
    }))
}

#[utoipa::path(get, path = "/v1/clients/{client_ref}", tag = "sla", params(("client_ref" = String, Path)),
    responses((status = 200, body = ClientView, description = "The client's tier (any client_ref is a client: one without a tier of its own has the default)"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem, description = "A blank client_ref")),
    security(("agency" = [])))]
async fn read_client(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(client_ref): Path<String>,
) -> ApiResult<axum::Json<ClientView>> {
    let c = state.engine.client_tier(agency, &client_ref).await?;
    Ok(axum::Json(client_view(c)))
}

#[utoipa::path(put, path = "/v1/clients/{client_ref}", tag = "sla", params(("client_ref" = String, Path)),
    request_body = ClientBody,
    responses((status = 200, body = ClientView, description = "The client's tier set; its orders posted from now on take it"),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "Not one of the agency's tiers, or a blank client_ref")),
    security(("agency" = [])))]
async fn set_client(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(client_ref): Path<String>,
    Body(body): Body<ClientBody>,
) -> ApiResult<axum::Json<ClientView>> {
    let c = state
        .engine
        .set_client_tier(agency, &client_ref, body.tier.as_deref())
        .await?;
    Ok(axum::Json(client_view(c)))
}

#[utoipa::path(get, path = "/v1/reports/sla", tag = "sla", params(ReportParams),
    responses((status = 200, body = SlaReportView, description = "Per client and tier, and per tier: orders, the share staffed within target, median and p95 time to fill, fill rate at start, no-shows, replacements"),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "A missing or bad bound, or `to` not after `from`, or a period over 366 days")),
    security(("agency" = [])))]
async fn report(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<ReportParams>,
) -> ApiResult<axum::Json<SlaReportView>> {
    let mut errors = Vec::new();
    let from = period_bound("from", p.from.as_deref(), false, &mut errors);
    let to = period_bound("to", p.to.as_deref(), true, &mut errors);
    if let (Some(f), Some(t)) = (from, to) {
        if t <= f {
            errors.push(FieldError::new("to", "must be after from"));
        } else if t - f > chrono::Duration::days(366) {
            errors.push(FieldError::new(
                "to",
                "the period may span at most 366 days",
            ));
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(errors.into());
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let r = state.engine.sla_report(agency, from, to).await?;
    Ok(axum::Json(SlaReportView::of(from, to, &r)))
}
