//! Hours of the week: which UTC hours a worker may be available in, and which ones a shift touches.
//!
//! The week is cut into 168 UTC hour slots, slot 0 being Monday 00:00–01:00 UTC. A worker's slots are every
//! slot that one of the weekly windows overlaps at least partly, kept as a 168-bit mask on the worker's card;
//! from the cards each segment makes one set of documents per slot (`segments.rs`), and a query intersects
//! the sets of every slot the shift touches. Matching still checks availability exactly.
//!
//! ## Why retrieval stays a superset of the exact check, across daylight-saving changes
//!
//! Windows are in the worker's local wall-clock time, and a local time `L` becomes the instant `L - o` for one
//! of the offsets `o` the timezone uses (the exact check resolves times in a gap or an overlap with the offset
//! before the change, which is one of them too). We take the smallest and largest offset `o_min`, `o_max` the
//! timezone uses on 1 January and 1 July of every year from [`FIRST_YEAR`] to [`LAST_YEAR`], and index each
//! window occurrence `[from, to)` as the slots of `[from - o_max, to - o_min)`: the hull of the window under
//! every offset, which holds every instant that an occurrence of the window resolves to, whether or not a
//! change falls inside it. A shift the exact check accepts lies, instant by instant, inside occurrences of the
//! windows, so every slot it touches is indexed. `a_covered_shift_touches_only_indexed_slots` checks this on
//! random workers and shifts, including the week Berlin changes its clocks and shifts past midnight.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use chrono::{Datelike, NaiveDate, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::domain::{Availability, Interval};

/// Hour slots in a week.
pub(crate) const SLOTS: usize = 168;

/// The first year whose offsets a timezone is indexed under.
const FIRST_YEAR: i32 = 2000;
/// The last year whose offsets a timezone is indexed under.
const LAST_YEAR: i32 = 2100;

const HOUR_S: i64 = 3600;
const DAY_S: i64 = 24 * HOUR_S;
const WEEK_S: i64 = 7 * DAY_S;

/// A set of hour slots, bit `h` for slot `h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Slots([u64; 3]);

impl Slots {
    fn insert(&mut self, h: usize) {
        self.0[h / 64] |= 1 << (h % 64);
    }

    /// Whether slot `h` is in the set.
    #[cfg(test)]
    pub(crate) fn has(&self, h: usize) -> bool {
        self.0[h / 64] & (1 << (h % 64)) != 0
    }

    /// Calls `f` with every slot of the set, in order.
    #[inline]
    pub(crate) fn for_each(&self, mut f: impl FnMut(usize)) {
        for (i, &w) in self.0.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                f(i * 64 + w.trailing_zeros() as usize);
                w &= w - 1;
            }
        }
    }

    /// Whether every slot of `other` is in this set.
    #[cfg(test)]
    pub(crate) fn contains(&self, other: &Slots) -> bool {
        self.0.iter().zip(other.0.iter()).all(|(a, b)| b & !a == 0)
    }

    /// The slots in the set, in order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        (0..SLOTS).filter(|&h| self.has(h)).map(|h| h as u64)
    }

    /// Adds every slot that `[start, end)` (seconds since Monday 00:00 UTC, any week) overlaps.
    fn add_span(&mut self, start: i64, end: i64) {
        if end <= start {
            return;
        }
        if end - start >= WEEK_S {
            *self = Self::all();
            return;
        }
        let first = start.div_euclid(HOUR_S);
        let last = (end - 1).div_euclid(HOUR_S);
        for h in first..=last {
            self.insert(h.rem_euclid(SLOTS as i64) as usize);
        }
    }

    fn all() -> Self {
        let mut s = Self::default();
        for h in 0..SLOTS {
            s.insert(h);
        }
        s
    }
}

/// The smallest and largest UTC offset (seconds) of a timezone over the indexed years, computed once per zone.
fn offset_range(tz: Tz) -> (i64, i64) {
    static CACHE: OnceLock<Mutex<HashMap<Tz, (i64, i64)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(&r) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&tz) {
        return r;
    }
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    for year in FIRST_YEAR..=LAST_YEAR {
        for month in [1, 7] {
            let day = NaiveDate::from_ymd_opt(year, month, 1)
                .expect("the first of January and July exist")
                .and_hms_opt(12, 0, 0)
                .expect("noon exists");
            let off = i64::from(tz.offset_from_utc_datetime(&day).fix().local_minus_utc());
            lo = lo.min(off);
            hi = hi.max(off);
        }
    }
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(tz, (lo, hi));
    (lo, hi)
}

