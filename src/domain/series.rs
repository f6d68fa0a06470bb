//! Series: one order repeated on several days. A repeat rule (weekdays until a date, every day until a date, or
//! a list of dates) and the first shift give the shifts, each at the same local wall-clock time as the first in
//! the venue's zone, so that a shift keeps its local start and end across a DST change.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::availability::DAY_NAMES;
use super::time::{MAX_SHIFT, resolve_local};
use crate::error::FieldError;

/// The most shifts one series may hold.
pub const MAX_SHIFTS: usize = 366;

/// How far after the first shift's date the last may fall, in days.
pub const MAX_SPAN_DAYS: i64 = 366;

/// Where a series' local times live: a named zone with its DST rules, or the first start's fixed UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// An IANA zone: local times are kept across DST changes.
    Named(Tz),
    /// A fixed offset (the start's own, when the venue names no timezone).
    Fixed(FixedOffset),
}

impl Zone {
    /// The wall-clock time of an instant in the zone.
    pub fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Named(tz) => t.with_timezone(tz).naive_local(),
            Zone::Fixed(off) => t.with_timezone(off).naive_local(),
        }
    }

    /// The instant of a wall-clock time in the zone (a repeated time is its first occurrence; a time skipped
    /// by a DST gap moves forward by the gap).
    pub fn resolve(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Zone::Named(tz) => resolve_local(*tz, local),
            Zone::Fixed(off) => off
                .from_local_datetime(&local)
                .single()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| DateTime::<Utc>::from_naive_utc_and_offset(local, Utc)),
        }
    }

    /// Its name: the IANA name, or the offset (`+01:00`).
    pub fn name(&self) -> String {
        match self {
            Zone::Named(tz) => tz.name().to_string(),
            Zone::Fixed(off) => off.to_string(),
        }
    }

    /// Parses what [`Zone::name`] gives.
    pub fn parse(raw: &str) -> Option<Zone> {
        if let Ok(tz) = raw.parse::<Tz>() {
            return Some(Zone::Named(tz));
        }
        raw.parse::<FixedOffset>().ok().map(Zone::Fixed)
    }
}

/// The days a series repeats on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repeat {
    /// These weekdays (Monday first) from the first shift's date through `until`, inclusive.
    Days {
        /// Which weekdays, Monday first.
        days: [bool; 7],
        /// The last date a shift may fall on (local).
        until: NaiveDate,
    },
    /// These dates besides the first shift's own (local).
    Dates(Vec<NaiveDate>),
}

/// The unchecked repeat rule as it came in.
#[derive(Debug, Clone, Default)]
pub struct RepeatInput {
    /// Weekday names (`sat`), or `None`.
    pub days: Option<Vec<String>>,
    /// `"daily"` given for `days`.
    pub daily: bool,
    /// Some other word given for `days`.
    pub days_word: Option<String>,
    /// `YYYY-MM-DD`.
    pub until: Option<String>,
    /// `YYYY-MM-DD` each.
    pub dates: Option<Vec<String>>,
}

fn date(raw: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()
}

/// Parses a `YYYY-MM-DD` date, with the field path of its error.
pub fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, FieldError> {
    date(raw).ok_or_else(|| FieldError::new(field, "must be a date, like 2026-12-31"))
}

