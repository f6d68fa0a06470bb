//! Two `crewcall serve` nodes on one PostgreSQL database, driven over HTTP as black boxes: what one node
//! writes, the other sees within a second (matching, tokens); invariants hold across nodes (one slot, one
//! accept); timers fire once while any node is up; every in-memory view equals a rebuild from the database.
//!
//! Runs only when `CREWCALL_TEST_POSTGRES` holds a PostgreSQL server URL (for example
//! `postgres://postgres@127.0.0.1:5432/test`); each test makes a database of its own, starts node A and node B
//! on it with the system clock, and drops the database at the end. The timing bounds assume one test at a
//! time: `cargo test --test multinode -- --test-threads=1`.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use common::nodes::{
    ADMIN_TOKEN, Clock, Node, PgDb, Remote, Rng, VENUE, bounded, near_worker, next_saturday_midday,
    order_json, postgres_base, rfc3339, s, send, shift_in_days, worker_json,
};
use reqwest::Method;
use serde_json::{Value, json};

/// The hard limit of each test.
const LIMIT: Duration = Duration::from_secs(60);
/// What the product promises: a change on one node is visible on every node within this.
const WITHIN: Duration = Duration::from_secs(1);
/// How long a probe keeps looking after [`WITHIN`], to tell "late" from "never".
const LOOK: Duration = Duration::from_secs(3);

/// Two nodes on one fresh database. Fields drop in order: the nodes are killed before the database goes.
struct Cluster {
    a: Node,
    b: Node,
    db: PgDb,
}

/// Node A and node B on a fresh database, or `None` (with the reason printed) without PostgreSQL.
async fn cluster(test: &str) -> Option<Cluster> {
    let Some(base) = postgres_base() else {
        eprintln!("{test}: skipped: CREWCALL_TEST_POSTGRES is not set (a PostgreSQL server URL)");
        return None;
    };
    let db = PgDb::create(&base, "crewcall_mn").await;
    // One after the other: the first start migrates the fresh database.
    let a = Node::start("A", &db.url, &Clock::System).await;
    let b = Node::start("B", &db.url, &Clock::System).await;
    Some(Cluster { a, b, db })
}

/// Asks `probe` every `every` until it answers true or `look` has passed since `since`; how long after
/// `since` it first answered true.
async fn wait_for(
    since: Instant,
    look: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> bool,
) -> Option<Duration> {
    loop {
        if probe().await {
            return Some(since.elapsed());
        }
        if since.elapsed() > look {
            return None;
        }
        tokio::time::sleep(every).await;
    }
}

/// How often a cheap probe asks.
const EVERY: Duration = Duration::from_millis(20);

/// Records a failure unless `took` is within [`WITHIN`].
fn within(
    failures: &mut Vec<String>,
    what: &str,
    took: Option<Duration>,
    otherwise: impl FnOnce() -> String,
) {
    match took {
        Some(t) if t <= WITHIN => eprintln!("{what}: after {t:?}"),
        Some(t) => failures.push(format!(
            "{what}: only after {t:?} (the bound is {WITHIN:?})"
        )),
        None => failures.push(format!("{what}: not within {LOOK:?}; {}", otherwise())),
    }
}

