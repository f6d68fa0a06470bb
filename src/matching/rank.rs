//! Ranking: filter and score candidates in parallel, keep the best, and explain every score.
//!
//! The order is total: score descending, then worker id ascending, compared with `f64::total_cmp`, so the
//! same candidates in any order give the same ranking. The parallel pass keeps only `(score, id, index)` for
//! each eligible worker and a count per exclusion reason; the top `limit` are picked with a partial
//! selection and only they are rebuilt with their explanation.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rayon::prelude::*;

use super::bound::{Bounds, Quick};
use super::features::{self, Feature};
use super::filters::{Prepared, Reason, Zones};
use super::live::LiveState;
use super::policy::Policy;
use super::record::{Checked, Fast};
use super::share::share;
use crate::domain::{Order, Role, Worker, WorkerId};

/// Everything a ranking depends on besides the candidates. `now` is an argument: matching never reads the
/// clock, so the same context always gives the same answer.
#[derive(Debug, Clone, Copy)]
pub struct MatchContext<'a> {
    /// The order being staffed.
    pub order: &'a Order,
    /// The role of the order being staffed.
    pub role: &'a Role,
    /// Live bookings, suspensions, client lists.
    pub live: &'a LiveState,
    /// Weights and constants.
    pub policy: &'a Policy,
    /// The time of the decision (suspensions are judged against it).
    pub now: DateTime<Utc>,
    /// Workers already holding an offer or an assignment in this order.
    pub exclude: &'a HashSet<WorkerId>,
}

/// Why a worker got its score: each feature's contribution (policy weight × feature value). The
/// contributions sum to the score exactly, because the score is computed as that sum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Explanation {
    contributions: [f64; Feature::COUNT],
}

impl Explanation {
    fn new(values: &[f64; Feature::COUNT], policy: &Policy) -> Self {
        let mut contributions = [0.0; Feature::COUNT];
        for (i, f) in Feature::ALL.iter().enumerate() {
            contributions[i] = policy.weight(*f) * values[i];
        }
        Self { contributions }
    }

    /// The contribution of one feature.
    pub fn get(&self, f: Feature) -> f64 {
        self.contributions[f as usize]
    }

    /// Every feature with its contribution, in [`Feature::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (Feature, f64)> + '_ {
        Feature::ALL
            .iter()
            .zip(self.contributions.iter())
            .map(|(f, c)| (*f, *c))
    }

    /// The sum of the contributions, which is the score.
    pub fn sum(&self) -> f64 {
        self.contributions.iter().sum()
    }
}

/// One eligible worker with its score, distance and explanation.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The worker.
    pub worker: Arc<Worker>,
    /// The score: in [0, 1], plus the star bonus where it applies.
    pub score: f64,
    /// Haversine distance from the worker's home to the venue.
    pub distance_km: f64,
    /// The breakdown of the score per feature.
    pub explain: Explanation,
}

/// The result of ranking a set of candidates.
#[derive(Debug, Clone)]
pub struct Ranking {
    /// The best eligible workers, best first, at most `limit`.
    pub ranked: Vec<Scored>,
    /// How many candidates passed every hard filter.
    pub eligible: usize,
    /// How many candidates each hard filter left out (only reasons that left someone out appear).
    pub excluded: BTreeMap<Reason, usize>,
}

/// The ranking order: higher score first, then lower worker id.
fn better(a: &(f64, WorkerId, u32), b: &(f64, WorkerId, u32)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

impl Prepared<'_> {
    /// Filters and scores one worker, returning the feature values as well.
    pub(crate) fn score(
        &self,
        w: &Worker,
        zones: &mut Zones,
    ) -> Result<(f64, f64, Explanation), Reason> {
        let passed = self.filter(w, zones)?;
        let values = features::values(self, w, &passed);
        let explain = Explanation::new(&values, self.ctx.policy);
        Ok((explain.sum(), passed.distance_km, explain))
    }

    fn scored(&self, w: &Arc<Worker>, zones: &mut Zones) -> Result<Scored, Reason> {
        let (score, distance_km, explain) = self.score(w, zones)?;
        Ok(Scored {
            worker: Arc::clone(w),
            score,
            distance_km,
            explain,
        })
    }
}

/// A candidate as ranking takes it: a shared profile, owned or borrowed. Borrowed profiles (see
/// `WorkerIndex::with_retrieved`) spare a reference-count update on every candidate's profile, which at tens of
/// thousands of candidates is a cache miss each, twice (clone and drop); only the ranked few are cloned.
pub trait Candidate: Sync {
    /// The profile.
    fn profile(&self) -> &Arc<Worker>;

    /// The candidate's ranking record, its distance bounds and what retrieval checked of it, when it comes
    /// from the index: [`rank`] decides most candidates on these without reading the profile.
    fn fast(&self) -> Option<Fast<'_>> {
        None
    }
}

impl Candidate for Arc<Worker> {
    fn profile(&self) -> &Arc<Worker> {
        self
    }
}

impl Candidate for &Arc<Worker> {
    fn profile(&self) -> &Arc<Worker> {
        self
    }
}

