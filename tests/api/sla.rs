//! SLA tiers per client: an order takes its client's tier at posting, with a target to be fully staffed by;
//! the tier raises dispatch urgency; an at-risk alert fires before the target and a missed target is recorded;
//! the SLA report gives exact figures per client and tier.

use serde_json::{Value, json};

use crate::helpers::*;

/// An order body like [`order_json`] for a role needing `skill`, with offers open for a day.
fn order_for(client: &str, skill: &str, headcount: u32, mode: &str, fanout: u32) -> Value {
    let mut o = order_json(client, headcount, mode, fanout);
    o["roles"][0]["skills"] = json!([skill]);
    o["dispatch"]["offer_ttl_s"] = json!(86_400);
    o
}

/// Tiers without an offer TTL cap (so offers stay open while the clock moves by hours).
fn tiers_without_ttl_cap() -> Value {
    json!({"tiers": [
        {"name": "P0", "within_minutes": 120, "fanout": 1},
        {"name": "P1", "within_minutes": 1440, "fanout": 1},
        {"name": "P2", "within_minutes": null}
    ]})
}

async fn set_tier(app: &TestApp, a: &Agency, client: &str, tier: &str) -> Value {
    app.call(
        reqwest::Method::PUT,
        &format!("/v1/clients/{client}"),
        Some(&a.key),
        Some(&json!({ "tier": tier })),
    )
    .await
    .expect(200)
}

async fn put(app: &TestApp, a: &Agency, path: &str, body: &Value) -> Answer {
    app.call(reqwest::Method::PUT, path, Some(&a.key), Some(body))
        .await
}

async fn event_kinds(app: &TestApp, a: &Agency) -> Vec<(String, Value)> {
    let events = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (s(e, "kind"), e["data"].clone()))
        .collect()
}

