//! The simulated agency's demand forecast: the eight weeks before the simulated one are generated with the same
//! order generator (seeds derived from the run's), the forecast model (`dispatch::forecast`) is fitted on them
//! as of the simulated week's start, and the week's actual orders judge it: per area × role × hour, the mean
//! absolute error and the weighted absolute percentage error of slots, and the slot-hours forecast against
//! those wanted.
//!
//! The history is not posted through the engine: the forecast is fitted on the generated orders directly, and
//! the simulation hands the engine the peaks it finds when it reserves on-call workers
//! (`Engine::invite_for_peaks`), since the engine's own database starts empty.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::{OrderSpec, Place};
use crate::dispatch::forecast::{self, ForecastError, Model, Series, WEEK_MS};
use crate::domain::time::resolve_local;
use crate::domain::{AgencyId, Role};
use crate::engine::{PeakNeed, demand_of};

/// Salt of the history's seeds.
const SALT_HISTORY: u64 = 0x4157_0f0e;

/// The fitted forecast of a simulated week and how it fared.
#[derive(Debug, Clone)]
pub struct SimForecast {
    /// The instant the forecast is made at: local Monday 00:00 of the simulated week.
    pub as_of: DateTime<Utc>,
    /// The fitted series.
    pub series: Vec<Series>,
    /// Each area × role's requirements, from its most recent historical order.
    pub roles: BTreeMap<(u64, String), Role>,
    /// The forecast against the week's actual orders, over the week `[as_of, as_of + 7 days)`.
    pub error: ForecastError,
    /// Historical orders generated.
    pub history_orders: usize,
}

/// The seed of the history week `k` weeks before the simulated one (1 to 8).
pub fn history_seed(seed: u64, k: u64) -> u64 {
    let mut s = seed ^ SALT_HISTORY ^ k.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    super::rng::splitmix64(&mut s)
}

/// Generates the history of `week` (the simulated week's orders, of `n` orders starting on `week_start`'s local
/// date), fits the model and judges it against the week.
pub fn fit(
    place: &impl Place,
    n: usize,
    seed: u64,
    agency: AgencyId,
    week_start: DateTime<Utc>,
    week: &[OrderSpec],
) -> SimForecast {
    let tz = week.first().map_or(chrono_tz::UTC, |s| s.tz);
    // The agency's hours of the week are the city's.
    let model = Model {
        tz,
        ..Model::default()
    };
    let monday = week_start.with_timezone(&tz).date_naive();
    let as_of = resolve_local(tz, monday.and_hms_opt(0, 0, 0).expect("midnight"));
    let mut history = Vec::new();
    for k in 1..=u64::from(model.weeks) {
        let start = week_start - Duration::weeks(k as i64);
        history.extend(
            super::orders(place, n, history_seed(seed, k), agency, start)
                .into_iter()
                .map(|s| s.order),
        );
    }
    let (demand, roles) = demand_of(&history);
    let as_of_ms = as_of.timestamp_millis();
    let series = forecast::fit(&model, as_of_ms, &demand);
    let end = as_of_ms + WEEK_MS;
    let actual_orders: Vec<_> = week.iter().map(|s| s.order.clone()).collect();
    let (actual, _) = demand_of(&actual_orders);
    let error = forecast::forecast_error(
        &forecast::hourly_forecast(&series, as_of_ms, end),
        &forecast::hourly_demand(&actual, as_of_ms, end),
    );
    SimForecast {
        as_of,
        series,
        roles,
        error,
        history_orders: history.len(),
    }
}

impl SimForecast {
    /// The peaks of `[from, to)` at `threshold` slots, each with its role's requirements.
    pub fn peaks(&self, from: DateTime<Utc>, to: DateTime<Utc>, threshold: f64) -> Vec<PeakNeed> {
        forecast::peaks(
            &self.series,
            from.timestamp_millis(),
            to.timestamp_millis(),
            threshold,
        )
        .into_iter()
        .filter_map(|p| {
            let role = self.roles.get(&(p.area, p.role.clone()))?;
            Some(PeakNeed::new(p, role))
        })
        .collect()
    }

    /// One line for the KPI printout.
    pub fn line(&self) -> String {
        let e = &self.error;
        format!(
            "forecast error (area x role x hour, {} cells, {} history orders): MAE {:.2} slots, WAPE {:.1}%, \
             slot-hours forecast {:.0} vs actual {:.0}\n",
            e.cells,
            self.history_orders,
            e.mae,
            e.wape * 100.0,
            e.forecast_slot_hours,
            e.actual_slot_hours
        )
    }

    /// The figures as JSON.
    pub fn to_json(&self) -> Value {
        let e = &self.error;
        json!({
            "as_of": crate::domain::time::format_instant(self.as_of),
            "history_orders": self.history_orders,
            "cells": e.cells,
            "mae_slots": e.mae,
            "wape": if e.wape.is_finite() { json!(e.wape) } else { Value::Null },
            "forecast_slot_hours": e.forecast_slot_hours,
            "actual_slot_hours": e.actual_slot_hours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::City;
    use crate::sim::workers::default_week_start;

    #[test]
    fn the_history_is_a_function_of_the_seed_and_the_forecast_is_judged_on_the_week() {
        let city = City::metropolis(3);
        let ws = default_week_start();
        let week = crate::sim::orders(&city, 40, 3, AgencyId::new(1), ws);
        let a = fit(&city, 40, 3, AgencyId::new(1), ws, &week);
        let b = fit(&city, 40, 3, AgencyId::new(1), ws, &week);
        assert_eq!(a.history_orders, 320);
        assert_eq!(a.error, b.error);
        assert!(a.error.actual_slot_hours > 0.0);
        assert!(a.error.forecast_slot_hours > 0.0);
        assert_ne!(history_seed(3, 1), history_seed(3, 2));
    }
}
