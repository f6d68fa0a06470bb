//! Standby sizing: how many standbys make a full crew at start likely enough.
//!
//! Each booked worker shows up with their own probability (the smoothed attendance rate), independently.
//! The number of workers who show among the crew and `k` standbys follows a Poisson-binomial distribution,
//! computed exactly by dynamic programming. `"auto"` standby is the fewest `k` for which at least `headcount`
//! show with probability ≥ the target (97% by default).

use crate::domain::WorkerStats;
use crate::matching::Policy;

/// The probability that a full crew is wanted at least this likely.
pub const AUTO_TARGET: f64 = 0.97;

/// The most standbys `"auto"` will hold for one order.
pub const AUTO_MAX: u32 = 50;

/// A worker's smoothed show-up probability: `(a + completed) / (a + b + due)`, with the policy's priors.
pub fn show_up(stats: &WorkerStats, policy: &Policy) -> f64 {
    let a = policy.reliability_prior_shows;
    let b = policy.reliability_prior_no_shows;
    let due = f64::from(stats.completed_shifts + stats.no_shows);
    ((a + f64::from(stats.completed_shifts)) / (a + b + due)).clamp(0.0, 1.0)
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

/// The fewest standbys, taken in order from `standbys`, that make at least `headcount` of `crew` plus them
/// show up with probability ≥ `target`; all of them (capped at [`AUTO_MAX`]) when even that is not enough.
pub fn auto_size(crew: &[f64], standbys: &[f64], headcount: usize, target: f64) -> u32 {
    let mut all: Vec<f64> = crew.to_vec();
    let cap = standbys.len().min(AUTO_MAX as usize);
    if at_least(&all, headcount) >= target {
        return 0;
    }
    for (k, p) in standbys.iter().take(cap).enumerate() {
        all.push(*p);
        if at_least(&all, headcount) >= target {
            return k as u32 + 1;
        }
    }
    cap as u32
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

    #[test]
    fn perfectly_reliable_crews_need_no_standby() {
        assert_eq!(auto_size(&[1.0; 10], &[0.9; 5], 10, AUTO_TARGET), 0);
    }

    #[test]
    fn a_crew_of_ten_at_ninety_percent_needs_a_few_standbys() {
        // 10 workers at 0.9: P(all 10) = 0.349. With k standbys at 0.9, P(≥10 of 10+k):
        // k=1 0.697, k=2 0.889, k=3 0.966, k=4 0.991 → 4.
        assert_eq!(auto_size(&[0.9; 10], &[0.9; 10], 10, AUTO_TARGET), 4);
    }

    #[test]
    fn a_newcomer_starts_at_eighty_percent() {
        let p = show_up(&WorkerStats::default(), &Policy::default());
        assert!((p - 0.8).abs() < 1e-12);
    }
}
