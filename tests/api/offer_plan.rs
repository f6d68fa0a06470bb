//! Offer mode plans the crew: offers follow the optimal crew across roles (quotas included), a quota counts
//! towards `filled`, expired offers are asked again once after a pause, and an order short of candidates is
//! marked at risk and may widen its reach.

use std::collections::HashMap;

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

const SAMPLE_ORDER: &str = include_str!("../../data/order-sample.json");
const SAMPLE_WORKERS: &str = include_str!("../../data/workers-sample.ndjson");

/// Imports NDJSON lines with app tokens; worker id → token.
async fn import_tokens(app: &TestApp, a: &Agency, ndjson: &str) -> HashMap<String, String> {
    let rb = app
        .request(Method::POST, "/v1/workers/import?issue_tokens=true", &a.key)
        .header("content-type", "application/x-ndjson")
        .body(ndjson.to_string());
    let r = app.send(rb).await.expect(200);
    r["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .filter_map(|w| Some((s(w, "id"), w.get("app_token")?.as_str()?.to_string())))
        .collect()
}

/// Every offer of an order, oldest first.
async fn order_offers(app: &TestApp, a: &Agency, order: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/orders/{order}/offers?limit=200&cursor={c}"),
            None => format!("/v1/orders/{order}/offers?limit=200"),
        };
        let page = app.get(&a.key, &path).await.expect(200);
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

/// Accepts every pending shift offer of the order as it comes, until none is left; the accepts that took.
async fn accept_everything(
    app: &TestApp,
    a: &Agency,
    order: &str,
    tokens: &HashMap<String, String>,
) -> usize {
    let mut accepted = 0;
    let mut tried = std::collections::HashSet::new();
    loop {
        let pending: Vec<Value> = order_offers(app, a, order)
            .await
            .into_iter()
            .filter(|o| o["status"] == "pending" && o["kind"] == "shift")
            .filter(|o| !tried.contains(&s(o, "id")))
            .collect();
        if pending.is_empty() {
            return accepted;
        }
        for o in pending {
            tried.insert(s(&o, "id"));
            let token = &tokens[&s(&o, "worker_id")];
            if app.accept(token, &s(&o, "id")).await.status == 200 {
                accepted += 1;
            }
        }
    }
}

fn filled(order: &Value) -> Vec<(String, u64, u64)> {
    order["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .map(|r| {
            (
                s(r, "name"),
                r["filled"].as_u64().expect("filled"),
                r["headcount"].as_u64().expect("headcount"),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_sample_order_in_offer_mode_offers_every_role_and_fills_27_of_27_when_everyone_accepts()
{
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let tokens = import_tokens(&app, &a, SAMPLE_WORKERS).await;
    assert_eq!(tokens.len(), 2000);
    let body: Value = serde_json::from_str(SAMPLE_ORDER).expect("the sample order");
    let t = std::time::Instant::now();
    let order = app.post_order(&a, &body).await;
    eprintln!("posting the sample order took {:?}", t.elapsed());
    let id = s(&order, "id");
    let offers = order_offers(&app, &a, &id).await;
    for role in ["promoter", "hostess", "bilingual promoter"] {
        assert!(
            offers
                .iter()
                .any(|o| o["role"] == role && o["kind"] == "shift" && o["status"] == "pending"),
            "no offer for {role}"
        );
    }
    let accepted = accept_everything(&app, &a, &id, &tokens).await;
    assert_eq!(accepted, 27);
    let order = app.order(&a, &id).await;
    assert_eq!(order["status"], "filled");
    for (name, f, h) in filled(&order) {
        assert_eq!(f, h, "{name}");
    }
}

/// Posts promoters near the venue: `zh` only for the first `plain`, then `english` who also speak English,
/// farther away (so they rank lower); their views (`app_token` included).
async fn crew_with_english(app: &TestApp, a: &Agency, plain: usize, english: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..plain + english {
        let mut w = near_worker(&format!("Q-{i}"), i, &["promoter"]);
        if i < plain {
            w["languages"] = serde_json::json!(["zh"]);
        }
        out.push(app.post_worker(a, &w).await);
    }
    out
}

#[tokio::test]
async fn a_quota_order_is_not_filled_while_the_quota_is_unmet_and_never_offers_a_slot_that_would_make_it_impossible()
 {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    // Six promoters who speak only Chinese rank first; one English speaker, for a quota of two.
    let ws = crew_with_english(&app, &a, 6, 1).await;
    let tokens: HashMap<String, String> =
        ws.iter().map(|w| (s(w, "id"), s(w, "app_token"))).collect();
    let english = s(&ws[6], "id");
    let mut body = order_json("quota-client", 4, "offer", 1);
    body["roles"][0]["quotas"] = serde_json::json!([{"at_least": 2, "languages": ["en"]}]);
    let order = app.post_order(&a, &body).await;
    let id = s(&order, "id");
    let offers = order_offers(&app, &a, &id).await;
    let plain_offers = offers.iter().filter(|o| o["worker_id"] != english).count();
    assert_eq!(plain_offers, 2, "room for two without English: {offers:?}");
    assert!(offers.iter().any(|o| o["worker_id"] == english));
    let accepted = accept_everything(&app, &a, &id, &tokens).await;
    assert_eq!(accepted, 3);
    let order = app.order(&a, &id).await;
    assert_eq!(order["roles"][0]["filled"], 3);
    assert_eq!(order["status"], "open", "the quota is unmet");
    // Over the whole order, no more than two workers without English were ever offered the role.
    let all = order_offers(&app, &a, &id).await;
    assert_eq!(all.iter().filter(|o| o["worker_id"] != english).count(), 2);
    // A second English speaker appears: the last slot goes to them and the order is filled.
    let mut w = near_worker("Q-late", 9, &["promoter"]);
    w["external_ref"] = "Q-late".into();
    let late = app.post_worker(&a, &w).await;
    app.patch(
        &a.key,
        &format!("/v1/orders/{id}"),
        &serde_json::json!({"roles": [{"name": "promoter", "headcount": 4}]}),
    )
    .await
    .expect(200);
    let mut tokens = tokens;
    tokens.insert(s(&late, "id"), s(&late, "app_token"));
    assert_eq!(accept_everything(&app, &a, &id, &tokens).await, 1);
    let order = app.order(&a, &id).await;
    assert_eq!(order["status"], "filled");
}

#[tokio::test]
async fn widening_raises_the_reach_up_to_the_cap_and_no_further_and_an_order_still_short_is_at_risk_with_an_event()
 {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    // Promoters 1, 10 and 20 km north of the venue.
    for (i, km) in [0usize, 9, 19].into_iter().enumerate() {
        app.post_worker(&a, &near_worker(&format!("W-{i}"), km, &["promoter"]))
            .await;
    }
    let mut body = order_json("far-client", 3, "offer", 1);
    body["max_travel_km"] = 3.into();
    body["widen"] = serde_json::json!({"step_km": 5, "max_km": 15});
    let order = app.post_order(&a, &body).await;
    let id = s(&order, "id");
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(
        offers.len(),
        2,
        "the 20 km promoter is beyond the cap: {offers:?}"
    );
    let order = app.order(&a, &id).await;
    assert_eq!(order["max_travel_km"], 15.0);
    assert_eq!(order["at_risk"]["reason"], "no_candidates");
    assert_eq!(order["at_risk"]["open_slots"], 1);
    let feed = app.get(&a.key, "/v1/events?limit=200").await.expect(200);
    let kinds: Vec<&str> = feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "order_widened").count(), 3);
    assert_eq!(kinds.iter().filter(|k| **k == "order_at_risk").count(), 1);
}

#[tokio::test]
async fn an_order_without_widening_keeps_its_reach_and_is_at_risk_when_candidates_run_out() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 1).await;
    let order = app
        .post_order(&a, &order_json("short-client", 2, "offer", 1))
        .await;
    let id = s(&order, "id");
    let order = app.order(&a, &id).await;
    assert_eq!(order["at_risk"]["open_slots"], 1);
    assert!(order.get("widen").is_none());
    // The one offered worker declines: no one covers either slot now.
    let offer = &app.offers(&s(&ws[0], "app_token")).await[0];
    app.decline(&s(&ws[0], "app_token"), &s(offer, "id"))
        .await
        .expect(200);
    let order = app.order(&a, &id).await;
    assert_eq!(order["at_risk"]["open_slots"], 2);
}

