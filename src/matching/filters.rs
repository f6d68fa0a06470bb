//! Hard filters: the exact checks a worker must pass before being scored, each failure named by a reason
//! code so the API and the metrics can say why a worker was left out.
//!
//! The filters run cheapest first and stop at the first failure, which is the reason reported:
//! inactive → excluded → blocked by client → skills → languages → certifications → minimum stars →
//! distance → blackouts → weekly availability → overlap with live bookings (rest gap) → weekly hours cap.
//! Blackouts come before weekly availability because they are cheaper (usually none).
//!
//! The minimum-stars filter uses the worker's plain rating average (`WorkerStats::rating_avg`), not the
//! Bayesian average the score uses: a client asking for 4 stars means 4 stars as the workers' profiles show
//! them. A worker with no rating passes only a minimum of 0.
//!
//! The weekly hours cap counts the hours already booked in the worker's local Monday–Sunday week that holds
//! the shift's start (bookings straddling the week boundary count their share), plus the whole shift.
//! A suspension, by the agency (`WorkerStatus::Suspended`) or in the live state until a later time, is
//! reported as `inactive`: to a client both mean the worker cannot be booked now.

use std::collections::BTreeSet;

use chrono::{Datelike, Offset, Timelike};
use chrono_tz::Tz;

use super::live::{WorkerLive, conflicts_in, hours_in, week_of};
use super::rank::MatchContext;
use super::record::Touched;
use crate::domain::availability::clear_of_blackouts;
use crate::domain::{Interval, LocalShift, SkillReq, Worker, WorkerId, WorkerStatus};

/// Why a worker was left out of a ranking. The variants are declared in the order of the API's list; the
/// filters themselves run cheapest first (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Not active: suspended by the agency, or suspended in the live state until a later time.
    Inactive,
    /// Lacks a required skill, or has it below the level asked.
    MissingSkill,
    /// Does not speak a required language.
    Language,
    /// Lacks a required certification.
    Certification,
    /// Rating average below the role's minimum (or unrated when the minimum is above 0).
    MinStars,
    /// Reliability below the role's minimum.
    MinReliability,
    /// Fewer completed shifts than the role asks for.
    MinCompletedShifts,
    /// Home farther from the venue than the worker's or the order's travel limit.
    TooFar,
    /// The shift is not inside the worker's weekly availability.
    Unavailable,
    /// The shift touches one of the worker's blackouts.
    Blackout,
    /// The shift overlaps a live booking of the worker, or comes closer to one than the rest gap.
    Overlap,
    /// The shift would take the worker's booked hours that week over the worker's cap.
    HoursCap,
    /// The order's client blocked the worker.
    BlockedByClient,
    /// The role restricts its candidates to a talent pool the worker is not in.
    NotInPool,
    /// The worker already holds an offer or an assignment in this order.
    Excluded,
}

impl Reason {
    /// How many reasons there are.
    pub const COUNT: usize = 15;

    /// Every reason, in declaration order.
    pub const ALL: [Reason; Reason::COUNT] = [
        Reason::Inactive,
        Reason::MissingSkill,
        Reason::Language,
        Reason::Certification,
        Reason::MinStars,
        Reason::MinReliability,
        Reason::MinCompletedShifts,
        Reason::TooFar,
        Reason::Unavailable,
        Reason::Blackout,
        Reason::Overlap,
        Reason::HoursCap,
        Reason::BlockedByClient,
        Reason::NotInPool,
        Reason::Excluded,
    ];

    /// The reason code the API and the metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Inactive => "inactive",
            Reason::MissingSkill => "missing_skill",
            Reason::Language => "language",
            Reason::Certification => "certification",
            Reason::MinStars => "min_stars",
            Reason::MinReliability => "min_reliability",
            Reason::MinCompletedShifts => "min_completed_shifts",
            Reason::TooFar => "too_far",
            Reason::Unavailable => "unavailable",
            Reason::Blackout => "blackout",
            Reason::Overlap => "overlap",
            Reason::HoursCap => "hours_cap",
            Reason::BlockedByClient => "blocked_by_client",
            Reason::NotInPool => "not_in_pool",
            Reason::Excluded => "excluded",
        }
    }
}