async fn pending_offers_of(app: &TestApp, a: &Agency, order: &str) -> Vec<Value> {
    let offers = app
        .get(&a.key, &format!("/v1/orders/{order}/offers?limit=100"))
        .await
        .expect(200);
    offers["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["status"] == "pending")
        .cloned()
        .collect()
}

/// The pending offer of `worker` (its app token) for `order`.
async fn offer_for(app: &TestApp, token: &str, order: &str) -> String {
    let offers = app.offers(token).await;
    let o = offers
        .iter()
        .find(|o| o["order_id"] == order)
        .unwrap_or_else(|| panic!("no offer of {order} in {offers:?}"));
    s(o, "id")
}

#[tokio::test]
async fn a_clients_tier_is_inherited_by_its_orders_with_the_default_p0_p1_p2_targets() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;

    let tiers = app.get(&a.key, "/v1/agency/sla-tiers").await.expect(200);
    let names: Vec<&str> = tiers["tiers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["P0", "P1", "P2"]);
    assert_eq!(tiers["tiers"][0]["within_minutes"], 120);
    assert_eq!(tiers["tiers"][1]["within_minutes"], 1440);
    assert_eq!(tiers["tiers"][2]["within_minutes"], Value::Null);
    assert_eq!(tiers["default_tier"], Value::Null);
    assert_eq!(tiers["at_risk_lead_pct"], 25);

    let none = app.get(&a.key, "/v1/clients/acme").await.expect(200);
    assert_eq!(none["tier"], Value::Null);
    assert_eq!(none["tier_source"], "none");
    let acme = set_tier(&app, &a, "acme", "P0").await;
    assert_eq!(acme["tier"], "P0");
    assert_eq!(acme["tier_source"], "client");
    assert_eq!(acme["within_minutes"], 120);
    set_tier(&app, &a, "globex", "P1").await;
    set_tier(&app, &a, "initech", "P2").await;
    // Setting the tier a client has already changes nothing (and writes no event).
    set_tier(&app, &a, "initech", "P2").await;

    // Posted at 2026-11-23T08:00Z for a shift starting 2026-11-28T01:00Z.
    let p0 = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    assert_eq!(p0["sla"]["tier"], "P0");
    assert_eq!(p0["sla"]["target_at"], "2026-11-23T10:00:00Z");
    assert_eq!(p0["sla"]["at_risk_at"], "2026-11-23T09:30:00Z");
    assert_eq!(p0["sla"]["status"], "pending");
    let p1 = app
        .post_order(&a, &order_json("globex", 1, "offer", 1))
        .await;
    assert_eq!(p1["sla"]["tier"], "P1");
    assert_eq!(p1["sla"]["target_at"], "2026-11-24T08:00:00Z");
    assert_eq!(p1["sla"]["at_risk_at"], "2026-11-24T02:00:00Z");
    let p2 = app
        .post_order(&a, &order_json("initech", 1, "offer", 1))
        .await;
    assert_eq!(p2["sla"]["tier"], "P2");
    assert_eq!(p2["sla"]["target_at"], "2026-11-28T01:00:00Z");
    // Without a tier of its own and no default tier, a client's orders have no SLA.
    let plain = app
        .post_order(&a, &order_json("umbrella", 1, "offer", 1))
        .await;
    assert_eq!(plain["sla"], Value::Null);

    // A later change of tier leaves orders already posted as they were; new orders take it.
    set_tier(&app, &a, "acme", "P2").await;
    let again = app.order(&a, &s(&p0, "id")).await;
    assert_eq!(again["sla"]["tier"], "P0");
    assert_eq!(again["sla"]["target_at"], "2026-11-23T10:00:00Z");
    let later = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    assert_eq!(later["sla"]["tier"], "P2");

    // The agency's clients: those given a tier and those its orders name, by client_ref.
    let list = app.get(&a.key, "/v1/clients?limit=3").await.expect(200);
    let refs: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["acme", "globex", "initech"]);
    let cursor = s(&list, "next_cursor");
    let rest = app
        .get(&a.key, &format!("/v1/clients?limit=3&cursor={cursor}"))
        .await
        .expect(200);
    assert_eq!(rest["items"][0]["client_ref"], "umbrella");
    assert_eq!(rest["items"][0]["tier"], Value::Null);
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["next_cursor"], Value::Null);

    // Taking a client's tier away (null) leaves it the default; every change is an event.
    let back = put(&app, &a, "/v1/clients/globex", &json!({"tier": null}))
        .await
        .expect(200);
    assert_eq!(back["tier"], Value::Null);
    let kinds = event_kinds(&app, &a).await;
    let set: Vec<&Value> = kinds
        .iter()
        .filter(|(k, _)| k == "client_tier_set")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(set.len(), 5);
    assert_eq!(set[0]["client_ref"], "acme");
    assert_eq!(set[0]["tier"], "P0");
    assert_eq!(set[4]["tier"], Value::Null);
    let posted = kinds
        .iter()
        .find(|(k, _)| k == "order_posted")
        .map(|(_, d)| d.clone())
        .unwrap();
    assert_eq!(posted["sla"]["tier"], "P0");
    assert_eq!(posted["sla"]["target_at"], "2026-11-23T10:00:00Z");
}

#[tokio::test]
async fn custom_tier_names_and_targets_apply_and_a_default_tier_covers_clients_without_one() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let config = json!({
        "tiers": [
            {"name": "gold", "within_minutes": 30, "fanout": 2, "offer_ttl_s": 120, "stars_first": true},
            {"name": "silver"}
        ],
        "default_tier": "silver",
        "at_risk_lead_pct": 50
    });
    let saved = put(&app, &a, "/v1/agency/sla-tiers", &config)
        .await
        .expect(200);
    assert_eq!(saved["tiers"][0]["name"], "gold");
    assert_eq!(saved["tiers"][1]["within_minutes"], Value::Null);
    assert_eq!(saved["tiers"][1]["fanout"], 1);
    assert_eq!(saved["default_tier"], "silver");
    let read = app.get(&a.key, "/v1/agency/sla-tiers").await.expect(200);
    assert_eq!(read, saved);

    let anyone = app.get(&a.key, "/v1/clients/walk-in").await.expect(200);
    assert_eq!(anyone["tier"], "silver");
    assert_eq!(anyone["tier_source"], "default");
    let walk_in = app
        .post_order(&a, &order_json("walk-in", 1, "offer", 1))
        .await;
    assert_eq!(walk_in["sla"]["tier"], "silver");
    assert_eq!(walk_in["sla"]["target_at"], "2026-11-28T01:00:00Z");

    set_tier(&app, &a, "vip", "gold").await;
    let vip = app.post_order(&a, &order_json("vip", 1, "offer", 1)).await;
    assert_eq!(vip["sla"]["tier"], "gold");
    assert_eq!(vip["sla"]["target_at"], "2026-11-23T08:30:00Z");
    assert_eq!(vip["sla"]["at_risk_at"], "2026-11-23T08:15:00Z");
    // The gold tier's dispatch effects, on the order as stored.
    assert_eq!(vip["dispatch"]["fanout"], 2);
    assert_eq!(vip["dispatch"]["offer_ttl_s"], 120);
    assert_eq!(vip["priority"], "high");

    // The old default names are gone; a tier still held by a client cannot be dropped.
    let p0 = put(&app, &a, "/v1/clients/vip", &json!({"tier": "P0"})).await;
    assert_eq!(p0.status, 422, "{:?}", p0.body);
    assert_eq!(p0.fields(), ["tier"]);
    let drop_gold = put(
        &app,
        &a,
        "/v1/agency/sla-tiers",
        &json!({"tiers": [{"name": "silver"}], "default_tier": "silver"}),
    )
    .await;
    assert_eq!(drop_gold.status, 409, "{:?}", drop_gold.body);
    assert_eq!(
        app.get(&a.key, "/v1/agency/sla-tiers").await.expect(200),
        saved
    );
    let kinds = event_kinds(&app, &a).await;
    assert_eq!(
        kinds.iter().filter(|(k, _)| k == "sla_tiers_set").count(),
        1
    );
}

