//! Scoring features: each one a number in [0, 1] that says how good a worker who passed the hard filters is
//! for this shift in one respect. The score is the policy's weighted sum of them.

use super::filters::{Passed, Prepared};
use super::policy::Policy;
use crate::domain::{Tier, Worker, WorkerStats};

/// One scoring feature; `as_str` is the key used in the API's `explain` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feature {
    /// 1 at the venue, falling linearly to 0 at the effective travel limit (the smaller of the worker's and
    /// the order's). Linear keeps the explanation easy to read: half the limit is worth half.
    Proximity,
    /// The Bayesian rating average `(C*m + sum)/(C + n)`, mapped from 1..5 stars to 0..1.
    Rating,
    /// Smoothed attendance `(a + completed)/(a + b + due)`, less penalties for late arrivals and weighted
    /// cancellations, clamped to [0, 1].
    Reliability,
    /// Completed shifts, saturating: `ln(1 + n) / ln(1 + S)`, capped at 1.
    Experience,
    /// Completed shifts with this order's client, on the same curve with its own saturation.
    ClientExperience,
    /// Share of the role's preferred skills the worker has (1 when the role prefers none).
    PreferredSkills,
    /// Fewer booked hours this week ranks higher: 1 at none, falling linearly to 0 at the policy's cap.
    Fairness,
    /// 1 if the client marked the worker a favourite.
    Favourite,
    /// 1 if the role prefers a talent pool and the worker is in it (weighted by the policy's pool bonus, on top
    /// of the base score).
    Pool,
    /// 1 for `star` workers on orders whose priority favours stars (`high`, `urgent`), else 0.
    Star,
}

impl Feature {
    /// How many features there are.
    pub const COUNT: usize = 10;

    /// Every feature, in the order explanations list them.
    pub const ALL: [Feature; Feature::COUNT] = [
        Feature::Proximity,
        Feature::Rating,
        Feature::Reliability,
        Feature::Experience,
        Feature::ClientExperience,
        Feature::PreferredSkills,
        Feature::Fairness,
        Feature::Favourite,
        Feature::Pool,
        Feature::Star,
    ];

    /// The key used in the API's `explain` object.
    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Proximity => "proximity",
            Feature::Rating => "rating",
            Feature::Reliability => "reliability",
            Feature::Experience => "experience",
            Feature::ClientExperience => "client_experience",
            Feature::PreferredSkills => "preferred_skills",
            Feature::Fairness => "fairness",
            Feature::Favourite => "favourite",
            Feature::Pool => "pool",
            Feature::Star => "star",
        }
    }
}

/// The Bayesian rating average in stars: the prior mean when unrated, the plain average as ratings pile up.
pub fn bayesian_rating(stats: &WorkerStats, policy: &Policy) -> f64 {
    let c = policy.rating_prior_weight;
    (c * policy.rating_prior_mean + f64::from(stats.rating_sum))
        / (c + f64::from(stats.rating_count))
}

/// The rating feature: the Bayesian average mapped from 1..5 to 0..1.
pub fn rating(stats: &WorkerStats, policy: &Policy) -> f64 {
    ((bayesian_rating(stats, policy) - 1.0) / 4.0).clamp(0.0, 1.0)
}

/// The reliability feature: smoothed attendance less late-arrival and cancellation penalties.
pub fn reliability(stats: &WorkerStats, policy: &Policy) -> f64 {
    let (a, b) = (
        policy.reliability_prior_shows,
        policy.reliability_prior_no_shows,
    );
    let due = f64::from(stats.completed_shifts) + f64::from(stats.no_shows);
    let denom = a + b + due;
    let attendance = (a + f64::from(stats.completed_shifts)) / denom;
    let penalty = (policy.late_penalty * f64::from(stats.late_arrivals)
        + policy.cancellation_penalty * stats.cancellation_weight.max(0.0))
        / denom;
    (attendance - penalty).clamp(0.0, 1.0)
}

/// A count that saturates at `s`: `ln(1 + n) / ln(1 + s)`, capped at 1.
pub fn saturating(n: u32, s: f64) -> f64 {
    if s <= 0.0 {
        return 1.0;
    }
    ((1.0 + f64::from(n)).ln() / (1.0 + s).ln()).min(1.0)
}

