//! The crew problem of one order and its exact solver.
//!
//! # The network
//!
//! `source → worker (cap 1) → role (cap 1) → sink (cap headcount)`, and, for a role with a quota, a second
//! "quota lane" `worker → quota(role) (cap 1) → role (cap min(quota, headcount))` open only to workers whose
//! option for the role `meets_quota`. A unit through the quota lane earns an extra reward `QB` on top of
//! its score.
//!
//! # Why it is exact
//!
//! The objective is lexicographic: (1) slots filled, (2) quota units `Σ min(quota, qualifying picks)`,
//! (3) total score. Scores are scaled to integers (`score × 10^6`, rounded). Every unit of flow crosses
//! exactly one worker→lane edge, whose cost is `K − value`, `value = scaled score (+ QB on the quota lane)`.
//! The solver finds a *maximum* flow of least cost, so (1) comes first: the flow is the number of filled
//! slots and it is maximal. Among maximum flows, the cost is `K·flow − Σ value`, so it maximises
//! `QB·(quota-lane units) + Σ scaled scores`. `QB` exceeds any possible score sum (`QB = H·max + 1`,
//! where `H` bounds the number of picks), so quota-lane units come second and score third.
//!
//! The quota-lane units equal the quota units: any crew can be routed so that `min(quota, qualifying
//! picks)` of its qualifying picks use the quota lane (its capacity is `min(quota, headcount)` and the
//! role's total stays within `headcount`), and conversely the quota-lane flow of any integral flow is at
//! most `quota` and at most the qualifying picks. So the best flow is the best crew, and vice versa.
//!
//! # Pruning
//!
//! With `H` slots in total, only the `H` best edges of each (role, lane) — by scaled score, then worker
//! id — can be needed: if an optimal crew used a worker `w` outside that list, at most `H − 1` of the
//! list are picked, so one listed worker `u` is free and scores at least as well in the same lane; swapping
//! `w` for `u` keeps (1) and (2) and does not lower (3). Repeating the swap ends with a crew inside the
//! lists. This shrinks 5,000 candidates to at most `2·H` per role before the flow runs.
//!
//! # Determinism
//!
//! The network is built in a canonical order (workers by ascending id, then order, role and lane), with
//! candidates of the same worker merged, so the crew depends only on the set of options given, not on
//! their order. The flow's search order depends only on the network. Among crews that are equally good on
//! all three objectives, the solver therefore always returns the same one; which one is fixed by that search
//! order (it does not promise, say, the lexicographically smallest set of worker ids).

use crate::assign::flow::{EdgeId, MinCostFlow};
use crate::domain::WorkerId;

/// Scores are scaled by this factor and rounded to integers for the flow; ties finer than 10⁻⁶ are ties.
pub const SCORE_SCALE: f64 = 1e6;

/// Scores are clamped to `[0, MAX_SCORE]` (NaN counts as 0) so the integer tiers cannot overflow.
pub const MAX_SCORE: f64 = 1000.0;

/// One order's staffing problem: its roles and the workers that could fill them, with a score per role.
/// Scores come from the matching module; this module only optimises over them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CrewProblem {
    /// The roles of the order, by index; a [`RoleOption::role`] refers to a position here.
    pub roles: Vec<RoleSlots>,
    /// The workers eligible for at least one role. A worker listed twice is treated as one worker.
    pub candidates: Vec<Candidate>,
}

/// How many workers a role needs, and how many of them must meet its quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoleSlots {
    /// Slots to fill.
    pub headcount: u32,
    /// At least this many slots of the role should go to workers with [`RoleOption::meets_quota`]; the
    /// solver meets as much of it as the candidates allow, but fills the role regardless. A quota above the
    /// headcount counts as the headcount.
    pub quota: Option<u32>,
}

/// A worker and the roles it could take in this order.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Who.
    pub worker: WorkerId,
    /// The roles this worker passed the hard filters for, each with its score.
    pub options: Vec<RoleOption>,
}

/// One role a candidate could fill, how well, and whether it counts towards the role's quota.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RoleOption {
    /// Index into [`CrewProblem::roles`]; options for unknown roles are ignored.
    pub role: usize,
    /// The matching score, at least 0 (typically up to about 1.2).
    pub score: f64,
    /// Whether the worker meets the role's quota requirement.
    pub meets_quota: bool,
}