/// The shift placed in one timezone, computed once per query and zone rather than once per worker.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Zone {
    /// The shift in local weekly time, for the availability check.
    pub(crate) local: LocalShift,
    /// The Monday–Sunday week containing the shift's start, for the hours cap and fairness.
    pub(crate) week: Interval,
    /// The local hours of the week the shift touches, when no offset change falls inside it (the case in
    /// which the exact check works on local weekly time), for the ranking records (`record.rs`).
    pub(crate) touched: Option<Touched>,
}

impl Zone {
    fn new(tz: Tz, shift: &Interval) -> Self {
        // The same placement as `LocalShift::new`: local weekly seconds only when the offset is the same at
        // both ends.
        let ls = shift.start().with_timezone(&tz);
        let le = shift.end().with_timezone(&tz);
        let touched = (ls.offset().fix() == le.offset().fix())
            .then(|| {
                let s = i64::from(ls.weekday().num_days_from_monday()) * 86_400
                    + i64::from(ls.num_seconds_from_midnight());
                Touched::new(s, shift.duration().num_seconds())
            })
            .flatten();
        Self {
            local: LocalShift::new(tz, shift),
            week: week_of(tz, shift.start()),
            touched,
        }
    }
}

/// The zones a thread has met so far in one query. A query's candidates live in very few timezones, so a
/// short list searched from the last hit beats a hash map, and each thread of the parallel pass keeps its
/// own, so nothing is shared or locked.
#[derive(Debug, Clone, Default)]
pub(crate) struct Zones {
    seen: Vec<(Tz, Zone)>,
    last: usize,
}

impl Zones {
    pub(crate) fn get(&mut self, tz: Tz, shift: &Interval) -> &Zone {
        if self.seen.get(self.last).is_some_and(|(t, _)| *t == tz) {
            return &self.seen[self.last].1;
        }
        match self.seen.iter().position(|(t, _)| *t == tz) {
            Some(i) => self.last = i,
            None => {
                self.seen.push((tz, Zone::new(tz, shift)));
                self.last = self.seen.len() - 1;
            }
        }
        &self.seen[self.last].1
    }
}

/// What a worker who passed every filter carries on to scoring.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Passed<'a> {
    /// Haversine distance from home to the venue.
    pub(crate) distance_km: f64,
    /// The effective travel limit: the smaller of the worker's and the order's.
    pub(crate) limit_km: f64,
    /// Hours already booked in the week of the shift.
    pub(crate) week_hours: f64,
    /// The worker's live entry, if any.
    pub(crate) live: Option<&'a WorkerLive>,
}

/// A query made ready: everything that depends only on the order, the role and the live state is looked up
/// once here, so the per-worker checks allocate nothing.
#[derive(Debug, Clone)]
pub(crate) struct Prepared<'a> {
    pub(crate) ctx: MatchContext<'a>,
    pub(crate) blocked: Option<&'a BTreeSet<WorkerId>>,
    pub(crate) favourites: Option<&'a BTreeSet<WorkerId>>,
    /// The role's talent pool's workers (empty for a pool that is gone), and whether the role restricts to it.
    pub(crate) pool: Option<(&'a BTreeSet<WorkerId>, bool)>,
    pub(crate) shift_hours: f64,
}

/// The members of a pool that is gone: nobody.
static NO_POOL: BTreeSet<WorkerId> = BTreeSet::new();

impl<'a> Prepared<'a> {
    /// Prepares a query.
    pub(crate) fn new(ctx: MatchContext<'a>) -> Self {
        let shift = ctx.order.shift;
        let client = ctx.order.client_ref.as_str();
        Self {
            blocked: ctx.live.blocked(ctx.order.agency, client),
            favourites: ctx.live.favourites(ctx.order.agency, client),
            pool: ctx.role.pool.map(|p| {
                (
                    ctx.live.pool(ctx.order.agency, p.id).unwrap_or(&NO_POOL),
                    p.restrict,
                )
            }),
            shift_hours: shift.hours(),
            ctx,
        }
    }

