//! Hand cases and a property test of the exact solver against a brute force over all assignments.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use super::crew::solve_joint;
use super::*;
use crate::domain::{Interval, WorkerId};

fn w(id: u64) -> WorkerId {
    WorkerId::new(id)
}

fn opt(role: usize, score: f64) -> RoleOption {
    RoleOption {
        role,
        score,
        meets_quota: false,
    }
}

fn qopt(role: usize, score: f64) -> RoleOption {
    RoleOption {
        role,
        score,
        meets_quota: true,
    }
}

fn cand(id: u64, options: Vec<RoleOption>) -> Candidate {
    Candidate {
        worker: w(id),
        options,
    }
}

fn roles(spec: &[(u32, Option<u32>)]) -> Vec<RoleSlots> {
    spec.iter()
        .map(|&(headcount, quota)| RoleSlots { headcount, quota })
        .collect()
}

/// The lexicographic objective of a crew: (slots filled, quota units, total score).
fn objective(p: &CrewProblem, crew: &Crew) -> (u32, u32, f64) {
    let mut qualifying = vec![0u32; p.roles.len()];
    for pick in &crew.picks {
        let meets = p
            .candidates
            .iter()
            .filter(|c| c.worker == pick.worker)
            .flat_map(|c| &c.options)
            .any(|o| o.role == pick.role && o.meets_quota);
        qualifying[pick.role] += u32::from(meets);
    }
    let units = p
        .roles
        .iter()
        .zip(&qualifying)
        .map(|(r, &q)| r.quota.unwrap_or(0).min(q))
        .sum();
    (crew.filled.iter().sum(), units, crew.total_score)
}

/// Checks that a crew is feasible and that its summary fields agree with its picks.
fn assert_valid(p: &CrewProblem, crew: &Crew) {
    let mut workers: Vec<WorkerId> = crew.picks.iter().map(|x| x.worker).collect();
    workers.sort();
    let n = workers.len();
    workers.dedup();
    assert_eq!(workers.len(), n, "a worker fills at most one slot");
    let mut sorted = crew.picks.clone();
    sorted.sort_by_key(|x| (x.role, x.worker));
    assert_eq!(sorted, crew.picks, "picks are sorted by (role, worker)");
    let mut filled = vec![0u32; p.roles.len()];
    for pick in &crew.picks {
        let offered = p
            .candidates
            .iter()
            .filter(|c| c.worker == pick.worker)
            .flat_map(|c| &c.options)
            .any(|o| o.role == pick.role && (o.score - pick.score).abs() < 1e-12);
        assert!(offered, "pick {pick:?} matches an option");
        filled[pick.role] += 1;
    }
    assert_eq!(filled, crew.filled);
    for (r, role) in p.roles.iter().enumerate() {
        assert!(filled[r] <= role.headcount);
    }
    let total: f64 = crew.picks.iter().map(|x| x.score).sum();
    assert!((total - crew.total_score).abs() < 1e-9);
}

/// The best objective over every assignment of each candidate to nothing or one of its options.
fn brute_force(p: &CrewProblem) -> (u32, u32, f64) {
    fn go(
        p: &CrewProblem,
        i: usize,
        filled: &mut Vec<u32>,
        qualifying: &mut Vec<u32>,
        score: f64,
        best: &mut (u32, u32, f64),
    ) {
        if i == p.candidates.len() {
            let f = filled.iter().sum();
            let q = p
                .roles
                .iter()
                .zip(qualifying.iter())
                .map(|(r, &q)| r.quota.unwrap_or(0).min(q))
                .sum();
            let cand = (f, q, score);
            if (cand.0, cand.1) > (best.0, best.1)
                || ((cand.0, cand.1) == (best.0, best.1) && cand.2 > best.2)
            {
                *best = cand;
            }
            return;
        }
        go(p, i + 1, filled, qualifying, score, best);
        for o in &p.candidates[i].options {
            if filled[o.role] < p.roles[o.role].headcount {
                filled[o.role] += 1;
                qualifying[o.role] += u32::from(o.meets_quota);
                go(p, i + 1, filled, qualifying, score + o.score, best);
                filled[o.role] -= 1;
                qualifying[o.role] -= u32::from(o.meets_quota);
            }
        }
    }
    let mut best = (0, 0, 0.0);
    go(
        p,
        0,
        &mut vec![0; p.roles.len()],
        &mut vec![0; p.roles.len()],
        0.0,
        &mut best,
    );
    best
}

