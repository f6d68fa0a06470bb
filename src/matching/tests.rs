//! The bounded ranking against the exhaustive one, on random instances through the index: the same best
//! workers in the same order, the same scores and explanations to the last bit, the same eligible count and
//! the same counts per exclusion reason; and the ranking by priority groups (favourites, stars) against the
//! exhaustive ranking sorted by group.
//!
//! The workers are the simulator's metropolis workers, then shaken so that every way a record can fall short
//! shows up: blackouts near the shifts (one period or two), windows on odd minutes and across midnight, other
//! timezones (Berlin, whose clocks change inside some shifts), hours caps and travel limits that no `f32`
//! holds, counters past 16 bits, suspensions, unsorted language lists. The live state holds bookings (overlapping, inside the rest
//! gap, filling the week), suspensions, favourites, blocks and client experience; the queries vary priority,
//! preferred skills, minimum stars, the order's travel limit, the shift (one across Berlin's change, some off
//! whole minutes), the workers already in the order and the depth.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::bound::{Bounds, Quick};
use super::filters::{Prepared, Zones};
use super::rank::EXACT_SCORED;
use super::{Booking, Candidate, LiveState, MatchContext, Policy, Ranking, rank_exhaustive};
use crate::dispatch::candidates;
use crate::dispatch::plan::candidates_by_priority;
use crate::domain::time::shift;
use crate::domain::{
    AgencyId, Availability, Days, Interval, Language, LatLon, Level, MinStars, OrderId, Priority,
    SkillName, SkillReq, TravelKm, WeeklyWindow, Worker, WorkerId, WorkerStatus,
};
use crate::index::{RetrievalQuery, WorkerIndex};
use crate::sim::workers::default_week_start;
use crate::sim::{City, OrderKind, Rng, orders, workers};

const WORKERS: usize = 4_000;
const QUERIES: usize = 2_000;

fn interval(start: DateTime<Utc>, hours: f64) -> Interval {
    Interval::new(start, start + Duration::seconds((hours * 3600.0) as i64)).unwrap()
}

/// Shakes one generated worker (see the module doc).
fn shake(w: &mut Worker, g: &mut Rng, week: DateTime<Utc>) {
    if g.bernoulli(0.3) {
        let s = &mut w.stats;
        s.completed_shifts = g.below(60) as u32;
        s.no_shows = g.below(6) as u32;
        s.late_arrivals = g.below(6) as u32;
        s.rating_count = g.below(40) as u32;
        s.rating_sum = s.rating_count * (1 + g.below(5) as u32);
        s.cancellation_weight = *g.choose(&[0.0, 1.0, 2.5, 1.3, 0.1, 7.7]);
        if g.bernoulli(0.05) {
            s.completed_shifts = 70_000 + g.below(10) as u32;
        }
    }
    if g.bernoulli(0.3) {
        w.max_hours_per_week = *g.choose(&[None, Some(9.0), Some(16.0), Some(20.5), Some(37.3)]);
    }
    if g.bernoulli(0.2) {
        w.max_travel_km = TravelKm::new(g.range_f64(2.0, 30.0)).unwrap();
    }
    if g.bernoulli(0.03) {
        w.status = WorkerStatus::Suspended;
    }
    if g.bernoulli(0.15) {
        let start = week + Duration::minutes(g.int_in(-2 * 1440, 9 * 1440));
        w.blackouts = vec![interval(start, g.range_f64(1.0, 72.0))];
        // Sometimes a second period a whole number of hours later: the record then holds both exactly.
        if g.bernoulli(0.4) {
            let first = start + Duration::hours(g.int_in(1, 48));
            w.blackouts = vec![
                Interval::new(start, first).unwrap(),
                interval(
                    first + Duration::hours(g.int_in(1, 60)),
                    g.range_f64(1.0, 48.0),
                ),
            ];
        }
    }
    if g.bernoulli(0.25) {
        let tz = if g.bernoulli(0.4) {
            chrono_tz::Europe::Berlin
        } else {
            w.availability.tz()
        };
        let mut windows = Vec::new();
        for _ in 0..1 + g.below(3) {
            let from = (g.below(48) * 30 + *g.choose(&[0, 0, 7, 15])) as u16;
            let to = ((u64::from(from) + 60 + g.below(16 * 60)) % 1440) as u16;
            if to != from {
                let days = Days::from_bits(1 + g.below(127) as u8);
                windows.push(WeeklyWindow::new(
                    days,
                    from,
                    if to == 0 { 1440 } else { to },
                ));
            }
        }
        w.availability = Availability::new(tz, windows);
    }
    if g.bernoulli(0.02) && w.languages.len() > 1 {
        w.languages.reverse();
    }
}

