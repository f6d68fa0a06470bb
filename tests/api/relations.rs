//! A client's favourites and blocks, managed by the agency: favourites rank first for the client's orders, a
//! blocked worker is never a candidate for them; the lists are the client's alone.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_favourite_ranks_first_and_a_blocked_worker_is_no_candidate_for_that_clients_orders_only()
{
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let workers = promoters(&app, &a, 4).await;
    let id = |i: usize| s(&workers[i], "id");
    // The farthest promoter becomes the client's favourite, the closest is blocked.
    app.post(
        &a.key,
        "/v1/clients/acme/favourites",
        &json!({"worker_id": id(3)}),
    )
    .await
    .expect(201);
    app.post(
        &a.key,
        "/v1/clients/acme/blocks",
        &json!({"worker_id": id(0)}),
    )
    .await
    .expect(201);
    // Adding again changes nothing.
    app.post(
        &a.key,
        "/v1/clients/acme/blocks",
        &json!({"worker_id": id(0)}),
    )
    .await
    .expect(200);

    // The one offer goes to the favourite; the blocked worker is not among the rest.
    let offered = |order: serde_json::Value| {
        let app = &app;
        let a = &a;
        async move {
            let offers = app
                .get(&a.key, &format!("/v1/orders/{}/offers", s(&order, "id")))
                .await
                .expect(200);
            s(&offers["items"][0], "worker_id")
        }
    };
    let acme = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    assert_eq!(offered(acme.clone()).await, id(3));
    let ranked = app.candidate_ids(&a, &s(&acme, "id"), "promoter").await;
    assert_eq!(ranked, vec![id(1), id(2)]);
    // Another client's order sees none of it: the closest is offered.
    let other = app
        .post_order(&a, &order_json("globex", 1, "assign", 1))
        .await;
    assert_eq!(other["assignments"][0]["worker_id"], id(0).as_str());

    let favs = app
        .get(&a.key, "/v1/clients/acme/favourites")
        .await
        .expect(200);
    assert_eq!(favs["items"][0]["worker_id"], id(3));
    assert_eq!(favs["items"].as_array().unwrap().len(), 1);
    let blocks = app.get(&a.key, "/v1/clients/acme/blocks").await.expect(200);
    assert_eq!(blocks["items"][0]["worker_id"], id(0));

    // Blocking a favourite moves it to the blocks; lifting the block makes it a candidate again.
    app.post(
        &a.key,
        "/v1/clients/acme/blocks",
        &json!({"worker_id": id(3)}),
    )
    .await
    .expect(201);
    let favs = app
        .get(&a.key, "/v1/clients/acme/favourites")
        .await
        .expect(200);
    assert_eq!(favs["items"].as_array().unwrap().len(), 0);
    for i in [0, 3] {
        app.delete(&a.key, &format!("/v1/clients/acme/blocks/{}", id(i)))
            .await
            .expect(204);
    }
    app.delete(&a.key, &format!("/v1/clients/acme/blocks/{}", id(0)))
        .await
        .expect(404);
    let mut third = order_json("acme", 1, "offer", 1);
    third["start"] = json!("2026-11-29T09:00:00+08:00");
    third["end"] = json!("2026-11-29T18:00:00+08:00");
    let third = app.post_order(&a, &third).await;
    let mut ranked = app.candidate_ids(&a, &s(&third, "id"), "promoter").await;
    ranked.push(offered(third).await);
    assert!(
        ranked.contains(&id(0)) && ranked.contains(&id(3)),
        "{ranked:?}"
    );
    // The feed has each change.
    let events = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    let changes = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "client_lists_set")
        .count();
    assert_eq!(changes, 5);
}

#[tokio::test]
async fn client_lists_need_a_client_and_one_of_the_agencys_workers() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    let mine = app
        .post_worker(&a, &near_worker("M-1", 1, &["promoter"]))
        .await;
    // Another agency's worker, or no such worker: 404.
    app.post(
        &b.key,
        "/v1/clients/acme/favourites",
        &json!({"worker_id": s(&mine, "id")}),
    )
    .await
    .expect(404);
    app.post(
        &a.key,
        "/v1/clients/acme/favourites",
        &json!({"worker_id": "wrk_ffffff"}),
    )
    .await
    .expect(404);
    // An empty client (orders without a client_ref share no list), a bad body: 422.
    app.post(
        &a.key,
        "/v1/clients/%20/favourites",
        &json!({"worker_id": s(&mine, "id")}),
    )
    .await
    .expect(422);
    app.get(&a.key, "/v1/clients/%20/blocks").await.expect(422);
    app.post(
        &a.key,
        "/v1/clients/acme/favourites",
        &json!({"worker": s(&mine, "id")}),
    )
    .await
    .expect(422);
    // A worker token is not the agency.
    app.get(&s(&mine, "app_token"), "/v1/clients/acme/favourites")
        .await
        .expect(403);
    let favs = app
        .get(&a.key, "/v1/clients/acme/favourites")
        .await
        .expect(200);
    assert_eq!(favs["items"].as_array().unwrap().len(), 0);
}