/// What the parallel pass keeps of one candidate: `(score, id, index)` or the reason it was left out.
type Outcome = Result<(f64, WorkerId, u32), Reason>;

/// Candidates per parallel chunk at least: enough to amortise each chunk's zone cache.
const MIN_CHUNK: usize = 512;

/// Up to this many candidates are ranked on the calling thread: waking the pool costs more than it saves.
const SEQUENTIAL_MAX: usize = 2 * MIN_CHUNK;

/// Up to this many candidates with ranking records are ranked on the calling thread alone, and up to this
/// many retrieved documents are checked on their cards there (`index::read`); more are shared with the
/// helpers that are awake (`share.rs`). A record or a card is decided in tens of nanoseconds: fewer than a
/// few chunks are not worth handing over.
pub(crate) const SEQUENTIAL_MAX_RECORDS: usize = 4 * MIN_CHUNK;

/// How far ahead the profile itself is fetched; its lists are fetched half as far ahead, once the profile
/// that points to them has arrived (the names in them are inline, see `domain::terms`).
const PREFETCH_DISTANCE: usize = 16;

/// Asks the processor for every line of the profile `PREFETCH_DISTANCE` candidates ahead of `i`, and for the
/// skills, languages, availability windows and blackouts of the one half as far ahead: the filters read all
/// of these, and each sits in its own heap allocation. A hint only: it changes no result.
#[inline(always)]
fn prefetch_ahead<C: Candidate>(candidates: &[C], i: usize) {
    if let Some(w) = candidates.get(i + PREFETCH_DISTANCE).map(C::profile) {
        prefetch_profile(w);
    }
    if let Some(w) = candidates.get(i + PREFETCH_DISTANCE / 2).map(C::profile) {
        prefetch_lists(w);
    }
}

/// Asks for every line of the profile: the fields the filters read are spread over all of them.
#[inline(always)]
fn prefetch_profile(w: &Arc<Worker>) {
    let p = Arc::as_ptr(w).cast::<u8>();
    for line in 0..std::mem::size_of::<Worker>().div_ceil(64) {
        prefetch(p.wrapping_add(line * 64));
    }
}

/// Asks for the lists the filters read (reading where they are waits for the profile's line).
#[inline(always)]
fn prefetch_lists(w: &Worker) {
    prefetch(w.skills.as_ptr());
    prefetch(w.languages.as_ptr());
    prefetch(w.availability.windows().as_ptr());
    prefetch(w.blackouts.as_ptr());
}

/// Asks the processor for the cache line at `p`: a hint only, it never faults and changes no result.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: a prefetch never faults, whatever the address; SSE is part of every x86_64 target.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Rankings running now, in this process. When another is already running, the cores are busy with it, and
/// handing this one's chunks to the thread pool only adds thread switches: it runs on the calling thread.
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a ranking is running in this process now: work that could use every core had better stay on the
/// calling thread (retrieval's card checks, for one).
pub(crate) fn busy() -> bool {
    RUNNING.load(std::sync::atomic::Ordering::Relaxed) > 0
}

/// Counts a ranking in [`RUNNING`] for as long as it lives.
struct Running;

