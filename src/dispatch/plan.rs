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

/// Retrieves and ranks the candidates of `ctx.role`: the best `limit`, with the exclusion counts.
pub fn candidates(index: &WorkerIndex, ctx: &MatchContext<'_>, limit: usize) -> Ranking {
    let order_limit = ctx.order.max_travel_km.map_or(f64::INFINITY, |t| t.km());
    let radius_km = order_limit.min(index.max_travel_km());
    if radius_km <= 0.0 {
        return rank::<Arc<Worker>>(ctx, &[], limit);
    }
    let query = RetrievalQuery {
        agency: ctx.order.agency,
        center: ctx.order.venue.location,
        radius_km,
        skills: ctx.role.skills.clone(),
        languages: ctx.role.languages.clone(),
        certifications: ctx.role.certifications.clone(),
        min_rating: None,
        shift: Some(ctx.order.shift),
    };
    // The profiles are borrowed from the index while they are ranked (see `WorkerIndex::with_retrieved`).
    index.with_retrieved(&query, |pool| rank(ctx, pool, limit))
}

/// The candidates considered for one role of a crew.
#[derive(Debug, Clone)]
pub struct RolePlan {
    /// Slots of the role still open.
    pub open: u32,
    /// The candidates handed to the solver, best first.
    pub considered: Vec<Scored>,
    /// How many passed every hard filter.
    pub eligible: usize,
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
        let depth = if role.quotas.is_empty() {
            n as usize
        } else {
            usize::MAX
        };
        let all = candidates(index, &ctx, depth);
        let mut considered: Vec<Scored> = all.ranked.iter().take(n as usize).cloned().collect();
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
        roles.push(RolePlan {
            open: want,
            considered,
            eligible: all.eligible,
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
            by_worker.entry(s.worker.id).or_default().push(RoleOption {
                role: r,
                score: s.score,
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