/// The live state: bookings around the week, suspensions, the client's favourites and blocks, experience.
fn live_state(ws: &[Worker], g: &mut Rng, week: DateTime<Utc>, clients: &[String]) -> LiveState {
    let mut live = LiveState::new();
    for w in ws {
        if g.bernoulli(0.15) {
            for k in 0..1 + g.below(3) {
                let start = week + Duration::minutes(g.int_in(-1440, 8 * 1440));
                live.add_booking(
                    w.id,
                    Booking {
                        interval: interval(start, g.range_f64(2.0, 12.0)),
                        order: OrderId::new(100_000 + k),
                        role: Some(0),
                        client_ref: g.choose(clients).clone(),
                    },
                );
            }
        }
        if g.bernoulli(0.02) {
            live.suspend(w.id, week + Duration::days(g.int_in(-3, 10)));
        }
        let client = g.choose(clients).clone();
        if g.bernoulli(0.05) {
            live.set_favourite(w.agency, &client, w.id, true);
        }
        if g.bernoulli(0.03) {
            live.set_blocked(w.agency, &client, w.id, true);
        }
        if g.bernoulli(0.05) {
            live.set_client_experience(w.id, &client, g.below(8) as u32);
        }
    }
    live
}

/// The retrieval `dispatch::candidates` runs for a context.
fn retrieval(index: &WorkerIndex, ctx: &MatchContext<'_>) -> RetrievalQuery {
    let order_limit = ctx.order.max_travel_km.map_or(f64::INFINITY, |t| t.km());
    RetrievalQuery {
        agency: ctx.order.agency,
        center: ctx.order.venue.location,
        radius_km: order_limit.min(index.max_travel_km()),
        skills: ctx.role.skills.clone(),
        languages: ctx.role.languages.clone(),
        certifications: ctx.role.certifications.clone(),
        min_rating: None,
        shift: Some(ctx.order.shift),
    }
}

/// Everything two rankings must agree on, bit for bit: per ranked worker its id and the bits of its score,
/// distance and contributions; the eligible count; the counts per reason.
type Fingerprint = (Vec<(u64, u64, u64, Vec<u64>)>, usize, Vec<(String, usize)>);

/// The [`Fingerprint`] of a ranking.
fn fingerprint(r: &Ranking) -> Fingerprint {
    (
        r.ranked
            .iter()
            .map(|s| {
                (
                    s.worker.id.get(),
                    s.score.to_bits(),
                    s.distance_km.to_bits(),
                    s.explain.iter().map(|(_, c)| c.to_bits()).collect(),
                )
            })
            .collect(),
        r.eligible,
        r.excluded
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), *v))
            .collect(),
    )
}

