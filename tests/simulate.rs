//! The week simulation and the replay, end to end on temporary SQLite files: a small week through the real
//! engine, replayed into a fresh database with zero differences; and the engine regression the simulation
//! found (a promoted standby used to be a no-show the instant it was promoted).

use std::sync::Arc;

use chrono::Duration;
use serde_json::Value;

use crewcall::clock::{Clock, ManualClock};
use crewcall::domain::AgencyId;
use crewcall::engine::sim_support::all_events;
use crewcall::engine::{Engine, EngineConfig};
use crewcall::sim::week::{self, StandbyPolicy, WeekConfig};
use crewcall::store::Store;

fn url(dir: &tempfile::TempDir, name: &str) -> String {
    format!("sqlite://{}", dir.path().join(name).display())
}

async fn engine_at(db: &str, start: chrono::DateTime<chrono::Utc>) -> Arc<Engine> {
    let store = Store::connect(db).await.unwrap();
    store.migrate().await.unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
    Engine::start(store, clock, EngineConfig::default())
        .await
        .unwrap()
        .engine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_week_replays_into_a_fresh_database_with_zero_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (from, into) = (url(&dir, "sim.db"), url(&dir, "replay.db"));
    let cfg = WeekConfig {
        workers: 300,
        orders: 20,
        seed: 7,
        standby: StandbyPolicy::Auto,
        signals: false,
        reserve: false,
    };
    let engine = engine_at(&from, week::start_time(&cfg)).await;
    let outcome = week::run(&engine, cfg, &mut |_, _| {}).await.unwrap();
    let k = &outcome.kpis;
    assert_eq!(k.orders, 20);
    assert!(k.slots > 0);
    assert!((0.0..=1.0).contains(&k.fill_rate_at_start));
    assert!(k.filled_at_start > 0, "nobody was at work: {k:?}");
    assert!(k.fill_median_min.is_some() && k.fill_p95_min >= k.fill_median_min);
    assert!(k.offers > 0 && k.completed > 0, "{k:?}");
    assert!(!outcome.samples.is_empty());
    let json = k.to_json();
    assert!(json["fill_rate_at_start"].is_number());

    let report = crewcall::cli::replay::run(&from, &into).await.unwrap();
    assert_eq!(report.events as u64, k.events);
    assert!(report.inputs > 0);
    assert_eq!(report.differences, 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_week_with_signals_replays_with_zero_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (from, into) = (url(&dir, "sim.db"), url(&dir, "replay.db"));
    let cfg = WeekConfig {
        workers: 300,
        orders: 20,
        seed: 7,
        standby: StandbyPolicy::Auto,
        signals: true,
        reserve: false,
    };
    let engine = engine_at(&from, week::start_time(&cfg)).await;
    let outcome = week::run(&engine, cfg, &mut |_, _| {}).await.unwrap();
    let events = all_events(engine.store()).await.unwrap();
    // The workers answered requests and sent signals; no coordinates are in the log.
    for kind in [
        "reconfirmation_requested",
        "assignment_reconfirmed",
        "pre_shift_signal",
    ] {
        assert!(events.iter().any(|e| e.kind == kind), "no {kind}");
    }
    assert!(
        events
            .iter()
            .filter(|e| e.kind == "pre_shift_signal")
            .all(|e| e.payload.get("lat").is_none() && e.payload["distance_km"].is_number())
    );
    let report = crewcall::cli::replay::run(&from, &into).await.unwrap();
    assert_eq!(report.events as u64, outcome.kpis.events);
    assert_eq!(report.differences, 0, "{report}");
    assert_eq!(report.unsupported, 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_figures() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = WeekConfig {
        workers: 200,
        orders: 8,
        seed: 11,
        standby: StandbyPolicy::Fixed(1),
        signals: false,
        reserve: false,
    };
    let mut figures = Vec::new();
    for name in ["a.db", "b.db"] {
        let engine = engine_at(&url(&dir, name), week::start_time(&cfg)).await;
        figures.push(week::run(&engine, cfg, &mut |_, _| {}).await.unwrap().kpis);
    }
    assert_eq!(figures[0], figures[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promoted_standby_gets_its_own_grace_instead_of_an_instant_no_show() {
    let dir = tempfile::tempdir().unwrap();
    let city = crewcall::sim::City::metropolis(3);
    let week_start = crewcall::sim::workers::default_week_start();
    let specs = crewcall::sim::orders(&city, 12, 3, AgencyId::new(1), week_start);
    let spec = specs
        .iter()
        .find(|s| s.order.headcount() >= 3)
        .expect("an order of a few workers");
    let engine = engine_at(&url(&dir, "promote.db"), spec.posted_at).await;
    let agency = engine.create_agency("Promotions").await.unwrap().id;
    let workers = crewcall::sim::workers_around(&city, 1500, 3, agency, week_start);
    let lines: Vec<String> = workers
        .iter()
        .map(crewcall::sim::ndjson::worker_line)
        .collect();
    engine
        .import_workers(agency, &lines.join("\n"))
        .await
        .unwrap();
    // Assigned at once, with standbys, and nobody comes.
    let mut body: Value = serde_json::from_str(&spec.json()).unwrap();
    body["standby"] = Value::from(2);
    body["dispatch"]["mode"] = Value::from("assign");
    let st = engine
        .post_order(agency, serde_json::from_value(body).unwrap())
        .await
        .unwrap();
    assert!(st.standby_held() > 0, "the order holds standbys");
    let due = spec.order.no_show_at();
    engine
        .advance_clock(due + Duration::seconds(1))
        .await
        .unwrap();
    let events = all_events(engine.store()).await.unwrap();
    let promoted = events
        .iter()
        .filter(|e| e.kind == "standby_promoted")
        .count();
    assert!(promoted > 0, "a no-show was replaced by a standby");
    // The promoted standbys' new assignments are still confirmed one second later: their grace runs from
    // the promotion.
    let confirmed: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM assignments WHERE kind = 'shift' AND status = 'confirmed' AND created_at > start_at",
    )
    .fetch_all(engine.store().pool())
    .await
    .unwrap();
    assert_eq!(confirmed.len(), promoted);
    // And they become no-shows only a grace after the promotion.
    engine
        .advance_clock(
            due + Duration::minutes(i64::from(spec.order.no_show_grace_min)) + Duration::seconds(1),
        )
        .await
        .unwrap();
    for (id,) in &confirmed {
        let (_, status) = engine.assignment_status(*id).await.unwrap().unwrap();
        assert_eq!(status, "no_show", "assignment {id} after its own grace");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_week_that_reserves_on_call_workers_replays_with_zero_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (from, into) = (url(&dir, "sim.db"), url(&dir, "replay.db"));
    let cfg = WeekConfig {
        workers: 300,
        orders: 20,
        seed: 7,
        standby: StandbyPolicy::None,
        reserve: true,
        signals: false,
    };
    let engine = engine_at(&from, week::start_time(&cfg)).await;
    let outcome = week::run(&engine, cfg, &mut |_, _| {}).await.unwrap();
    let r = outcome.reserve;
    assert!(r.rounds >= 7, "{r:?}");
    assert!(r.invites > 0 && r.accepted > 0, "{r:?}");
    assert!(r.accepted + r.declined <= r.invites);
    // The forecast is judged on the week: something was forecast and something wanted.
    let f = outcome.forecast.error;
    assert!(f.cells > 0 && f.forecast_slot_hours > 0.0 && f.actual_slot_hours > 0.0);

    let report = crewcall::cli::replay::run(&from, &into).await.unwrap();
    assert_eq!(report.differences, 0, "{report}");
    assert_eq!(report.unsupported, 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_week_of_pooled_standby_replays_with_zero_differences() {
    let dir = tempfile::tempdir().unwrap();
    let (from, into) = (url(&dir, "pooled.db"), url(&dir, "replay.db"));
    let cfg = WeekConfig {
        workers: 300,
        orders: 20,
        seed: 7,
        standby: StandbyPolicy::Pooled,
        signals: false,
        reserve: false,
    };
    let engine = engine_at(&from, week::start_time(&cfg)).await;
    let outcome = week::run(&engine, cfg, &mut |_, _| {}).await.unwrap();
    let k = &outcome.kpis;
    assert!(k.standbys > 0, "no floater was held: {k:?}");
    let store = Store::connect(&from).await.unwrap();
    let log = all_events(&store).await.unwrap();
    assert!(log.iter().any(|e| e.kind == "standby_pool_opened"));
    let report = crewcall::cli::replay::run(&from, &into).await.unwrap();
    assert_eq!(report.events as u64, k.events);
    assert_eq!(report.differences, 0, "{report}");
}
