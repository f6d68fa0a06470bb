//! Ranking records: what the hard filters and the score bound read of one worker, in one cache line, so
//! that a dense query decides most candidates without touching their profiles.
//!
//! A profile is a tree of heap allocations (skills, languages, availability windows, blackouts); reading it
//! is what ranking tens of thousands of candidates costs. The index keeps a [`Record`] per roster slot beside
//! the card, and hands it to ranking with each retrieved candidate ([`Fast`]). From the record, the live
//! state and the distance bounds retrieval computed on the card, `Bounds::decide` (`bound.rs`) either
//! decides a candidate exactly — the reason it is left out, or that it passes every filter and an upper
//! bound of its score — or says it cannot tell, and the candidate goes through the exact filters on its
//! profile. Two filters read one list of the profile where the record is not enough, and the record decides
//! the rest:
//!
//! - the blackouts, when the shift comes near one (the record keeps their hull and the longest gap between
//!   them) and the record does not hold them exactly (more than two periods, an end off a whole minute, a gap
//!   off whole hours) or the shift does not start and end on whole minutes;
//! - the weekly windows, when the shift touches a local hour they do not cover whole and some window starts or
//!   ends inside an hour (with windows on whole hours, such a shift is surely outside them), or when the shift
//!   crosses an offset change.
//!
//! It cannot tell at all when:
//!
//! - the home lies within a few centimetres of the travel limit;
//! - the worker's counters do not fit the record's 16 bits, the hours cap is not a whole number of 1/64
//!   hours, or the profile's term lists are not sorted (so its binary searches could disagree with the
//!   index's terms).
//!
//! Every figure that enters a score is either kept exactly (the rating counts, completed shifts, no-shows,
//! late arrivals) or rounded the way that can only raise the bound (the cancellation weight rounded down,
//! distances as an interval); the exact score of the few candidates that can reach the top is always
//! computed from the profile by the same code as before.

use chrono_tz::Tz;

use crate::domain::{Availability, Certification, Language, LatLon, SkillReq, Worker, WorkerId};
use crate::domain::{WorkerStats, WorkerStatus};

/// Hours in a week, one bit each in [`Record::sure`].
const WEEK_HOURS: usize = 168;
/// Minutes in a day and in a week.
const DAY_MIN: u32 = 24 * 60;
const WEEK_MIN: u32 = 7 * DAY_MIN;

/// The worker is active (not suspended by the agency).
const ACTIVE: u8 = 1;
/// The record decides for this worker (see the module doc for when it does not).
const DECIDES: u8 = 2;
/// Every weekly window starts and ends on a whole hour: the union of the windows is a union of whole local
/// hours, so a shift that touches an hour outside [`Record::sure`] is surely not inside it.
const WHOLE_HOURS: u8 = 4;
/// The blackouts are exactly the hull less the gap kept (at most two periods, on whole minutes, and the gap
/// on whole hours after the hull's start): a shift on whole minutes that the record does not clear surely
/// meets one.
const EXACT_BLACKOUTS: u8 = 8;

/// What ranking reads of one worker before, and mostly instead of, the profile. One cache line.
#[derive(Debug, Clone, Copy)]
#[repr(align(64))]
pub struct Record {
    /// The worker.
    pub(crate) id: WorkerId,
    /// The travel limit in km, as the nearest `f32`.
    travel_km: f32,
    /// The cancellation weight in 1/1024ths, rounded down and capped (reliability falls as it grows, so the
    /// bound can only rise).
    cancellation_low: u16,
    /// The weekly hours cap in 1/64ths of an hour, exactly (`DECIDES` is off otherwise); `NO_CAP` when there
    /// is none.
    hours_cap: u16,
    /// The hull of the blackouts in minutes since 1970, start rounded down and end up; `[MAX, MIN]` when
    /// there is none.
    blackouts: [i32; 2],
    /// The longest gap between blackouts inside the hull, in whole hours after the hull's start (its start
    /// rounded up and its end down, capped): a shift inside it is clear of them. `[1, 0]` when there is none.
    gap_hours: [u16; 2],
    /// Completed shifts, no-shows, late arrivals, rating sum, rating count.
    counts: [u16; 5],
    /// The worker's timezone.
    pub(crate) tz: Tz,
    /// The local hours of the week (Monday 00:00 first) the weekly windows cover whole, one bit each.
    sure: [u8; WEEK_HOURS / 8],
    /// `ACTIVE`, `DECIDES`.
    flags: u8,
    /// The worker's skills, each as one bit (`skill_bit`): a skill whose bit is clear is surely not held, so
    /// the preferred-skills feature is bounded by the preferred skills whose bits are set.
    skills: u16,
}