impl Running {
    /// Enters, telling whether another ranking was running already.
    fn enter() -> (Running, bool) {
        let before = RUNNING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (Running, before > 0)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Filters and scores `candidates` in parallel and returns the best `limit`, with counts per exclusion
/// reason — the same answer as [`rank_exhaustive`], to the last bit of every score and explanation, without
/// scoring every eligible candidate exactly.
///
/// Candidates that come with a ranking record (retrieved from the index for this venue and role, see
/// [`Candidate::fast`]) are decided on it: the exact outcome of every hard filter, and for those who pass an
/// upper bound of their score (`bound.rs`). The others, and those the record cannot decide, go through the
/// exact filters and score on their profile. Then only the candidates whose bound can still reach the
/// `limit`-th best exact score are scored exactly, best bound first: the `limit` best bounds, then the rest
/// in bound order until a bound falls below the threshold, which rises as better scores come in. A bound
/// equal to the threshold is scored, since a tie is broken by worker id. The eligible count and the counts
/// per reason are exact: every candidate's filters are decided, on the record or on the profile.
pub fn rank<C: Candidate>(ctx: &MatchContext<'_>, candidates: &[C], limit: usize) -> Ranking {
    let (_running, busy) = Running::enter();
    let prep = Prepared::new(*ctx);
    let bounds = Bounds::new(&prep);
    let seed = seed_zones(ctx, candidates);
    let mut outcomes: Vec<Pending> = vec![Err(Reason::Inactive); candidates.len()];
    let chunk = |(c, out): (usize, &mut [Pending])| {
        let mut zones = seed.clone();
        // Whether the last `Checked` met serves this query (there is one per retrieval, so one check).
        let mut serves: Option<(*const Checked, bool)> = None;
        let base = c * MIN_CHUNK;
        for (j, slot) in out.iter_mut().enumerate() {
            let i = base + j;
            let cand = &candidates[i];
            let fast = cand.fast().filter(|f| {
                let p: *const Checked = f.checked;
                match serves {
                    Some((q, ok)) if q == p => ok,
                    _ => {
                        let ok = f.checked.serves(ctx.order.venue.location, ctx.role);
                        serves = Some((p, ok));
                        ok
                    }
                }
            });
            let quick = match &fast {
                Some(f) => {
                    prefetch_records(candidates, i);
                    bounds.decide(f, cand, &mut zones)
                }
                None => {
                    prefetch_ahead(candidates, i);
                    Quick::Unsure
                }
            };
            *slot = match quick {
                Quick::Out(r) => Err(r),
                Quick::Bound(b) => Ok((
                    b,
                    fast.map_or(WorkerId::new(0), |f| f.record.id),
                    i as u32,
                    false,
                )),
                Quick::Unsure => {
                    let w = cand.profile();
                    prep.score(w, &mut zones)
                        .map(|(score, _, _)| (score, w.id, i as u32, true))
                }
            };
        }
    };
    // Candidates retrieved with records are shared with the helpers that retrieval woke (`share.rs`); the
    // others cost a profile each, enough to wake the pool for.
    let records = candidates.first().is_some_and(|c| c.fast().is_some());
    let sequential = if records {
        SEQUENTIAL_MAX_RECORDS
    } else {
        SEQUENTIAL_MAX
    };
    if candidates.len() <= sequential || busy {
        outcomes.chunks_mut(MIN_CHUNK).enumerate().for_each(chunk);
    } else if records {
        share(outcomes.chunks_mut(MIN_CHUNK).enumerate().collect(), chunk);
    } else {
        outcomes
            .par_chunks_mut(MIN_CHUNK)
            .enumerate()
            .for_each(chunk);
    }
    let mut counts = [0usize; Reason::COUNT];
    let mut known: Vec<(f64, WorkerId, u32)> = Vec::new();
    // The best bounds, kept as they come: one comparison with the worst kept for most candidates.
    let mut head = TopK::new(limit.min(candidates.len()));
    let mut bounded = 0usize;
    for o in &outcomes {
        match *o {
            Ok((s, id, i, true)) => known.push((s, id, i)),
            Ok((b, id, i, false)) => {
                bounded += 1;
                head.push((b, id, i));
            }
            Err(r) => counts[r as usize] += 1,
        }
    }
    let eligible = known.len() + bounded;
    let (best, exact) = best_exact(
        &prep,
        candidates,
        &outcomes,
        known,
        head,
        limit.min(eligible),
    );
    explained(&prep, candidates, &best, &exact, eligible, &counts)
}

/// The distance and explanation of candidates scored exactly, by candidate index.
type ExactScores = HashMap<u32, (f64, Explanation)>;

/// The ranking of `picked` (best first), each with its explanation — kept from its exact scoring where
/// `exact` holds it (by candidate index: distance and explanation), otherwise rebuilt on its profile — beside
/// the eligible count and the counts per exclusion reason (only reasons that left someone out).
fn explained<C: Candidate>(
    prep: &Prepared<'_>,
    candidates: &[C],
    picked: &[(f64, WorkerId, u32)],
    exact: &ExactScores,
    eligible: usize,
    counts: &[usize; Reason::COUNT],
) -> Ranking {
    let mut zones = Zones::default();
    let ranked = picked
        .iter()
        .map(|&(score, _, i)| {
            let w = candidates[i as usize].profile();
            match exact.get(&i) {
                Some(&(distance_km, explain)) => Scored {
                    worker: Arc::clone(w),
                    score,
                    distance_km,
                    explain,
                },
                None => prep
                    .scored(w, &mut zones)
                    .expect("a worker that passed once passes again"),
            }
        })
        .collect();
    Ranking {
        ranked,
        eligible,
        excluded: Reason::ALL
            .iter()
            .filter(|r| counts[**r as usize] > 0)
            .map(|r| (*r, counts[*r as usize]))
            .collect(),
    }
}

/// The shift placed in the timezone of the first candidate, for every chunk of a ranking to start from: a
/// query's candidates mostly share one timezone, and placing the shift in it (`Zone::new`) costs a few
/// microseconds, which every chunk would otherwise spend again.
fn seed_zones<C: Candidate>(ctx: &MatchContext<'_>, candidates: &[C]) -> Zones {
    let mut zones = Zones::default();
    if let Some(c) = candidates.first() {
        let tz = c
            .fast()
            .map_or_else(|| c.profile().availability.tz(), |f| f.record.tz);
        zones.get(tz, &ctx.order.shift);
    }
    zones
}

/// What the first pass of [`rank`] keeps of one candidate: `(score or bound, id, index, exact)`, or the reason
/// it was left out.
type Pending = Result<(f64, WorkerId, u32, bool), Reason>;

/// The best `k` exact `(score, id, index)`, best first, from the first pass's `outcomes`: the candidates it
/// scored exactly (`known`) and those it only bounded, whose `k` best bounds are in `head`. Those `k` are
/// scored exactly whatever they are, and the `k`-th best score known then is the threshold; the other bounded
/// candidates that reach it are scored best bound first, until a bound falls below the threshold, which
/// rises as better scores come in (see [`rank`]).
fn best_exact<C: Candidate>(
    prep: &Prepared<'_>,
    candidates: &[C],
    outcomes: &[Pending],
    mut known: Vec<(f64, WorkerId, u32)>,
    head: TopK,
    k: usize,
) -> (Vec<(f64, WorkerId, u32)>, ExactScores) {
    let mut scored_here = ExactScores::new();
    if k == 0 {
        return (Vec::new(), scored_here);
    }
    let mut zones = Zones::default();
    let mut exact = |(_, id, i): (f64, WorkerId, u32)| -> Option<(f64, WorkerId, u32)> {
        #[cfg(test)]
        EXACT_SCORED.with(|c| c.set(c.get() + 1));
        let w = candidates[i as usize].profile();
        let scored = prep.score(w, &mut zones).ok();
        debug_assert!(
            scored.is_some(),
            "{id:?}: the record passed a worker its profile fails"
        );
        scored.map(|(score, distance_km, explain)| {
            // Kept for the explanation of the ranked few, so that they are not scored a second time.
            scored_here.insert(i, (distance_km, explain));
            (score, id, i)
        })
    };
    // Which candidates the head holds, so the pass below does not score them twice.
    let mut in_head = vec![0u64; candidates.len().div_ceil(64)];
    for (_, _, i) in head.iter() {
        in_head[i as usize / 64] |= 1 << (i % 64);
    }
    // The head's profiles are asked for all at once (their lines, then the lists they point to), so that
    // their cache misses overlap instead of coming one after the other.
    let head = head.into_sorted();
    for (_, _, i) in &head {
        prefetch_profile(candidates[*i as usize].profile());
    }
    for (_, _, i) in &head {
        prefetch_lists(candidates[*i as usize].profile());
    }
    known.extend(head.into_iter().filter_map(&mut exact));
    if known.len() > k {
        known.select_nth_unstable_by(k - 1, better);
        known.truncate(k);
    }
    let mut top = TopK::new(k);
    for e in known {
        top.push(e);
    }
    // The rest that may still reach the threshold, best bound first, until one cannot.
    let mut rest: Vec<(f64, WorkerId, u32)> = outcomes
        .iter()
        .filter_map(|o| match *o {
            Ok((b, id, i, false))
                if in_head[i as usize / 64] & (1 << (i % 64)) == 0 && !top.prunes(b) =>
            {
                Some((b, id, i))
            }
            _ => None,
        })
        .collect();
    rest.sort_unstable_by(better);
    for c in rest {
        if top.prunes(c.0) {
            break;
        }
        if let Some(s) = exact(c) {
            top.push(s);
        }
    }
    (top.into_sorted(), scored_here)
}

#[cfg(test)]
thread_local! {
    /// How many bounded candidates `best_exact` scored on their profile, on this thread (for tests).
    pub(crate) static EXACT_SCORED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// An entry of [`TopK`], ordered so that the worst ranked is the greatest.
#[derive(Debug, Clone, Copy)]
struct Worst((f64, WorkerId, u32));

impl PartialEq for Worst {
    fn eq(&self, o: &Self) -> bool {
        better(&self.0, &o.0) == Ordering::Equal
    }
}

impl Eq for Worst {}

impl PartialOrd for Worst {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Worst {
    fn cmp(&self, o: &Self) -> Ordering {
        better(&self.0, &o.0)
    }
}

/// The best `k` entries met so far (exact scores, or bounds); the worst of them is the threshold a bound must
/// reach.
struct TopK {
    k: usize,
    heap: BinaryHeap<Worst>,
}

impl TopK {
    fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k.saturating_add(1).min(1 << 16)),
        }
    }

    fn iter(&self) -> impl Iterator<Item = (f64, WorkerId, u32)> + '_ {
        self.heap.iter().map(|w| w.0)
    }

