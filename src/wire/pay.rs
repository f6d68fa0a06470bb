//! The JSON shapes of time and money: an agency's pay settings, timesheets and their corrections and disputes,
//! the weekly pay run, a worker's earnings and a client's invoices, and their CSV forms. Amounts are integers of
//! the currency's minor unit (`amount_minor`) with the currency, never floats.

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::pay::{NightPremium, PaySettings, check_currency, parse_weekday, weekday_name};
use crate::domain::time::parse_tz;
use crate::error::FieldError;

/// An amount of money: integer minor units (cents) of a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// The amount in the currency's minor unit (cents for EUR; yen for JPY).
    pub amount_minor: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl Money {
    /// `amount_minor` of `currency`.
    pub fn new(amount_minor: i64, currency: &str) -> Money {
        Money {
            amount_minor,
            currency: currency.to_string(),
        }
    }
}

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

/// An agency's pay settings as sent (`PATCH /v1/agency/settings`: every field optional, the others kept) and
/// as answered (every field present).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsBody {
    /// IANA timezone the agency's weeks and nights are counted in (default `UTC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// ISO 4217 currency of every amount (default `EUR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// First day of a pay week (default `monday`: ISO weeks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub week_start: Option<String>,
    /// Days after a week's last day until its pay is paid out (0 to 60, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_delay_days: Option<i64>,
    /// Hours after a shift's end during which its worker may dispute the timesheet; undisputed timesheets are
    /// approved when it ends (1 to 720, default 72).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_window_hours: Option<i64>,
    /// Overtime above a weekly threshold.
    #[serde(
        default,
        deserialize_with = "crate::wire::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub overtime: Option<OvertimeBody>,
    /// A night premium; `null` for none (the default).
    #[serde(
        default,
        deserialize_with = "double",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<NightPremiumBody>, nullable)]
    pub night_premium: Option<Option<NightPremiumBody>>,
    /// Compensation and fees when a confirmed shift is cancelled late by the client or the agency.
    #[serde(
        default,
        deserialize_with = "crate::wire::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub late_cancellation: Option<LateCancellationBody>,
    /// Re-confirmation before a shift: confirmed workers asked to confirm again in the app.
    #[serde(
        default,
        deserialize_with = "crate::wire::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub reconfirm: Option<ReconfirmBody>,
    /// Pre-shift signals: "on my way" and positions from the worker app in the last hours before a shift.
    #[serde(
        default,
        deserialize_with = "crate::wire::object",
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_shift: Option<PreShiftBody>,
}

/// Re-confirmation terms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconfirmBody {
    /// Whether confirmed workers are asked to confirm again (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Hours before the start the request is sent (1 to 168, default 24). A worker booked later than that is
    /// not asked: they have just agreed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead_h: Option<i64>,
    /// Hours before the start the worker must have confirmed by (0 to 167, less than `lead_h`, default 12).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_h: Option<i64>,
    /// Whether a worker who did not confirm is replaced (their assignment cancelled, the slot dispatched
    /// again); when `false` the order's standby grows by one instead (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reoffer: Option<bool>,
}

/// Pre-shift signal terms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreShiftBody {
    /// Whether the worker app may send "on my way" and positions (default `false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Hours before the start signals are accepted from (1 to 24, default 3); they are accepted until the
    /// order's no-show grace has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_h: Option<i64>,
    /// The travel speed a worker's distance is judged by, km/h (1 to 200, default 25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_kmh: Option<i64>,
}

/// Overtime terms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OvertimeBody {
    /// Weekly paid hours above which overtime is paid (0 to 168, default 40).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly_threshold_hours: Option<f64>,
    /// Pay multiplier of overtime minutes (1 to 5, default 1.5); the pay run shows the part above the base pay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
}

/// A night premium: worked minutes between `from` and `to` (local; `to` earlier than `from` crosses midnight)
/// earn the premium on top of the base pay. Give `multiplier` or `extra_percent`, not both.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NightPremiumBody {
    /// Local start, `HH:MM`.
    pub from: String,
    /// Local end, `HH:MM`.
    pub to: String,
    /// Pay multiplier of night minutes (above 1, at most 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<f64>,
    /// Percent of the rate paid extra for night minutes (above 0, at most 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_percent: Option<f64>,
}