    /// Runs the filters cheapest first and returns the first failure, or what scoring needs.
    pub(crate) fn filter(&self, w: &Worker, zones: &mut Zones) -> Result<Passed<'a>, Reason> {
        let ctx = &self.ctx;
        let live = ctx.live.entry(w.id);
        if w.status != WorkerStatus::Active
            || live
                .and_then(|l| l.suspended_until)
                .is_some_and(|until| ctx.now < until)
        {
            return Err(Reason::Inactive);
        }
        if !ctx.exclude.is_empty() && ctx.exclude.contains(&w.id) {
            return Err(Reason::Excluded);
        }
        if self.blocked.is_some_and(|b| b.contains(&w.id)) {
            return Err(Reason::BlockedByClient);
        }
        if let Some((members, true)) = self.pool
            && !members.contains(&w.id)
        {
            return Err(Reason::NotInPool);
        }
        if !has_skills(w, &ctx.role.skills) {
            return Err(Reason::MissingSkill);
        }
        if !ctx.role.languages.iter().all(|l| w.speaks(l)) {
            return Err(Reason::Language);
        }
        if !ctx.role.certifications.iter().all(|c| w.certified(c)) {
            return Err(Reason::Certification);
        }
        let min = ctx.role.min_stars.get();
        if min > 0.0 && !w.stats.rating_avg().is_some_and(|avg| avg >= min) {
            return Err(Reason::MinStars);
        }
        if ctx.role.min_reliability > 0.0
            && super::features::reliability(&w.stats, ctx.policy) < ctx.role.min_reliability
        {
            return Err(Reason::MinReliability);
        }
        if w.stats.completed_shifts < ctx.role.min_completed_shifts {
            return Err(Reason::MinCompletedShifts);
        }
        let distance_km = w.home.distance_km(ctx.order.venue.location);
        let limit_km = match ctx.order.max_travel_km {
            Some(o) => o.km().min(w.max_travel_km.km()),
            None => w.max_travel_km.km(),
        };
        if distance_km > limit_km {
            return Err(Reason::TooFar);
        }
        let shift = &ctx.order.shift;
        if !clear_of_blackouts(&w.blackouts, shift) {
            return Err(Reason::Blackout);
        }
        let zone = zones.get(w.availability.tz(), shift);
        if !w.availability.covers_local(&zone.local) {
            return Err(Reason::Unavailable);
        }
        if conflicts_in(live, shift, ctx.policy.rest_gap) {
            return Err(Reason::Overlap);
        }
        let week_hours = hours_in(live, &zone.week);
        if let Some(cap) = w.max_hours_per_week
            && week_hours + self.shift_hours > cap + 1e-9
        {
            return Err(Reason::HoursCap);
        }
        Ok(Passed {
            distance_km,
            limit_km,
            week_hours,
            live,
        })
    }
}

/// Whether the worker has every required skill at the level asked. Both lists are sorted by name, so one
/// merge walk decides it.
fn has_skills(w: &Worker, reqs: &[SkillReq]) -> bool {
    let mut have = w.skills.iter();
    'req: for r in reqs {
        for s in have.by_ref() {
            match s.name.cmp(&r.name) {
                std::cmp::Ordering::Less => continue,
                std::cmp::Ordering::Equal if s.level >= r.min_level => continue 'req,
                _ => return false,
            }
        }
        return false;
    }
    true
}

