//! The agency steers: named workers come first, a shift is offered by hand, roles ask for a minimum
//! reliability and experience, and the candidates answer says why a worker is not one.

use serde_json::{Value, json};

use crate::helpers::*;

/// Every offer of an order, oldest first.
async fn order_offers(app: &TestApp, a: &Agency, order: &str) -> Vec<Value> {
    app.get(&a.key, &format!("/v1/orders/{order}/offers?limit=200"))
        .await
        .expect(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

#[tokio::test]
async fn a_named_worker_is_offered_the_shift_before_better_ranked_candidates() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let mut body = order_json("named-client", 1, "offer", 1);
    body["roles"][0]["workers"] = json!([s(&ws[3], "id")]);
    let order = app.post_order(&a, &body).await;
    let id = s(&order, "id");
    assert_eq!(order["roles"][0]["workers"], json!([s(&ws[3], "id")]));
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(
        offers[0]["worker_id"], ws[3]["id"],
        "the farthest, but named"
    );
}

#[tokio::test]
async fn a_named_worker_is_assigned_first_in_assign_mode() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let mut body = order_json("named-assign", 2, "assign", 1);
    body["roles"][0]["workers"] = json!([s(&ws[3], "id")]);
    let order = app.post_order(&a, &body).await;
    let mut assigned: Vec<String> = order["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .map(|x| s(x, "worker_id"))
        .collect();
    assigned.sort();
    let mut want = vec![s(&ws[0], "id"), s(&ws[3], "id")];
    want.sort();
    assert_eq!(assigned, want, "the named worker, then the best candidate");
}

#[tokio::test]
async fn a_named_worker_who_fails_a_hard_filter_is_passed_over() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    let hostess = app
        .post_worker(&a, &near_worker("H-0", 0, &["hostess"]))
        .await;
    let mut body = order_json("named-filter", 1, "offer", 1);
    body["roles"][0]["workers"] = json!([s(&hostess, "id")]);
    let id = s(&app.post_order(&a, &body).await, "id");
    let offers = order_offers(&app, &a, &id).await;
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0]["worker_id"], ws[0]["id"]);
}

#[tokio::test]
async fn a_role_naming_something_that_is_not_a_worker_id_is_refused() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut body = order_json("named-bad", 1, "offer", 1);
    body["roles"][0]["workers"] = json!(["ord_1"]);
    let r = app.try_post_order(&a, &body).await.expect(422);
    assert_eq!(r["errors"][0]["field"], "roles[0].workers[0]");
}

#[tokio::test]
async fn a_shift_offered_by_hand_reaches_the_worker_who_can_accept_it() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let id = s(
        &app.post_order(&a, &order_json("by-hand", 2, "offer", 1))
            .await,
        "id",
    );
    assert_eq!(order_offers(&app, &a, &id).await.len(), 2);
    let r = app
        .post(
            &a.key,
            &format!("/v1/orders/{id}/offers"),
            &json!({"worker_id": s(&ws[2], "id"), "role": "promoter"}),
        )
        .await
        .expect(201);
    assert_eq!(r["worker_id"], ws[2]["id"]);
    assert_eq!(r["status"], "pending");
    assert_eq!(r["role"], "promoter");
    let token = s(&ws[2], "app_token");
    let mine = app.offers(&token).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["id"], r["id"]);
    app.accept(&token, &s(&r, "id")).await.expect(200);
    assert_eq!(app.order(&a, &id).await["roles"][0]["filled"], 1);
}

#[tokio::test]
async fn a_shift_offered_by_hand_to_an_excluded_worker_is_a_conflict_with_the_reason_code() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 1).await;
    let hostess = app
        .post_worker(&a, &near_worker("H-0", 0, &["hostess"]))
        .await;
    let id = s(
        &app.post_order(&a, &order_json("by-hand-no", 2, "offer", 1))
            .await,
        "id",
    );
    let path = format!("/v1/orders/{id}/offers");
    let r = app
        .post(
            &a.key,
            &path,
            &json!({"worker_id": s(&hostess, "id"), "role": "promoter"}),
        )
        .await
        .expect(409);
    assert_eq!(r["type"], "/problems/not-eligible");
    assert_eq!(r["reason"], "missing_skill");
    // Already offered the order: the matching's `excluded`.
    let r = app
        .post(
            &a.key,
            &path,
            &json!({"worker_id": s(&ws[0], "id"), "role": "promoter"}),
        )
        .await
        .expect(409);
    assert_eq!(r["reason"], "excluded");
    assert_eq!(order_offers(&app, &a, &id).await.len(), 1, "nothing sent");
    // No such role; another agency's worker.
    app.post(
        &a.key,
        &path,
        &json!({"worker_id": s(&ws[0], "id"), "role": "chef"}),
    )
    .await
    .expect(422);
    let b = app.create_agency().await;
    let theirs = app
        .post_worker(&b, &near_worker("B-0", 0, &["promoter"]))
        .await;
    app.post(
        &a.key,
        &path,
        &json!({"worker_id": s(&theirs, "id"), "role": "promoter"}),
    )
    .await
    .expect(404);
}

/// A promoter `i` km-ish from the venue with this record.
fn with_history(ext_ref: &str, i: usize, completed: u32, no_shows: u32) -> Value {
    let mut w = near_worker(ext_ref, i, &["promoter"]);
    w["history"] = json!({"completed_shifts": completed, "no_shows": no_shows});
    w
}