/// The kinds of an agency's events, oldest first.
async fn event_kinds(app: &TestApp, a: &Agency) -> Vec<String> {
    let feed = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    feed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["kind"].as_str().map(String::from))
        .collect()
}

#[tokio::test]
async fn workers_whose_offers_expired_are_asked_again_once_after_the_pause_when_candidates_ran_out()
{
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    let order = app
        .post_order(&a, &order_json("again-client", 2, "offer", 1))
        .await;
    let id = s(&order, "id");
    assert_eq!(order_offers(&app, &a, &id).await.len(), 2);
    // Both offers expire at 08:15 (15-minute TTL); nobody else is left, so the order is at risk.
    app.advance_to("2026-11-23T08:44:00Z").await;
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(
        offers.len(),
        2,
        "not before the 30-minute pause: {offers:?}"
    );
    assert!(offers.iter().all(|o| o["status"] == "expired"));
    assert_eq!(app.order(&a, &id).await["at_risk"]["open_slots"], 2);
    // At 08:45 the pause has passed: each is offered the slot again.
    app.advance_to("2026-11-23T08:46:00Z").await;
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(offers.len(), 4, "{offers:?}");
    for w in &ws {
        let again: Vec<&Value> = offers
            .iter()
            .filter(|o| o["worker_id"] == w["id"] && o["status"] == "pending")
            .collect();
        assert_eq!(again.len(), 1, "{} is asked again: {offers:?}", s(w, "id"));
    }
    assert_eq!(app.order(&a, &id).await["at_risk"], Value::Null);
    let kinds = event_kinds(&app, &a).await;
    assert_eq!(kinds.iter().filter(|k| *k == "offers_reopened").count(), 1);
    // The second offers expire too: nobody is asked a third time, however long the order waits.
    app.advance_to("2026-11-24T08:00:00Z").await;
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(offers.len(), 4, "asked only once more: {offers:?}");
    assert!(offers.iter().all(|o| o["status"] == "expired"));
    assert_eq!(app.order(&a, &id).await["at_risk"]["open_slots"], 2);
    // The one asked again can still accept a fresh slot only by hand; an accept of the expired offer fails.
    let token = s(&ws[0], "app_token");
    let last = offers
        .iter()
        .rfind(|o| o["worker_id"] == ws[0]["id"])
        .expect("an offer");
    assert_ne!(app.accept(&token, &s(last, "id")).await.status, 200);
}

