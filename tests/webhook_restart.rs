//! A restart during webhook delivery loses nothing. A real `crewcall serve` delivers an agency's events to a
//! slow local receiver (which also fails the first attempt of every order status change, so retries are
//! pending too); it is killed with SIGKILL while a batch of orders is being delivered. Then another process
//! carries on — the same node restarted on SQLite, or the second node already running on the same PostgreSQL
//! database — and the receiver must get every event of the webhook's kinds at least once, in order per order.
//!
//! Runs on SQLite always, and on PostgreSQL with two nodes when `CREWCALL_TEST_POSTGRES` holds a server URL.

mod common;
#[path = "common/receiver.rs"]
mod receiver;

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::nodes::{
    ADMIN_TOKEN, Clock, Node, PgDb, Remote, bounded, near_worker, order_json, postgres_base, s,
};
use receiver::{Got, Receiver, in_order_per_order};
use serde_json::{Value, json};

/// Where the manual clock starts; the orders start days later.
const START: &str = "2026-11-23T08:00:00Z";
/// The kinds the webhook asks for.
const KINDS: [&str; 3] = ["order_posted", "assignment_made", "order_status"];
/// Orders per batch (each makes three events of those kinds: posted, a worker assigned, filled).
const ORDERS: usize = 6;

/// Posts `n` one-worker orders in assign mode; their ids.
async fn post_orders(node: &Remote, key: &str, tag: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let order = order_json(
            &format!("{tag}-{i}"),
            "2026-11-28T09:00:00+08:00",
            "2026-11-28T13:00:00+08:00",
            1,
            "assign",
            1,
            15,
        );
        ids.push(s(&node.post_order(key, &order).await, "id"));
    }
    ids
}

fn seqs(got: &[Got]) -> BTreeSet<i64> {
    got.iter().map(Got::seq).collect()
}

fn taken_count(got: &[Got]) -> usize {
    got.iter()
        .filter(|g| g.answered == 200)
        .map(Got::seq)
        .collect::<BTreeSet<_>>()
        .len()
}

async fn restart_loses_nothing(database_url: &str, two_nodes: bool) {
    let clock = Clock::Manual(START.into());
    let mut a = Node::start("A", database_url, &clock).await;
    let key = a.create_agency().await;
    for i in 0..2 * ORDERS {
        a.post_worker(&key, &near_worker(&format!("P-{i}"), i))
            .await;
    }
    let failed_once = Arc::new(Mutex::new(HashSet::new()));
    let f = failed_once.clone();
    let mut rx = Receiver::slow(Duration::from_millis(250), move |body: &Value| {
        let seq = body["seq"].as_i64().unwrap_or_default();
        if body["kind"] == "order_status" && f.lock().unwrap().insert(seq) {
            500
        } else {
            200
        }
    })
    .await;
    let hook = a
        .post(
            &key,
            "/v1/webhooks",
            &json!({"url": rx.url, "events": KINDS}),
        )
        .await
        .expect(201, "POST /v1/webhooks");
    let hook = s(&hook, "id");

    // A delivers the first batch (it is the only node).
    post_orders(&a, &key, "first", ORDERS).await;
    let mut got = rx.until(Duration::from_secs(30), |g| !g.is_empty()).await;
    let b = if two_nodes {
        Some(Node::start("B", database_url, &clock).await)
    } else {
        None
    };
    let writer = b.as_ref().map_or_else(|| a.remote(), |b| b.remote());
    let second = post_orders(&writer, &key, "second", ORDERS).await;

    // A is killed while it delivers the second batch.
    got.extend(
        rx.until(Duration::from_secs(30), |g| {
            g.iter().any(|g| second.contains(&g.order()))
        })
        .await,
    );
    a.kill();
    let before_kill = taken_count(&got);
    let survivor = match b {
        Some(b) => b,
        None => Node::start("A again", database_url, &clock).await,
    };
    let feed = survivor
        .get(&key, "/v1/events?limit=500")
        .await
        .expect(200, "the agency's feed");
    let expected: BTreeSet<i64> = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|e| KINDS.contains(&e["kind"].as_str().unwrap_or_default()))
        .map(|e| e["seq"].as_i64().expect("a seq"))
        .collect();
    assert!(expected.len() >= 3 * 2 * ORDERS, "{expected:?}");

    // The clock moves a minute at a time, so every retry falls due, until every event was taken (answered
    // 200) at least once.
    let taken = |got: &[Got]| -> BTreeSet<i64> {
        got.iter()
            .filter(|g| g.answered == 200)
            .map(Got::seq)
            .collect()
    };
    let mut minutes = 0;
    while !expected.is_subset(&taken(&got)) {
        minutes += 1;
        assert!(
            minutes <= 60,
            "after an hour by the clock, still not taken: {:?}",
            expected.difference(&taken(&got)).collect::<Vec<_>>()
        );
        let now = chrono::DateTime::parse_from_rfc3339(START).expect("a start")
            + chrono::Duration::minutes(minutes);
        survivor
            .post(
                ADMIN_TOKEN,
                "/v1/admin/clock",
                &json!({"now": now.to_rfc3339()}),
            )
            .await
            .expect(200, "moving the clock");
        got.extend(rx.drain(Duration::from_secs(2)).await);
    }
    in_order_per_order(&got).unwrap();
    let unexpected: Vec<i64> = seqs(&got).difference(&expected).copied().collect();
    assert!(
        unexpected.is_empty(),
        "events not of the webhook's kinds: {unexpected:?}"
    );
    eprintln!(
        "{} events: {before_kill} taken before the kill, {} requests in all",
        expected.len(),
        got.len()
    );

    // The surviving node's records agree: every delivery delivered.
    let mut pending = usize::MAX;
    for _ in 0..100 {
        let page = survivor
            .get(
                &key,
                &format!("/v1/webhooks/{hook}/deliveries?status=pending"),
            )
            .await
            .expect(200, "pending deliveries");
        pending = page["items"].as_array().map_or(0, Vec::len);
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(pending, 0, "deliveries left pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_killed_during_webhook_delivery_and_restarted_loses_no_event_on_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("crewcall.db").display());
    bounded(Duration::from_secs(150), restart_loses_nothing(&url, false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_other_node_delivers_every_event_after_the_delivering_node_is_killed_on_postgres() {
    let Some(base) = postgres_base() else {
        eprintln!("skipped: CREWCALL_TEST_POSTGRES is not set (a PostgreSQL server URL)");
        return;
    };
    let db = PgDb::create(&base, "crewcall_hooks").await;
    bounded(
        Duration::from_secs(150),
        restart_loses_nothing(&db.url, true),
    )
    .await;
}
