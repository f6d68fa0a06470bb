//! Standby sizing: how many standbys make a full crew at start likely enough, and for which roles.
//!
//! Each booked worker shows up with their own probability (the smoothed attendance rate), independently.
//! The number of workers who show among the crew and `k` standbys follows a Poisson-binomial distribution,
//! computed exactly by dynamic programming. A standby is held for one role (it must fit it), so an order with
//! several roles is full when every role is: `P(full) = Π P(role r full)`. [`plan`] adds standbys one at a
//! time to the role where the next one raises `P(full)` the most; `"auto"` stops at the fewest for which
//! `P(full)` ≥ the target (97% by default), a fixed number places exactly that many.

use crate::domain::WorkerStats;
use crate::matching::Policy;

/// The probability that a full crew is wanted at least this likely.
pub const AUTO_TARGET: f64 = 0.97;

/// The most standbys `"auto"` will hold for one order.
pub const AUTO_MAX: u32 = 50;

/// Where a worker's show-up probability starts and what it is drawn to: `shows` and `no_shows` pseudo-shifts
/// added to the worker's own record (a Beta prior).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Prior {
    /// Pseudo-shifts shown up for.
    pub shows: f64,
    /// Pseudo-shifts not shown up for.
    pub no_shows: f64,
}

impl Prior {
    /// The policy's constant prior (4 shows and 1 no-show by default: a newcomer at 0.8).
    pub fn of_policy(policy: &Policy) -> Self {
        Self {
            shows: policy.reliability_prior_shows,
            no_shows: policy.reliability_prior_no_shows,
        }
    }

    /// The prior fitted to an agency's own history (`shows` and `no_shows` summed over its workers' records):
    /// as many pseudo-shifts as the policy's prior, centred on the agency's observed show-up rate. The rate is
    /// itself smoothed by the policy's prior, so an agency without history starts where the policy does and
    /// one with thousands of shifts is centred on what its workers actually do. A newcomer at an agency whose
    /// workers show 91% of the time is expected at about 91%, not at the policy's pessimistic 80%; standby is
    /// sized on that.
    pub fn fitted(policy: &Policy, shows: u64, no_shows: u64) -> Self {
        let base = Self::of_policy(policy);
        let strength = base.shows + base.no_shows;
        if strength <= 0.0 || shows + no_shows == 0 {
            return base;
        }
        let (s, n) = (shows as f64, no_shows as f64);
        let mean = (base.shows + s) / (strength + s + n);
        Self {
            shows: strength * mean,
            no_shows: strength * (1.0 - mean),
        }
    }
}

/// A worker's smoothed show-up probability: `(a + completed) / (a + b + due)`, with the prior's `a` and `b`.
pub fn show_up(stats: &WorkerStats, prior: Prior) -> f64 {
    let due = f64::from(stats.completed_shifts) + f64::from(stats.no_shows);
    ((prior.shows + f64::from(stats.completed_shifts)) / (prior.shows + prior.no_shows + due))
        .clamp(0.0, 1.0)
}

/// The probability that at least `need` of the workers with show-up probabilities `p` show up.
pub fn at_least(p: &[f64], need: usize) -> f64 {
    if need == 0 {
        return 1.0;
    }
    if need > p.len() {
        return 0.0;
    }
    // dist[j] = probability that exactly j have shown among the workers seen so far.
    let mut dist = vec![0.0; p.len() + 1];
    dist[0] = 1.0;
    for (i, &q) in p.iter().enumerate() {
        for j in (0..=i + 1).rev() {
            let stay = dist[j] * (1.0 - q);
            let come = if j > 0 { dist[j - 1] * q } else { 0.0 };
            dist[j] = stay + come;
        }
    }
    dist[need..].iter().sum()
}

/// One role as standby sizing sees it.
#[derive(Debug, Clone, Default)]
pub struct RoleOdds {
    /// The role's headcount.
    pub headcount: usize,
    /// Show-up probabilities of the workers in its slots (and, for open slots, of the next candidates).
    pub crew: Vec<f64>,
    /// Show-up probabilities of the candidates who would be its standbys, in dispatch order.
    pub spare: Vec<f64>,
}

/// How many standbys an order holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    /// Exactly this many (fewer only when no role has a candidate left).
    Fixed(u32),
    /// The fewest that make a full crew at least this likely (at most [`AUTO_MAX`]).
    Target(f64),
}

/// The probability that every role is full at start with `k[r]` standbys for role `r`.
pub fn full_crew(roles: &[RoleOdds], k: &[usize]) -> f64 {
    roles.iter().zip(k).map(|(r, &k)| role_full(r, k)).product()
}

fn role_full(r: &RoleOdds, k: usize) -> f64 {
    let all: Vec<f64> = r.crew.iter().chain(&r.spare[..k]).copied().collect();
    at_least(&all, r.headcount)
}

