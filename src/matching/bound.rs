//! Deciding a candidate on its ranking record (`record.rs`): the exact outcome of the hard filters when the
//! record is enough, and then an upper bound of the score instead of the score.
//!
//! The filters run in the same order as on the profile (`filters.rs`), so the reason reported is the same;
//! the skill, language and certification filters are skipped because retrieval's terms checked them
//! exactly (`Checked::serves`). Where the record cannot tell whether the shift meets a blackout or lies in
//! the weekly windows (see `record.rs` for when it can), that one filter reads the profile's list and the
//! record goes on with the rest. Where
//! it cannot be sure of anything else (see `record.rs`), the answer is [`Quick::Unsure`] and the caller runs
//! the exact filters on the profile.
//!
//! The bound adds up the same contributions, in the same order, as the score (`Explanation::sum`), each
//! feature value replaced by one at least as large: proximity from the lower bound of the distance and the
//! upper bound of the travel limit, reliability from the cancellation weight rounded down, preferred skills
//! by 1, experience by a table of the same function; rating, client experience, fairness, favourite and star
//! are exact. Rounding is monotone (`a ≤ b` gives `fl(a + c) ≤ fl(b + c)`), so the sum of larger values is at
//! least the score; a margin of `BOUND_SLACK` on top leaves room for the last bits of the distance's
//! computation.

use super::features::{self, Feature};
use super::filters::{Prepared, Reason, Zones};
use super::live::{conflicts_in, hours_in};
use super::rank::Candidate;
use super::record::{Fast, Record, on_whole_minute, skill_bit};
use crate::domain::Tier;
use crate::domain::availability::clear_of_blackouts;

/// Added to every bound: far above the rounding of any feature, far below any difference between scores that
/// matters. A candidate whose bound is below the threshold by less than this is scored exactly.
pub(crate) const BOUND_SLACK: f64 = 1e-9;

/// What the record says of one candidate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Quick {
    /// Left out by this filter, exactly as the profile's filters would.
    Out(Reason),
    /// Passes every filter; its score is at most this.
    Bound(f64),
    /// The record is not enough: check the profile.
    Unsure,
}

/// `ln(1 + n) / ln(1 + s)` capped at 1 (`features::saturating`) for small counts, computed once per query.
#[derive(Debug, Clone)]
struct Saturation {
    table: Vec<f64>,
}

impl Saturation {
    /// Counts past the table are bounded by 1, the cap of the curve; the table runs past the saturation
    /// point when it can, so the bound is then exact as well.
    const MAX: usize = 256;

    fn new(s: f64) -> Self {
        let len = if s > 0.0 && s < (Self::MAX - 2) as f64 {
            s.ceil() as usize + 2
        } else {
            Self::MAX
        };
        Self {
            table: (0..len as u32)
                .map(|n| features::saturating(n, s))
                .collect(),
        }
    }

    /// The value for `n`, or 1 (at least the value) past the table.
    #[inline]
    fn at_most(&self, n: u32) -> f64 {
        self.table.get(n as usize).copied().unwrap_or(1.0)
    }
}

/// A query made ready for deciding candidates on their records.
#[derive(Debug, Clone)]
pub(crate) struct Bounds<'p, 'a> {
    prep: &'p Prepared<'a>,
    experience: Saturation,
    client_experience: Saturation,
    /// The shift in minutes since 1970, start rounded down and end up.
    shift_min: (i64, i64),
    /// Whether both ends of the shift are whole minutes (then `shift_min` is the shift itself).
    shift_whole_min: bool,
    /// The policy's weight of each feature, in [`Feature::ALL`] order.
    weights: [f64; Feature::COUNT],
    /// The [`skill_bit`] of each of the role's preferred skills.
    preferred: Vec<u16>,
}

impl<'p, 'a> Bounds<'p, 'a> {
    pub(crate) fn new(prep: &'p Prepared<'a>) -> Self {
        let policy = prep.ctx.policy;
        let shift = prep.ctx.order.shift;
        let start = shift.start().timestamp().div_euclid(60);
        let end = {
            let e = shift.end();
            let secs = e.timestamp() + i64::from(e.timestamp_subsec_nanos() > 0);
            secs.div_euclid(60) + i64::from(secs.rem_euclid(60) > 0)
        };
        Self {
            prep,
            shift_whole_min: on_whole_minute(shift.start()) && on_whole_minute(shift.end()),
            experience: Saturation::new(policy.experience_saturation),
            client_experience: Saturation::new(policy.client_experience_saturation),
            shift_min: (start, end),
            weights: Feature::ALL.map(|f| policy.weight(f)),
            preferred: prep
                .ctx
                .role
                .preferred_skills
                .iter()
                .map(|s| skill_bit(s.as_str()))
                .collect(),
        }
    }

