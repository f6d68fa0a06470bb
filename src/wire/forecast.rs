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
    /// Hour of the week, 0 (Monday 00:00 UTC) to 167.
    pub hour_of_week: u32,
    /// Mean slots wanted at this hour of the week over the weeks seen.
    pub seasonal_mean: f64,
    /// Slots expected to be wanted: the seasonal mean times the trend.
    pub forecast: f64,
}
