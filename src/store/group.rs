//! Group commit for SQLite: one writer connection, concurrent commands batched into one durable commit.
//!
//! SQLite has one writer, and with `synchronous=FULL` every commit waits for the disk (about 2 ms here), which
//! would cap the server at a few hundred writes a second. So writing commands take turns on one connection:
//! each runs inside a `SAVEPOINT` of a transaction that stays open across commands (the first opens the
//! transaction itself), and is acknowledged only after the `COMMIT` that holds it. A command that fails rolls
//! back to its savepoint and leaves the others alone.
//!
//! Every statement is handed to SQLite's connection thread and back, and that hand-off, not SQLite's work,
//! is what a command's turn mostly costs; the turn is what bounds the writes per second. So statements whose
//! outcome nobody reads are owed, not sent: the `BEGIN` or the `SAVEPOINT` that opens a command, a finished
//! command's events (at positions the writer counts, see [`Command::commit`]) and the `RELEASE` of its
//! savepoint go to the database in front of the next statement that must run now — the next command's first
//! statement, or the `COMMIT`. A statement that carries owed statements and fails leaves unknown which of
//! them ran: the whole batch is rolled back and its members are told (none of them was acknowledged). Only
//! statements that do not fail by design carry them ([`Command::fetch_after`]); any other statement is sent
//! after what is owed has been sent on its own ([`Command::conn`]). The command that finishes first queues for
//! the connection again behind everyone who arrived while it ran; when its turn comes it commits the whole
//! batch, so a batch holds exactly the commands that were waiting, and a lone command commits at once, its
//! events and the `COMMIT` in one round trip.
//!
//! For the same reason a write whose outcome nobody reads (an order's row, whose id the writer hands out, or
//! its new status) is held back by the command and sent in front of its next statement
//! ([`super::Tx::write_later`]): an order posted and booked takes one round trip, the crew's booking, which
//! carries what the command before it owed.
//!
//! A command whose one write is a guard (a conditional write of one row, a check-in say) needs no turn of its
//! own ([`Group::write_if`]): it queues, and the next turn runs every queued guard, each followed by its events,
//! in one round trip.

use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use super::events::{Guard, NewEvent, StoredEvent};
use super::{Later, db_error};

/// The writer connection and the batch open on it.
pub(super) struct Writer {
    conn: Option<PoolConnection<Any>>,
    /// Whether a transaction is open, its `BEGIN` perhaps still owed.
    open: bool,
    /// Whether the open transaction's `BEGIN` was sent.
    begun: bool,
    /// Statements owed to the connection: sent in front of the next statement that runs now.
    owed: Later,
    /// Where the running command's `SAVEPOINT` starts in what is owed, while it is owed.
    savepoint_at: Option<usize>,
    /// A statement carrying owed statements was sent and its outcome not seen (its command was cancelled):
    /// which of them ran is not known.
    unsure: bool,
    /// Commands released into the open transaction and waiting for its commit.
    members: usize,
    /// Counts commits; a command remembers the batch it joined.
    batch: u64,
    /// Batches whose commit failed (the latest few), with the error's text.
    failed: std::collections::VecDeque<(u64, String)>,
    /// The id the next order takes ([`Command::next_order_id`]), once read.
    next_order_id: Option<i64>,
    /// The position the next event takes in the log, once read ([`Command::commit`]).
    next_seq: Option<i64>,
}

/// Parameters owed past which a finished command sends what is owed at once rather than leave it to the
/// next statement (a large import, say): well under SQLite's limit.
const OWED_PARAMS: usize = 4_000;

/// Failed batches remembered for members that read their outcome late.
const FAILED_KEPT: usize = 64;

/// The shared writer.
#[derive(Clone)]
pub(super) struct Group {
    gate: Arc<Mutex<Writer>>,
    pool: AnyPool,
    /// Guarded writes waiting for a turn ([`Group::write_if`]).
    queue: Arc<std::sync::Mutex<Vec<Queued>>>,
    /// The checkpointer ([`checkpoints`]).
    checkpoint: Checkpointer,
    /// Whether commits must be durable (see [`Syncer`]).
    durable: bool,
    /// What makes commits durable when they do not sync themselves: set when the writer connects to a
    /// database file.
    syncer: Arc<std::sync::OnceLock<Syncer>>,
}