/// The chosen crew and how well it covers the order, so callers need not recount.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Crew {
    /// The picks, sorted by (role, worker).
    pub picks: Vec<Pick>,
    /// The sum of the picks' scores.
    pub total_score: f64,
    /// Slots filled, per role.
    pub filled: Vec<u32>,
    /// Whether each role's quota is met (a role without a quota always is).
    pub quota_met: Vec<bool>,
}

/// One worker placed in one role.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick {
    /// Index of the role in the problem.
    pub role: usize,
    /// Who fills it.
    pub worker: WorkerId,
    /// The score of that worker for that role.
    pub score: f64,
}

/// Clamps a score into the range the solver works on.
pub(crate) fn clean_score(score: f64) -> f64 {
    if score.is_nan() {
        0.0
    } else {
        score.clamp(0.0, MAX_SCORE)
    }
}

fn scaled(score: f64) -> i64 {
    (clean_score(score) * SCORE_SCALE).round() as i64
}

/// A pick with whether it counts towards its role's quota, before the crew is assembled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawPick {
    pub pick: Pick,
    pub meets_quota: bool,
}

/// Builds a [`Crew`] from picks: sorts them, sums the score and checks the headcounts' coverage.
pub(crate) fn assemble(p: &CrewProblem, mut raw: Vec<RawPick>) -> Crew {
    raw.sort_by_key(|r| (r.pick.role, r.pick.worker));
    let mut filled = vec![0u32; p.roles.len()];
    let mut qualifying = vec![0u32; p.roles.len()];
    let mut total_score = 0.0;
    for r in &raw {
        filled[r.pick.role] += 1;
        qualifying[r.pick.role] += u32::from(r.meets_quota);
        total_score += r.pick.score;
    }
    let quota_met = p
        .roles
        .iter()
        .zip(&qualifying)
        .map(|(role, &q)| role.quota.is_none_or(|need| q >= need.min(role.headcount)))
        .collect();
    Crew {
        picks: raw.into_iter().map(|r| r.pick).collect(),
        total_score,
        filled,
        quota_met,
    }
}

/// Finds the best crew for one order: as many slots filled as possible, then as many quota units met,
/// then the highest total score. Exact (see the module documentation for the argument) and deterministic.
pub fn solve(p: &CrewProblem) -> Crew {
    solve_joint(&[p], true).pop().expect("one crew per problem")
}

/// The same exact solver on the whole network, without pruning. Slower on large candidate lists; kept as
/// an independent cross-check of the pruning in tests and benchmarks.
pub fn solve_unpruned(p: &CrewProblem) -> Crew {
    solve_joint(&[p], false)
        .pop()
        .expect("one crew per problem")
}

/// One lane edge of the network before it is added: a worker into a role of a problem.
#[derive(Debug, Clone, Copy)]
struct Arc {
    worker: usize,
    problem: usize,
    role: usize,
    quota_lane: bool,
    scaled: i64,
    score: f64,
    meets_quota: bool,
}

