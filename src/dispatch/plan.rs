//! From an order to its candidates and its best crew.
//!
//! Candidates of a role: the index retrieves a superset (skills, languages, certifications, cells within the
//! effective radius), matching filters and scores them exactly. The crew: the best candidates of every role
//! go to the min-cost-flow solver, which picks the crew with the most slots filled, then the most quota units,
//! then the highest total score, a worker filling at most one slot.
//!
//! Only the top `N` candidates of a role (and the top `N` that meet its quota), `N` being the open slots of
//! the whole order, are handed to the solver; this loses no optimal crew. If an optimal crew used a worker `w`
//! for role `r` from outside `r`'s top `N`, at most `N - 1` other slots exist, so some worker `u` of `r`'s
//! top `N` is unused; `u` scores at least as high as `w`, and when `w` counts toward the quota the same holds
//! for the top `N` quota-meeting workers. Swapping `w` for `u` keeps the filled slots and quota units and
//! does not lower the total.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::assign::{self, Candidate, Crew, CrewProblem, RoleOption, RoleSlots};
use crate::domain::{Order, Quota, Worker, WorkerId};
use crate::index::{RetrievalQuery, WorkerIndex};
use crate::matching::{LiveState, MatchContext, Policy, Ranking, Scored, rank};

/// Whether a worker meets a role's composition rule.
pub fn quota_met_by(q: &Quota, w: &Worker) -> bool {
    q.skills
        .iter()
        .all(|s| w.skill_level(&s.name).is_some_and(|l| l >= s.min_level))
        && q.languages.iter().all(|l| w.speaks(l))
        && q.certifications.iter().all(|c| w.certified(c))
}

/// What the index is asked for the candidates of `ctx.role`, or `None` when nobody can be within reach.
fn retrieval(index: &WorkerIndex, ctx: &MatchContext<'_>) -> Option<RetrievalQuery> {
    let order_limit = ctx.order.max_travel_km.map_or(f64::INFINITY, |t| t.km());
    let radius_km = order_limit.min(index.max_travel_km());
    (radius_km > 0.0).then(|| RetrievalQuery {
        agency: ctx.order.agency,
        center: ctx.order.venue.location,
        radius_km,
        skills: ctx.role.skills.clone(),
        languages: ctx.role.languages.clone(),
        certifications: ctx.role.certifications.clone(),
        min_rating: None,
        shift: Some(ctx.order.shift),
    })
}

/// Retrieves and ranks the candidates of `ctx.role`: the best `limit`, with the exclusion counts.
pub fn candidates(index: &WorkerIndex, ctx: &MatchContext<'_>, limit: usize) -> Ranking {
    let Some(query) = retrieval(index, ctx) else {
        return rank::<Arc<Worker>>(ctx, &[], limit);
    };
    // The profiles are borrowed from the index while they are ranked (see `WorkerIndex::with_retrieved`).
    index.with_retrieved(&query, |pool| rank(ctx, pool, limit))
}

/// Retrieves the candidates of `ctx.role` and ranks them in priority groups: the workers of a higher
/// `priority` (a client's favourites, a role's named workers, `star` workers on an important order) before
/// any of a lower one, each group in the ranking's own order (score, then id) and at most `limit` of each.
///
/// The first `limit` of the answer are the first `limit` of the whole ranking sorted by (priority, score,
/// id), found by ranking each group on its own with the bounded ranking instead of scoring every eligible
/// worker exactly to sort them all.
pub fn candidates_by_priority(
    index: &WorkerIndex,
    ctx: &MatchContext<'_>,
    limit: usize,
    priority: &dyn Fn(&Worker) -> f64,
) -> Vec<Scored> {
    let Some(query) = retrieval(index, ctx) else {
        return Vec::new();
    };
    index.with_retrieved(&query, |pool| {
        let keyed: Vec<f64> = pool.iter().map(|c| priority(c)).collect();
        let mut levels = keyed.clone();
        levels.sort_by(|a, b| b.total_cmp(a));
        levels.dedup();
        if levels.len() <= 1 {
            return rank(ctx, pool, limit).ranked;
        }
        let mut out = Vec::new();
        for level in levels {
            let group: Vec<_> = pool
                .iter()
                .zip(&keyed)
                .filter(|(_, k)| k.total_cmp(&level).is_eq())
                .map(|(c, _)| *c)
                .collect();
            out.extend(rank(ctx, &group, limit).ranked);
        }
        out
    })
}

