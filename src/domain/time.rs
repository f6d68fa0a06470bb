//! Instants and intervals. Every interval is a half-open range of instants `[start, end)` in UTC; local
//! times only exist at the edges (input, availability) and are resolved with the timezone's rules.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::error::FieldError;

/// A half-open interval of instants, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Interval {
    /// Checks and builds an interval: `start` strictly before `end`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, FieldError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(FieldError::new("end", "must be after start"))
        }
    }

    /// The first instant inside.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// The first instant after.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// How long it lasts.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// Hours, as a fraction.
    pub fn hours(&self) -> f64 {
        self.duration().num_seconds() as f64 / 3600.0
    }

    /// Whether the two share an instant.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// Whether the two come closer than `gap`: they overlap once each is widened by `gap` on one side.
    /// This is the rest rule: two bookings must be at least `gap` apart.
    pub fn within_gap(&self, other: &Interval, gap: Duration) -> bool {
        self.start < other.end + gap && other.start < self.end + gap
    }

    /// The length of the part the two share.
    pub fn overlap(&self, other: &Interval) -> Duration {
        let s = self.start.max(other.start);
        let e = self.end.min(other.end);
        if s < e { e - s } else { Duration::zero() }
    }

    /// Whether `other` lies inside this interval.
    pub fn contains(&self, other: &Interval) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// The longest shift an order may ask for.
pub const MAX_SHIFT: Duration = Duration::hours(24);

/// Checks a shift: start before end, at most [`MAX_SHIFT`] long.
pub fn shift(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Interval, FieldError> {
    let iv = Interval::new(start, end)?;
    if iv.duration() > MAX_SHIFT {
        return Err(FieldError::new("end", "a shift lasts at most 24 hours"));
    }
    Ok(iv)
}

/// Parses an RFC 3339 time that carries an offset; a time without one is refused rather than guessed.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, FieldError> {
    DateTime::<FixedOffset>::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            FieldError::new(
                "",
                "must be an RFC 3339 time with an offset, like 2026-11-28T09:00:00+08:00",
            )
        })
}

/// Formats an instant the way the API answers: RFC 3339 in UTC with `Z`.
pub fn format_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Parses an IANA timezone name (`Asia/Shanghai`).
pub fn parse_tz(raw: &str) -> Result<Tz, FieldError> {
    raw.trim()
        .parse::<Tz>()
        .map_err(|_| FieldError::new("", "must be an IANA timezone name, like Asia/Shanghai"))
}

/// Resolves a local wall-clock time in `tz` to an instant, following the zone's rules the way calendars do:
/// a time that occurs twice (a fold) is its first occurrence; a time skipped by a gap is moved forward by
/// the length of the gap (02:30 on a spring-forward night becomes 03:30).
pub fn resolve_local(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    use chrono::LocalResult;
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Read the wall time with the offset in force before the gap.
            let before = local - Duration::hours(6);
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.offset().fix(),
                LocalResult::None => tz.offset_from_utc_datetime(&before).fix(),
            };
            DateTime::<Utc>::from_naive_utc_and_offset(
                local - Duration::seconds(offset.local_minus_utc() as i64),
                Utc,
            )
        }
    }
}

use chrono::Offset as _;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    #[test]
    fn times_without_offset_are_refused() {
        assert!(parse_instant("2026-11-28T09:00:00").is_err());
        assert_eq!(t("2026-11-28T09:00:00+08:00"), t("2026-11-28T01:00:00Z"));
        assert_eq!(
            format_instant(t("2026-11-28T09:00:00+08:00")),
            "2026-11-28T01:00:00Z"
        );
    }

    #[test]
    fn shifts_must_run_forward_and_last_at_most_a_day() {
        assert!(shift(t("2026-11-28T09:00:00Z"), t("2026-11-28T09:00:00Z")).is_err());
        assert!(shift(t("2026-11-28T09:00:00Z"), t("2026-11-29T09:00:01Z")).is_err());
        let overnight = shift(
            t("2026-11-28T22:00:00+01:00"),
            t("2026-11-29T06:00:00+01:00"),
        )
        .unwrap();
        assert_eq!(overnight.hours(), 8.0);
    }

    #[test]
    fn rest_gap_counts_as_overlap() {
        let a = shift(t("2026-11-28T09:00:00Z"), t("2026-11-28T17:00:00Z")).unwrap();
        let b = shift(t("2026-11-28T20:00:00Z"), t("2026-11-28T23:00:00Z")).unwrap();
        assert!(!a.overlaps(&b));
        assert!(a.within_gap(&b, Duration::hours(8)));
        assert!(b.within_gap(&a, Duration::hours(8)));
        assert!(!a.within_gap(&b, Duration::hours(3)));
    }

    #[test]
    fn local_times_in_gaps_and_folds_follow_the_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-03-29 02:30 does not exist in Berlin: it becomes 03:30 CEST = 01:30 UTC.
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(resolve_local(berlin, gap), t("2026-03-29T01:30:00Z"));
        // 2026-10-25 02:30 happens twice: the first is 02:30 CEST = 00:30 UTC.
        let fold = NaiveDate::from_ymd_opt(2026, 10, 25)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        assert_eq!(resolve_local(berlin, fold), t("2026-10-25T00:30:00Z"));
    }
}