    /// Keeps `e` if it is among the best `k` met so far.
    fn push(&mut self, e: (f64, WorkerId, u32)) {
        if self.heap.len() < self.k {
            self.heap.push(Worst(e));
        } else if let Some(mut worst) = self.heap.peek_mut()
            && better(&e, &worst.0) == Ordering::Less
        {
            *worst = Worst(e);
        }
    }

    /// Whether a candidate whose score is at most `bound` cannot enter: the top is full and the bound is
    /// below its worst score. A bound equal to it may tie, and a tie may win on the worker id.
    fn prunes(&self, bound: f64) -> bool {
        self.heap.len() >= self.k
            && self
                .heap
                .peek()
                .is_some_and(|w| bound.total_cmp(&w.0.0) == Ordering::Less)
    }

    fn into_sorted(self) -> Vec<(f64, WorkerId, u32)> {
        let mut v: Vec<(f64, WorkerId, u32)> = self.heap.into_iter().map(|w| w.0).collect();
        v.sort_unstable_by(better);
        v
    }
}

/// Asks for the ranking record `PREFETCH_DISTANCE` candidates ahead of `i`, for candidates decided on it.
#[inline(always)]
fn prefetch_records<C: Candidate>(candidates: &[C], i: usize) {
    if let Some(f) = candidates.get(i + PREFETCH_DISTANCE).and_then(C::fast) {
        prefetch(std::ptr::from_ref(f.record));
    }
}