/// Checks one worker against every hard filter: `Ok` if eligible, otherwise the first failing reason.
pub fn check(ctx: &MatchContext<'_>, worker: &Worker) -> Result<(), Reason> {
    Prepared::new(*ctx)
        .filter(worker, &mut Zones::default())
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::domain::time::parse_instant;
    use crate::domain::{
        Certification, Days, Language, MinStars, OrderId, SkillName, TravelKm, WeeklyWindow,
    };
    use crate::matching::fixtures::{order, shift, worker};
    use crate::matching::live::{Booking, LiveState};
    use crate::matching::policy::Policy;
    use crate::matching::rank::MatchContext;

    /// A scenario: the base order and an eligible worker, each changed by the fixture, plus the live state.
    struct Fixture {
        prepare: fn(&mut crate::domain::Order, &mut Worker, &mut LiveState, &mut HashSet<WorkerId>),
    }

    fn check_case(name: &str, f: Fixture, expected: Result<(), Reason>) {
        let mut o = order();
        let mut w = worker(1);
        let mut live = LiveState::new();
        let mut exclude = HashSet::new();
        (f.prepare)(&mut o, &mut w, &mut live, &mut exclude);
        let policy = Policy::default();
        let ctx = MatchContext {
            order: &o,
            role: &o.roles[0],
            live: &live,
            policy: &policy,
            now: parse_instant("2026-11-20T00:00:00Z").unwrap(),
            exclude: &exclude,
        };
        assert_eq!(check(&ctx, &w), expected, "{name}");
        if let Err(r) = expected {
            assert_eq!(check(&ctx, &w).unwrap_err().as_str(), r.as_str());
        }
    }

    fn reason(
        name: &str,
        expected: Reason,
        prepare: fn(&mut crate::domain::Order, &mut Worker, &mut LiveState, &mut HashSet<WorkerId>),
    ) {
        check_case(name, Fixture { prepare }, Err(expected));
    }

    #[test]
    fn a_worker_below_the_minimum_reliability_or_completed_shifts_is_excluded_under_its_reason() {
        reason("unreliable", Reason::MinReliability, |o, w, _, _| {
            o.roles[0].min_reliability = 0.9;
            w.stats.completed_shifts = 10;
            w.stats.no_shows = 5;
        });
        reason("newcomer", Reason::MinCompletedShifts, |o, w, _, _| {
            o.roles[0].min_completed_shifts = 3;
            w.stats.completed_shifts = 2;
        });
        check_case(
            "seasoned",
            Fixture {
                prepare: |o, w, _, _| {
                    o.roles[0].min_reliability = 0.8;
                    o.roles[0].min_completed_shifts = 20;
                    w.stats.completed_shifts = 20;
                },
            },
            Ok(()),
        );
    }

    #[test]
    fn the_base_worker_is_eligible() {
        check_case(
            "base",
            Fixture {
                prepare: |_, _, _, _| {},
            },
            Ok(()),
        );
    }

    #[test]
    fn a_suspended_worker_is_excluded_as_inactive() {
        reason("status", Reason::Inactive, |_, w, _, _| {
            w.status = WorkerStatus::Suspended
        });
        reason("live suspension", Reason::Inactive, |_, w, l, _| {
            l.suspend(w.id, parse_instant("2026-12-01T00:00:00Z").unwrap())
        });
        check_case(
            "expired suspension",
            Fixture {
                prepare: |_, w, l, _| {
                    l.suspend(w.id, parse_instant("2026-11-19T00:00:00Z").unwrap())
                },
            },
            Ok(()),
        );
    }

    #[test]
    fn a_worker_without_the_skill_or_below_its_level_is_excluded_as_missing_skill() {
        reason("absent", Reason::MissingSkill, |o, _, _, _| {
            o.roles[0].skills.push(SkillReq {
                name: SkillName::new("zookeeper").unwrap(),
                min_level: crate::domain::Level::MIN,
            })
        });
        reason("level", Reason::MissingSkill, |o, _, _, _| {
            o.roles[0].skills[0].min_level = crate::domain::Level::MAX
        });
    }

    #[test]
    fn a_worker_without_the_language_is_excluded_as_language() {
        reason("language", Reason::Language, |o, _, _, _| {
            o.roles[0].languages = vec![Language::new("fr").unwrap()]
        });
    }

    #[test]
    fn a_worker_without_the_certification_is_excluded_as_certification() {
        reason("cert", Reason::Certification, |o, _, _, _| {
            o.roles[0].certifications = vec![Certification::new("forklift_license").unwrap()]
        });
    }

    #[test]
    fn a_worker_rated_below_the_minimum_or_unrated_is_excluded_as_min_stars() {
        reason("low", Reason::MinStars, |o, _, _, _| {
            o.roles[0].min_stars = MinStars::new(4.5).unwrap()
        });
        reason("unrated", Reason::MinStars, |o, w, _, _| {
            o.roles[0].min_stars = MinStars::new(1.0).unwrap();
            w.stats.rating_count = 0;
            w.stats.rating_sum = 0;
        });
        check_case(
            "unrated passes zero",
            Fixture {
                prepare: |_, w, _, _| {
                    w.stats.rating_count = 0;
                    w.stats.rating_sum = 0;
                },
            },
            Ok(()),
        );
    }

    #[test]
    fn a_worker_too_far_away_is_excluded_as_too_far() {
        reason("worker limit", Reason::TooFar, |_, w, _, _| {
            w.max_travel_km = TravelKm::new(5.0).unwrap()
        });
        reason("order limit", Reason::TooFar, |o, _, _, _| {
            o.max_travel_km = Some(TravelKm::new(5.0).unwrap())
        });
    }

    #[test]
    fn a_worker_not_available_at_that_time_is_excluded_as_unavailable() {
        reason("window", Reason::Unavailable, |_, w, _, _| {
            w.availability = crate::domain::Availability::new(
                w.availability.tz(),
                vec![WeeklyWindow::new(Days::from_bits(1), 8 * 60, 22 * 60)],
            )
        });
    }

    #[test]
    fn a_worker_with_a_blackout_over_the_shift_is_excluded_as_blackout() {
        reason("blackout", Reason::Blackout, |_, w, _, _| {
            w.blackouts = vec![shift(
                "2026-11-28T00:00:00+08:00",
                "2026-11-29T00:00:00+08:00",
            )]
        });
    }

    #[test]
    fn a_worker_booked_within_the_rest_gap_is_excluded_as_overlap() {
        // The shift is Saturday 09:00–18:00 Shanghai; a booking ending at 03:00 leaves six hours of rest.
        reason("rest gap", Reason::Overlap, |_, w, l, _| {
            l.add_booking(
                w.id,
                Booking {
                    interval: shift("2026-11-27T20:00:00+08:00", "2026-11-28T03:00:00+08:00"),
                    order: OrderId::new(99),
                    role: None,
                    client_ref: "other".into(),
                },
            )
        });
        check_case(
            "enough rest",
            Fixture {
                prepare: |_, w, l, _| {
                    l.add_booking(
                        w.id,
                        Booking {
                            interval: shift(
                                "2026-11-27T17:00:00+08:00",
                                "2026-11-28T01:00:00+08:00",
                            ),
                            order: OrderId::new(99),
                            role: None,
                            client_ref: "other".into(),
                        },
                    )
                },
            },
            Ok(()),
        );
    }

    #[test]
    fn a_worker_over_the_weekly_cap_is_excluded_as_hours_cap() {
        // 32 booked hours on Monday and Tuesday of the same week, plus 9 for the shift, passes a cap of 41
        // and fails a cap of 40.
        fn book(w: &Worker, l: &mut LiveState) {
            for (a, b, id) in [
                ("2026-11-23T00:00:00+08:00", "2026-11-23T16:00:00+08:00", 1),
                ("2026-11-25T00:00:00+08:00", "2026-11-25T16:00:00+08:00", 2),
            ] {
                l.add_booking(
                    w.id,
                    Booking {
                        interval: shift(a, b),
                        order: OrderId::new(id),
                        role: None,
                        client_ref: "other".into(),
                    },
                );
            }
        }
        reason("over", Reason::HoursCap, |_, w, l, _| {
            w.max_hours_per_week = Some(40.0);
            book(w, l);
        });
        check_case(
            "at the cap",
            Fixture {
                prepare: |_, w, l, _| {
                    w.max_hours_per_week = Some(41.0);
                    book(w, l);
                },
            },
            Ok(()),
        );
    }

    #[test]
    fn a_worker_blocked_by_the_client_is_excluded_as_blocked_by_client() {
        reason("blocked", Reason::BlockedByClient, |o, w, l, _| {
            l.set_blocked(o.agency, &o.client_ref, w.id, true)
        });
        check_case(
            "blocked by another client",
            Fixture {
                prepare: |o, w, l, _| l.set_blocked(o.agency, "someone-else", w.id, true),
            },
            Ok(()),
        );
    }

    #[test]
    fn a_worker_already_in_the_order_is_excluded_as_excluded() {
        reason("excluded", Reason::Excluded, |_, w, _, ex| {
            ex.insert(w.id);
        });
    }

    #[test]
    fn every_reason_has_a_distinct_snake_case_code() {
        let codes: BTreeSet<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes.len(), Reason::COUNT);
        assert!(
            codes
                .iter()
                .all(|c| c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }
}