/// A command whose one write is a guard, waiting to be run in someone's turn.
struct Queued {
    guard: Guard,
    events: Vec<NewEvent>,
    answer: oneshot::Sender<crate::Result<Option<Vec<StoredEvent>>>>,
}

/// Queued writes per round trip: a few hundred parameters, well under SQLite's limit.
const COMBINED: usize = 64;

impl Group {
    /// The writer over `pool`, with its checkpointer (a task that ends when the last handle is dropped).
    pub(super) fn new(pool: AnyPool, durable: bool) -> Self {
        let (wake, wanted) = tokio::sync::mpsc::channel(1);
        let checkpoint = Checkpointer {
            wake,
            catch_up: Default::default(),
        };
        tokio::spawn(checkpoints(
            pool.clone(),
            wanted,
            checkpoint.catch_up.clone(),
        ));
        Group {
            gate: Arc::new(Mutex::new(Writer {
                conn: None,
                open: false,
                begun: false,
                owed: Later::default(),
                savepoint_at: None,
                unsure: false,
                members: 0,
                batch: 0,
                failed: Default::default(),
                next_order_id: None,
                next_seq: None,
            })),
            pool,
            queue: Default::default(),
            checkpoint,
            durable,
            syncer: Default::default(),
        }
    }

    /// Commits whatever batch is open and gives the writer connection back to the pool (before the pool is
    /// closed, which waits for every connection).
    pub(super) async fn close(&self) {
        let mut guard = self.gate.lock().await;
        if guard.open {
            self.commit_batch(&mut guard).await;
        }
        if let Some(syncer) = self.syncer.get() {
            syncer.sync_through(guard.batch).await;
        }
        guard.conn = None;
    }

    /// Waits until everything committed so far is on disk.
    pub(super) async fn flush(&self) {
        if let Some(syncer) = self.syncer.get() {
            let through = syncer.committed.load(std::sync::atomic::Ordering::SeqCst);
            syncer.sync_through(through).await;
        }
    }

    /// Takes a turn on the writer connection and opens a savepoint for one command.
    pub(super) async fn begin(&self) -> crate::Result<Command> {
        let mut guard = self.gate.clone().lock_owned().await;
        let savepoint = self.open(&mut guard).await?;
        Ok(Command {
            guard: Some(guard),
            group: self.clone(),
            savepoint,
        })
    }