/// Filters and scores every candidate exactly on its profile, in parallel, and returns the best `limit` with
/// counts per exclusion reason: the reference [`rank`] is checked against (and the way every ranking was
/// made before ranking records). The same candidates in any order give the same ranking (parallel or not:
/// each candidate's outcome is written to its own slot).
pub fn rank_exhaustive<C: Candidate>(
    ctx: &MatchContext<'_>,
    candidates: &[C],
    limit: usize,
) -> Ranking {
    let (_running, busy) = Running::enter();
    let prep = Prepared::new(*ctx);
    let seed = seed_zones(ctx, candidates);
    // One slot per candidate, written in place by the parallel pass: no per-thread buffers to grow and merge.
    // Each chunk walks its candidates in order and asks for the memory of the ones a few steps ahead, so the
    // profiles (scattered over the heap) arrive while earlier candidates are being checked.
    let mut outcomes: Vec<Outcome> = vec![Err(Reason::Inactive); candidates.len()];
    let chunk = |(c, out): (usize, &mut [Outcome])| {
        let mut zones = seed.clone();
        let base = c * MIN_CHUNK;
        for (j, slot) in out.iter_mut().enumerate() {
            let i = base + j;
            prefetch_ahead(candidates, i);
            let w = candidates[i].profile();
            *slot = prep
                .score(w, &mut zones)
                .map(|(score, _, _)| (score, w.id, i as u32));
        }
    };
    // A few chunks are done sooner on this thread than handed to the pool and waited for.
    if candidates.len() <= SEQUENTIAL_MAX || busy {
        outcomes.chunks_mut(MIN_CHUNK).enumerate().for_each(chunk);
    } else {
        outcomes
            .par_chunks_mut(MIN_CHUNK)
            .enumerate()
            .for_each(chunk);
    }
    let mut counts = [0usize; Reason::COUNT];
    let mut pass: Vec<(f64, WorkerId, u32)> = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        match o {
            Ok(p) => pass.push(p),
            Err(r) => counts[r as usize] += 1,
        }
    }
    let eligible = pass.len();
    if limit < pass.len() {
        if limit > 0 {
            pass.select_nth_unstable_by(limit - 1, better);
        }
        pass.truncate(limit);
    }
    pass.sort_unstable_by(better);
    explained(&prep, candidates, &pass, &HashMap::new(), eligible, &counts)
}

/// Filters and scores one worker: its score and explanation, or the first hard filter it fails. Meant for
/// explanations and tests; it clones the worker into the answer, which [`rank`] never does.
pub fn evaluate(ctx: &MatchContext<'_>, worker: &Worker) -> Result<Scored, Reason> {
    let prep = Prepared::new(*ctx);
    let (score, distance_km, explain) = prep.score(worker, &mut Zones::default())?;
    Ok(Scored {
        worker: Arc::new(worker.clone()),
        score,
        distance_km,
        explain,
    })
}

