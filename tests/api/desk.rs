//! The agency's desk: app tokens for imported workers, rotating a token, an order's offers, the agency's
//! assignments, and the events feeds.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

async fn import_with_tokens(app: &TestApp, a: &Agency, lines: &[Value]) -> Value {
    let body = lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let rb = app
        .request(Method::POST, "/v1/workers/import?issue_tokens=true", &a.key)
        .header("content-type", "application/x-ndjson")
        .body(body);
    app.send(rb).await.expect(200)
}

#[tokio::test]
async fn an_import_with_issue_tokens_answers_each_created_workers_id_and_a_working_token() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let lines: Vec<Value> = (0..3)
        .map(|i| near_worker(&format!("T-{i}"), i, &["promoter"]))
        .collect();
    let r = import_with_tokens(&app, &a, &lines).await;
    assert_eq!(r["created"], 3);
    let workers = r["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 3);
    for (i, w) in workers.iter().enumerate() {
        assert_eq!(w["line"], i + 1);
        assert_eq!(w["external_ref"], format!("T-{i}"));
        assert_eq!(w["status"], "created");
        let me = app.get(&s(w, "app_token"), "/v1/me").await.expect(200);
        assert_eq!(me["id"], w["id"]);
    }
    // Importing the same lines again updates them and issues no new token; the old ones still work.
    let again = import_with_tokens(&app, &a, &lines).await;
    assert_eq!(again["updated"], 3);
    for w in again["workers"].as_array().unwrap() {
        assert_eq!(w["status"], "updated");
        assert!(w.get("app_token").is_none(), "{w}");
    }
    app.get(&s(&workers[0], "app_token"), "/v1/me")
        .await
        .expect(200);
    // Without the option the answer still names every worker, but holds no token.
    let plain = app
        .import(&a, &near_worker("T-9", 9, &["promoter"]).to_string())
        .await
        .expect(200);
    assert_eq!(plain["workers"][0]["status"], "created");
    assert!(plain["workers"][0].get("app_token").is_none());
}

#[tokio::test]
async fn issuing_a_new_app_token_revokes_the_old_one_at_once() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let other = app.create_agency().await;
    let w = app
        .post_worker(&a, &near_worker("W-1", 1, &["promoter"]))
        .await;
    let old = s(&w, "app_token");
    app.get(&old, "/v1/me").await.expect(200);
    let path = format!("/v1/workers/{}/app-token", s(&w, "id"));
    let issued = app.post(&a.key, &path, &json!({})).await.expect(201);
    assert_eq!(issued["worker_id"], w["id"]);
    let new = s(&issued, "app_token");
    assert_ne!(new, old);
    app.get(&old, "/v1/me").await.expect(401);
    app.get(&new, "/v1/me").await.expect(200);
    app.post(&other.key, &path, &json!({})).await.expect(404);
    app.post(&new, &path, &json!({})).await.expect(403);
}

#[tokio::test]
async fn an_agency_lists_every_offer_of_its_order_with_its_state() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let other = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let order = app.post_order(&a, &order_json("c", 1, "offer", 3)).await;
    let path = format!("/v1/orders/{}/offers", s(&order, "id"));
    let list = app.get(&a.key, &path).await.expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{list}");
    assert!(
        items
            .iter()
            .all(|o| o["status"] == "pending" && o["role"] == "promoter")
    );
    let mine = &app.offers(&s(&ws[0], "app_token")).await[0];
    app.accept(&s(&ws[0], "app_token"), &s(mine, "id"))
        .await
        .expect(200);
    let list = app.get(&a.key, &path).await.expect(200);
    let statuses: Vec<(String, String)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (s(o, "worker_id"), s(o, "status")))
        .collect();
    assert!(
        statuses.contains(&(s(&ws[0], "id"), "accepted".into())),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|(_, st)| st == "withdrawn").count(),
        2
    );
    // Pages of one follow each other in id order.
    let first = app
        .get(&a.key, &format!("{path}?limit=1"))
        .await
        .expect(200);
    let cursor = s(&first, "next_cursor");
    let second = app
        .get(&a.key, &format!("{path}?limit=1&cursor={cursor}"))
        .await
        .expect(200);
    assert_eq!(second["items"][0]["id"], list["items"][1]["id"]);
    app.get(&other.key, &path).await.expect(404);
}

#[tokio::test]
async fn the_agency_lists_its_assignments_filtered_by_worker_and_status() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let other = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    app.post_order(&a, &order_json("c", 2, "assign", 1)).await;
    let all = app.get(&a.key, "/v1/assignments").await.expect(200);
    let items = all["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{all}");
    let w = s(&items[0], "worker_id");
    let one = app
        .get(
            &a.key,
            &format!("/v1/assignments?worker={w}&status=confirmed"),
        )
        .await
        .expect(200);
    assert_eq!(one["items"].as_array().unwrap().len(), 1);
    let none = app
        .get(&a.key, "/v1/assignments?status=completed")
        .await
        .expect(200);
    assert!(none["items"].as_array().unwrap().is_empty());
    let later = app
        .get(&a.key, "/v1/assignments?from=2026-12-01T00:00:00Z")
        .await
        .expect(200);
    assert!(later["items"].as_array().unwrap().is_empty());
    let r = app.get(&a.key, "/v1/assignments?status=lost").await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.fields(), ["status"]);
    let theirs = app.get(&other.key, "/v1/assignments").await.expect(200);
    assert!(theirs["items"].as_array().unwrap().is_empty());
    let _ = ws;
}

