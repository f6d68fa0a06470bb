//! The JSON shape of the demand forecast (`GET /v1/forecast`).

use serde::Serialize;

/// The demand forecast of an agency for a range of hours.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastView {
    /// The start of the hour the forecast is made in: its history is the weeks before it.
    pub as_of: String,
    /// First hour forecast (the given `from`, floored to the hour).
    pub from: String,
    /// End of the range (exclusive).
    pub to: String,
    /// The model and its parameters.
    pub model: ForecastModel,
    /// One entry per area × role with demand in the history and a positive forecast in the range, by area
    /// cell then role.
    pub series: Vec<ForecastSeries>,
}

/// The model's parameters, as used.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastModel {
    /// H3 resolution of the areas (7: cells of about 5 km², edges of about 1.2 km).
    pub h3_resolution: u8,
    /// Weeks of history looked at.
    pub weeks: u32,
    /// The recent weeks compared with the earlier ones for the trend.
    pub trend_weeks: u32,
    /// Lower bound of the trend factor.
    pub trend_min: f64,
    /// Upper bound of the trend factor.
    pub trend_max: f64,
    /// The IANA timezone the hours of the week are counted in: the agency's (`PATCH /v1/agency/settings`
    /// `timezone`), UTC unless set.
    pub timezone: String,
}

/// An area: an H3 cell.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastArea {
    /// The H3 cell index, in hexadecimal (`872a1072bffffff`).
    pub cell: String,
    /// Latitude of the cell's centre.
    pub lat: f64,
    /// Longitude of the cell's centre.
    pub lon: f64,
}

/// The forecast of one role in one area, with the history it rests on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastSeries {
    /// The area.
    pub area: ForecastArea,
    /// The role's name, as the orders give it.
    pub role: String,
    /// Weeks of history the seasonal mean is taken over: from the last week back to the oldest with demand.
    pub weeks_seen: u32,
    /// Mean weekly slot-hours of the recent weeks.
    pub recent_weekly_slot_hours: f64,
    /// Mean weekly slot-hours of the earlier weeks seen (0 when there are none).
    pub earlier_weekly_slot_hours: f64,
    /// The trend factor: recent over earlier, bounded; 1 without earlier weeks.
    pub trend: f64,
    /// The hours of the range with a positive forecast, in time order.
    pub hours: Vec<ForecastHour>,
}

/// One hour of a series.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastHour {
    /// Start of the hour (RFC 3339, UTC).
    pub start: String,
    /// Hour of the week, 0 (Monday 00:00) to 167, in the model's `timezone`.
    pub hour_of_week: u32,
    /// Mean slots wanted at this hour of the week over the weeks seen.
    pub seasonal_mean: f64,
    /// Slots expected to be wanted: the seasonal mean times the trend.
    pub forecast: f64,
}

/// `POST /v1/on-call/invites`: invite on-call workers ahead of the forecast's peaks.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitesBody {
    /// First hour looked at (RFC 3339 with an offset, floored to the hour); not before the current hour.
    /// Default: the current hour.
    #[serde(default)]
    pub from: Option<String>,
    /// End of the range (exclusive), at most 14 days from now. Default: 36 hours after `from`.
    #[serde(default)]
    pub to: Option<String>,
    /// A peak is an hour (or a run of adjacent hours) of one area × role whose forecast is at least this many
    /// slots. Default 3.
    #[serde(default)]
    pub min_expected: Option<f64>,
    /// Workers invited per peak: this share of the peak's busiest-hour forecast, rounded up, at least 1.
    /// Above 0, at most 1. Default 0.1.
    #[serde(default)]
    pub share: Option<f64>,
    /// Hours an invitation stays open (1 to 168); never past the end of its window. Default 12.
    #[serde(default)]
    pub ttl_h: Option<u32>,
    /// How far from the area's centre an invited worker goes at short notice, once on call. Default 5.
    #[serde(default)]
    pub radius_km: Option<f64>,
    /// Hours the on-call window reaches before and after the peak's hours (0 to 12), so it covers the shifts
    /// that make the peak (an urgent offer goes to on-call workers whose window covers the whole shift).
    /// Default 2.
    #[serde(default)]
    pub pad_h: Option<u32>,
}

/// A peak of the forecast: one area × role, a run of adjacent hours each expected to want at least
/// `min_expected` slots.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PeakView {
    /// The area.
    pub area: ForecastArea,
    /// The role, as the orders name it.
    pub role: String,
    /// Start of the first hour (UTC).
    pub start: String,
    /// End of the last hour (UTC).
    pub end: String,
    /// Slots expected at the busiest hour.
    pub max_expected: f64,
    /// Slot-hours expected over the window.
    pub slot_hours: f64,
    /// Workers invited for this peak by this request.
    pub invited: u32,
}

/// An invitation to join the on-call pool for a window.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InviteView {
    /// The invitation.
    pub id: String,
    /// The worker invited.
    pub worker_id: String,
    /// The area of the peak: the on-call window is centred on it.
    pub area: ForecastArea,
    /// How far from the area's centre the worker goes once on call.
    pub radius_km: f64,
    /// The role the peak is of.
    pub role: String,
    /// The on-call window's start (UTC): the peak's first hour less the padding.
    pub start: String,
    /// The on-call window's end (UTC).
    pub end: String,
    /// Slots expected at the peak's busiest hour, when invited.
    pub expected: f64,
    /// `pending`, `accepted`, `declined` or `expired` (pending past `expires_at`, by the server's clock).
    pub status: String,
    /// Made (UTC).
    pub created_at: String,
    /// Until when it may be accepted (UTC).
    pub expires_at: String,
    /// The on-call window an acceptance made (its `id` in `GET /v1/me/on-call`).
    pub on_call_id: Option<String>,
}

/// The answer to `POST /v1/on-call/invites`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvitesAnswer {
    /// The peaks of the range, by area cell, role and time.
    pub peaks: Vec<PeakView>,
    /// The invitations made, in peak order and rank within a peak.
    pub invites: Vec<InviteView>,
}

/// A list of invitations.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InviteList {
    /// The invitations, by window start then id.
    pub items: Vec<InviteView>,
}