    /// Takes the writer's connection from the pool, the first time. The writer leaves checkpoints to the
    /// checkpointer, so that no commit holds everyone's turn while it copies the log into the database; a log
    /// file grown large (by a big import, say) is cut back to 64 MiB when the log starts over; savepoints keep
    /// what they would undo in memory.
    async fn connect(&self, guard: &mut Writer) -> crate::Result<()> {
        if guard.conn.is_none() {
            let mut conn = self.pool.acquire().await.map_err(db_error)?;
            // A command's savepoint copies each page it first changes to a sub-journal, which SQLite otherwise
            // spills to a temporary file past 64 KiB: a write system call per page, inside the writer's turn.
            sqlx::raw_sql(
                "PRAGMA wal_autocheckpoint = 0; PRAGMA journal_size_limit = 67108864; \
                 PRAGMA temp_store = MEMORY",
            )
            .execute(&mut *conn)
            .await
            .map_err(db_error)?;
            if self.durable {
                // `(seq, name, file)` of each database on the connection; an in-memory one has no file.
                let databases: Vec<(i64, String, String)> = sqlx::query_as("PRAGMA database_list")
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db_error)?;
                if let Some((_, _, file)) = databases
                    .into_iter()
                    .find(|(_, name, file)| name == "main" && !file.is_empty())
                {
                    sqlx::raw_sql("PRAGMA synchronous = NORMAL")
                        .execute(&mut *conn)
                        .await
                        .map_err(db_error)?;
                    self.syncer
                        .get_or_init(|| Syncer::new(format!("{file}-wal").into()));
                }
            }
            guard.conn = Some(conn);
        }
        Ok(())
    }

    /// Readies the writer for a command whose turn has come: connects, and opens the batch's transaction or
    /// the command's savepoint inside it (owed: sent with the command's first statement). Answers whether the
    /// command runs in a savepoint.
    async fn open(&self, guard: &mut Writer) -> crate::Result<bool> {
        self.connect(guard).await?;
        // The first command of a batch runs alone in the transaction until it is released, so it needs no
        // savepoint: undoing it is rolling the transaction back.
        let savepoint = guard.open;
        if guard.open {
            guard.savepoint_at = Some(guard.owed.sql.len());
            guard.owed.push("SAVEPOINT command; ");
        } else {
            guard.open_batch();
        }
        Ok(savepoint)
    }

    /// Runs a command whose one write is `guard` (which must change exactly one row, and needs
    /// [`Guard::fits`]), with its events, written only if the guard changed its row; answers after the batch
    /// holding it is durably committed, `None` when the guard changed nothing and nothing was written.
    ///
    /// Such commands need no turn of their own: those that arrive while the writer is busy queue, and the next
    /// turn runs all of them in one round trip to the database, each guard followed by its events.
    pub(super) async fn write_if(
        &self,
        guard: Guard,
        events: Vec<NewEvent>,
    ) -> crate::Result<Option<Vec<StoredEvent>>> {
        let (answer, answered) = oneshot::channel();
        let first = {
            let mut queue = self.queue.lock().expect("the writer's queue");
            queue.push(Queued {
                guard,
                events,
                answer,
            });
            queue.len() == 1
        };
        // The first to queue sees to it that the queue is run; those after it are taken along. The run is a
        // task of its own, which a cancelled request cannot stop half-way.
        if first {
            let group = self.clone();
            tokio::spawn(async move { group.run_queued().await });
        }
        answered
            .await
            .map_err(|_| crate::Error::Internal("a queued write was dropped".into()))?
    }

    /// Takes a turn, runs every queued write in it, and answers them once their batch is committed.
    async fn run_queued(self) {
        let mut guard = self.gate.clone().lock_owned().await;
        let queued = std::mem::take(&mut *self.queue.lock().expect("the writer's queue"));
        if queued.is_empty() {
            return;
        }
        let fail = |queued: Vec<Queued>, e: &crate::Error| {
            for q in queued {
                let _ = q
                    .answer
                    .send(Err(crate::Error::Unavailable(format!("write failed: {e}"))));
            }
        };
        if let Err(e) = self.connect(&mut guard).await {
            return fail(queued, &e);
        }
        // The guards need no savepoint of their own (each writes its events only if it changed its row, and a
        // failed round trip takes the whole batch with it), and a write inside one costs a copy of every page
        // it touches: they go after what is owed, which opens the batch when none is open.
        if !guard.open {
            guard.open_batch();
        }
        let mut first = guard.take_owed();
        let mut positions = Vec::with_capacity(queued.len());
        for part in queued.chunks(COMBINED) {
            let before = std::mem::take(&mut first);
            let writes: Vec<(&Guard, &[NewEvent])> = part
                .iter()
                .map(|q| (&q.guard, q.events.as_slice()))
                .collect();
            let conn = guard.conn.as_deref_mut().expect("the writer connection");
            match super::events::write_guarded(conn, &before, &writes).await {
                Ok(seqs) => positions.extend(seqs),
                Err(e) => {
                    // Which of the statements ran is not known: the batch goes, and none of it was
                    // acknowledged.
                    abandon_batch(&mut guard, &e).await;
                    return fail(queued, &e);
                }
            }
        }
        guard.unsure = false;
        // The guards' events took their positions from the log: the writer counts on after them.
        let last = positions.iter().flatten().flatten().max().copied();
        if let (Some(next), Some(last)) = (guard.next_seq.as_mut(), last) {
            *next = (*next).max(last + 1);
        }
        guard.members += 1;
        let failure = self.committed(guard).await;
        for (q, seqs) in queued.into_iter().zip(positions) {
            let _ = q.answer.send(match &failure {
                Some(e) => Err(crate::Error::Unavailable(format!("commit failed: {e}"))),
                None => Ok(seqs.map(|seqs| super::events::stored_as(q.events, seqs))),
            });
        }
    }
}

