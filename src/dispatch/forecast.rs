//! Demand forecast: from an agency's past orders, the slots it will want per area × role × hour of the week.
//!
//! Pure: no I/O, no clock; the caller passes the history and the instant the forecast is made at.
//!
//! ## The model
//!
//! - **Demand** of a series (one area, one role) in one hour is the number of slots wanted in it: the sum,
//!   over the orders whose shift overlaps the hour, of the role's headcount times the share of the hour the
//!   shift covers (a shift 18:30–22:00 with 4 bartenders counts 2 slots at 18:00 and 4 at 19:00, 20:00, 21:00).
//!   Summed over hours it is slot-hours.
//! - **History**: the last [`Model::weeks`] weeks before `as_of` (the start of the hour the forecast is made
//!   in), cut into weeks counted back from it, so every hour of the week appears exactly once per week. A
//!   series' **weeks seen** run from the most recent week back to the oldest week with any demand in it (a role
//!   new to an area last week has 1 week seen, not 7 empty weeks averaged in).
//! - **Seasonal mean** at an hour of the week (0 is Monday 00:00–01:00, 167 Sunday 23:00–24:00, in
//!   [`Model::tz`], the agency's timezone; UTC by default): the mean demand at that hour over the weeks seen (per
//!   occurrence of the hour, which around a daylight-saving change occurs once more or less).
//! - **Trend**: the mean weekly slot-hours of the last [`Model::trend_weeks`] weeks over the mean weekly
//!   slot-hours of the earlier weeks seen, bounded to [`Model::trend_min`]–[`Model::trend_max`]; 1 when there
//!   are no earlier weeks seen.
//! - **Forecast** at an hour: the seasonal mean at its hour of the week times the trend.

use std::collections::BTreeMap;

/// One hour, in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One week, in milliseconds.
pub const WEEK_MS: i64 = 168 * HOUR_MS;
/// Hours in a week.
pub const WEEK_HOURS: usize = 168;

/// The model's parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// Weeks of history looked at.
    pub weeks: u32,
    /// The most recent weeks compared with the earlier ones for the trend.
    pub trend_weeks: u32,
    /// Lower bound of the trend factor.
    pub trend_min: f64,
    /// Upper bound of the trend factor.
    pub trend_max: f64,
    /// The timezone whose hours of the week the seasonal mean is taken by (the agency's), so a local Friday
    /// evening stays one hour of the week across a daylight-saving change.
    pub tz: chrono_tz::Tz,
}

impl Default for Model {
    fn default() -> Self {
        Self {
            weeks: 8,
            trend_weeks: 2,
            trend_min: 0.5,
            trend_max: 2.0,
            tz: chrono_tz::UTC,
        }
    }
}

/// One role of one past order: the demand it made.
#[derive(Debug, Clone, PartialEq)]
pub struct Demand {
    /// The area (an H3 cell index).
    pub area: u64,
    /// The role's name.
    pub role: String,
    /// Shift start, unix ms.
    pub start_ms: i64,
    /// Shift end, unix ms.
    pub end_ms: i64,
    /// Slots wanted.
    pub headcount: u32,
}

/// The fitted history of one area × role.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The area.
    pub area: u64,
    /// The role.
    pub role: String,
    /// Weeks the seasonal mean is taken over (1 to [`Model::weeks`]).
    pub weeks_seen: u32,
    /// Mean weekly slot-hours of the last [`Model::trend_weeks`] weeks (of the weeks seen, if fewer).
    pub recent_weekly: f64,
    /// Mean weekly slot-hours of the earlier weeks seen (0 when there are none).
    pub earlier_weekly: f64,
    /// The bounded trend factor.
    pub trend: f64,
    /// Mean slots wanted at each hour of the week (in [`Model::tz`]), over the weeks seen.
    pub seasonal: Vec<f64>,
    /// The timezone of the hours of the week.
    pub tz: chrono_tz::Tz,
}

impl Series {
    /// The forecast slots wanted in the hour starting at `hour_ms`.
    pub fn forecast(&self, hour_ms: i64) -> f64 {
        self.seasonal[hour_of_week_in(hour_ms, self.tz)] * self.trend
    }
}