#[tokio::test]
async fn a_tier_changed_after_a_clients_orders_applies_to_its_next_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let first = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    assert_eq!(first["sla"], Value::Null, "no tiers: no SLA");

    // The agency's tiers with a default: the same client's next order takes the default.
    put(
        &app,
        &a,
        "/v1/agency/sla-tiers",
        &json!({"tiers": [{"name": "gold", "within_minutes": 30}, {"name": "silver"}],
                "default_tier": "silver"}),
    )
    .await
    .expect(200);
    let second = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    assert_eq!(second["sla"]["tier"], "silver");

    // A tier of its own, then taken away again.
    set_tier(&app, &a, "acme", "gold").await;
    let third = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    assert_eq!(third["sla"]["tier"], "gold");
    app.call(
        reqwest::Method::PUT,
        "/v1/clients/acme",
        Some(&a.key),
        Some(&json!({ "tier": null })),
    )
    .await
    .expect(200);
    let fourth = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    assert_eq!(fourth["sla"]["tier"], "silver");
    // Another client of the agency was never given a tier: the default.
    let other = app
        .post_order(&a, &order_json("initech", 1, "offer", 1))
        .await;
    assert_eq!(other["sla"]["tier"], "silver");
}

#[tokio::test]
async fn a_p0_order_gets_more_fanout_a_shorter_offer_ttl_and_high_priority_for_stars_than_a_p2_one()
{
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 6).await;
    set_tier(&app, &a, "acme", "P0").await;
    set_tier(&app, &a, "initech", "P2").await;

    // The same body (fanout 1, offers open 900 s) for both clients.
    let p2 = app
        .post_order(&a, &order_json("initech", 1, "offer", 1))
        .await;
    let p0 = app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;
    let p2_offers = pending_offers_of(&app, &a, &s(&p2, "id")).await;
    let p0_offers = pending_offers_of(&app, &a, &s(&p0, "id")).await;
    assert_eq!(p2_offers.len(), 1);
    assert_eq!(p0_offers.len(), 3);
    assert_eq!(p2_offers[0]["expires_at"], "2026-11-23T08:15:00Z");
    for o in &p0_offers {
        assert_eq!(o["expires_at"], "2026-11-23T08:05:00Z");
    }
    assert_eq!(p2["dispatch"]["fanout"], 1);
    assert_eq!(p2["dispatch"]["offer_ttl_s"], 900);
    assert_eq!(p2["priority"], "normal");
    assert_eq!(p0["dispatch"]["fanout"], 3);
    assert_eq!(p0["dispatch"]["offer_ttl_s"], 300);
    assert_eq!(p0["priority"], "high");
}