#[track_caller]
fn no_failures(failures: &[String]) {
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Pending offers over every role of an order view.
fn pending_offers(order: &Value) -> u64 {
    order["roles"]
        .as_array()
        .map(|rs| rs.iter().filter_map(|r| r["pending_offers"].as_u64()).sum())
        .unwrap_or(0)
}

/// An order at the bundled sample's venue for four skills the sample has near it; no worker made by
/// [`near_worker`] fits it.
fn sample_order(client_ref: &str) -> Value {
    let (start, end) = next_saturday_midday();
    let role =
        |name: &str| json!({"name": name, "headcount": 2, "skills": [name], "pay_per_hour": 40});
    json!({
        "client_ref": client_ref,
        "title": "Trade fair crew",
        "venue": {"name": "Pudong Expo Hall 2", "lat": 31.275013, "lon": 121.520315, "geofence_m": 200},
        "start": start,
        "end": end,
        "roles": [role("hostess"), role("usher"), role("sales"), role("waiter")],
        "max_travel_km": 15,
        "dispatch": {"mode": "offer", "offer_ttl_s": 1800, "fanout": 3},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_created_on_node_a_is_a_candidate_on_node_b_within_a_second() {
    bounded(LIMIT, async {
        let Some(c) = cluster("a_worker_created_on_node_a_is_a_candidate_on_node_b").await else {
            return;
        };
        let mut failures = Vec::new();
        let key = c.a.create_agency().await;

        // An order on B (posted first, so its dispatch cannot offer the worker and take it out of the
        // candidates); one worker on A; the worker among B's candidates.
        let (start, end) = shift_in_days(3, 9, 8);
        let o = c
            .b
            .post_order(&key, &order_json("mn-one", &start, &end, 1, "offer", 1, 15))
            .await;
        let oid = s(&o, "id");
        let w = c.a.post_worker(&key, &near_worker("N-1", 0)).await;
        let created = Instant::now();
        let wid = s(&w, "id");
        let took = wait_for(created, LOOK, EVERY, async || {
            c.b.candidate_ids(&key, &oid, "promoter").await.contains(&wid)
        })
        .await;
        let on_a = c.a.candidate_ids(&key, &oid, "promoter").await;
        within(
            &mut failures,
            "the worker created on A is a candidate on B",
            took,
            || format!("the same order's candidates on A: {on_a:?}"),
        );

        // 200 workers imported on A; an order posted on B dispatches offers to them.
        let sample = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/data/workers-sample.ndjson"
        ))
        .expect("the bundled sample");
        let ndjson: String = sample.lines().take(200).map(|l| format!("{l}\n")).collect();
        let rb = c
            .a
            .client
            .post(format!("{}/v1/workers/import", c.a.base))
            .bearer_auth(&key)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(ndjson);
        let report = send(rb)
            .await
            .expect("the import is answered")
            .expect(200, "POST /v1/workers/import on A");
        assert_eq!(report["created"], 200, "{report}");
        assert_eq!(report["errors"], json!([]), "{report}");
        let imported = Instant::now();
        let mut attempt = 0;
        let mut last = Value::Null;
        let took = wait_for(imported, LOOK, Duration::from_millis(100), async || {
            attempt += 1;
            last = c
                .b
                .post_order(&key, &sample_order(&format!("mn-import-{attempt}")))
                .await;
            pending_offers(&last) > 0
        })
        .await;
        let took_attempts = attempt;
        // When B fails, the same order on A (where the import ran) tells a product failure from an order
        // that does not fit the sample.
        let control = if took.is_some_and(|t| t <= WITHIN) {
            Value::Null
        } else {
            let control = c.a.post_order(&key, &sample_order("mn-import-on-a")).await;
            assert!(
                pending_offers(&control) > 0,
                "the order posted on A, where the import ran, dispatched no offer either: the test's \
                 order does not fit the sample: {control}"
            );
            control
        };
        within(
            &mut failures,
            &format!(
                "an order posted on B dispatches offers to workers imported on A \
                 ({took_attempts} orders posted)"
            ),
            took,
            || {
                format!(
                    "the last order on B: roles {}; the same order posted on A: roles {}",
                    last["roles"], control["roles"]
                )
            },
        );
        no_failures(&failures);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_deleted_on_node_a_is_gone_and_its_token_refused_on_node_b_within_a_second() {
    bounded(LIMIT, async {
        let Some(c) = cluster("a_worker_deleted_on_node_a_is_gone_and_its_token_refused_on_node_b").await
        else {
            return;
        };
        let mut failures = Vec::new();
        let key = c.a.create_agency().await;
        // The order first, so that its dispatch does not offer the worker (an offered worker is no longer
        // among the order's candidates).
        let (start, end) = shift_in_days(3, 9, 8);
        let o = c
            .b
            .post_order(&key, &order_json("mn-del", &start, &end, 1, "offer", 1, 15))
            .await;
        let oid = s(&o, "id");
        let w = c.a.post_worker(&key, &near_worker("D-1", 0)).await;
        let (wid, token) = (s(&w, "id"), s(&w, "app_token"));
        let created = Instant::now();

        // Before: the token works on B, and the worker is a candidate there.
        let took = wait_for(created, LOOK, EVERY, async || {
            c.b.get(&token, "/v1/me").await.status == 200
        })
        .await;
        assert!(
            took.is_some(),
            "the app token of a worker created on A never worked on B (GET /v1/me): {}",
            c.b.get(&token, "/v1/me").await.body
        );
        let was_candidate = wait_for(created, LOOK, EVERY, async || {
            c.b.candidate_ids(&key, &oid, "promoter").await.contains(&wid)
        })
        .await
        .is_some();
        if !was_candidate {
            failures.push(format!(
                "before the delete: the worker created on A never became a candidate on B within {LOOK:?}"
            ));
        }

        // The delete on A.
        c.a.delete(&key, &format!("/v1/workers/{wid}"))
            .await
            .expect(204, "DELETE /v1/workers/{id} on A");
        let deleted = Instant::now();
        let on_a = c.a.get(&token, "/v1/me").await.status;
        if on_a != 401 {
            failures.push(format!("A answers {on_a} for the deleted worker's token, not 401"));
        }

        // After: B refuses the token and no longer ranks the worker.
        let mut last = 0;
        let took = wait_for(deleted, LOOK, EVERY, async || {
            last = c.b.get(&token, "/v1/me").await.status;
            last == 401
        })
        .await;
        within(
            &mut failures,
            "B answers 401 for the token of the worker deleted on A",
            took,
            || format!("B still answers {last}"),
        );
        let took = wait_for(deleted, LOOK, EVERY, async || {
            !c.b.candidate_ids(&key, &oid, "promoter").await.contains(&wid)
        })
        .await;
        if was_candidate {
            within(
                &mut failures,
                "the worker deleted on A is no longer a candidate on B",
                took,
                || "B still ranks it".into(),
            );
        }
        no_failures(&failures);
    })
    .await;
}

#[tokio::test]
async fn a_token_rotated_and_a_key_revoked_on_node_a_are_refused_on_node_b_within_a_second() {
    bounded(LIMIT, async {
        let Some(c) = cluster("a_token_rotated_and_a_key_revoked_on_node_a").await else {
            return;
        };
        let mut failures = Vec::new();
        let key = c.a.create_agency().await;
        let w = c.a.post_worker(&key, &near_worker("R-1", 0)).await;
        let (wid, old) = (s(&w, "id"), s(&w, "app_token"));
        let spare =
            c.a.post(&key, "/v1/agency/keys", &json!({"label": "spare"}))
                .await;
        assert_eq!(spare.status, 201, "{}", spare.body);
        let spare = s(&spare.body, "api_key");
        // Both work on B first (and B caches them).
        let ready = wait_for(Instant::now(), LOOK, EVERY, async || {
            c.b.get(&old, "/v1/me").await.status == 200
                && c.b.get(&key, "/v1/workers").await.status == 200
        })
        .await;
        assert!(ready.is_some(), "the token and the key never worked on B");
        let issued =
            c.a.post(&key, &format!("/v1/workers/{wid}/app-token"), &json!({}))
                .await;
        assert_eq!(issued.status, 201, "{}", issued.body);
        let new = s(&issued.body, "app_token");
        let keys = c.a.get(&key, "/v1/agency/keys").await;
        let first = s(&keys.body["items"][0], "id");
        let revoked =
            c.a.delete(&spare, &format!("/v1/agency/keys/{first}"))
                .await;
        assert_eq!(revoked.status, 204, "{}", revoked.body);
        let changed = Instant::now();
        let mut last = (0, 0, 0);
        let took = wait_for(changed, LOOK, EVERY, async || {
            last = (
                c.b.get(&old, "/v1/me").await.status,
                c.b.get(&key, "/v1/workers").await.status,
                c.b.get(&new, "/v1/me").await.status,
            );
            last == (401, 401, 200)
        })
        .await;
        within(
            &mut failures,
            "B refuses the rotated token and the revoked key, and takes the new token",
            took,
            || format!("B answers (old token, revoked key, new token) = {last:?}"),
        );
        no_failures(&failures);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_clients_tier_set_on_node_a_is_taken_by_its_next_order_on_node_b_within_a_second() {
    bounded(LIMIT, async {
        let Some(c) = cluster("a_clients_tier_set_on_node_a").await else {
            return;
        };
        let mut failures = Vec::new();
        let key = c.a.create_agency().await;
        // B posts an order of the client first, without a tier (and remembers that).
        let ready = wait_for(Instant::now(), LOOK, EVERY, async || {
            c.b.get(&key, "/v1/orders?limit=1").await.status == 200
        })
        .await;
        assert!(ready.is_some(), "the agency's key never worked on B");
        let before = c.b.post_order(&key, &sample_order("acme")).await;
        assert_eq!(before["sla"], Value::Null, "{before}");
        let set =
            c.a.call(
                Method::PUT,
                "/v1/clients/acme",
                Some(&key),
                Some(&json!({"tier": "P0"})),
            )
            .await;
        assert_eq!(set.status, 200, "{}", set.body);
        let changed = Instant::now();
        let mut last = Value::Null;
        let took = wait_for(changed, LOOK, Duration::from_millis(100), async || {
            last = c.b.post_order(&key, &sample_order("acme")).await["sla"].clone();
            last["tier"] == "P0"
        })
        .await;
        within(
            &mut failures,
            "an order of the client posted on B takes the tier set on A",
            took,
            || format!("the last order's sla on B: {last}"),
        );
        no_failures(&failures);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_accepts_of_a_one_slot_role_split_over_both_nodes_give_one_200() {
    bounded(LIMIT, async {
        let Some(c) = cluster("fifty_concurrent_accepts_of_a_one_slot_role_split_over_both_nodes").await
        else {
            return;
        };
        let key = c.a.create_agency().await;
        let mut workers = Vec::new();
        for i in 0..50 {
            workers.push(c.a.post_worker(&key, &near_worker(&format!("Q-{i}"), i % 20)).await);
        }
        // The order on A, which made the workers: this test is about the accepts, not about propagation.
        let (start, end) = shift_in_days(3, 9, 8);
        let o = c
            .a
            .post_order(&key, &order_json("mn-fifty", &start, &end, 1, "offer", 50, 15))
            .await;
        let oid = s(&o, "id");
        assert_eq!(o["roles"][0]["pending_offers"], 50, "fanout 50 over 50 workers: {o}");
        let mut offers = Vec::new();
        for w in &workers {
            let token = s(w, "app_token");
            let mine = c.a.get(&token, "/v1/me/offers").await.expect(200, "GET /v1/me/offers on A");
            let offer = mine["items"]
                .as_array()
                .and_then(|items| items.iter().find(|x| x["order_id"] == oid.as_str()))
                .unwrap_or_else(|| panic!("worker {} holds no offer of {oid}: {mine}", s(w, "id")));
            offers.push((token, s(offer, "id")));
        }

        // 50 accepts at once, even ones through A, odd ones through B.
        let barrier = Arc::new(tokio::sync::Barrier::new(offers.len()));
        let mut tasks = Vec::new();
        for (i, (token, offer)) in offers.into_iter().enumerate() {
            let at: Remote = if i % 2 == 0 { c.a.remote() } else { c.b.remote() };
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                match at
                    .try_call(Method::POST, &format!("/v1/offers/{offer}/accept"), Some(&token), Some(&json!({})))
                    .await
                {
                    Ok(a) => (at.name.clone(), a.status.to_string(), a.body.to_string()),
                    Err(e) => (at.name.clone(), "transport error".to_string(), e),
                }
            }));
        }
        let mut answers = Vec::new();
        for t in tasks {
            answers.push(t.await.expect("an accept task ends"));
        }
        let count = |code: &str| answers.iter().filter(|(_, c, _)| c == code).count();
        let mut by_code: BTreeMap<String, usize> = BTreeMap::new();
        for (node, code, _) in &answers {
            *by_code.entry(format!("{code} via {node}")).or_default() += 1;
        }
        let odd: Vec<_> = answers.iter().filter(|(_, c, _)| c != "200" && c != "409").take(5).collect();
        let mut failures = Vec::new();
        if count("200") != 1 || count("409") != 49 {
            failures.push(format!(
                "50 concurrent accepts over A and B: {by_code:?} (want one 200 and 49 409); other answers: {odd:#?}"
            ));
        }
        for n in [&c.a, &c.b] {
            let o = n.order(&key, &oid).await;
            let live: Vec<&Value> = o["assignments"]
                .as_array()
                .map(|a| a.iter().filter(|x| x["status"] != "cancelled").collect())
                .unwrap_or_default();
            if o["roles"][0]["filled"] != 1 || live.len() != 1 {
                failures.push(format!(
                    "the order on {}: filled {} with assignments {} (want filled 1, one assignment)",
                    n.name, o["roles"][0]["filled"], o["assignments"]
                ));
            }
        }
        no_failures(&failures);
    })
    .await;
}

/// Per assignment id, the `assignment_ended` events (sequence number and payload) that mark it a no-show.
async fn no_show_events(db: &PgDb) -> BTreeMap<String, Vec<String>> {
    let mut conn = db.connect().await;
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT seq::text, payload::text FROM events WHERE kind = 'assignment_ended' ORDER BY seq",
    )
    .fetch_all(&mut conn)
    .await
    .expect("read the events");
    let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (seq, p) in rows {
        let v: Value = serde_json::from_str(&p).unwrap_or(Value::Null);
        if v["status"] == "no_show"
            && let Some(a) = v["assignment"].as_str()
        {
            by.entry(a.to_string())
                .or_default()
                .push(format!("seq {seq}: {p}"));
        }
    }
    by
}

/// The stored status of an assignment (`asg_<hex>`).
async fn assignment_status(db: &PgDb, assignment: &str) -> String {
    let raw = assignment
        .strip_prefix("asg_")
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| panic!("an assignment id: {assignment}"));
    let mut conn = db.connect().await;
    let (status,): (String,) = sqlx::query_as("SELECT status FROM assignments WHERE id = $1")
        .bind(raw)
        .fetch_one(&mut conn)
        .await
        .expect("the assignment row");
    status
}

/// Posts, through `at`, an assign-mode order of one promoter from `start` for three hours with no grace;
/// the order's id and its confirmed assignment's.
async fn one_worker_order(
    at: &Node,
    key: &str,
    client_ref: &str,
    start: chrono::DateTime<Utc>,
) -> (String, String) {
    let o = at
        .post_order(
            key,
            &order_json(
                client_ref,
                &rfc3339(start),
                &rfc3339(start + chrono::Duration::hours(3)),
                1,
                "assign",
                1,
                0,
            ),
        )
        .await;
    let a = o["assignments"]
        .as_array()
        .and_then(|a| a.first())
        .unwrap_or_else(|| panic!("the order posted on {} assigned nobody: {o}", at.name));
    (s(&o, "id"), s(a, "id"))
}

/// Waits until every `(order, assignment)` (read through `at`) shows the assignment `no_show`, at most 10 s
/// after `due`; the ones that are not.
async fn until_no_show(
    at: &Node,
    key: &str,
    pairs: &[(String, String)],
    due: Instant,
) -> Vec<String> {
    let mut left: Vec<(String, String)> = pairs.to_vec();
    let mut last = BTreeMap::new();
    wait_for(
        due,
        Duration::from_secs(10),
        Duration::from_millis(100),
        async || {
            let mut still = Vec::new();
            for (order, asg) in &left {
                let o = at.order(key, order).await;
                let done = o["assignments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|a| a["id"] == asg.as_str() && a["status"] == "no_show");
                if !done {
                    last.insert(asg.clone(), o["assignments"].to_string());
                    still.push((order.clone(), asg.clone()));
                }
            }
            left = still;
            left.is_empty()
        },
    )
    .await;
    left.iter()
        .map(|(o, a)| format!("{a} of {o}: {}", last.get(a).cloned().unwrap_or_default()))
        .collect()
}

/// Orders whose no-shows fall due at one instant while both nodes are up: each node's timers race for all of
/// them at once.
const SIMULTANEOUS: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_no_show_timer_fires_once_with_both_nodes_up_and_still_fires_after_one_is_killed() {
    bounded(LIMIT, async {
        let Some(mut c) = cluster("a_no_show_timer_fires_once_with_both_nodes_up").await else {
            return;
        };
        let mut failures = Vec::new();
        let key = c.a.create_agency().await;

        // Both nodes up: twelve one-worker orders starting together in a few seconds, with no grace; nobody
        // checks in. Each no-show fires once.
        for i in 0..SIMULTANEOUS {
            c.a.post_worker(&key, &near_worker(&format!("T-{i}"), i))
                .await;
        }
        let lead = Duration::from_secs(5);
        let start = Utc::now() + chrono::Duration::from_std(lead).expect("a duration");
        let due = Instant::now() + lead;
        let mut pairs = Vec::new();
        for i in 0..SIMULTANEOUS {
            pairs.push(one_worker_order(&c.a, &key, &format!("mn-noshow-{i}"), start).await);
        }
        assert!(
            Instant::now() < due,
            "posting the orders took longer than {lead:?}"
        );
        let late = until_no_show(&c.a, &key, &pairs, due).await;
        assert!(
            late.is_empty(),
            "no-shows not marked 10 s after they fell due: {late:#?}"
        );
        // Two more ticks of each node's timers, so that a second firing would have landed.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let events = no_show_events(&c.db).await;
        for (_, asg) in &pairs {
            let n = events.get(asg).map_or(0, Vec::len);
            if n != 1 {
                failures.push(format!(
                    "with both nodes up, {n} events mark {asg} a no-show (want 1): {:#?}",
                    events.get(asg)
                ));
            }
            let status = assignment_status(&c.db, asg).await;
            if status != "no_show" {
                failures.push(format!("the row of {asg} is {status}, not no_show"));
            }
        }

        // A killed: B alone fires the next one (its worker made on B, its shift started a minute ago).
        c.a.kill();
        c.b.post_worker(&key, &near_worker("T-B", SIMULTANEOUS))
            .await;
        let pair = one_worker_order(
            &c.b,
            &key,
            "mn-noshow-b",
            Utc::now() - chrono::Duration::minutes(1),
        )
        .await;
        let late = until_no_show(&c.b, &key, std::slice::from_ref(&pair), Instant::now()).await;
        if late.is_empty() {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            let events = no_show_events(&c.db).await;
            let n = events.get(&pair.1).map_or(0, Vec::len);
            if n != 1 {
                failures.push(format!(
                    "with B alone, {n} events mark {} a no-show (want 1): {:#?}",
                    pair.1,
                    events.get(&pair.1)
                ));
            }
        } else {
            failures.push(format!(
                "with A killed, B did not mark the no-show: {late:#?}"
            ));
        }
        no_failures(&failures);
    })
    .await;
}

/// What the workload has made so far, shared by the writers.
#[derive(Default)]
struct Made {
    /// Workers: id and app token.
    workers: Vec<(String, String)>,
    /// Orders' ids.
    orders: Vec<String>,
}

/// Answers by operation and status (`transport` for a failed connection), and the first odd answers.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<String, usize>,
    odd: Vec<String>,
}

impl Tally {
    fn record(&mut self, node: &str, op: &str, r: &Result<common::nodes::Answer, String>) {
        let code = match r {
            Ok(a) => a.status.to_string(),
            Err(_) => "transport".into(),
        };
        *self.counts.entry(format!("{op} {code}")).or_default() += 1;
        let odd = match r {
            Ok(a) => a.status >= 500 || a.status == 422 || a.status == 400,
            Err(_) => true,
        };
        if odd && self.odd.len() < 10 {
            let detail = match r {
                Ok(a) => a.body.to_string(),
                Err(e) => e.clone(),
            };
            self.odd.push(format!("{op} via {node}: {code} {detail}"));
        }
    }

    fn odd_count(&self) -> usize {
        self.counts
            .iter()
            .filter(|(k, _)| {
                let code = k.rsplit(' ').next().unwrap_or_default();
                code == "transport" || code == "422" || code == "400" || code.starts_with('5')
            })
            .map(|(_, n)| n)
            .sum()
    }
}

/// One writer: random commands through `at` until `until`.
async fn writer(
    seed: u64,
    at: Remote,
    key: String,
    made: Arc<Mutex<Made>>,
    tally: Arc<Mutex<Tally>>,
    until: Instant,
) {
    let mut rng = Rng::new(seed);
    let mut n = 0;
    while Instant::now() < until {
        n += 1;
        let pick_worker = |rng: &mut Rng| {
            let m = made.lock().expect("made");
            (!m.workers.is_empty())
                .then(|| m.workers[rng.below(m.workers.len() as u64) as usize].clone())
        };
        let pick_order = |rng: &mut Rng| {
            let m = made.lock().expect("made");
            (!m.orders.is_empty())
                .then(|| m.orders[rng.below(m.orders.len() as u64) as usize].clone())
        };
        let roll = rng.below(100);
        let (op, r) = match roll {
            0..20 => {
                let body = worker_json(
                    &format!("L-{seed}-{n}"),
                    VENUE.0 + rng.below(200) as f64 * 0.0005,
                    VENUE.1 + rng.below(200) as f64 * 0.0005,
                );
                let r = at
                    .try_call(Method::POST, "/v1/workers", Some(&key), Some(&body))
                    .await;
                if let Ok(a) = &r
                    && a.status == 201
                {
                    made.lock()
                        .expect("made")
                        .workers
                        .push((s(&a.body, "id"), s(&a.body, "app_token")));
                }
                ("create worker", r)
            }
            20..32 => {
                let Some((id, _)) = pick_worker(&mut rng) else {
                    continue;
                };
                let body = match rng.below(3) {
                    0 => {
                        json!({"max_travel_km": 10 + rng.below(30), "bio": format!("patched {seed}-{n}")})
                    }
                    1 => {
                        json!({"home": {"lat": VENUE.0 + rng.below(100) as f64 * 0.001, "lon": VENUE.1}})
                    }
                    _ => {
                        json!({"skills": [{"name": "promoter", "level": 1 + rng.below(5)}, {"name": "usher"}]})
                    }
                };
                (
                    "patch worker",
                    at.try_call(
                        Method::PATCH,
                        &format!("/v1/workers/{id}"),
                        Some(&key),
                        Some(&body),
                    )
                    .await,
                )
            }
            32..38 => {
                let picked = {
                    let mut m = made.lock().expect("made");
                    (!m.workers.is_empty()).then(|| {
                        let i = rng.below(m.workers.len() as u64) as usize;
                        m.workers.swap_remove(i)
                    })
                };
                let Some((id, _)) = picked else { continue };
                (
                    "delete worker",
                    at.try_call(
                        Method::DELETE,
                        &format!("/v1/workers/{id}"),
                        Some(&key),
                        None,
                    )
                    .await,
                )
            }
            38..56 => {
                let mode = if rng.below(2) == 0 { "assign" } else { "offer" };
                let (start, end) =
                    shift_in_days(3 + rng.below(40) as i64, 8 + rng.below(8) as u32, 4);
                let body = order_json(
                    &format!("mn-load-{seed}-{n}"),
                    &start,
                    &end,
                    1 + rng.below(3) as u32,
                    mode,
                    2,
                    15,
                );
                let r = at
                    .try_call(Method::POST, "/v1/orders", Some(&key), Some(&body))
                    .await;
                if let Ok(a) = &r
                    && a.status == 201
                {
                    made.lock().expect("made").orders.push(s(&a.body, "id"));
                }
                ("post order", r)
            }
            56..80 => {
                let Some((_, token)) = pick_worker(&mut rng) else {
                    continue;
                };
                let r = at
                    .try_call(Method::GET, "/v1/me/offers", Some(&token), None)
                    .await;
                let offer = match &r {
                    Ok(a) if a.status == 200 => a.body["items"]
                        .as_array()
                        .and_then(|i| i.first())
                        .map(|o| s(o, "id")),
                    _ => None,
                };
                tally
                    .lock()
                    .expect("tally")
                    .record(&at.name, "read offers", &r);
                let Some(offer) = offer else { continue };
                if rng.below(10) < 7 {
                    let path = format!("/v1/offers/{offer}/accept");
                    (
                        "accept offer",
                        at.try_call(Method::POST, &path, Some(&token), Some(&json!({})))
                            .await,
                    )
                } else {
                    let path = format!("/v1/offers/{offer}/decline");
                    (
                        "decline offer",
                        at.try_call(Method::POST, &path, Some(&token), Some(&json!({})))
                            .await,
                    )
                }
            }
            80..95 => {
                let Some(order) = pick_order(&mut rng) else {
                    continue;
                };
                let r = at
                    .try_call(
                        Method::GET,
                        &format!("/v1/orders/{order}"),
                        Some(&key),
                        None,
                    )
                    .await;
                let confirmed = match &r {
                    Ok(a) if a.status == 200 => a.body["assignments"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|x| x["status"] == "confirmed")
                        .map(|x| s(x, "id"))
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                };
                tally
                    .lock()
                    .expect("tally")
                    .record(&at.name, "read order", &r);
                if confirmed.is_empty() {
                    continue;
                }
                let asg = &confirmed[rng.below(confirmed.len() as u64) as usize];
                let path = format!("/v1/assignments/{asg}/cancel");
                (
                    "cancel assignment",
                    at.try_call(Method::POST, &path, Some(&key), Some(&json!({})))
                        .await,
                )
            }
            _ => {
                let Some(order) = pick_order(&mut rng) else {
                    continue;
                };
                let path = format!("/v1/orders/{order}/cancel");
                (
                    "cancel order",
                    at.try_call(Method::POST, &path, Some(&key), Some(&json!({})))
                        .await,
                )
            }
        };
        tally.lock().expect("tally").record(&at.name, op, &r);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_both_nodes_leave_every_view_equal_to_a_rebuild() {
    bounded(LIMIT, async {
        let Some(c) =
            cluster("concurrent_writers_on_both_nodes_leave_every_view_equal_to_a_rebuild").await
        else {
            return;
        };
        let key = c.a.create_agency().await;
        let made = Arc::new(Mutex::new(Made::default()));
        for i in 0..20 {
            let n: &Node = if i % 2 == 0 { &c.a } else { &c.b };
            let w = n
                .post_worker(&key, &near_worker(&format!("S-{i}"), i))
                .await;
            made.lock()
                .expect("made")
                .workers
                .push((s(&w, "id"), s(&w, "app_token")));
        }

        // Three writers per node for four seconds.
        let tally = Arc::new(Mutex::new(Tally::default()));
        let until = Instant::now() + Duration::from_secs(4);
        let mut tasks = Vec::new();
        for seed in 0..6u64 {
            let at = if seed % 2 == 0 {
                c.a.remote()
            } else {
                c.b.remote()
            };
            tasks.push(tokio::spawn(writer(
                seed + 1,
                at,
                key.clone(),
                made.clone(),
                tally.clone(),
                until,
            )));
        }
        for t in tasks {
            t.await.expect("a writer ends");
        }
        let mut failures = Vec::new();
        {
            let t = tally.lock().expect("tally");
            eprintln!("answers: {:#?}", t.counts);
            if t.odd_count() > 0 {
                failures.push(format!(
                    "{} answers were 5xx, 400, 422 or transport errors, e.g. {:#?}",
                    t.odd_count(),
                    t.odd
                ));
            }
        }

        // Quiet for a second; then each node's views against a rebuild, and against the other node's.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let mut views = Vec::new();
        for n in [&c.a, &c.b] {
            let a = n.get(ADMIN_TOKEN, "/v1/admin/views").await;
            if a.status != 200 {
                failures.push(format!(
                    "GET /v1/admin/views on {} answered {}: {}",
                    n.name, a.status, a.body
                ));
                continue;
            }
            let v = a.body;
            if v["equal"] != true {
                failures.push(format!(
                    "on {} the views differ from a rebuild:\n  views:   {:#}\n  rebuilt: {:#}",
                    n.name, v["views"], v["rebuilt"]
                ));
            }
            if !v["applied_seq"].is_i64() || v["applied_seq"] != v["head_seq"] {
                failures.push(format!(
                    "on {} applied_seq {} is not head_seq {}",
                    n.name, v["applied_seq"], v["head_seq"]
                ));
            }
            views.push((n.name.clone(), v["views"].clone()));
        }
        if let [(_, va), (_, vb)] = views.as_slice()
            && va != vb
        {
            failures.push(format!(
                "the views of A and B differ:\n  A: {va:#}\n  B: {vb:#}"
            ));
        }
        no_failures(&failures);
    })
    .await;
}