/// Late-cancellation terms.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LateCancellationBody {
    /// A confirmed shift cancelled by the client or the agency with less notice than this is compensated
    /// (0 to 720 hours, default 24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice_hours: Option<i64>,
    /// Percent of the planned pay owed to the worker (0 to 100, default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_share_percent: Option<i64>,
    /// Minimum hours paid to the worker, never more than the shift's (0 to 24, default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_min_hours: Option<f64>,
    /// Percent of the planned bill charged to the client (0 to 100, default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_fee_percent: Option<i64>,
    /// Minimum hours billed to the client, never more than the shift's (0 to 24, default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_min_hours: Option<f64>,
}

fn time_of(raw: &str, field: &str, errors: &mut Vec<FieldError>) -> Option<NaiveTime> {
    let ok = raw.len() == 5 && raw.as_bytes()[2] == b':';
    match NaiveTime::parse_from_str(raw, "%H:%M").ok().filter(|_| ok) {
        Some(t) => Some(t),
        None => {
            errors.push(FieldError::new(field, "must be a local time HH:MM"));
            None
        }
    }
}

fn int_in(v: i64, lo: i64, hi: i64, field: &str, errors: &mut Vec<FieldError>) -> Option<i64> {
    if (lo..=hi).contains(&v) {
        Some(v)
    } else {
        errors.push(FieldError::new(
            field,
            format!("must be between {lo} and {hi}"),
        ));
        None
    }
}

fn num_in(v: f64, lo: f64, hi: f64, field: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    if v.is_finite() && (lo..=hi).contains(&v) {
        Some(v)
    } else {
        errors.push(FieldError::new(
            field,
            format!("must be between {lo} and {hi}"),
        ));
        None
    }
}