impl Group {
    /// Leaves the writer to whoever waits, then waits for the batch the turn joined to be committed
    /// (committing it when this turn comes first) and on disk: the batch's failure, if it failed.
    async fn committed(&self, guard: OwnedMutexGuard<Writer>) -> Option<String> {
        let batch = guard.batch;
        drop(guard);
        // Queue again: everyone who arrived meanwhile runs first and joins this batch. Every member queues, not
        // only the one that commits: the members then learn of the commit one at a time, in the order they
        // joined, so each applies its events to the views right after those before it, without reading the log
        // for a gap (waking them all at once on a signal was measured 2–8% slower).
        let mut guard = self.gate.clone().lock_owned().await;
        if guard.batch == batch && guard.open {
            self.commit_batch(&mut guard).await;
        }
        let failure = guard
            .failed
            .iter()
            .find(|(b, _)| *b == batch)
            .map(|(_, e)| e.clone());
        // The next batch goes on while this one goes to disk.
        drop(guard);
        if failure.is_none()
            && let Some(syncer) = self.syncer.get()
        {
            syncer.sync_through(batch + 1).await;
        }
        failure
    }

    /// Commits the open batch and tells its members; wakes the checkpointer, and copies the rest of the log
    /// into the database when the checkpointer asked for it.
    async fn commit_batch(&self, w: &mut Writer) {
        let failure = match send(w, "COMMIT; ").await {
            Ok(()) => {
                if let Some(syncer) = self.syncer.get() {
                    syncer.committed(w.batch + 1);
                }
                let _ = self.checkpoint.wake.try_send(());
                if self
                    .checkpoint
                    .catch_up
                    .swap(false, std::sync::atomic::Ordering::Relaxed)
                {
                    let _ = exec(w, "PRAGMA wal_checkpoint(PASSIVE)").await;
                }
                None
            }
            Err(e) => {
                // Whatever SQLite kept of the transaction is gone with it.
                let _ = exec(w, "ROLLBACK").await;
                Some(e.to_string())
            }
        };
        end_batch(w, failure);
    }
}

/// The checkpointer's side of the writer.
#[derive(Clone)]
struct Checkpointer {
    /// Wakes it after a commit (a wake-up already pending will do).
    wake: tokio::sync::mpsc::Sender<()>,
    /// Set by the checkpointer when the log has grown past [`RESTART_AT`]: the writer is to copy what is left
    /// of it itself, between two batches.
    catch_up: Arc<std::sync::atomic::AtomicBool>,
}

/// Pages of log past which the writer catches up with the checkpointer, so that the log starts over from
/// its beginning (16 MiB at SQLite's page size).
const RESTART_AT: i64 = 4_096;

/// Rest between two checkpoints: under load, fewer and larger checkpoints copy a page written many times once.
const CHECKPOINT_PAUSE: std::time::Duration = std::time::Duration::from_millis(100);

/// The checkpointer: copies the log into the database (SQLite's `PASSIVE` checkpoint, on a connection of its
/// own, beside the writer) after commits, at most one checkpoint per [`CHECKPOINT_PAUSE`].
///
/// The log starts over from its beginning only when a writer finds it all copied, and under steady load the
/// checkpointer never quite catches up with the writer: once the log is past [`RESTART_AT`] pages, the writer
/// is asked to copy the rest itself after its next commit (little, after the checkpointer).
async fn checkpoints(
    pool: AnyPool,
    mut wanted: tokio::sync::mpsc::Receiver<()>,
    catch_up: Arc<std::sync::atomic::AtomicBool>,
) {
    while wanted.recv().await.is_some() {
        if pool.is_closed() {
            break;
        }
        // `busy`, the pages in the log, the pages copied.
        match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(&pool)
            .await
        {
            Ok((_, log, _)) if log >= RESTART_AT => {
                catch_up.store(true, std::sync::atomic::Ordering::Relaxed)
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "a checkpoint failed"),
        }
        tokio::time::sleep(CHECKPOINT_PAUSE).await;
    }
}

/// Makes commits durable off the writer's turn. The writer commits with `synchronous=NORMAL`, which in WAL
/// mode writes the log without waiting for the disk; before a batch is acknowledged, the log file is synced
/// (`fdatasync`) once for every batch committed by then, while the writer goes on with the next. So the disk's
/// wait is shared by every batch committed meanwhile, and no turn holds the writer through it.
///
/// A log that starts over is copied into the database and that synced first (checkpoints sync), so syncing
/// the log file covers every commit still in it. A failed sync ends the process: the kernel may have dropped
/// the pages it could not write, and a later sync would not say so (PostgreSQL does the same).
pub(super) struct Syncer {
    /// The log file (`<database>-wal`).
    wal: std::path::PathBuf,
    /// Batches numbered below this are committed.
    committed: std::sync::atomic::AtomicU64,
    /// Batches numbered below this are on disk.
    synced: std::sync::atomic::AtomicU64,
    /// One sync at a time.
    turn: Mutex<()>,
}