fn same_objective(a: (u32, u32, f64), b: (u32, u32, f64)) -> bool {
    a.0 == b.0 && a.1 == b.1 && (a.2 - b.2).abs() <= 1e-6
}

/// Whether `a` is at most as good as `b` on the lexicographic objective.
fn not_better(a: (u32, u32, f64), b: (u32, u32, f64)) -> bool {
    (a.0, a.1) < (b.0, b.1) || ((a.0, a.1) == (b.0, b.1) && a.2 <= b.2 + 1e-6)
}

#[test]
fn a_worker_best_for_two_roles_goes_where_the_crew_gains_most_while_greedy_loses() {
    // A is best for both roles; B can only do role 1 and C only role 0 (badly).
    let p = CrewProblem {
        roles: roles(&[(1, None), (1, None)]),
        candidates: vec![
            cand(1, vec![opt(0, 0.9), opt(1, 1.0)]),
            cand(2, vec![opt(1, 0.9)]),
            cand(3, vec![opt(0, 0.1)]),
        ],
    };
    let best = solve(&p);
    assert_eq!(
        best.picks,
        vec![
            Pick {
                role: 0,
                worker: w(1),
                score: 0.9
            },
            Pick {
                role: 1,
                worker: w(2),
                score: 0.9
            },
        ]
    );
    assert!((best.total_score - 1.8).abs() < 1e-9);
    let base = greedy(&p);
    assert_eq!(base.filled, vec![1, 1]);
    assert!((base.total_score - 1.1).abs() < 1e-9, "{base:?}");
}

#[test]
fn a_quota_forces_a_lower_scoring_qualifying_worker_in() {
    let p = CrewProblem {
        roles: roles(&[(2, Some(1))]),
        candidates: vec![
            cand(1, vec![opt(0, 1.0)]),
            cand(2, vec![opt(0, 0.9)]),
            cand(3, vec![qopt(0, 0.2)]),
        ],
    };
    let crew = solve(&p);
    let who: Vec<u64> = crew.picks.iter().map(|x| x.worker.get()).collect();
    assert_eq!(who, vec![1, 3]);
    assert_eq!(crew.quota_met, vec![true]);
    assert!((crew.total_score - 1.2).abs() < 1e-9);
}

#[test]
fn an_impossible_quota_still_fills_the_role_and_reports_it_unmet() {
    let p = CrewProblem {
        roles: roles(&[(3, Some(2))]),
        candidates: vec![
            cand(1, vec![opt(0, 0.5)]),
            cand(2, vec![qopt(0, 0.4)]),
            cand(3, vec![opt(0, 0.3)]),
            cand(4, vec![opt(0, 0.2)]),
        ],
    };
    let crew = solve(&p);
    let who: Vec<u64> = crew.picks.iter().map(|x| x.worker.get()).collect();
    assert_eq!(who, vec![1, 2, 3]);
    assert_eq!(crew.filled, vec![3]);
    assert_eq!(crew.quota_met, vec![false]);
}

#[test]
fn a_quota_above_the_headcount_is_met_by_a_crew_all_qualifying() {
    let p = CrewProblem {
        roles: roles(&[(1, Some(3))]),
        candidates: vec![cand(1, vec![opt(0, 0.9)]), cand(2, vec![qopt(0, 0.1)])],
    };
    let crew = solve(&p);
    assert_eq!(crew.picks[0].worker, w(2));
    assert_eq!(crew.quota_met, vec![true]);
    assert_eq!(greedy(&p).quota_met, vec![true]);
}

#[test]
fn filling_more_slots_beats_a_higher_score() {
    // Taking A for role 0 (score 1.0) would leave role 1 empty; A must take role 1 so both fill.
    let p = CrewProblem {
        roles: roles(&[(1, None), (1, None)]),
        candidates: vec![
            cand(1, vec![opt(0, 1.0), opt(1, 0.0)]),
            cand(2, vec![opt(0, 0.0)]),
        ],
    };
    let crew = solve(&p);
    assert_eq!(crew.filled, vec![1, 1]);
    assert_eq!(crew.picks[1].worker, w(1));
}

