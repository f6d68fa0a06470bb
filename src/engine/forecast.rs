//! The demand forecast of an agency, from its stored orders (see `dispatch::forecast` for the model).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use h3o::{CellIndex, LatLng, Resolution};

use super::orders::parse_row;
use super::{Engine, from_ms, ms};
use crate::dispatch::forecast::{self, Demand, HOUR_MS, Model, WEEK_MS};
use crate::domain::time::format_instant;
use crate::domain::{AgencyId, LatLon, Order, Role};
use crate::error::{Error, FieldError};
use crate::store;
use crate::wire::forecast::{
    ForecastArea, ForecastHour, ForecastModel, ForecastSeries, ForecastView,
};

/// The resolution of the forecast's areas.
pub const AREA_RESOLUTION: Resolution = Resolution::Seven;

/// The furthest ahead a forecast reaches, in days from now.
pub const MAX_DAYS_AHEAD: i64 = 14;

/// Figures are rounded to three decimals.
pub(super) fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Engine {
    /// The agency's demand forecast for the hours from `from` (floored to the hour; default: the current hour)
    /// to `to` (default: 7 days after `from`). `from` may not be before the current hour, `to` must be after
    /// `from` and at most [`MAX_DAYS_AHEAD`] days from now.
    pub async fn forecast(
        &self,
        agency: AgencyId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) -> crate::Result<ForecastView> {
        let model = self.forecast_model(agency).await?;
        let now = self.now();
        let as_of = forecast::hour_floor(ms(now));
        let (from, to) = check_range(now, from, to, chrono::Duration::days(7))?;
        let (history, _) = self.demand_history(agency, &model, as_of).await?;
        let first = forecast::hour_floor(ms(from));
        let end = ms(to);
        let series = forecast::fit(&model, as_of, &history)
            .into_iter()
            .filter_map(|s| {
                let hours: Vec<ForecastHour> = (0..)
                    .map(|i| first + i * HOUR_MS)
                    .take_while(|&h| h < end)
                    .filter_map(|h| {
                        let f = round(s.forecast(h));
                        (f > 0.0).then(|| {
                            let how = forecast::hour_of_week_in(h, model.tz);
                            ForecastHour {
                                start: format_instant(from_ms(h)),
                                hour_of_week: how as u32,
                                seasonal_mean: round(s.seasonal[how]),
                                forecast: f,
                            }
                        })
                    })
                    .collect();
                if hours.is_empty() {
                    return None;
                }
                let (cell, lat, lon) = area_centre(s.area);
                Some(ForecastSeries {
                    area: ForecastArea { cell, lat, lon },
                    role: s.role,
                    weeks_seen: s.weeks_seen,
                    recent_weekly_slot_hours: round(s.recent_weekly),
                    earlier_weekly_slot_hours: round(s.earlier_weekly),
                    trend: round(s.trend),
                    hours,
                })
            })
            .collect();
        Ok(ForecastView {
            as_of: format_instant(from_ms(as_of)),
            from: format_instant(from_ms(first)),
            to: format_instant(to),
            model: ForecastModel {
                h3_resolution: u8::from(AREA_RESOLUTION),
                weeks: model.weeks,
                trend_weeks: model.trend_weeks,
                trend_min: model.trend_min,
                trend_max: model.trend_max,
                timezone: model.tz.name().to_string(),
            },
            series,
        })
    }
}

/// The range of a forecast made at `now`: `from` (default: the current hour) to `to` (default: `len` after
/// `from`). `from` may not be before the current hour, `to` must be after `from` and at most
/// [`MAX_DAYS_AHEAD`] days from now.
pub(super) fn check_range(
    now: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    len: chrono::Duration,
) -> crate::Result<(DateTime<Utc>, DateTime<Utc>)> {
    let as_of = forecast::hour_floor(ms(now));
    let from = from.unwrap_or_else(|| from_ms(as_of));
    // A `from` at the edge of the calendar has no default `to` after it: refused below as `to` not after it.
    let to = to.unwrap_or_else(|| from.checked_add_signed(len).unwrap_or(from));
    let mut errors = Vec::new();
    if ms(from) < as_of {
        errors.push(FieldError::new(
            "from",
            "must not be before the current hour: a forecast is of the hours to come",
        ));
    }
    if to <= from {
        errors.push(FieldError::new("to", "must be after from"));
    }
    if to > now + chrono::Duration::days(MAX_DAYS_AHEAD) {
        errors.push(FieldError::new(
            "to",
            format!("must be at most {MAX_DAYS_AHEAD} days from now"),
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok((from, to))
}

/// The area (H3 cell at [`AREA_RESOLUTION`]) a position falls in.
pub fn area_of(p: LatLon) -> u64 {
    u64::from(
        LatLng::new(p.lat(), p.lon())
            .expect("a checked position is a valid LatLng")
            .to_cell(AREA_RESOLUTION),
    )
}

/// The centre of an area, and its cell in hexadecimal.
pub fn area_centre(area: u64) -> (String, f64, f64) {
    let cell = CellIndex::try_from(area).expect("an area is a cell index");
    let centre = LatLng::from(cell);
    (
        cell.to_string(),
        round_deg(centre.lat()),
        round_deg(centre.lng()),
    )
}

/// The demand of `orders` (each role of each order), and the requirements of each area × role as its most
/// recent order (by start, then id) states them.
pub fn demand_of(orders: &[Order]) -> (Vec<Demand>, BTreeMap<(u64, String), Role>) {
    let mut history = Vec::new();
    let mut roles: BTreeMap<(u64, String), (i64, u64, Role)> = BTreeMap::new();
    for order in orders {
        let area = area_of(order.venue.location);
        let start = ms(order.shift.start());
        for role in &order.roles {
            history.push(Demand {
                area,
                role: role.name.clone(),
                start_ms: start,
                end_ms: ms(order.shift.end()),
                headcount: role.headcount,
            });
            let key = (area, role.name.clone());
            let newer = roles
                .get(&key)
                .is_none_or(|(s, id, _)| (start, order.id.get()) > (*s, *id));
            if newer {
                roles.insert(key, (start, order.id.get(), role.clone()));
            }
        }
    }
    (
        history,
        roles.into_iter().map(|(k, (_, _, r))| (k, r)).collect(),
    )
}

impl Engine {
    /// The forecast model of an agency: the defaults, with the hours of the week in the agency's timezone (its
    /// pay settings' `timezone`, UTC unless set).
    pub(super) async fn forecast_model(&self, agency: AgencyId) -> crate::Result<Model> {
        let (settings, _, _) =
            super::pay::settings_of(self.store.pool(), agency.get() as i64).await?;
        Ok(Model {
            tz: settings.timezone,
            ..Model::default()
        })
    }

    /// The agency's stored orders of the `model.weeks` weeks before `as_of` (not cancelled) as demand, with
    /// each area × role's requirements (see [`demand_of`]).
    pub(super) async fn demand_history(
        &self,
        agency: AgencyId,
        model: &Model,
        as_of: i64,
    ) -> crate::Result<(Vec<Demand>, BTreeMap<(u64, String), Role>)> {
        let since = as_of - i64::from(model.weeks) * WEEK_MS;
        let rows =
            store::orders::demand_history(self.store.pool(), agency.get() as i64, since, as_of)
                .await?;
        let orders = rows
            .iter()
            .map(parse_row)
            .collect::<crate::Result<Vec<_>>>()?;
        Ok(demand_of(&orders))
    }
}

/// A cell centre's coordinate, to 6 decimals (about 0.1 m).
fn round_deg(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