impl Syncer {
    fn new(wal: std::path::PathBuf) -> Self {
        Syncer {
            wal,
            committed: Default::default(),
            synced: Default::default(),
            turn: Mutex::new(()),
        }
    }

    /// Records that batches numbered below `batches` are committed.
    fn committed(&self, batches: u64) {
        self.committed
            .fetch_max(batches, std::sync::atomic::Ordering::SeqCst);
    }

    /// Waits until every batch numbered below `batches` that committed is on disk.
    async fn sync_through(&self, batches: u64) {
        use std::sync::atomic::Ordering::SeqCst;
        if self.synced.load(SeqCst) >= batches {
            return;
        }
        let _turn = self.turn.lock().await;
        if self.synced.load(SeqCst) >= batches {
            return;
        }
        let through = self.committed.load(SeqCst);
        let wal = self.wal.clone();
        let synced = tokio::task::spawn_blocking(move || std::fs::File::open(&wal)?.sync_data())
            .await
            .map_err(std::io::Error::other)
            .and_then(|r| r);
        if let Err(e) = synced {
            tracing::error!(error = %e, wal = %self.wal.display(), "syncing the database's log failed; stopping");
            std::process::abort();
        }
        self.synced.fetch_max(through, SeqCst);
    }
}

impl Writer {
    /// Takes what is owed, for a statement that sends it in front of itself: until the statement's outcome is
    /// seen (`unsure` cleared), which of it ran is not known.
    fn take_owed(&mut self) -> Later {
        let owed = std::mem::take(&mut self.owed);
        if !owed.is_empty() {
            self.unsure = true;
            self.begun = self.open;
        }
        self.savepoint_at = None;
        owed
    }

    /// [`Writer::take_owed`] followed by what a command held back (`later`), and whether anything was owed
    /// before it (others' statements, or the command's own opening).
    fn take_owed_with(&mut self, later: Later) -> (Later, bool) {
        let carried = !self.owed.is_empty();
        let mut owed = self.take_owed();
        owed.append(later);
        (owed, carried)
    }

    /// Opens a batch: its `BEGIN` is owed.
    fn open_batch(&mut self) {
        debug_assert!(self.owed.is_empty(), "nothing is owed between batches");
        self.owed.push("BEGIN IMMEDIATE; ");
        self.open = true;
    }

    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        self.conn.as_deref_mut().expect("the writer connection")
    }
}

/// `sql` (its parameters numbered from `$1`) behind `owed`, in one statement list, `owed`'s parameters bound.
fn query_after<O>(owed: &Later, sql: &str) -> Fetch<'static, O>
where
    O: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    let sql = format!(
        "{}{}",
        owed.sql,
        super::events::renumber(sql, owed.params.len())
    );
    let mut q = sqlx::query_as::<_, O>(sqlx::AssertSqlSafe(sql));
    for p in &owed.params {
        q = super::events::bind_param_as(q, p);
    }
    q
}

/// Runs `sql` as it is, nothing owed in front of it.
async fn exec(w: &mut Writer, sql: &'static str) -> crate::Result<()> {
    sqlx::raw_sql(sql)
        .execute(w.conn())
        .await
        .map(|_| ())
        .map_err(db_error)
}

/// Sends what is owed and then `sql` (statements without parameters, each ended by `; `) in one round trip.
async fn send(w: &mut Writer, sql: &str) -> crate::Result<()> {
    let mut owed = w.take_owed();
    owed.push(sql);
    let sent = if owed.is_empty() {
        Ok(())
    } else {
        super::events::execute(w.conn(), owed.sql, &owed.params)
            .await
            .map(|_| ())
    };
    w.unsure = false;
    sent
}

/// Rolls the open batch back after a round trip whose outcome is not known statement by statement, and tells
/// its members.
async fn abandon_batch(w: &mut Writer, error: &crate::Error) {
    if w.begun || w.unsure {
        let _ = exec(w, "ROLLBACK").await;
    }
    end_batch(w, Some(error.to_string()));
}

