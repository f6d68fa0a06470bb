//! Sharing one query's chunks of work between the calling thread and helper threads that are already awake.
//!
//! A rayon parallel iterator called from outside the pool hands the whole job to the pool and puts the
//! calling thread to sleep until the pool is done: two thread wake-ups per call. On the benchmark's virtual
//! machine a sleeping thread took 50–60 µs to wake, and waking one is most of what a country query of a
//! million workers costs in all (docs/BENCHMARKS.md, issue 15). So a query that will have enough to share:
//!
//! - runs inside a [`Query`] guard, and calls [`wake`] as soon as it knows it will share (retrieval, once its
//!   term sets leave enough documents): that wakes the helper threads (a pool of its own, one thread fewer
//!   than the cores) and keeps them spinning until work comes or the query ends;
//! - hands each stage's chunks to [`share`], where the calling thread and the helpers take chunks from one
//!   counter. The calling thread never sleeps while chunks are left; a helper that comes late finds little
//!   or nothing to do. Where no helper is awake, a few chunks stay on the calling thread, and many (a dense
//!   venue: milliseconds of work) wake the helpers and share anyway.
//!
//! A helper spins for at most [`WARM_FOR`] and only while a query runs; when the cores are busy with other
//! rankings, queries do not warm helpers or share at all (`rank::busy`). Which thread ran a chunk changes no
//! result: every chunk's output goes to its own place, in order.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long a warm helper spins for work before it goes back to sleep: longer than the stages between
/// two shares of one query.
const WARM_FOR: Duration = Duration::from_micros(500);

/// From this many chunks, [`share`] wakes sleeping helpers: thousands of candidates' work, milliseconds
/// against a wake-up's tens of microseconds.
const WAKE_FOR_CHUNKS: usize = 16;

/// Bumped whenever work is posted or a query ends: warm helpers stop spinning, and take the work.
static POSTED: AtomicUsize = AtomicUsize::new(0);

/// Helpers spinning now: [`share`] hands short work only to helpers that are awake, so that the calling
/// thread never waits for one to wake.
static AWAKE: AtomicUsize = AtomicUsize::new(0);

/// The helper threads: one fewer than the cores, since the calling thread works too. `None` on one core.
fn helpers() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if cores < 2 {
            return None;
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores - 1)
            .thread_name(|i| format!("crewcall-helper-{i}"))
            // Helpers share the work of rankings, which run below the priority of the threads answering
            // requests (`engine::rankers`); a helper spinning at a higher priority than the ranking it waits
            // for would keep it from the core.
            .start_handler(|_| lower_this_threads_priority(RANKING_NICENESS))
            .build()
            .ok()
    })
    .as_ref()
}

/// How much lower than the process's other threads the threads that rank run (`engine::rankers` and these
/// helpers): at nice 10 a thread weighs about a tenth of one at 0 when both want a core.
pub(crate) const RANKING_NICENESS: i32 = 10;

/// Raises the calling thread's niceness by `by`, lowering its priority for good (on Linux, `setpriority`
/// on a thread's id applies to that thread alone); elsewhere, and where it is refused, the thread keeps its
/// priority.
pub(crate) fn lower_this_threads_priority(by: i32) {
    #[cfg(target_os = "linux")]
    // SAFETY: `gettid`, `getpriority` and `setpriority` take plain integers and touch no memory of ours.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let now = libc::getpriority(libc::PRIO_PROCESS, tid);
        if libc::setpriority(libc::PRIO_PROCESS, tid, now + by) != 0 {
            tracing::debug!("a ranking thread keeps the process's priority");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = by;
}

/// Where this thread stands: outside any query, inside one, or inside one that has woken the helpers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Idle,
    Query,
    Warm,
}

thread_local! {
    /// This thread's [`Stage`]: inside a warm query, [`share`] warms the helpers again for the next stage.
    static STAGE: std::cell::Cell<Stage> = const { std::cell::Cell::new(Stage::Idle) };
}

/// One query on this thread (see the module doc): when it ends, helpers it woke stop spinning. A query inside
/// another is part of it.
pub(crate) struct Query {
    outer: bool,
}

