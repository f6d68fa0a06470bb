//! Pooled standby sizing: how many floaters an area's on-call pool holds so that every order in it is full at
//! start likely enough.
//!
//! A pool gathers the pooled orders of one agency in one area (an H3 cell of about 7 km across), one block of
//! the day and one skill signature, so every floater fits every role in it. Each role `r` of each order has a
//! crew whose members show with their own probabilities; its shortfall `S_r = max(0, headcount − shown)` has a
//! distribution read off the Poisson-binomial of the crew. Floaters `j` show with `q_j`, and a floater who
//! shows can fill any one missing slot, so
//!
//! `P(every order full) = P(Σ_r S_r ≤ floaters shown) = Σ_t P(Σ S = t) · P(floaters shown ≥ t)`,
//!
//! computed exactly by convolving the shortfall distributions. Shortfalls of several orders rarely come
//! together, so the pooled need grows far slower than the sum of per-order needs.

/// The most floaters one pool holds.
pub const POOL_MAX: usize = 50;

/// The default target probability that every order of a pool is full at start.
pub const POOL_TARGET: f64 = 0.97;

/// One role of one order of a pool, as sizing sees it.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    /// The role's headcount.
    pub headcount: usize,
    /// Show-up probabilities of the workers in its slots (an open slot counts with the probability the caller
    /// expects of whoever will fill it, or 0 when no one will).
    pub crew: Vec<f64>,
}

/// The distribution of the number shown among workers with probabilities `p`: `dist[j] = P(exactly j show)`.
pub fn shown(p: &[f64]) -> Vec<f64> {
    let mut dist = vec![0.0; p.len() + 1];
    dist[0] = 1.0;
    for (i, &q) in p.iter().enumerate() {
        for j in (0..=i + 1).rev() {
            let stay = dist[j] * (1.0 - q);
            let come = if j > 0 { dist[j - 1] * q } else { 0.0 };
            dist[j] = stay + come;
        }
    }
    dist
}

/// The distribution of a role's shortfall: `dist[s] = P(max(0, headcount − shown) = s)`.
pub fn shortfall(slots: &Slots) -> Vec<f64> {
    let h = slots.headcount;
    let mut dist = vec![0.0; h + 1];
    for (j, pj) in shown(&slots.crew).into_iter().enumerate() {
        dist[h.saturating_sub(j)] += pj;
    }
    dist
}

/// The distribution of the total shortfall of every role of the pool: the shortfalls convolved.
pub fn total_shortfall(roles: &[Slots]) -> Vec<f64> {
    let mut total = vec![1.0];
    for r in roles {
        let s = shortfall(r);
        let mut next = vec![0.0; total.len() + s.len() - 1];
        for (a, pa) in total.iter().enumerate() {
            if *pa == 0.0 {
                continue;
            }
            for (b, pb) in s.iter().enumerate() {
                next[a + b] += pa * pb;
            }
        }
        total = next;
    }
    total
}

/// The probability that every role of the pool is full at start with floaters showing with `floaters`.
pub fn all_full(roles: &[Slots], floaters: &[f64]) -> f64 {
    all_full_with(&total_shortfall(roles), floaters)
}

fn all_full_with(total: &[f64], floaters: &[f64]) -> f64 {
    let f = shown(floaters);
    // tail[t] = P(at least t floaters show).
    let mut tail = vec![0.0; f.len() + 1];
    for t in (0..f.len()).rev() {
        tail[t] = tail[t + 1] + f[t];
    }
    total
        .iter()
        .enumerate()
        .map(|(t, pt)| pt * tail.get(t).copied().unwrap_or(0.0))
        .sum::<f64>()
        .clamp(0.0, 1.0)
}