impl SettingsBody {
    /// These changes applied to `current`: the new settings, or every invalid field.
    pub fn apply(&self, current: &PaySettings) -> Result<PaySettings, Vec<FieldError>> {
        let mut s = current.clone();
        let mut errors = Vec::new();
        if let Some(tz) = &self.timezone {
            match parse_tz(tz) {
                Ok(tz) => s.timezone = tz,
                Err(e) => errors.push(e.under("timezone")),
            }
        }
        if let Some(c) = &self.currency {
            match check_currency(c) {
                Ok(c) => s.currency = c,
                Err(e) => errors.push(e),
            }
        }
        if let Some(d) = &self.week_start {
            match parse_weekday(d) {
                Some(d) => s.week_start = d,
                None => errors.push(FieldError::new(
                    "week_start",
                    "must be a day of the week, like monday",
                )),
            }
        }
        if let Some(v) = self.payout_delay_days
            && let Some(v) = int_in(v, 0, 60, "payout_delay_days", &mut errors)
        {
            s.payout_delay_days = v as u32;
        }
        if let Some(v) = self.dispute_window_hours
            && let Some(v) = int_in(v, 1, 720, "dispute_window_hours", &mut errors)
        {
            s.dispute_window_hours = v as u32;
        }
        if let Some(o) = &self.overtime {
            if let Some(h) = o.weekly_threshold_hours
                && let Some(h) = num_in(
                    h,
                    0.0,
                    168.0,
                    "overtime.weekly_threshold_hours",
                    &mut errors,
                )
            {
                s.overtime_threshold_minutes = (h * 60.0).round() as i64;
            }
            if let Some(m) = o.multiplier
                && let Some(m) = num_in(m, 1.0, 5.0, "overtime.multiplier", &mut errors)
            {
                s.overtime_multiplier_permille = (m * 1000.0).round() as i64;
            }
        }
        if let Some(n) = &self.night_premium {
            s.night = match n {
                None => None,
                Some(n) => {
                    let from = time_of(&n.from, "night_premium.from", &mut errors);
                    let to = time_of(&n.to, "night_premium.to", &mut errors);
                    if from.is_some() && from == to {
                        errors.push(FieldError::new(
                            "night_premium.to",
                            "must differ from night_premium.from",
                        ));
                    }
                    let extra = match (n.multiplier, n.extra_percent) {
                        (Some(m), None) => {
                            num_in(m, 1.001, 5.0, "night_premium.multiplier", &mut errors)
                                .map(|m| ((m - 1.0) * 1000.0).round() as i64)
                        }
                        (None, Some(p)) => {
                            num_in(p, 0.1, 400.0, "night_premium.extra_percent", &mut errors)
                                .map(|p| (p * 10.0).round() as i64)
                        }
                        _ => {
                            errors.push(FieldError::new(
                                "night_premium",
                                "give either multiplier or extra_percent",
                            ));
                            None
                        }
                    };
                    match (from, to, extra) {
                        (Some(from), Some(to), Some(extra_permille)) => Some(NightPremium {
                            from,
                            to,
                            extra_permille,
                        }),
                        _ => None,
                    }
                }
            };
        }
        if let Some(l) = &self.late_cancellation {
            let f = |k: &str| format!("late_cancellation.{k}");
            if let Some(v) = l.notice_hours
                && let Some(v) = int_in(v, 0, 720, &f("notice_hours"), &mut errors)
            {
                s.cancel_notice_hours = v as u32;
            }
            if let Some(v) = l.worker_share_percent
                && let Some(v) = int_in(v, 0, 100, &f("worker_share_percent"), &mut errors)
            {
                s.worker_share_percent = v;
            }
            if let Some(v) = l.client_fee_percent
                && let Some(v) = int_in(v, 0, 100, &f("client_fee_percent"), &mut errors)
            {
                s.client_fee_percent = v;
            }
            if let Some(v) = l.worker_min_hours
                && let Some(v) = num_in(v, 0.0, 24.0, &f("worker_min_hours"), &mut errors)
            {
                s.worker_min_minutes = (v * 60.0).round() as i64;
            }
            if let Some(v) = l.client_min_hours
                && let Some(v) = num_in(v, 0.0, 24.0, &f("client_min_hours"), &mut errors)
            {
                s.client_min_minutes = (v * 60.0).round() as i64;
            }
        }
        if let Some(r) = &self.reconfirm {
            if let Some(v) = r.enabled {
                s.reconfirm.enabled = v;
            }
            if let Some(v) = r.lead_h
                && let Some(v) = int_in(v, 1, 168, "reconfirm.lead_h", &mut errors)
            {
                s.reconfirm.lead_h = v as u32;
            }
            if let Some(v) = r.deadline_h
                && let Some(v) = int_in(v, 0, 167, "reconfirm.deadline_h", &mut errors)
            {
                s.reconfirm.deadline_h = v as u32;
            }
            if let Some(v) = r.reoffer {
                s.reconfirm.reoffer = v;
            }
            if errors.is_empty() && s.reconfirm.deadline_h >= s.reconfirm.lead_h {
                errors.push(FieldError::new(
                    "reconfirm.deadline_h",
                    "must be less than reconfirm.lead_h",
                ));
            }
        }
        if let Some(p) = &self.pre_shift {
            if let Some(v) = p.enabled {
                s.pre_shift.enabled = v;
            }
            if let Some(v) = p.window_h
                && let Some(v) = int_in(v, 1, 24, "pre_shift.window_h", &mut errors)
            {
                s.pre_shift.window_h = v as u32;
            }
            if let Some(v) = p.speed_kmh
                && let Some(v) = int_in(v, 1, 200, "pre_shift.speed_kmh", &mut errors)
            {
                s.pre_shift.speed_kmh = v as u32;
            }
        }
        if errors.is_empty() {
            Ok(s)
        } else {
            Err(errors)
        }
    }

