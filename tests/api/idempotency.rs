//! `Idempotency-Key`: a replay answers the first response again and does nothing twice; another body under the
//! same key is a 422.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn post_with_key(app: &TestApp, token: &str, path: &str, key: &str, body: &Value) -> Answer {
    let rb = app
        .request(Method::POST, path, token)
        .header("Idempotency-Key", key)
        .json(body);
    app.send(rb).await
}

#[tokio::test]
async fn the_same_key_and_body_answers_the_same_and_creates_one_worker() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let body = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    let first = post_with_key(&app, &a.key, "/v1/workers", "k-1", &body).await;
    let second = post_with_key(&app, &a.key, "/v1/workers", "k-1", &body).await;
    assert_eq!(first.status.as_u16(), 201, "{}", first.body);
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body);
    let all = app.get(&a.key, "/v1/workers").await.expect(200);
    assert_eq!(all["items"].as_array().expect("items").len(), 1);
}

#[tokio::test]
async fn the_same_key_and_body_creates_one_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let body = order_json("c", 1, "offer", 1);
    let first = post_with_key(&app, &a.key, "/v1/orders", "o-1", &body).await;
    let second = post_with_key(&app, &a.key, "/v1/orders", "o-1", &body).await;
    assert_eq!(first.status.as_u16(), 201, "{}", first.body);
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body);
    let all = app.get(&a.key, "/v1/orders").await.expect(200);
    assert_eq!(all["items"].as_array().expect("items").len(), 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422_and_does_nothing() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let first = post_with_key(
        &app,
        &a.key,
        "/v1/workers",
        "k-1",
        &worker_json("W-1", 31.23, 121.47, &["promoter"]),
    )
    .await;
    assert_eq!(first.status.as_u16(), 201);
    let other = post_with_key(
        &app,
        &a.key,
        "/v1/workers",
        "k-1",
        &worker_json("W-2", 31.23, 121.47, &["promoter"]),
    )
    .await;
    assert_eq!(other.status.as_u16(), 422, "{}", other.body);
    let all = app.get(&a.key, "/v1/workers").await.expect(200);
    let items = all["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["external_ref"], "W-1");
}

#[tokio::test]
async fn a_replayed_failure_answers_the_same_failure() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut bad = order_json("c", 1, "offer", 1);
    bad["roles"][0]["headcount"] = json!(0);
    let first = post_with_key(&app, &a.key, "/v1/orders", "bad-1", &bad).await;
    let second = post_with_key(&app, &a.key, "/v1/orders", "bad-1", &bad).await;
    assert_eq!(first.status.as_u16(), 422);
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body);
}

#[tokio::test]
async fn a_keyed_accept_answers_its_new_assignment_and_a_retry_replays_it() {
    // The handler reads the assignment it has just made while the request's transaction waits for the key:
    // it must read its own writes.
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let workers = promoters(&app, &a, 1).await;
    let token = s(&workers[0], "app_token");
    app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    let offer = s(&app.offers(&token).await[0], "id");
    let path = format!("/v1/offers/{offer}/accept");
    let first = post_with_key(&app, &token, &path, "acc-1", &json!({})).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.body);
    assert_eq!(first.body["assignment"]["status"], "confirmed");
    let again = post_with_key(&app, &token, &path, "acc-1", &json!({})).await;
    assert_eq!(again.status, first.status);
    assert_eq!(again.body, first.body);
    let mine = app.get(&token, "/v1/me/assignments").await.expect(200);
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);
}

/// The saved bodies of the idempotency table, read straight from the database.
async fn saved_bodies(app: &TestApp) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url)
        .await
        .expect("the database");
    let rows: Vec<(String,)> = sqlx::query_as("SELECT body FROM idempotency")
        .fetch_all(&pool)
        .await
        .expect("the idempotency table");
    pool.close().await;
    rows.into_iter().map(|r| r.0).collect()
}

#[tokio::test]
async fn a_keyed_answer_holding_a_token_is_kept_sealed_and_replays_only_to_the_same_credential() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = near_worker("S-1", 1, &["promoter"]);
    let first = post_with_key(&app, &a.key, "/v1/workers", "sealed-1", &w)
        .await
        .expect(201);
    let token = s(&first, "app_token");
    let again = post_with_key(&app, &a.key, "/v1/workers", "sealed-1", &w)
        .await
        .expect(201);
    assert_eq!(again["app_token"], first["app_token"]);
    // Nothing in the table holds the token, or any readable answer.
    let bodies = saved_bodies(&app).await;
    assert_eq!(bodies.len(), 1);
    assert!(
        !bodies[0].contains(&token),
        "the app token is kept in plaintext"
    );
    assert!(bodies[0].starts_with("sealed1:"), "{}", bodies[0]);
    // Another key of the same agency cannot read it back.
    let other = app
        .post(&a.key, "/v1/agency/keys", &json!({"label": "second"}))
        .await
        .expect(201);
    let r = post_with_key(&app, &s(&other, "api_key"), "/v1/workers", "sealed-1", &w).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.fields(), ["Idempotency-Key"]);
    assert!(!r.body.to_string().contains(&token));
}