#[tokio::test]
async fn an_sla_alert_fires_before_the_target_by_the_clock_and_clears_when_the_order_is_filled() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    put(&app, &a, "/v1/agency/sla-tiers", &tiers_without_ttl_cap())
        .await
        .expect(200);
    set_tier(&app, &a, "acme", "P0").await;
    let order = app
        .post_order(&a, &order_for("acme", "promoter", 2, "offer", 1))
        .await;
    let id = s(&order, "id");
    assert_eq!(pending_offers_of(&app, &a, &id).await.len(), 2);
    let t0 = s(&ws[0], "app_token");
    let offer = offer_for(&app, &t0, &id).await;
    app.accept(&t0, &offer).await.expect(200);

    // A minute before the alert (a quarter of the two hours before the target), nothing.
    app.advance_to("2026-11-23T09:29:00Z").await;
    let o = app.order(&a, &id).await;
    assert_eq!(o["at_risk"], Value::Null, "{o}");
    assert_eq!(o["sla"]["status"], "pending");
    // At 09:30 the order, one slot short, is at risk for its SLA.
    app.advance_to("2026-11-23T09:30:00Z").await;
    let o = app.order(&a, &id).await;
    assert_eq!(o["at_risk"]["reason"], "sla", "{o}");
    assert_eq!(o["at_risk"]["since"], "2026-11-23T09:30:00Z");
    assert_eq!(o["at_risk"]["open_slots"], 1);
    assert_eq!(o["sla"]["status"], "pending");
    let kinds = event_kinds(&app, &a).await;
    let alert = kinds
        .iter()
        .find(|(k, _)| k == "sla_at_risk")
        .map(|(_, d)| d.clone())
        .expect("sla_at_risk");
    assert_eq!(alert["order"], id.as_str());
    assert_eq!(alert["tier"], "P0");
    assert_eq!(alert["target_at"], "2026-11-23T10:00:00Z");
    assert_eq!(alert["open_slots"], 1);
    assert!(
        kinds
            .iter()
            .any(|(k, d)| k == "order_at_risk" && d["reason"] == "sla")
    );

    // Filled at 09:40: the risk clears and the target is met.
    app.advance_to("2026-11-23T09:40:00Z").await;
    let t1 = s(&ws[1], "app_token");
    let offer = offer_for(&app, &t1, &id).await;
    app.accept(&t1, &offer).await.expect(200);
    let o = app.order(&a, &id).await;
    assert_eq!(o["status"], "filled");
    assert_eq!(o["at_risk"], Value::Null, "{o}");
    assert_eq!(o["sla"]["status"], "met");
    assert_eq!(o["sla"]["staffed_at"], "2026-11-23T09:40:00Z");
    // Nothing more fires at the target.
    app.advance_to("2026-11-23T10:30:00Z").await;
    let kinds = event_kinds(&app, &a).await;
    assert!(kinds.iter().any(|(k, _)| k == "order_risk_cleared"));
    assert!(!kinds.iter().any(|(k, _)| k == "sla_missed"));
    let staffed: Vec<&Value> = kinds
        .iter()
        .filter(|(k, _)| k == "sla_staffed")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(staffed.len(), 1);
    assert_eq!(staffed[0]["met"], true);
    assert_eq!(staffed[0]["time_to_fill_s"], 6000);
}

#[tokio::test]
async fn a_target_passing_unfilled_is_recorded_as_missed_and_a_late_fill_does_not_make_it_met() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 1).await;
    put(&app, &a, "/v1/agency/sla-tiers", &tiers_without_ttl_cap())
        .await
        .expect(200);
    set_tier(&app, &a, "acme", "P0").await;
    let order = app
        .post_order(&a, &order_for("acme", "promoter", 1, "offer", 1))
        .await;
    let id = s(&order, "id");
    app.advance_to("2026-11-23T10:00:00Z").await;
    let o = app.order(&a, &id).await;
    assert_eq!(o["sla"]["status"], "missed", "{o}");
    assert_eq!(o["sla"]["missed_at"], "2026-11-23T10:00:00Z");
    assert_eq!(o["at_risk"]["reason"], "sla");
    let kinds = event_kinds(&app, &a).await;
    let missed: Vec<&Value> = kinds
        .iter()
        .filter(|(k, _)| k == "sla_missed")
        .map(|(_, d)| d)
        .collect();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0]["order"], id.as_str());
    assert_eq!(missed[0]["client_ref"], "acme");

    app.advance_to("2026-11-23T10:30:00Z").await;
    let t = s(&ws[0], "app_token");
    let offer = offer_for(&app, &t, &id).await;
    app.accept(&t, &offer).await.expect(200);
    let o = app.order(&a, &id).await;
    assert_eq!(o["sla"]["status"], "missed");
    assert_eq!(o["sla"]["staffed_at"], "2026-11-23T10:30:00Z");
    assert_eq!(o["at_risk"], Value::Null);
    let kinds = event_kinds(&app, &a).await;
    assert_eq!(kinds.iter().filter(|(k, _)| k == "sla_missed").count(), 1);
}

