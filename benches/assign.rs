//! Crew assignment on an order of 5 roles × 20 headcount over 5,000 candidates, each eligible for 1–3
//! roles with random scores (fixed seed), 15% of options meeting
//! the quota of roles 0, 2 and 4 (quotas 5, 8, 3). Target: `solve` ≤ 10 ms. Also times the unpruned network (an
//! independent check of the pruning) and the greedy baseline, and prints the totals side by side once.

use std::hint::black_box;

use crewcall::assign::{
    Candidate, CrewProblem, RoleOption, RoleSlots, greedy, solve, solve_unpruned,
};
use crewcall::domain::WorkerId;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

fn problem(n: u64) -> CrewProblem {
    let mut rng = StdRng::seed_from_u64(20_261_128);
    let roles = (0..5)
        .map(|r| RoleSlots {
            headcount: 20,
            quota: [Some(5), None, Some(8), None, Some(3)][r],
        })
        .collect();
    let candidates = (0..n)
        .map(|i| {
            let mut which: Vec<usize> = (0..5).collect();
            which.shuffle(&mut rng);
            let k = rng.random_range(1..=3);
            let mut options: Vec<RoleOption> = which[..k]
                .iter()
                .map(|&role| RoleOption {
                    role,
                    score: rng.random_range(0.0..1.2),
                    meets_quota: rng.random_bool(0.15),
                })
                .collect();
            options.sort_by_key(|o| o.role);
            Candidate {
                worker: WorkerId::new(1_000 + i * 7),
                options,
            }
        })
        .collect();
    CrewProblem { roles, candidates }
}

fn bench(c: &mut Criterion) {
    // A scarce variant (150 candidates for 100 slots) where the greedy baseline visibly loses.
    let scarce = problem(150);
    let (s_best, s_base) = (solve(&scarce), greedy(&scarce));
    eprintln!(
        "assign 5x20 over 150: optimal total {:.6} (filled {}); greedy total {:.6} (filled {})",
        s_best.total_score,
        s_best.filled.iter().sum::<u32>(),
        s_base.total_score,
        s_base.filled.iter().sum::<u32>(),
    );
    let p = problem(5_000);
    let best = solve(&p);
    let full = solve_unpruned(&p);
    let base = greedy(&p);
    eprintln!(
        "assign 5x20 over 5000: optimal total {:.6} (filled {}, quotas met {:?}); unpruned network {:.6}; greedy total {:.6} (filled {}, quotas met {:?})",
        best.total_score,
        best.filled.iter().sum::<u32>(),
        best.quota_met,
        full.total_score,
        base.total_score,
        base.filled.iter().sum::<u32>(),
        base.quota_met,
    );
    assert!((best.total_score - full.total_score).abs() < 1e-6);
    let mut g = c.benchmark_group("assign_5x20_over_5000");
    g.bench_function("solve", |b| b.iter(|| solve(black_box(&p))));
    g.bench_function("solve_unpruned", |b| {
        b.iter(|| solve_unpruned(black_box(&p)))
    });
    g.bench_function("greedy", |b| b.iter(|| greedy(black_box(&p))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