#[tokio::test]
async fn the_events_feed_pages_in_log_order_with_stable_cursors_and_only_the_agencys_events() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    promoters(&app, &a, 2).await;
    promoters(&app, &b, 2).await;
    app.post_order(&a, &order_json("c", 1, "offer", 2)).await;
    let all = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    let items = all["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"worker_created")
            && kinds.contains(&"order_posted")
            && kinds.contains(&"offer_sent"),
        "{kinds:?}"
    );
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    // Agency B's workers are not in A's feed.
    let b_feed = app.get(&b.key, "/v1/events?limit=500").await.expect(200);
    let b_seqs: Vec<i64> = b_feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(b_seqs.iter().all(|s| !seqs.contains(s)));
    let b_kinds: Vec<&str> = b_feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        b_kinds,
        ["agency_created", "worker_created", "worker_created"]
    );
    // Pages of two add up to the whole, in order.
    let mut paged = Vec::new();
    let mut after = String::new();
    loop {
        let q = if after.is_empty() {
            "/v1/events?limit=2".to_string()
        } else {
            format!("/v1/events?limit=2&after={after}")
        };
        let page = app.get(&a.key, &q).await.expect(200);
        paged.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => after = c.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, seqs);
    // Polling from the last cursor answers only what happened since.
    let cursor = s(&all, "cursor");
    let nothing = app
        .get(&a.key, &format!("/v1/events?after={cursor}"))
        .await
        .expect(200);
    assert!(nothing["items"].as_array().unwrap().is_empty());
    assert_eq!(nothing["cursor"], all["cursor"]);
    app.post_worker(&a, &near_worker("N-1", 5, &["promoter"]))
        .await;
    let news = app
        .get(&a.key, &format!("/v1/events?after={cursor}"))
        .await
        .expect(200);
    let news = news["items"].as_array().unwrap();
    assert_eq!(news.len(), 1);
    assert_eq!(news[0]["kind"], "worker_created");
    let r = app.get(&a.key, "/v1/events?after=garbage").await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.fields(), ["after"]);
}

#[tokio::test]
async fn a_worker_reads_its_own_events_and_nobody_elses() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    app.post_order(&a, &order_json("c", 1, "offer", 2)).await;
    let mine = app
        .get(&s(&ws[0], "app_token"), "/v1/me/events")
        .await
        .expect(200);
    let items = mine["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|e| e["data"]["worker"] == ws[0]["id"]),
        "{mine}"
    );
    assert!(items.iter().any(|e| e["kind"] == "offer_sent"));
    app.get(&a.key, "/v1/me/events").await.expect(403);
}

#[tokio::test]
async fn an_agency_makes_lists_and_revokes_its_keys_and_a_revoked_key_is_refused_at_once() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let other = app.create_agency().await;
    let keys = app.get(&a.key, "/v1/agency/keys").await.expect(200);
    let first = keys["items"].as_array().unwrap();
    assert_eq!(first.len(), 1);
    assert!(first[0].get("api_key").is_none());
    let first_id = s(&first[0], "id");
    let made = app
        .post(&a.key, "/v1/agency/keys", &json!({"label": "booking tool"}))
        .await
        .expect(201);
    assert_eq!(made["label"], "booking tool");
    let second = s(&made, "api_key");
    app.get(&second, "/v1/workers").await.expect(200);
    let keys = app.get(&second, "/v1/agency/keys").await.expect(200);
    assert_eq!(keys["items"].as_array().unwrap().len(), 2);
    assert!(
        keys["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("api_key").is_none())
    );
    // Another agency cannot see or revoke them.
    let path = format!("/v1/agency/keys/{first_id}");
    app.delete(&other.key, &path).await.expect(404);
    // The first key, revoked with the second, stops working at once.
    app.get(&a.key, "/v1/workers").await.expect(200);
    let r = app.delete(&second, &path).await;
    assert_eq!(r.status.as_u16(), 204);
    app.get(&a.key, "/v1/workers").await.expect(401);
    assert!(
        app.get(&second, "/v1/agency/keys").await.expect(200)["items"][0]["revoked_at"].is_string()
    );
    app.delete(&second, &path).await.expect(409);
    // The last live key cannot go.
    let last = format!("/v1/agency/keys/{}", s(&made, "id"));
    app.delete(&second, &last).await.expect(409);
    app.delete(&second, "/v1/agency/keys/key_ffff")
        .await
        .expect(404);
    app.delete(&second, "/v1/agency/keys/nope")
        .await
        .expect(404);
}