impl RepeatInput {
    /// Checks the rule (field paths under `repeat`).
    pub fn validate(self) -> Result<Repeat, Vec<FieldError>> {
        let mut errors = Vec::new();
        let has_days = self.days.is_some() || self.daily || self.days_word.is_some();
        match (has_days, self.dates) {
            (true, Some(_)) | (false, None) => {
                errors.push(FieldError::new(
                    "repeat",
                    "give either days (with until) or dates",
                ));
            }
            (false, Some(dates)) => {
                if self.until.is_some() {
                    errors.push(FieldError::new(
                        "repeat.until",
                        "goes with days, not with dates",
                    ));
                }
                if dates.is_empty() {
                    errors.push(FieldError::new(
                        "repeat.dates",
                        "must name at least one date",
                    ));
                } else if dates.len() > MAX_SHIFTS {
                    errors.push(FieldError::new(
                        "repeat.dates",
                        format!("at most {MAX_SHIFTS} dates"),
                    ));
                } else {
                    let mut out = Vec::with_capacity(dates.len());
                    for (i, raw) in dates.iter().enumerate() {
                        match parse_date(&format!("repeat.dates[{i}]"), raw) {
                            Ok(d) if out.contains(&d) => errors.push(FieldError::new(
                                format!("repeat.dates[{i}]"),
                                "names a date a second time",
                            )),
                            Ok(d) => out.push(d),
                            Err(e) => errors.push(e),
                        }
                    }
                    if errors.is_empty() {
                        return Ok(Repeat::Dates(out));
                    }
                }
            }
            (true, None) => {
                let mut days = [false; 7];
                if self.daily {
                    days = [true; 7];
                } else if self.days_word.is_some() {
                    errors.push(FieldError::new(
                        "repeat.days",
                        "must be \"daily\" or a list of weekdays like [\"sat\", \"sun\"]",
                    ));
                } else if let Some(names) = &self.days {
                    if names.is_empty() {
                        errors.push(FieldError::new(
                            "repeat.days",
                            "must name at least one weekday",
                        ));
                    }
                    for (i, n) in names.iter().enumerate() {
                        match DAY_NAMES.iter().position(|d| *d == n.trim().to_lowercase()) {
                            Some(p) => days[p] = true,
                            None => errors.push(FieldError::new(
                                format!("repeat.days[{i}]"),
                                "must be mon, tue, wed, thu, fri, sat or sun",
                            )),
                        }
                    }
                }
                let until = match &self.until {
                    None => {
                        errors.push(FieldError::new(
                            "repeat.until",
                            "is required with days: the last date a shift may fall on",
                        ));
                        None
                    }
                    Some(raw) => parse_date("repeat.until", raw)
                        .map_err(|e| errors.push(e))
                        .ok(),
                };
                if errors.is_empty()
                    && let Some(until) = until
                {
                    return Ok(Repeat::Days { days, until });
                }
            }
        }
        Err(errors)
    }
}