const _: () = assert!(std::mem::size_of::<Record>() == 64);

impl Record {
    /// The record of a profile.
    pub fn new(w: &Worker) -> Self {
        let s = &w.stats;
        let counts = [
            s.completed_shifts,
            s.no_shows,
            s.late_arrivals,
            s.rating_sum,
            s.rating_count,
        ];
        let fits = counts.iter().all(|&c| c <= u32::from(u16::MAX));
        let cancellation_low = cancellation_units(s.cancellation_weight);
        let cap = match w.max_hours_per_week {
            None => Some(NO_CAP),
            Some(h) => {
                let units = h * CAP_UNITS;
                (units.fract() == 0.0 && units >= 0.0 && units < f64::from(NO_CAP))
                    .then_some(units as u16)
            }
        };
        let sorted = w.skills.windows(2).all(|p| p[0].name < p[1].name)
            && w.languages.windows(2).all(|p| p[0] < p[1])
            && w.certifications.windows(2).all(|p| p[0] < p[1]);
        let blackouts = blackout_hull(w);
        let gap_hours = blackouts.map_or([1, 0], |hull| blackout_gap(w, hull[0]));
        let decides =
            fits && cancellation_low.is_some() && cap.is_some() && sorted && blackouts.is_some();
        let mut flags = 0;
        if w.status == WorkerStatus::Active {
            flags |= ACTIVE;
        }
        if decides {
            flags |= DECIDES;
        }
        if w.availability
            .windows()
            .iter()
            .all(|x| x.from_min() % 60 == 0 && x.to_min() % 60 == 0)
        {
            flags |= WHOLE_HOURS;
        }
        if blackouts.is_some_and(|hull| blackouts_exact(w, hull, gap_hours)) {
            flags |= EXACT_BLACKOUTS;
        }
        Self {
            id: w.id,
            cancellation_low: cancellation_low.unwrap_or(0),
            travel_km: w.max_travel_km.km() as f32,
            hours_cap: cap.unwrap_or(NO_CAP),
            blackouts: blackouts.unwrap_or([i32::MIN, i32::MAX]),
            gap_hours,
            counts: counts.map(|c| c.min(u32::from(u16::MAX)) as u16),
            tz: w.availability.tz(),
            sure: sure_hours(&w.availability),
            flags,
            skills: w
                .skills
                .iter()
                .fold(0, |bits, s| bits | skill_bit(s.name.as_str())),
        }
    }

    /// Whether the worker may hold the skill whose [`skill_bit`] is `bit`: `false` is certain, `true` is not.
    pub(crate) fn may_hold(&self, bit: u16) -> bool {
        self.skills & bit != 0
    }

    /// Whether the worker is active (the agency's status; a live suspension is checked apart).
    pub(crate) fn active(&self) -> bool {
        self.flags & ACTIVE != 0
    }

    /// Whether the record decides for this worker at all.
    pub(crate) fn decides(&self) -> bool {
        self.flags & DECIDES != 0
    }

    /// The track record as the features read it: every count exact, the cancellation weight rounded down
    /// (only the reliability feature reads it, and it can only rise). Cancellations are not kept: no feature
    /// and no filter reads them.
    pub(crate) fn stats(&self) -> WorkerStats {
        let [completed, no_shows, late, sum, count] = self.counts.map(u32::from);
        WorkerStats {
            completed_shifts: completed,
            no_shows,
            late_arrivals: late,
            cancellations: 0,
            cancellation_weight: f64::from(self.cancellation_low) / CANCELLATION_UNITS,
            rating_sum: sum,
            rating_count: count,
        }
    }

    /// The travel limit, within an `f32`'s rounding: `(low, high)` around the exact value.
    pub(crate) fn travel_km(&self) -> (f64, f64) {
        let t = f64::from(self.travel_km);
        (t * (1.0 - 1e-6), t * (1.0 + 1e-6))
    }

