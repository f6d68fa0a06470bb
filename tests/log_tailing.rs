//! The event log read as a tail: a reader that repeatedly asks for the events after its cursor and moves the
//! cursor to the last position it was answered never skips an event and never sees one twice, while many
//! writers commit transactions that overlap in different orders and some of them roll back.
//!
//! 16 writers each run about 60 transactions: a real row (`settings`) and 1–3 events appended in the same
//! transaction, then a random pause of 0–5 ms before the commit, so transactions are open side by side and
//! finish in an order unrelated to the one they started in; about 1 in 10 is rolled back (explicitly, or
//! dropped) instead; about 1 commit in 4 is followed by a guarded write (a conditional update with two events,
//! written only if it changed its row; half of them miss). Meanwhile 2 tailers read `events after my cursor` 100 at a time. Each tailer must have
//! seen every event of every committed transaction exactly once, none of a rolled-back one (or of a guarded
//! write that missed), in strictly
//! increasing positions, and exactly the positions the table holds at the end.
//!
//! On PostgreSQL the test database also gets a statement trigger on `events` that sleeps 0–3 ms, so each
//! transaction spends a random time between taking its positions in the log (the sequence) and its `COMMIT`.
//! That is the window the log's ordering has to cover: without it, a later position could commit first and a
//! tailer reading in between would move past an earlier one still in flight, and skip it for ever.
//!
//! Runs on SQLite always, and on PostgreSQL when `CREWCALL_TEST_POSTGRES` holds a server URL (for example
//! `postgres://postgres@127.0.0.1:5432/test`; a fresh database per run, dropped at the end).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crewcall::store::{Backend, Store, events};

mod common;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::{AnyPool, Connection};

/// Concurrent writers.
const WRITERS: u32 = 16;
/// Transactions per writer.
const TRANSACTIONS: u32 = 60;
/// Concurrent tailers.
const TAILERS: u32 = 2;
/// Events a tailer asks for at a time.
const PAGE: i64 = 100;
/// The hard limit of each test.
const LIMIT: Duration = Duration::from_secs(60);
/// The kind of the events this test writes.
const KIND: &str = "tail_test";

/// One event of the test: which writer, which of its transactions, which event of the transaction.
type Key = (u32, u32, u32);

/// What a writer did.
#[derive(Debug, Default)]
struct Written {
    /// Events of committed transactions (commit answered `Ok`), with the positions the commit answered.
    committed: BTreeMap<Key, i64>,
    /// Events of transactions that were rolled back or dropped.
    rolled_back: BTreeSet<Key>,
    /// Settings keys of committed transactions.
    committed_rows: BTreeSet<String>,
    /// Events of guarded writes whose guard changed no row.
    unwritten: BTreeSet<Key>,
}

/// What a tailer saw: each event's position and, for this test's events, its key (in the order read).
#[derive(Debug, Default)]
struct Seen {
    events: Vec<(i64, Option<Key>)>,
    reads: usize,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

/// The key named by a payload of this test.
fn key_of(kind: &str, payload: &serde_json::Value) -> Option<Key> {
    if kind != KIND {
        return None;
    }
    let field = |name: &str| payload.get(name)?.as_u64().map(|v| v as u32);
    Some((field("writer")?, field("n")?, field("i")?))
}

/// Writer `w`: [`TRANSACTIONS`] transactions, each a settings row and 1–3 events, a random pause, then a
/// commit (or, about 1 in 10, a rollback or a drop); about one commit in four is followed by a guarded write.
async fn writer(store: Store, w: u32, seed: u64) -> Result<Written, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Written::default();
    for n in 0..TRANSACTIONS {
        let events_in_tx = rng.random_range(1..=3u32);
        let pause = Duration::from_micros(rng.random_range(0..=5_000));
        let fate = rng.random_range(0..20u32); // 0: rollback, 1: drop, otherwise commit
        let row = format!("tail-{w}-{n}");

        let mut tx = store
            .begin()
            .await
            .map_err(|e| format!("writer {w} tx {n}: begin: {e}"))?;
        sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2)")
            .bind(&row)
            .bind(format!("writer {w} transaction {n}"))
            .execute(
                tx.conn()
                    .await
                    .map_err(|e| format!("writer {w} tx {n}: the connection: {e}"))?,
            )
            .await
            .map_err(|e| format!("writer {w} tx {n}: insert the settings row: {e}"))?;
        for i in 0..events_in_tx {
            events::append(
                &mut tx,
                now_ms(),
                None,
                KIND,
                &json!({"writer": w, "n": n, "i": i}),
            )
            .await
            .map_err(|e| format!("writer {w} tx {n}: append: {e}"))?;
        }
        // Hold the transaction open for a while, so transactions overlap and finish out of order.
        tokio::time::sleep(pause).await;

