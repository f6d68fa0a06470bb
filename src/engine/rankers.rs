//! The ranking threads: where a command's CPU-bound work (ranking an order's candidates, planning its crew)
//! runs, away from the runtime's threads and below their priority.
//!
//! Between a command's statements the writer's turn waits for its task to be polled again and for SQLite's
//! connection thread to run, and every command queued for the writer waits with it. With the rankings of other
//! orders on the runtime's threads, that task waits behind a millisecond of ranking; with the rankings on
//! threads of the same priority, the runtime's and SQLite's threads share the two cores with them time slice
//! by time slice. So rankings run on threads of their own, one per core, at a lower priority
//! (`RANKING_NICENESS`): a thread of the writer's turn that wakes takes a core at once, and the rankings have
//! the cores whenever nothing else wants them. The caller awaits the answer; its runtime thread goes on.

use std::sync::{Arc, Mutex, OnceLock, mpsc};

use super::Engine;
use crate::matching::{RANKING_NICENESS, lower_this_threads_priority};

type Job = Box<dyn FnOnce() + Send>;

/// The queue the ranking threads take work from; `None` where they could not be started.
fn queue() -> Option<&'static mpsc::Sender<Job>> {
    static QUEUE: OnceLock<Option<mpsc::Sender<Job>>> = OnceLock::new();
    QUEUE
        .get_or_init(|| {
            let (send, receive) = mpsc::channel::<Job>();
            let receive = Arc::new(Mutex::new(receive));
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let mut started = 0;
            for i in 0..cores {
                let receive = receive.clone();
                let spawned = std::thread::Builder::new()
                    .name(format!("crewcall-rank-{i}"))
                    .spawn(move || {
                        lower_this_threads_priority(RANKING_NICENESS);
                        loop {
                            // One thread waits on the queue at a time; the lock is let go before the job runs.
                            let job = receive.lock().expect("the ranking queue").recv();
                            match job {
                                Ok(job) => job(),
                                Err(_) => return,
                            }
                        }
                    });
                started += usize::from(spawned.is_ok());
            }
            (started > 0).then_some(send)
        })
        .as_ref()
}

impl Engine {
    /// Runs `f` with the engine on a ranking thread and answers what it returns (a panic in `f` resumes
    /// here). On a single-threaded runtime (tests, tools), or without ranking threads, `f` runs here: there
    /// the caller's thread is the only one anyway.
    pub(super) async fn off_runtime<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> R + Send + 'static,
    ) -> R {
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        let (Some(queue), Some(engine), true) = (queue(), self.me.upgrade(), multi) else {
            return f(self);
        };
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&engine)));
            let _ = answer.send(out);
        });
        if queue.send(job).is_err() {
            unreachable!("the ranking threads never stop while the queue is held");
        }
        match answered.await {
            Ok(Ok(out)) => out,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => unreachable!("a ranking job always answers"),
        }
    }
}