    /// Decides one candidate on its record (see the module doc). The caller has checked that the candidates'
    /// [`Checked`](super::record::Checked) serves this query. The candidate's profile is read only where
    /// the record cannot tell whether the shift meets a blackout or lies in the weekly windows: those two
    /// filters then run on the profile's own lists, exactly as in `filters.rs`, and the record decides the rest.
    pub(crate) fn decide<C: Candidate>(&self, f: &Fast<'_>, cand: &C, zones: &mut Zones) -> Quick {
        let r: &Record = f.record;
        if !r.decides() {
            return Quick::Unsure;
        }
        let prep = self.prep;
        let ctx = &prep.ctx;
        let live = ctx.live.entry(r.id);
        if !r.active()
            || live
                .and_then(|l| l.suspended_until)
                .is_some_and(|until| ctx.now < until)
        {
            return Quick::Out(Reason::Inactive);
        }
        if !ctx.exclude.is_empty() && ctx.exclude.contains(&r.id) {
            return Quick::Out(Reason::Excluded);
        }
        if prep.blocked.is_some_and(|b| b.contains(&r.id)) {
            return Quick::Out(Reason::BlockedByClient);
        }
        if let Some((members, true)) = prep.pool
            && !members.contains(&r.id)
        {
            return Quick::Out(Reason::NotInPool);
        }
        // Skills, languages and certifications: every retrieved candidate holds them (the index's terms).
        let stats = r.stats();
        let min = ctx.role.min_stars.get();
        if min > 0.0 && !stats.rating_avg().is_some_and(|avg| avg >= min) {
            return Quick::Out(Reason::MinStars);
        }
        if ctx.role.min_reliability > 0.0 {
            // The record's cancellation weight is rounded down, so its reliability is an upper bound: below
            // the minimum is certain, at or above it is not.
            if features::reliability(&stats, ctx.policy) < ctx.role.min_reliability {
                return Quick::Out(Reason::MinReliability);
            }
            return Quick::Unsure;
        }
        if stats.completed_shifts < ctx.role.min_completed_shifts {
            return Quick::Out(Reason::MinCompletedShifts);
        }
        let (travel_low, travel_high) = r.travel_km();
        let (limit_low, limit_high) = match ctx.order.max_travel_km {
            Some(o) => (o.km().min(travel_low), o.km().min(travel_high)),
            None => (travel_low, travel_high),
        };
        if f.near.high() > limit_low {
            return Quick::Unsure;
        }
        let shift = &ctx.order.shift;
        // Where the record is exact, what it does not clear meets a blackout; elsewhere the profile's list
        // decides.
        if !r.clear_of_blackouts(self.shift_min.0, self.shift_min.1)
            && ((self.shift_whole_min && r.blackouts_exact())
                || !clear_of_blackouts(&cand.profile().blackouts, shift))
        {
            return Quick::Out(Reason::Blackout);
        }
        let zone = zones.get(r.tz, shift);
        let unavailable = match &zone.touched {
            Some(t) if r.covers(t) => false,
            Some(_) if r.windows_whole() => true,
            _ => !cand.profile().availability.covers_local(&zone.local),
        };
        if unavailable {
            return Quick::Out(Reason::Unavailable);
        }
        if conflicts_in(live, shift, ctx.policy.rest_gap) {
            return Quick::Out(Reason::Overlap);
        }
        let week_hours = hours_in(live, &zone.week);
        if let Some(cap) = r.hours_cap()
            && week_hours + prep.shift_hours > cap + 1e-9
        {
            return Quick::Out(Reason::HoursCap);
        }

        // The bound: the features as `features::values` computes them, each replaced by one at least as large.
        let policy = ctx.policy;
        let proximity = if limit_high > 0.0 {
            (1.0 - f.near.low() / limit_high).clamp(0.0, 1.0) + BOUND_SLACK
        } else {
            1.0
        };
        let client_shifts = live
            .and_then(|l| l.client_shifts.get(ctx.order.client_ref.as_str()).copied())
            .unwrap_or(0);
        let fairness = if policy.fairness_cap_hours > 0.0 {
            (1.0 - week_hours / policy.fairness_cap_hours).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let favourite = prep.favourites.is_some_and(|fav| fav.contains(&r.id));
        let star = ctx.order.priority.favours_stars() && stats.tier() == Tier::Star;
        let pooled = matches!(prep.pool, Some((m, false)) if m.contains(&r.id));
        // As `features::values` counts the preferred skills held, counting those the record may hold.
        let preferred_skills = if self.preferred.is_empty() {
            1.0
        } else {
            let held = self.preferred.iter().filter(|&&b| r.may_hold(b)).count();
            held as f64 / self.preferred.len() as f64
        };
        let values = [
            proximity,
            features::rating(&stats, policy),
            features::reliability(&stats, policy),
            self.experience.at_most(stats.completed_shifts),
            self.client_experience.at_most(client_shifts),
            preferred_skills,
            fairness,
            f64::from(u8::from(favourite)),
            f64::from(u8::from(pooled)),
            f64::from(u8::from(star)),
        ];
        let mut sum = 0.0;
        for (w, v) in self.weights.iter().zip(values) {
            sum += w * v;
        }
        Quick::Bound(sum + BOUND_SLACK)
    }
}
