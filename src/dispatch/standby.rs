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

    /// The prior fitted to an agency's own history (its workers' records, see [`History`]), a Beta prior by
    /// the method of moments:
    ///
    /// - its mean is the agency's pooled show-up rate, itself smoothed by the policy's prior, so an agency
    ///   without history starts exactly where the policy does and one with thousands of shifts is centred on what
    ///   its workers actually do — a newcomer at an agency whose workers show 91% of the time is expected at
    ///   about 91%, not at the policy's pessimistic 80%;
    /// - its weight (pseudo-shifts) comes from how much workers really differ: the spread of the rates of
    ///   workers with at least [`History::MIN_SHIFTS`] shifts, less the spread their few shifts alone would
    ///   give (binomial noise). Workers who differ little give a heavy prior (a short perfect record says little
    ///   about a worker); workers who differ much, a light one. With fewer than [`History::MIN_WORKERS`] such
    ///   workers the policy's weight stays. The weight is kept between the policy's and [`MAX_WEIGHT`].
    pub fn fitted(policy: &Policy, history: &History) -> Self {
        let base = Self::of_policy(policy);
        let strength = base.shows + base.no_shows;
        if strength <= 0.0 || history.shows + history.no_shows == 0 {
            return base;
        }
        let (s, n) = (history.shows as f64, history.no_shows as f64);
        let mean = (base.shows + s) / (strength + s + n);
        let weight = history
            .weight()
            .map_or(strength, |w| w.clamp(strength, MAX_WEIGHT));
        Self {
            shows: weight * mean,
            no_shows: weight * (1.0 - mean),
        }
    }
}

/// The heaviest a fitted prior gets, in pseudo-shifts: however alike an agency's workers look, a worker's own
/// record of a few dozen shifts still counts.
pub const MAX_WEIGHT: f64 = 50.0;

/// An agency's workers' track records, summed, as the index keeps them (added and taken away as records
/// change). Integer sums in fixed point, so the same records give the same history whatever the order they came
/// in — on every node and on replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct History {
    /// Shifts shown up for, over all workers.
    pub shows: u64,
    /// Shifts not shown up for, over all workers.
    pub no_shows: u64,
    /// Workers with at least [`History::MIN_SHIFTS`] shifts due.
    pub rated: u64,
    /// Their show-up rates summed, in millionths.
    rate_sum: u64,
    /// Their squared rates summed, in millionths squared.
    rate_sq_sum: u128,
    /// `1 / shifts due` summed over them, in millionths.
    inverse_sum: u64,
}

impl History {
    /// Shifts due before a worker's rate counts toward the spread.
    pub const MIN_SHIFTS: u32 = 5;
    /// Workers with a rate before the spread is trusted.
    pub const MIN_WORKERS: u64 = 30;

    fn terms(stats: &WorkerStats) -> Option<(u64, u128, u64)> {
        let due = stats.completed_shifts + stats.no_shows;
        if due < Self::MIN_SHIFTS {
            return None;
        }
        let rate = (u64::from(stats.completed_shifts) * 1_000_000) / u64::from(due);
        Some((
            rate,
            u128::from(rate) * u128::from(rate),
            1_000_000 / u64::from(due),
        ))
    }

    /// Counts a worker's record.
    pub fn add(&mut self, stats: &WorkerStats) {
        self.shows += u64::from(stats.completed_shifts);
        self.no_shows += u64::from(stats.no_shows);
        if let Some((r, r2, inv)) = Self::terms(stats) {
            self.rated += 1;
            self.rate_sum += r;
            self.rate_sq_sum += r2;
            self.inverse_sum += inv;
        }
    }

    /// Takes a worker's record away (it changed, or the worker left).
    pub fn remove(&mut self, stats: &WorkerStats) {
        self.shows = self.shows.saturating_sub(u64::from(stats.completed_shifts));
        self.no_shows = self.no_shows.saturating_sub(u64::from(stats.no_shows));
        if let Some((r, r2, inv)) = Self::terms(stats) {
            self.rated = self.rated.saturating_sub(1);
            self.rate_sum = self.rate_sum.saturating_sub(r);
            self.rate_sq_sum = self.rate_sq_sum.saturating_sub(r2);
            self.inverse_sum = self.inverse_sum.saturating_sub(inv);
        }
    }

