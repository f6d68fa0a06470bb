//! One role query — `dispatch::candidates(&index, &ctx, 50)`: retrieve, filter, score, top 50 — over generated
//! workers, for two layouts and three sizes, and a plain scan of compact records as the reference point.
//!
//! `cargo bench --bench matching` runs every case; `cargo bench --bench matching -- metropolis/1000000` one
//! (the filter is a regular expression: `'country/1000000|metropolis/1000000|scan_baseline/1000000'`).
//! Cases: `country/{10000,100000,1000000,5000000}` (workers spread over Germany, venues in its cities),
//! `metropolis/{10000,100000,1000000,5000000}` (all workers in one Shanghai-like metropolis, tens of thousands
//! within reach of a venue) and `scan_baseline/{1000000,5000000}` (a rayon scan over 64-byte records of the
//! metropolis workers: radius + skills + languages + certifications + availability + top 50). Building a
//! case prints the index's build time and the resident memory it added per worker.
//!
//! Each case cycles through the roles of several exhibition and retail orders (promoters, hosts, sales,
//! bilingual promoters) at different venues, so a figure is not one lucky query. Criterion gives the median;
//! a separate loop of 1,000 queries per case gives the median and p99 printed in the table at the end, with
//! the mean number of candidates retrieved and of eligible workers. Each index is built once per process, only
//! when its case is selected, and dropped when the case is done. Retrievals are not remembered between
//! queries, so every figure is the cold path.

use std::cell::RefCell;
use std::collections::{BTreeMap, BinaryHeap, HashSet};
use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;
use crewcall::dispatch::candidates;
use crewcall::domain::{AgencyId, Order, Worker, WorkerId};
use crewcall::index::WorkerIndex;
use crewcall::matching::{LiveState, MatchContext, Policy};
use crewcall::sim::orders::OrderKind;
use crewcall::sim::workers::default_week_start;
use crewcall::sim::{City, Country, Place, orders, workers};
use criterion::{BenchmarkId, Criterion};
use rayon::prelude::*;

const SIZES: [usize; 4] = [10_000, 100_000, 1_000_000, 5_000_000];
const SCAN_SIZES: [usize; 2] = [1_000_000, 5_000_000];
const TOP: usize = 50;
const TIMED_QUERIES: usize = 1_000;
const WORKER_SEED: u64 = 7;
const ORDER_SEED: u64 = 11;
/// How many (order, role) queries a case cycles through.
const QUERIES: usize = 24;

/// The places, by case name.
#[derive(Clone, Copy)]
enum Layout {
    Country,
    Metropolis,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Country => "country",
            Layout::Metropolis => "metropolis",
        }
    }
}

/// One role query: an order, which of its roles, and the decision time.
struct Query {
    order: Order,
    role: usize,
    now: DateTime<Utc>,
}

/// Exhibition and retail roles (promoters, hosts, sales), from orders at several venues.
fn queries(place: &impl Place) -> Vec<Query> {
    let specs = orders(
        place,
        400,
        ORDER_SEED,
        AgencyId::new(1),
        default_week_start(),
    );
    let mut out = Vec::new();
    for s in specs {
        if !matches!(s.kind, OrderKind::Exhibition | OrderKind::Retail) {
            continue;
        }
        let now = s.order.shift.start() - chrono::Duration::days(1);
        for role in 0..s.order.roles.len() {
            let skill = s.order.roles[role].skills[0].name.as_str();
            if matches!(skill, "promoter" | "hostess" | "sales") && out.len() < QUERIES {
                out.push(Query {
                    order: s.order.clone(),
                    role,
                    now,
                });
            }
        }
    }
    assert!(!out.is_empty(), "the generator made exhibition orders");
    out
}

fn generate(layout: Layout, n: usize) -> (Vec<Worker>, Vec<Query>) {
    let agency = AgencyId::new(1);
    match layout {
        Layout::Country => {
            let p = Country::germany();
            (workers(&p, n, WORKER_SEED, agency), queries(&p))
        }
        Layout::Metropolis => {
            let p = City::metropolis(WORKER_SEED);
            (workers(&p, n, WORKER_SEED, agency), queries(&p))
        }
    }
}

/// An index and the queries run against it.
struct Case {
    index: WorkerIndex,
    queries: Vec<Query>,
    live: LiveState,
    policy: Policy,
    exclude: HashSet<WorkerId>,
}