    /// Every setting of `s`, as answered and stored.
    pub fn of(s: &PaySettings) -> SettingsBody {
        SettingsBody {
            timezone: Some(s.timezone.name().to_string()),
            currency: Some(s.currency.clone()),
            week_start: Some(weekday_name(s.week_start).to_string()),
            payout_delay_days: Some(i64::from(s.payout_delay_days)),
            dispute_window_hours: Some(i64::from(s.dispute_window_hours)),
            overtime: Some(OvertimeBody {
                weekly_threshold_hours: Some(s.overtime_threshold_minutes as f64 / 60.0),
                multiplier: Some(s.overtime_multiplier_permille as f64 / 1000.0),
            }),
            night_premium: Some(s.night.map(|n| NightPremiumBody {
                from: n.from.format("%H:%M").to_string(),
                to: n.to.format("%H:%M").to_string(),
                multiplier: Some(1.0 + n.extra_permille as f64 / 1000.0),
                extra_percent: None,
            })),
            late_cancellation: Some(LateCancellationBody {
                notice_hours: Some(i64::from(s.cancel_notice_hours)),
                worker_share_percent: Some(s.worker_share_percent),
                worker_min_hours: Some(s.worker_min_minutes as f64 / 60.0),
                client_fee_percent: Some(s.client_fee_percent),
                client_min_hours: Some(s.client_min_minutes as f64 / 60.0),
            }),
            reconfirm: Some(ReconfirmBody {
                enabled: Some(s.reconfirm.enabled),
                lead_h: Some(i64::from(s.reconfirm.lead_h)),
                deadline_h: Some(i64::from(s.reconfirm.deadline_h)),
                reoffer: Some(s.reconfirm.reoffer),
            }),
            pre_shift: Some(PreShiftBody {
                enabled: Some(s.pre_shift.enabled),
                window_h: Some(i64::from(s.pre_shift.window_h)),
                speed_kmh: Some(i64::from(s.pre_shift.speed_kmh)),
            }),
        }
    }
}

/// The agency's settings with their version: every field of [`SettingsBody`], present.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SettingsView {
    /// IANA timezone the agency's weeks and nights are counted in.
    pub timezone: String,
    /// ISO 4217 currency of every amount.
    pub currency: String,
    /// First day of a pay week.
    pub week_start: String,
    /// Days after a week's last day until its pay is paid out.
    pub payout_delay_days: i64,
    /// Hours after a shift's end during which its worker may dispute the timesheet.
    pub dispute_window_hours: i64,
    /// Overtime terms.
    pub overtime: OvertimeBody,
    /// The night premium, `null` for none.
    pub night_premium: Option<NightPremiumBody>,
    /// Late-cancellation terms.
    pub late_cancellation: LateCancellationBody,
    /// Re-confirmation terms.
    pub reconfirm: ReconfirmBody,
    /// Pre-shift signal terms.
    pub pre_shift: PreShiftBody,
    /// Bumped by every change (0: the defaults, never changed).
    pub version: i64,
    /// Last changed, UTC; `null` when never changed.
    pub updated_at: Option<String>,
}

impl SettingsView {
    /// The view of settings at a version.
    pub fn of(s: &PaySettings, version: i64, updated_at: Option<String>) -> SettingsView {
        let b = SettingsBody::of(s);
        SettingsView {
            timezone: b.timezone.unwrap_or_default(),
            currency: b.currency.unwrap_or_default(),
            week_start: b.week_start.unwrap_or_default(),
            payout_delay_days: b.payout_delay_days.unwrap_or_default(),
            dispute_window_hours: b.dispute_window_hours.unwrap_or_default(),
            overtime: b.overtime.unwrap_or_default(),
            night_premium: b.night_premium.flatten(),
            late_cancellation: b.late_cancellation.unwrap_or_default(),
            reconfirm: b.reconfirm.unwrap_or_default(),
            pre_shift: b.pre_shift.unwrap_or_default(),
            version,
            updated_at,
        }
    }
}

/// Recorded times and minutes of a timesheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimesheetTimes {
    /// Check-in, UTC.
    pub checked_in_at: Option<String>,
    /// Check-out, UTC (`null` when the engine completed the shift at its end).
    pub checked_out_at: Option<String>,
    /// Break minutes, unpaid.
    pub break_minutes: i64,
    /// Minutes from the later of start and check-in to the earlier of end and check-out.
    pub worked_minutes: i64,
}

/// One correction of a timesheet.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CorrectionView {
    /// When, UTC.
    pub at: String,
    /// Why, as the agency wrote it.
    pub reason: String,
    /// The times before.
    pub before: TimesheetTimes,
    /// The times after.
    pub after: TimesheetTimes,
}

