//! Tenancy: an agency sees nothing of another agency's workers, orders and assignments, and a worker nothing
//! of another worker's offers (404, as if it did not exist).

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn another_agency_reading_or_changing_a_worker_gets_404() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    let w = app
        .post_worker(&a, &worker_json("W-1", 31.23, 121.47, &["promoter"]))
        .await;
    let path = format!("/v1/workers/{}", s(&w, "id"));
    app.get(&b.key, &path).await.expect(404);
    app.patch(&b.key, &path, &json!({"bio": "mine now"}))
        .await
        .expect(404);
    app.delete(&b.key, &path).await.expect(404);
    let list = app.get(&b.key, "/v1/workers").await.expect(200);
    assert!(list["items"].as_array().expect("items").is_empty());
    // Nothing changed for the owner.
    let got = app.get(&a.key, &path).await.expect(200);
    assert_eq!(got["bio"], w["bio"]);
}

#[tokio::test]
async fn another_agency_reading_an_order_or_its_assignments_gets_404() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    promoters(&app, &a, 1).await;
    let o = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    let oid = s(&o, "id");
    let asg = s(&o["assignments"][0], "id");
    app.get(&b.key, &format!("/v1/orders/{oid}"))
        .await
        .expect(404);
    app.get(&b.key, &format!("/v1/orders/{oid}/candidates"))
        .await
        .expect(404);
    app.post(&b.key, &format!("/v1/orders/{oid}/cancel"), &json!({}))
        .await
        .expect(404);
    app.post(&b.key, &format!("/v1/assignments/{asg}/cancel"), &json!({}))
        .await
        .expect(404);
    app.post(
        &b.key,
        &format!("/v1/assignments/{asg}/no-show"),
        &json!({}),
    )
    .await
    .expect(404);
    let list = app.get(&b.key, "/v1/orders").await.expect(200);
    assert!(list["items"].as_array().expect("items").is_empty());
    let still = app.order(&a, &oid).await;
    assert_eq!(still["status"], "filled");
    assert_eq!(still["assignments"][0]["status"], "confirmed");
}

#[tokio::test]
async fn a_worker_token_reaching_another_workers_offer_or_assignment_gets_404() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    let o = app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    // Whoever holds the offer, the other one tries to take it.
    let mut holder_token = None;
    let mut offer_id = None;
    for w in &ws {
        let offers = app.offers(&s(w, "app_token")).await;
        if let Some(off) = offers.first() {
            holder_token = Some(s(w, "app_token"));
            offer_id = Some(s(off, "id"));
        }
    }
    let holder_token = holder_token.expect("one worker holds the offer");
    let offer_id = offer_id.expect("an offer");
    let other = ws
        .iter()
        .map(|w| s(w, "app_token"))
        .find(|t| *t != holder_token)
        .expect("the other worker");
    app.accept(&other, &offer_id).await.expect(404);
    app.decline(&other, &offer_id).await.expect(404);
    let acc = app.accept(&holder_token, &offer_id).await.expect(200);
    let asg = s(&acc["assignment"], "id");
    app.post(&other, &format!("/v1/assignments/{asg}/cancel"), &json!({}))
        .await
        .expect(404);
    let o = app.order(&a, &s(&o, "id")).await;
    assert_eq!(o["status"], "filled");
}
