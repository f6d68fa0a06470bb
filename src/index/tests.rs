//! Behaviour tests of the worker index over its public API, with a brute-force haversine scan as the oracle
//! for distance.

use geo::{Destination, Haversine, Point};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::domain::{
    Availability, Level, Skill, TravelKm, WorkerStats, WorkerStatus, worker::DEFAULT_TRAVEL_KM,
};

const AGENCY: AgencyId = AgencyId::new(1);

fn at(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).unwrap()
}

/// A point `km` away from `from` along `bearing` degrees.
fn away(from: LatLon, bearing: f64, km: f64) -> LatLon {
    let p = Haversine.destination(Point::new(from.lon(), from.lat()), bearing, km * 1000.0);
    at(p.y(), p.x())
}

fn worker(id: u64, home: LatLon) -> Worker {
    Worker {
        id: WorkerId::new(id),
        agency: AGENCY,
        external_ref: format!("W-{id}"),
        name: format!("Worker {id}"),
        home,
        max_travel_km: TravelKm::new(DEFAULT_TRAVEL_KM).unwrap(),
        skills: vec![skill("promoter", 3)],
        languages: vec![Language::new("en").unwrap()],
        certifications: vec![Certification::new("food_safety").unwrap()],
        availability: Availability::new(chrono_tz::UTC, vec![]),
        blackouts: vec![],
        max_hours_per_week: None,
        bio: String::new(),
        status: WorkerStatus::Active,
        stats: WorkerStats::default(),
    }
}

fn skill(name: &str, level: i64) -> Skill {
    Skill {
        name: SkillName::new(name).unwrap(),
        level: Level::new(level).unwrap(),
    }
}

fn req(name: &str, level: i64) -> SkillReq {
    SkillReq {
        name: SkillName::new(name).unwrap(),
        min_level: Level::new(level).unwrap(),
    }
}

const SHANGHAI: (f64, f64) = (31.2304, 121.4737);

fn query(center: LatLon, radius_km: f64) -> RetrievalQuery {
    RetrievalQuery {
        agency: AGENCY,
        center,
        radius_km,
        skills: vec![],
        languages: vec![],
        certifications: vec![],
        min_rating: None,
        shift: None,
    }
}

/// The ids of retrieved workers, sorted (retrieval returns them in index order).
fn ids(found: &[Arc<Worker>]) -> Vec<u64> {
    let mut ids: Vec<u64> = found.iter().map(|w| w.id.get()).collect();
    ids.sort_unstable();
    ids
}

/// Indexes one worker near Shanghai and tells whether a query changed by `tweak` finds it.
fn check(tweak: impl FnOnce(&mut RetrievalQuery), expected: bool) {
    let idx = WorkerIndex::new();
    let home = at(SHANGHAI.0, SHANGHAI.1);
    idx.upsert(worker(7, home)).unwrap();
    let mut q = query(away(home, 45.0, 3.0), 10.0);
    tweak(&mut q);
    assert_eq!(!idx.retrieve(&q).is_empty(), expected, "{q:?}");
}

#[test]
fn a_skill_is_found_at_or_below_the_workers_level_and_not_above() {
    check(|q| q.skills = vec![req("promoter", 2)], true);
    check(|q| q.skills = vec![req("promoter", 3)], true);
    check(|q| q.skills = vec![req("promoter", 4)], false);
    check(|q| q.skills = vec![req("forklift", 1)], false);
    check(
        |q| q.skills = vec![req("promoter", 1), req("forklift", 1)],
        false,
    );
}

#[test]
fn languages_and_certifications_must_all_be_held() {
    check(|q| q.languages = vec![Language::new("en").unwrap()], true);
    check(|q| q.languages = vec![Language::new("zh").unwrap()], false);
    check(
        |q| q.certifications = vec![Certification::new("food_safety").unwrap()],
        true,
    );
    check(
        |q| q.certifications = vec![Certification::new("forklift").unwrap()],
        false,
    );
}