impl Case {
    fn build(layout: Layout, n: usize) -> Self {
        release_free_memory();
        let before = rss_bytes();
        let (ws, queries) = generate(layout, n);
        let t = Instant::now();
        let index = WorkerIndex::bulk_build(ws).expect("the index builds");
        let built = t.elapsed();
        release_free_memory();
        let after = rss_bytes();
        // Every query is timed cold: the index's memory of recent retrievals (which serves dispatch asking
        // for the same role again) would otherwise answer all but the first pass over the queries.
        index.remember_retrievals(false);
        eprintln!(
            "{}/{n}: index built in {:.2} s; resident memory growth {:.0} bytes per worker",
            layout.name(),
            built.as_secs_f64(),
            after.saturating_sub(before) as f64 / n as f64
        );
        Self {
            index,
            queries,
            live: LiveState::new(),
            policy: Policy::default(),
            exclude: HashSet::new(),
        }
    }

    fn ctx(&self, i: usize) -> MatchContext<'_> {
        let q = &self.queries[i % self.queries.len()];
        MatchContext {
            order: &q.order,
            role: &q.order.roles[q.role],
            live: &self.live,
            policy: &self.policy,
            now: q.now,
            exclude: &self.exclude,
        }
    }

    /// Runs one query; returns (retrieved, eligible).
    fn run(&self, i: usize) -> (usize, usize) {
        let r = black_box(candidates(&self.index, &self.ctx(i), TOP));
        (r.eligible + r.excluded.values().sum::<usize>(), r.eligible)
    }
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

/// One line of the table printed at the end.
struct Row {
    name: String,
    median: Duration,
    p99: Duration,
    retrieved: f64,
    eligible: f64,
}

/// Times `TIMED_QUERIES` calls of `f(i)` (which returns retrieved and eligible counts) one by one.
fn timed(name: String, mut f: impl FnMut(usize) -> (usize, usize)) -> Row {
    let mut times = Vec::with_capacity(TIMED_QUERIES);
    let (mut retrieved, mut eligible) = (0usize, 0usize);
    for i in 0..TIMED_QUERIES {
        let t = Instant::now();
        let (r, e) = f(i);
        times.push(t.elapsed());
        retrieved += r;
        eligible += e;
    }
    times.sort();
    let row = Row {
        name,
        median: times[times.len() / 2],
        p99: times[times.len() * 99 / 100],
        retrieved: retrieved as f64 / TIMED_QUERIES as f64,
        eligible: eligible as f64 / TIMED_QUERIES as f64,
    };
    eprintln!(
        "{}: median {:?}, p99 {:?}, retrieved {:.0}, eligible {:.0} (mean of {TIMED_QUERIES} queries)",
        row.name, row.median, row.p99, row.retrieved, row.eligible
    );
    row
}

/// The compact record of the scan baseline: everything the scan checks, in one cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Rec {
    lat: f32,
    lon: f32,
    /// One bit per skill (any level: the roles here ask for level 1).
    skills: u64,
    /// One bit per hour of the local week (Monday 00:00 first), set when the hour is inside a window.
    avail: [u64; 3],
    langs: u16,
    certs: u16,
    travel_km: f32,
    rating: f32,
    reliability: f32,
    id: u32,
}

const _: () = assert!(std::mem::size_of::<Rec>() == 64);

/// Names to bits, in the order met (the same for records and queries).
#[derive(Default)]
struct Bits(BTreeMap<String, u32>);

impl Bits {
    fn bit(&mut self, name: &str) -> u64 {
        let n = self.0.len() as u32;
        let b = *self.0.entry(name.to_string()).or_insert(n);
        assert!(b < 64, "too many names for a mask");
        1 << b
    }
}

fn set_hours(mask: &mut [u64; 3], from_h: u32, to_h: u32) {
    for h in from_h..to_h {
        let h = h % 168;
        mask[(h / 64) as usize] |= 1 << (h % 64);
    }
}

struct Scan {
    recs: Vec<Rec>,
    skills: Bits,
    langs: Bits,
    certs: Bits,
    tz: Tz,
    queries: Vec<Query>,
}

/// A scan query: the masks a record must cover and the venue.
struct ScanQuery {
    lat: f64,
    lon: f64,
    radius_km: f64,
    skills: u64,
    langs: u16,
    certs: u16,
    hours: [u64; 3],
}