/// Spares a one-role crew keeps for each of its slots ([`RolePlan::spares`]). Crews planned at the same time
/// from the same views pick many of the same workers, and the views learn of a crew's bookings only once its
/// batch commits. Under the load benchmark's orders (32 at a time on five venues) one spare a slot ran out
/// often enough that ranking again inside the writer's turn took 0.25 ms of it on average; with three a
/// slot the deeper ranking happens before the turn, and the turn's time before the booking fell from 0.33 ms
/// to 0.04 ms.
pub const SPARES_PER_SLOT: usize = 3;

/// The candidates considered for one role of a crew.
#[derive(Debug, Clone)]
pub struct RolePlan {
    /// Slots of the role still open.
    pub open: u32,
    /// The candidates handed to the solver, best first.
    pub considered: Vec<Scored>,
    /// How many passed every hard filter.
    pub eligible: usize,
    /// For a role whose crew is simply its best candidates (no quota, no named workers): the next best after
    /// `considered`, best first, up to [`SPARES_PER_SLOT`] for each slot. A worker of the crew found booked when
    /// the crew is written is replaced by the next of these, which is the crew planning again without them
    /// would pick, without ranking again while the writer waits.
    pub spares: Vec<Scored>,
}

/// The best crew for the open slots of an order.
#[derive(Debug, Clone)]
pub struct CrewPlan {
    /// Per role, what was considered.
    pub roles: Vec<RolePlan>,
    /// The optimal crew (roles by index into the order's roles).
    pub crew: Crew,
    /// The greedy crew over the same candidates, for comparison.
    pub greedy: Crew,
}

impl CrewPlan {
    /// The scored entry of a picked worker.
    pub fn scored(&self, role: usize, worker: WorkerId) -> Option<&Scored> {
        self.roles[role]
            .considered
            .iter()
            .find(|s| s.worker.id == worker)
    }
}

/// Plans the crew for the `open` slots of each role of `order`, leaving out `exclude` (workers already in the
/// order) — deterministic for the same inputs.
pub fn plan_crew(
    index: &WorkerIndex,
    live: &LiveState,
    policy: &Policy,
    order: &Order,
    open: &[u32],
    exclude: &HashSet<WorkerId>,
    now: DateTime<Utc>,
) -> CrewPlan {
    let n: u32 = open.iter().sum();
    let mut roles = Vec::with_capacity(order.roles.len());
    for (r, role) in order.roles.iter().enumerate() {
        let want = open.get(r).copied().unwrap_or(0);
        if want == 0 {
            roles.push(RolePlan {
                open: 0,
                considered: Vec::new(),
                eligible: 0,
                spares: Vec::new(),
            });
            continue;
        }
        let ctx = MatchContext {
            order,
            role,
            live,
            policy,
            now,
            exclude,
        };
        // Only the top `n` are handed to the solver (and, for a quota, the top `n` that meet it, who may
        // rank further down): ranking deeper than that builds explanations nobody reads.
        // A one-role crew also keeps spares (see `RolePlan::spares`).
        let simple = role.quotas.is_empty() && role.workers.is_empty();
        let one_role = order.roles.len() == 1;
        let depth = match (simple, one_role) {
            (true, true) => (1 + SPARES_PER_SLOT) * n as usize,
            (true, false) => n as usize,
            (false, _) => usize::MAX,
        };
        let all = candidates(index, &ctx, depth);
        let mut considered: Vec<Scored> = all.ranked.iter().take(n as usize).cloned().collect();
        // Named workers who passed the filters are always handed to the solver, where they come first.
        let chosen: HashSet<WorkerId> = considered.iter().map(|s| s.worker.id).collect();
        considered.extend(
            all.ranked
                .iter()
                .filter(|s| role.workers.contains(&s.worker.id) && !chosen.contains(&s.worker.id))
                .cloned(),
        );
        if let Some(q) = role.quotas.first() {
            let chosen: HashSet<WorkerId> = considered.iter().map(|s| s.worker.id).collect();
            considered.extend(
                all.ranked
                    .iter()
                    .filter(|s| quota_met_by(q, &s.worker))
                    .take(n as usize)
                    .filter(|s| !chosen.contains(&s.worker.id))
                    .cloned(),
            );
        }
        // With one role, its best candidates are the crew; with several, a worker refused in one role may be
        // the best choice of another, so only planning again gives the optimal crew.
        let spares = if simple && one_role {
            all.ranked.iter().skip(n as usize).cloned().collect()
        } else {
            Vec::new()
        };
        roles.push(RolePlan {
            open: want,
            considered,
            eligible: all.eligible,
            spares,
        });
    }
    let problem = problem(order, &roles);
    CrewPlan {
        crew: assign::solve(&problem),
        greedy: assign::greedy(&problem),
        roles,
    }
}

