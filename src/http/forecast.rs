//! The agency's demand forecast.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::AppState;
use super::auth::Agency;
use super::error::ApiResult;
use super::query::Query;
use crate::domain::time::parse_instant;
use crate::error::FieldError;
use crate::wire::forecast::ForecastView;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/forecast", get(forecast))
}

/// The range forecast.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// First hour: an RFC 3339 instant (floored to the hour) or a date (`2026-12-01`, from 00:00 UTC); not
    /// before the current hour. Default: the current hour.
    from: Option<String>,
    /// End of the range (exclusive): an RFC 3339 instant or a date (00:00 UTC of that day); after `from` and at
    /// most 14 days from now. Default: 7 days after `from`.
    to: Option<String>,
}

/// An instant or a date (midnight UTC).
fn instant_or_date(
    name: &str,
    raw: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> Option<DateTime<Utc>> {
    let raw = raw?.trim();
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    parse_instant(raw)
        .map_err(|_| {
            errors.push(FieldError::new(
                name,
                "must be an RFC 3339 time with an offset (2026-12-01T09:00:00Z) or a date (2026-12-01)",
            ))
        })
        .ok()
}

#[utoipa::path(get, path = "/v1/forecast", tag = "orders", params(ForecastParams),
    responses((status = 200, body = ForecastView, description = "Slots expected to be wanted per area (H3 cell), role and hour, with the history each figure rests on"),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "A malformed instant, `from` before the current hour, `to` not after `from` or more than 14 days ahead")),
    security(("agency" = [])))]
async fn forecast(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(q): Query<ForecastParams>,
) -> ApiResult<axum::Json<ForecastView>> {
    let mut errors = Vec::new();
    let from = instant_or_date("from", q.from.as_deref(), &mut errors);
    let to = instant_or_date("to", q.to.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok(axum::Json(state.engine.forecast(agency, from, to).await?))
}