/// Solves several problems as one flow in which a worker fills at most one slot across all of them.
/// `prune` keeps only the edges that can matter (exact, see the module documentation); tests turn it off
/// to check the pruning against the full network.
pub(crate) fn solve_joint(problems: &[&CrewProblem], prune: bool) -> Vec<Crew> {
    // Distinct workers in ascending id order.
    let mut workers: Vec<WorkerId> = problems
        .iter()
        .flat_map(|p| p.candidates.iter().map(|c| c.worker))
        .collect();
    workers.sort_unstable();
    workers.dedup();
    let worker_index = |w: WorkerId| workers.binary_search(&w).expect("known worker");

    let total_slots: u64 = problems
        .iter()
        .flat_map(|p| p.roles.iter().map(|r| u64::from(r.headcount)))
        .sum();
    let max_picks = total_slots.min(workers.len() as u64) as usize;

    // Options bucketed by (problem, role) in one pass, each worker looked up once.
    let mut arcs: Vec<Arc> = Vec::new();
    let mut seen = vec![usize::MAX; workers.len()];
    let mut lane_id = 0usize;
    let mut lane: Vec<Arc> = Vec::new();
    for (pi, p) in problems.iter().enumerate() {
        let mut buckets: Vec<Vec<Arc>> = vec![Vec::new(); p.roles.len()];
        for c in &p.candidates {
            let w = worker_index(c.worker);
            for o in &c.options {
                if o.role < p.roles.len() && p.roles[o.role].headcount > 0 {
                    buckets[o.role].push(Arc {
                        worker: w,
                        problem: pi,
                        role: o.role,
                        quota_lane: false,
                        scaled: scaled(o.score),
                        score: clean_score(o.score),
                        meets_quota: o.meets_quota,
                    });
                }
            }
        }
        for (ri, bucket) in buckets.iter().enumerate() {
            let role = &p.roles[ri];
            let quota_cap = role.quota.unwrap_or(0).min(role.headcount);
            for quota_lane in [false, true] {
                if quota_lane && quota_cap == 0 {
                    continue;
                }
                lane.clear();
                lane.extend(
                    bucket
                        .iter()
                        .filter(|a| !quota_lane || a.meets_quota)
                        .map(|a| Arc { quota_lane, ..*a }),
                );
                // Best first: scaled score, then worker id, then a qualifying option, then the exact score,
                // so the order is total and the first entry of each worker is its best option.
                lane.sort_unstable_by(|a, b| {
                    b.scaled
                        .cmp(&a.scaled)
                        .then(a.worker.cmp(&b.worker))
                        .then(b.meets_quota.cmp(&a.meets_quota))
                        .then(b.score.total_cmp(&a.score))
                });
                let keep = if prune { max_picks } else { usize::MAX };
                let mut kept = 0;
                for a in &lane {
                    if kept == keep {
                        break;
                    }
                    if seen[a.worker] != lane_id {
                        seen[a.worker] = lane_id;
                        arcs.push(*a);
                        kept += 1;
                    }
                }
                lane_id += 1;
            }
        }
    }
    arcs.sort_by_key(|a| (a.worker, a.problem, a.role, a.quota_lane));

    // Node layout: source, sink, a role node per (problem, role), a quota node per (problem, role), then
    // the workers that have at least one edge, in id order.
    const SOURCE: usize = 0;
    const SINK: usize = 1;
    let mut role_base = Vec::with_capacity(problems.len());
    let mut next = 2;
    for p in problems {
        role_base.push(next);
        next += 2 * p.roles.len();
    }
    let role_node = |pi: usize, ri: usize| role_base[pi] + 2 * ri;
    let quota_node = |pi: usize, ri: usize| role_base[pi] + 2 * ri + 1;
    let mut worker_node = vec![usize::MAX; workers.len()];
    for a in &arcs {
        if worker_node[a.worker] == usize::MAX {
            worker_node[a.worker] = next;
            next += 1;
        }
    }

    // Cost tiers: QB beats any score sum; K makes every lane cost non-negative.
    let max_scaled = arcs.iter().map(|a| a.scaled).max().unwrap_or(0);
    let quota_bonus = (max_picks as i64)
        .checked_mul(max_scaled)
        .and_then(|x| x.checked_add(1))
        .expect("score tiers fit in i64");
    let k = quota_bonus + max_scaled;
    k.checked_mul(max_picks as i64 + 1)
        .expect("total cost fits in i64");

    let mut g = MinCostFlow::new(next);
    let mut last_worker = usize::MAX;
    for a in &arcs {
        if a.worker != last_worker {
            g.add_edge(SOURCE, worker_node[a.worker], 1, 0);
            last_worker = a.worker;
        }
    }
    let mut arc_edges: Vec<EdgeId> = Vec::with_capacity(arcs.len());
    for a in &arcs {
        let (to, value) = if a.quota_lane {
            (quota_node(a.problem, a.role), a.scaled + quota_bonus)
        } else {
            (role_node(a.problem, a.role), a.scaled)
        };
        arc_edges.push(g.add_edge(worker_node[a.worker], to, 1, k - value));
    }
    for (pi, p) in problems.iter().enumerate() {
        for (ri, role) in p.roles.iter().enumerate() {
            let h = i64::from(role.headcount);
            let q = i64::from(role.quota.unwrap_or(0)).min(h);
            if q > 0 {
                g.add_edge(quota_node(pi, ri), role_node(pi, ri), q, 0);
            }
            if h > 0 {
                g.add_edge(role_node(pi, ri), SINK, h, 0);
            }
        }
    }
    g.run(SOURCE, SINK, None);

    let mut raw: Vec<Vec<RawPick>> = vec![Vec::new(); problems.len()];
    for (a, &e) in arcs.iter().zip(&arc_edges) {
        if g.flow(e) > 0 {
            raw[a.problem].push(RawPick {
                pick: Pick {
                    role: a.role,
                    worker: workers[a.worker],
                    score: a.score,
                },
                meets_quota: a.meets_quota,
            });
        }
    }
    problems
        .iter()
        .zip(raw)
        .map(|(p, r)| assemble(p, r))
        .collect()
}
