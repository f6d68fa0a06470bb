//! Time and money: an agency's pay settings, pay weeks, exact amounts in minor units, and the arithmetic of a
//! weekly pay run (overtime above a weekly threshold, a night premium, late-cancellation compensation).
//!
//! Money is never a binary float here: rates and amounts are integers of the currency's minor unit (cents), and
//! every product of a rate and minutes is divided once, rounding half up to the minor unit.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;

use super::time::resolve_local;
use crate::error::FieldError;

/// An agency's pay settings, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct PaySettings {
    /// Where the agency's weeks and nights are counted.
    pub timezone: Tz,
    /// ISO 4217 code of the agency's currency.
    pub currency: String,
    /// The first day of a pay week.
    pub week_start: Weekday,
    /// Days after the last day of a week until its pay is paid out.
    pub payout_delay_days: u32,
    /// Hours after a shift during which its worker may dispute the timesheet.
    pub dispute_window_hours: u32,
    /// Weekly worked minutes above which overtime is paid.
    pub overtime_threshold_minutes: i64,
    /// The overtime multiplier in thousandths (1.5 is 1500).
    pub overtime_multiplier_permille: i64,
    /// The night premium, when the agency pays one.
    pub night: Option<NightPremium>,
    /// Notice under which a cancelled confirmed shift is compensated, in hours.
    pub cancel_notice_hours: u32,
    /// Share of the planned pay owed to the worker for a late cancellation, percent.
    pub worker_share_percent: i64,
    /// Minimum minutes paid to the worker for a late cancellation (never more than the shift's).
    pub worker_min_minutes: i64,
    /// Share of the planned bill charged to the client for a late cancellation, percent.
    pub client_fee_percent: i64,
    /// Minimum minutes billed to the client for a late cancellation (never more than the shift's).
    pub client_min_minutes: i64,
    /// Re-confirmation before a shift (kept with the pay settings: one agency settings document).
    pub reconfirm: ReconfirmSettings,
    /// Pre-shift signals from the worker app.
    pub pre_shift: PreShiftSettings,
}

/// Re-confirmation: `lead_h` hours before a shift every confirmed worker is asked to confirm again, by
/// `deadline_h` hours before the start; a worker who does not is at risk (replaced when `reoffer`, else the
/// order's standby is topped up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconfirmSettings {
    /// Whether requests are sent.
    pub enabled: bool,
    /// Hours before the start the request is sent.
    pub lead_h: u32,
    /// Hours before the start the answer is due (less than `lead_h`).
    pub deadline_h: u32,
    /// Whether a worker who missed the deadline is replaced (else the standby is topped up).
    pub reoffer: bool,
}

impl Default for ReconfirmSettings {
    fn default() -> Self {
        ReconfirmSettings {
            enabled: false,
            lead_h: 24,
            deadline_h: 12,
            reoffer: true,
        }
    }
}

/// Pre-shift signals: from `window_h` hours before the start the worker app may send "on my way" and its
/// position; a worker who cannot arrive by the grace at `speed_kmh` is at risk and replaced before the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreShiftSettings {
    /// Whether signals are accepted.
    pub enabled: bool,
    /// Hours before the start signals are accepted from.
    pub window_h: u32,
    /// The plausible travel speed a distance is judged by, km/h.
    pub speed_kmh: u32,
}

impl Default for PreShiftSettings {
    fn default() -> Self {
        PreShiftSettings {
            enabled: false,
            window_h: 3,
            speed_kmh: 25,
        }
    }
}

/// A night premium: worked minutes inside the local window `from`–`to` (crossing midnight when `to` is earlier)
/// earn the rate times `extra_permille` / 1000 on top of the base pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NightPremium {
    /// Local start of the night.
    pub from: NaiveTime,
    /// Local end of the night.
    pub to: NaiveTime,
    /// The premium in thousandths of the rate (a multiplier of 1.25, or 25 percent extra, is 250).
    pub extra_permille: i64,
}

impl Default for PaySettings {
    fn default() -> Self {
        PaySettings {
            timezone: chrono_tz::UTC,
            currency: "EUR".into(),
            week_start: Weekday::Mon,
            payout_delay_days: 5,
            dispute_window_hours: 72,
            overtime_threshold_minutes: 40 * 60,
            overtime_multiplier_permille: 1500,
            night: None,
            cancel_notice_hours: 24,
            worker_share_percent: 50,
            worker_min_minutes: 0,
            client_fee_percent: 50,
            client_min_minutes: 0,
            reconfirm: ReconfirmSettings::default(),
            pre_shift: PreShiftSettings::default(),
        }
    }
}

