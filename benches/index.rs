//! Worker index benchmarks: bulk build and retrieval over generated workers.
//!
//! `cargo bench --bench index` runs the criterion cases at 100,000 workers (build, retrieval).
//! `cargo bench --bench index -- build_1m` instead builds 1,000,000 workers once, prints the build time, the
//! resident memory growth per worker (from /proc/self/statm) and retrieval latencies over many venues.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono_tz::UTC;
use crewcall::domain::{
    AgencyId, Availability, Certification, Language, LatLon, Level, Skill, SkillName, SkillReq,
    TravelKm, Worker, WorkerId, WorkerStats, WorkerStatus,
};
use crewcall::index::{RetrievalQuery, WorkerIndex};
use criterion::{BatchSize, Criterion};

const SKILLS: [&str; 16] = [
    "promoter",
    "waiter",
    "bartender",
    "barista",
    "cook",
    "dishwasher",
    "cashier",
    "usher",
    "security",
    "cleaner",
    "driver",
    "forklift",
    "host",
    "runner",
    "steward",
    "stagehand",
];
const LANGUAGES: [&str; 6] = ["en", "zh", "fr", "de", "es", "ja"];
const CERTS: [&str; 5] = [
    "food_safety",
    "first_aid",
    "forklift",
    "alcohol",
    "security",
];
const TRAVEL: [f64; 6] = [5.0, 10.0, 15.0, 25.0, 25.0, 40.0];
const WORDS: [&str; 12] = [
    "friendly",
    "reliable",
    "weekend",
    "events",
    "bilingual",
    "experienced",
    "student",
    "night",
    "festival",
    "catering",
    "retail",
    "team",
];
/// Metropolitan centres the workers cluster around (the rest are spread over the country).
const METROS: [(f64, f64); 8] = [
    (31.23, 121.47),
    (39.90, 116.40),
    (23.13, 113.26),
    (22.54, 114.06),
    (30.57, 104.07),
    (30.59, 114.31),
    (34.34, 108.94),
    (29.56, 106.55),
];

/// A small deterministic generator (splitmix64), so runs compare.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// A point: 70% within about 40 km of a metro, 30% anywhere in the country.
    fn point(&mut self) -> LatLon {
        if self.unit() < 0.7 {
            let (lat, lon) = METROS[self.below(METROS.len())];
            let r = 0.35 * self.unit().sqrt();
            let a = self.unit() * std::f64::consts::TAU;
            LatLon::new(
                lat + r * a.sin(),
                lon + r * a.cos() / lat.to_radians().cos(),
            )
            .unwrap()
        } else {
            LatLon::new(22.0 + 20.0 * self.unit(), 102.0 + 20.0 * self.unit()).unwrap()
        }
    }
}

fn workers(n: usize, seed: u64) -> Vec<Worker> {
    let mut g = Gen(seed);
    (0..n)
        .map(|i| {
            let mut skills: Vec<Skill> = (0..1 + g.below(3))
                .map(|_| Skill {
                    name: SkillName::new(SKILLS[g.below(SKILLS.len())]).unwrap(),
                    level: Level::new(1 + g.below(5) as i64).unwrap(),
                })
                .collect();
            skills.sort_by(|a, b| a.name.cmp(&b.name));
            skills.dedup_by(|a, b| a.name == b.name);
            let mut languages: Vec<Language> = (0..1 + g.below(2))
                .map(|_| Language::new(LANGUAGES[g.below(LANGUAGES.len())]).unwrap())
                .collect();
            languages.sort();
            languages.dedup();
            let mut certifications: Vec<Certification> = (0..g.below(3))
                .map(|_| Certification::new(CERTS[g.below(CERTS.len())]).unwrap())
                .collect();
            certifications.sort();
            certifications.dedup();
            let bio = (0..4)
                .map(|_| WORDS[g.below(WORDS.len())])
                .collect::<Vec<_>>()
                .join(" ");
            let rated = g.below(3) > 0;
            Worker {
                id: WorkerId::new(i as u64 + 1),
                agency: AgencyId::new(1),
                external_ref: format!("W-{i}"),
                name: format!("Worker {i}"),
                home: g.point(),
                max_travel_km: TravelKm::new(TRAVEL[g.below(TRAVEL.len())]).unwrap(),
                skills,
                languages,
                certifications,
                availability: Availability::new(UTC, vec![]),
                blackouts: vec![],
                max_hours_per_week: None,
                bio,
                status: WorkerStatus::Active,
                stats: WorkerStats {
                    completed_shifts: g.below(50) as u32,
                    rating_sum: if rated { 40 } else { 0 },
                    rating_count: if rated { 9 } else { 0 },
                    ..WorkerStats::default()
                },
            }
        })
        .collect()
}

/// Role queries at venues drawn like homes: one skill at level 2+, one language, a 25 km radius.
fn queries(n: usize, idx: &WorkerIndex) -> Vec<RetrievalQuery> {
    let mut g = Gen(99);
    (0..n)
        .map(|_| RetrievalQuery {
            agency: AgencyId::new(1),
            center: g.point(),
            radius_km: 25f64.min(idx.max_travel_km()),
            skills: vec![SkillReq {
                name: SkillName::new(SKILLS[g.below(SKILLS.len())]).unwrap(),
                min_level: Level::new(2).unwrap(),
            }],
            languages: vec![Language::new(LANGUAGES[g.below(2)]).unwrap()],
            certifications: vec![],
            min_rating: None,
            shift: None,
        })
        .collect()
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_free_memory() {
    unsafe extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim only hands free heap pages back to the system.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_free_memory() {}

fn build_1m() {
    let n = 1_000_000;
    release_free_memory();
    let before = rss_bytes();
    let ws = workers(n, 7);
    let start = Instant::now();
    let idx = WorkerIndex::bulk_build(ws).unwrap();
    let build = start.elapsed();
    release_free_memory();
    let after = rss_bytes();
    println!(
        "build_1m: {n} workers in {:.2} s; resident memory growth {:.0} bytes per worker",
        build.as_secs_f64(),
        (after.saturating_sub(before)) as f64 / n as f64
    );
    // Cold retrievals only: the memory of recent ones would answer a repeated query.
    idx.remember_retrievals(false);
    let qs = queries(2000, &idx);
    let mut times: Vec<Duration> = Vec::with_capacity(qs.len());
    let mut total = 0usize;
    for q in &qs {
        let t = Instant::now();
        total += black_box(idx.retrieve(q)).len();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "retrieve_1m: median {:?}, p99 {:?}, mean candidates {}",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        total / qs.len()
    );
    let mut w = idx.get(WorkerId::new(17)).unwrap().as_ref().clone();
    w.max_travel_km = TravelKm::new(30.0).unwrap();
    let t = Instant::now();
    idx.upsert(w).unwrap();
    println!("upsert_1m: one profile change visible in {:?}", t.elapsed());
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("index");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    g.bench_function("build_100k", |b| {
        b.iter_batched(
            || workers(100_000, 7),
            |ws| WorkerIndex::bulk_build(ws).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();

    let idx = WorkerIndex::bulk_build(workers(100_000, 7)).unwrap();
    idx.remember_retrievals(false);
    let qs = queries(256, &idx);
    let mut i = 0;
    c.bench_function("retrieve_100k", |b| {
        b.iter(|| {
            i = (i + 1) % qs.len();
            black_box(idx.retrieve(&qs[i]))
        })
    });
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "build_1m") {
        build_1m();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
}