#[test]
fn the_same_problem_gives_the_same_crew_whatever_the_order_of_candidates() {
    // Four equally good workers for two slots: the tie is decided by the canonical order, not the input.
    let base: Vec<Candidate> = (1..=4)
        .map(|i| cand(i, vec![opt(0, 0.5), qopt(1, 0.5)]))
        .collect();
    let p = CrewProblem {
        roles: roles(&[(1, None), (1, Some(1))]),
        candidates: base.clone(),
    };
    let first = solve(&p);
    assert_eq!(first, solve(&p));
    let mut reversed = p.clone();
    reversed.candidates.reverse();
    for c in &mut reversed.candidates {
        c.options.reverse();
    }
    assert_eq!(first, solve(&reversed));
    assert_eq!(first.filled, vec![1, 1]);
}

#[test]
fn a_worker_listed_twice_fills_at_most_one_slot() {
    let p = CrewProblem {
        roles: roles(&[(1, None), (1, None)]),
        candidates: vec![cand(7, vec![opt(0, 0.8)]), cand(7, vec![opt(1, 0.9)])],
    };
    let crew = solve(&p);
    assert_eq!(crew.picks.len(), 1);
    assert_eq!(crew.picks[0].role, 1);
}

#[test]
fn pruning_to_the_best_edges_keeps_the_optimum_on_a_crowded_role() {
    // 40 workers for 3 slots over two roles: most edges are pruned away, and the answer must not change.
    let candidates: Vec<Candidate> = (0..40u64)
        .map(|i| {
            let s = ((i * 37) % 13) as f64 / 10.0;
            cand(
                i,
                vec![
                    RoleOption {
                        role: 0,
                        score: s,
                        meets_quota: i % 5 == 0,
                    },
                    opt(1, 1.2 - s),
                ],
            )
        })
        .collect();
    let p = CrewProblem {
        roles: roles(&[(2, Some(1)), (1, None)]),
        candidates,
    };
    let pruned = solve(&p);
    let full = solve_joint(&[&p], false).pop().unwrap();
    assert!(same_objective(objective(&p, &pruned), objective(&p, &full)));
    assert_valid(&p, &pruned);
}

fn t(s: &str) -> DateTime<Utc> {
    crate::domain::time::parse_instant(s).unwrap()
}

fn shift(a: &str, b: &str) -> Interval {
    Interval::new(t(a), t(b)).unwrap()
}

#[test]
fn two_overlapping_orders_never_share_a_worker_and_the_batch_is_optimal() {
    // Worker 1 is the best for both orders; order B has a fair alternative, order A none.
    let a = BatchOrder {
        shift: shift("2026-11-28T09:00:00Z", "2026-11-28T17:00:00Z"),
        problem: CrewProblem {
            roles: roles(&[(1, None)]),
            candidates: vec![cand(1, vec![opt(0, 1.0)]), cand(3, vec![opt(0, 0.1)])],
        },
    };
    let b = BatchOrder {
        shift: shift("2026-11-28T12:00:00Z", "2026-11-28T20:00:00Z"),
        problem: CrewProblem {
            roles: roles(&[(1, None)]),
            candidates: vec![cand(1, vec![opt(0, 1.1)]), cand(2, vec![opt(0, 0.9)])],
        },
    };
    let crews = solve_batch(&[a, b], Duration::hours(8));
    assert_eq!(crews[0].picks[0].worker, w(1));
    assert_eq!(crews[1].picks[0].worker, w(2));
    assert!((crews[0].total_score + crews[1].total_score - 1.9).abs() < 1e-9);
}

#[test]
fn orders_far_apart_may_reuse_the_same_worker() {
    let order = |a: &str, b: &str| BatchOrder {
        shift: shift(a, b),
        problem: CrewProblem {
            roles: roles(&[(1, None)]),
            candidates: vec![cand(1, vec![opt(0, 1.0)]), cand(2, vec![opt(0, 0.5)])],
        },
    };
    let orders = [
        order("2026-11-28T09:00:00Z", "2026-11-28T12:00:00Z"),
        order("2026-11-29T09:00:00Z", "2026-11-29T12:00:00Z"),
    ];
    let crews = solve_batch(&orders, Duration::hours(8));
    assert_eq!(crews[0].picks[0].worker, w(1));
    assert_eq!(crews[1].picks[0].worker, w(1));
    // Within the rest gap they conflict again, and worker 1 works only one of them.
    let crews = solve_batch(&orders, Duration::hours(22));
    let ones = crews.iter().filter(|c| c.picks[0].worker == w(1)).count();
    assert_eq!(ones, 1);
}

