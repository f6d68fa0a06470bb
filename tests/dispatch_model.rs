//! Random command sequences against the engine, checked after every step against a simple reference model of
//! dispatch: no worker holds two live assignments within the rest gap, no role has more workers than its
//! headcount, an offer leaves `pending` once and never changes after, and an acceptance succeeds exactly when
//! the model says it may (pending, unexpired, the role not full, the worker free).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use crewcall::clock::{Clock, ManualClock};
use crewcall::domain::{AgencyId, OfferId, WorkerId};
use crewcall::engine::{Actor, Engine, EngineConfig};
use crewcall::store::Store;
use crewcall::wire::order::OrderBody;

const REST_GAP_MS: i64 = 8 * 3600 * 1000;

#[derive(Debug, Clone)]
enum Command {
    /// An order starting `start_h` hours from now, lasting `len_h`, with `headcount` and `fanout`.
    Post {
        start_h: i64,
        len_h: i64,
        headcount: u32,
        fanout: u32,
        assign: bool,
    },
    /// The worker of the `n`-th pending offer accepts it.
    Accept(usize),
    /// The worker of the `n`-th pending offer declines it.
    Decline(usize),
    /// The worker of the `n`-th live assignment cancels it.
    Cancel(usize),
    /// Time moves on.
    Advance(i64),
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        2 => (1i64..60, 2i64..12, 1u32..4, 1u32..4, any::<bool>()).prop_map(|(start_h, len_h, headcount, fanout, assign)| {
            Command::Post { start_h, len_h, headcount, fanout, assign }
        }),
        4 => (0usize..8).prop_map(Command::Accept),
        2 => (0usize..8).prop_map(Command::Decline),
        1 => (0usize..8).prop_map(Command::Cancel),
        2 => (5i64..600).prop_map(Command::Advance),
    ]
}

fn worker_line(i: usize) -> String {
    // Everyone lives near the venue and is always available, so that conflicts come from bookings alone.
    format!(
        r#"{{"external_ref":"M-{i}","name":"Worker {i}","home":{{"lat":{},"lon":121.5}},"max_travel_km":40,"skills":[{{"name":"promoter","level":3}}],"timezone":"Asia/Shanghai"}}"#,
        31.2 + i as f64 * 0.001
    )
}

fn order_body(
    now: DateTime<Utc>,
    start_h: i64,
    len_h: i64,
    headcount: u32,
    fanout: u32,
    assign: bool,
) -> OrderBody {
    let start = now + Duration::hours(start_h);
    let end = start + Duration::hours(len_h);
    serde_json::from_value(serde_json::json!({
        "client_ref": "model", "title": "model order",
        "venue": {"name": "Hall", "lat": 31.2, "lon": 121.5},
        "start": start.to_rfc3339(), "end": end.to_rfc3339(),
        "roles": [{"name": "promoter", "headcount": headcount, "skills": ["promoter"]}],
        "dispatch": {"mode": if assign { "assign" } else { "offer" }, "offer_ttl_s": 1800, "fanout": fanout},
    }))
    .expect("a valid body")
}

type OfferRow = (i64, i64, i64, String, i64, i64);
type AssignmentRow = (i64, i64, i64, String, String, i64, i64);

async fn offers(engine: &Engine) -> Vec<OfferRow> {
    sqlx::query_as(
        "SELECT id, order_id, worker_id, status, expires_at, role_idx FROM offers ORDER BY id",
    )
    .fetch_all(engine.store().pool())
    .await
    .unwrap()
}

async fn assignments(engine: &Engine) -> Vec<AssignmentRow> {
    sqlx::query_as("SELECT id, order_id, worker_id, kind, status, start_at, end_at FROM assignments ORDER BY id")
        .fetch_all(engine.store().pool())
        .await
        .unwrap()
}

async fn headcounts(engine: &Engine) -> BTreeMap<i64, i64> {
    let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, body FROM orders")
        .fetch_all(engine.store().pool())
        .await
        .unwrap();
    rows.into_iter()
        .map(|(id, body)| {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            (id, v["roles"][0]["headcount"].as_i64().unwrap())
        })
        .collect()
}

const LIVE: [&str; 3] = ["confirmed", "checked_in", "standby"];
const FILLING: [&str; 3] = ["confirmed", "checked_in", "completed"];

