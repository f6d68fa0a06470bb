//! Durability after an asynchronous commit on PostgreSQL, shared. Waiting for the write-ahead log to reach the
//! disk takes a transaction of its own (see [`Flusher::flush`]), and every commit made before that transaction
//! began is on disk when it ends. Callers that ask while one is under way wait for the next one, which answers
//! all of them: a node's concurrent commits share one flush instead of running one each.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyPool;

use super::db_error;

/// One node's flushes of PostgreSQL's write-ahead log.
#[derive(Debug)]
pub(super) struct Flusher {
    pool: AnyPool,
    shared: Shared,
}

impl Flusher {
    /// Flushes through connections of `pool`.
    pub(super) fn new(pool: AnyPool) -> Flusher {
        Flusher {
            pool,
            shared: Shared::default(),
        }
    }

    /// Waits until everything committed before the call (by this caller or any other) is on disk.
    pub(super) async fn flush(&self) -> crate::Result<()> {
        self.shared.run(|| flush_once(&self.pool)).await
    }
}

/// Waits until the write-ahead log is on disk past every commit made so far: a transaction that takes an id
/// and commits synchronously flushes the log up to its own commit record, which follows all of them.
async fn flush_once(pool: &AnyPool) -> crate::Result<()> {
    sqlx::query("SELECT pg_current_xact_id()::text")
        .execute(pool)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// An operation whose one run answers every caller that asked before the run began, run once at a time.
#[derive(Debug, Default)]
struct Shared {
    /// Calls made so far: a caller's ticket is the count with its own call.
    asked: AtomicU64,
    /// The highest ticket a finished run answered.
    answered: AtomicU64,
    /// Held while a run is under way; callers queue on it in order.
    turn: tokio::sync::Mutex<()>,
}

impl Shared {
    /// Runs `op`, unless a run that began after this call has ended meanwhile. A failed run answers only its own
    /// caller: those queued behind it run it again.
    async fn run<F, Fut>(&self, op: F) -> crate::Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = crate::Result<()>>,
    {
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let _turn = self.turn.lock().await;
        if self.answered.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        // Every ticket handed out so far was asked for before this run begins.
        let covers = self.asked.load(Ordering::SeqCst);
        op().await?;
        self.answered.fetch_max(covers, Ordering::SeqCst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    /// A run that counts itself and records, for each run, how many calls had been made when it began.
    async fn slow_run(runs: &AtomicUsize, began_after: &std::sync::Mutex<Vec<u64>>, asked: u64) {
        runs.fetch_add(1, Ordering::SeqCst);
        began_after.lock().unwrap().push(asked);
        tokio::time::sleep(Duration::from_millis(30)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn callers_that_ask_during_a_flush_share_the_next_one_and_none_is_answered_by_an_earlier_one()
     {
        let shared = Arc::new(Shared::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let began_after = Arc::new(std::sync::Mutex::new(Vec::new()));
        let call = || {
            let (shared, runs, began_after) = (shared.clone(), runs.clone(), began_after.clone());
            tokio::spawn(async move {
                let s = shared.clone();
                shared
                    .run(|| async move {
                        slow_run(&runs, &began_after, s.asked.load(Ordering::SeqCst)).await;
                        Ok(())
                    })
                    .await
            })
        };
        // One caller starts a run; twenty more ask while it is under way.
        let first = call();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let rest: Vec<_> = (0..20).map(|_| call()).collect();
        first.await.unwrap().unwrap();
        for r in rest {
            r.await.unwrap().unwrap();
        }
        // The first run, then one for all twenty, which began after every one of them had asked.
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(*began_after.lock().unwrap(), vec![1, 21]);
    }

    #[tokio::test]
    async fn a_failed_flush_answers_its_caller_alone_and_the_next_caller_runs_again() {
        let shared = Shared::default();
        let failed = shared
            .run(|| async { Err(crate::Error::Unavailable("the database is down".into())) })
            .await;
        assert!(failed.is_err());
        let runs = AtomicUsize::new(0);
        let counted = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        };
        shared.run(counted).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Answered: a later caller still runs, since it asked after that run began.
        shared.run(counted).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