#[test]
fn a_worker_of_another_agency_is_never_a_candidate() {
    check(|q| q.agency = AgencyId::new(2), false);
}

#[test]
fn a_worker_beyond_the_radius_or_own_travel_limit_is_excluded() {
    check(|q| q.radius_km = 3.1, true);
    check(|q| q.radius_km = 2.9, false);
    check(|q| q.center = away(q.center, 45.0, 30.0), false); // 33 km: beyond the worker's 25 km
}

#[test]
fn a_rating_floor_excludes_the_unrated_and_the_lower_rated() {
    let idx = WorkerIndex::new();
    let home = at(SHANGHAI.0, SHANGHAI.1);
    let mut rated = worker(1, home);
    rated.stats.rating_sum = 9;
    rated.stats.rating_count = 2; // 4.5
    idx.upsert_many(vec![rated, worker(2, home)]).unwrap();
    let mut q = query(home, 5.0);
    assert_eq!(ids(&idx.retrieve(&q)), [1, 2]);
    q.min_rating = Some(0.0);
    assert_eq!(ids(&idx.retrieve(&q)), [1, 2]);
    q.min_rating = Some(4.5);
    assert_eq!(ids(&idx.retrieve(&q)), [1]);
    q.min_rating = Some(4.6);
    assert!(idx.retrieve(&q).is_empty());
}

/// Random homes around a venue, some inside and some outside the radius, with travel limits across all bands;
/// retrieval must return exactly the workers the brute-force scan finds.
fn retrieval_matches_brute_force_around(center: LatLon, radius_km: f64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let travels = [1.0, 3.0, 5.0, 10.0, 25.0, 40.0, 100.0, 300.0, 500.0];
    let workers: Vec<Worker> = (0..3000)
        .map(|i| {
            let km = radius_km * 1.6 * rng.random::<f64>().sqrt();
            let mut w = worker(i, away(center, rng.random_range(0.0..360.0), km));
            w.max_travel_km = TravelKm::new(travels[rng.random_range(0..travels.len())]).unwrap();
            w
        })
        .collect();
    let expected: Vec<u64> = workers
        .iter()
        .filter(|w| {
            let d = center.distance_km(w.home);
            d <= radius_km && d <= w.max_travel_km.km()
        })
        .map(|w| w.id.get())
        .collect();
    assert!(!expected.is_empty());
    // A bulk build (one segment, each reach term's documents a run) and the same workers written in three
    // batches (three segments, the documents as lists) find the same workers.
    let upserted = WorkerIndex::new();
    for batch in workers.chunks(1000) {
        upserted.upsert_many(batch.to_vec()).unwrap();
    }
    let idx = WorkerIndex::bulk_build(workers).unwrap();
    let found = ids(&idx.retrieve(&query(center, radius_km)));
    assert_eq!(found, expected, "around {center:?} within {radius_km} km");
    let borrowed = idx.with_retrieved(&query(center, radius_km), |pool| {
        let mut ids: Vec<u64> = pool.iter().map(|w| w.id.get()).collect();
        ids.sort_unstable();
        ids
    });
    assert_eq!(
        borrowed, expected,
        "borrowed, around {center:?} within {radius_km} km"
    );
    let found = ids(&upserted.retrieve(&query(center, radius_km)));
    assert_eq!(
        found, expected,
        "upserted, around {center:?} within {radius_km} km"
    );
}

#[test]
fn retrieval_finds_every_worker_within_reach_at_several_radii_and_latitudes() {
    let venues = [
        at(0.5, 10.0),
        at(SHANGHAI.0, SHANGHAI.1),
        at(48.8566, 2.3522),
        at(59.9139, 10.7522),
        at(60.17, 24.94),
        at(-33.87, 151.21),
    ];
    for (i, &v) in venues.iter().enumerate() {
        for (j, r) in [0.8, 4.0, 12.0, 25.0, 70.0, 250.0].into_iter().enumerate() {
            retrieval_matches_brute_force_around(v, r, (i * 10 + j) as u64);
        }
    }
}