/// The fewest floaters reaching `target`: the `held` ones first (in the order given), then the `spare`
/// candidates in dispatch order, at most [`POOL_MAX`]. Floaters who add nothing (the target is out of reach)
/// are not wanted: the answer stops where the probability stops rising.
pub fn wanted(roles: &[Slots], held: &[f64], spare: &[f64], target: f64) -> usize {
    let total = total_shortfall(roles);
    let all: Vec<f64> = held.iter().chain(spare).copied().take(POOL_MAX).collect();
    let mut p = all_full_with(&total, &[]);
    for k in 0..=all.len() {
        if p >= target {
            return k;
        }
        if k == all.len() {
            return k;
        }
        let next = all_full_with(&total, &all[..k + 1]);
        if next <= p {
            return k;
        }
        p = next;
    }
    all.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::standby::{AUTO_TARGET, Goal, RoleOdds, plan};

    /// Every show/no-show outcome of the crews and floaters, enumerated: the probability that the floaters
    /// who show cover every missing slot.
    fn brute(roles: &[Slots], floaters: &[f64]) -> f64 {
        let people: Vec<f64> = roles
            .iter()
            .flat_map(|r| r.crew.iter().copied())
            .chain(floaters.iter().copied())
            .collect();
        let n = people.len();
        let mut total = 0.0;
        for mask in 0u32..(1 << n) {
            let mut p = 1.0;
            for (i, q) in people.iter().enumerate() {
                p *= if mask & (1 << i) != 0 { *q } else { 1.0 - q };
            }
            let mut i = 0;
            let mut missing = 0;
            for r in roles {
                let came = (0..r.crew.len())
                    .filter(|k| mask & (1 << (i + k)) != 0)
                    .count();
                i += r.crew.len();
                missing += r.headcount.saturating_sub(came);
            }
            let came = (0..floaters.len())
                .filter(|k| mask & (1 << (i + k)) != 0)
                .count();
            if came >= missing {
                total += p;
            }
        }
        total
    }

    #[test]
    fn the_pooled_probability_matches_every_outcome_enumerated() {
        let mut rng = crate::sim::rng::Rng::new(18);
        for _ in 0..300 {
            let mut people = 0;
            let mut roles = Vec::new();
            let n_roles = 1 + rng.below(4) as usize;
            for _ in 0..n_roles {
                let crew_n = rng.below(4) as usize;
                if people + crew_n > 11 {
                    break;
                }
                people += crew_n;
                // Headcounts above the crew stand for slots no one fills.
                let headcount = crew_n + rng.below(2) as usize;
                let crew = (0..crew_n)
                    .map(|_| rng.below(1001) as f64 / 1000.0)
                    .collect();
                roles.push(Slots { headcount, crew });
            }
            let fl_n = rng.below((14 - people).min(4) as u64 + 1) as usize;
            let floaters: Vec<f64> = (0..fl_n).map(|_| rng.below(1001) as f64 / 1000.0).collect();
            let exact = all_full(&roles, &floaters);
            let oracle = brute(&roles, &floaters);
            assert!(
                (exact - oracle).abs() < 1e-12,
                "{roles:?} {floaters:?}: {exact} vs {oracle}"
            );
        }
    }

    #[test]
    fn the_wanted_count_is_the_fewest_that_reach_the_target() {
        let roles = vec![
            Slots {
                headcount: 5,
                crew: vec![0.9; 5],
            };
            4
        ];
        let spare = vec![0.85; 30];
        let k = wanted(&roles, &[], &spare, AUTO_TARGET);
        assert!(all_full(&roles, &spare[..k]) >= AUTO_TARGET);
        assert!(k == 0 || all_full(&roles, &spare[..k - 1]) < AUTO_TARGET);
        // Held floaters count first.
        assert_eq!(wanted(&roles, &spare[..k], &[], AUTO_TARGET), k);
        // No one adds anything: no one is wanted.
        assert_eq!(wanted(&roles, &[], &[0.0; 5], AUTO_TARGET), 0);
    }

    #[test]
    fn the_pooled_need_of_many_orders_is_far_below_their_per_order_needs_summed() {
        // Ten orders of five at 0.9, floaters and standbys at 0.9.
        let orders = 10;
        let one = RoleOdds {
            headcount: 5,
            crew: vec![0.9; 5],
            spare: vec![0.9; 20],
        };
        let per_order = plan(std::slice::from_ref(&one), Goal::Target(AUTO_TARGET))[0] as usize;
        let roles = vec![
            Slots {
                headcount: 5,
                crew: vec![0.9; 5],
            };
            orders
        ];
        let pooled = wanted(&roles, &[], &[0.9; 40], AUTO_TARGET);
        // Measured: 11 floaters for ten orders where per-order standby holds 2 × 10.
        assert!(
            10 * pooled <= 6 * orders * per_order,
            "pooled {pooled}, per order {per_order} × {orders}"
        );
        assert!(all_full(&roles, &[0.9; 40][..pooled]) >= AUTO_TARGET);
        // Twice the orders need less than twice the floaters.
        let twice = wanted(
            &[roles.clone(), roles].concat(),
            &[],
            &[0.9; 50],
            AUTO_TARGET,
        );
        assert!(
            twice < 2 * pooled,
            "{twice} for twenty orders, {pooled} for ten"
        );
    }
}