#[tokio::test]
async fn the_sla_report_over_a_simulated_day_gives_exact_figures_per_client_and_tier() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let p = promoters(&app, &a, 2).await;
    let mut f = Vec::new();
    for i in 0..3 {
        f.push(
            app.post_worker(&a, &near_worker(&format!("F-{i}"), i, &["forklift"]))
                .await,
        );
    }
    let u = app
        .post_worker(&a, &near_worker("U-0", 0, &["usher"]))
        .await;
    put(&app, &a, "/v1/agency/sla-tiers", &tiers_without_ttl_cap())
        .await
        .expect(200);
    set_tier(&app, &a, "acme", "P0").await;
    set_tier(&app, &a, "globex", "P1").await;
    set_tier(&app, &a, "initech", "P2").await;

    // 08:00 acme posts A1 (P0, target 10:00); P-0 accepts at 08:30.
    let a1 = s(
        &app.post_order(&a, &order_for("acme", "promoter", 1, "offer", 1))
            .await,
        "id",
    );
    app.advance_to("2026-11-23T08:30:00Z").await;
    let tp0 = s(&p[0], "app_token");
    app.accept(&tp0, &offer_for(&app, &tp0, &a1).await)
        .await
        .expect(200);
    // 08:30 acme posts A2 (P0, target 10:30), offered to P-1, who accepts only at 11:00: missed.
    let a2 = s(
        &app.post_order(&a, &order_for("acme", "promoter", 1, "offer", 1))
            .await,
        "id",
    );
    // 08:30 globex posts G1 (P1, assign mode, 2 forklift drivers and a standby): staffed at once.
    let mut g1 = order_for("globex", "forklift", 2, "assign", 1);
    g1["standby"] = json!(1);
    let g1 = app.post_order(&a, &g1).await;
    assert_eq!(g1["status"], "filled");
    assert_eq!(g1["sla"]["status"], "met");
    let g1_id = s(&g1, "id");
    // 09:00 initech posts I1 (P2, target the shift's start), never staffed, and I2, cancelled at 09:05.
    app.advance_to("2026-11-23T09:00:00Z").await;
    let i1 = s(
        &app.post_order(&a, &order_for("initech", "usher", 1, "offer", 1))
            .await,
        "id",
    );
    let i2 = s(
        &app.post_order(&a, &order_for("initech", "usher", 1, "offer", 1))
            .await,
        "id",
    );
    app.advance_to("2026-11-23T09:05:00Z").await;
    app.post(&a.key, &format!("/v1/orders/{i2}/cancel"), &json!({}))
        .await
        .expect(200);
    app.advance_to("2026-11-23T11:00:00Z").await;
    let tp1 = s(&p[1], "app_token");
    app.accept(&tp1, &offer_for(&app, &tp1, &a2).await)
        .await
        .expect(200);
    // An order posted on another day is outside the period.
    app.advance_to("2026-11-24T08:00:00Z").await;
    let mut other_day = order_for("acme", "promoter", 1, "offer", 1);
    other_day["start"] = json!("2026-11-29T09:00:00+08:00");
    other_day["end"] = json!("2026-11-29T18:00:00+08:00");
    app.post_order(&a, &other_day).await;

    // The morning of the shift (01:00Z): everyone checks in but F-0, a no-show at 01:15 replaced by the
    // standby.
    app.advance_to("2026-11-28T00:55:00Z").await;
    let g1_now = app.order(&a, &g1_id).await;
    let asg_of = |order: &Value, worker: &Value| {
        order["assignments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["worker_id"] == worker["id"] && x["kind"] == "shift")
            .map(|x| s(x, "id"))
            .unwrap_or_else(|| panic!("no assignment of {} in {order}", worker["id"]))
    };
    let a1_now = app.order(&a, &a1).await;
    let a2_now = app.order(&a, &a2).await;
    for (order, w) in [(&a1_now, &p[0]), (&a2_now, &p[1]), (&g1_now, &f[1])] {
        app.check_in(&s(w, "app_token"), &asg_of(order, w), VENUE)
            .await
            .expect(200);
    }
    app.advance_to("2026-11-28T01:20:00Z").await;
    let g1_now = app.order(&a, &g1_id).await;
    let statuses: Vec<(String, String)> = g1_now["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (s(x, "worker_id"), s(x, "status")))
        .collect();
    assert!(
        statuses.contains(&(s(&f[0], "id"), "no_show".into())),
        "{statuses:?}"
    );
    assert_eq!(app.order(&a, &i1).await["sla"]["status"], "missed");
    let _ = u;

    let report = app
        .get(&a.key, "/v1/reports/sla?from=2026-11-23&to=2026-11-23")
        .await
        .expect(200);
    assert_eq!(report["from"], "2026-11-23T00:00:00Z");
    assert_eq!(report["to"], "2026-11-24T00:00:00Z");
    let row = |client: &str, tier: &str| {
        json!({"client_ref": client, "tier": tier})
            .as_object()
            .unwrap()
            .clone()
    };
    let mut acme = row("acme", "P0");
    acme.extend(
        json!({"orders": 2, "cancelled": 0, "met": 1, "missed": 1, "pending": 0,
               "staffed_within_target": 0.5, "median_time_to_fill_s": 1800, "p95_time_to_fill_s": 9000,
               "slots_due": 2, "slots_filled_at_start": 2, "fill_rate_at_start": 1.0,
               "no_shows": 0, "replacements": 0})
        .as_object()
        .unwrap()
        .clone(),
    );
    let mut globex = row("globex", "P1");
    globex.extend(
        json!({"orders": 1, "cancelled": 0, "met": 1, "missed": 0, "pending": 0,
               "staffed_within_target": 1.0, "median_time_to_fill_s": 0, "p95_time_to_fill_s": 0,
               "slots_due": 2, "slots_filled_at_start": 2, "fill_rate_at_start": 1.0,
               "no_shows": 1, "replacements": 1})
        .as_object()
        .unwrap()
        .clone(),
    );
    let mut initech = row("initech", "P2");
    initech.extend(
        json!({"orders": 1, "cancelled": 1, "met": 0, "missed": 1, "pending": 0,
               "staffed_within_target": 0.0, "median_time_to_fill_s": null, "p95_time_to_fill_s": null,
               "slots_due": 1, "slots_filled_at_start": 0, "fill_rate_at_start": 0.0,
               "no_shows": 0, "replacements": 0})
        .as_object()
        .unwrap()
        .clone(),
    );
    assert_eq!(
        report["items"],
        json!([acme.clone(), globex.clone(), initech.clone()]),
        "{report}"
    );
    let totals: Vec<Value> = [acme, globex, initech]
        .into_iter()
        .map(|mut r| {
            r.remove("client_ref");
            Value::Object(r)
        })
        .collect();
    assert_eq!(report["tiers"], json!(totals));

    // The next day's report holds the one order posted then, still pending.
    let next = app
        .get(
            &a.key,
            "/v1/reports/sla?from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00%2B00:00",
        )
        .await
        .expect(200);
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert_eq!(next["items"][0]["orders"], 1);
    assert_eq!(next["items"][0]["missed"], 1);
}

#[tokio::test]
async fn another_agencys_tiers_clients_and_report_are_its_own() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    promoters(&app, &a, 1).await;
    put(
        &app,
        &a,
        "/v1/agency/sla-tiers",
        &json!({"tiers": [{"name": "gold"}]}),
    )
    .await
    .expect(200);
    set_tier(&app, &a, "acme", "gold").await;
    app.post_order(&a, &order_json("acme", 1, "offer", 1)).await;

    // B sees its own defaults, no client of A's, and A's report figures are not B's.
    let tiers = app.get(&b.key, "/v1/agency/sla-tiers").await.expect(200);
    assert_eq!(tiers["tiers"][0]["name"], "P0");
    let acme = app.get(&b.key, "/v1/clients/acme").await.expect(200);
    assert_eq!(acme["tier"], Value::Null);
    let list = app.get(&b.key, "/v1/clients").await.expect(200);
    assert_eq!(list["items"], json!([]));
    let report = app
        .get(&b.key, "/v1/reports/sla?from=2026-11-23&to=2026-11-23")
        .await
        .expect(200);
    assert_eq!(report["items"], json!([]));
    // B naming A's tier for its own client is refused; B's own change leaves A's client alone.
    let gold = put(&app, &b, "/v1/clients/acme", &json!({"tier": "gold"})).await;
    assert_eq!(gold.status, 422);
    set_tier(&app, &b, "acme", "P1").await;
    let a_acme = app.get(&a.key, "/v1/clients/acme").await.expect(200);
    assert_eq!(a_acme["tier"], "gold");
    let a_report = app
        .get(&a.key, "/v1/reports/sla?from=2026-11-23&to=2026-11-23")
        .await
        .expect(200);
    assert_eq!(a_report["items"][0]["tier"], "gold");
    // Without a key, nothing.
    let anon = app
        .call(reqwest::Method::GET, "/v1/clients/acme", None, None)
        .await;
    assert_eq!(anon.status, 401);
}