#[test]
fn a_worker_exactly_at_the_edge_of_the_radius_is_returned() {
    for (lat, lon) in [
        (0.0, 0.0),
        SHANGHAI,
        (45.0, 7.0),
        (60.0, 25.0),
        (-60.0, -70.0),
    ] {
        let venue = at(lat, lon);
        for (k, r) in [0.5, 2.9, 7.7, 24.0, 120.0].into_iter().enumerate() {
            let idx = WorkerIndex::new();
            let mut w = worker(1, away(venue, 37.0 * k as f64, r));
            w.max_travel_km = TravelKm::new(500.0).unwrap();
            let home = w.home;
            idx.upsert(w).unwrap();
            let edge = venue.distance_km(home);
            assert_eq!(
                ids(&idx.retrieve(&query(venue, edge))),
                [1],
                "{lat},{lon} {r}"
            );
        }
    }
}

#[test]
fn an_update_changes_retrieval_at_once_without_duplicates() {
    let idx = WorkerIndex::new();
    let home = at(SHANGHAI.0, SHANGHAI.1);
    let mut w = worker(5, home);
    w.skills = vec![skill("promoter", 1)];
    idx.upsert(w.clone()).unwrap();
    let mut q = query(home, 5.0);
    q.skills = vec![req("promoter", 3)];
    assert!(idx.retrieve(&q).is_empty());

    w.skills = vec![skill("promoter", 4)];
    idx.upsert(w.clone()).unwrap();
    assert_eq!(ids(&idx.retrieve(&q)), [5]);
    assert_eq!(idx.len(), 1);
    assert_eq!(
        idx.get(WorkerId::new(5)).unwrap().skills,
        [skill("promoter", 4)]
    );

    w.home = away(home, 90.0, 40.0);
    idx.upsert(w).unwrap();
    assert!(idx.retrieve(&q).is_empty());
}

#[test]
fn a_removed_worker_is_gone_and_its_slot_serves_a_new_one() {
    let idx = WorkerIndex::new();
    let home = at(SHANGHAI.0, SHANGHAI.1);
    idx.upsert_many(vec![worker(1, home), worker(2, home)])
        .unwrap();
    assert!(idx.remove(WorkerId::new(1)).unwrap());
    assert!(!idx.remove(WorkerId::new(1)).unwrap());
    assert!(idx.get(WorkerId::new(1)).is_none());
    assert_eq!(ids(&idx.retrieve(&query(home, 5.0))), [2]);

    let mut far = worker(3, away(home, 0.0, 100.0));
    far.skills = vec![skill("forklift", 2)];
    idx.upsert(far).unwrap();
    assert_eq!(ids(&idx.retrieve(&query(home, 5.0))), [2]);
    assert_eq!(idx.len(), 2);
    assert_eq!(
        idx.get(WorkerId::new(3)).unwrap().skills[0].name.as_str(),
        "forklift"
    );
}

#[test]
fn a_batch_with_the_same_worker_twice_keeps_the_last_profile() {
    let home = at(SHANGHAI.0, SHANGHAI.1);
    let mut second = worker(9, home);
    second.skills = vec![skill("forklift", 1)];
    let batch = vec![worker(9, home), second];
    let mut q = query(home, 5.0);
    q.skills = vec![req("forklift", 1)];

    let built = WorkerIndex::bulk_build(batch.clone()).unwrap();
    let upserted = WorkerIndex::new();
    upserted.upsert_many(batch).unwrap();
    for idx in [built, upserted] {
        assert_eq!(idx.len(), 1);
        assert_eq!(ids(&idx.retrieve(&q)), [9]);
        q.skills = vec![req("promoter", 1)];
        assert!(idx.retrieve(&q).is_empty());
        q.skills = vec![req("forklift", 1)];
    }
}