    /// The weekly hours cap (exact), if any.
    pub(crate) fn hours_cap(&self) -> Option<f64> {
        (self.hours_cap != NO_CAP).then(|| f64::from(self.hours_cap) / CAP_UNITS)
    }

    /// Whether a shift running over `[start, end]` (minutes since 1970, start rounded down and end up) is
    /// surely clear of every blackout.
    pub(crate) fn clear_of_blackouts(&self, start_min: i64, end_min: i64) -> bool {
        let first = i64::from(self.blackouts[0]);
        end_min <= first
            || start_min >= i64::from(self.blackouts[1])
            || (start_min >= first + 60 * i64::from(self.gap_hours[0])
                && end_min <= first + 60 * i64::from(self.gap_hours[1]))
    }

    /// Whether a shift on whole minutes running over `[start, end]` (minutes since 1970) that
    /// [`Self::clear_of_blackouts`] does not clear surely meets a blackout.
    pub(crate) fn blackouts_exact(&self) -> bool {
        self.flags & EXACT_BLACKOUTS != 0
    }

    /// Whether the weekly windows cover every local hour in `touched` whole.
    pub(crate) fn covers(&self, touched: &Touched) -> bool {
        (touched.first..=touched.last).all(|i| touched.mask[i] & !self.sure[i] == 0)
    }

    /// Whether a shift whose local hours [`Self::covers`] refuses is surely outside the weekly windows: they
    /// start and end on whole hours, so every hour the shift touches must lie whole in their union.
    pub(crate) fn windows_whole(&self) -> bool {
        self.flags & WHOLE_HOURS != 0
    }
}

/// Whether an instant falls on a whole minute (no seconds, no fraction): where the record's minutes are exact.
pub(crate) fn on_whole_minute(t: chrono::DateTime<chrono::Utc>) -> bool {
    t.timestamp_subsec_nanos() == 0 && t.timestamp().rem_euclid(60) == 0
}

/// A skill name's bit in [`Record::may_hold`]: FNV-1a of its bytes, one of 16 bits.
pub(crate) fn skill_bit(name: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    1 << (h % 16)
}

/// The local hours of the week a shift touches, for [`Record::covers`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Touched {
    mask: [u8; WEEK_HOURS / 8],
    first: usize,
    last: usize,
}

impl Touched {
    /// The hours `[start, start + len)` touches, in local seconds since Monday 00:00 (`start` within the
    /// week); `None` when the shift is empty or longer than a week, which the record does not decide.
    pub(crate) fn new(start: i64, len: i64) -> Option<Self> {
        const WEEK_S: i64 = 7 * 24 * 3600;
        if len <= 0 || len > WEEK_S || !(0..WEEK_S).contains(&start) {
            return None;
        }
        let mut mask = [0u8; WEEK_HOURS / 8];
        let first_h = start / 3600;
        let last_h = (start + len - 1) / 3600;
        for h in first_h..=last_h {
            let h = (h as usize) % WEEK_HOURS;
            mask[h / 8] |= 1 << (h % 8);
        }
        let first = mask.iter().position(|&b| b != 0)?;
        let last = mask.iter().rposition(|&b| b != 0)?;
        Some(Self { mask, first, last })
    }
}

/// [`Record::hours_cap`]'s unit: 1/64 of an hour, so that caps in quarter hours are kept exactly.
const CAP_UNITS: f64 = 64.0;
/// No weekly hours cap.
const NO_CAP: u16 = u16::MAX;
/// [`Record::stats`]' unit of the cancellation weight: 1/1024.
const CANCELLATION_UNITS: f64 = 1024.0;

/// A cancellation weight in 1/1024ths, rounded down (negative weights count as 0, as in the reliability
/// feature) and capped at what 16 bits hold; `None` when it is not a number.
fn cancellation_units(x: f64) -> Option<u16> {
    if x.is_nan() {
        return None;
    }
    // Scaling by a power of two is exact, and `floor` too: the value kept is at most the weight.
    Some(
        (x.max(0.0) * CANCELLATION_UNITS)
            .floor()
            .min(f64::from(u16::MAX)) as u16,
    )
}