impl PaySettings {
    /// Digits of the currency's minor unit.
    pub fn exponent(&self) -> u32 {
        currency_exponent(&self.currency)
    }

    /// A decimal amount of the currency (a role's `pay_per_hour`) in minor units, rounded half away from zero.
    pub fn to_minor(&self, amount: f64) -> i64 {
        (amount * 10f64.powi(self.exponent() as i32)).round() as i64
    }

    /// The week an instant falls in.
    pub fn week_of(&self, t: DateTime<Utc>) -> PayWeek {
        PayWeek::of_date(
            t.with_timezone(&self.timezone).date_naive(),
            self.week_start,
        )
    }

    /// The instants a week runs between: `[start, end)`.
    pub fn bounds(&self, week: PayWeek) -> (DateTime<Utc>, DateTime<Utc>) {
        let first = week.first_day(self.week_start);
        let at = |d: NaiveDate| resolve_local(self.timezone, d.and_time(NaiveTime::MIN));
        (at(first), at(first + Duration::days(7)))
    }

    /// The date a week's pay is expected: its last day plus the payout delay.
    pub fn payout_date(&self, week: PayWeek) -> NaiveDate {
        week.first_day(self.week_start) + Duration::days(6 + i64::from(self.payout_delay_days))
    }

    /// Minutes of `[start, end)` inside the night window, or 0 without a night premium.
    pub fn night_minutes(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        let Some(n) = self.night else { return 0 };
        if end <= start {
            return 0;
        }
        let first = start.with_timezone(&self.timezone).date_naive() - Duration::days(1);
        let last = end.with_timezone(&self.timezone).date_naive();
        let mut total = 0;
        let mut d = first;
        while d <= last {
            let from = resolve_local(self.timezone, d.and_time(n.from));
            let to_day = if n.to > n.from {
                d
            } else {
                d + Duration::days(1)
            };
            let to = resolve_local(self.timezone, to_day.and_time(n.to));
            let (a, b) = (from.max(start), to.min(end));
            if b > a {
                total += (b - a).num_minutes();
            }
            d += Duration::days(1);
        }
        total
    }

    /// What a worker is owed for a late cancellation of a shift of `planned_minutes` at `rate_minor`: the
    /// larger of the configured share of the planned pay and the minimum hours, never more than the planned
    /// pay.
    pub fn compensation(&self, rate_minor: Option<i64>, planned_minutes: i64) -> i64 {
        owed(
            rate_minor,
            planned_minutes,
            self.worker_share_percent,
            self.worker_min_minutes,
        )
    }

    /// What the client is charged for a late cancellation, the same way at the bill rate.
    pub fn cancellation_fee(&self, bill_rate_minor: Option<i64>, planned_minutes: i64) -> i64 {
        owed(
            bill_rate_minor,
            planned_minutes,
            self.client_fee_percent,
            self.client_min_minutes,
        )
    }
}

fn owed(rate: Option<i64>, planned: i64, percent: i64, min_minutes: i64) -> i64 {
    let full = pay_for(rate, planned);
    let share = div_round(i128::from(full) * i128::from(percent), 100);
    let least = pay_for(rate, min_minutes.min(planned));
    share.max(least).min(full)
}

/// Digits after the decimal point of a currency's minor unit (ISO 4217): 0 for the yen and its kind, 3 for the
/// dinars that use fils, 2 for every other.
pub fn currency_exponent(code: &str) -> u32 {
    const NONE: &[&str] = &[
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
        "VUV", "XAF", "XOF", "XPF",
    ];
    const THREE: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];
    if NONE.contains(&code) {
        0
    } else if THREE.contains(&code) {
        3
    } else {
        2
    }
}

/// Checks a currency code: three capital letters (ISO 4217 shape).
pub fn check_currency(raw: &str) -> Result<String, FieldError> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(raw.to_string())
    } else {
        Err(FieldError::new(
            "currency",
            "must be an ISO 4217 code of three capital letters, like EUR",
        ))
    }
}