impl Scan {
    fn build(n: usize) -> Self {
        let (ws, queries) = generate(Layout::Metropolis, n);
        let (mut skills, mut langs, mut certs) =
            (Bits::default(), Bits::default(), Bits::default());
        let policy = Policy::default();
        let tz = ws[0].availability.tz();
        let recs = ws
            .iter()
            .map(|w| {
                let mut avail = [0u64; 3];
                for win in w.availability.windows() {
                    // Whole hours inside the window only, so the scan never admits a worker matching would not.
                    let from = u32::from(win.from_min()).div_ceil(60);
                    let len = if win.crosses_midnight() {
                        1440 - u32::from(win.from_min()) + u32::from(win.to_min())
                    } else {
                        u32::from(win.to_min()) - u32::from(win.from_min())
                    };
                    let to = (u32::from(win.from_min()) + len) / 60;
                    for d in 0..7 {
                        if win.days().has(d) && to > from {
                            set_hours(&mut avail, d * 24 + from, d * 24 + to);
                        }
                    }
                }
                Rec {
                    lat: w.home.lat() as f32,
                    lon: w.home.lon() as f32,
                    skills: w
                        .skills
                        .iter()
                        .fold(0, |m, s| m | skills.bit(s.name.as_str())),
                    avail,
                    langs: w
                        .languages
                        .iter()
                        .fold(0, |m, l| m | langs.bit(l.as_str()) as u16),
                    certs: w
                        .certifications
                        .iter()
                        .fold(0, |m, c| m | certs.bit(c.as_str()) as u16),
                    travel_km: w.max_travel_km.km() as f32,
                    rating: crewcall::matching::features::rating(&w.stats, &policy) as f32,
                    reliability: crewcall::matching::features::reliability(&w.stats, &policy)
                        as f32,
                    id: w.id.get() as u32,
                }
            })
            .collect();
        Self {
            recs,
            skills,
            langs,
            certs,
            tz,
            queries,
        }
    }

    fn query(&mut self, i: usize) -> ScanQuery {
        let q = &self.queries[i % self.queries.len()];
        let role = &q.order.roles[q.role];
        let start = q.order.shift.start().with_timezone(&self.tz);
        let from = start.weekday().num_days_from_monday() * 24 + start.hour();
        let to = from + (q.order.shift.duration().num_minutes() as u32).div_ceil(60);
        let mut hours = [0u64; 3];
        set_hours(&mut hours, from, to);
        ScanQuery {
            lat: q.order.venue.location.lat(),
            lon: q.order.venue.location.lon(),
            radius_km: q.order.max_travel_km.map_or(f64::INFINITY, |t| t.km()),
            skills: role
                .skills
                .iter()
                .fold(0, |m, s| m | self.skills.bit(s.name.as_str())),
            langs: role
                .languages
                .iter()
                .fold(0, |m, l| m | self.langs.bit(l.as_str()) as u16),
            certs: role
                .certifications
                .iter()
                .fold(0, |m, c| m | self.certs.bit(c.as_str()) as u16),
            hours,
        }
    }
}

/// Ranking entry of the scan: score then lower id first; the heap keeps the worst on top.
#[derive(PartialEq)]
struct Entry(f32, u32);
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        // "Greater" is worse, so the max-heap's top is the entry to evict.
        o.0.total_cmp(&self.0).then(self.1.cmp(&o.1))
    }
}

fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6371.0088 * a.sqrt().asin()
}

fn push(heap: &mut BinaryHeap<Entry>, e: Entry) {
    if heap.len() < TOP {
        heap.push(e);
    } else if heap.peek().is_some_and(|top| e < *top) {
        heap.pop();
        heap.push(e);
    }
}

/// The plain scan: every record checked, the best 50 kept; returns (eligible, best ids).
fn scan(recs: &[Rec], q: &ScanQuery) -> (usize, Vec<u32>) {
    let (count, heap) = recs
        .par_chunks(16_384)
        .map(|chunk| {
            let mut heap = BinaryHeap::with_capacity(TOP + 1);
            let mut count = 0usize;
            for r in chunk {
                if r.skills & q.skills != q.skills
                    || r.langs & q.langs != q.langs
                    || r.certs & q.certs != q.certs
                    || (0..3).any(|k| r.avail[k] & q.hours[k] != q.hours[k])
                {
                    continue;
                }
                let limit = f64::from(r.travel_km).min(q.radius_km);
                let d = haversine_km(q.lat, q.lon, f64::from(r.lat), f64::from(r.lon));
                if d > limit {
                    continue;
                }
                count += 1;
                let score = 0.3 * (1.0 - d / limit) as f32 + 0.25 * r.rating + 0.2 * r.reliability;
                push(&mut heap, Entry(score, r.id));
            }
            (count, heap)
        })
        .reduce(
            || (0, BinaryHeap::new()),
            |(ca, mut a), (cb, b)| {
                for e in b {
                    push(&mut a, e);
                }
                (ca + cb, a)
            },
        );
    (
        count,
        heap.into_sorted_vec().into_iter().map(|e| e.1).collect(),
    )
}

