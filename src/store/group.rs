//! Group commit for SQLite: one writer connection, concurrent commands batched into one durable commit.
//!
//! SQLite has one writer, and with `synchronous=FULL` every commit waits for the disk (about 2 ms here), which
//! would cap the server at a few hundred writes a second. So writing commands take turns on one connection:
//! each runs inside a `SAVEPOINT` of a transaction that stays open across commands (the first opens the
//! transaction itself), and is acknowledged only after the `COMMIT` that holds it. A command that fails rolls
//! back to its savepoint and leaves the others alone.
//!
//! Every statement is handed to SQLite's connection thread and back, and that hand-off, not SQLite's work,
//! is what a command's turn mostly costs; the turn is what bounds the writes per second. So a command's last
//! statements go in one hand-off: its events, the `RELEASE` of its savepoint and the `SAVEPOINT` of whoever
//! writes next (the next command finds it open). If that round trip fails, the whole batch is rolled back and
//! its members are told: none of them was acknowledged. The command that finishes first queues for the connection again behind everyone who arrived while it
//! ran; when its turn comes it commits the whole batch, so a batch holds exactly the commands that were waiting,
//! and a lone command commits at once.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::db_error;
use super::events::{Guard, NewEvent, StoredEvent};

/// The writer connection and the batch open on it.
pub(super) struct Writer {
    conn: Option<PoolConnection<Any>>,
    /// Whether a transaction is open on the connection.
    open: bool,
    /// Whether a savepoint is open that no command owns yet: the next command's (see [`Command::commit`]).
    armed: bool,
    /// A `BEGIN` was sent whose outcome nobody saw (its command was cancelled): the connection may be inside a
    /// transaction that `open` does not know of.
    unsure: bool,
    /// Commands released into the open transaction and waiting for its commit.
    members: usize,
    /// Counts commits; a command remembers the batch it joined.
    batch: u64,
    /// Batches whose commit failed (the latest few), with the error's text.
    failed: std::collections::VecDeque<(u64, String)>,
}

/// Failed batches remembered for members that read their outcome late.
const FAILED_KEPT: usize = 64;

/// The shared writer.
#[derive(Clone)]
pub(super) struct Group {
    gate: Arc<Mutex<Writer>>,
    pool: AnyPool,
}

impl Group {
    pub(super) fn new(pool: AnyPool) -> Self {
        Group {
            gate: Arc::new(Mutex::new(Writer {
                conn: None,
                open: false,
                armed: false,
                unsure: false,
                members: 0,
                batch: 0,
                failed: Default::default(),
            })),
            pool,
        }
    }

    /// Commits whatever batch is open and gives the writer connection back to the pool (before the pool is
    /// closed, which waits for every connection).
    pub(super) async fn close(&self) {
        let mut guard = self.gate.lock().await;
        if guard.open {
            commit_batch(&mut guard).await;
        }
        guard.conn = None;
    }

    /// Takes a turn on the writer connection and opens a savepoint for one command.
    pub(super) async fn begin(&self) -> crate::Result<Command> {
        let mut guard = self.gate.clone().lock_owned().await;
        if guard.conn.is_none() {
            guard.conn = Some(self.pool.acquire().await.map_err(db_error)?);
        }
        // The first command of a batch runs alone in the transaction until it is released, so it needs no
        // savepoint: undoing it is rolling the transaction back.
        let savepoint = guard.open;
        if guard.open {
            if guard.armed {
                guard.armed = false;
            } else {
                exec(&mut guard, "SAVEPOINT command").await?;
            }
        } else {
            if guard.unsure {
                // Whatever that transaction held was never acknowledged.
                let _ = exec(&mut guard, "ROLLBACK").await;
            }
            guard.unsure = true;
            exec(&mut guard, "BEGIN IMMEDIATE").await?;
            guard.unsure = false;
            guard.open = true;
        }
        Ok(Command {
            guard: Some(guard),
            group: self.clone(),
            savepoint,
        })
    }
}

async fn exec(w: &mut Writer, sql: &'static str) -> crate::Result<()> {
    let conn = w.conn.as_mut().expect("the writer connection");
    sqlx::raw_sql(sql)
        .execute(&mut **conn)
        .await
        .map(|_| ())
        .map_err(db_error)
}

/// Commits the open batch and tells its members.
async fn commit_batch(w: &mut Writer) {
    let failure = match exec(w, "COMMIT").await {
        Ok(()) => None,
        Err(e) => {
            // Whatever SQLite kept of the transaction is gone with it.
            let _ = exec(w, "ROLLBACK").await;
            Some(e.to_string())
        }
    };
    end_batch(w, failure);
}

/// Rolls the open batch back after a round trip whose outcome is not known statement by statement, and tells
/// its members.
async fn abandon_batch(w: &mut Writer, error: &crate::Error) {
    let _ = exec(w, "ROLLBACK").await;
    end_batch(w, Some(error.to_string()));
}

