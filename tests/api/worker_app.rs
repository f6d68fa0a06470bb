//! The worker app's own settings: availability and the on-call pool.

use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn new_availability_takes_a_worker_out_of_shifts_outside_it() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    let token = s(&ws[0], "app_token");
    // Weekday evenings only: the Saturday 09:00–18:00 order no longer fits.
    let me = app
        .call(
            reqwest::Method::PUT,
            "/v1/me/availability",
            Some(&token),
            Some(&json!({"availability": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "18:00", "to": "23:00"}]})),
        )
        .await
        .expect(200);
    assert_eq!(me["availability"][0]["from"], "18:00");
    let o = app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    let c = app
        .get(
            &a.key,
            &format!("/v1/orders/{}/candidates?role=promoter", s(&o, "id")),
        )
        .await
        .expect(200);
    let ids: Vec<&str> = c["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["worker_id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&s(&ws[0], "id").as_str()), "{c}");
    // The offer went to the other worker, who is free.
    let offers = app.offers(&s(&ws[1], "app_token")).await;
    assert_eq!(offers.len(), 1);
    assert!(app.offers(&token).await.is_empty());
    // A window that is not a window is refused with its path, and nothing changes.
    let bad = app
        .call(
            reqwest::Method::PUT,
            "/v1/me/availability",
            Some(&token),
            Some(&json!({"availability": [{"days": ["sat"], "from": "25:00", "to": "23:00"}]})),
        )
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.fields().contains(&"availability[0].from".to_string()),
        "{:?}",
        bad.fields()
    );
    let me: Value = app.get(&token, "/v1/me").await.expect(200);
    assert_eq!(me["availability"][0]["from"], "18:00");
}

#[tokio::test]
async fn the_on_call_pool_gets_the_urgent_offer_first_after_a_no_show() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    // Three promoters; the farthest (P-2) declares itself on call near the venue for Saturday.
    let ws = promoters(&app, &a, 3).await;
    let on_call = s(&ws[2], "app_token");
    app.post(
        &on_call,
        "/v1/me/on-call",
        &json!({"start": "2026-11-28T06:00:00+08:00", "end": "2026-11-28T20:00:00+08:00",
                "lat": 31.1912, "lon": 121.5804, "radius_km": 10}),
    )
    .await
    .expect(201);
    let o = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    let first = o["assignments"][0]["worker_id"].clone();
    assert_eq!(first, ws[0]["id"], "{o}");
    // Nobody checks in: at 09:15 the no-show fires; with no standby, the urgent offer goes to the on-call worker.
    app.advance_to("2026-11-28T09:16:00+08:00").await;
    let offers = app.offers(&on_call).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["urgent"], true);
    assert_eq!(offers[0]["expires_at"], "2026-11-28T01:20:00Z");
    assert!(app.offers(&s(&ws[1], "app_token")).await.is_empty());
}