#[tokio::test]
async fn a_role_asking_for_reliability_and_experience_counts_the_excluded_under_their_reason_codes()
{
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let seasoned = app.post_worker(&a, &with_history("S-0", 0, 30, 0)).await;
    app.post_worker(&a, &with_history("F-0", 1, 10, 10)).await;
    app.post_worker(&a, &with_history("F-1", 2, 5, 6)).await;
    app.post_worker(&a, &with_history("N-0", 3, 1, 0)).await;
    let mut body = order_json("picky-client", 1, "assign", 1);
    body["roles"][0]["min_reliability"] = json!(0.8);
    body["roles"][0]["min_completed_shifts"] = json!(3);
    let order = app.post_order(&a, &body).await;
    let id = s(&order, "id");
    assert_eq!(order["roles"][0]["min_reliability"], 0.8);
    assert_eq!(order["roles"][0]["min_completed_shifts"], 3);
    assert_eq!(order["assignments"][0]["worker_id"], seasoned["id"]);
    let c = app
        .get(&a.key, &format!("/v1/orders/{id}/candidates"))
        .await
        .expect(200);
    assert_eq!(
        c["eligible"], 0,
        "the one eligible is already assigned: {c}"
    );
    assert_eq!(c["excluded"]["min_reliability"], 2, "{c}");
    assert_eq!(c["excluded"]["min_completed_shifts"], 1, "{c}");
    assert_eq!(c["excluded"]["excluded"], 1, "{c}");
}

#[tokio::test]
async fn a_minimum_reliability_outside_zero_to_one_or_a_negative_shift_count_is_refused() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut body = order_json("bad-minimums", 1, "offer", 1);
    body["roles"][0]["min_reliability"] = json!(1.5);
    body["roles"][0]["min_completed_shifts"] = json!(-1);
    let r = app.try_post_order(&a, &body).await.expect(422);
    let fields: Vec<String> = r["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| s(e, "field"))
        .collect();
    assert!(
        fields.contains(&"roles[0].min_reliability".to_string()),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"roles[0].min_completed_shifts".to_string()),
        "{fields:?}"
    );
}

#[tokio::test]
async fn the_candidates_answer_says_why_a_worker_is_not_a_candidate_or_where_one_ranks() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let hostess = app
        .post_worker(&a, &near_worker("H-0", 0, &["hostess"]))
        .await;
    let body = order_json("why-client", 1, "offer", 1);
    let id = s(&app.post_order(&a, &body).await, "id");
    let ask = |w: &Value| {
        format!(
            "/v1/orders/{id}/candidates?role=promoter&worker={}",
            s(w, "id")
        )
    };
    // Not a promoter.
    let c = app.get(&a.key, &ask(&hostess)).await.expect(200);
    assert_eq!(c["worker"]["worker_id"], hostess["id"]);
    assert_eq!(c["worker"]["candidate"], false);
    assert_eq!(c["worker"]["reason"], "missing_skill");
    // Offered already: excluded from the order's candidates.
    let c = app.get(&a.key, &ask(&ws[0])).await.expect(200);
    assert_eq!(c["worker"]["reason"], "excluded");
    // A candidate: its rank among the eligible (the offered one left out) and its explanation.
    let c = app.get(&a.key, &ask(&ws[2])).await.expect(200);
    assert_eq!(c["worker"]["candidate"], true);
    assert_eq!(c["worker"]["rank"], 2, "{c}");
    assert!(c["worker"].get("reason").is_none());
    let explain = c["worker"]["explain"].as_object().expect("explain");
    let sum: f64 = explain
        .values()
        .map(|v| v.as_f64().expect("a number"))
        .sum();
    assert!((sum - c["worker"]["score"].as_f64().expect("score")).abs() < 1e-9);
    assert_eq!(
        c["items"][1]["worker_id"], ws[2]["id"],
        "the same rank as the list"
    );
    // Another agency's worker is not found.
    let b = app.create_agency().await;
    let theirs = app
        .post_worker(&b, &near_worker("B-0", 0, &["promoter"]))
        .await;
    app.get(&a.key, &ask(&theirs)).await.expect(404);
}

/// Posts `n` promoters with a middling record (some no-shows) for an agency.
async fn shaky_promoters(app: &TestApp, a: &Agency, n: usize) {
    for i in 0..n {
        app.post_worker(a, &with_history(&format!("S-{i}"), i, 8, 2))
            .await;
    }
}

#[tokio::test]
async fn a_standby_target_of_0_99_holds_more_standbys_than_the_default_0_97() {
    let app = spawn_app().await;
    let (a, b) = (app.create_agency().await, app.create_agency().await);
    shaky_promoters(&app, &a, 30).await;
    shaky_promoters(&app, &b, 30).await;
    let mut plain = order_json("standby-client", 6, "assign", 1);
    plain["standby"] = json!("auto");
    let plain = app.post_order(&a, &plain).await;
    let mut strict = order_json("standby-client", 6, "assign", 1);
    strict["standby"] = json!({"auto": 0.99});
    let strict = app.post_order(&b, &strict).await;
    assert_eq!(plain["standby"]["target"], 0.97);
    assert_eq!(strict["standby"]["target"], 0.99);
    assert_eq!(strict["standby"]["auto"], true);
    let (p, q) = (
        plain["standby"]["wanted"].as_u64().expect("wanted"),
        strict["standby"]["wanted"].as_u64().expect("wanted"),
    );
    assert!(p > 0 && q > p, "0.97 wants {p}, 0.99 wants {q}");
    assert_eq!(strict["standby"]["held"].as_u64(), Some(q));
    // The target is kept with the order.
    let again = app.order(&b, &s(&strict, "id")).await;
    assert_eq!(again["standby"]["target"], 0.99);
}

#[tokio::test]
async fn a_standby_target_outside_half_to_certain_is_refused() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut body = order_json("standby-bad", 1, "offer", 1);
    body["standby"] = json!({"auto": 1.0});
    let r = app.try_post_order(&a, &body).await.expect(422);
    assert_eq!(r["errors"][0]["field"], "standby.auto");
}