/// Closes the batch, remembering its failure for members that read their outcome late.
fn end_batch(w: &mut Writer, failure: Option<String>) {
    if let Some(e) = failure {
        if w.failed.len() == FAILED_KEPT {
            w.failed.pop_front();
        }
        w.failed.push_back((w.batch, e));
    }
    w.open = false;
    w.armed = false;
    w.members = 0;
    w.batch += 1;
}

/// One command's turn on the writer: a savepoint inside the open batch.
pub(super) struct Command {
    guard: Option<OwnedMutexGuard<Writer>>,
    group: Group,
    /// Whether the command runs in a savepoint (it joined a batch with members), or opened the transaction.
    savepoint: bool,
}

impl Command {
    /// The connection, for the command's statements.
    pub(super) fn conn(&self) -> &sqlx::AnyConnection {
        self.guard
            .as_ref()
            .and_then(|g| g.conn.as_deref())
            .expect("a command holds the writer")
    }

    /// The connection, for the command's statements.
    pub(super) fn conn_mut(&mut self) -> &mut sqlx::AnyConnection {
        self.guard
            .as_mut()
            .and_then(|g| g.conn.as_deref_mut())
            .expect("a command holds the writer")
    }

    /// Writes the command's events, releases its savepoint into the batch, and waits until the batch is
    /// durably committed (committing it when this command's turn comes first).
    pub(super) async fn commit(self, events: Vec<NewEvent>) -> crate::Result<Vec<StoredEvent>> {
        Ok(self.commit_guarded(None, events).await?.unwrap_or_default())
    }

    /// [`Self::commit`] behind a guard ([`Guard`], which needs [`Guard::fits`]): the guard, the events, this
    /// command's release and the next writer's savepoint in one round trip. `None` when the guard changed no
    /// row: the command wrote nothing, and nothing of it is in the batch.
    pub(super) async fn commit_guarded(
        mut self,
        condition: Option<Guard>,
        events: Vec<NewEvent>,
    ) -> crate::Result<Option<Vec<StoredEvent>>> {
        // From here the command joins the batch, and the batch must be committed whether or not anyone still
        // waits for this command's answer: the rest runs as a task of its own, which a cancelled request cannot
        // stop half-way (a savepoint released but not counted, a batch left open, a COMMIT whose outcome the
        // writer never records).
        let mut guard = self.guard.take().expect("a command holds the writer");
        let savepoint = self.savepoint;
        let gate = self.group.gate.clone();
        let outcome = tokio::spawn(async move {
            // The events, this command's release and the next writer's savepoint, in one round trip.
            let then = if savepoint {
                "RELEASE command; SAVEPOINT command;"
            } else {
                "SAVEPOINT command;"
            };
            let conn = guard.conn.as_deref_mut().expect("the writer connection");
            let stored =
                match super::events::write_guarded(conn, condition.as_ref(), events, then).await {
                    Ok(stored) => stored,
                    Err(e) => {
                        // Which of the statements ran is not known: the batch goes, and none of it was
                        // acknowledged.
                        abandon_batch(&mut guard, &e).await;
                        return Err(e);
                    }
                };
            guard.armed = true;
            guard.members += 1;
            let batch = guard.batch;
            drop(guard);
            // Queue again: everyone who arrived meanwhile runs first and joins this batch.
            let mut guard = gate.lock_owned().await;
            if guard.batch == batch && guard.open {
                commit_batch(&mut guard).await;
            }
            Ok((
                stored,
                guard
                    .failed
                    .iter()
                    .find(|(b, _)| *b == batch)
                    .map(|(_, e)| e.clone()),
            ))
        })
        .await
        .map_err(|e| crate::Error::Internal(format!("the commit task failed: {e}")))??;
        match outcome {
            (_, Some(e)) => Err(crate::Error::Unavailable(format!("commit failed: {e}"))),
            (stored, None) => Ok(stored),
        }
    }

    /// Rolls the command back to its savepoint; the rest of the batch stays.
    pub(super) async fn rollback(mut self) -> crate::Result<()> {
        match self.guard.take() {
            Some(mut guard) => undo(&mut guard, self.savepoint).await,
            None => Ok(()),
        }
    }
}

async fn undo(w: &mut Writer, savepoint: bool) -> crate::Result<()> {
    if w.members == 0 {
        // Nothing else in the batch: end the transaction so the file's write lock is not held.
        exec(w, "ROLLBACK").await?;
        w.open = false;
        w.armed = false;
        return Ok(());
    }
    if savepoint {
        // `ROLLBACK TO` keeps the savepoint open, empty: the next command's.
        exec(w, "ROLLBACK TO command").await?;
        w.armed = true;
    }
    Ok(())
}

impl Drop for Command {
    fn drop(&mut self) {
        // A command dropped without commit or rollback (an error, a cancelled request): undo its savepoint
        // before anyone else writes on the connection.
        let savepoint = self.savepoint;
        if let Some(mut guard) = self.guard.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = undo(&mut guard, savepoint).await {
                    tracing::error!(error = %e, "undoing a dropped command failed");
                }
            });
        }
    }
}