/// Closes the batch, remembering its failure for members that read their outcome late.
fn end_batch(w: &mut Writer, failure: Option<String>) {
    if let Some(e) = failure {
        // Ids and positions counted in a batch that failed were never used; they are read again.
        w.next_order_id = None;
        w.next_seq = None;
        if w.failed.len() == FAILED_KEPT {
            w.failed.pop_front();
        }
        w.failed.push_back((w.batch, e));
    }
    w.open = false;
    w.begun = false;
    w.owed = Later::default();
    w.savepoint_at = None;
    w.unsure = false;
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

/// A statement run on the writer by [`Command::carry`].
type Running<'w, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<T>> + Send + 'w>>;

/// What [`Command::carry`] runs: given the writer, the statement's future.
trait Statement<T>: for<'w> FnOnce(&'w mut Writer) -> Running<'w, T> + Send + 'static {}

impl<T, F> Statement<T> for F where
    F: for<'w> FnOnce(&'w mut Writer) -> Running<'w, T> + Send + 'static
{
}

/// Pins down a closure's signature as a [`Statement`].
fn statement<T, F>(f: F) -> F
where
    F: for<'w> FnOnce(&'w mut Writer) -> Running<'w, T> + Send + 'static,
{
    f
}

/// A statement of [`Command::carry`] on its way: its outcome and the writer, once it lands.
type Landing<T> = std::pin::Pin<
    Box<dyn std::future::Future<Output = (crate::Result<T>, OwnedMutexGuard<Writer>)> + Send>,
>;

/// A statement of [`Command::carry`] on its way, with the writer: run to its end, and its command undone, if
/// the request that sent it is cancelled.
struct InFlight<T: Send + 'static> {
    statement: Option<Landing<T>>,
    /// Whether the command runs in a savepoint.
    savepoint: bool,
}

impl<T: Send + 'static> Drop for InFlight<T> {
    fn drop(&mut self) {
        let savepoint = self.savepoint;
        if let Some(statement) = self.statement.take()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                let (_, mut guard) = statement.await;
                if let Err(e) = undo(&mut guard, savepoint).await {
                    tracing::error!(error = %e, "undoing a cancelled command failed");
                }
            });
        }
    }
}

/// A query answering rows of `O`, on the writer.
pub(crate) type Fetch<'q, O> = sqlx::query::QueryAs<'q, Any, O, sqlx::any::AnyArguments>;

impl Command {
    fn writer(&mut self) -> &mut Writer {
        self.guard.as_mut().expect("a command holds the writer")
    }

    /// The connection, for a statement of the command's: what is owed and what the command held back
    /// (`later`) are sent first, in one round trip of their own, so that the statement, should it fail,
    /// fails the command alone.
    pub(super) async fn conn(&mut self, later: Later) -> crate::Result<&mut sqlx::AnyConnection> {
        let (owed, carried) = self.writer().take_owed_with(later);
        if !owed.is_empty() {
            self.carry(
                carried,
                statement(move |w| {
                    Box::pin(async move {
                        super::events::execute(w.conn(), owed.sql, &owed.params)
                            .await
                            .map(|_| ())
                    })
                }),
            )
            .await?;
        }
        Ok(self.writer().conn())
    }

    /// Runs `sql` (its parameters numbered from `$1` and bound by `bind`), answering its rows, behind what is
    /// owed and what the command held back (`later`), all in one round trip. For statements that do not fail
    /// by design: a failure here rolls the whole batch back.
    pub(super) async fn fetch_after<O>(
        &mut self,
        later: Later,
        sql: &str,
        bind: impl FnOnce(Fetch<'static, O>) -> Fetch<'static, O>,
    ) -> crate::Result<Vec<O>>
    where
        O: Send + Unpin + 'static + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
    {
        let (owed, carried) = self.writer().take_owed_with(later);
        let q = bind(query_after(&owed, sql));
        self.carry(
            carried,
            statement(move |w| {
                Box::pin(async move { q.fetch_all(w.conn()).await.map_err(db_error) })
            }),
        )
        .await
    }

    /// Runs `statement` (which carries what was owed when `carried`) on the writer. Should the request be
    /// cancelled meanwhile, the statement is not cut off half-way (which of what it carried ran would not be
    /// known, and the whole batch would go): it is run to its end in a task of its own, and the command undone
    /// there. If it fails carrying what others owed, the batch is rolled back.
    async fn carry<T: Send + 'static>(
        &mut self,
        carried: bool,
        statement: impl Statement<T>,
    ) -> crate::Result<T> {
        let mut guard = self.guard.take().expect("a command holds the writer");
        let mut flight = InFlight {
            statement: Some(Box::pin(async move {
                let out = statement(&mut guard).await;
                guard.unsure = false;
                if let Err(e) = &out
                    && carried
                {
                    abandon_batch(&mut guard, e).await;
                }
                (out, guard)
            })),
            savepoint: self.savepoint,
        };
        let (out, guard) = flight
            .statement
            .as_mut()
            .expect("a statement in flight")
            .await;
        flight.statement = None;
        self.guard = Some(guard);
        out
    }