/// Parses a week day (`monday` or `mon`).
pub fn parse_weekday(raw: &str) -> Option<Weekday> {
    let days = [
        ("monday", Weekday::Mon),
        ("tuesday", Weekday::Tue),
        ("wednesday", Weekday::Wed),
        ("thursday", Weekday::Thu),
        ("friday", Weekday::Fri),
        ("saturday", Weekday::Sat),
        ("sunday", Weekday::Sun),
    ];
    let raw = raw.trim().to_ascii_lowercase();
    days.iter()
        .find(|(name, _)| *name == raw || (raw.len() == 3 && name.starts_with(&raw)))
        .map(|(_, d)| *d)
}

/// The name of a week day as the API writes it (`monday`).
pub fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}

/// `rate_minor` per hour times `minutes`, rounded half up to the minor unit; no rate pays nothing.
pub fn pay_for(rate_minor: Option<i64>, minutes: i64) -> i64 {
    rate_minor.map_or(0, |r| div_round(i128::from(r) * i128::from(minutes), 60))
}

/// `n / d` rounded half up (half away from zero for negative `n`).
fn div_round(n: i128, d: i128) -> i64 {
    let q = if n >= 0 {
        (n + d / 2) / d
    } else {
        -((-n + d / 2) / d)
    };
    q as i64
}

/// A pay week, named like an ISO week (`2026-W48`). With weeks starting on Monday it is the ISO week; with
/// another start day, the week labelled `2026-W48` begins on that day inside ISO week 48 (a Sunday week
/// `2026-W48` runs from Sunday 29 November to Saturday 5 December 2026).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PayWeek {
    year: i32,
    week: u32,
}

impl PayWeek {
    /// Parses `YYYY-Www`.
    pub fn parse(raw: &str) -> Result<PayWeek, FieldError> {
        let bad = || FieldError::new("week", "must be an ISO week like 2026-W48");
        let (y, w) = raw.split_once("-W").ok_or_else(bad)?;
        if y.len() != 4 || w.len() != 2 {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        if !(2000..=2200).contains(&year) {
            return Err(FieldError::new(
                "week",
                "must be a year between 2000 and 2200",
            ));
        }
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
            .ok_or_else(|| FieldError::new("week", format!("{year} has no ISO week {week}")))?;
        Ok(PayWeek { year, week })
    }

    /// The week that holds `date`, for weeks starting on `start`.
    pub fn of_date(date: NaiveDate, start: Weekday) -> PayWeek {
        let back = (7 + date.weekday().num_days_from_monday() - start.num_days_from_monday()) % 7;
        let first = date - Duration::days(i64::from(back));
        let iso = first.iso_week();
        PayWeek {
            year: iso.year(),
            week: iso.week(),
        }
    }

    /// The week's first day.
    pub fn first_day(&self, start: Weekday) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, start).expect("a checked week")
    }

    /// The week after this one.
    pub fn next(&self) -> PayWeek {
        let d = self.first_day(Weekday::Mon) + Duration::days(7);
        PayWeek::of_date(d, Weekday::Mon)
    }
}

impl std::fmt::Display for PayWeek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-W{:02}", self.year, self.week)
    }
}

/// An approved timesheet as the pay run counts it.
#[derive(Debug, Clone)]
pub struct Worked {
    /// The worker (raw id).
    pub worker: u64,
    /// The timesheet (raw id), to order shifts that start together.
    pub id: u64,
    /// Shift start, unix ms: overtime counts from the week's last shifts.
    pub start_ms: i64,
    /// Paid minutes (worked less breaks).
    pub minutes: i64,
    /// The pay rate per hour in minor units, if the role has one.
    pub rate_minor: Option<i64>,
    /// Paid minutes inside the night window.
    pub night_minutes: i64,
}

/// One shift's share of a worker's pay run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShiftPay {
    /// Base pay.
    pub base_minor: i64,
    /// Minutes above the weekly threshold.
    pub overtime_minutes: i64,
    /// The overtime premium (the part above the base rate).
    pub overtime_minor: i64,
    /// The night premium.
    pub night_minor: i64,
}