/// A worker's dispute of a timesheet.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisputeView {
    /// When, UTC.
    pub at: String,
    /// The worker's reason.
    pub reason: String,
}

/// The shift a timesheet is for.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ShiftTimes {
    /// Planned start, UTC.
    pub start: String,
    /// Planned end, UTC.
    pub end: String,
}

/// A timesheet.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TimesheetView {
    /// The timesheet (`tms_…`).
    pub id: String,
    /// The assignment it records.
    pub assignment_id: String,
    /// The order.
    pub order_id: String,
    /// The worker.
    pub worker_id: String,
    /// The order's client.
    pub client_ref: String,
    /// The role's name.
    pub role: String,
    /// The planned shift.
    pub shift: ShiftTimes,
    /// The pay week it belongs to (by the shift's start in the agency's timezone).
    pub week: String,
    /// The times and minutes in force (as corrected).
    #[serde(flatten)]
    pub times: TimesheetTimes,
    /// Paid minutes: worked less breaks.
    pub paid_minutes: i64,
    /// The role's pay per hour, `null` when the role carries none.
    pub pay_per_hour: Option<Money>,
    /// Base pay: the rate times the paid minutes, rounded half up to the minor unit.
    pub pay: Money,
    /// The role's bill rate per hour (agency only; `null` when none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bill_per_hour: Option<Money>,
    /// `submitted`, `disputed` or `approved`.
    pub status: String,
    /// Until when the worker may dispute it; an undisputed timesheet is approved then.
    pub dispute_until: String,
    /// The worker's dispute, if any.
    pub dispute: Option<DisputeView>,
    /// How the dispute was resolved, if it was.
    pub resolution: Option<String>,
    /// Approved, UTC.
    pub approved_at: Option<String>,
    /// `agency`, `automatic` (the window ended) or `resolution` (a dispute resolved).
    pub approved_by: Option<String>,
    /// The times as first recorded, once corrected (`null` when never corrected).
    pub original: Option<TimesheetTimes>,
    /// Every correction, oldest first.
    pub corrections: Vec<CorrectionView>,
    /// The pay run (`2026-W48`) that settled it, once its week is closed.
    pub settlement_week: Option<String>,
    /// Made (the shift completed), UTC.
    pub created_at: String,
}

/// A correction by the agency: new check-in/out times (worked minutes follow from them) or worked minutes, and
/// or break minutes, with a reason.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectBody {
    /// Check-in, RFC 3339 with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<String>,
    /// Check-out, RFC 3339 with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_out_at: Option<String>,
    /// Worked minutes, instead of times (0 to 1440).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worked_minutes: Option<i64>,
    /// Break minutes (0 to the worked minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_minutes: Option<i64>,
    /// Why (1 to 500 characters).
    pub reason: String,
}

/// Resolving a worker's dispute: how, and optionally a correction of the times (approves the timesheet).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// How it was resolved (1 to 500 characters).
    pub resolution: String,
    /// Check-in, RFC 3339 with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_in_at: Option<String>,
    /// Check-out, RFC 3339 with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_out_at: Option<String>,
    /// Worked minutes, instead of times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worked_minutes: Option<i64>,
    /// Break minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub break_minutes: Option<i64>,
}

impl ResolveBody {
    /// The correction it carries, if it changes any time.
    pub fn correction(&self) -> Option<CorrectBody> {
        let any = self.checked_in_at.is_some()
            || self.checked_out_at.is_some()
            || self.worked_minutes.is_some()
            || self.break_minutes.is_some();
        any.then(|| CorrectBody {
            checked_in_at: self.checked_in_at.clone(),
            checked_out_at: self.checked_out_at.clone(),
            worked_minutes: self.worked_minutes,
            break_minutes: self.break_minutes,
            reason: self.resolution.clone(),
        })
    }
}

/// A worker's dispute.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DisputeBody {
    /// What is wrong (1 to 500 characters).
    pub reason: String,
}

/// A page of timesheets.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TimesheetPage {
    /// Oldest shift first.
    pub items: Vec<TimesheetView>,
    /// The cursor of the next page, `null` on the last.
    pub next_cursor: Option<String>,
}