fn problem(order: &Order, roles: &[RolePlan]) -> CrewProblem {
    let mut by_worker: std::collections::BTreeMap<WorkerId, Vec<RoleOption>> = Default::default();
    for (r, plan) in roles.iter().enumerate() {
        let quota = order.roles[r].quotas.first();
        for s in &plan.considered {
            let named = order.roles[r].workers.contains(&s.worker.id);
            by_worker.entry(s.worker.id).or_default().push(RoleOption {
                role: r,
                score: s.score + if named { NAMED_BONUS } else { 0.0 },
                meets_quota: quota.is_some_and(|q| quota_met_by(q, &s.worker)),
            });
        }
    }
    CrewProblem {
        roles: roles
            .iter()
            .enumerate()
            .map(|(r, p)| RoleSlots {
                headcount: p.open,
                quota: order.roles[r]
                    .quotas
                    .first()
                    .map(|q| q.at_least.min(p.open)),
            })
            .collect(),
        candidates: by_worker
            .into_iter()
            .map(|(worker, options)| Candidate { worker, options })
            .collect(),
    }
}

/// What one role of an order in offer mode still needs, as [`plan_offers`] takes it.
#[derive(Debug, Clone, Default)]
pub struct OfferRole {
    /// Slots not yet filled by an accepted worker (headcount less the filled).
    pub open: u32,
    /// Quota units the filled workers still leave missing; `None` for a role without a quota.
    pub quota_missing: Option<u32>,
    /// How many more workers who do not meet the quota the role may take and still reach its quota (its
    /// headcount, less the quota, less the filled who do not meet it); `None` for a role without a quota.
    pub non_quota_room: Option<u32>,
    /// Workers holding a pending offer for this role: tentatively held, so the plan keeps them in this role.
    pub pending: Vec<WorkerId>,
    /// Offers the role wants pending in all (its open slots times the order's fanout).
    pub wanted: u32,
}

/// What being named for a role (its `workers`) adds to a candidate's score there: more than any score with
/// the favourite and star bonuses, less than a pending offer's hold, so named workers come before anyone else.
pub const NAMED_BONUS: f64 = 200.0;

/// A pending offer's worker is worth this much in the plan (more than any score with its priority bonus),
/// so a re-plan keeps the slots they tentatively hold unless a quota needs them.
pub const HELD: f64 = 500.0;

/// New offers of one dispatch, per role: the plan's workers first, then runners-up, each with its score.
pub type OfferPicks = Vec<Vec<(WorkerId, f64)>>;