fn bench_layout(c: &mut Criterion, layout: Layout, rows: &RefCell<Vec<Row>>) {
    let mut g = c.benchmark_group(layout.name());
    g.sample_size(30);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for n in SIZES {
        let mut case: Option<Case> = None;
        let mut i = 0usize;
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            let case = case.get_or_insert_with(|| {
                let case = Case::build(layout, n);
                rows.borrow_mut()
                    .push(timed(format!("{}/{n}", layout.name()), |i| case.run(i)));
                case
            });
            b.iter(|| {
                i += 1;
                case.run(i)
            })
        });
    }
    g.finish();
}

fn bench_scan(c: &mut Criterion, rows: &RefCell<Vec<Row>>) {
    let mut g = c.benchmark_group("scan_baseline");
    g.sample_size(30);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    for n in SCAN_SIZES {
        let mut prepared: Option<(Scan, Vec<ScanQuery>)> = None;
        let mut i = 0usize;
        g.bench_function(BenchmarkId::from_parameter(n), |b| {
            let (s, qs) = prepared.get_or_insert_with(|| {
                let mut s = Scan::build(n);
                let qs: Vec<ScanQuery> = (0..s.queries.len()).map(|i| s.query(i)).collect();
                rows.borrow_mut()
                    .push(timed(format!("scan_baseline/{n}"), |i| {
                        let (eligible, top) = black_box(scan(&s.recs, &qs[i % qs.len()]));
                        (top.len(), eligible)
                    }));
                (s, qs)
            });
            b.iter(|| {
                i += 1;
                scan(&s.recs, &qs[i % qs.len()])
            })
        });
    }
    g.finish();
}

/// `splits <country|metropolis> <n>`: the time of retrieval alone and of filtering and scoring alone (bounded,
/// then exhaustive), per query, to see where a case spends its time.
fn splits(layout: &str, n: usize) {
    let layout = if layout == "country" {
        Layout::Country
    } else {
        Layout::Metropolis
    };
    let case = Case::build(layout, n);
    let (mut tr, mut tk, mut te) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..TIMED_QUERIES {
        let ctx = case.ctx(i);
        let limit = ctx.order.max_travel_km.map_or(f64::INFINITY, |t| t.km());
        let q = crewcall::index::RetrievalQuery {
            agency: ctx.order.agency,
            center: ctx.order.venue.location,
            radius_km: limit.min(case.index.max_travel_km()),
            skills: ctx.role.skills.clone(),
            languages: ctx.role.languages.clone(),
            certifications: ctx.role.certifications.clone(),
            min_rating: None,
            shift: Some(ctx.order.shift),
        };
        let t = Instant::now();
        black_box(case.index.with_retrieved(&q, |pool| pool.len()));
        tr.push(t.elapsed());
        // Ranking alone, on the candidates as dispatch hands them over (borrowed, with their records): the
        // bounded ranking, then the exhaustive one it must equal.
        case.index.with_retrieved(&q, |pool| {
            let t = Instant::now();
            let bounded = black_box(crewcall::matching::rank(&ctx, pool, TOP));
            tk.push(t.elapsed());
            let t = Instant::now();
            let exhaustive = black_box(crewcall::matching::rank_exhaustive(&ctx, pool, TOP));
            te.push(t.elapsed());
            assert_eq!(bounded.eligible, exhaustive.eligible);
        });
    }
    tr.sort();
    tk.sort();
    te.sort();
    let m = |v: &Vec<Duration>| (v[0], v[v.len() / 2], v[v.len() * 99 / 100]);
    eprintln!("retrieve:        min/median/p99 {:?}", m(&tr));
    eprintln!("rank:            min/median/p99 {:?}", m(&tk));
    eprintln!("rank_exhaustive: min/median/p99 {:?}", m(&te));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "splits") {
        splits(&args[i + 1], args[i + 2].parse().expect("a size"));
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let rows = RefCell::new(Vec::new());
    bench_layout(&mut c, Layout::Country, &rows);
    bench_layout(&mut c, Layout::Metropolis, &rows);
    bench_scan(&mut c, &rows);
    c.final_summary();
    let rows = rows.into_inner();
    if !rows.is_empty() {
        eprintln!(
            "\n{:<24} {:>12} {:>12} {:>10} {:>10}   ({TIMED_QUERIES} queries each, {} threads)",
            "case",
            "median",
            "p99",
            "retrieved",
            "eligible",
            rayon::current_num_threads()
        );
        for r in rows {
            eprintln!(
                "{:<24} {:>12} {:>12} {:>10.0} {:>10.0}",
                r.name,
                format!("{:.3} ms", r.median.as_secs_f64() * 1e3),
                format!("{:.3} ms", r.p99.as_secs_f64() * 1e3),
                r.retrieved,
                r.eligible
            );
        }
        eprintln!(
            "(scan_baseline: retrieved = the top entries returned; eligible = records passing every check)"
        );
    }
}