#[test]
fn the_largest_travel_limit_follows_updates_and_removals() {
    let idx = WorkerIndex::new();
    assert_eq!(idx.max_travel_km(), 0.0);
    let home = at(SHANGHAI.0, SHANGHAI.1);
    let mut far = worker(1, home);
    far.max_travel_km = TravelKm::new(120.0).unwrap();
    idx.upsert_many(vec![far.clone(), worker(2, home)]).unwrap();
    assert_eq!(idx.max_travel_km(), 120.0);
    far.max_travel_km = TravelKm::new(60.0).unwrap();
    idx.upsert(far).unwrap();
    assert_eq!(idx.max_travel_km(), 60.0);
    idx.remove(WorkerId::new(1)).unwrap();
    assert_eq!(idx.max_travel_km(), DEFAULT_TRAVEL_KM);
}

#[test]
fn the_roster_copy_drops_the_bio() {
    let idx = WorkerIndex::new();
    let mut w = worker(1, at(SHANGHAI.0, SHANGHAI.1));
    w.bio = "Experienced barista".into();
    idx.upsert(w).unwrap();
    assert_eq!(idx.get(WorkerId::new(1)).unwrap().bio, "");
}

fn search(idx: &WorkerIndex, tweak: impl FnOnce(&mut SearchQuery)) -> Vec<u64> {
    let mut q = SearchQuery {
        agency: AGENCY,
        text: None,
        skill: None,
        near: None,
        after: None,
        limit: 100,
    };
    tweak(&mut q);
    idx.search(&q).into_iter().map(WorkerId::get).collect()
}

#[test]
fn search_filters_by_bio_words_skill_and_distance_and_pages_by_id() {
    let home = at(SHANGHAI.0, SHANGHAI.1);
    let mut ws: Vec<Worker> = (1..=6).map(|i| worker(i, home)).collect();
    ws[0].bio = "Bilingual barista, weekend events".into();
    ws[1].bio = "Barista and forklift driver".into();
    ws[2].skills = vec![skill("forklift", 1)];
    ws[3].home = away(home, 180.0, 50.0);
    ws[4].agency = AgencyId::new(2);
    ws[5].name = "Zhang Barista".into();
    let idx = WorkerIndex::bulk_build(ws).unwrap();

    assert_eq!(search(&idx, |_| {}), [1, 2, 3, 4, 6]);
    assert_eq!(search(&idx, |q| q.text = Some("BARISTA".into())), [1, 2, 6]);
    assert_eq!(
        search(&idx, |q| q.text = Some("barista weekend".into())),
        [1]
    );
    assert_eq!(
        search(&idx, |q| q.skill =
            Some(SkillName::new("forklift").unwrap())),
        [3]
    );
    assert_eq!(search(&idx, |q| q.near = Some((home, 10.0))), [1, 2, 3, 6]);
    assert_eq!(
        search(&idx, |q| q.near = Some((home, 60.0))),
        [1, 2, 3, 4, 6]
    );
    assert_eq!(
        search(&idx, |q| {
            q.limit = 2;
        }),
        [1, 2]
    );
    assert_eq!(
        search(&idx, |q| {
            q.after = Some(WorkerId::new(2));
            q.limit = 2;
        }),
        [3, 4]
    );
    assert_eq!(search(&idx, |q| q.after = Some(WorkerId::new(4))), [6]);
}

#[test]
fn the_index_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<WorkerIndex>();
}