/// The longest gap between the worker's blackouts, as [`Record::gap_hours`] keeps it: whole hours after
/// `first` (the hull's start in minutes), the gap's start rounded up and its end down; `[1, 0]` when there is
/// no gap of a whole hour.
fn blackout_gap(w: &Worker, first: i32) -> [u16; 2] {
    let mut spans: Vec<(i64, i64)> = w
        .blackouts
        .iter()
        // Seconds: starts rounded down and ends up, so that the gap between them can only shrink.
        .map(|b| {
            let end = b.end();
            (
                b.start().timestamp(),
                end.timestamp() + i64::from(end.timestamp_subsec_nanos() > 0),
            )
        })
        .collect();
    spans.sort_unstable();
    let mut best = [1, 0];
    let mut best_len = 0;
    let mut reach = i64::MIN;
    for (start, end) in spans {
        if reach != i64::MIN && start > reach {
            // A gap from `reach` to `start`, in seconds: whole hours after the hull's start, inward.
            let base = i64::from(first) * 60;
            let from =
                (reach - base).div_euclid(3600) + i64::from((reach - base).rem_euclid(3600) > 0);
            let to = ((start - base).div_euclid(3600)).min(i64::from(u16::MAX));
            if to - from > best_len && from >= 0 {
                best_len = to - from;
                best = [from as u16, to as u16];
            }
        }
        reach = reach.max(end);
    }
    best
}

/// Whether the blackouts are exactly the `hull` (whole minutes since 1970) less the `gap` (whole hours after
/// its start, as [`blackout_gap`] keeps it): their union is one period, or two with that gap between them,
/// every end on a whole minute.
fn blackouts_exact(w: &Worker, hull: [i32; 2], gap: [u16; 2]) -> bool {
    let mut spans: Vec<(i64, i64)> = Vec::with_capacity(w.blackouts.len());
    for b in &w.blackouts {
        let (s, e) = (b.start(), b.end());
        if !on_whole_minute(s) || !on_whole_minute(e) || s >= e {
            return false;
        }
        spans.push((s.timestamp() / 60, e.timestamp() / 60));
    }
    spans.sort_unstable();
    // The union, as periods that neither overlap nor touch.
    let mut union: Vec<(i64, i64)> = Vec::with_capacity(2);
    for (s, e) in spans {
        match union.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => union.push((s, e)),
        }
    }
    let first = i64::from(hull[0]);
    let gap = (
        first + 60 * i64::from(gap[0]),
        first + 60 * i64::from(gap[1]),
    );
    match union.as_slice() {
        [] => true,
        [(s, e)] => (*s, *e) == (first, i64::from(hull[1])) && gap.0 > gap.1,
        [(s0, e0), (s1, e1)] => (*s0, *e1) == (first, i64::from(hull[1])) && (*e0, *s1) == gap,
        _ => false,
    }
}

/// The hull of the blackouts in whole minutes since 1970 (start down, end up); `[MAX, MIN]` (clear of
/// everything) when there is none, `None` when it does not fit 32 bits.
fn blackout_hull(w: &Worker) -> Option<[i32; 2]> {
    let (Some(first), Some(last)) = (
        w.blackouts.iter().map(|b| b.start()).min(),
        w.blackouts.iter().map(|b| b.end()).max(),
    ) else {
        return Some([i32::MAX, i32::MIN]);
    };
    let start = first.timestamp().div_euclid(60);
    let end = {
        let secs = last.timestamp() + i64::from(last.timestamp_subsec_nanos() > 0);
        secs.div_euclid(60) + i64::from(secs.rem_euclid(60) > 0)
    };
    Some([i32::try_from(start).ok()?, i32::try_from(end).ok()?])
}