/// The values of every feature, indexed like [`Feature::ALL`].
pub(crate) fn values(
    prep: &Prepared<'_>,
    w: &Worker,
    passed: &Passed<'_>,
) -> [f64; Feature::COUNT] {
    let ctx = &prep.ctx;
    let policy = ctx.policy;
    let proximity = if passed.limit_km > 0.0 {
        (1.0 - passed.distance_km / passed.limit_km).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let client_shifts = passed
        .live
        .and_then(|l| l.client_shifts.get(ctx.order.client_ref.as_str()).copied())
        .unwrap_or(0);
    let preferred = &ctx.role.preferred_skills;
    let preferred_skills = if preferred.is_empty() {
        1.0
    } else {
        let held = preferred
            .iter()
            .filter(|s| w.skill_level(s).is_some())
            .count();
        held as f64 / preferred.len() as f64
    };
    let fairness = if policy.fairness_cap_hours > 0.0 {
        (1.0 - passed.week_hours / policy.fairness_cap_hours).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let favourite = prep.favourites.is_some_and(|f| f.contains(&w.id));
    let star = ctx.order.priority.favours_stars() && w.stats.tier() == Tier::Star;
    let pooled = matches!(prep.pool, Some((m, false)) if m.contains(&w.id));
    [
        proximity,
        rating(&w.stats, policy),
        reliability(&w.stats, policy),
        saturating(w.stats.completed_shifts, policy.experience_saturation),
        saturating(client_shifts, policy.client_experience_saturation),
        preferred_skills,
        fairness,
        f64::from(u8::from(favourite)),
        f64::from(u8::from(pooled)),
        f64::from(u8::from(star)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(completed: u32, no_shows: u32, sum: u32, count: u32) -> WorkerStats {
        WorkerStats {
            completed_shifts: completed,
            no_shows,
            rating_sum: sum,
            rating_count: count,
            ..Default::default()
        }
    }

    #[test]
    fn an_unrated_worker_gets_the_prior_rating() {
        let p = Policy::default();
        assert_eq!(bayesian_rating(&stats(0, 0, 0, 0), &p), 4.0);
        assert!((rating(&stats(0, 0, 0, 0), &p) - 0.75).abs() < 1e-12);
        // One five-star rating moves the average only a quarter of the way: (3*4 + 5) / 4.
        assert!((bayesian_rating(&stats(1, 0, 5, 1), &p) - 4.25).abs() < 1e-12);
        // Many ratings dominate the prior.
        assert!(bayesian_rating(&stats(100, 0, 100, 100), &p) < 1.2);
    }

    #[test]
    fn reliability_is_smoothed_and_penalised() {
        let p = Policy::default();
        assert!((reliability(&stats(0, 0, 0, 0), &p) - 0.8).abs() < 1e-12);
        let good = reliability(&stats(20, 0, 0, 0), &p);
        let flaky = reliability(&stats(15, 5, 0, 0), &p);
        assert!(good > flaky, "{good} {flaky}");
        let mut late = stats(20, 0, 0, 0);
        late.late_arrivals = 4;
        let mut cancels = stats(20, 0, 0, 0);
        cancels.cancellation_weight = 8.0;
        assert!(reliability(&late, &p) < good);
        assert!(reliability(&cancels, &p) < reliability(&late, &p));
        let mut awful = stats(0, 30, 0, 0);
        awful.cancellation_weight = 100.0;
        assert_eq!(reliability(&awful, &p), 0.0);
    }

    #[test]
    fn experience_saturates_at_the_policy_count() {
        assert_eq!(saturating(0, 20.0), 0.0);
        assert!(saturating(5, 20.0) > 0.5);
        assert_eq!(saturating(20, 20.0), 1.0);
        assert_eq!(saturating(500, 20.0), 1.0);
    }

    #[test]
    fn every_feature_has_a_distinct_key() {
        let keys: std::collections::BTreeSet<&str> =
            Feature::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(keys.len(), Feature::COUNT);
        for (i, f) in Feature::ALL.iter().enumerate() {
            assert_eq!(*f as usize, i);
        }
    }
}
