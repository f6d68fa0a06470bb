//! Error answers: status codes, problem documents with field paths, and failed requests changing nothing.

use reqwest::Method;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_request_without_a_token_or_with_a_bad_one_is_401() {
    let app = spawn_app().await;
    let none = app.call(Method::GET, "/v1/workers", None, None).await;
    assert_eq!(none.status.as_u16(), 401);
    assert_eq!(none.content_type, "application/problem+json");
    assert_eq!(none.body["status"], 401);
    app.get("not-a-token", "/v1/workers").await.expect(401);
    app.get("not-a-token", "/v1/me").await.expect(401);
    app.post("nope", "/v1/agencies", &json!({"name": "x"}))
        .await
        .expect(401);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_to_post_workers_is_413() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut w = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    w["bio"] = json!("x".repeat(1024 * 1024 + 10));
    let r = app.upsert_worker(&a, &w).await;
    assert_eq!(r.status.as_u16(), 413, "{}", r.body);
    assert_eq!(r.body["status"], 413);
    let all = app.get(&a.key, "/v1/workers").await.expect(200);
    assert!(all["items"].as_array().expect("items").is_empty());
}

#[tokio::test]
async fn a_zero_headcount_is_422_naming_roles_0_headcount_and_creates_no_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut o = order_json("c", 1, "offer", 1);
    o["roles"][0]["headcount"] = json!(0);
    let r = app.try_post_order(&a, &o).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    assert!(
        r.fields().contains(&"roles[0].headcount".to_string()),
        "{}",
        r.body
    );
    let list = app.get(&a.key, "/v1/orders").await.expect(200);
    assert!(list["items"].as_array().expect("items").is_empty());
}

#[tokio::test]
async fn a_latitude_out_of_range_is_422_naming_home_lat() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut w = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    w["home"]["lat"] = json!(95.0);
    let r = app.upsert_worker(&a, &w).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(r.fields().contains(&"home.lat".to_string()), "{}", r.body);
}

#[tokio::test]
async fn an_unknown_field_is_422_naming_it() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut w = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    w["shoe_size"] = json!(42);
    let r = app.upsert_worker(&a, &w).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(r.body.to_string().contains("shoe_size"), "{}", r.body);
}

#[tokio::test]
async fn a_time_without_an_offset_is_422_naming_the_field() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut o = order_json("c", 1, "offer", 1);
    o["start"] = json!("2026-11-28T09:00:00");
    let r = app.try_post_order(&a, &o).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(r.fields().contains(&"start".to_string()), "{}", r.body);
    let list = app.get(&a.key, "/v1/orders").await.expect(200);
    assert!(list["items"].as_array().expect("items").is_empty());
}

#[tokio::test]
async fn malformed_json_is_400_and_a_non_json_body_is_415() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let bad = app
        .request(Method::POST, "/v1/workers", &a.key)
        .header("content-type", "application/json")
        .body("{\"external_ref\": ");
    let r = app.send(bad).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert_eq!(r.content_type, "application/problem+json");
    let text = app
        .request(Method::POST, "/v1/workers", &a.key)
        .header("content-type", "text/plain")
        .body(worker_json("W-1", 31.23, 121.47, &[]).to_string());
    let r = app.send(text).await;
    assert_eq!(r.status.as_u16(), 415, "{}", r.body);
    let all = app.get(&a.key, "/v1/workers").await.expect(200);
    assert!(all["items"].as_array().expect("items").is_empty());
}

#[tokio::test]
async fn an_unknown_id_is_404_as_a_problem_document() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let r = app.get(&a.key, "/v1/workers/does-not-exist").await;
    assert_eq!(r.status.as_u16(), 404);
    assert_eq!(r.content_type, "application/problem+json");
    app.get(&a.key, "/v1/orders/nope").await.expect(404);
}

#[tokio::test]
async fn the_manual_clock_only_moves_forward() {
    let app = spawn_app().await;
    app.advance_to("2026-11-24T08:00:00Z").await;
    let back = app
        .admin_post("/v1/admin/clock", &json!({"now": "2026-11-23T09:00:00Z"}))
        .await;
    assert_eq!(back.status.as_u16(), 409, "{}", back.body);
    let a = app.create_agency().await;
    // Only the operator moves the clock.
    app.post(
        &a.key,
        "/v1/admin/clock",
        &json!({"now": "2026-11-25T08:00:00Z"}),
    )
    .await;
    let now = app
        .call(Method::GET, "/v1/admin/clock", Some(ADMIN_TOKEN), None)
        .await
        .expect(200);
    assert_eq!(now["now"], "2026-11-24T08:00:00Z");
}

#[tokio::test]
async fn an_agency_key_cannot_create_agencies() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let r = app
        .post(&a.key, "/v1/agencies", &json!({"name": "x"}))
        .await;
    assert!(r.status.is_client_error(), "{}", r.body);
    assert_ne!(r.status.as_u16(), 201);
}
