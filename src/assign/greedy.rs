//! The greedy baseline: what a dispatcher does by hand, kept to measure how much the exact solver gains.
//!
//! First, role by role in index order, the role's quota slots go to the best qualifying free workers.
//! Then every remaining (worker, role) pair is taken best score first — ties by role index, then by worker
//! id — whenever the worker is still free and the role still has a slot. It is fast and often good, but a
//! worker who is the best for two roles is spent on the first pair seen, which the exact solver avoids.

use crate::assign::crew::{Crew, CrewProblem, Pick, RawPick, assemble, clean_score};
use crate::domain::WorkerId;

/// One (worker, role) pair the greedy pass considers.
#[derive(Debug, Clone, Copy)]
struct Pair {
    worker: WorkerId,
    role: usize,
    score: f64,
    meets_quota: bool,
}

/// The greedy crew for one order: quotas first per role, then best pairs first. Deterministic; never
/// better than [`crate::assign::solve`] on the lexicographic objective, sometimes worse.
pub fn greedy(p: &CrewProblem) -> Crew {
    let mut pairs: Vec<Pair> = p
        .candidates
        .iter()
        .flat_map(|c| {
            c.options
                .iter()
                .filter(|o| o.role < p.roles.len())
                .map(move |o| Pair {
                    worker: c.worker,
                    role: o.role,
                    score: clean_score(o.score),
                    meets_quota: o.meets_quota,
                })
        })
        .collect();
    // Best score first, then role order, then worker id; a qualifying option first on a full tie.
    pairs.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.role.cmp(&b.role))
            .then(a.worker.cmp(&b.worker))
            .then(b.meets_quota.cmp(&a.meets_quota))
    });

    let mut used: Vec<WorkerId> = Vec::new();
    let mut filled = vec![0u32; p.roles.len()];
    let mut raw: Vec<RawPick> = Vec::new();
    let mut take = |pair: &Pair, used: &mut Vec<WorkerId>, filled: &mut Vec<u32>| {
        if let Err(at) = used.binary_search(&pair.worker) {
            used.insert(at, pair.worker);
            filled[pair.role] += 1;
            raw.push(RawPick {
                pick: Pick {
                    role: pair.role,
                    worker: pair.worker,
                    score: pair.score,
                },
                meets_quota: pair.meets_quota,
            });
        }
    };

    for (ri, role) in p.roles.iter().enumerate() {
        let want = role.quota.unwrap_or(0).min(role.headcount);
        for pair in pairs.iter().filter(|x| x.role == ri && x.meets_quota) {
            if filled[ri] >= want {
                break;
            }
            take(pair, &mut used, &mut filled);
        }
    }
    for pair in &pairs {
        if filled[pair.role] < p.roles[pair.role].headcount {
            take(pair, &mut used, &mut filled);
        }
    }
    assemble(p, raw)
}