    /// The Beta prior's weight `α + β` that explains the spread of the rates: with mean `m` and true variance
    /// `v` of the workers' probabilities, `α + β = m(1 − m)/v − 1`; the true variance is the rates' variance
    /// less the binomial noise `m(1 − m)·mean(1/n)`. `None` with too few rated workers; unbounded (very
    /// large) when the rates differ no more than noise explains.
    pub fn weight(&self) -> Option<f64> {
        if self.rated < Self::MIN_WORKERS {
            return None;
        }
        let k = self.rated as f64;
        let m = self.rate_sum as f64 / 1e6 / k;
        let second = self.rate_sq_sum as f64 / 1e12 / k;
        let var = (second - m * m).max(0.0);
        let noise = m * (1.0 - m) * (self.inverse_sum as f64 / 1e6 / k);
        let spread = m * (1.0 - m);
        if spread <= 0.0 {
            return Some(f64::INFINITY);
        }
        let truth = var - noise;
        Some(if truth <= 0.0 {
            f64::INFINITY
        } else {
            (spread / truth - 1.0).max(0.0)
        })
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
        assert_eq!(
            Prior::fitted(&policy, &History::default()),
            Prior::of_policy(&policy)
        );
    }

    #[test]
    fn a_newcomer_is_expected_to_show_like_the_agency_s_workers_do() {
        let policy = Policy::default();
        // One long record: 9,100 shifts shown up for, 900 not; too few workers to read a spread from.
        let mut history = History::default();
        history.add(&WorkerStats {
            completed_shifts: 9_100,
            no_shows: 900,
            ..WorkerStats::default()
        });
        let prior = Prior::fitted(&policy, &history);
        let newcomer = show_up(&WorkerStats::default(), prior);
        assert!((newcomer - 9_104.0 / 10_005.0).abs() < 1e-12, "{newcomer}");
        // The prior then weighs as much as the policy's: five pseudo-shifts.
        assert!((prior.shows + prior.no_shows - 5.0).abs() < 1e-12);
        // A worker's own long record still dominates it.
        let flaky = WorkerStats {
            completed_shifts: 60,
            no_shows: 40,
            ..WorkerStats::default()
        };
        assert!(show_up(&flaky, prior) < 0.63);
        // An agency whose workers rarely come draws its newcomers down, not up.
        let mut poor = History::default();
        poor.add(&WorkerStats {
            completed_shifts: 500,
            no_shows: 500,
            ..WorkerStats::default()
        });
        assert!(show_up(&WorkerStats::default(), Prior::fitted(&policy, &poor)) < 0.55);
    }

    /// Records of `workers` workers, half of whom show with probability `hi` and half with `lo`, each with 10 to
    /// 60 shifts drawn.
    fn population(workers: u32, hi: f64, lo: f64) -> History {
        let mut rng = crate::sim::rng::Rng::new(7);
        let mut h = History::default();
        for i in 0..workers {
            let p = if i % 2 == 0 { hi } else { lo };
            let due = 10 + rng.below(51) as u32;
            let shows = (0..due).filter(|_| rng.bernoulli(p)).count() as u32;
            h.add(&WorkerStats {
                completed_shifts: shows,
                no_shows: due - shows,
                ..WorkerStats::default()
            });
        }
        h
    }

    #[test]
    fn the_prior_s_weight_recovers_how_much_workers_differ() {
        // Probabilities 0.95 and 0.75: mean 0.85, variance 0.01, so α + β = 0.85·0.15/0.01 − 1 = 11.75.
        let h = population(4_000, 0.95, 0.75);
        let w = h.weight().expect("enough rated workers");
        assert!((w - 11.75).abs() < 1.5, "{w}");
        let prior = Prior::fitted(&Policy::default(), &h);
        assert!((prior.shows + prior.no_shows - w).abs() < 1e-9);
        assert!((prior.shows / (prior.shows + prior.no_shows) - 0.85).abs() < 0.01);
        // A short perfect record is drawn toward the agency: five shows is no proof of a 97% worker.
        let five = WorkerStats {
            completed_shifts: 5,
            ..WorkerStats::default()
        };
        let p = show_up(&five, prior);
        assert!(p < 0.9 && p > 0.86, "{p}");
    }

    #[test]
    fn workers_who_differ_no_more_than_chance_give_the_heaviest_prior() {
        let h = population(4_000, 0.9, 0.9);
        let prior = Prior::fitted(&Policy::default(), &h);
        assert!((prior.shows + prior.no_shows - MAX_WEIGHT).abs() < 1e-9);
    }

    #[test]
    fn a_history_is_the_same_whatever_order_records_come_and_go_in() {
        let records: Vec<WorkerStats> = (0..50u32)
            .map(|i| WorkerStats {
                completed_shifts: 5 + i * 3 % 17,
                no_shows: i % 4,
                ..WorkerStats::default()
            })
            .collect();
        let mut forward = History::default();
        records.iter().for_each(|r| forward.add(r));
        let mut backward = History::default();
        records.iter().rev().for_each(|r| backward.add(r));
        assert_eq!(forward, backward);
        let mut changed = forward;
        changed.remove(&records[3]);
        changed.add(&records[3]);
        assert_eq!(changed, forward);
        records.iter().for_each(|r| changed.remove(r));
        assert_eq!(changed, History::default());
    }
}
