//! SQLite's connection threads run ahead of the process's other threads.
//!
//! Each SQLite connection has a thread of its own that runs its statements and hands every result back to
//! the task that waits for it, waking a runtime thread. The scheduler favours a thread just woken: at equal
//! priority that runtime thread takes the core from the connection's thread, and on the writer's connection
//! (`group.rs`), whose turn every write of the process waits for, the turn stops until the connection's
//! thread gets the core back. A statement sends several results (one per statement it carries, one per row),
//! so this happened several times an order (`perf sched`: the writer switched out about five times an order
//! under load, a third of the times preempted at a send). So SQLite's connection threads run
//! [`SQLITE_PRIORITY_BOOST`] above the process's priority: a woken runtime thread waits for the other core or
//! for the statement to end.
//!
//! Raising a thread's priority above the process's needs the right to (root, `CAP_SYS_NICE`, or a nice limit,
//! `LimitNICE=` under systemd); without it the threads keep the process's priority, which changes no result.

/// How many nice levels above the process SQLite's connection threads run: about three times the weight of a
/// thread at the process's priority when both want a core.
pub(crate) const SQLITE_PRIORITY_BOOST: i32 = 5;

/// The prefix of the names sqlx gives SQLite's connection threads (`sqlx-sqlite-worker-<n>`).
#[cfg(target_os = "linux")]
const THREAD_PREFIX: &str = "sqlx-sqlite";

/// Set when raising a thread's priority was refused: the threads keep the process's priority from then on.
#[cfg(target_os = "linux")]
static REFUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The thread ids of the process's SQLite connection threads, found by their names.
#[cfg(target_os = "linux")]
fn sqlite_threads() -> impl Iterator<Item = libc::id_t> {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|name| name.starts_with(THREAD_PREFIX))
        })
        .filter_map(|t| t.file_name().to_str()?.parse::<libc::id_t>().ok())
}

/// The nice value of a thread of this process (on Linux `PRIO_PROCESS` with a thread's id reads that thread
/// alone), or of the process with its own id.
#[cfg(target_os = "linux")]
fn nice_of(tid: libc::id_t) -> i32 {
    // SAFETY: `getpriority` takes plain integers and touches no memory of ours.
    unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) }
}

/// The nice value of the process.
#[cfg(target_os = "linux")]
fn process_nice() -> i32 {
    nice_of(std::process::id() as libc::id_t)
}

/// Raises every SQLite connection thread of the process that is not raised yet to [`SQLITE_PRIORITY_BOOST`]
/// above the process's priority: called as each connection is made, so that its thread exists. Where raising
/// is refused the threads keep the process's priority, and later calls do not try again.
pub(crate) fn raise_sqlite_threads() {
    #[cfg(target_os = "linux")]
    {
        use std::sync::atomic::Ordering;
        if REFUSED.load(Ordering::Relaxed) {
            return;
        }
        let wanted = (process_nice() - SQLITE_PRIORITY_BOOST).max(-20);
        for tid in sqlite_threads().filter(|&tid| nice_of(tid) > wanted) {
            // SAFETY: `setpriority` takes plain integers and touches no memory of ours; on Linux
            // `PRIO_PROCESS` with a thread's id sets that thread alone.
            if unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, wanted) } == 0 {
                continue;
            }
            // A thread that ended meanwhile (its connection closed) is no refusal.
            if matches!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EPERM | libc::EACCES)
            ) {
                REFUSED.store(true, Ordering::Relaxed);
                tracing::info!(
                    "SQLite's connection threads keep the process's priority (raising it needs CAP_SYS_NICE \
                     or a nice limit)"
                );
                return;
            }
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Where the process may raise a thread's priority (as root, say), a SQLite store's connection thread runs
    /// `SQLITE_PRIORITY_BOOST` above the process once the store has connected; where it may not, every such
    /// thread keeps the process's.
    #[tokio::test]
    async fn a_sqlite_connection_thread_runs_ahead_of_the_process_where_it_may() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("threads.db").display());
        let store = crate::store::Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let raised = !REFUSED.load(std::sync::atomic::Ordering::Relaxed);
        let process = process_nice();
        let threads: Vec<i32> = sqlite_threads().map(nice_of).collect();
        assert!(
            !threads.is_empty(),
            "sqlx names SQLite's connection threads {THREAD_PREFIX}-…"
        );
        if raised {
            let wanted = (process - SQLITE_PRIORITY_BOOST).max(-20);
            assert!(threads.contains(&wanted), "{threads:?}, process {process}");
            assert!(threads.iter().all(|&n| n <= process), "{threads:?}");
        } else {
            assert!(threads.iter().all(|&n| n == process), "{threads:?}");
        }
    }
}