/// The local hours of the week (Monday 00:00 first) that the union of the weekly windows covers whole,
/// windows wrapping from Sunday into Monday. The exact check (`Availability::covers_local`, for a shift with
/// no offset change inside) accepts a shift inside the union of the windows' occurrences, so a shift whose
/// every local hour is in this set is accepted by it.
fn sure_hours(a: &Availability) -> [u8; WEEK_HOURS / 8] {
    let mut spans: Vec<(u32, u32)> = Vec::new();
    for w in a.windows() {
        let from = u32::from(w.from_min());
        let len = if w.crosses_midnight() {
            DAY_MIN - from + u32::from(w.to_min())
        } else {
            u32::from(w.to_min()).saturating_sub(from)
        };
        if len == 0 {
            continue;
        }
        for d in 0..7 {
            if !w.days().has(d) {
                continue;
            }
            let s = d * DAY_MIN + from;
            let e = s + len;
            if e <= WEEK_MIN {
                spans.push((s, e));
            } else {
                spans.push((s, WEEK_MIN));
                spans.push((0, e - WEEK_MIN));
            }
        }
    }
    spans.sort_unstable();
    let mut out = [0u8; WEEK_HOURS / 8];
    let mut mark = |a: u32, b: u32| {
        for h in a.div_ceil(60)..b / 60 {
            let h = h as usize;
            out[h / 8] |= 1 << (h % 8);
        }
    };
    let mut cur: Option<(u32, u32)> = None;
    for (s, e) in spans {
        cur = match cur {
            Some((a, b)) if s <= b => Some((a, b.max(e))),
            Some((a, b)) => {
                mark(a, b);
                Some((s, e))
            }
            None => Some((s, e)),
        };
    }
    if let Some((a, b)) = cur {
        mark(a, b);
    }
    out
}

/// Bounds of the distance from a candidate's home to the venue, in km: `low ≤ d ≤ high` for the haversine
/// distance matching computes (`LatLon::distance_km`). Retrieval computes them on the card, where the
/// position is at hand.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Near {
    low: f32,
    high: f32,
}

impl Near {
    /// Bounds from the haversine terms `a_low ≤ a ≤ a_high` of the distance (`d = 2R·asin(√a)`): since
    /// `x ≤ asin x ≤ x/√(1−x²)`, `2R√a_low ≤ d ≤ 2R√(a_high/(1−a_high))`. Both are widened by a millionth and
    /// a millimetre, far above the rounding of either computation, before they are rounded to `f32`.
    pub(crate) fn from_haversine(a_low: f64, a_high: f64, radius_km: f64) -> Self {
        let low = 2.0 * radius_km * a_low.max(0.0).sqrt();
        let high = if a_high < 0.5 {
            2.0 * radius_km * (a_high.max(0.0) / (1.0 - a_high)).sqrt()
        } else {
            f64::INFINITY
        };
        Self {
            low: (low * (1.0 - 1e-6) - 1e-6).max(0.0) as f32,
            high: (high * (1.0 + 1e-6) + 1e-6) as f32,
        }
    }

    /// A lower bound of the distance.
    pub(crate) fn low(&self) -> f64 {
        f64::from(self.low)
    }

    /// An upper bound of the distance.
    pub(crate) fn high(&self) -> f64 {
        f64::from(self.high)
    }
}

/// What retrieval checked exactly of every candidate it returned: the venue its distance bounds are from,
/// and the skills, languages and certifications every candidate holds (the index's terms). Ranking uses
/// the records only for a role asking exactly these.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The venue.
    pub center: LatLon,
    /// Every candidate has each of these skills at least at its level.
    pub skills: Vec<SkillReq>,
    /// Every candidate speaks each of these.
    pub languages: Vec<Language>,
    /// Every candidate holds each of these.
    pub certifications: Vec<Certification>,
}

impl Checked {
    /// Whether a ranking for this venue and role may skip the skill, language and certification filters for
    /// these candidates and use their distance bounds. The role's skills must be sorted by name without
    /// repeats: the exact filter walks both lists in order, and would refuse some workers holding every term.
    pub(crate) fn serves(&self, center: LatLon, role: &crate::domain::Role) -> bool {
        self.center.lat().to_bits() == center.lat().to_bits()
            && self.center.lon().to_bits() == center.lon().to_bits()
            && role.skills.windows(2).all(|p| p[0].name < p[1].name)
            && self.skills == role.skills
            && self.languages == role.languages
            && self.certifications == role.certifications
    }
}

/// A retrieved candidate's record, distance bounds and what retrieval checked, for [`super::Candidate`].
#[derive(Debug, Clone, Copy)]
pub struct Fast<'a> {
    pub(crate) record: &'a Record,
    pub(crate) near: Near,
    pub(crate) checked: &'a Checked,
}