/// The hour of the week of an instant: 0 for Monday 00:00–01:00 UTC, up to 167 (the Unix epoch was a Thursday).
pub fn hour_of_week(ms: i64) -> usize {
    ((ms.div_euclid(HOUR_MS) + 72).rem_euclid(WEEK_HOURS as i64)) as usize
}

/// The hour of the week of an instant in `tz`: 0 for Monday 00:00–01:00 local time, up to 167. In UTC it is
/// [`hour_of_week`]. Across a daylight-saving change a local hour of the week occurs twice (autumn) or not at all
/// (spring) in that week.
pub fn hour_of_week_in(ms: i64, tz: chrono_tz::Tz) -> usize {
    use chrono::{Datelike, TimeZone, Timelike};
    if tz == chrono_tz::UTC {
        return hour_of_week(ms);
    }
    let Some(t) = chrono::Utc.timestamp_millis_opt(ms).single() else {
        return hour_of_week(ms);
    };
    let local = t.with_timezone(&tz);
    local.weekday().num_days_from_monday() as usize * 24 + local.hour() as usize
}

/// The start of the hour holding `ms`.
pub fn hour_floor(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// Fits every area × role seen in `history` over the `model.weeks` weeks before `as_of_ms` (floored to the hour),
/// in (area, role) order. Demand outside those weeks is ignored; a series without demand in them is left out.
pub fn fit(model: &Model, as_of_ms: i64, history: &[Demand]) -> Vec<Series> {
    let weeks = model.weeks.max(1) as usize;
    let now = hour_floor(as_of_ms);
    let window_start = now - weeks as i64 * WEEK_MS;
    // Per series, slots wanted in each hour of the window, oldest first.
    let mut grid: BTreeMap<(u64, &str), Vec<f64>> = BTreeMap::new();
    for d in history {
        let start = d.start_ms.max(window_start);
        let end = d.end_ms.min(now);
        if start >= end || d.headcount == 0 {
            continue;
        }
        let hours = grid
            .entry((d.area, d.role.as_str()))
            .or_insert_with(|| vec![0.0; weeks * WEEK_HOURS]);
        let mut h = hour_floor(start);
        while h < end {
            let covered = (h + HOUR_MS).min(end) - h.max(start);
            let slot = ((h - window_start) / HOUR_MS) as usize;
            hours[slot] += f64::from(d.headcount) * covered as f64 / HOUR_MS as f64;
            h += HOUR_MS;
        }
    }
    grid.into_iter()
        .filter_map(|((area, role), hours)| series(model, weeks, window_start, area, role, &hours))
        .collect()
}

fn series(
    model: &Model,
    weeks: usize,
    window_start: i64,
    area: u64,
    role: &str,
    hours: &[f64],
) -> Option<Series> {
    // Week 0 is the most recent.
    let week = |k: usize| {
        let first = (weeks - 1 - k) * WEEK_HOURS;
        &hours[first..first + WEEK_HOURS]
    };
    let total = |k: usize| week(k).iter().sum::<f64>();
    let oldest = (0..weeks).rev().find(|&k| total(k) > 0.0)?;
    let seen = oldest + 1;
    // The mean per occurrence of each hour of the week: `seen` times each in UTC; once more or less around a
    // daylight-saving change in a local timezone.
    let mut seasonal = vec![0.0; WEEK_HOURS];
    let mut occurrences = vec![0u32; WEEK_HOURS];
    for k in 0..seen {
        let first = window_start + (weeks - 1 - k) as i64 * WEEK_MS;
        for (i, v) in week(k).iter().enumerate() {
            let how = hour_of_week_in(first + i as i64 * HOUR_MS, model.tz);
            seasonal[how] += v;
            occurrences[how] += 1;
        }
    }
    for (v, n) in seasonal.iter_mut().zip(&occurrences) {
        if *n > 0 {
            *v /= f64::from(*n);
        }
    }
    let recent_n = (model.trend_weeks.max(1) as usize).min(seen);
    let recent_weekly = (0..recent_n).map(total).sum::<f64>() / recent_n as f64;
    let (earlier_weekly, trend) = if seen > recent_n {
        let earlier = (recent_n..seen).map(total).sum::<f64>() / (seen - recent_n) as f64;
        // `earlier` is positive: the oldest week seen has demand.
        let ratio = recent_weekly / earlier;
        (earlier, ratio.clamp(model.trend_min, model.trend_max))
    } else {
        (0.0, 1.0)
    };
    Some(Series {
        area,
        role: role.to_string(),
        weeks_seen: seen as u32,
        recent_weekly,
        earlier_weekly,
        trend,
        seasonal,
        tz: model.tz,
    })
}

/// A peak of one series: consecutive hours whose forecast reaches a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Peak {
    /// The area (an H3 cell index).
    pub area: u64,
    /// The role's name.
    pub role: String,
    /// Start of the first hour, unix ms.
    pub start_ms: i64,
    /// End of the last hour, unix ms.
    pub end_ms: i64,
    /// The highest hourly forecast in the window: the slots expected at the busiest hour.
    pub max_slots: f64,
    /// The forecast summed over the window's hours.
    pub slot_hours: f64,
}