/// The dates and instants of a pay week.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeekPeriod {
    /// First day, local.
    pub first_day: String,
    /// Last day, local.
    pub last_day: String,
    /// Start, UTC.
    pub start: String,
    /// End (exclusive), UTC.
    pub end: String,
    /// The agency's timezone.
    pub timezone: String,
}

/// One worker's pay in a week's run.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerPay {
    /// The worker.
    pub worker_id: String,
    /// The agency's reference of the worker.
    pub external_ref: String,
    /// Approved shifts.
    pub shifts: i64,
    /// Approved paid minutes.
    pub approved_minutes: i64,
    /// The same in hours, two decimals.
    pub approved_hours: f64,
    /// The rate times the paid minutes of each shift.
    pub base_pay: Money,
    /// Minutes above the weekly overtime threshold.
    pub overtime_minutes: i64,
    /// The overtime premium: (multiplier − 1) × rate × overtime minutes.
    pub overtime_premium: Money,
    /// Minutes inside the night window.
    pub night_minutes: i64,
    /// The night premium.
    pub night_premium: Money,
    /// Late cancellations of confirmed shifts compensated this week.
    pub late_cancellations: i64,
    /// Their compensation.
    pub late_cancellation_compensation: Money,
    /// Deductions (none by default).
    pub deductions: Money,
    /// What the worker is paid.
    pub total: Money,
}

/// A pay run's totals.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PayTotals {
    /// Workers paid.
    pub workers: i64,
    /// Approved shifts.
    pub shifts: i64,
    /// Approved paid minutes.
    pub approved_minutes: i64,
    /// The same in hours, two decimals.
    pub approved_hours: f64,
    /// Overtime minutes.
    pub overtime_minutes: i64,
    /// Base pay.
    pub base_pay: Money,
    /// Overtime premiums.
    pub overtime_premium: Money,
    /// Night premiums.
    pub night_premium: Money,
    /// Late-cancellation compensation.
    pub late_cancellation_compensation: Money,
    /// Deductions.
    pub deductions: Money,
    /// The whole run.
    pub total: Money,
}

/// What stays out of a week's run until it is settled.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingCounts {
    /// Timesheets still in their dispute window (not approved yet).
    pub submitted: i64,
    /// Timesheets disputed by their worker and not yet resolved.
    pub disputed: i64,
    /// Shifts of the week not finished yet (confirmed or checked in).
    pub unfinished_shifts: i64,
}

/// A week's pay run.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SettlementView {
    /// The week, `2026-W48`.
    pub week: String,
    /// `open` (still changing), `closed` (frozen) or `paid`.
    pub status: String,
    /// The agency's currency.
    pub currency: String,
    /// The week's days and instants.
    pub period: WeekPeriod,
    /// The date the pay is expected (`YYYY-MM-DD`): the week's last day plus the payout delay.
    pub payout_date: String,
    /// Closed, UTC.
    pub closed_at: Option<String>,
    /// Marked paid, UTC.
    pub paid_at: Option<String>,
    /// Per worker, by worker id.
    pub workers: Vec<WorkerPay>,
    /// Totals.
    pub totals: PayTotals,
    /// Timesheets and shifts left out of the run until approved or finished.
    pub pending: PendingCounts,
    /// What `pending` means for this run, in words.
    pub note: String,
}

/// A shift in a worker's earnings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarningShift {
    /// The timesheet.
    pub timesheet_id: String,
    /// The order.
    pub order_id: String,
    /// The role.
    pub role: String,
    /// Planned start, UTC.
    pub start: String,
    /// Planned end, UTC.
    pub end: String,
    /// Paid minutes.
    pub paid_minutes: i64,
    /// Paid hours, two decimals.
    pub hours: f64,
    /// Base pay of the shift.
    pub amount: Money,
    /// `submitted`, `disputed`, `approved`, `closed` (in a closed pay run) or `paid`.
    pub status: String,
}

/// A late cancellation in a worker's earnings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarningCancellation {
    /// The assignment cancelled.
    pub assignment_id: String,
    /// The order.
    pub order_id: String,
    /// The role.
    pub role: String,
    /// Planned start, UTC.
    pub start: String,
    /// Cancelled, UTC.
    pub cancelled_at: String,
    /// The compensation.
    pub amount: Money,
}