/// Standbys per role: one at a time to the role whose next standby raises the probability of a full crew
/// the most (in log terms, so a role far from full counts for what it adds), until the goal is met or no
/// role has a candidate left. Ties go to the earlier role.
pub fn plan(roles: &[RoleOdds], goal: Goal) -> Vec<u32> {
    const FLOOR: f64 = 1e-12;
    let mut k = vec![0usize; roles.len()];
    let mut p: Vec<f64> = roles.iter().map(|r| role_full(r, 0)).collect();
    let (cap, target) = match goal {
        Goal::Fixed(n) => (n as usize, None),
        Goal::Target(t) => (AUTO_MAX as usize, Some(t)),
    };
    for _ in 0..cap {
        if target.is_some_and(|t| p.iter().product::<f64>() >= t) {
            break;
        }
        let mut best: Option<(f64, usize, f64)> = None;
        for (i, r) in roles.iter().enumerate() {
            if k[i] >= r.spare.len() {
                continue;
            }
            let next = role_full(r, k[i] + 1);
            let gain = next.max(FLOOR).ln() - p[i].max(FLOOR).ln();
            if best.is_none_or(|(g, _, _)| gain > g) {
                best = Some((gain, i, next));
            }
        }
        let Some((gain, i, next)) = best else { break };
        // `auto` holds nobody who changes nothing; a fixed number is held anyway.
        if target.is_some() && gain <= 0.0 {
            break;
        }
        k[i] += 1;
        p[i] = next;
    }
    k.into_iter().map(|n| n as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distribution_matches_hand_computed_cases() {
        assert!((at_least(&[0.5, 0.5], 1) - 0.75).abs() < 1e-12);
        assert!((at_least(&[0.5, 0.5], 2) - 0.25).abs() < 1e-12);
        assert!((at_least(&[0.9, 0.8, 0.7], 3) - 0.504).abs() < 1e-12);
        assert_eq!(at_least(&[0.9], 2), 0.0);
        assert_eq!(at_least(&[], 0), 1.0);
    }

    fn odds(headcount: usize, crew: f64, spare: f64) -> RoleOdds {
        RoleOdds {
            headcount,
            crew: vec![crew; headcount],
            spare: vec![spare; 20],
        }
    }

    #[test]
    fn perfectly_reliable_crews_need_no_standby() {
        assert_eq!(
            plan(&[odds(10, 1.0, 0.9)], Goal::Target(AUTO_TARGET)),
            vec![0]
        );
    }

    #[test]
    fn a_crew_of_ten_at_ninety_percent_needs_a_few_standbys() {
        // 10 workers at 0.9: P(all 10) = 0.349. With k standbys at 0.9, P(≥10 of 10+k):
        // k=1 0.697, k=2 0.889, k=3 0.966, k=4 0.991 → 4.
        let roles = [odds(10, 0.9, 0.9)];
        assert_eq!(plan(&roles, Goal::Target(AUTO_TARGET)), vec![4]);
        assert_eq!(plan(&roles, Goal::Fixed(2)), vec![2]);
    }

    #[test]
    fn standbys_go_where_no_shows_are_likely() {
        // A reliable crew of 10 and a shaky crew of 3: the standbys belong to the shaky role first.
        let roles = [odds(10, 0.99, 0.99), odds(3, 0.7, 0.9)];
        assert_eq!(plan(&roles, Goal::Fixed(1)), vec![0, 1]);
        let k = plan(&roles, Goal::Target(AUTO_TARGET));
        assert!(k[1] > k[0], "{k:?}");
        let k: Vec<usize> = k.into_iter().map(|n| n as usize).collect();
        assert!(full_crew(&roles, &k) >= AUTO_TARGET);
        // One fewer anywhere misses the target: the plan is the fewest of its kind.
        for r in 0..2 {
            if k[r] > 0 {
                let mut less = k.clone();
                less[r] -= 1;
                assert!(full_crew(&roles, &less) < AUTO_TARGET, "{less:?}");
            }
        }
    }

    #[test]
    fn every_role_must_be_full_for_the_crew_to_be() {
        let roles = [odds(5, 0.9, 0.9), odds(5, 0.9, 0.9)];
        let k = plan(&roles, Goal::Target(AUTO_TARGET));
        assert!(k[0] > 0 && k[1] > 0, "{k:?}");
        let both: Vec<usize> = k.iter().map(|n| *n as usize).collect();
        assert!(full_crew(&roles, &both) >= AUTO_TARGET);
        // Two roles of five need more standbys than one role of five.
        let one = [odds(5, 0.9, 0.9)];
        assert!(plan(&one, Goal::Target(AUTO_TARGET))[0] < k[0] + k[1]);
    }

    #[test]
    fn a_role_without_candidates_gets_none_and_auto_stops() {
        let thin = RoleOdds {
            headcount: 4,
            crew: vec![0.9; 2],
            spare: vec![],
        };
        assert_eq!(
            plan(std::slice::from_ref(&thin), Goal::Target(AUTO_TARGET)),
            vec![0]
        );
        assert_eq!(plan(&[thin, odds(2, 0.8, 0.8)], Goal::Fixed(3)), vec![0, 3]);
    }

    #[test]
    fn a_newcomer_starts_at_eighty_percent() {
        let p = show_up(
            &WorkerStats::default(),
            Prior::of_policy(&Policy::default()),
        );
        assert!((p - 0.8).abs() < 1e-12);
    }

    #[test]
    fn a_newcomer_at_an_agency_without_history_starts_where_the_policy_does() {
        let policy = Policy::default();
        assert_eq!(Prior::fitted(&policy, 0, 0), Prior::of_policy(&policy));
    }

    #[test]
    fn a_newcomer_is_expected_to_show_like_the_agency_s_workers_do() {
        let policy = Policy::default();
        // 9,100 shifts shown up for, 900 not: the agency's workers show 91% of the time.
        let prior = Prior::fitted(&policy, 9_100, 900);
        let newcomer = show_up(&WorkerStats::default(), prior);
        assert!((newcomer - 9_104.0 / 10_005.0).abs() < 1e-12, "{newcomer}");
        // The prior weighs as much as the policy's: five pseudo-shifts.
        assert!((prior.shows + prior.no_shows - 5.0).abs() < 1e-12);
        // A worker's own long record still dominates it.
        let flaky = WorkerStats {
            completed_shifts: 60,
            no_shows: 40,
            ..WorkerStats::default()
        };
        assert!(show_up(&flaky, prior) < 0.63);
        // An agency whose workers rarely come draws its newcomers down, not up.
        assert!(show_up(&WorkerStats::default(), Prior::fitted(&policy, 500, 500)) < 0.55);
    }
}
