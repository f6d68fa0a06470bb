//! Weekly availability in a worker's own timezone, and the check that a shift (a pair of instants) lies
//! inside it. Windows whose `to` is earlier than `from` run past midnight into the next day.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Offset, Timelike, Utc};
use chrono_tz::Tz;

use super::time::{Interval, resolve_local};
use crate::error::FieldError;

/// Days of the week as a bit set, Monday = bit 0 … Sunday = bit 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Days(u8);

/// The API's day names, Monday first.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Days {
    /// Every day.
    pub const ALL: Days = Days(0x7f);

    /// Parses day names (`mon` … `sun`); at least one.
    pub fn parse(names: &[String]) -> Result<Self, FieldError> {
        let mut bits = 0u8;
        for (i, n) in names.iter().enumerate() {
            let n = n.trim().to_ascii_lowercase();
            match DAY_NAMES.iter().position(|d| *d == n) {
                Some(p) => bits |= 1 << p,
                None => {
                    return Err(FieldError::new(
                        format!("[{i}]"),
                        "must be one of mon, tue, wed, thu, fri, sat, sun",
                    ));
                }
            }
        }
        if bits == 0 {
            return Err(FieldError::new("", "must name at least one day"));
        }
        Ok(Days(bits))
    }

    /// Builds a set from its bits (bit 0 = Monday); the high bit is ignored.
    pub fn from_bits(bits: u8) -> Self {
        Days(bits & 0x7f)
    }

    /// The raw bits.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether the set holds day `d` (0 = Monday).
    pub fn has(self, d: u32) -> bool {
        self.0 & (1 << d) != 0
    }

    /// The day names in the set, Monday first.
    pub fn names(self) -> Vec<&'static str> {
        (0..7)
            .filter(|d| self.has(*d))
            .map(|d| DAY_NAMES[d as usize])
            .collect()
    }
}

/// One weekly window: on each of `days`, from `from` until `to` (local wall-clock minutes since midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WeeklyWindow {
    days: Days,
    from: u16,
    to: u16,
}

/// Minutes in a day and seconds in a week.
const DAY_MIN: u32 = 24 * 60;
const WEEK_S: i64 = 7 * 24 * 3600;

impl WeeklyWindow {
    /// Checks and builds a window from `HH:MM` strings; `to` may be `24:00`; `to` earlier than `from` crosses
    /// midnight. A window of zero length is refused.
    pub fn parse(days: &[String], from: &str, to: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let days = Days::parse(days)
            .map_err(|e| errors.push(e.under("days")))
            .ok();
        let f = parse_hhmm(from, false)
            .map_err(|e| errors.push(e.under("from")))
            .ok();
        let t = parse_hhmm(to, true)
            .map_err(|e| errors.push(e.under("to")))
            .ok();
        // `00:00`–`24:00` is a whole day; `08:00`–`08:00` is ambiguous and refused.
        if let (Some(f), Some(t)) = (f, t)
            && f == t
        {
            errors.push(FieldError::new("to", "must differ from `from`"));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self::new(days.unwrap(), f.unwrap(), t.unwrap()))
    }

    /// Builds a window from minutes since midnight (`from` < 1440, `to` ≤ 1440, not equal).
    pub fn new(days: Days, from: u16, to: u16) -> Self {
        debug_assert!(u32::from(from) < DAY_MIN && u32::from(to) <= DAY_MIN && from != to);
        Self { days, from, to }
    }

    /// The days it applies to.
    pub fn days(&self) -> Days {
        self.days
    }

    /// Start, minutes since local midnight.
    pub fn from_min(&self) -> u16 {
        self.from
    }

    /// End, minutes since local midnight (of the next day when it crosses midnight).
    pub fn to_min(&self) -> u16 {
        self.to
    }

    /// Whether it runs past midnight.
    pub fn crosses_midnight(&self) -> bool {
        self.to < self.from
    }

    /// Length in minutes.
    fn len_min(&self) -> u32 {
        if self.crosses_midnight() {
            DAY_MIN - u32::from(self.from) + u32::from(self.to)
        } else {
            u32::from(self.to) - u32::from(self.from)
        }
    }
}

/// Formats minutes since midnight as `HH:MM`.
pub fn format_hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