/// Every eligible candidate, best first (for the crew solver, which needs more than the top few).
pub fn eligible<C: Candidate>(ctx: &MatchContext<'_>, candidates: &[C]) -> Vec<Scored> {
    rank(ctx, candidates, usize::MAX).ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_instant;
    use crate::domain::{Availability, Days, Priority, SkillName, Tier, WeeklyWindow};
    use crate::matching::fixtures::{order, shift, worker};
    use crate::matching::live::Booking;

    struct Env {
        order: Order,
        live: LiveState,
        policy: Policy,
        exclude: HashSet<WorkerId>,
    }

    impl Env {
        fn new() -> Self {
            Self {
                order: order(),
                live: LiveState::new(),
                policy: Policy::default(),
                exclude: HashSet::new(),
            }
        }

        fn ctx(&self) -> MatchContext<'_> {
            MatchContext {
                order: &self.order,
                role: &self.order.roles[0],
                live: &self.live,
                policy: &self.policy,
                now: parse_instant("2026-11-20T00:00:00Z").unwrap(),
                exclude: &self.exclude,
            }
        }
    }

    /// A small deterministic generator, so the tests need no extra crate and always see the same workers.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0 >> 33
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn random_workers(n: u64, seed: u64) -> Vec<Arc<Worker>> {
        let mut g = Lcg(seed);
        (1..=n)
            .map(|id| {
                let mut w = worker(id);
                w.home = crate::domain::LatLon::new(
                    31.1912 + (g.below(2000) as f64 - 1000.0) / 10_000.0,
                    121.5804 + (g.below(2000) as f64 - 1000.0) / 10_000.0,
                )
                .unwrap();
                w.stats.completed_shifts = g.below(40) as u32;
                w.stats.no_shows = g.below(4) as u32;
                w.stats.late_arrivals = g.below(5) as u32;
                w.stats.cancellation_weight = g.below(6) as f64;
                w.stats.rating_count = g.below(10) as u32;
                w.stats.rating_sum = w.stats.rating_count * (1 + g.below(5) as u32);
                if g.below(4) == 0 {
                    w.skills.push(crate::domain::Skill {
                        name: SkillName::new("zz_equipment").unwrap(),
                        level: crate::domain::Level::MIN,
                    });
                }
                if g.below(10) == 0 {
                    w.languages.clear();
                }
                Arc::new(w)
            })
            .collect()
    }

    #[test]
    fn the_explanation_sums_to_the_score_for_many_random_workers() {
        let mut env = Env::new();
        env.order.priority = Priority::Urgent;
        env.order.roles[0].preferred_skills = vec![
            SkillName::new("zz_equipment").unwrap(),
            SkillName::new("forklift").unwrap(),
        ];
        let workers = random_workers(2000, 42);
        for w in workers.iter().step_by(7) {
            env.live
                .set_favourite(env.order.agency, &env.order.client_ref, w.id, true);
            env.live
                .set_client_experience(w.id, &env.order.client_ref, (w.id.get() % 9) as u32);
        }
        let ranking = rank(&env.ctx(), &workers, usize::MAX);
        assert!(ranking.eligible > 1000, "{}", ranking.eligible);
        for s in &ranking.ranked {
            let sum: f64 = s.explain.iter().map(|(_, c)| c).sum();
            assert!((sum - s.score).abs() < 1e-9);
            assert!(s.score >= 0.0 && s.score <= 1.0 + env.policy.star_bonus + 1e-12);
            for (f, c) in s.explain.iter() {
                let w = env.policy.weight(f);
                assert!(c >= -1e-12 && c <= w + 1e-12, "{} {c}", f.as_str());
            }
        }
        assert_eq!(
            ranking.eligible + ranking.excluded.values().sum::<usize>(),
            workers.len()
        );
    }

    proptest::proptest! {
        #[test]
        fn the_explanation_sums_to_the_score_for_any_track_record(
            completed in 0u32..500, no_shows in 0u32..100, late in 0u32..100,
            cancel in 0.0f64..200.0, count in 0u32..300, avg in 1u32..=5,
            client in 0u32..50, dlat in -0.12f64..0.12, dlon in -0.12f64..0.12,
            favourite: bool, urgent: bool, booked: bool,
        ) {
            let mut env = Env::new();
            if urgent {
                env.order.priority = Priority::Urgent;
            }
            env.order.roles[0].preferred_skills = vec![SkillName::new("forklift").unwrap()];
            let mut w = worker(1);
            w.home = crate::domain::LatLon::new(31.1912 + dlat, 121.5804 + dlon).unwrap();
            w.stats = crate::domain::WorkerStats {
                completed_shifts: completed,
                no_shows,
                late_arrivals: late,
                cancellations: 0,
                cancellation_weight: cancel,
                rating_sum: count * avg,
                rating_count: count,
            };
            env.live.set_client_experience(w.id, &env.order.client_ref, client);
            env.live.set_favourite(env.order.agency, &env.order.client_ref, w.id, favourite);
            if booked {
                env.live.add_booking(w.id, Booking {
                    interval: shift("2026-11-23T00:00:00+08:00", "2026-11-23T01:00:00+08:00"),
                    order: crate::domain::OrderId::new(77),
                    role: None,
                    client_ref: "other".into(),
                });
            }
            match evaluate(&env.ctx(), &w) {
                Err(r) => proptest::prop_assert_eq!(r, Reason::TooFar),
                Ok(s) => {
                    proptest::prop_assert!((s.explain.sum() - s.score).abs() < 1e-9);
                    for (f, c) in s.explain.iter() {
                        proptest::prop_assert!(c >= 0.0 && c <= env.policy.weight(f) + 1e-12, "{} {}", f.as_str(), c);
                    }
                }
            }
        }
    }

    #[test]
    fn shuffled_candidates_give_the_same_ranking() {
        let env = Env::new();
        let workers = random_workers(500, 7);
        let mut shuffled = workers.clone();
        let mut g = Lcg(99);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, g.below(i as u64 + 1) as usize);
        }
        let ids = |r: &[Scored]| -> Vec<(u64, u64)> {
            r.iter()
                .map(|s| (s.worker.id.get(), s.score.to_bits()))
                .collect()
        };
        let a = rank(&env.ctx(), &workers, 20);
        let b = rank(&env.ctx(), &shuffled, 20);
        assert_eq!(ids(&a.ranked), ids(&b.ranked));
        assert_eq!(a.ranked.len(), 20);
        assert_eq!(a.excluded, b.excluded);
        // The top 20 are the first 20 of the full ranking.
        let all = eligible(&env.ctx(), &workers);
        assert_eq!(all.len(), a.eligible);
        assert_eq!(ids(&a.ranked), ids(&all[..20]));
        for pair in all.windows(2) {
            assert!(
                pair[0].score > pair[1].score
                    || (pair[0].score == pair[1].score && pair[0].worker.id < pair[1].worker.id)
            );
        }
    }

    #[test]
    fn equal_scores_are_ordered_by_worker_id() {
        let env = Env::new();
        let workers: Vec<Arc<Worker>> = [5, 3, 9, 1].iter().map(|i| Arc::new(worker(*i))).collect();
        let r = rank(&env.ctx(), &workers, 3);
        let ids: Vec<u64> = r.ranked.iter().map(|s| s.worker.id.get()).collect();
        assert_eq!(ids, [1, 3, 5]);
        assert_eq!(r.eligible, 4);
        assert!(r.ranked.iter().all(|s| s.score == r.ranked[0].score));
    }

    #[test]
    fn exclusions_are_counted_per_reason() {
        let mut env = Env::new();
        let mut far = worker(2);
        far.home = crate::domain::LatLon::new(40.0, 116.0).unwrap();
        let workers = vec![Arc::new(worker(1)), Arc::new(far), Arc::new(worker(3))];
        env.exclude.insert(WorkerId::new(3));
        let r = rank(&env.ctx(), &workers, 10);
        assert_eq!(r.eligible, 1);
        assert_eq!(
            r.excluded.into_iter().collect::<Vec<_>>(),
            [(Reason::TooFar, 1), (Reason::Excluded, 1)]
        );
        assert_eq!(rank(&env.ctx(), &workers, 0).ranked.len(), 0);
    }

    fn star(id: u64) -> Worker {
        let mut w = worker(id);
        w.stats.completed_shifts = 10;
        w.stats.rating_sum = 48;
        w.stats.rating_count = 10;
        assert_eq!(w.stats.tier(), Tier::Star);
        w
    }

    #[test]
    fn the_star_bonus_applies_only_on_high_and_urgent_orders() {
        let mut env = Env::new();
        let s = star(1);
        for (priority, bonus) in [
            (Priority::Normal, 0.0),
            (Priority::High, env.policy.star_bonus),
            (Priority::Urgent, env.policy.star_bonus),
        ] {
            env.order.priority = priority;
            let scored = evaluate(&env.ctx(), &s).unwrap();
            assert_eq!(scored.explain.get(Feature::Star), bonus, "{priority:?}");
            // A regular worker never gets it.
            let regular = evaluate(&env.ctx(), &worker(2)).unwrap();
            assert_eq!(regular.explain.get(Feature::Star), 0.0);
        }
    }

    #[test]
    fn fairness_prefers_the_worker_with_fewer_hours_this_week() {
        let mut env = Env::new();
        let (a, b) = (worker(1), worker(2));
        env.live.add_booking(
            b.id,
            Booking {
                interval: shift("2026-11-24T09:00:00+08:00", "2026-11-24T19:00:00+08:00"),
                order: crate::domain::OrderId::new(50),
                role: Some(0),
                client_ref: "other".into(),
            },
        );
        let sa = evaluate(&env.ctx(), &a).unwrap();
        let sb = evaluate(&env.ctx(), &b).unwrap();
        assert_eq!(
            sa.explain.get(Feature::Fairness),
            env.policy.weights.fairness
        );
        assert!(
            (sb.explain.get(Feature::Fairness) - env.policy.weights.fairness * 0.75).abs() < 1e-12
        );
        let r = rank(&env.ctx(), &[Arc::new(b), Arc::new(a)], 2);
        assert_eq!(r.ranked[0].worker.id, WorkerId::new(1));
    }

    #[test]
    fn a_favourite_ranks_higher_and_a_blocked_worker_not_at_all() {
        let mut env = Env::new();
        let (agency, client) = (env.order.agency, env.order.client_ref.clone());
        env.live
            .set_favourite(agency, &client, WorkerId::new(3), true);
        env.live
            .set_blocked(agency, &client, WorkerId::new(1), true);
        let workers: Vec<Arc<Worker>> = (1..=3).map(|i| Arc::new(worker(i))).collect();
        let r = rank(&env.ctx(), &workers, 10);
        let ids: Vec<u64> = r.ranked.iter().map(|s| s.worker.id.get()).collect();
        assert_eq!(ids, [3, 2]);
        assert_eq!(
            r.ranked[0].explain.get(Feature::Favourite),
            env.policy.weights.favourite
        );
        assert_eq!(r.excluded.get(&Reason::BlockedByClient), Some(&1));
    }

    #[test]
    fn client_experience_and_proximity_show_in_the_explanation() {
        let mut env = Env::new();
        let w = worker(1);
        let before = evaluate(&env.ctx(), &w).unwrap();
        env.live
            .set_client_experience(w.id, &env.order.client_ref, 5);
        let after = evaluate(&env.ctx(), &w).unwrap();
        assert_eq!(
            after.explain.get(Feature::ClientExperience),
            env.policy.weights.client_experience
        );
        assert!(after.score > before.score);
        // 11 km of a 15 km limit.
        let p = after.explain.get(Feature::Proximity) / env.policy.weights.proximity;
        assert!((p - (1.0 - after.distance_km / 15.0)).abs() < 1e-12);
        assert!((after.distance_km - 11.04).abs() < 0.01);
    }

    // ---- time zones and daylight saving ----

    fn with_availability(id: u64, tz: &str, windows: Vec<WeeklyWindow>) -> Worker {
        let mut w = worker(id);
        w.availability = Availability::new(tz.parse().unwrap(), windows);
        w
    }

    fn at(env: &mut Env, a: &str, b: &str) {
        env.order.shift = shift(a, b);
    }

    const SAT: u8 = 1 << 5;
    const SUN: u8 = 1 << 6;
    const FRI: u8 = 1 << 4;

    #[test]
    fn availability_is_read_in_each_workers_own_timezone() {
        let mut env = Env::new();
        // Saturday 2026-11-28 02:00–08:00 UTC: 10:00–16:00 in Shanghai, 03:00–09:00 in Berlin.
        at(&mut env, "2026-11-28T02:00:00Z", "2026-11-28T08:00:00Z");
        let window = || vec![WeeklyWindow::new(Days::from_bits(SAT), 8 * 60, 22 * 60)];
        let shanghai = with_availability(1, "Asia/Shanghai", window());
        let berlin = with_availability(2, "Europe/Berlin", window());
        assert!(evaluate(&env.ctx(), &shanghai).is_ok());
        assert_eq!(
            evaluate(&env.ctx(), &berlin).unwrap_err(),
            Reason::Unavailable
        );
        let r = rank(&env.ctx(), &[Arc::new(berlin), Arc::new(shanghai)], 5);
        assert_eq!(r.ranked.len(), 1);
        assert_eq!(r.excluded.get(&Reason::Unavailable), Some(&1));
    }

    #[test]
    fn an_overnight_shift_fits_a_window_crossing_midnight() {
        let mut env = Env::new();
        let w = with_availability(
            1,
            "Asia/Shanghai",
            vec![WeeklyWindow::new(Days::from_bits(FRI), 18 * 60, 2 * 60)],
        );
        // Friday 2026-11-27 19:00 to Saturday 01:30 Shanghai time.
        at(
            &mut env,
            "2026-11-27T19:00:00+08:00",
            "2026-11-28T01:30:00+08:00",
        );
        assert!(evaluate(&env.ctx(), &w).is_ok());
        at(
            &mut env,
            "2026-11-27T19:00:00+08:00",
            "2026-11-28T02:30:00+08:00",
        );
        assert_eq!(evaluate(&env.ctx(), &w).unwrap_err(), Reason::Unavailable);
    }

    fn berlin_venue(env: &mut Env) {
        env.order.venue.location = crate::domain::LatLon::new(52.52, 13.405).unwrap();
    }

    fn berliner(id: u64, windows: Vec<WeeklyWindow>) -> Worker {
        let mut w = with_availability(id, "Europe/Berlin", windows);
        w.home = crate::domain::LatLon::new(52.51, 13.40).unwrap();
        w
    }

    #[test]
    fn a_shift_on_the_spring_forward_night_is_checked_by_the_zone_rules() {
        // Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST. The order says 02:30 with the winter offset, a
        // wall-clock time that does not exist that night: the instant is 01:30Z, which Berlin calls 03:30 CEST.
        let mut env = Env::new();
        berlin_venue(&mut env);
        at(
            &mut env,
            "2026-03-29T02:30:00+01:00",
            "2026-03-29T07:00:00+02:00",
        );
        assert_eq!(
            env.order.shift.start(),
            parse_instant("2026-03-29T01:30:00Z").unwrap()
        );
        let from_three = berliner(
            1,
            vec![WeeklyWindow::new(Days::from_bits(SUN), 3 * 60, 8 * 60)],
        );
        assert!(evaluate(&env.ctx(), &from_three).is_ok());
        let from_four = berliner(
            2,
            vec![WeeklyWindow::new(Days::from_bits(SUN), 4 * 60, 8 * 60)],
        );
        assert_eq!(
            evaluate(&env.ctx(), &from_four).unwrap_err(),
            Reason::Unavailable
        );
        // A shift that starts before the jump (01:00 CET = 00:00Z) and spans it, in a window from 01:00.
        at(&mut env, "2026-03-29T00:00:00Z", "2026-03-29T03:00:00Z");
        let early = berliner(3, vec![WeeklyWindow::new(Days::from_bits(SUN), 60, 5 * 60)]);
        assert!(evaluate(&env.ctx(), &early).is_ok());
        at(&mut env, "2026-03-29T00:00:00Z", "2026-03-29T03:30:00Z");
        assert_eq!(
            evaluate(&env.ctx(), &early).unwrap_err(),
            Reason::Unavailable
        );
    }

    #[test]
    fn a_window_on_the_fall_back_day_lasts_an_hour_longer() {
        // Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET. A window 00:00–06:00 local lasts seven real
        // hours, from 22:00Z on Saturday to 05:00Z.
        let mut env = Env::new();
        berlin_venue(&mut env);
        let w = berliner(1, vec![WeeklyWindow::new(Days::from_bits(SUN), 0, 6 * 60)]);
        at(&mut env, "2026-10-24T22:00:00Z", "2026-10-25T05:00:00Z");
        assert!(evaluate(&env.ctx(), &w).is_ok());
        at(&mut env, "2026-10-24T22:00:00Z", "2026-10-25T05:30:00Z");
        assert_eq!(evaluate(&env.ctx(), &w).unwrap_err(), Reason::Unavailable);
        at(&mut env, "2026-10-24T21:30:00Z", "2026-10-25T04:00:00Z");
        assert_eq!(evaluate(&env.ctx(), &w).unwrap_err(), Reason::Unavailable);
    }
}