/// The local dates of a series' shifts, the first shift's date (`first`) first, in order.
pub fn dates(first: NaiveDate, repeat: &Repeat) -> Result<Vec<NaiveDate>, Vec<FieldError>> {
    let last = first + Duration::days(MAX_SPAN_DAYS);
    let mut errors = Vec::new();
    let out = match repeat {
        Repeat::Days { days, until } => {
            if !days[first.weekday().num_days_from_monday() as usize] {
                errors.push(FieldError::new(
                    "repeat.days",
                    format!(
                        "must include the start's weekday ({})",
                        DAY_NAMES[first.weekday().num_days_from_monday() as usize]
                    ),
                ));
            }
            if *until < first {
                errors.push(FieldError::new(
                    "repeat.until",
                    "must not be before the start's date",
                ));
            } else if *until > last {
                errors.push(FieldError::new(
                    "repeat.until",
                    format!("must be within {MAX_SPAN_DAYS} days of the start's date"),
                ));
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            first
                .iter_days()
                .take_while(|d| d <= until)
                .filter(|d| days[d.weekday().num_days_from_monday() as usize])
                .collect::<Vec<_>>()
        }
        Repeat::Dates(list) => {
            for (i, d) in list.iter().enumerate() {
                if *d < first {
                    errors.push(FieldError::new(
                        format!("repeat.dates[{i}]"),
                        "must not be before the start's date",
                    ));
                } else if *d > last {
                    errors.push(FieldError::new(
                        format!("repeat.dates[{i}]"),
                        format!("must be within {MAX_SPAN_DAYS} days of the start's date"),
                    ));
                }
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            let mut all: Vec<NaiveDate> = list.clone();
            all.push(first);
            all.sort();
            all.dedup();
            all
        }
    };
    if out.len() < 2 {
        return Err(vec![FieldError::new(
            "repeat",
            "gives no shift besides the first; post a plain order instead",
        )]);
    }
    if out.len() > MAX_SHIFTS {
        return Err(vec![FieldError::new(
            "repeat",
            format!(
                "gives {} shifts; a series holds at most {MAX_SHIFTS}",
                out.len()
            ),
        )]);
    }
    Ok(out)
}

/// A shift's start and end.
pub type ShiftTimes = (DateTime<Utc>, DateTime<Utc>);

/// The shifts of a series: the first shift `[start, end)` repeated on each date of the rule at the same local
/// start time in `zone`; the end keeps its local time and its day after the start (an overnight shift ends
/// the next morning). Every shift must last more than nothing and at most 24 hours.
pub fn shifts(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    zone: Zone,
    repeat: &Repeat,
) -> Result<Vec<ShiftTimes>, Vec<FieldError>> {
    let (ls, le) = (zone.local(start), zone.local(end));
    let end_days = le.date() - ls.date();
    let mut out = Vec::new();
    for d in dates(ls.date(), repeat)? {
        let s = zone.resolve(d.and_time(ls.time()));
        let e = zone.resolve((d + end_days).and_time(le.time()));
        if e <= s || e - s > MAX_SHIFT {
            return Err(vec![FieldError::new(
                "repeat",
                format!(
                    "the shift of {d} would last {} minutes; a shift lasts more than nothing and at most 24 hours",
                    (e - s).num_minutes()
                ),
            )]);
        }
        out.push((s, e));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_instant;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    #[test]
    fn weekend_shifts_keep_their_local_time_across_the_spring_change_in_berlin() {
        let zone = Zone::parse("Europe/Berlin").unwrap();
        let repeat = RepeatInput {
            days: Some(vec!["sat".into(), "sun".into()]),
            until: Some("2027-04-04".into()),
            ..Default::default()
        }
        .validate()
        .unwrap();
        let got = shifts(
            t("2027-03-20T09:00:00+01:00"),
            t("2027-03-20T18:00:00+01:00"),
            zone,
            &repeat,
        )
        .unwrap();
        let starts: Vec<_> = got.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            starts,
            vec![
                t("2027-03-20T08:00:00Z"),
                t("2027-03-21T08:00:00Z"),
                t("2027-03-27T08:00:00Z"),
                t("2027-03-28T07:00:00Z"),
                t("2027-04-03T07:00:00Z"),
                t("2027-04-04T07:00:00Z"),
            ]
        );
    }

    #[test]
    fn a_fixed_offset_keeps_the_utc_time() {
        let zone = Zone::Fixed(FixedOffset::east_opt(3600).unwrap());
        let repeat = Repeat::Dates(vec![NaiveDate::from_ymd_opt(2027, 3, 28).unwrap()]);
        let got = shifts(
            t("2027-03-27T09:00:00+01:00"),
            t("2027-03-27T18:00:00+01:00"),
            zone,
            &repeat,
        )
        .unwrap();
        assert_eq!(got[1].0, t("2027-03-28T08:00:00Z"));
    }

    #[test]
    fn an_overnight_shift_keeps_its_local_end_the_next_morning() {
        let zone = Zone::parse("Europe/Berlin").unwrap();
        let repeat = Repeat::Dates(vec![NaiveDate::from_ymd_opt(2027, 3, 27).unwrap()]);
        let got = shifts(
            t("2027-03-26T22:00:00+01:00"),
            t("2027-03-27T06:00:00+01:00"),
            zone,
            &repeat,
        )
        .unwrap();
        // 22:00 CET to 06:00 CEST: one hour shorter.
        assert_eq!(
            got[1],
            (t("2027-03-27T21:00:00Z"), t("2027-03-28T04:00:00Z"))
        );
    }

    #[test]
    fn bad_rules_name_their_fields() {
        let errs = RepeatInput {
            days: Some(vec!["sat".into(), "funday".into()]),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["repeat.days[1]", "repeat.until"]);
        let far = Repeat::Days {
            days: [true; 7],
            until: NaiveDate::from_ymd_opt(2029, 1, 1).unwrap(),
        };
        let errs = dates(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(), &far).unwrap_err();
        assert_eq!(errs[0].field, "repeat.until");
    }
}