impl Query {
    /// Begins a query on this thread.
    pub(crate) fn begin() -> Self {
        let outer = STAGE.with(|s| s.get()) == Stage::Idle;
        if outer {
            STAGE.with(|s| s.set(Stage::Query));
        }
        Self { outer }
    }
}

impl Drop for Query {
    fn drop(&mut self) {
        if self.outer && STAGE.with(|s| s.replace(Stage::Idle)) == Stage::Warm {
            POSTED.fetch_add(1, Ordering::Release);
        }
    }
}

/// Wakes the helpers for the rest of this thread's query, once: the query will share work soon. Outside a
/// [`Query`], or when the cores are busy with other rankings (`rank::busy`), it does nothing.
pub(crate) fn wake() {
    if helpers().is_some() && STAGE.with(|s| s.get()) == Stage::Query && !super::rank::busy() {
        STAGE.with(|s| s.set(Stage::Warm));
        spin_helpers();
    }
}

/// Sets every helper spinning until work is posted, the query ends, or [`WARM_FOR`] passes.
fn spin_helpers() {
    let Some(pool) = helpers() else { return };
    let seen = POSTED.load(Ordering::Acquire);
    for _ in 0..pool.current_num_threads() {
        pool.spawn(move || {
            AWAKE.fetch_add(1, Ordering::AcqRel);
            let t0 = Instant::now();
            while POSTED.load(Ordering::Acquire) == seen && t0.elapsed() < WARM_FOR {
                std::hint::spin_loop();
            }
            AWAKE.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

/// Runs `f` on every item and returns the outputs in the items' order: on the calling thread and on the
/// helpers that are awake, or on the calling thread alone when none is and there are few items (see the
/// module doc).
pub(crate) fn share<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    let Some(pool) = helpers().filter(|_| n > 1) else {
        return items.into_iter().map(f).collect();
    };
    // Helpers asleep are woken only for work long enough to be worth their waking (and the wait for them to
    // begin, at the end).
    let helping = match AWAKE.load(Ordering::Acquire) {
        0 if n >= WAKE_FOR_CHUNKS => pool.current_num_threads(),
        0 => return items.into_iter().map(f).collect(),
        awake => awake,
    };
    let inputs: Vec<Mutex<Option<T>>> = items.into_iter().map(|t| Mutex::new(Some(t))).collect();
    let outputs: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = inputs.get(i) else { break };
            let item = lock(input).take().expect("each chunk is taken once");
            let out = f(item);
            *lock(&outputs[i]) = Some(out);
        }
    };
    pool.in_place_scope(|s| {
        for _ in 0..helping.min(n - 1) {
            s.spawn(|_| work());
        }
        POSTED.fetch_add(1, Ordering::Release);
        work();
    });
    if STAGE.with(|s| s.get()) == Stage::Warm {
        spin_helpers();
    }
    outputs
        .into_iter()
        .map(|m| {
            m.into_inner()
                .unwrap_or_else(|e| e.into_inner())
                .expect("every chunk was run")
        })
        .collect()
}

/// A lock whose holder cannot have left its data half-changed (each slot is written whole).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::{Query, share, wake};

    #[test]
    fn every_item_is_run_once_and_the_outputs_keep_the_items_order() {
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let square = |x: u64| {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            x * x
        };
        let expected: Vec<u64> = (0..1000u64).map(|x| x * x).collect();
        assert_eq!(share((0..1000).collect(), square), expected);
        {
            let _query = Query::begin();
            wake();
            // Shared once a helper is awake.
            std::thread::sleep(std::time::Duration::from_millis(1));
            assert_eq!(share((0..1000).collect(), square), expected);
            assert_eq!(share((0..1000).collect(), square), expected);
        }
        assert_eq!(runs.into_inner(), 3000);
        assert_eq!(share(Vec::<u8>::new(), |x| x), Vec::<u8>::new());
        assert_eq!(share(vec![7u8], |x| x + 1), vec![8]);
    }
}
