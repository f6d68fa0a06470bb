//! Pre-shift signals with the manual clock: "on my way" and positions in the hours before a shift, the worker
//! too far away replaced before the start, the window, other workers' assignments, and coordinates kept out of
//! the log and dropped when the shift ends.

use serde_json::{Value, json};

use crate::helpers::*;

/// About 50 km north of the venue (0.45° of latitude), with digits no other place in these tests has.
const FAR: (f64, f64) = (31.6412345, 121.6234567);
/// A few hundred metres from the venue.
const NEAR: (f64, f64) = (31.1937891, 121.5821234);

/// An order with one promoter confirmed and one on standby, pre-shift signals on: `(workers, order, the
/// confirmed assignment, the standby's worker id)`.
async fn staffed(app: &TestApp, a: &Agency) -> (Vec<Value>, String, String, String) {
    app.patch(
        &a.key,
        "/v1/agency/settings",
        &json!({"pre_shift": {"enabled": true}}),
    )
    .await
    .expect(200);
    let ws = promoters(app, a, 3).await;
    let mut body = order_json("c", 1, "assign", 1);
    body["standby"] = json!(1);
    let o = app.post_order(a, &body).await;
    let list = o["assignments"].as_array().expect("assignments");
    let confirmed = list
        .iter()
        .find(|x| x["status"] == "confirmed")
        .expect("confirmed");
    let standby = list
        .iter()
        .find(|x| x["status"] == "standby")
        .expect("standby");
    (ws, s(&o, "id"), s(confirmed, "id"), s(standby, "worker_id"))
}

fn token_of(ws: &[Value], id: &str) -> String {
    s(
        ws.iter().find(|w| w["id"] == id).expect("the worker"),
        "app_token",
    )
}

async fn signals_of(app: &TestApp, assignment: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url)
        .await
        .expect("the database");
    let id: i64 = assignment
        .parse::<crewcall::domain::AssignmentId>()
        .map_or(-1, |a| a.get() as i64);
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM shift_signals WHERE assignment_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .expect("the signals table");
    let (all,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM shift_signals")
        .fetch_one(&pool)
        .await
        .expect("the signals table");
    pool.close().await;
    if id < 0 { all } else { n }
}