/// The peaks of `series` over the hours starting in `[from_ms, to_ms)` (`from_ms` floored to the hour): the
/// hours whose forecast is at least `threshold`, adjacent hours of one series merged into one window. In
/// series order (area, role), then time.
pub fn peaks(series: &[Series], from_ms: i64, to_ms: i64, threshold: f64) -> Vec<Peak> {
    let first = hour_floor(from_ms);
    let mut out = Vec::new();
    for s in series {
        let mut open: Option<Peak> = None;
        let mut h = first;
        while h < to_ms {
            let f = s.forecast(h);
            if f >= threshold && f > 0.0 {
                match &mut open {
                    Some(p) => {
                        p.end_ms = h + HOUR_MS;
                        p.max_slots = p.max_slots.max(f);
                        p.slot_hours += f;
                    }
                    None => {
                        open = Some(Peak {
                            area: s.area,
                            role: s.role.clone(),
                            start_ms: h,
                            end_ms: h + HOUR_MS,
                            max_slots: f,
                            slot_hours: f,
                        })
                    }
                }
            } else if let Some(p) = open.take() {
                out.push(p);
            }
            h += HOUR_MS;
        }
        out.extend(open);
    }
    out
}

/// Slots wanted per (area, role, hour start) in `[from_ms, to_ms)`, as [`fit`] counts them (a shift covering
/// part of an hour counts its share). The actual demand a forecast is judged against.
pub fn hourly_demand(
    history: &[Demand],
    from_ms: i64,
    to_ms: i64,
) -> BTreeMap<(u64, String, i64), f64> {
    let mut out: BTreeMap<(u64, String, i64), f64> = BTreeMap::new();
    for d in history {
        let start = d.start_ms.max(from_ms);
        let end = d.end_ms.min(to_ms);
        if start >= end || d.headcount == 0 {
            continue;
        }
        let mut h = hour_floor(start);
        while h < end {
            let covered = (h + HOUR_MS).min(end) - h.max(start);
            *out.entry((d.area, d.role.clone(), h)).or_default() +=
                f64::from(d.headcount) * covered as f64 / HOUR_MS as f64;
            h += HOUR_MS;
        }
    }
    out
}

/// How far a forecast was from what happened, over area × role × hour cells.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ForecastError {
    /// Cells compared: every (area, role, hour) with a positive forecast or positive actual demand.
    pub cells: usize,
    /// Slot-hours forecast, summed over the range.
    pub forecast_slot_hours: f64,
    /// Slot-hours actually wanted, summed over the range.
    pub actual_slot_hours: f64,
    /// Mean absolute error per cell, in slots.
    pub mae: f64,
    /// Weighted absolute percentage error: the sum of absolute errors over the sum of actual slot-hours (0
    /// when nothing was wanted and nothing forecast; infinite when something was forecast and nothing wanted).
    pub wape: f64,
}