#[test]
fn a_record_update_is_seen_at_once_and_a_changed_skill_still_reaches_retrieval() {
    let idx = WorkerIndex::new();
    let home = at(SHANGHAI.0, SHANGHAI.1);
    let mut w = worker(7, home);
    w.skills = vec![skill("promoter", 2)];
    idx.upsert(w.clone()).unwrap();
    let mut q = query(home, 5.0);
    q.skills = vec![req("promoter", 2)];

    // A completed shift and a suspension change only the record: the roster shows them at once.
    w.stats.completed_shifts = 9;
    w.status = crate::domain::WorkerStatus::Suspended;
    idx.update_records(vec![w.clone()]).unwrap();
    let seen = idx.get(WorkerId::new(7)).unwrap();
    assert_eq!(seen.stats.completed_shifts, 9);
    assert_eq!(seen.status, crate::domain::WorkerStatus::Suspended);
    assert_eq!(ids(&idx.retrieve(&q)), [7]);
    assert_eq!(idx.retrieve(&q)[0].stats.completed_shifts, 9);

    // A record update that also changes a skill is indexed in full.
    w.skills = vec![skill("promoter", 1)];
    idx.update_records(vec![w]).unwrap();
    assert!(idx.retrieve(&q).is_empty());
    assert_eq!(idx.len(), 1);
}