impl<'a> Fast<'a> {
    /// Bundles what retrieval hands over of one candidate.
    pub fn new(record: &'a Record, near: Near, checked: &'a Checked) -> Self {
        Self {
            record,
            near,
            checked,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Record;
    use crate::domain::availability::clear_of_blackouts;
    use crate::domain::{Availability, Days, Interval, WeeklyWindow};
    use crate::matching::filters::Zones;
    use crate::matching::fixtures::worker;
    use chrono::{DateTime, Duration, Utc};
    use rand::{Rng, SeedableRng};

    /// The shift in minutes as ranking gives it to the record: start rounded down, end up.
    fn minutes(shift: &Interval) -> (i64, i64) {
        let end = shift.end();
        let secs = end.timestamp() + i64::from(end.timestamp_subsec_nanos() > 0);
        (
            shift.start().timestamp().div_euclid(60),
            secs.div_euclid(60) + i64::from(secs.rem_euclid(60) > 0),
        )
    }

    /// Random blackouts (none to four, at any second, overlapping or not) and shifts around them: whenever the
    /// record says a shift is clear, the exact check agrees; and a shift well inside the gap between two
    /// blackouts is decided clear on the record, not left to the profile.
    #[test]
    fn the_record_never_clears_a_shift_that_meets_a_blackout() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let base = DateTime::<Utc>::from_timestamp(1_795_000_000, 0).unwrap();
        let at = |s: i64| base + Duration::seconds(s);
        let (mut cleared, mut in_gaps, mut gaps_cleared) = (0, 0, 0);
        for _ in 0..20_000 {
            let mut w = worker(1);
            let n = rng.random_range(0..5);
            w.blackouts = (0..n)
                .map(|_| {
                    let s = rng.random_range(0..60 * 86_400);
                    Interval::new(at(s), at(s + rng.random_range(60..10 * 86_400))).unwrap()
                })
                .collect();
            w.blackouts.sort();
            let r = Record::new(&w);
            let s = rng.random_range(-86_400..70 * 86_400);
            let shift = Interval::new(at(s), at(s + rng.random_range(600..14 * 3600))).unwrap();
            let (a, b) = minutes(&shift);
            let exact = clear_of_blackouts(&w.blackouts, &shift);
            if r.clear_of_blackouts(a, b) {
                assert!(exact, "{:?} {shift:?}", w.blackouts);
                cleared += 1;
            }
            // Two blackouts a week apart and a shift in the middle of the gap.
            if n == 2 && w.blackouts[0].end() + Duration::days(7) < w.blackouts[1].start() {
                let mid =
                    w.blackouts[0].end() + (w.blackouts[1].start() - w.blackouts[0].end()) / 2;
                let shift = Interval::new(mid, mid + Duration::hours(9)).unwrap();
                let (a, b) = minutes(&shift);
                in_gaps += 1;
                if r.clear_of_blackouts(a, b) {
                    gaps_cleared += 1;
                }
            }
        }
        assert!(cleared > 5_000, "{cleared}");
        assert!(
            in_gaps > 500 && gaps_cleared == in_gaps,
            "{gaps_cleared} of {in_gaps}"
        );
    }

    /// Random blackouts made of whole minutes (one or two periods, the gap between two on whole hours after the
    /// first's start, or not) and shifts around them: where the record says it holds the blackouts exactly, a
    /// shift on whole minutes that it does not clear meets one; and most such sets are held exactly.
    #[test]
    fn a_shift_the_record_does_not_clear_of_exact_blackouts_meets_one() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        let base = DateTime::<Utc>::from_timestamp(1_795_000_020, 0).unwrap();
        let at = |min: i64| base + Duration::minutes(min);
        let (mut exact_sets, mut met, mut shifts) = (0, 0, 0);
        for _ in 0..20_000 {
            let mut w = worker(1);
            let first = rng.random_range(0..30 * 1440);
            let len = if rng.random_bool(0.5) {
                60 * rng.random_range(1..240)
            } else {
                rng.random_range(1..10 * 1440)
            };
            w.blackouts = vec![Interval::new(at(first), at(first + len)).unwrap()];
            if rng.random_bool(0.6) {
                // A second period after a gap of whole hours (or a few minutes more), touching or overlapping.
                let odd = if rng.random_bool(0.2) { 7 } else { 0 };
                let start = (first + len + 60 * rng.random_range(-3..200) + odd).max(first);
                let end = start + rng.random_range(1..5 * 1440);
                w.blackouts.push(Interval::new(at(start), at(end)).unwrap());
            }
            if rng.random_bool(0.05) {
                w.blackouts
                    .push(Interval::new(at(first + 1), at(first + 2)).unwrap());
                w.blackouts
                    .push(Interval::new(at(first + 30 * 1440), at(first + 31 * 1440)).unwrap());
            }
            let r = Record::new(&w);
            if !r.blackouts_exact() {
                continue;
            }
            exact_sets += 1;
            for _ in 0..8 {
                let s = first + rng.random_range(-1440..40 * 1440);
                let shift = Interval::new(at(s), at(s + rng.random_range(1..14 * 60))).unwrap();
                let (a, b) = minutes(&shift);
                if !r.clear_of_blackouts(a, b) {
                    shifts += 1;
                    assert!(
                        !clear_of_blackouts(&w.blackouts, &shift),
                        "{:?} {shift:?}",
                        w.blackouts
                    );
                } else {
                    assert!(
                        clear_of_blackouts(&w.blackouts, &shift),
                        "{:?} {shift:?}",
                        w.blackouts
                    );
                }
                met += usize::from(!clear_of_blackouts(&w.blackouts, &shift));
            }
        }
        assert!(exact_sets > 8_000, "{exact_sets}");
        assert!(shifts > 10_000 && met == shifts, "{met} {shifts}");
    }