        let keys = (0..events_in_tx).map(|i| (w, n, i));
        match fate {
            0 => {
                tx.rollback()
                    .await
                    .map_err(|e| format!("writer {w} tx {n}: rollback: {e}"))?;
                out.rolled_back.extend(keys);
            }
            1 => {
                drop(tx);
                out.rolled_back.extend(keys);
            }
            _ => {
                let stored = tx
                    .commit()
                    .await
                    .map_err(|e| format!("writer {w} tx {n}: commit: {e}"))?;
                if stored.len() != events_in_tx as usize {
                    return Err(format!(
                        "writer {w} tx {n}: commit answered {} events, {events_in_tx} were appended",
                        stored.len()
                    ));
                }
                let mut previous = 0;
                for (stored, key) in stored.iter().zip(keys) {
                    if key_of(&stored.kind, &stored.payload) != Some(key) {
                        return Err(format!(
                            "writer {w} tx {n}: commit answered {:?} at seq {} where {key:?} was appended",
                            stored.payload, stored.seq
                        ));
                    }
                    if stored.seq <= previous {
                        return Err(format!(
                            "writer {w} tx {n}: the transaction's events were not written in the order \
                             appended (seq {} after {previous})",
                            stored.seq
                        ));
                    }
                    previous = stored.seq;
                    out.committed.insert(key, stored.seq);
                }
                out.committed_rows.insert(row.clone());
                // About one committed transaction in four is followed by a guarded write (a command whose one
                // write is a conditional update, whose events are written only if it changed its row): on
                // the row just written, which it changes, or on one that does not exist, which it does not.
                if rng.random_range(0..4u32) == 0 {
                    let hits = rng.random_bool(0.5);
                    let target = if hits { row } else { format!("{row}-missing") };
                    let guard = events::Guard::new(
                        "UPDATE settings SET value = $1 WHERE key = $2",
                        vec![
                            events::Param::Text(format!("guarded by writer {w}")),
                            events::Param::Text(target),
                        ],
                    );
                    let guarded: Vec<events::NewEvent> = (0..2u32)
                        .map(|i| events::NewEvent {
                            at_ms: now_ms(),
                            agency: None,
                            kind: KIND.to_string(),
                            payload: json!({"writer": w, "n": n, "i": 10 + i}),
                        })
                        .collect();
                    let stored = store
                        .write_if(guard, guarded)
                        .await
                        .map_err(|e| format!("writer {w} tx {n}: guarded write: {e}"))?;
                    let keys = (0..2u32).map(|i| (w, n, 10 + i));
                    match (hits, stored) {
                        (true, Some(stored)) if stored.len() == 2 => {
                            for (stored, key) in stored.iter().zip(keys) {
                                out.committed.insert(key, stored.seq);
                            }
                        }
                        (false, None) => out.unwritten.extend(keys),
                        (hits, stored) => {
                            return Err(format!(
                                "writer {w} tx {n}: a guarded write that {} its row answered {stored:?}",
                                if hits { "changes" } else { "misses" }
                            ));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A tailer: reads the events after its cursor, checks each position is past the cursor and increasing,
/// records them and moves the cursor to the last; stops once the writers are done and a read that started
/// after that answers nothing.
async fn tailer(pool: AnyPool, t: u32, done: Arc<AtomicBool>, seed: u64) -> Result<Seen, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seen = Seen::default();
    let mut cursor = 0i64;
    loop {
        // Read the flag before the page: an empty page read after every writer finished means the end.
        let writers_done = done.load(Ordering::SeqCst);
        let page = events::read(&pool, cursor, PAGE)
            .await
            .map_err(|e| format!("tailer {t}: read after {cursor}: {e}"))?;
        seen.reads += 1;
        if page.is_empty() && writers_done {
            return Ok(seen);
        }
        if page.len() as i64 > PAGE {
            return Err(format!(
                "tailer {t}: asked for {PAGE} events, answered {}",
                page.len()
            ));
        }
        let mut last = cursor;
        for e in &page {
            if e.seq <= last {
                return Err(format!(
                    "tailer {t}: read after {cursor} answered seq {} after {last} (not past the cursor, or \
                     not increasing)",
                    e.seq
                ));
            }
            last = e.seq;
            seen.events.push((e.seq, key_of(&e.kind, &e.payload)));
        }
        cursor = last;
        tokio::time::sleep(Duration::from_micros(rng.random_range(0..=2_000))).await;
    }
}

/// Runs the writers and tailers on `store` and checks what each tailer saw.
async fn exercise(store: &Store, label: &str) {
    let base_seed: u64 = rand::rngs::StdRng::from_os_rng().random();
    eprintln!("{label}: seed {base_seed}");

    let done = Arc::new(AtomicBool::new(false));
    let tailers: Vec<_> = (0..TAILERS)
        .map(|t| {
            let (pool, done) = (store.pool().clone(), done.clone());
            tokio::spawn(tailer(pool, t, done, base_seed ^ (0xA000 + t as u64)))
        })
        .collect();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(store.clone(), w, base_seed ^ w as u64)))
        .collect();

    let mut written = Written::default();
    let mut errors = Vec::new();
    for (w, handle) in writers.into_iter().enumerate() {
        match handle.await {
            Ok(Ok(part)) => {
                written.committed.extend(part.committed);
                written.rolled_back.extend(part.rolled_back);
                written.committed_rows.extend(part.committed_rows);
                written.unwritten.extend(part.unwritten);
            }
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("writer {w} panicked: {e}")),
        }
    }
    done.store(true, Ordering::SeqCst);
    let mut seens = Vec::new();
    for (t, handle) in tailers.into_iter().enumerate() {
        match handle.await {
            Ok(Ok(seen)) => seens.push(seen),
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("tailer {t} panicked: {e}")),
        }
    }
    assert!(errors.is_empty(), "{label}: {}", errors.join("\n"));

    // The transactions were meant to be a mix; make sure they were.
    let committed_tx: BTreeSet<(u32, u32)> =
        written.committed.keys().map(|&(w, n, _)| (w, n)).collect();
    let rolled_back_tx: BTreeSet<(u32, u32)> = written
        .rolled_back
        .iter()
        .map(|&(w, n, _)| (w, n))
        .collect();
    assert_eq!(
        committed_tx.len() + rolled_back_tx.len(),
        (WRITERS * TRANSACTIONS) as usize,
        "{label}: every transaction was committed or rolled back"
    );
    assert!(
        !rolled_back_tx.is_empty(),
        "{label}: some transactions roll back"
    );

    // What the table holds at the end.
    let table: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT seq, kind, payload FROM events ORDER BY seq")
            .fetch_all(store.pool())
            .await
            .expect("read the whole log");
    let table_seqs: Vec<i64> = table.iter().map(|r| r.0).collect();
    let table_keys: BTreeMap<Key, i64> = table
        .iter()
        .filter_map(|(seq, kind, payload)| {
            let payload: serde_json::Value = serde_json::from_str(payload).ok()?;
            Some((key_of(kind, &payload)?, *seq))
        })
        .collect();
    assert_eq!(
        table_keys, written.committed,
        "{label}: the log holds exactly the events of the committed transactions, at the positions their \
         commits answered"
    );
    let rows: BTreeSet<String> =
        sqlx::query_as::<_, (String,)>("SELECT key FROM settings WHERE key LIKE 'tail-%'")
            .fetch_all(store.pool())
            .await
            .expect("read the settings rows")
            .into_iter()
            .map(|(k,)| k)
            .collect();
    assert_eq!(
        rows, written.committed_rows,
        "{label}: the rows of exactly the committed transactions exist"
    );

    for (t, seen) in seens.iter().enumerate() {
        let seqs: Vec<i64> = seen.events.iter().map(|e| e.0).collect();
        let mut counts: BTreeMap<Key, usize> = BTreeMap::new();
        for key in seen.events.iter().filter_map(|e| e.1) {
            *counts.entry(key).or_default() += 1;
        }
        let twice: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
        assert!(
            twice.is_empty(),
            "{label}: tailer {t} saw events more than once: {twice:?}"
        );
        let ghosts: Vec<_> = counts
            .keys()
            .filter(|k| written.rolled_back.contains(k) || written.unwritten.contains(k))
            .collect();
        assert!(
            ghosts.is_empty(),
            "{label}: tailer {t} saw events of rolled-back transactions: {ghosts:?}"
        );
        let missed: Vec<_> = written
            .committed
            .iter()
            .filter(|(k, _)| !counts.contains_key(k))
            .collect();
        assert!(
            missed.is_empty(),
            "{label}: tailer {t} skipped {} committed events (key, seq): {:?}",
            missed.len(),
            &missed[..missed.len().min(20)]
        );
        let extra: Vec<_> = counts
            .keys()
            .filter(|k| !written.committed.contains_key(k))
            .collect();
        assert!(
            extra.is_empty(),
            "{label}: tailer {t} saw events no committed transaction wrote: {extra:?}"
        );
        assert_eq!(
            seqs, table_seqs,
            "{label}: tailer {t} saw exactly the positions the log holds, in order"
        );
        let at: BTreeMap<Key, i64> = seen
            .events
            .iter()
            .filter_map(|&(seq, key)| Some((key?, seq)))
            .collect();
        assert_eq!(
            at, written.committed,
            "{label}: tailer {t} saw each event at the position its commit answered"
        );
        eprintln!(
            "{label}: tailer {t}: {} events in {} reads",
            seen.events.len(),
            seen.reads
        );
    }
    eprintln!(
        "{label}: {} transactions committed ({} events), {} rolled back ({} events)",
        committed_tx.len(),
        written.committed.len(),
        rolled_back_tx.len(),
        written.rolled_back.len()
    );
}

/// Runs a test body under [`LIMIT`].
async fn bounded(body: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(LIMIT, body).await.is_err() {
        panic!("the test did not finish within {LIMIT:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailer_never_skips_or_repeats_an_event_under_concurrent_writers_on_sqlite() {
    bounded(async {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("log.db").display());
        let store = Store::connect(&url).await.expect("connect to SQLite");
        assert_eq!(store.backend(), Backend::Sqlite);
        store.migrate().await.expect("migrate");
        exercise(&store, "sqlite").await;
        // Closing gives the group commit's writer connection back first (a regression: it once waited forever).
        store.close().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailer_never_skips_or_repeats_an_event_under_concurrent_writers_on_postgres() {
    let Some(base) = std::env::var("CREWCALL_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty())
    else {
        eprintln!(
            "a_tailer_never_skips_or_repeats_an_event_under_concurrent_writers_on_postgres: skipped: \
             CREWCALL_TEST_POSTGRES is not set (a PostgreSQL server URL, e.g. \
             postgres://postgres@127.0.0.1:5432/test)"
        );
        return;
    };
    let db = common::nodes::PgDb::create(&base, "crewcall_tail").await;
    bounded(async {
        let store = Store::connect(&db.url)
            .await
            .expect("connect to PostgreSQL");
        assert_eq!(store.backend(), Backend::Postgres);
        store.migrate().await.expect("migrate");
        // A random 0–3 ms between a transaction taking its positions in the log and its COMMIT.
        let mut conn = sqlx::postgres::PgConnection::connect(&db.url)
            .await
            .expect("connect to the test database");
        sqlx::raw_sql(
            "CREATE FUNCTION tail_test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$ \
               BEGIN PERFORM pg_sleep(random() * 0.003); RETURN NULL; END $$; \
             CREATE TRIGGER tail_test_slow_commit AFTER INSERT ON events \
               FOR EACH STATEMENT EXECUTE FUNCTION tail_test_slow_commit();",
        )
        .execute(&mut conn)
        .await
        .expect("install the slow-commit trigger");
        let _ = conn.close().await;
        exercise(&store, "postgres").await;
        store.close().await;
    })
    .await;
    drop(db);
}
