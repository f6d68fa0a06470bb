//! The scoring policy: feature weights and the constants behind each feature, under a version number so a
//! ranking can always say which rules produced it. Changing any value means a new version.

use chrono::Duration;

use super::features::Feature;

/// Weights of the features that make up the base score. They sum to 1, so the base score lies in [0, 1];
/// the star bonus comes on top (see [`Policy::star_bonus`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Closeness to the venue. Default 0.25: travel is what makes workers late or cancel.
    pub proximity: f64,
    /// Bayesian rating. Default 0.20.
    pub rating: f64,
    /// Smoothed attendance with penalties. Default 0.20: a no-show costs the client more than anything.
    pub reliability: f64,
    /// Completed shifts overall. Default 0.10.
    pub experience: f64,
    /// Completed shifts with this client. Default 0.05.
    pub client_experience: f64,
    /// Share of the role's preferred skills held. Default 0.10.
    pub preferred_skills: f64,
    /// Fewer booked hours this week. Default 0.05: spreads work across the pool.
    pub fairness: f64,
    /// The client marked the worker a favourite. Default 0.05.
    pub favourite: f64,
}

impl Weights {
    /// The sum of the weights (1 for a well-formed policy).
    pub fn sum(&self) -> f64 {
        self.proximity
            + self.rating
            + self.reliability
            + self.experience
            + self.client_experience
            + self.preferred_skills
            + self.fairness
            + self.favourite
    }
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            proximity: 0.25,
            rating: 0.20,
            reliability: 0.20,
            experience: 0.10,
            client_experience: 0.05,
            preferred_skills: 0.10,
            fairness: 0.05,
            favourite: 0.05,
        }
    }
}

/// A versioned scoring policy. `Policy::default()` is the current version ([`Policy::CURRENT`]) with the values
/// documented on each field; [`Policy::of_version`] gives every earlier one, so a log replays under the policy it
/// was made with.
///
/// Versions: 1, the first; 2 adds the talent-pool preference (`pool_bonus`, 0 in version 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    /// Which policy produced a ranking. Default [`Policy::CURRENT`].
    pub version: u32,
    /// Feature weights, summing to 1.
    pub weights: Weights,
    /// Weight of the star feature, added on top of the base score for `star` workers on `high` and `urgent`
    /// orders. Default 0.10, so a star outranks a regular worker up to 0.1 ahead of them.
    pub star_bonus: f64,
    /// Weight of the pool feature, added on top of the base score for workers of the talent pool a role
    /// prefers. Default 0.10, like the star bonus.
    pub pool_bonus: f64,
    /// Minimum rest between two bookings of a worker; a shift closer than this to a live booking is an
    /// overlap. Default 8 hours.
    pub rest_gap: Duration,
    /// Prior mean of the Bayesian rating average `(C*m + sum)/(C + n)`: `m`. Default 4.0 stars.
    pub rating_prior_mean: f64,
    /// Prior weight of the Bayesian rating average: `C`, in ratings. Default 3.
    pub rating_prior_weight: f64,
    /// Prior shows `a` of the smoothed attendance `(a + completed)/(a + b + due)`. Default 4.
    pub reliability_prior_shows: f64,
    /// Prior no-shows `b` of the smoothed attendance. Default 1 (a newcomer starts at 0.8).
    pub reliability_prior_no_shows: f64,
    /// Penalty per late arrival, counted like a fraction of a no-show: reliability loses
    /// `late_penalty * late / (a + b + due)`. Default 0.5.
    pub late_penalty: f64,
    /// Penalty per unit of weighted cancellation (1 for a day's notice, up to 4 under two hours), counted the
    /// same way as late arrivals. Default 0.5.
    pub cancellation_penalty: f64,
    /// Completed shifts at which experience reaches 1; it grows as `ln(1 + n) / ln(1 + S)`, fast at first.
    /// Default 20.
    pub experience_saturation: f64,
    /// Completed shifts with the client at which client experience reaches 1, same curve. Default 5.
    pub client_experience_saturation: f64,
    /// Booked hours this week at which fairness reaches 0; it falls linearly from 1 at no hours. Default 40.
    pub fairness_cap_hours: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            version: Policy::CURRENT,
            weights: Weights::default(),
            star_bonus: 0.10,
            pool_bonus: 0.10,
            rest_gap: Duration::hours(8),
            rating_prior_mean: 4.0,
            rating_prior_weight: 3.0,
            reliability_prior_shows: 4.0,
            reliability_prior_no_shows: 1.0,
            late_penalty: 0.5,
            cancellation_penalty: 0.5,
            experience_saturation: 20.0,
            client_experience_saturation: 5.0,
            fairness_cap_hours: 40.0,
        }
    }
}

impl Policy {
    /// The version `Policy::default()` is.
    pub const CURRENT: u32 = 2;

    /// The policy of a version, or `None` for a version this build does not know (a log made by a newer one).
    pub fn of_version(version: u32) -> Option<Policy> {
        match version {
            // Before talent pools: no pool preference.
            1 => Some(Policy {
                version: 1,
                pool_bonus: 0.0,
                ..Policy::default()
            }),
            Policy::CURRENT => Some(Policy::default()),
            _ => None,
        }
    }

    /// The weight this policy gives a feature (the star bonus for [`Feature::Star`]).
    pub fn weight(&self, f: Feature) -> f64 {
        let w = &self.weights;
        match f {
            Feature::Proximity => w.proximity,
            Feature::Rating => w.rating,
            Feature::Reliability => w.reliability,
            Feature::Experience => w.experience,
            Feature::ClientExperience => w.client_experience,
            Feature::PreferredSkills => w.preferred_skills,
            Feature::Fairness => w.fairness,
            Feature::Favourite => w.favourite,
            Feature::Pool => self.pool_bonus,
            Feature::Star => self.star_bonus,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_version_two_with_weights_summing_to_one() {
        let p = Policy::default();
        assert_eq!(p.version, 2);
        assert!((p.weights.sum() - 1.0).abs() < 1e-12);
        assert_eq!(p.rest_gap, Duration::hours(8));
        let all: f64 = Feature::ALL.iter().map(|f| p.weight(*f)).sum();
        assert!((all - 1.0 - p.star_bonus - p.pool_bonus).abs() < 1e-12);
    }

    #[test]
    fn version_one_has_no_pool_preference_and_unknown_versions_are_none() {
        let v1 = Policy::of_version(1).expect("version 1 is known");
        assert_eq!(v1.version, 1);
        assert_eq!(v1.pool_bonus, 0.0);
        assert_eq!(v1.weights, Weights::default());
        assert_eq!(Policy::of_version(2), Some(Policy::default()));
        assert_eq!(Policy::of_version(3), None);
        assert_eq!(Policy::of_version(0), None);
    }
}