/// Compares a forecast with actual demand cell by cell (see [`hourly_demand`] for both maps' keys). Cells
/// absent from one side count as 0 there; cells zero on both sides are not counted, so the MAE is per cell where
/// something was expected or happened.
pub fn forecast_error(
    forecast: &BTreeMap<(u64, String, i64), f64>,
    actual: &BTreeMap<(u64, String, i64), f64>,
) -> ForecastError {
    let mut e = ForecastError::default();
    let mut abs = 0.0;
    let keys: std::collections::BTreeSet<&(u64, String, i64)> =
        forecast.keys().chain(actual.keys()).collect();
    for k in keys {
        let f = forecast.get(k).copied().unwrap_or(0.0);
        let a = actual.get(k).copied().unwrap_or(0.0);
        if f == 0.0 && a == 0.0 {
            continue;
        }
        e.cells += 1;
        e.forecast_slot_hours += f;
        e.actual_slot_hours += a;
        abs += (f - a).abs();
    }
    if e.cells > 0 {
        e.mae = abs / e.cells as f64;
    }
    e.wape = if e.actual_slot_hours > 0.0 {
        abs / e.actual_slot_hours
    } else if abs > 0.0 {
        f64::INFINITY
    } else {
        0.0
    };
    e
}

/// The forecast of every series for every hour starting in `[from_ms, to_ms)`, keyed as [`hourly_demand`]
/// (only positive figures).
pub fn hourly_forecast(
    series: &[Series],
    from_ms: i64,
    to_ms: i64,
) -> BTreeMap<(u64, String, i64), f64> {
    let mut out = BTreeMap::new();
    for s in series {
        let mut h = hour_floor(from_ms);
        while h < to_ms {
            let f = s.forecast(h);
            if f > 0.0 {
                out.insert((s.area, s.role.clone(), h), f);
            }
            h += HOUR_MS;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(y: i32, m: u32, d: u32, h: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .unwrap()
            .timestamp_millis()
    }

    fn demand(area: u64, role: &str, start: i64, hours: i64, headcount: u32) -> Demand {
        Demand {
            area,
            role: role.into(),
            start_ms: start,
            end_ms: start + hours * HOUR_MS,
            headcount,
        }
    }

    #[test]
    fn hours_of_the_week_start_on_monday_midnight_utc() {
        // 2026-11-23 is a Monday.
        assert_eq!(hour_of_week(at(2026, 11, 23, 0)), 0);
        assert_eq!(hour_of_week(at(2026, 11, 23, 0) - 1), 167);
        assert_eq!(hour_of_week(at(2026, 11, 27, 18)), 4 * 24 + 18);
        assert_eq!(hour_of_week(at(1970, 1, 1, 0)), 72);
    }

    #[test]
    fn a_weekly_pattern_with_a_rising_trend_is_recovered() {
        // Eight weeks of history before Monday 2026-11-30 00:00 UTC. Every Friday 18:00–22:00 the area wants
        // bartenders (4 in the six older weeks, 6 in the last two); every Saturday 10:00–12:00, 2 cooks in
        // another area, steadily. Another role in the first area only the last week.
        let as_of = at(2026, 11, 30, 0) + 25 * 60_000; // 00:25, floored to the hour
        let mut history = Vec::new();
        for k in 1..=8i64 {
            let friday = at(2026, 11, 27, 18) - (k - 1) * WEEK_MS;
            history.push(demand(
                1,
                "bartender",
                friday,
                4,
                if k <= 2 { 6 } else { 4 },
            ));
            let saturday = at(2026, 11, 28, 10) - (k - 1) * WEEK_MS;
            history.push(demand(2, "cook", saturday, 2, 2));
        }
        history.push(demand(1, "runner", at(2026, 11, 25, 9), 3, 5));
        // Outside the window: ignored.
        history.push(demand(
            1,
            "bartender",
            at(2026, 11, 27, 18) - 9 * WEEK_MS,
            4,
            40,
        ));
        history.push(demand(1, "bartender", at(2026, 11, 30, 1), 4, 40));
        let series = fit(&Model::default(), as_of, &history);
        assert_eq!(series.len(), 3);

        let bar = &series[0];
        assert_eq!((bar.area, bar.role.as_str()), (1, "bartender"));
        assert_eq!(bar.weeks_seen, 8);
        assert_eq!(bar.recent_weekly, 24.0);
        assert_eq!(bar.earlier_weekly, 16.0);
        assert_eq!(bar.trend, 1.5);
        for h in 0..WEEK_HOURS {
            let want = if (4 * 24 + 18..4 * 24 + 22).contains(&h) {
                4.5
            } else {
                0.0
            };
            assert_eq!(bar.seasonal[h], want, "hour of week {h}");
        }
        // Next Friday 19:00: (2·6 + 6·4)/8 × 1.5.
        assert_eq!(bar.forecast(at(2026, 12, 4, 19)), 6.75);
        assert_eq!(bar.forecast(at(2026, 12, 4, 22)), 0.0);

        let runner = &series[1];
        assert_eq!((runner.role.as_str(), runner.weeks_seen), ("runner", 1));
        assert_eq!((runner.recent_weekly, runner.trend), (15.0, 1.0));
        assert_eq!(runner.forecast(at(2026, 12, 2, 10)), 5.0);

        let cook = &series[2];
        assert_eq!((cook.area, cook.weeks_seen, cook.trend), (2, 8, 1.0));
        assert_eq!(cook.forecast(at(2026, 12, 5, 11)), 2.0);
    }

    #[test]
    fn partial_hours_count_their_share_and_the_trend_is_bounded() {
        let as_of = at(2026, 11, 30, 0);
        // A collapse: 10 slots 18:30–20:00 four weeks ago, 1 slot the last two weeks.
        let history = vec![
            Demand {
                area: 7,
                role: "host".into(),
                start_ms: at(2026, 11, 6, 18) + 30 * 60_000,
                end_ms: at(2026, 11, 6, 20),
                headcount: 10,
            },
            demand(7, "host", at(2026, 11, 20, 18), 1, 1),
            demand(7, "host", at(2026, 11, 27, 18), 1, 1),
        ];
        let s = &fit(&Model::default(), as_of, &history)[0];
        assert_eq!(s.weeks_seen, 4);
        assert_eq!(s.recent_weekly, 1.0);
        assert_eq!(s.earlier_weekly, 7.5);
        assert_eq!(s.trend, 0.5);
        assert_eq!(s.seasonal[4 * 24 + 18], (5.0 + 1.0 + 1.0) / 4.0);
        assert_eq!(s.seasonal[4 * 24 + 19], 10.0 / 4.0);
    }

    fn flat(area: u64, role: &str, values: &[(usize, f64)]) -> Series {
        let mut seasonal = vec![0.0; WEEK_HOURS];
        for (h, v) in values {
            seasonal[*h] = *v;
        }
        Series {
            area,
            role: role.into(),
            weeks_seen: 8,
            recent_weekly: 0.0,
            earlier_weekly: 0.0,
            trend: 1.0,
            seasonal,
            tz: chrono_tz::UTC,
        }
    }

    #[test]
    fn in_a_local_timezone_an_evening_keeps_its_hour_of_the_week_across_daylight_saving() {
        // Berlin leaves summer time on Sunday 2026-10-25. Every Friday 19:00–20:00 Berlin time, 4 slots: 17:00
        // UTC before the change, 18:00 UTC after.
        let berlin = chrono_tz::Europe::Berlin;
        let fridays = [
            "2026-10-09",
            "2026-10-16",
            "2026-10-23",
            "2026-10-30",
            "2026-11-06",
        ];
        let history: Vec<Demand> = fridays
            .iter()
            .map(|d| {
                let local = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .unwrap()
                    .and_hms_opt(19, 0, 0)
                    .unwrap();
                let start = crate::domain::time::resolve_local(berlin, local).timestamp_millis();
                demand(1, "host", start, 1, 4)
            })
            .collect();
        let as_of = at(2026, 11, 9, 0);
        let local = Model {
            tz: berlin,
            ..Model::default()
        };
        let s = &fit(&local, as_of, &history)[0];
        assert_eq!(s.weeks_seen, 5);
        assert_eq!(hour_of_week_in(at(2026, 11, 13, 18), berlin), 4 * 24 + 19);
        assert_eq!(s.seasonal[4 * 24 + 19], 4.0);
        assert_eq!(s.forecast(at(2026, 11, 13, 18)), 4.0);
        // By UTC hours the same history splits over two hours of the week.
        let s = &fit(&Model::default(), as_of, &history)[0];
        assert_eq!(s.seasonal[4 * 24 + 17], 4.0 * 3.0 / 5.0);
        assert_eq!(s.forecast(at(2026, 11, 13, 18)), 4.0 * 2.0 / 5.0);
    }

    #[test]
    fn peaks_merge_adjacent_hours_at_or_above_the_threshold() {
        // Monday 2026-11-30: hours 8, 9, 10 at 3, 5, 4 slots, hour 11 at 2.9, hours 12–13 at 3 again; another
        // role in the same area never reaches 3.
        let monday = at(2026, 11, 30, 0);
        let bar = flat(
            1,
            "bartender",
            &[
                (8, 3.0),
                (9, 5.0),
                (10, 4.0),
                (11, 2.9),
                (12, 3.0),
                (13, 3.0),
            ],
        );
        let cook = flat(1, "cook", &[(9, 2.0)]);
        let got = peaks(&[bar, cook], monday, monday + 24 * HOUR_MS, 3.0);
        assert_eq!(
            got,
            vec![
                Peak {
                    area: 1,
                    role: "bartender".into(),
                    start_ms: at(2026, 11, 30, 8),
                    end_ms: at(2026, 11, 30, 11),
                    max_slots: 5.0,
                    slot_hours: 12.0,
                },
                Peak {
                    area: 1,
                    role: "bartender".into(),
                    start_ms: at(2026, 11, 30, 12),
                    end_ms: at(2026, 11, 30, 14),
                    max_slots: 3.0,
                    slot_hours: 6.0,
                },
            ]
        );
        // A range that cuts a peak keeps the part inside; the trend scales the threshold's test.
        let mut rising = flat(2, "guard", &[(9, 2.0), (10, 2.0)]);
        rising.trend = 1.5;
        let got = peaks(
            &[rising],
            at(2026, 11, 30, 10) + 60_000,
            at(2026, 12, 1, 0),
            3.0,
        );
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].start_ms, got[0].end_ms, got[0].max_slots),
            (at(2026, 11, 30, 10), at(2026, 11, 30, 11), 3.0)
        );
    }

    #[test]
    fn forecast_error_is_mae_and_wape_over_the_cells_with_demand_or_forecast() {
        let h = at(2026, 11, 30, 9);
        let key = |area: u64, role: &str, k: i64| (area, role.to_string(), h + k * HOUR_MS);
        // Forecast 4, 2, 0 (absent), 1; actual 5, 2, 3, 0 (absent). Errors 1, 0, 3, 1: MAE 5/4, WAPE 5/10.
        let forecast = BTreeMap::from([
            (key(1, "cook", 0), 4.0),
            (key(1, "cook", 1), 2.0),
            (key(2, "cook", 0), 1.0),
            (key(3, "cook", 0), 0.0),
        ]);
        let actual = BTreeMap::from([
            (key(1, "cook", 0), 5.0),
            (key(1, "cook", 1), 2.0),
            (key(1, "waiter", 0), 3.0),
        ]);
        let e = forecast_error(&forecast, &actual);
        assert_eq!(e.cells, 4);
        assert_eq!(e.forecast_slot_hours, 7.0);
        assert_eq!(e.actual_slot_hours, 10.0);
        assert_eq!(e.mae, 1.25);
        assert_eq!(e.wape, 0.5);
        assert_eq!(
            forecast_error(&BTreeMap::new(), &BTreeMap::new()),
            ForecastError::default()
        );
    }

    #[test]
    fn hourly_demand_counts_shares_of_hours_as_the_fit_does() {
        let d = vec![Demand {
            area: 7,
            role: "host".into(),
            start_ms: at(2026, 11, 30, 18) + 30 * 60_000,
            end_ms: at(2026, 11, 30, 20),
            headcount: 4,
        }];
        let got = hourly_demand(&d, at(2026, 11, 30, 0), at(2026, 12, 1, 0));
        assert_eq!(
            got,
            BTreeMap::from([
                ((7, "host".to_string(), at(2026, 11, 30, 18)), 2.0),
                ((7, "host".to_string(), at(2026, 11, 30, 19)), 4.0),
            ])
        );
    }
}