async fn stored_payloads(app: &TestApp) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url)
        .await
        .expect("the database");
    let rows: Vec<(String,)> = sqlx::query_as("SELECT payload FROM events")
        .fetch_all(&pool)
        .await
        .expect("the events table");
    pool.close().await;
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn a_worker_too_far_away_an_hour_before_start_is_replaced_before_the_start() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (ws, oid, asg, standby) = staffed(&app, &a).await;
    let o = app.order(&a, &oid).await;
    let worker = s(
        o["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == asg.as_str())
            .unwrap(),
        "worker_id",
    );
    let token = token_of(&ws, &worker);

    // An hour before the 09:00 start, 50 km away: two hours at 25 km/h, past the 15-minute grace.
    app.advance_to("2026-11-28T08:00:00+08:00").await;
    let r = app
        .post(
            &token,
            &format!("/v1/me/assignments/{asg}/on-my-way"),
            &json!({"lat": FAR.0, "lon": FAR.1}),
        )
        .await
        .expect(200);
    assert_eq!(r["assignment"], asg.as_str());
    assert_eq!(r["at_risk"], true, "{r}");
    let d = r["distance_km"].as_f64().expect("distance");
    assert!((45.0..55.0).contains(&d), "{r}");
    assert_eq!(d, (d * 10.0).round() / 10.0, "rounded to 0.1 km");
    assert_eq!(r["eta_min"], (d / 25.0 * 60.0).ceil() as i64);

    // Replaced at once, before the start: the standby is promoted.
    let order = app.order(&a, &oid).await;
    let list = order["assignments"].as_array().unwrap();
    let lost = list.iter().find(|x| x["id"] == asg.as_str()).unwrap();
    assert_eq!(lost["status"], "cancelled");
    let promoted = list
        .iter()
        .find(|x| x["status"] == "confirmed")
        .expect("a replacement");
    assert_eq!(promoted["worker_id"], standby.as_str());
    let events = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    let items = events["items"].as_array().unwrap();
    let risk: Vec<_> = items
        .iter()
        .filter(|e| e["kind"] == "assignment_at_risk")
        .collect();
    assert_eq!(risk.len(), 1);
    assert_eq!(risk[0]["data"]["reason"], "cannot_arrive");
    assert_eq!(risk[0]["at"], "2026-11-28T00:00:00Z");
    assert!(
        items
            .iter()
            .any(|e| e["kind"] == "assignment_ended" && e["data"]["reason"] == "cannot_arrive")
    );
    assert!(items.iter().any(|e| e["kind"] == "standby_promoted"));
    let signal = items
        .iter()
        .find(|e| e["kind"] == "pre_shift_signal")
        .expect("the signal's event");
    assert_eq!(signal["data"]["kind"], "on_my_way");
    assert_eq!(signal["data"]["at_risk"], true);
    assert!(signal["data"].get("lat").is_none(), "{signal}");
    // The replaced worker's position is gone with the assignment.
    assert_eq!(signals_of(&app, &asg).await, 0);

    // The promoted worker is close: on time, and the position is kept until the shift ends.
    let promoted_id = s(promoted, "id");
    let near = app
        .post(
            &token_of(&ws, &standby),
            &format!("/v1/me/assignments/{promoted_id}/location"),
            &json!({"lat": NEAR.0, "lon": NEAR.1}),
        )
        .await
        .expect(200);
    assert_eq!(near["at_risk"], false, "{near}");
    assert!(near["distance_km"].as_f64().unwrap() < 1.0, "{near}");
    assert_eq!(signals_of(&app, &promoted_id).await, 1);

    // Coordinates appear nowhere in the log, rounded or not.
    for p in stored_payloads(&app).await {
        for needle in ["31.641", "121.623", "31.193", "121.582"] {
            assert!(!p.contains(needle), "{needle} in {p}");
        }
    }

    app.advance_to("2026-11-28T18:00:00+08:00").await;
    assert_eq!(
        signals_of(&app, "all").await,
        0,
        "no position outlives the shift"
    );
}

#[tokio::test]
async fn a_signal_outside_the_window_or_when_signals_are_off_is_409_and_another_workers_assignment_is_404()
 {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (ws, oid, asg, _) = staffed(&app, &a).await;
    let o = app.order(&a, &oid).await;
    let worker = s(
        o["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == asg.as_str())
            .unwrap(),
        "worker_id",
    );
    let token = token_of(&ws, &worker);
    let path = format!("/v1/me/assignments/{asg}/on-my-way");
    let at = json!({"lat": NEAR.0, "lon": NEAR.1});

    // Four hours ahead; the window opens three hours ahead.
    app.advance_to("2026-11-28T05:00:00+08:00").await;
    let r = app.post(&token, &path, &at).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);

    // Someone else's assignment is not found.
    app.advance_to("2026-11-28T07:00:00+08:00").await;
    let other = ws
        .iter()
        .find(|w| w["id"] != worker.as_str())
        .expect("another");
    let r = app.post(&s(other, "app_token"), &path, &at).await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.body);

    // Bad coordinates are a 422.
    let r = app
        .post(&token, &path, &json!({"lat": 120.0, "lon": NEAR.1}))
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);

    // Inside the window it is taken; after the grace it is not.
    app.post(&token, &path, &at).await.expect(200);
    app.advance_to("2026-11-28T09:15:00+08:00").await;
    let r = app.post(&token, &path, &at).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);

    // Signals off: 409.
    app.patch(
        &a.key,
        "/v1/agency/settings",
        &json!({"pre_shift": {"enabled": false}}),
    )
    .await
    .expect(200);
    let r = app.post(&token, &path, &at).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
}