fn parse_hhmm(raw: &str, allow_24: bool) -> Result<u16, FieldError> {
    let bad = || FieldError::new("", "must be a time of day as HH:MM");
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if allow_24 && h == 24 && m == 0 {
        return Ok(24 * 60);
    }
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// A worker's weekly availability: windows in the worker's timezone.
#[derive(Debug, Clone, PartialEq)]
pub struct Availability {
    tz: Tz,
    windows: Vec<WeeklyWindow>,
}

impl Availability {
    /// Builds an availability; no window at all means never available.
    pub fn new(tz: Tz, windows: Vec<WeeklyWindow>) -> Self {
        Self { tz, windows }
    }

    /// The worker's timezone.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The windows.
    pub fn windows(&self) -> &[WeeklyWindow] {
        &self.windows
    }

    /// Whether the whole shift lies inside the worker's windows (windows that touch join up: Friday 18:00–02:00
    /// followed by Saturday 02:00–10:00 covers Friday 22:00 to Saturday 06:00).
    pub fn covers(&self, shift: &Interval) -> bool {
        self.covers_local(&LocalShift::new(self.tz, shift))
    }

    /// The same check with the shift already placed in this timezone (matching does that once per zone).
    pub fn covers_local(&self, local: &LocalShift) -> bool {
        if local.tz != self.tz {
            return self.covers(&local.shift);
        }
        match local.week {
            Some((s, len)) => self.covers_week_seconds(s, s + len),
            None => self.covers_exact(&local.shift),
        }
    }

    /// Coverage in local seconds since Monday 00:00, for shifts that do not cross an offset change.
    fn covers_week_seconds(&self, start: i64, end: i64) -> bool {
        let mut cursor = start;
        loop {
            let mut best = cursor;
            for w in &self.windows {
                for d in 0..7u32 {
                    if !w.days.has(d) {
                        continue;
                    }
                    let ws = i64::from(d * DAY_MIN + u32::from(w.from)) * 60;
                    let we = ws + i64::from(w.len_min()) * 60;
                    for shift in [-WEEK_S, 0, WEEK_S] {
                        let (a, b) = (ws + shift, we + shift);
                        if a <= cursor && cursor < b && b > best {
                            best = b;
                        }
                    }
                }
            }
            if best >= end {
                return true;
            }
            if best == cursor {
                return false;
            }
            cursor = best;
        }
    }

    /// Coverage computed on instants, window by window, for shifts that cross a daylight-saving change.
    fn covers_exact(&self, shift: &Interval) -> bool {
        let first = shift.start().with_timezone(&self.tz).date_naive() - Duration::days(1);
        let last = shift.end().with_timezone(&self.tz).date_naive();
        let mut occurrences: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
        let mut day = first;
        while day <= last {
            let wd = day.weekday().num_days_from_monday();
            for w in &self.windows {
                if !w.days.has(wd) {
                    continue;
                }
                let from = day.and_time(minutes_to_time(w.from));
                let to_day = if w.crosses_midnight() || w.to as u32 == DAY_MIN {
                    day + Duration::days(1)
                } else {
                    day
                };
                let to = to_day.and_time(minutes_to_time(w.to % DAY_MIN as u16));
                occurrences.push((resolve_local(self.tz, from), resolve_local(self.tz, to)));
            }
            day += Duration::days(1);
        }
        occurrences.sort();
        let mut cursor = shift.start();
        for (a, b) in occurrences {
            if a <= cursor && b > cursor {
                cursor = b;
                if cursor >= shift.end() {
                    return true;
                }
            }
        }
        false
    }
}

fn minutes_to_time(min: u16) -> NaiveTime {
    NaiveTime::from_hms_opt(u32::from(min / 60), u32::from(min % 60), 0).expect("minutes below 24h")
}

/// A shift placed in one timezone: where it starts in the local week, and how long it lasts, when no offset
/// change falls inside it; otherwise only the instants, and the check is made on them.
#[derive(Debug, Clone, Copy)]
pub struct LocalShift {
    tz: Tz,
    shift: Interval,
    week: Option<(i64, i64)>,
}

impl LocalShift {
    /// Places `shift` in `tz`.
    pub fn new(tz: Tz, shift: &Interval) -> Self {
        let ls = shift.start().with_timezone(&tz);
        let le = shift.end().with_timezone(&tz);
        let same_offset = ls.offset().fix() == le.offset().fix();
        let week = same_offset.then(|| {
            let s = i64::from(ls.weekday().num_days_from_monday()) * 86_400
                + i64::from(ls.num_seconds_from_midnight());
            (s, shift.duration().num_seconds())
        });
        Self {
            tz,
            shift: *shift,
            week,
        }
    }
}

/// A worker's blackouts: periods when the worker cannot work at all, whatever the weekly windows say.
pub fn clear_of_blackouts(blackouts: &[Interval], shift: &Interval) -> bool {
    !blackouts.iter().any(|b| b.overlaps(shift))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::{parse_instant, shift};

    fn days(d: &[&str]) -> Vec<String> {
        d.iter().map(|s| s.to_string()).collect()
    }

    fn avail(tz: &str, windows: &[(&[&str], &str, &str)]) -> Availability {
        Availability::new(
            tz.parse().unwrap(),
            windows
                .iter()
                .map(|(d, f, t)| WeeklyWindow::parse(&days(d), f, t).unwrap())
                .collect(),
        )
    }

    fn sh(a: &str, b: &str) -> Interval {
        shift(parse_instant(a).unwrap(), parse_instant(b).unwrap()).unwrap()
    }

    #[test]
    fn window_parsing_rejects_bad_input() {
        assert!(WeeklyWindow::parse(&days(&["sat"]), "08:00", "22:00").is_ok());
        assert!(WeeklyWindow::parse(&days(&["sat"]), "08:00", "24:00").is_ok());
        assert!(WeeklyWindow::parse(&days(&["caturday"]), "08:00", "22:00").is_err());
        assert!(WeeklyWindow::parse(&days(&[]), "08:00", "22:00").is_err());
        assert!(WeeklyWindow::parse(&days(&["sat"]), "8:00", "22:00").is_err());
        assert!(WeeklyWindow::parse(&days(&["sat"]), "08:00", "08:00").is_err());
        let errs = WeeklyWindow::parse(&days(&["x"]), "25:00", "22:61").unwrap_err();
        assert_eq!(errs.len(), 3);
    }

    #[test]
    fn whole_days_join_into_a_week_that_covers_any_night() {
        // Regression: `00:00`–`24:00` was refused as an empty window.
        let all = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let a = avail("Europe/Berlin", &[(&all, "00:00", "24:00")]);
        assert!(a.covers(&sh(
            "2026-11-29T22:00:00+01:00",
            "2026-11-30T06:00:00+01:00"
        )));
        // The night the clocks go back (2026-10-25 in Berlin) as well.
        assert!(a.covers(&sh(
            "2026-10-24T22:00:00+02:00",
            "2026-10-25T06:00:00+01:00"
        )));
    }

    #[test]
    fn availability_is_read_in_the_workers_timezone() {
        // Saturday 08:00–22:00 in Shanghai; 2026-11-28 is a Saturday.
        let a = avail("Asia/Shanghai", &[(&["sat", "sun"], "08:00", "22:00")]);
        assert!(a.covers(&sh(
            "2026-11-28T09:00:00+08:00",
            "2026-11-28T18:00:00+08:00"
        )));
        // The same wall-clock hours in UTC are 17:00–02:00 Shanghai time: outside.
        assert!(!a.covers(&sh("2026-11-28T09:00:00Z", "2026-11-28T18:00:00Z")));
        // Friday is not in the set.
        assert!(!a.covers(&sh(
            "2026-11-27T09:00:00+08:00",
            "2026-11-27T18:00:00+08:00"
        )));
    }

    #[test]
    fn overnight_windows_cover_overnight_shifts() {
        let a = avail("Europe/Paris", &[(&["fri"], "18:00", "02:00")]);
        // Friday 2026-11-27 20:00 to Saturday 01:30.
        assert!(a.covers(&sh(
            "2026-11-27T20:00:00+01:00",
            "2026-11-28T01:30:00+01:00"
        )));
        // Until 03:00 is past the window.
        assert!(!a.covers(&sh(
            "2026-11-27T20:00:00+01:00",
            "2026-11-28T03:00:00+01:00"
        )));
        // Saturday night is not Friday night.
        assert!(!a.covers(&sh(
            "2026-11-28T20:00:00+01:00",
            "2026-11-29T01:30:00+01:00"
        )));
    }

    #[test]
    fn windows_that_touch_join_across_midnight() {
        let a = avail(
            "Europe/Paris",
            &[(&["fri"], "18:00", "24:00"), (&["sat"], "00:00", "10:00")],
        );
        assert!(a.covers(&sh(
            "2026-11-27T22:00:00+01:00",
            "2026-11-28T06:00:00+01:00"
        )));
        let b = avail("Europe/Paris", &[(&["sun"], "20:00", "04:00")]);
        // Sunday night runs into Monday of the next week.
        assert!(b.covers(&sh(
            "2026-11-29T21:00:00+01:00",
            "2026-11-30T03:00:00+01:00"
        )));
    }

    #[test]
    fn a_dst_night_is_measured_by_the_zone_rules() {
        // Berlin falls back on Sunday 2026-10-25 at 03:00 CEST -> 02:00 CET. A window Saturday 22:00–06:00
        // lasts nine real hours that night.
        let a = avail("Europe/Berlin", &[(&["sat"], "22:00", "06:00")]);
        // 22:00 CEST (20:00Z) to 06:00 CET (05:00Z) is inside.
        assert!(a.covers(&sh("2026-10-24T20:00:00Z", "2026-10-25T05:00:00Z")));
        // One more hour is not.
        assert!(!a.covers(&sh("2026-10-24T20:00:00Z", "2026-10-25T06:00:00Z")));
        // Spring forward, Sunday 2026-03-29 02:00 CET -> 03:00 CEST: the same window lasts seven real hours.
        assert!(a.covers(&sh("2026-03-28T21:00:00Z", "2026-03-29T04:00:00Z")));
        assert!(!a.covers(&sh("2026-03-28T21:00:00Z", "2026-03-29T04:30:00Z")));
    }

    #[test]
    fn blackouts_exclude_overlapping_shifts() {
        let b = vec![
            Interval::new(
                parse_instant("2026-12-24T00:00:00+08:00").unwrap(),
                parse_instant("2026-12-26T00:00:00+08:00").unwrap(),
            )
            .unwrap(),
        ];
        assert!(!clear_of_blackouts(
            &b,
            &sh("2026-12-25T09:00:00+08:00", "2026-12-25T18:00:00+08:00")
        ));
        assert!(clear_of_blackouts(
            &b,
            &sh("2026-12-26T09:00:00+08:00", "2026-12-26T18:00:00+08:00")
        ));
    }
}