#[tokio::test]
async fn an_order_that_still_has_candidates_asks_no_one_again() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 4).await;
    let order = app
        .post_order(&a, &order_json("busy-client", 1, "offer", 1))
        .await;
    let id = s(&order, "id");
    // Each expiry moves the offer to the next candidate (08:15, 08:30, 08:45); the first worker's pause has
    // passed by 08:59, but the order never ran out of candidates, so nobody is asked again.
    app.advance_to("2026-11-23T08:59:00Z").await;
    let offers = order_offers(&app, &a, &id).await;
    let workers: std::collections::HashSet<String> =
        offers.iter().map(|o| s(o, "worker_id")).collect();
    assert_eq!(offers.len(), 4, "{offers:?}");
    assert_eq!(workers.len(), 4, "four different workers, nobody twice");
    assert!(
        !event_kinds(&app, &a)
            .await
            .iter()
            .any(|k| k == "offers_reopened")
    );
}

#[tokio::test]
async fn a_pause_of_zero_minutes_never_asks_again() {
    let app = spawn_app_reoffering_after(0).await;
    let a = app.create_agency().await;
    promoters(&app, &a, 1).await;
    let order = app
        .post_order(&a, &order_json("never-client", 1, "offer", 1))
        .await;
    let id = s(&order, "id");
    app.advance_to("2026-11-24T08:00:00Z").await;
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["status"], "expired");
    assert_eq!(app.order(&a, &id).await["at_risk"]["open_slots"], 1);
}

#[tokio::test]
async fn a_shorter_configured_pause_asks_again_sooner() {
    let app = spawn_app_reoffering_after(5).await;
    let a = app.create_agency().await;
    promoters(&app, &a, 1).await;
    let order = app
        .post_order(&a, &order_json("soon-client", 1, "offer", 1))
        .await;
    let id = s(&order, "id");
    app.advance_to("2026-11-23T08:19:00Z").await;
    assert_eq!(order_offers(&app, &a, &id).await.len(), 1);
    app.advance_to("2026-11-23T08:21:00Z").await;
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(offers.len(), 2, "{offers:?}");
    assert_eq!(offers[1]["status"], "pending");
}