#[test]
fn the_bounded_ranking_equals_the_exhaustive_ranking_on_random_queries() {
    let week = default_week_start();
    let city = City::metropolis(3);
    let agency = AgencyId::new(1);
    let mut g = Rng::new(2026);
    let mut ws = workers(&city, WORKERS, 5, agency);
    // Half the workers live within a few kilometres of one spot, where most venues are: dense queries.
    let hub = ws[0].home;
    for w in &mut ws {
        shake(w, &mut g, week);
        if g.bernoulli(0.5) {
            w.home = LatLon::new(
                hub.lat() + g.range_f64(-0.04, 0.04),
                hub.lon() + g.range_f64(-0.04, 0.04),
            )
            .unwrap();
        }
    }
    // Two segments: a bulk build, then upserts.
    let (first, second) = ws.split_at(WORKERS * 3 / 4);
    let index = WorkerIndex::bulk_build(first.to_vec()).unwrap();
    index.upsert_many(second.to_vec()).unwrap();
    index.remember_retrievals(false);

    // Exhibition and retail orders first: daytime shifts most workers can take.
    let mut specs = orders(&city, 200, 9, agency, week);
    specs.sort_by_key(|s| !matches!(s.kind, OrderKind::Exhibition | OrderKind::Retail));
    specs.truncate(60);
    let clients: Vec<String> = specs
        .iter()
        .map(|s| s.order.client_ref.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let live = live_state(&ws, &mut g, week, &clients);
    let policy = Policy::default();
    let mut held: BTreeMap<SkillName, usize> = BTreeMap::new();
    for w in &ws {
        for s in &w.skills {
            *held.entry(s.name.clone()).or_default() += 1;
        }
    }
    let mut common: Vec<(usize, SkillName)> = held.into_iter().map(|(k, n)| (n, k)).collect();
    common.sort_unstable_by(|a, b| b.cmp(a));
    let common: Vec<SkillName> = common.into_iter().take(4).map(|(_, k)| k).collect();
    let berlin_change = "2026-10-25T00:30:00Z".parse::<DateTime<Utc>>().unwrap();

    // Venues near the hub, and a few at workers' homes elsewhere (a few, since each new venue costs its reach
    // cells, which the debug build computes slowly).
    let venues: Vec<LatLon> = (0..16)
        .map(|i| {
            if i < 12 {
                LatLon::new(
                    hub.lat() + g.range_f64(-0.03, 0.03),
                    hub.lon() + g.range_f64(-0.03, 0.03),
                )
                .unwrap()
            } else {
                ws[g.below(WORKERS as u64) as usize].home
            }
        })
        .collect();
    let (mut compared, mut ranked, mut eligible, mut scored, mut decided, mut seen) =
        (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    for q in 0..QUERIES {
        let spec = &specs[q % specs.len()];
        let mut order = spec.order.clone();
        let role_ix = g.below(order.roles.len() as u64) as usize;
        order.priority = *g.choose(&[Priority::Normal, Priority::High, Priority::Urgent]);
        order.max_travel_km = g
            .choose(&[None, None, Some(7.5), Some(12.3), Some(17.77)])
            .map(|km| TravelKm::new(km).unwrap());
        if g.below(4) > 0 {
            order.venue.location = *g.choose(&venues);
        }
        let len = order.shift.duration();
        let start = match g.below(40) {
            0 => berlin_change - Duration::hours(2),
            1..=15 => order.shift.start() + Duration::minutes(15 * g.int_in(-8 * 4, 8 * 4)),
            // Off a whole minute: the record's exact blackouts do not decide it.
            16..=18 => order.shift.start() + Duration::seconds(g.int_in(-3600, 3600)),
            _ => order.shift.start(),
        };
        order.shift = shift(start, start + len).unwrap();
        {
            let role = &mut order.roles[role_ix];
            role.preferred_skills = match g.below(4) {
                0 => vec![SkillName::new("forklift").unwrap()],
                1 => vec![
                    SkillName::new("bartender").unwrap(),
                    SkillName::new("promoter").unwrap(),
                ],
                _ => vec![],
            };
            role.min_stars = MinStars::new(*g.choose(&[0.0, 0.0, 3.5, 4.2])).unwrap();
            // Mostly dense roles: one of the commonest skills, at most one language, few certifications.
            if g.bernoulli(0.8) {
                role.skills = vec![SkillReq {
                    name: common[g.below(4).saturating_sub(2) as usize].clone(),
                    min_level: Level::new(1 + g.below(2) as i64).unwrap(),
                }];
                role.certifications.clear();
                role.languages = match g.below(8) {
                    0 => vec![Language::new("en").unwrap()],
                    1 => vec![Language::new("zh").unwrap()],
                    _ => vec![],
                };
            } else if g.bernoulli(0.1) {
                // Unsorted skills: the records must not be trusted with them.
                role.skills.insert(
                    0,
                    SkillReq {
                        name: SkillName::new("zz_none").unwrap(),
                        min_level: Level::MIN,
                    },
                );
            }
        }
        let exclude: HashSet<WorkerId> = (0..g.below(30))
            .map(|_| WorkerId::new(1 + g.below(WORKERS as u64)))
            .collect();
        let ctx = MatchContext {
            order: &order,
            role: &order.roles[role_ix],
            live: &live,
            policy: &policy,
            now: order.shift.start() - Duration::hours(g.int_in(1, 72)),
            exclude: &exclude,
        };
        let limit = *g.choose(&[0, 1, 3, 10, 50, 50, 50, 400]);

        EXACT_SCORED.with(|c| c.set(0));
        let bounded = candidates(&index, &ctx, limit);
        scored += EXACT_SCORED.with(|c| c.get());
        let query = retrieval(&index, &ctx);
        let exhaustive = rank_exhaustive(&ctx, &index.retrieve(&query), limit);
        assert_eq!(
            fingerprint(&bounded),
            fingerprint(&exhaustive),
            "query {q}: order {:?} role {role_ix} limit {limit}",
            order.id
        );
        // Priority groups (the client's favourites, then `star` workers on important orders), each ranked
        // on its own, against the whole exhaustive ranking sorted by (group, score, id).
        let stars = order.priority.favours_stars();
        let group = |w: &Worker| {
            let favourite = live.is_favourite(order.agency, &order.client_ref, w.id);
            let star = stars && w.stats.tier() == crate::domain::Tier::Star;
            f64::from(u8::from(favourite) * 2 + u8::from(star))
        };
        let grouped = candidates_by_priority(&index, &ctx, limit, &group);
        let mut all = rank_exhaustive(&ctx, &index.retrieve(&query), usize::MAX).ranked;
        all.sort_by(|a, b| {
            group(&b.worker)
                .total_cmp(&group(&a.worker))
                .then(b.score.total_cmp(&a.score))
                .then(a.worker.id.cmp(&b.worker.id))
        });
        all.truncate(limit);
        let picks = |list: &[super::Scored]| -> Vec<(u64, u64, Vec<u64>)> {
            list.iter()
                .map(|s| {
                    let explain = s.explain.iter().map(|(_, c)| c.to_bits()).collect();
                    (s.worker.id.get(), s.score.to_bits(), explain)
                })
                .collect()
        };
        assert_eq!(
            picks(&grouped[..grouped.len().min(limit)]),
            picks(&all),
            "query {q}: priority groups, limit {limit}"
        );
        compared += 1;
        ranked += bounded.ranked.len();
        eligible += bounded.eligible;
        // How many candidates the records decided without their profile.
        let prep = Prepared::new(ctx);
        let bounds = Bounds::new(&prep);
        let mut zones = Zones::default();
        index.with_retrieved(&query, |pool| {
            for c in pool {
                seen += 1;
                let f = c.fast().unwrap();
                if f.checked.serves(order.venue.location, ctx.role)
                    && bounds.decide(&f, c, &mut zones) != Quick::Unsure
                {
                    decided += 1;
                }
            }
        });
    }
    eprintln!(
        "{compared} queries: {ranked} ranked of {eligible} eligible; {scored} scored exactly after the \
         records; {decided} of {seen} candidates decided on their record"
    );
    // The instances are dense enough for the bounds to matter, the records decide most candidates, and few
    // candidates beyond those ranked are scored exactly.
    assert!(
        eligible > 2 * ranked,
        "{eligible} eligible, {ranked} ranked"
    );
    assert!(
        decided * 10 > seen * 7,
        "{decided} of {seen} decided on records"
    );
    assert!(
        scored < ranked + ranked / 4,
        "{scored} scored exactly, {ranked} ranked"
    );
}

/// A record decides only what the profile would: each worker alone, every filter reason and bound.
#[test]
fn a_record_never_disagrees_with_the_profile() {
    let week = default_week_start();
    let city = City::metropolis(3);
    let agency = AgencyId::new(1);
    let mut g = Rng::new(77);
    let mut ws = workers(&city, 1_500, 8, agency);
    for w in &mut ws {
        shake(w, &mut g, week);
    }
    let index = WorkerIndex::bulk_build(ws.clone()).unwrap();
    let clients = vec!["c1".to_string(), "c2".to_string()];
    let live = live_state(&ws, &mut g, week, &clients);
    let policy = Policy::default();
    let specs = orders(&city, 40, 4, agency, week);
    let none = HashSet::new();
    // Candidates holding none of their role's preferred skills, and how many of them the bound counts none for.
    let (mut lacking, mut tight) = (0usize, 0usize);
    for s in &specs {
        let mut order = s.order.clone();
        order.client_ref = "c1".into();
        for role in &order.roles {
            let ctx = MatchContext {
                order: &order,
                role,
                live: &live,
                policy: &policy,
                now: order.shift.start() - Duration::days(1),
                exclude: &none,
            };
            let prep = Prepared::new(ctx);
            let bounds = Bounds::new(&prep);
            let mut zones = Zones::default();
            index.with_retrieved(&retrieval(&index, &ctx), |pool| {
                for c in pool {
                    let f = c.fast().unwrap();
                    if !f.checked.serves(order.venue.location, role) {
                        continue;
                    }
                    let exact = prep.score(c.profile(), &mut zones);
                    match bounds.decide(&f, c, &mut zones) {
                        Quick::Unsure => {}
                        Quick::Out(r) => assert_eq!(exact.map(|_| ()), Err(r), "{:?}", c.id),
                        Quick::Bound(b) => {
                            let (score, _, _) = exact.expect("passes");
                            assert!(b >= score, "{:?}: bound {b} < score {score}", c.id);
                            assert!(b - score <= policy.weights.preferred_skills + 1e-3);
                            if !role.preferred_skills.is_empty()
                                && role
                                    .preferred_skills
                                    .iter()
                                    .all(|p| c.skill_level(p).is_none())
                            {
                                lacking += 1;
                                if b - score < policy.weights.preferred_skills / 4.0 {
                                    tight += 1;
                                }
                            }
                        }
                    }
                }
            });
        }
    }
    // The record's skill bits tell most of those who lack a preferred skill (a few share a bit with a skill
    // they hold): their bound does not count the feature whole.
    assert!(lacking > 100, "{lacking}");
    assert!(tight * 2 > lacking, "{tight} of {lacking}");
}