/// The invariants, over the whole stored state; `history` remembers every offer's first non-pending status.
async fn check_invariants(engine: &Engine, history: &mut BTreeMap<i64, String>) {
    let all = assignments(engine).await;
    let live: Vec<_> = all
        .iter()
        .filter(|a| LIVE.contains(&a.4.as_str()))
        .collect();
    for (i, a) in live.iter().enumerate() {
        for b in &live[i + 1..] {
            if a.2 == b.2 {
                let apart = a.5 >= b.6 + REST_GAP_MS || b.5 >= a.6 + REST_GAP_MS;
                assert!(
                    apart,
                    "worker {} holds {} and {} within the rest gap",
                    a.2, a.0, b.0
                );
            }
        }
    }
    for (order, headcount) in headcounts(engine).await {
        let filled = all
            .iter()
            .filter(|a| a.1 == order && a.3 == "shift" && FILLING.contains(&a.4.as_str()))
            .count() as i64;
        assert!(
            filled <= headcount,
            "order {order}: {filled} workers for {headcount} slots"
        );
    }
    for o in offers(engine).await {
        match history.get(&o.0) {
            Some(first) => assert_eq!(&o.3, first, "offer {} left pending twice", o.0),
            None if o.3 != "pending" => {
                history.insert(o.0, o.3.clone());
            }
            None => {}
        }
    }
}

async fn run(commands: Vec<Command>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("model.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let start: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
    let engine = Engine::start(
        store,
        clock,
        EngineConfig {
            admin_token: Some("t".into()),
            ..EngineConfig::default()
        },
    )
    .await
    .unwrap()
    .engine;
    let agency: AgencyId = engine.create_agency("model").await.unwrap().id;
    let lines: Vec<String> = (0..8).map(worker_line).collect();
    engine
        .import_workers(agency, &lines.join("\n"))
        .await
        .unwrap();
    let mut history = BTreeMap::new();
    for c in commands {
        let now = engine.now();
        match c {
            Command::Post {
                start_h,
                len_h,
                headcount,
                fanout,
                assign,
            } => {
                engine
                    .post_order(
                        agency,
                        order_body(now, start_h, len_h, headcount, fanout, assign),
                    )
                    .await
                    .unwrap();
            }
            Command::Accept(n) | Command::Decline(n) => {
                let pending: Vec<OfferRow> = offers(&engine)
                    .await
                    .into_iter()
                    .filter(|o| o.3 == "pending")
                    .collect();
                let Some(o) = pending.get(n % pending.len().max(1)).cloned() else {
                    continue;
                };
                let worker = WorkerId::new(o.2 as u64);
                let offer = OfferId::new(o.0 as u64);
                if let Command::Decline(_) = c {
                    engine.decline_offer(worker, offer).await.unwrap();
                } else {
                    // The model: pending, unexpired, the role not full, the worker free within the rest gap.
                    let all = assignments(&engine).await;
                    let headcount = headcounts(&engine).await[&o.1];
                    let filled = all
                        .iter()
                        .filter(|a| a.1 == o.1 && a.3 == "shift" && FILLING.contains(&a.4.as_str()))
                        .count() as i64;
                    let (s, e): (i64, i64) =
                        sqlx::query_as("SELECT start_at, end_at FROM orders WHERE id = $1")
                            .bind(o.1)
                            .fetch_one(engine.store().pool())
                            .await
                            .unwrap();
                    let busy = all.iter().any(|a| {
                        a.2 == o.2
                            && LIVE.contains(&a.4.as_str())
                            && !(s >= a.6 + REST_GAP_MS || a.5 >= e + REST_GAP_MS)
                    });
                    let expected = now.timestamp_millis() < o.4 && filled < headcount && !busy;
                    let got = engine.accept_offer(worker, offer).await;
                    assert_eq!(
                        got.is_ok(),
                        expected,
                        "accept of offer {} gave {:?}",
                        o.0,
                        got.err()
                    );
                }
            }
            Command::Cancel(n) => {
                let live: Vec<AssignmentRow> = assignments(&engine)
                    .await
                    .into_iter()
                    .filter(|a| a.4 == "confirmed" || a.4 == "standby")
                    .collect();
                let Some(a) = live.get(n % live.len().max(1)).cloned() else {
                    continue;
                };
                engine
                    .cancel_assignment(
                        Actor::Worker(WorkerId::new(a.2 as u64)),
                        crewcall::domain::AssignmentId::new(a.0 as u64),
                    )
                    .await
                    .unwrap();
            }
            Command::Advance(minutes) => {
                engine
                    .advance_clock(now + Duration::minutes(minutes))
                    .await
                    .unwrap();
            }
        }
        check_invariants(&engine, &mut history).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_commands_keep_every_dispatch_invariant(commands in proptest::collection::vec(command(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(commands));
    }
}