#[tokio::test]
async fn bad_tiers_client_tiers_and_report_periods_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let before = app.get(&a.key, "/v1/agency/sla-tiers").await.expect(200);
    let bad = [
        (json!({"tiers": []}), vec!["tiers"]),
        (
            json!({"tiers": [{"name": "P0"}, {"name": "P0"}]}),
            vec!["tiers[1].name"],
        ),
        (
            json!({"tiers": [{"name": "bad name!", "within_minutes": 0, "fanout": 0, "offer_ttl_s": 5}]}),
            vec![
                "tiers[0].name",
                "tiers[0].within_minutes",
                "tiers[0].fanout",
                "tiers[0].offer_ttl_s",
            ],
        ),
        (
            json!({"tiers": [{"name": "P0"}], "default_tier": "P9", "at_risk_lead_pct": 95}),
            vec!["default_tier", "at_risk_lead_pct"],
        ),
    ];
    for (body, fields) in bad {
        let r = put(&app, &a, "/v1/agency/sla-tiers", &body).await;
        assert_eq!(r.status, 422, "{body}: {:?}", r.body);
        assert_eq!(r.fields(), fields, "{body}");
    }
    let unknown = put(
        &app,
        &a,
        "/v1/agency/sla-tiers",
        &json!({"tiers": [{"name": "P0", "colour": "red"}]}),
    )
    .await;
    assert_eq!(unknown.status, 422);
    assert_eq!(
        app.get(&a.key, "/v1/agency/sla-tiers").await.expect(200),
        before
    );

    let r = put(&app, &a, "/v1/clients/acme", &json!({"tier": "P9"})).await;
    assert_eq!(r.status, 422);
    let r = put(&app, &a, "/v1/clients/acme", &json!({"tier": 3})).await;
    assert_eq!(r.status, 422);
    let r = put(&app, &a, "/v1/clients/%20", &json!({"tier": "P0"})).await;
    assert_eq!(r.status, 422);
    assert_eq!(
        app.get(&a.key, "/v1/clients/acme").await.expect(200)["tier"],
        Value::Null
    );
    assert_eq!(
        app.get(&a.key, "/v1/clients").await.expect(200)["items"],
        json!([])
    );
    let r = app.get(&a.key, "/v1/clients?cursor=nope").await;
    assert_eq!(r.status, 422);

    for (query, field) in [
        ("", "from"),
        ("?from=2026-11-23", "to"),
        ("?from=yesterday&to=2026-11-23", "from"),
        ("?from=2026-11-23T00:00:00&to=2026-11-24", "from"),
        ("?from=2026-11-24&to=2026-11-23", "to"),
        ("?from=2025-01-01&to=2026-11-23", "to"),
    ] {
        let r = app.get(&a.key, &format!("/v1/reports/sla{query}")).await;
        assert_eq!(r.status, 422, "{query}: {:?}", r.body);
        assert!(
            r.fields().contains(&field.to_string()),
            "{query}: {:?}",
            r.body
        );
    }
    let kinds = event_kinds(&app, &a).await;
    assert!(
        !kinds
            .iter()
            .any(|(k, _)| k == "sla_tiers_set" || k == "client_tier_set")
    );
}
