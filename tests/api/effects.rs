//! Side effects that must follow a change: suspension and deletion release a worker's future work, late
//! cancellations are graded strikes, check-out is geofenced, reviews are resolved, on-call windows are
//! listed and left, and replacements carry what they replace.

use serde_json::{Value, json};

use crate::helpers::*;

/// One confirmed promoter on the standard order (assign mode): `(worker view, order id, assignment id)`.
async fn booked(app: &TestApp, a: &Agency, client: &str) -> (Value, String, String) {
    let ws = promoters(app, a, 1).await;
    let o = app.post_order(a, &order_json(client, 1, "assign", 1)).await;
    let asg = s(&o["assignments"][0], "id");
    assert_eq!(o["assignments"][0]["worker_id"], ws[0]["id"]);
    (ws[0].clone(), s(&o, "id"), asg)
}

#[tokio::test]
async fn a_check_out_outside_the_geofence_is_422_and_one_inside_records_its_own_distance() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, oid, asg) = booked(&app, &a, "c").await;
    let token = s(&w, "app_token");
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    app.check_in(&token, &asg, VENUE).await.expect(200);
    app.advance_to("2026-11-28T17:30:00+08:00").await;
    // About 1.1 km north of the venue; the geofence is 300 m.
    let r = app.check_out(&token, &asg, (VENUE.0 + 0.01, VENUE.1)).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(
        s(&r.body, "type").ends_with("outside-geofence"),
        "{}",
        r.body
    );
    let o = app.order(&a, &oid).await;
    assert_eq!(o["assignments"][0]["status"], "checked_in");
    assert!(o["assignments"][0]["checked_out_at"].is_null(), "{o}");

    // About 110 m north: inside, and recorded apart from the check-in's distance.
    let out = app
        .check_out(&token, &asg, (VENUE.0 + 0.001, VENUE.1))
        .await
        .expect(200);
    assert_eq!(out["assignment"]["status"], "completed");
    let d = out["check_out_distance_m"].as_f64().expect("distance");
    assert!((100.0..=120.0).contains(&d), "{out}");
    assert_eq!(out["assignment"]["check_out_distance_m"], json!(d));
    let check_in_d = out["assignment"]["distance_m"].as_f64().expect("check-in");
    assert!(check_in_d < 50.0, "{out}");
    let mine = app.get(&token, "/v1/me/assignments").await.expect(200);
    assert_eq!(mine["items"][0]["check_out_distance_m"], json!(d), "{mine}");
}