/// Prices a worker's approved shifts of one week, in start order: base pay of each, and the premiums. The
/// minutes past the weekly threshold (counted in start order) earn `(multiplier − 1) × rate`; night minutes earn
/// the night premium. Each amount is rounded to the minor unit per shift.
pub fn price_week(settings: &PaySettings, shifts: &[Worked]) -> Vec<ShiftPay> {
    let mut order: Vec<usize> = (0..shifts.len()).collect();
    order.sort_by_key(|&i| (shifts[i].worker, shifts[i].start_ms, shifts[i].id));
    let mut out = vec![ShiftPay::default(); shifts.len()];
    let mut worker = None;
    let mut cum = 0i64;
    for i in order {
        let s = &shifts[i];
        if worker != Some(s.worker) {
            worker = Some(s.worker);
            cum = 0;
        }
        let before = cum;
        cum += s.minutes;
        let over = (cum - settings.overtime_threshold_minutes.max(before)).clamp(0, s.minutes);
        let extra = settings.overtime_multiplier_permille - 1000;
        let premium = |minutes: i64, permille: i64| {
            s.rate_minor.map_or(0, |r| {
                div_round(
                    i128::from(r) * i128::from(minutes) * i128::from(permille),
                    60_000,
                )
            })
        };
        out[i] = ShiftPay {
            base_minor: pay_for(s.rate_minor, s.minutes),
            overtime_minutes: over,
            overtime_minor: premium(over, extra),
            night_minor: settings.night.map_or(0, |n| {
                premium(s.night_minutes.min(s.minutes), n.extra_permille)
            }),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_rounds_half_up_to_the_minor_unit() {
        // 12.34 an hour for 7 minutes is 1.43966…, paid 1.44.
        assert_eq!(pay_for(Some(1234), 7), 144);
        // 0.30 an hour for 1 minute is 0.005: half up to 0.01.
        assert_eq!(pay_for(Some(30), 1), 1);
        assert_eq!(pay_for(None, 600), 0);
    }

    #[test]
    fn weeks_follow_iso_on_mondays_and_the_start_day_otherwise() {
        let w = PayWeek::parse("2026-W48").unwrap();
        assert_eq!(w.to_string(), "2026-W48");
        assert_eq!(
            w.first_day(Weekday::Mon),
            NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
        );
        assert_eq!(
            w.first_day(Weekday::Sun),
            NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
        );
        let sat = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(PayWeek::of_date(sat, Weekday::Sun), w);
        assert_eq!(PayWeek::of_date(sat, Weekday::Mon).to_string(), "2026-W49");
        assert!(PayWeek::parse("2026-W54").is_err());
        assert!(PayWeek::parse("2026-48").is_err());
        assert_eq!(
            PayWeek::parse("2026-W53").unwrap().next().to_string(),
            "2027-W01"
        );
    }

    #[test]
    fn overtime_is_paid_on_the_minutes_past_the_threshold_in_start_order() {
        let s = PaySettings::default();
        let shift = |id, start_ms, minutes| Worked {
            worker: 1,
            id,
            start_ms,
            minutes,
            rate_minor: Some(2000),
            night_minutes: 0,
        };
        // 3 shifts of 15 h: the third has 5 h over 40 h.
        let priced = price_week(
            &s,
            &[shift(3, 30, 900), shift(1, 10, 900), shift(2, 20, 900)],
        );
        assert_eq!(priced[0].overtime_minutes, 300);
        assert_eq!(priced[0].overtime_minor, 5000);
        assert_eq!(priced[1].overtime_minutes, 0);
        assert_eq!(priced[2].base_minor, 30000);
    }

    #[test]
    fn night_minutes_cross_midnight_in_local_time() {
        let s = PaySettings {
            timezone: "Europe/Berlin".parse().unwrap(),
            night: Some(NightPremium {
                from: NaiveTime::from_hms_opt(22, 0, 0).unwrap(),
                to: NaiveTime::from_hms_opt(6, 0, 0).unwrap(),
                extra_permille: 250,
            }),
            ..PaySettings::default()
        };
        let t = |r: &str| DateTime::parse_from_rfc3339(r).unwrap().with_timezone(&Utc);
        assert_eq!(
            s.night_minutes(
                t("2026-11-27T20:00:00+01:00"),
                t("2026-11-28T02:00:00+01:00")
            ),
            240
        );
    }

    #[test]
    fn a_late_cancellation_owes_the_larger_of_share_and_minimum_capped_at_the_shift() {
        let s = PaySettings {
            worker_min_minutes: 240,
            ..PaySettings::default()
        };
        // 8 h at 20.00: half is 80.00; 4 h minimum is 80.00.
        assert_eq!(s.compensation(Some(2000), 480), 8000);
        // 2 h at 20.00: half is 20.00; the minimum is capped at the shift's 2 h: 40.00.
        assert_eq!(s.compensation(Some(2000), 120), 4000);
    }
}
