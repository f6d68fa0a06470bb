//! Talent pools: an agency's named lists of workers, kept with `/v1/pools`; a role restricts its candidates to a
//! pool or prefers it (the `pool` feature of the explanation).

use serde_json::{Value, json};

use crate::helpers::*;

fn ids(ws: &[Value]) -> Vec<String> {
    ws.iter().map(|w| s(w, "id")).collect()
}

#[tokio::test]
async fn an_agency_makes_lists_renames_refills_and_deletes_its_pools() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let made = app
        .post(
            &a.key,
            "/v1/pools",
            &json!({"name": "Bilingual crew", "workers": [s(&ws[1], "id"), s(&ws[0], "id")]}),
        )
        .await
        .expect(201);
    let id = s(&made, "id");
    assert!(id.starts_with("pol_"));
    assert_eq!(made["name"], "Bilingual crew");
    assert_eq!(made["workers"], json!(ids(&ws[..2])), "sorted by id");
    let list = app.get(&a.key, "/v1/pools").await.expect(200);
    assert_eq!(list["items"].as_array().expect("items").len(), 1);
    let put = app
        .call(
            reqwest::Method::PUT,
            &format!("/v1/pools/{id}"),
            Some(&a.key),
            Some(&json!({"name": "Forklift", "workers": [s(&ws[2], "id")]})),
        )
        .await
        .expect(200);
    assert_eq!(put["name"], "Forklift");
    let read = app
        .get(&a.key, &format!("/v1/pools/{id}"))
        .await
        .expect(200);
    assert_eq!(read["workers"], json!([s(&ws[2], "id")]));
    // Another agency sees none of it and cannot put its workers in.
    let b = app.create_agency().await;
    app.get(&b.key, &format!("/v1/pools/{id}"))
        .await
        .expect(404);
    let r = app
        .post(
            &b.key,
            "/v1/pools",
            &json!({"name": "Theirs", "workers": [s(&ws[0], "id")]}),
        )
        .await
        .expect(422);
    assert_eq!(r["errors"][0]["field"], "workers[0]");
    app.call(
        reqwest::Method::DELETE,
        &format!("/v1/pools/{id}"),
        Some(&a.key),
        None,
    )
    .await
    .expect(204);
    app.get(&a.key, &format!("/v1/pools/{id}"))
        .await
        .expect(404);
    let feed = app.get(&a.key, "/v1/events?limit=200").await.expect(200);
    let kinds: Vec<&str> = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "pool_set").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "pool_deleted").count(), 1);
}

#[tokio::test]
async fn a_role_restricted_to_a_pool_offers_only_its_workers_and_counts_the_others_as_not_in_pool()
{
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let pool = app
        .post(
            &a.key,
            "/v1/pools",
            &json!({"name": "Fixed crew", "workers": [s(&ws[2], "id"), s(&ws[3], "id")]}),
        )
        .await
        .expect(201);
    let mut body = order_json("pool-client", 3, "offer", 1);
    body["roles"][0]["pool"] = json!({"id": s(&pool, "id"), "mode": "restrict"});
    let order = app.post_order(&a, &body).await;
    let id = s(&order, "id");
    assert_eq!(order["roles"][0]["pool"]["mode"], "restrict");
    let offers = app
        .get(&a.key, &format!("/v1/orders/{id}/offers"))
        .await
        .expect(200);
    let mut offered: Vec<String> = offers["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| s(o, "worker_id"))
        .collect();
    offered.sort();
    assert_eq!(offered, ids(&ws[2..]), "only the pool's workers");
    let c = app
        .get(&a.key, &format!("/v1/orders/{id}/candidates"))
        .await
        .expect(200);
    assert_eq!(c["excluded"]["not_in_pool"], 2, "{c}");
    let why = app
        .get(
            &a.key,
            &format!("/v1/orders/{id}/candidates?worker={}", s(&ws[0], "id")),
        )
        .await
        .expect(200);
    assert_eq!(why["worker"]["reason"], "not_in_pool");
}

#[tokio::test]
async fn a_role_preferring_a_pool_ranks_its_workers_higher_with_the_pool_feature_in_the_explanation()
 {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let pool = app
        .post(
            &a.key,
            "/v1/pools",
            &json!({"name": "Preferred", "workers": [s(&ws[2], "id"), s(&ws[3], "id")]}),
        )
        .await
        .expect(201);
    let mut body = order_json("prefer-client", 1, "assign", 1);
    body["roles"][0]["pool"] = json!({"id": s(&pool, "id")});
    let order = app.post_order(&a, &body).await;
    assert_eq!(order["roles"][0]["pool"]["mode"], "prefer");
    assert_eq!(
        order["assignments"][0]["worker_id"], ws[2]["id"],
        "the closest of the pool, ahead of closer workers outside it"
    );
    // The other pool worker leads the candidates with the pool's weight; the rest are candidates too.
    let c = app
        .get(
            &a.key,
            &format!("/v1/orders/{}/candidates", s(&order, "id")),
        )
        .await
        .expect(200);
    assert!(c["excluded"].get("not_in_pool").is_none(), "{c}");
    let items = c["items"].as_array().expect("items");
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["worker_id"], ws[3]["id"]);
    assert_eq!(items[0]["explain"]["pool"], 0.1);
    for item in &items[1..] {
        assert_eq!(item["explain"]["pool"], 0.0, "{item}");
    }
}

#[tokio::test]
async fn a_role_naming_another_agencys_pool_is_refused() {
    let app = spawn_app().await;
    let (a, b) = (app.create_agency().await, app.create_agency().await);
    let theirs = app
        .post(&b.key, "/v1/pools", &json!({"name": "Theirs"}))
        .await
        .expect(201);
    let mut body = order_json("pool-bad", 1, "offer", 1);
    body["roles"][0]["pool"] = json!({"id": s(&theirs, "id"), "mode": "restrict"});
    let r = app.try_post_order(&a, &body).await.expect(422);
    assert_eq!(r["errors"][0]["field"], "roles[0].pool.id");
}