/// A worker's week.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarningWeek {
    /// The week.
    pub week: String,
    /// The pay run's status: `open`, `closed` or `paid`.
    pub status: String,
    /// The date the week's pay is expected.
    pub payout_date: String,
    /// The shifts, oldest first.
    pub shifts: Vec<EarningShift>,
    /// Late cancellations compensated.
    pub late_cancellations: Vec<EarningCancellation>,
    /// What the approved shifts earn so far: base, premiums and compensation (the run's line of the worker).
    pub approved_total: Money,
    /// Base pay of shifts not approved yet (submitted or disputed).
    pub pending_amount: Money,
}

/// A worker's earnings, newest week first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EarningsView {
    /// The agency's currency.
    pub currency: String,
    /// Weeks with shifts or compensation.
    pub weeks: Vec<EarningWeek>,
}

/// A billed shift on an invoice.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceLine {
    /// The timesheet.
    pub timesheet_id: String,
    /// The order.
    pub order_id: String,
    /// The role.
    pub role: String,
    /// The worker.
    pub worker_id: String,
    /// Planned start, UTC.
    pub start: String,
    /// Planned end, UTC.
    pub end: String,
    /// Billed minutes (the approved paid minutes).
    pub billed_minutes: i64,
    /// Billed hours, two decimals.
    pub billed_hours: f64,
    /// The role's bill rate; `null` when it has none (billed nothing).
    pub bill_per_hour: Option<Money>,
    /// The rate times the minutes, rounded half up.
    pub amount: Money,
}

/// A late-cancellation fee on an invoice.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceFee {
    /// The assignment cancelled.
    pub assignment_id: String,
    /// The order.
    pub order_id: String,
    /// The role.
    pub role: String,
    /// Planned start, UTC.
    pub start: String,
    /// Cancelled, UTC.
    pub cancelled_at: String,
    /// The fee.
    pub amount: Money,
}

/// A client's invoice for a week.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceView {
    /// The week.
    pub week: String,
    /// The client.
    pub client_ref: String,
    /// The week's pay run status (`open`, `closed`, `paid`): an open week's invoice may still grow.
    pub status: String,
    /// The agency's currency.
    pub currency: String,
    /// Billed shifts, oldest first.
    pub lines: Vec<InvoiceLine>,
    /// Late-cancellation fees.
    pub late_cancellation_fees: Vec<InvoiceFee>,
    /// Totals.
    pub totals: InvoiceTotals,
}

/// An invoice's totals.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceTotals {
    /// Billed minutes.
    pub billed_minutes: i64,
    /// Billed hours, two decimals.
    pub billed_hours: f64,
    /// Hours at the bill rates.
    pub hours_amount: Money,
    /// Late-cancellation fees.
    pub late_cancellation_fees: Money,
    /// Everything.
    pub total: Money,
}

/// A week's invoices, one per client.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceList {
    /// The week.
    pub week: String,
    /// By client_ref.
    pub items: Vec<InvoiceSummary>,
}

/// One client's invoice in a week, summed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceSummary {
    /// The client.
    pub client_ref: String,
    /// The pay run status of the week.
    pub status: String,
    /// Billed lines.
    pub lines: i64,
    /// Totals.
    pub totals: InvoiceTotals,
}

/// Hours with two decimals from minutes.
pub fn hours(minutes: i64) -> f64 {
    (minutes as f64 / 60.0 * 100.0).round() / 100.0
}