/// Plans the offers of an order in offer mode: the optimal crew for the open slots of every role (the same
/// min-cost flow as assign mode, quotas included) over the candidates not yet in the order and the workers
/// holding pending offers, who are kept where they are offered; each planned worker without an offer is
/// offered the role the plan gives them. A role with a quota takes new workers who do not meet it only while
/// its quota stays reachable. Then each role is topped up to `wanted` pending offers with runners-up: its next
/// best candidates that the plan does not use in any role (workers not meeting a quota again only while it
/// stays reachable). `priority` adds to a candidate's score in a role (by index) for dispatch order (named
/// workers, favourites, stars); `deep`
/// ranks every candidate (needed when `priority` can lift one from far down). Deterministic for the same
/// inputs.
#[allow(clippy::too_many_arguments)]
pub fn plan_offers(
    index: &WorkerIndex,
    live: &LiveState,
    policy: &Policy,
    order: &Order,
    roles: &[OfferRole],
    exclude: &HashSet<WorkerId>,
    now: DateTime<Utc>,
    priority: &dyn Fn(usize, &Worker) -> f64,
    deep: bool,
) -> OfferPicks {
    let slots: u32 = roles.iter().map(|r| r.open).sum();
    let depth: usize = roles.iter().map(|r| r.wanted as usize).sum::<usize>() + slots as usize;
    // Per role: every candidate ranked by score plus priority, best first (ties by id).
    let mut ranked: Vec<Vec<(Scored, f64)>> = Vec::with_capacity(order.roles.len());
    for (r, role) in order.roles.iter().enumerate() {
        let need = roles.get(r).map_or(0, |x| x.open.max(x.wanted));
        if need == 0 {
            ranked.push(Vec::new());
            continue;
        }
        let ctx = MatchContext {
            order,
            role,
            live,
            policy,
            now,
            exclude,
        };
        // Priorities that lift a worker above any score are ranked group by group, each as deep as the plan
        // needs; a quota needs the whole ranking (the plan may skip any number of workers who do not meet it).
        let ranked_role = if !role.quotas.is_empty() {
            candidates(index, &ctx, usize::MAX).ranked
        } else if deep {
            candidates_by_priority(index, &ctx, depth, &|w| priority(r, w))
        } else {
            candidates(index, &ctx, depth).ranked
        };
        let mut all: Vec<(Scored, f64)> = ranked_role
            .into_iter()
            .map(|s| {
                let p = s.score + priority(r, &s.worker);
                (s, p)
            })
            .collect();
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.worker.id.cmp(&b.0.worker.id)));
        ranked.push(all);
    }
    // The crew problem: the top `slots` of each role (and of its quota-meeting candidates), and the
    // workers holding pending offers in their role only.
    let mut by_worker: std::collections::BTreeMap<WorkerId, Vec<RoleOption>> = Default::default();
    for (r, list) in ranked.iter().enumerate() {
        let quota = order.roles[r].quotas.first();
        let open = roles.get(r).map_or(0, |x| x.open);
        if open == 0 {
            continue;
        }
        let mut taken = 0;
        let mut taken_q = 0;
        for (s, p) in list {
            let meets = quota.is_some_and(|q| quota_met_by(q, &s.worker));
            let top = taken < slots;
            let top_q = meets && taken_q < slots;
            if !top && !top_q {
                if quota.is_none() || taken_q >= slots {
                    break;
                }
                continue;
            }
            if top {
                taken += 1;
            }
            if top_q {
                taken_q += 1;
            }
            by_worker.entry(s.worker.id).or_default().push(RoleOption {
                role: r,
                score: *p,
                meets_quota: meets,
            });
        }
    }
    for (r, x) in roles.iter().enumerate() {
        let quota = order.roles.get(r).and_then(|role| role.quotas.first());
        for w in &x.pending {
            let meets = quota.is_some_and(|q| index.get(*w).is_some_and(|w| quota_met_by(q, &w)));
            by_worker.insert(
                *w,
                vec![RoleOption {
                    role: r,
                    score: HELD,
                    meets_quota: meets,
                }],
            );
        }
    }
    let problem = CrewProblem {
        roles: roles
            .iter()
            .map(|x| RoleSlots {
                headcount: x.open,
                quota: x.quota_missing.map(|q| q.min(x.open)),
            })
            .collect(),
        candidates: by_worker
            .into_iter()
            .map(|(worker, options)| Candidate { worker, options })
            .collect(),
    };
    let crew = assign::solve(&problem);
    let held: HashSet<WorkerId> = roles
        .iter()
        .flat_map(|x| x.pending.iter().copied())
        .collect();
    let planned: HashSet<WorkerId> = crew.picks.iter().map(|p| p.worker).collect();
    let meets = |r: usize, w: &Worker| {
        order.roles[r]
            .quotas
            .first()
            .is_none_or(|q| quota_met_by(q, w))
    };
    let mut out: OfferPicks = vec![Vec::new(); order.roles.len()];
    let mut room: Vec<Option<u32>> = roles.iter().map(|x| x.non_quota_room).collect();
    // Pending offers to workers who do not meet a role's quota already use its room.
    for (r, x) in roles.iter().enumerate() {
        if let Some(room) = room[r].as_mut() {
            let used = x
                .pending
                .iter()
                .filter(|w| index.get(**w).is_some_and(|w| !meets(r, &w)))
                .count() as u32;
            *room = room.saturating_sub(used);
        }
    }
    // The plan's new workers, best first within each role so the room goes to the best.
    for (r, list) in ranked.iter().enumerate() {
        for (s, p) in list {
            if held.contains(&s.worker.id)
                || !crew
                    .picks
                    .iter()
                    .any(|k| k.role == r && k.worker == s.worker.id)
            {
                continue;
            }
            if !meets(r, &s.worker) {
                match room[r].as_mut() {
                    Some(0) => continue,
                    Some(n) => *n -= 1,
                    None => {}
                }
            }
            out[r].push((s.worker.id, *p - priority(r, &s.worker)));
        }
    }
    // Runners-up up to the offers each role wants pending.
    let mut used: HashSet<WorkerId> = planned.clone();
    for (r, list) in ranked.iter().enumerate() {
        let x = &roles[r];
        let mut more = x
            .wanted
            .saturating_sub(x.pending.len() as u32 + out[r].len() as u32);
        for (s, p) in list {
            if more == 0 {
                break;
            }
            if used.contains(&s.worker.id) {
                continue;
            }
            if !meets(r, &s.worker) {
                match room[r].as_mut() {
                    Some(0) => continue,
                    Some(n) => *n -= 1,
                    None => {}
                }
            }
            used.insert(s.worker.id);
            out[r].push((s.worker.id, *p - priority(r, &s.worker)));
            more -= 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::plan_crew;
    use crate::domain::{AgencyId, WorkerId};
    use crate::index::WorkerIndex;
    use crate::matching::{LiveState, Policy};
    use crate::sim::workers::default_week_start;
    use crate::sim::{City, orders, workers};

    #[test]
    fn a_one_role_crews_spares_are_the_crew_planned_again_without_it() {
        let week = default_week_start();
        let city = City::metropolis(3);
        let agency = AgencyId::new(1);
        let index = WorkerIndex::bulk_build(workers(&city, 3_000, 5, agency)).unwrap();
        let live = LiveState::new();
        let policy = Policy::default();
        let mut checked = 0;
        for spec in orders(&city, 60, 9, agency, week) {
            let mut order = spec.order.clone();
            order.roles.truncate(1);
            order.roles[0].quotas.clear();
            order.roles[0].workers.clear();
            let now = order.shift.start() - chrono::Duration::days(1);
            let open = [order.roles[0].headcount];
            let plan = plan_crew(&index, &live, &policy, &order, &open, &HashSet::new(), now);
            let spares = &plan.roles[0].spares;
            if plan.crew.picks.len() < open[0] as usize || spares.len() < open[0] as usize {
                continue;
            }
            // Every worker of the crew refused: planning again without them picks the spares, in order.
            let crew: HashSet<WorkerId> = plan.crew.picks.iter().map(|p| p.worker).collect();
            let again = plan_crew(&index, &live, &policy, &order, &open, &crew, now);
            let mut want: Vec<WorkerId> = spares
                .iter()
                .take(open[0] as usize)
                .map(|s| s.worker.id)
                .collect();
            let mut got: Vec<WorkerId> = again.crew.picks.iter().map(|p| p.worker).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want, "order {:?}", order.title);
            for (s, a) in spares.iter().zip(&again.roles[0].considered) {
                assert_eq!((s.worker.id, s.score), (a.worker.id, a.score));
            }
            checked += 1;
        }
        assert!(
            checked >= 10,
            "only {checked} orders had a crew and its spares"
        );
    }
}