    /// Random weekly windows (on whole hours or not, across midnight or not) in three timezones and random
    /// shifts, some across a change of Berlin's or New York's clocks: where the record covers the hours a shift
    /// touches, the exact check accepts the shift; where it does not and the windows are on whole hours, the
    /// exact check refuses it.
    #[test]
    fn windows_on_whole_hours_decide_every_shift_on_the_record() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        let zones = [
            chrono_tz::Asia::Shanghai,
            chrono_tz::Europe::Berlin,
            chrono_tz::America::New_York,
        ];
        // A week with Berlin's and New York's autumn changes in it.
        let base = DateTime::<Utc>::from_timestamp(1_792_450_000, 0).unwrap();
        let (mut refused, mut accepted, mut left) = (0, 0, 0);
        for _ in 0..20_000 {
            let whole = rng.random_bool(0.6);
            let tz = zones[rng.random_range(0..3)];
            let windows: Vec<WeeklyWindow> = (0..rng.random_range(0..4))
                .filter_map(|_| {
                    let step = if whole { 60 } else { 15 };
                    let from = step * rng.random_range(0..1440 / step);
                    let to = step * rng.random_range(1..=1440 / step);
                    (from != to && from < 1440).then(|| {
                        WeeklyWindow::new(
                            Days::from_bits(rng.random_range(1..128)),
                            from as u16,
                            to as u16,
                        )
                    })
                })
                .collect();
            let mut w = worker(1);
            w.availability = Availability::new(tz, windows);
            let r = Record::new(&w);
            if whole {
                assert!(r.windows_whole());
            }
            let start = base + Duration::seconds(rng.random_range(0..21 * 86_400));
            let start = if rng.random_bool(0.5) {
                start - Duration::seconds(start.timestamp().rem_euclid(3600))
            } else {
                start
            };
            let shift = Interval::new(
                start,
                start + Duration::minutes(rng.random_range(1..16 * 60)),
            )
            .unwrap();
            let mut zs = Zones::default();
            let zone = zs.get(tz, &shift);
            let exact = w.availability.covers_local(&zone.local);
            match &zone.touched {
                Some(t) if r.covers(t) => {
                    assert!(exact, "{:?} {shift:?}", w.availability);
                    accepted += 1;
                }
                Some(_) if r.windows_whole() => {
                    assert!(!exact, "{:?} {shift:?}", w.availability);
                    refused += 1;
                }
                _ => left += 1,
            }
        }
        assert!(
            refused > 5_000 && accepted > 1_000 && left > 1_000,
            "{refused} {accepted} {left}"
        );
    }
}