#[test]
fn a_chain_of_conflicts_forms_one_component_and_strangers_stay_apart() {
    let order = |a: &str, b: &str| BatchOrder {
        shift: shift(a, b),
        problem: CrewProblem::default(),
    };
    let orders = [
        order("2026-11-28T14:00:00Z", "2026-11-28T18:00:00Z"), // B
        order("2026-11-30T09:00:00Z", "2026-11-30T10:00:00Z"), // alone
        order("2026-11-28T09:00:00Z", "2026-11-28T12:00:00Z"), // A: 2h before B
        order("2026-11-28T20:00:00Z", "2026-11-28T22:00:00Z"), // C: 2h after B, 8h after A
    ];
    let components = conflict_components(&orders, Duration::hours(3));
    assert_eq!(components, vec![vec![0, 2, 3], vec![1]]);
    let crews = solve_batch(&orders, Duration::hours(3));
    assert_eq!(crews.len(), 4);
    assert!(crews.iter().all(|c| c.picks.is_empty()));
}

/// A random small instance: ≤ 3 roles, headcounts ≤ 3, ≤ 7 candidates, scores on a 0.1 grid.
fn small_problem() -> impl Strategy<Value = CrewProblem> {
    let role = (0u32..=3, prop::option::of(0u32..=3))
        .prop_map(|(headcount, quota)| RoleSlots { headcount, quota });
    prop::collection::vec(role, 1..=3).prop_flat_map(|roles| {
        let n_roles = roles.len();
        let option = prop::option::weighted(0.6, (0u32..=12, any::<bool>()));
        let candidate = prop::collection::vec(option, n_roles);
        prop::collection::vec(candidate, 0..=7).prop_map(move |cands| CrewProblem {
            roles: roles.clone(),
            candidates: cands
                .into_iter()
                .enumerate()
                .map(|(i, opts)| Candidate {
                    // Ids not in input order, so tie-breaking by id is exercised.
                    worker: WorkerId::new(((i as u64) * 5) % 7 + 1),
                    options: opts
                        .into_iter()
                        .enumerate()
                        .filter_map(|(role, o)| {
                            o.map(|(s, meets_quota)| RoleOption {
                                role,
                                score: f64::from(s) / 10.0,
                                meets_quota,
                            })
                        })
                        .collect(),
                })
                .collect(),
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_solver_matches_brute_force_and_greedy_never_beats_it(p in small_problem()) {
        let best = brute_force(&p);
        let crew = solve(&p);
        assert_valid(&p, &crew);
        let got = objective(&p, &crew);
        prop_assert!(same_objective(got, best), "solve {got:?} vs brute force {best:?}");

        let full = solve_joint(&[&p], false).pop().unwrap();
        assert_valid(&p, &full);
        prop_assert!(same_objective(objective(&p, &full), best));

        let base = greedy(&p);
        assert_valid(&p, &base);
        prop_assert!(not_better(objective(&p, &base), got));

        let mut shuffled = p.clone();
        shuffled.candidates.reverse();
        prop_assert_eq!(solve(&shuffled), crew);
    }
}

/// The best summed objective over a batch whose orders all conflict: every worker takes nothing or one
/// option of one order.
fn brute_force_batch(problems: &[CrewProblem]) -> (u32, u32, f64) {
    let mut choices: Vec<(WorkerId, Vec<(usize, RoleOption)>)> = Vec::new();
    for (pi, p) in problems.iter().enumerate() {
        for c in &p.candidates {
            let entry = match choices.iter().position(|(w, _)| *w == c.worker) {
                Some(i) => i,
                None => {
                    choices.push((c.worker, Vec::new()));
                    choices.len() - 1
                }
            };
            choices[entry].1.extend(c.options.iter().map(|o| (pi, *o)));
        }
    }
    let mut best = (0, 0, 0.0);
    let mut pick: Vec<Option<(usize, RoleOption)>> = vec![None; choices.len()];
    fn go(
        problems: &[CrewProblem],
        choices: &[(WorkerId, Vec<(usize, RoleOption)>)],
        i: usize,
        pick: &mut Vec<Option<(usize, RoleOption)>>,
        best: &mut (u32, u32, f64),
    ) {
        if i == choices.len() {
            let (mut f, mut q, mut s) = (0u32, 0u32, 0.0);
            for (pi, p) in problems.iter().enumerate() {
                for (ri, role) in p.roles.iter().enumerate() {
                    let mine = pick
                        .iter()
                        .flatten()
                        .filter(|(o, x)| *o == pi && x.role == ri);
                    let n = mine.clone().count() as u32;
                    if n > role.headcount {
                        return;
                    }
                    f += n;
                    q += role
                        .quota
                        .unwrap_or(0)
                        .min(mine.clone().filter(|(_, x)| x.meets_quota).count() as u32);
                    s += mine.map(|(_, x)| x.score).sum::<f64>();
                }
            }
            if (f, q) > (best.0, best.1) || ((f, q) == (best.0, best.1) && s > best.2) {
                *best = (f, q, s);
            }
            return;
        }
        pick[i] = None;
        go(problems, choices, i + 1, pick, best);
        for &c in &choices[i].1 {
            pick[i] = Some(c);
            go(problems, choices, i + 1, pick, best);
        }
        pick[i] = None;
    }
    go(problems, &choices, 0, &mut pick, &mut best);
    best
}

/// A small order whose candidates come from a shared pool of five workers.
fn small_order() -> impl Strategy<Value = CrewProblem> {
    let role = (0u32..=2, prop::option::of(0u32..=2))
        .prop_map(|(headcount, quota)| RoleSlots { headcount, quota });
    prop::collection::vec(role, 1..=2).prop_flat_map(|roles| {
        let n_roles = roles.len();
        let option = prop::option::weighted(0.5, (0u32..=12, any::<bool>()));
        let candidate = prop::option::weighted(0.7, prop::collection::vec(option, n_roles));
        prop::collection::vec(candidate, 5).prop_map(move |pool| CrewProblem {
            roles: roles.clone(),
            candidates: pool
                .into_iter()
                .enumerate()
                .filter_map(|(i, opts)| {
                    opts.map(|opts| Candidate {
                        worker: WorkerId::new(i as u64 + 1),
                        options: opts
                            .into_iter()
                            .enumerate()
                            .filter_map(|(role, o)| {
                                o.map(|(s, meets_quota)| RoleOption {
                                    role,
                                    score: f64::from(s) / 10.0,
                                    meets_quota,
                                })
                            })
                            .collect(),
                    })
                })
                .collect(),
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_batch_of_overlapping_orders_matches_brute_force_over_the_shared_workers(
        problems in prop::collection::vec(small_order(), 2..=3)
    ) {
        // All shifts overlap, so the batch is one component and the joint solve is exact.
        let orders: Vec<BatchOrder> = problems
            .iter()
            .enumerate()
            .map(|(i, p)| BatchOrder {
                shift: {
                    let start = t("2026-11-28T09:00:00Z") + Duration::hours(i as i64);
                    Interval::new(start, start + Duration::hours(8)).unwrap()
                },
                problem: p.clone(),
            })
            .collect();
        let crews = solve_batch(&orders, Duration::hours(1));
        let mut used: Vec<WorkerId> = Vec::new();
        let mut sum = (0u32, 0u32, 0.0);
        for (p, crew) in problems.iter().zip(&crews) {
            assert_valid(p, crew);
            used.extend(crew.picks.iter().map(|x| x.worker));
            let (f, q, s) = objective(p, crew);
            sum = (sum.0 + f, sum.1 + q, sum.2 + s);
        }
        let n = used.len();
        used.sort();
        used.dedup();
        prop_assert_eq!(used.len(), n, "a worker works one order of the batch");
        let best = brute_force_batch(&problems);
        prop_assert!(same_objective(sum, best), "batch {sum:?} vs brute force {best:?}");
    }
}
