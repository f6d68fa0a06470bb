//! Pooled standby over HTTP: pooled orders of one area and block of the day share an on-call pool, sized for
//! the probability that every order is full at start; a lost slot of any of them is filled from the pool.

use serde_json::{Value, json};

use crate::helpers::*;
use crewcall::dispatch::pool::{Slots, wanted};

/// A pooled order of `headcount` promoters in assign mode on the standard Saturday shift.
fn pooled(client: &str, headcount: u32, lat_shift: f64) -> Value {
    let mut body = order_json(client, headcount, "assign", 1);
    body["standby"] = json!("pooled");
    body["venue"]["lat"] = json!(VENUE.0 + lat_shift);
    body
}

fn with_status<'a>(o: &'a Value, status: &str) -> Vec<&'a Value> {
    o["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .filter(|x| x["status"] == status)
        .collect()
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| s(x, key))
        .collect()
}

/// Every newcomer shows with the policy's 0.8 when the agency has no history.
const NEWCOMER: f64 = 0.8;

#[tokio::test]
async fn two_pooled_orders_share_one_pool_sized_by_the_pooled_math() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 24).await;
    let first = app.post_order(&a, &pooled("c1", 5, 0.0)).await;
    let pool = s(&first["standby"], "pool");
    assert!(pool.starts_with("spl_"), "{first}");
    // One order of five alone: the pool holds what that order needs.
    let one = vec![Slots {
        headcount: 5,
        crew: vec![NEWCOMER; 5],
    }];
    let alone = wanted(&one, &[], &[NEWCOMER; 20], 0.97);
    assert_eq!(first["standby"]["wanted"], alone as u64, "{first}");
    assert_eq!(first["standby"]["held"], alone as u64, "{first}");
    // No per-order standby is held: the floaters belong to the pool.
    assert!(with_status(&first, "standby").is_empty(), "{first}");

    let second = app.post_order(&a, &pooled("c2", 5, 0.002)).await;
    assert_eq!(s(&second["standby"], "pool"), pool, "{second}");
    let two = vec![
        Slots {
            headcount: 5,
            crew: vec![NEWCOMER; 5]
        };
        2
    ];
    let both = wanted(&two, &[], &[NEWCOMER; 20], 0.97);
    let p = app
        .get(&a.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(200);
    assert_eq!(p["wanted"], both as u64, "{p}");
    assert_eq!(p["held"], both as u64, "{p}");
    assert_eq!(p["floaters"].as_array().expect("floaters").len(), both);
    assert_eq!(
        p["orders"],
        json!([s(&first, "id"), s(&second, "id")]),
        "{p}"
    );
    assert!(p["p_all_full"].as_f64().expect("p") >= 0.97, "{p}");
    assert_eq!(p["skills"], json!(["promoter"]));
    assert_eq!(p["start"], "2026-11-28T01:00:00Z");
    assert_eq!(p["end"], "2026-11-28T10:00:00Z");
    // The list shows it too.
    let list = app.get(&a.key, "/v1/standby-pools").await.expect(200);
    assert_eq!(ids(&list["items"], "id"), vec![pool.clone()]);

    // Per-order auto would hold more for the same two orders.
    let b = app.create_agency().await;
    promoters(&app, &b, 24).await;
    let mut held = 0;
    for c in ["c1", "c2"] {
        let mut body = order_json(c, 5, "assign", 1);
        body["standby"] = json!("auto");
        let o = app.post_order(&b, &body).await;
        held += o["standby"]["held"].as_u64().expect("held");
    }
    assert!((both as u64) < held, "pooled {both}, per order {held}");
    // Another agency's pool is not found.
    app.get(&b.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn a_no_show_promotes_a_floater_from_the_pool_into_another_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 24).await;
    let first = app.post_order(&a, &pooled("c1", 5, 0.0)).await;
    let second = app.post_order(&a, &pooled("c2", 5, 0.002)).await;
    let pool = s(&second["standby"], "pool");
    let p = app
        .get(&a.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(200);
    let floaters = ids(&p["floaters"], "worker_id");
    let held = floaters.len();
    assert!(held > 0, "{p}");
    // The floaters' rows name the first order (the pool's anchor), but the second loses a worker.
    assert_eq!(p["orders"][0], first["id"]);

    app.advance_to("2026-11-28T09:05:00+08:00").await;
    let lost = s(with_status(&second, "confirmed")[0], "id");
    app.post(
        &a.key,
        &format!("/v1/assignments/{lost}/no-show"),
        &json!({}),
    )
    .await
    .expect(200);
    let o = app.order(&a, &s(&second, "id")).await;
    let confirmed = with_status(&o, "confirmed");
    assert_eq!(confirmed.len(), 5, "{o}");
    let crew = ids(&json!(with_status(&second, "confirmed")), "worker_id");
    let new = confirmed
        .iter()
        .find(|x| !crew.contains(&s(x, "worker_id")))
        .unwrap_or_else(|| panic!("a replacement of {lost} in {o}"));
    let promoted = s(new, "worker_id");
    // The worker's own view names what it replaces.
    let w = app
        .get(&a.key, &format!("/v1/assignments?worker={promoted}"))
        .await
        .expect(200);
    let shift = w["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|x| x["kind"] == "shift")
        .unwrap_or_else(|| panic!("the promoted shift in {w}"));
    assert_eq!(shift["replaces"], json!(lost), "{w}");
    assert_eq!(shift["order_id"], second["id"], "{w}");
    assert!(
        floaters.contains(&promoted),
        "{promoted} not in {floaters:?}"
    );
    assert_eq!(o["roles"][0]["filled"], 5);
    // The pool shows it: one floater fewer (the orders have started: it is not topped up again).
    let p = app
        .get(&a.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(200);
    assert_eq!(p["held"], (held - 1) as u64, "{p}");
    assert!(!ids(&p["floaters"], "worker_id").contains(&promoted), "{p}");
    let events = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    let promotion = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["kind"] == "standby_promoted")
        .unwrap_or_else(|| panic!("a promotion in {events}"));
    assert_eq!(promotion["data"]["pool"], json!(pool), "{promotion}");
    assert_eq!(promotion["data"]["order"], second["id"], "{promotion}");
}

#[tokio::test]
async fn a_floater_is_never_booked_over_another_assignment_and_is_released_at_the_window_s_end() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 24).await;
    // The three closest are booked elsewhere on the same morning.
    let plain = app
        .post_order(&a, &order_json("other", 3, "assign", 1))
        .await;
    let busy = ids(&json!(with_status(&plain, "confirmed")), "worker_id");
    assert_eq!(busy.len(), 3);
    let first = app.post_order(&a, &pooled("c1", 4, 0.0)).await;
    let second = app.post_order(&a, &pooled("c2", 4, 0.002)).await;
    let pool = s(&second["standby"], "pool");
    let p = app
        .get(&a.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(200);
    let floaters = ids(&p["floaters"], "worker_id");
    assert!(!floaters.is_empty(), "{p}");
    for f in &floaters {
        assert!(!busy.contains(f), "{f} is booked elsewhere");
    }
    // A floater's app shows the standby for the pool's window.
    let token = ws
        .iter()
        .find(|w| s(w, "id") == floaters[0])
        .map(|w| s(w, "app_token"))
        .expect("the floater's token");
    let mine = app.get(&token, "/v1/me/assignments").await.expect(200);
    let held = &mine["items"][0];
    assert_eq!(held["status"], "standby", "{mine}");

    // Every crew member comes, so no floater is needed.
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    for order in [&first, &second] {
        for x in with_status(order, "confirmed") {
            let t = ws
                .iter()
                .find(|w| w["id"] == x["worker_id"])
                .map(|w| s(w, "app_token"))
                .expect("a crew member's token");
            app.check_in(&t, &s(x, "id"), VENUE).await.expect(200);
        }
    }
    // The window ends at 18:00 +08:00: every floater not promoted is released, and the pool closes.
    app.advance_to("2026-11-28T18:01:00+08:00").await;
    let p = app
        .get(&a.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(200);
    assert_eq!(p["status"], "closed", "{p}");
    assert_eq!(p["held"], 0, "{p}");
    let mine = app.get(&token, "/v1/me/assignments").await.expect(200);
    assert_eq!(mine["items"][0]["status"], "released", "{mine}");
}

#[tokio::test]
async fn a_pooled_target_out_of_range_is_refused() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut body = order_json("c", 1, "assign", 1);
    body["standby"] = json!({"pooled": 1.5});
    let r = app.try_post_order(&a, &body).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.fields(), vec!["standby.pooled".to_string()]);
    body["standby"] = json!({"pooled": 0.99});
    let o = app.post_order(&a, &body).await;
    assert!(o["standby"]["pool"].as_str().is_some(), "{o}");
    assert_eq!(o["standby"]["target"], 0.99);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_with_pooled_orders_replays_with_zero_differences() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 24).await;
    app.post_order(&a, &pooled("c1", 4, 0.0)).await;
    let second = app.post_order(&a, &pooled("c2", 4, 0.002)).await;
    // A headcount change sizes the pool again.
    app.patch(
        &a.key,
        &format!("/v1/orders/{}", s(&second, "id")),
        &json!({"roles": [{"name": "promoter", "headcount": 5}]}),
    )
    .await
    .expect(200);
    app.advance_to("2026-11-28T09:05:00+08:00").await;
    let o = app.order(&a, &s(&second, "id")).await;
    let lost = s(with_status(&o, "confirmed")[0], "id");
    app.post(
        &a.key,
        &format!("/v1/assignments/{lost}/no-show"),
        &json!({}),
    )
    .await
    .expect(200);
    // The rest do not show either: the timer marks them and promotes floaters while any are left.
    app.advance_to("2026-11-28T19:00:00+08:00").await;
    let store = crewcall::store::Store::connect(&app.database_url)
        .await
        .expect("connect");
    let log = crewcall::engine::sim_support::all_events(&store)
        .await
        .expect("the log");
    for kind in [
        "standby_pool_opened",
        "standby_pool_joined",
        "standby_pool_closed",
        "standby_promoted",
    ] {
        assert!(
            log.iter().any(|e| e.kind == kind),
            "no {kind} in the session"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let into = format!("sqlite://{}", dir.path().join("replay.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert_eq!(report.differences, 0, "{report}");
    assert_eq!(report.unsupported, 0, "{report}");
}

#[tokio::test]
async fn a_floater_who_is_deleted_is_released_from_the_pool() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 16).await;
    let o = app.post_order(&a, &pooled("c1", 4, 0.0)).await;
    let pool = s(&o["standby"], "pool");
    let p = app
        .get(&a.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(200);
    let held = p["held"].as_u64().expect("held");
    assert!(held > 0, "{p}");
    let gone = s(&p["floaters"][0], "worker_id");
    let token = ws
        .iter()
        .find(|w| s(w, "id") == gone)
        .map(|w| s(w, "app_token"))
        .expect("the floater's token");
    let before = app.get(&token, "/v1/me/assignments").await.expect(200);
    let asg = s(&before["items"][0], "id");
    let r = app.delete(&a.key, &format!("/v1/workers/{gone}")).await;
    assert!(r.status.is_success(), "{}", r.body);
    let p = app
        .get(&a.key, &format!("/v1/standby-pools/{pool}"))
        .await
        .expect(200);
    assert_eq!(p["held"], held - 1, "{p}");
    assert!(!ids(&p["floaters"], "worker_id").contains(&gone), "{p}");
    let w = app
        .get(&a.key, &format!("/v1/assignments?worker={gone}"))
        .await
        .expect(200);
    let row = w["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|x| x["id"] == json!(asg))
        .unwrap_or_else(|| panic!("{asg} in {w}"))
        .clone();
    assert_eq!(row["status"], "released", "{w}");
}