/// A decimal amount of minor units (`12345` in EUR is `123.45`), for CSV.
pub fn decimal(amount_minor: i64, exponent: u32) -> String {
    if exponent == 0 {
        return amount_minor.to_string();
    }
    let p = 10i64.pow(exponent);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let a = amount_minor.abs();
    format!(
        "{sign}{}.{:0width$}",
        a / p,
        a % p,
        width = exponent as usize
    )
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn row(out: &mut String, cells: &[String]) {
    let line: Vec<String> = cells.iter().map(|c| field(c)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// A pay run as CSV: a header, one line per worker (amounts in minor units), and a `TOTAL` line.
pub fn settlement_csv(s: &SettlementView) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &[
            "week",
            "status",
            "worker_id",
            "external_ref",
            "shifts",
            "approved_minutes",
            "overtime_minutes",
            "night_minutes",
            "late_cancellations",
            "base_pay_minor",
            "overtime_premium_minor",
            "night_premium_minor",
            "late_cancellation_compensation_minor",
            "deductions_minor",
            "total_minor",
            "currency",
            "payout_date",
        ]
        .map(String::from),
    );
    let line = |out: &mut String,
                id: &str,
                ext: &str,
                shifts,
                minutes,
                ot,
                night,
                lc,
                amounts: [i64; 6]| {
        let mut cells = vec![
            s.week.clone(),
            s.status.clone(),
            id.to_string(),
            ext.to_string(),
            format!("{shifts}"),
            format!("{minutes}"),
            format!("{ot}"),
            format!("{night}"),
            format!("{lc}"),
        ];
        cells.extend(amounts.iter().map(|a| a.to_string()));
        cells.push(s.currency.clone());
        cells.push(s.payout_date.clone());
        row(out, &cells);
    };
    for w in &s.workers {
        line(
            &mut out,
            &w.worker_id,
            &w.external_ref,
            w.shifts,
            w.approved_minutes,
            w.overtime_minutes,
            w.night_minutes,
            w.late_cancellations,
            [
                w.base_pay.amount_minor,
                w.overtime_premium.amount_minor,
                w.night_premium.amount_minor,
                w.late_cancellation_compensation.amount_minor,
                w.deductions.amount_minor,
                w.total.amount_minor,
            ],
        );
    }
    let t = &s.totals;
    let night: i64 = s.workers.iter().map(|w| w.night_minutes).sum();
    let lc: i64 = s.workers.iter().map(|w| w.late_cancellations).sum();
    line(
        &mut out,
        "TOTAL",
        "",
        t.shifts,
        t.approved_minutes,
        t.overtime_minutes,
        night,
        lc,
        [
            t.base_pay.amount_minor,
            t.overtime_premium.amount_minor,
            t.night_premium.amount_minor,
            t.late_cancellation_compensation.amount_minor,
            t.deductions.amount_minor,
            t.total.amount_minor,
        ],
    );
    out
}

/// An invoice as CSV: one line per billed shift and per fee (amounts in minor units), and a `TOTAL` line.
pub fn invoice_csv(i: &InvoiceView) -> String {
    let mut out = String::new();
    row(
        &mut out,
        &[
            "week",
            "client_ref",
            "kind",
            "reference",
            "order_id",
            "role",
            "worker_id",
            "start",
            "billed_minutes",
            "rate_minor",
            "amount_minor",
            "currency",
        ]
        .map(String::from),
    );
    for l in &i.lines {
        row(
            &mut out,
            &[
                i.week.clone(),
                i.client_ref.clone(),
                "hours".into(),
                l.timesheet_id.clone(),
                l.order_id.clone(),
                l.role.clone(),
                l.worker_id.clone(),
                l.start.clone(),
                l.billed_minutes.to_string(),
                l.bill_per_hour
                    .as_ref()
                    .map_or(String::new(), |m| m.amount_minor.to_string()),
                l.amount.amount_minor.to_string(),
                i.currency.clone(),
            ],
        );
    }
    for f in &i.late_cancellation_fees {
        row(
            &mut out,
            &[
                i.week.clone(),
                i.client_ref.clone(),
                "late_cancellation".into(),
                f.assignment_id.clone(),
                f.order_id.clone(),
                f.role.clone(),
                String::new(),
                f.start.clone(),
                "0".into(),
                String::new(),
                f.amount.amount_minor.to_string(),
                i.currency.clone(),
            ],
        );
    }
    row(
        &mut out,
        &[
            i.week.clone(),
            i.client_ref.clone(),
            "TOTAL".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            i.totals.billed_minutes.to_string(),
            String::new(),
            i.totals.total.amount_minor.to_string(),
            i.currency.clone(),
        ],
    );
    out
}