/// The UTC hour slots a worker may be available in (see the module doc); empty when there is no window.
pub(crate) fn worker_slots(a: &Availability) -> Slots {
    let mut out = Slots::default();
    if a.windows().is_empty() {
        return out;
    }
    let (lo, hi) = offset_range(a.tz());
    for w in a.windows() {
        let from = i64::from(w.from_min()) * 60;
        let len = if w.crosses_midnight() {
            DAY_S - from + i64::from(w.to_min()) * 60
        } else {
            i64::from(w.to_min()) * 60 - from
        };
        for d in 0..7u32 {
            if w.days().has(d) {
                let start = i64::from(d) * DAY_S + from;
                out.add_span(start - hi, start + len - lo);
            }
        }
    }
    out
}

/// The UTC hour slots a shift touches (every one when it lasts a week or more).
pub(crate) fn shift_slots(shift: &Interval) -> Slots {
    let s = shift.start();
    let start = i64::from(s.weekday().num_days_from_monday()) * DAY_S
        + i64::from(s.num_seconds_from_midnight());
    let mut out = Slots::default();
    out.add_span(start, start + shift.duration().num_seconds());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::{parse_instant, shift};
    use crate::domain::{Days, WeeklyWindow};
    use rand::{Rng, SeedableRng};

    fn sh(a: &str, b: &str) -> Interval {
        shift(parse_instant(a).unwrap(), parse_instant(b).unwrap()).unwrap()
    }

    #[test]
    fn a_shift_touches_every_hour_it_overlaps_and_wraps_the_week() {
        // Monday 2026-11-23 09:30–11:00 UTC: slots 9 and 10.
        let s = shift_slots(&sh("2026-11-23T09:30:00Z", "2026-11-23T11:00:00Z"));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![9, 10]);
        // Sunday 23:00 to Monday 01:00 UTC wraps: slots 167, 0.
        let s = shift_slots(&sh("2026-11-29T23:00:00Z", "2026-11-30T01:00:00Z"));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 167]);
    }

    #[test]
    fn a_window_is_indexed_under_both_of_its_zones_offsets() {
        // Monday 08:00–10:00 in Berlin is 07:00–09:00 UTC in winter and 06:00–08:00 UTC in summer.
        let a = Availability::new(
            "Europe/Berlin".parse().unwrap(),
            vec![WeeklyWindow::new(Days::from_bits(1), 8 * 60, 10 * 60)],
        );
        assert_eq!(worker_slots(&a).iter().collect::<Vec<_>>(), vec![6, 7, 8]);
        assert_eq!(
            worker_slots(&Availability::new("UTC".parse().unwrap(), vec![])),
            Slots::default()
        );
    }

    fn random_availability(rng: &mut impl Rng, tz: Tz) -> Availability {
        let n = rng.random_range(1..4);
        let windows = (0..n)
            .map(|_| {
                let days = Days::from_bits(rng.random_range(1..128));
                let from = rng.random_range(0..96u16) * 15;
                let mut to = rng.random_range(1..=96u16) * 15;
                if to == from {
                    to = (from + 60) % 1440;
                }
                WeeklyWindow::new(days, from, to)
            })
            .collect();
        Availability::new(tz, windows)
    }

    /// Random workers and shifts, many of them in the weeks Berlin changes its clocks and many past midnight:
    /// whenever the exact check accepts a shift, every hour slot the shift touches is indexed.
    #[test]
    fn a_covered_shift_touches_only_indexed_slots() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let zones: [Tz; 5] = [
            "Europe/Berlin".parse().unwrap(),
            "Asia/Shanghai".parse().unwrap(),
            "America/New_York".parse().unwrap(),
            "Asia/Kolkata".parse().unwrap(),
            "Australia/Lord_Howe".parse().unwrap(),
        ];
        // Mondays of the weeks with Berlin's changes (29 March and 25 October 2026) and an ordinary one.
        let weeks = [
            "2026-03-23T00:00:00Z",
            "2026-10-19T00:00:00Z",
            "2026-11-23T00:00:00Z",
        ]
        .map(|w| parse_instant(w).unwrap());
        let mut covered = 0;
        let mut overnight = 0;
        for i in 0..60_000 {
            let tz = zones[i % zones.len()];
            let a = random_availability(&mut rng, tz);
            let start = weeks[rng.random_range(0..weeks.len())]
                + chrono::Duration::minutes(rng.random_range(0..7 * 96) * 15);
            let len = chrono::Duration::minutes(rng.random_range(1..=48) * 15);
            let s = shift(start, start + len).unwrap();
            if !a.covers(&s) {
                continue;
            }
            covered += 1;
            if s.start().date_naive() != (s.end() - chrono::Duration::seconds(1)).date_naive() {
                overnight += 1;
            }
            assert!(
                worker_slots(&a).contains(&shift_slots(&s)),
                "{a:?} covers {s:?}"
            );
        }
        // The oracle must have had something to say, including across midnight.
        assert!(covered > 1_000, "{covered}");
        assert!(overnight > 100, "{overnight}");
    }
}