/// Random weekly windows in Berlin and Shanghai, and shifts in the week Berlin puts its clocks back, many past
/// midnight: retrieval with the shift returns every worker whose availability covers it (and none whose
/// windows miss one of its hours entirely).
#[test]
fn retrieval_with_a_shift_keeps_every_worker_available_for_it() {
    use crate::domain::{Days, WeeklyWindow, time::shift};
    let mut rng = StdRng::seed_from_u64(21);
    let zones: [chrono_tz::Tz; 2] = [chrono_tz::Europe::Berlin, chrono_tz::Asia::Shanghai];
    let workers: Vec<Worker> = (1..=400)
        .map(|id| {
            let mut w = worker(id, at(52.52, 13.40));
            let windows = (0..rng.random_range(1..3))
                .map(|_| {
                    let from = rng.random_range(0..48u16) * 30;
                    let to = (from + rng.random_range(2..40u16) * 30) % 1440;
                    let to = if to == 0 { 1440 } else { to };
                    WeeklyWindow::new(Days::from_bits(rng.random_range(1..128)), from, to)
                })
                .collect();
            w.availability = Availability::new(zones[id as usize % 2], windows);
            w
        })
        .collect();
    let idx = WorkerIndex::bulk_build(workers.clone()).unwrap();
    // The same workers written in batches, then a quarter of them written again (their first documents
    // deleted): the hour sets of every segment agree with the bulk build.
    let upserted = WorkerIndex::new();
    for batch in workers.chunks(150) {
        upserted.upsert_many(batch.to_vec()).unwrap();
    }
    upserted
        .upsert_many(workers.iter().step_by(4).cloned().collect())
        .unwrap();
    // Monday 2026-10-19; Berlin's clocks go back on Sunday 25 October at 01:00 UTC.
    let monday = crate::domain::time::parse_instant("2026-10-19T00:00:00Z").unwrap();
    let mut checked = 0;
    for _ in 0..60 {
        let start = monday + chrono::Duration::minutes(rng.random_range(0..7 * 48) * 30);
        let s = shift(
            start,
            start + chrono::Duration::hours(rng.random_range(1..12)),
        )
        .unwrap();
        let mut q = query(at(52.52, 13.40), 10.0);
        q.shift = Some(s);
        let found = ids(&idx.retrieve(&q));
        assert_eq!(ids(&upserted.retrieve(&q)), found, "{s:?}");
        let available: Vec<u64> = workers
            .iter()
            .filter(|w| w.availability.covers(&s))
            .map(|w| w.id.get())
            .collect();
        for id in &available {
            assert!(found.contains(id), "worker {id} available for {s:?}");
        }
        // And exactly those whose hours of the week hold every hour the shift touches: the hour sets let
        // nobody else through.
        let need = super::hours::shift_slots(&s);
        let by_hours: Vec<u64> = workers
            .iter()
            .filter(|w| super::hours::worker_slots(&w.availability).contains(&need))
            .map(|w| w.id.get())
            .collect();
        assert_eq!(found, by_hours, "{s:?}");
        checked += available.len();
        assert!(found.len() < workers.len(), "the shift narrows nothing");
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn a_remembered_retrieval_follows_profile_writes_and_serves_current_records() {
    let idx = WorkerIndex::new();
    let home = at(SHANGHAI.0, SHANGHAI.1);
    idx.upsert_many(vec![worker(1, home), worker(2, home)])
        .unwrap();
    let mut q = query(home, 5.0);
    q.skills = vec![req("promoter", 1)];
    assert_eq!(ids(&idx.retrieve(&q)), [1, 2]);
    // The same query again is answered from memory, with the same answer.
    assert_eq!(ids(&idx.retrieve(&q)), [1, 2]);
    // A profile write that drops the skill is seen at once.
    let mut cook = worker(2, home);
    cook.skills = vec![skill("cook", 3)];
    idx.upsert(cook).unwrap();
    assert_eq!(ids(&idx.retrieve(&q)), [1]);
    // A record-only change (a suspension) keeps the remembered set, and the record handed out is the new one.
    let mut suspended = worker(1, home);
    suspended.status = WorkerStatus::Suspended;
    idx.update_records(vec![suspended]).unwrap();
    let found = idx.retrieve(&q);
    assert_eq!(ids(&found), [1]);
    assert_eq!(found[0].status, WorkerStatus::Suspended);
    // A removal is seen at once too.
    idx.remove(WorkerId::new(1)).unwrap();
    assert!(idx.retrieve(&q).is_empty());
    // With the memory off, the answer is the same.
    idx.remember_retrievals(false);
    assert!(idx.retrieve(&q).is_empty());
}

/// Orders posted for the same hours week after week share one remembered retrieval; a shift at other hours
/// of the week is retrieved on its own, and finds only the workers whose hours reach it.
#[test]
fn shifts_a_week_apart_at_the_same_hours_share_one_remembered_retrieval() {
    use crate::domain::{Days, WeeklyWindow, time::shift};
    let idx = WorkerIndex::new();
    let home = at(SHANGHAI.0, SHANGHAI.1);
    let mut saturdays = worker(1, home);
    // Saturdays 08:00–20:00 UTC only.
    saturdays.availability = Availability::new(
        chrono_tz::UTC,
        vec![WeeklyWindow::new(
            Days::from_bits(0b010_0000),
            8 * 60,
            20 * 60,
        )],
    );
    idx.upsert(saturdays).unwrap();
    let at_hours = |start: &str, end: &str| {
        let mut q = query(home, 10.0);
        q.shift = Some(
            shift(
                crate::domain::time::parse_instant(start).unwrap(),
                crate::domain::time::parse_instant(end).unwrap(),
            )
            .unwrap(),
        );
        q
    };
    let remembered = || {
        idx.retrievals.run_pending_tasks();
        idx.retrievals.entry_count()
    };
    // Saturday 2026-11-28 and the Saturday a week later, 09:00–17:00 UTC.
    let first = at_hours("2026-11-28T09:00:00Z", "2026-11-28T17:00:00Z");
    let next_week = at_hours("2026-12-05T09:00:00Z", "2026-12-05T17:00:00Z");
    assert_eq!(ids(&idx.retrieve(&first)), [1]);
    assert_eq!(ids(&idx.retrieve(&next_week)), [1]);
    assert_eq!(remembered(), 1);
    // The Sunday after, at the same hours of the day: other hours of the week, a retrieval of its own.
    let sunday = at_hours("2026-12-06T09:00:00Z", "2026-12-06T17:00:00Z");
    assert!(idx.retrieve(&sunday).is_empty());
    assert_eq!(remembered(), 2);
    // A Saturday shift running past the worker's hours.
    let late = at_hours("2026-12-05T15:00:00Z", "2026-12-05T21:00:00Z");
    assert!(idx.retrieve(&late).is_empty());
    assert_eq!(remembered(), 3);
}