    /// The id the next order takes when the writer has counted it: one more than the highest, read once
    /// ([`Command::read_next_order_id`]) and then counted here. An id handed to a command that is rolled back
    /// is not handed out again (a gap, as `AUTOINCREMENT` leaves).
    pub(super) fn next_order_id(&mut self) -> Option<i64> {
        let w = self.writer();
        let id = w.next_order_id?;
        w.next_order_id = Some(id + 1);
        Some(id)
    }

    /// Reads the highest order id and counts from there: [`Command::next_order_id`] answers from now on. What
    /// is owed must have been sent.
    pub(super) async fn read_next_order_id(&mut self) -> crate::Result<()> {
        let w = self.writer();
        debug_assert!(
            w.owed.is_empty(),
            "the highest id is read after what is owed"
        );
        let (max,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM orders")
            .fetch_one(w.conn())
            .await
            .map_err(db_error)?;
        w.next_order_id = Some(max + 1);
        Ok(())
    }

    /// Owes what the command held back and its events, and the release of its savepoint, to the batch, and
    /// waits until the batch is durably committed (committing it when this command's turn comes first).
    ///
    /// The events are written at positions the writer counts (one past the highest in the log, read once), so
    /// that writing them answers nothing and can go to the database in front of the next statement.
    pub(super) async fn commit(
        mut self,
        later: super::Later,
        events: Vec<NewEvent>,
    ) -> crate::Result<Vec<StoredEvent>> {
        // From here the command joins the batch, and the batch must be committed whether or not anyone still
        // waits for this command's answer: the rest runs as a task of its own, which a cancelled request cannot
        // stop half-way (a savepoint released but not counted, a batch left open, a COMMIT whose outcome the
        // writer never records).
        let mut guard = self.guard.take().expect("a command holds the writer");
        let savepoint = self.savepoint;
        let group = self.group.clone();
        let outcome = tokio::spawn(async move {
            let seqs = match owe(&mut guard, later, &events, savepoint).await {
                Ok(seqs) => seqs,
                Err(e) => {
                    abandon_batch(&mut guard, &e).await;
                    return Err(e);
                }
            };
            guard.members += 1;
            Ok((
                super::events::stored_as(events, seqs),
                group.committed(guard).await,
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

/// Adds a finished command to what is owed: what it held back, its events at the positions the writer counts
/// (answered), and the release of its savepoint. A command that sent nothing and writes nothing leaves
/// nothing owed.
async fn owe(
    w: &mut Writer,
    later: Later,
    events: &[NewEvent],
    savepoint: bool,
) -> crate::Result<Vec<i64>> {
    if later.is_empty()
        && events.is_empty()
        && let Some(at) = w.savepoint_at.take()
    {
        w.owed.sql.truncate(at);
        return Ok(Vec::new());
    }
    w.owed.append(later);
    if !events.is_empty() && w.next_seq.is_none() {
        // One past the highest position the log has held (a rolled back or deleted event's included).
        let owed = w.take_owed();
        let q = query_after::<(i64,)>(
            &owed,
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0), \
             COALESCE((SELECT MAX(seq) FROM events), 0))",
        );
        // (Every row, not one: a statement list answers only its rows, and asked for one SQLite stops at the
        // first statement.)
        let read = q.fetch_all(w.conn()).await.map_err(db_error);
        w.unsure = false;
        let (highest,) = read?.pop().ok_or_else(|| {
            crate::Error::Internal("the log's highest position was not read".into())
        })?;
        w.next_seq = Some(highest + 1);
    }
    let first = w.next_seq.unwrap_or(1);
    let seqs: Vec<i64> = (first..first + events.len() as i64).collect();
    for (n, chunk) in events.chunks(super::events::OWED_CHUNK).enumerate() {
        super::events::owe_events(
            &mut w.owed,
            first + (n * super::events::OWED_CHUNK) as i64,
            chunk,
        );
        if w.owed.params.len() > OWED_PARAMS {
            send(w, "").await?;
        }
    }
    if !events.is_empty() {
        w.next_seq = Some(first + events.len() as i64);
    }
    if savepoint {
        w.owed.push("RELEASE command; ");
    }
    Ok(seqs)
}

async fn undo(w: &mut Writer, savepoint: bool) -> crate::Result<()> {
    // A command fails when the ids it was handed collide with rows the writer did not count (written by
    // another process, against the rule): they are read again.
    w.next_order_id = None;
    if w.unsure {
        // A statement carrying what was owed was cut off: which of it ran is not known, and the batch goes.
        let e = crate::Error::Unavailable("a write on the writer was interrupted".into());
        abandon_batch(w, &e).await;
        return Ok(());
    }
    if w.members == 0 {
        // Nothing else in the batch: end the transaction so the file's write lock is not held.
        let begun = w.begun;
        w.owed = Later::default();
        w.savepoint_at = None;
        w.open = false;
        w.begun = false;
        if begun {
            exec(w, "ROLLBACK").await?;
        }
        return Ok(());
    }
    if savepoint {
        match w.savepoint_at.take() {
            // Nothing of the command was sent: its savepoint is simply no longer owed.
            Some(at) => w.owed.sql.truncate(at),
            None => {
                if let Err(e) = send(w, "ROLLBACK TO command; RELEASE command; ").await {
                    abandon_batch(w, &e).await;
                    return Err(e);
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::store::{Store, events};

    /// A command whose request is cancelled while its statement carries what the command before it owed (its
    /// events) is undone alone: the command before it commits, and nothing of the cancelled one is kept.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_command_cancelled_while_carrying_what_others_owe_leaves_their_commit_alone() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("group.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();

        let mut a = store.begin().await.unwrap();
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind("a")
            .bind("first")
            .execute(a.conn().await.unwrap())
            .await
            .unwrap();
        events::append(&mut a, 1, None, "group_test", &serde_json::json!({"n": 1}))
            .await
            .unwrap();
        // The second command queues for the writer while the first holds it.
        let b = tokio::spawn({
            let store = store.clone();
            async move { store.begin().await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The first one's events are owed; it waits for the batch's commit behind the second.
        let a_done = tokio::spawn(a.commit());
        let mut b = b.await.unwrap().unwrap();
        // The second one's statement carries the first one's events, and its request is cut off at once.
        let mut cut = Box::pin(b.fetch_after(
            // Slow enough (a count to a million first) to be on its way when the request is cut off.
            "INSERT INTO settings (key, value) SELECT $1, $2 FROM (WITH RECURSIVE c(x) AS (SELECT 1 \
             UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) SELECT MAX(x) FROM c) RETURNING key",
            |q: super::Fetch<'static, (String,)>| {
                q.bind("b".to_string()).bind("second".to_string())
            },
        ));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            cut.as_mut().poll(&mut cx).is_pending(),
            "the statement is on its way when the request is cut off"
        );
        drop(cut);
        drop(b);

        let stored = tokio::time::timeout(Duration::from_secs(10), a_done)
            .await
            .expect("the first command is answered")
            .unwrap()
            .expect("the first command commits");
        assert_eq!(stored.len(), 1);
        let keys: Vec<(String,)> =
            sqlx::query_as("SELECT key FROM settings WHERE key IN ('a', 'b')")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(
            keys,
            vec![("a".to_string(),)],
            "the first kept, the second undone"
        );
        let logged: Vec<(i64,)> =
            sqlx::query_as("SELECT seq FROM events WHERE kind = 'group_test'")
                .fetch_all(store.pool())
                .await
                .unwrap();
        assert_eq!(
            logged,
            vec![(stored[0].seq,)],
            "the first one's event at the position answered"
        );
        // The writer goes on.
        let mut c = store.begin().await.unwrap();
        events::append(&mut c, 2, None, "group_test", &serde_json::json!({"n": 2}))
            .await
            .unwrap();
        let next = c.commit().await.unwrap();
        assert_eq!(next[0].seq, stored[0].seq + 1);
        store.close().await;
    }
}
