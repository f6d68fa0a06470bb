//! Crash safety of keyed writes: 1,000 `POST`s with an `Idempotency-Key` from 16 concurrent clients, the
//! server killed with SIGKILL after about 40% of them were answered, restarted on the same database, and every
//! key retried with the same body. An acknowledged key must answer its saved response again, byte for byte;
//! every key must then succeed; no effect may exist twice.
//!
//! Runs on SQLite always, and on PostgreSQL when `CREWCALL_TEST_POSTGRES` holds a server URL (a fresh
//! database per run). The server is the real binary, `crewcall serve`, with the manual clock.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::nodes::{Clock, Node, PgDb, bounded, client, near_worker, postgres_base, send};
use serde_json::json;
use sqlx::Connection;

/// Keyed writes fired before the crash.
const KEYS: usize = 1_000;
/// Concurrent clients.
const CLIENTS: usize = 16;
/// Answers after which the server is killed (40%).
const KILL_AFTER: usize = 400;
/// Where the manual clock starts; every order starts after it.
const START: &str = "2026-11-23T08:00:00Z";

/// What became of one keyed request.
#[derive(Debug, Clone)]
enum Outcome {
    /// Never sent: the server was already dead.
    NotSent,
    /// The connection failed: cut by the kill while in flight.
    Failed(String),
    /// An answer came back.
    Answered {
        status: u16,
        bytes: Vec<u8>,
        replayed: Option<String>,
    },
}

/// Key `k-<i>`: even keys create a worker (`external_ref` `X-<i>`), odd keys post a small assign-mode order
/// (`client_ref` `c-<i>`) on a day after the clock's start.
fn request(i: usize) -> (&'static str, Vec<u8>) {
    if i.is_multiple_of(2) {
        let body = near_worker(&format!("X-{i}"), i % 40);
        ("/v1/workers", serde_json::to_vec(&body).expect("json"))
    } else {
        let day = 24 + (i / 2) % 6;
        let body = json!({
            "client_ref": format!("c-{i}"),
            "title": "Expo crew",
            "venue": {"name": "Hall 3", "lat": 31.1912, "lon": 121.5804, "geofence_m": 300},
            "start": format!("2026-11-{day}T09:00:00+08:00"),
            "end": format!("2026-11-{day}T13:00:00+08:00"),
            "roles": [{"name": "promoter", "headcount": 1 + (i % 2) as u32, "skills": ["promoter"],
                       "pay_per_hour": 30}],
            "dispatch": {"mode": "assign"},
            "no_show_grace_min": 15
        });
        ("/v1/orders", serde_json::to_vec(&body).expect("json"))
    }
}

/// Sends key `i` with its body to `base`.
async fn keyed(http: &reqwest::Client, base: &str, key: &str, i: usize) -> Outcome {
    let (path, body) = request(i);
    let rb = http
        .post(format!("{base}{path}"))
        .bearer_auth(key)
        .header("Idempotency-Key", format!("k-{i}"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    match send(rb).await {
        Ok(a) => Outcome::Answered {
            status: a.status,
            bytes: a.bytes,
            replayed: a.replayed,
        },
        Err(e) => Outcome::Failed(e),
    }
}

/// Every `external_ref` of a worker and every `client_ref` of an order, read from the database.
async fn stored_refs(database_url: &str) -> (Vec<String>, Vec<String>) {
    const WORKERS: &str = "SELECT external_ref FROM workers";
    const ORDERS: &str = "SELECT client_ref FROM orders";
    if database_url.starts_with("postgres") {
        let mut c = sqlx::postgres::PgConnection::connect(database_url)
            .await
            .expect("connect to the database");
        let w: Vec<(String,)> = sqlx::query_as(WORKERS)
            .fetch_all(&mut c)
            .await
            .expect("workers");
        let o: Vec<(String,)> = sqlx::query_as(ORDERS)
            .fetch_all(&mut c)
            .await
            .expect("orders");
        (
            w.into_iter().map(|r| r.0).collect(),
            o.into_iter().map(|r| r.0).collect(),
        )
    } else {
        let mut c = sqlx::sqlite::SqliteConnection::connect(database_url)
            .await
            .expect("open the database");
        let w: Vec<(String,)> = sqlx::query_as(WORKERS)
            .fetch_all(&mut c)
            .await
            .expect("workers");
        let o: Vec<(String,)> = sqlx::query_as(ORDERS)
            .fetch_all(&mut c)
            .await
            .expect("orders");
        (
            w.into_iter().map(|r| r.0).collect(),
            o.into_iter().map(|r| r.0).collect(),
        )
    }
}

fn text(bytes: &[u8]) -> String {
    let t = String::from_utf8_lossy(bytes);
    if t.len() > 300 {
        format!("{}…", &t[..t.floor_char_boundary(300)])
    } else {
        t.into_owned()
    }
}

async fn crash_and_retry(database_url: &str) {
    let clock = Clock::Manual(START.into());
    let mut node = Node::start("first", database_url, &clock).await;
    let key = node.create_agency().await;

    // 1,000 keyed writes from 16 clients; the server dies once 400 have been answered.
    let next = Arc::new(AtomicUsize::new(0));
    let answered = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(vec![Outcome::NotSent; KEYS]));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (next, answered, stop, outcomes) = (
            next.clone(),
            answered.clone(),
            stop.clone(),
            outcomes.clone(),
        );
        let (http, base, key) = (node.client.clone(), node.base.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= KEYS {
                    return;
                }
                let o = keyed(&http, &base, &key, i).await;
                if matches!(o, Outcome::Answered { .. }) {
                    answered.fetch_add(1, Ordering::SeqCst);
                }
                outcomes.lock().expect("outcomes")[i] = o;
            }
        }));
    }
    let began = Instant::now();
    while answered.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            tasks.iter().any(|t| !t.is_finished()),
            "every client stopped before {KILL_AFTER} answers"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stop.store(true, Ordering::SeqCst);
    node.kill();
    let at_kill = answered.load(Ordering::SeqCst);
    let took = began.elapsed();
    for t in tasks {
        t.await.expect("a client ends");
    }
    let before = outcomes.lock().expect("outcomes").clone();
    let n_answered = before
        .iter()
        .filter(|o| matches!(o, Outcome::Answered { .. }))
        .count();
    let n_failed = before
        .iter()
        .filter(|o| matches!(o, Outcome::Failed(_)))
        .count();
    let n_unsent = before
        .iter()
        .filter(|o| matches!(o, Outcome::NotSent))
        .count();
    eprintln!(
        "killed after {at_kill} answers ({took:?}); before the crash: {n_answered} answered, \
         {n_failed} cut by the kill, {n_unsent} never sent"
    );
    if let Some(Outcome::Failed(e)) = before.iter().find(|o| matches!(o, Outcome::Failed(_))) {
        eprintln!("a request cut by the kill failed with: {e}");
    }
    assert!(
        n_answered < KEYS * 7 / 10,
        "the kill came too late to cut anything: {n_answered} of {KEYS} answered"
    );
    drop(node);

    // The same database, a new process; every key again, with the same body.
    let node = Node::start("restarted", database_url, &clock).await;
    let next = Arc::new(AtomicUsize::new(0));
    let retries = Arc::new(Mutex::new(vec![Outcome::NotSent; KEYS]));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (next, retries) = (next.clone(), retries.clone());
        let (http, base, key) = (client(), node.base.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= KEYS {
                    return;
                }
                let o = keyed(&http, &base, &key, i).await;
                retries.lock().expect("retries")[i] = o;
            }
        }));
    }
    for t in tasks {
        t.await.expect("a client ends");
    }
    let after = retries.lock().expect("retries").clone();

    let mut failures: Vec<String> = Vec::new();
    let mut note = |what: &str, list: Vec<String>| {
        if !list.is_empty() {
            let shown: Vec<&String> = list.iter().take(8).collect();
            failures.push(format!("{what}: {} keys, e.g. {shown:#?}", list.len()));
        }
    };

    // Every answer before the crash was a success (anything else means the requests are wrong).
    note(
        "answered before the crash with a non-2xx status",
        (0..KEYS)
            .filter_map(|i| match &before[i] {
                Outcome::Answered { status, bytes, .. } if !(200..300).contains(status) => {
                    Some(format!("k-{i}: {status} {}", text(bytes)))
                }
                _ => None,
            })
            .collect(),
    );

    // (a) an acknowledged key answers the same status and the same bytes; (d) marked as replayed.
    let mut differ = Vec::new();
    let mut unmarked = Vec::new();
    for i in 0..KEYS {
        let Outcome::Answered {
            status: s0,
            bytes: b0,
            ..
        } = &before[i]
        else {
            continue;
        };
        if !(200..300).contains(s0) {
            continue;
        }
        match &after[i] {
            Outcome::Answered {
                status,
                bytes,
                replayed,
            } => {
                if status != s0 || bytes != b0 {
                    differ.push(format!(
                        "k-{i}: first {s0} {}\n      retry {status} {}",
                        text(b0),
                        text(bytes)
                    ));
                }
                if replayed.as_deref() != Some("true") {
                    unmarked.push(format!("k-{i}: idempotent-replayed = {replayed:?}"));
                }
            }
            other => differ.push(format!("k-{i}: first {s0}, retry {other:?}")),
        }
    }
    note(
        "(a) acknowledged keys whose retry answered another status or body",
        differ,
    );
    note(
        "(d) acknowledged keys whose retry lacks `idempotent-replayed: true`",
        unmarked,
    );

    // What the database holds: each key's worker (`X-<i>`) or order (`c-<i>`), counted.
    let (workers, orders) = stored_refs(database_url).await;
    let mut count: HashMap<String, usize> = HashMap::new();
    for r in workers.iter().chain(orders.iter()) {
        *count.entry(r.clone()).or_default() += 1;
    }
    let stored = |i: usize| {
        let r = if i.is_multiple_of(2) {
            format!("X-{i}")
        } else {
            format!("c-{i}")
        };
        count.get(&r).copied().unwrap_or(0)
    };

    // (b) every key succeeds on retry: nothing was left half-done.
    let mut by_status: HashMap<String, usize> = HashMap::new();
    let mut refused = Vec::new();
    for (i, o) in after.iter().enumerate() {
        match o {
            Outcome::Answered { status, bytes, .. } if !(200..300).contains(status) => {
                *by_status.entry(status.to_string()).or_default() += 1;
                let cut = matches!(before[i], Outcome::Failed(_));
                let when = if cut {
                    "cut by the kill"
                } else {
                    "answered or unsent"
                };
                refused.push(format!(
                    "k-{i} ({when}; its effect is stored {} times): {status} {}",
                    stored(i),
                    text(bytes)
                ));
            }
            Outcome::Answered { .. } => {}
            other => {
                *by_status.entry("transport".into()).or_default() += 1;
                refused.push(format!("k-{i}: {other:?}"));
            }
        }
    }
    if !refused.is_empty() {
        eprintln!("non-2xx retries by status: {by_status:?}");
    }
    note("(b) keys whose retry did not succeed", refused);

    // (c) no effect exists twice, and every key's effect exists.
    let mut twice = Vec::new();
    let mut missing = Vec::new();
    for i in 0..KEYS {
        let r = if i.is_multiple_of(2) {
            format!("X-{i}")
        } else {
            format!("c-{i}")
        };
        match stored(i) {
            1 => {}
            0 => {
                if matches!(&after[i], Outcome::Answered { status, .. } if (200..300).contains(status))
                {
                    missing.push(format!("k-{i} ({r}) answered 2xx but is not stored"));
                }
            }
            n => twice.push(format!(
                "k-{i}: {r} stored {n} times (before the crash: {})",
                match &before[i] {
                    Outcome::Answered { status, .. } => format!("answered {status}"),
                    Outcome::Failed(_) => "cut by the kill".into(),
                    Outcome::NotSent => "not sent".into(),
                }
            )),
        }
    }
    note("(c) keys whose effect is stored more than once", twice);
    note("(c) keys answered 2xx whose effect is not stored", missing);

    assert!(
        failures.is_empty(),
        "keyed writes across a kill -9 ({n_answered} answered, {n_failed} cut, {n_unsent} unsent \
         before the crash):\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyed_writes_survive_kill_9_and_retries_answer_the_saved_response_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("crewcall.db").display());
    bounded(Duration::from_secs(60), crash_and_retry(&url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keyed_writes_survive_kill_9_and_retries_answer_the_saved_response_on_postgres() {
    let Some(base) = postgres_base() else {
        eprintln!("skipped: CREWCALL_TEST_POSTGRES is not set (a PostgreSQL server URL)");
        return;
    };
    let db = PgDb::create(&base, "crewcall_crash").await;
    bounded(Duration::from_secs(60), crash_and_retry(&db.url)).await;
}
