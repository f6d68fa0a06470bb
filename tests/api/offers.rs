//! The dispatch lifecycle over HTTP with the manual clock: waterfalls, fanout withdrawal, concurrent accepts,
//! double bookings, no-shows with standbys and urgent offers, and replacements after a cancellation.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

/// The one pending offer of each worker who holds one: `(worker index, offer)`.
async fn holders(app: &TestApp, ws: &[Value]) -> Vec<(usize, Value)> {
    let mut out = Vec::new();
    for (i, w) in ws.iter().enumerate() {
        let offers = app.offers(&s(w, "app_token")).await;
        assert!(offers.len() <= 1, "one offer per worker here: {offers:?}");
        if let Some(o) = offers.into_iter().next() {
            out.push((i, o));
        }
    }
    out
}

fn at(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t)
        .expect("a time")
        .with_timezone(&Utc)
}

#[tokio::test]
async fn a_waterfall_moves_on_after_a_decline_and_an_expiry_in_rank_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let o = app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    let oid = s(&o, "id");

    let h = holders(&app, &ws).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, 0, "the closest worker is offered first");
    assert_eq!(h[0].1["order_id"], json!(oid));
    assert_eq!(h[0].1["kind"], "shift");
    assert_eq!(h[0].1["status"], "pending");
    app.decline(&s(&ws[0], "app_token"), &s(&h[0].1, "id"))
        .await
        .expect(200);

    let h = holders(&app, &ws).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, 1, "after a decline the next in rank is offered");
    let expires = at(&s(&h[0].1, "expires_at"));
    assert_eq!(expires, at(START) + chrono::Duration::seconds(900));

    app.advance_to("2026-11-23T08:15:01Z").await;
    // The expired offer cannot be taken any more.
    app.accept(&s(&ws[1], "app_token"), &s(&h[0].1, "id"))
        .await
        .expect(409);
    let h = holders(&app, &ws).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].0, 2, "after an expiry the next in rank is offered");
    let acc = app
        .accept(&s(&ws[2], "app_token"), &s(&h[0].1, "id"))
        .await
        .expect(200);
    assert_eq!(acc["assignment"]["status"], "confirmed");
    assert_eq!(acc["assignment"]["worker_id"], ws[2]["id"]);
    let o = app.order(&a, &oid).await;
    assert_eq!(o["status"], "filled");
    assert_eq!(o["roles"][0]["filled"], 1);
    assert_eq!(o["roles"][0]["pending_offers"], 0);
}

#[tokio::test]
async fn with_fanout_three_one_accept_fills_the_role_and_withdraws_the_other_two() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let o = app.post_order(&a, &order_json("c", 1, "offer", 3)).await;
    assert_eq!(o["roles"][0]["pending_offers"], 3);
    let h = holders(&app, &ws).await;
    let idx: Vec<usize> = h.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, vec![0, 1, 2], "the top three in rank are offered");

    app.accept(&s(&ws[1], "app_token"), &s(&h[1].1, "id"))
        .await
        .expect(200);
    let o = app.order(&a, &s(&o, "id")).await;
    assert_eq!(o["status"], "filled");
    assert_eq!(o["roles"][0]["pending_offers"], 0);
    assert!(holders(&app, &ws).await.is_empty());
    for k in [0, 2] {
        let r = app.accept(&s(&ws[k], "app_token"), &s(&h[k].1, "id")).await;
        assert_eq!(r.status.as_u16(), 409, "{}", r.body);
        assert!(s(&r.body, "detail").contains("withdrawn"), "{}", r.body);
    }
    // The 409s changed nothing.
    let again = app.order(&a, &s(&o, "id")).await;
    assert_eq!(again["assignments"], o["assignments"]);
    assert_eq!(again["roles"], o["roles"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_accepts_of_a_one_slot_role_give_one_200_and_forty_nine_409() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut ws = Vec::new();
    for i in 0..50 {
        ws.push(
            app.post_worker(&a, &near_worker(&format!("Q-{i}"), i % 20, &["promoter"]))
                .await,
        );
    }
    let o = app.post_order(&a, &order_json("c", 1, "offer", 50)).await;
    assert_eq!(o["roles"][0]["pending_offers"], 50);
    let h = holders(&app, &ws).await;
    assert_eq!(h.len(), 50);
    let mut tasks = Vec::new();
    for (i, offer) in h {
        let token = s(&ws[i], "app_token");
        let id = s(&offer, "id");
        let client = app.client.clone();
        let url = format!("{}/v1/offers/{id}/accept", app.base);
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .expect("an answer")
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.expect("the task ends"));
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 49, "{codes:?}");
    let o = app.order(&a, &s(&o, "id")).await;
    assert_eq!(o["roles"][0]["filled"], 1);
    assert_eq!(
        o["assignments"].as_array().expect("assignments").len(),
        1,
        "{o}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_accepts_of_one_offer_give_one_200_and_forty_nine_409() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 1).await;
    app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    let h = holders(&app, &ws).await;
    let id = s(&h[0].1, "id");
    let token = s(&ws[0], "app_token");
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let client = app.client.clone();
        let url = format!("{}/v1/offers/{id}/accept", app.base);
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .expect("an answer")
                .status()
                .as_u16()
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.expect("the task ends"));
    }
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == 409).count(), 49, "{codes:?}");
    let mine = app.get(&token, "/v1/me/assignments").await.expect(200);
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);
}

async fn overlap_refused(first: (&str, &str), second: (&str, &str)) {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 1).await;
    let token = s(&ws[0], "app_token");
    let mut o1 = order_json("c1", 1, "offer", 1);
    o1["start"] = json!(first.0);
    o1["end"] = json!(first.1);
    let mut o2 = order_json("c2", 1, "offer", 1);
    o2["start"] = json!(second.0);
    o2["end"] = json!(second.1);
    let o1 = app.post_order(&a, &o1).await;
    let o2 = app.post_order(&a, &o2).await;
    let offers = app.offers(&token).await;
    assert_eq!(
        offers.len(),
        2,
        "both orders reach the only worker: {offers:?}"
    );
    let off = |order: &Value| {
        offers
            .iter()
            .find(|x| x["order_id"] == order["id"])
            .map(|x| s(x, "id"))
            .expect("an offer of the order")
    };
    app.accept(&token, &off(&o1)).await.expect(200);
    let r = app.accept(&token, &off(&o2)).await;
    assert_eq!(r.status.as_u16(), 409, "{}", r.body);
    let o2 = app.order(&a, &s(&o2, "id")).await;
    assert_eq!(o2["roles"][0]["filled"], 0);
    let mine = app.get(&token, "/v1/me/assignments").await.expect(200);
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);
}

#[tokio::test]
async fn accepting_an_overlapping_shift_is_refused_with_409() {
    overlap_refused(
        ("2026-11-28T09:00:00+08:00", "2026-11-28T18:00:00+08:00"),
        ("2026-11-28T17:00:00+08:00", "2026-11-28T21:00:00+08:00"),
    )
    .await;
}

#[tokio::test]
async fn accepting_a_shift_overlapping_an_overnight_shift_is_refused_with_409() {
    overlap_refused(
        ("2026-11-28T22:00:00+08:00", "2026-11-29T06:00:00+08:00"),
        ("2026-11-29T05:00:00+08:00", "2026-11-29T10:00:00+08:00"),
    )
    .await;
}

#[tokio::test]
async fn a_no_show_by_the_timer_promotes_a_standby_then_urgent_offers_follow() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 4).await;
    let mut body = order_json("c", 1, "assign", 1);
    body["standby"] = json!(1);
    let o = app.post_order(&a, &body).await;
    let oid = s(&o, "id");
    let list = o["assignments"].as_array().expect("assignments").clone();
    let confirmed: Vec<&Value> = list.iter().filter(|x| x["status"] == "confirmed").collect();
    let standby: Vec<&Value> = list.iter().filter(|x| x["status"] == "standby").collect();
    assert_eq!(confirmed.len(), 1, "{o}");
    assert_eq!(standby.len(), 1, "{o}");
    assert_eq!(o["standby"]["held"], 1);
    let first = confirmed[0]["worker_id"].clone();
    let backup = standby[0]["worker_id"].clone();

    // Start 09:00 +08:00, grace 15 minutes: the timer fires at 09:15.
    app.advance_to("2026-11-28T09:16:00+08:00").await;
    let o = app.order(&a, &oid).await;
    let by = |w: &Value, status: &str| {
        o["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .filter(|x| x["worker_id"] == *w && x["status"] == status)
            .count()
    };
    assert_eq!(by(&first, "no_show"), 1, "{o}");
    assert_eq!(by(&backup, "promoted"), 1, "{o}");
    assert_eq!(by(&backup, "confirmed"), 1, "{o}");
    assert_eq!(o["roles"][0]["filled"], 1);
    let w = app
        .get(
            &a.key,
            &format!("/v1/workers/{}", first.as_str().expect("id")),
        )
        .await
        .expect(200);
    assert_eq!(w["stats"]["no_shows"], 1);

    // The promoted worker does not show either (grace counts from the start): no standby is left, so urgent
    // offers with a five-minute life go out to the others.
    app.post(
        &a.key,
        &format!(
            "/v1/assignments/{}/no-show",
            o["assignments"]
                .as_array()
                .expect("assignments")
                .iter()
                .find(|x| x["worker_id"] == backup && x["status"] == "confirmed")
                .map(|x| s(x, "id"))
                .expect("the promoted assignment")
        ),
        &json!({}),
    )
    .await
    .expect(200);
    let others: Vec<&Value> = ws
        .iter()
        .filter(|w| w["id"] != first && w["id"] != backup)
        .collect();
    let mut urgent = Vec::new();
    for w in others {
        urgent.extend(app.offers(&s(w, "app_token")).await);
    }
    assert!(!urgent.is_empty(), "urgent offers go out");
    let now = at("2026-11-28T09:16:00+08:00");
    for u in &urgent {
        assert_eq!(u["order_id"], json!(oid));
        assert_eq!(u["urgent"], true, "{u}");
        assert_eq!(
            at(&s(u, "expires_at")),
            now + chrono::Duration::minutes(5),
            "{u}"
        );
    }
}

#[tokio::test]
async fn a_workers_cancellation_promotes_the_standby_as_replacement() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 3).await;
    let mut body = order_json("c", 1, "assign", 1);
    body["standby"] = json!(1);
    let o = app.post_order(&a, &body).await;
    let list = o["assignments"].as_array().expect("assignments").clone();
    let confirmed = list
        .iter()
        .find(|x| x["status"] == "confirmed")
        .expect("confirmed");
    let standby = list
        .iter()
        .find(|x| x["status"] == "standby")
        .expect("standby");
    // The agency cancels for the worker (the next test cancels through the app).
    let c = app
        .post(
            &a.key,
            &format!("/v1/assignments/{}/cancel", s(confirmed, "id")),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c["assignment"]["status"], "cancelled");
    let o = app.order(&a, &s(&o, "id")).await;
    let list = o["assignments"].as_array().expect("assignments");
    assert!(
        list.iter()
            .any(|x| x["worker_id"] == standby["worker_id"] && x["status"] == "promoted"),
        "{o}"
    );
    assert!(
        list.iter()
            .any(|x| x["worker_id"] == standby["worker_id"] && x["status"] == "confirmed"),
        "{o}"
    );
    assert_eq!(o["roles"][0]["filled"], 1);
}

#[tokio::test]
async fn standbys_are_held_per_role_and_a_lost_slot_takes_its_roles_standby() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 6).await;
    for i in 0..3 {
        app.post_worker(&a, &near_worker(&format!("C-{i}"), i, &["cook"]))
            .await;
    }
    // Three promoters and one cook, two standbys. Newcomers show up 80% of the time: the first standby
    // lifts the three promoters most, the second the lone cook more than a fifth promoter would.
    let mut body = order_json("c", 3, "assign", 1);
    body["roles"]
        .as_array_mut()
        .expect("roles")
        .push(json!({"name": "cook", "headcount": 1, "skills": ["cook"], "pay_per_hour": 25}));
    body["standby"] = json!(2);
    let o = app.post_order(&a, &body).await;
    assert_eq!(o["standby"]["held"], 2, "{o}");
    assert_eq!(o["standby"]["wanted"], 2, "{o}");
    let list = o["assignments"].as_array().expect("assignments").clone();
    let standby_of = |role: &str| -> Vec<Value> {
        list.iter()
            .filter(|x| x["status"] == "standby" && x["role"] == role)
            .cloned()
            .collect()
    };
    assert_eq!(standby_of("promoter").len(), 1, "{o}");
    assert_eq!(standby_of("cook").len(), 1, "{o}");
    let cook_backup = standby_of("cook")[0]["worker_id"].clone();
    let cook = list
        .iter()
        .find(|x| x["status"] == "confirmed" && x["role"] == "cook")
        .expect("a confirmed cook")
        .clone();

    app.post(
        &a.key,
        &format!("/v1/assignments/{}/cancel", s(&cook, "id")),
        &json!({}),
    )
    .await
    .expect(200);
    let o = app.order(&a, &s(&o, "id")).await;
    let list = o["assignments"].as_array().expect("assignments");
    let has = |w: &Value, role: &str, status: &str| {
        list.iter()
            .any(|x| x["worker_id"] == *w && x["role"] == role && x["status"] == status)
    };
    assert!(has(&cook_backup, "cook", "promoted"), "{o}");
    assert!(has(&cook_backup, "cook", "confirmed"), "{o}");
    assert_eq!(o["roles"][1]["filled"], 1, "{o}");
    // The promoters' standby stays where it was.
    assert_eq!(
        list.iter()
            .filter(|x| x["status"] == "standby" && x["role"] == "promoter")
            .count(),
        1,
        "{o}"
    );
}

#[tokio::test]
async fn a_worker_cancelling_through_the_app_gets_a_replacement_offered() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let o = app.post_order(&a, &order_json("c", 1, "offer", 1)).await;
    let h = holders(&app, &ws).await;
    let (i, offer) = h[0].clone();
    let token = s(&ws[i], "app_token");
    let acc = app.accept(&token, &s(&offer, "id")).await.expect(200);
    let asg = s(&acc["assignment"], "id");
    let c = app
        .post(&token, &format!("/v1/assignments/{asg}/cancel"), &json!({}))
        .await
        .expect(200);
    assert_eq!(c["assignment"]["status"], "cancelled");
    let w = app
        .get(&a.key, &format!("/v1/workers/{}", s(&ws[i], "id")))
        .await
        .expect(200);
    assert_eq!(w["stats"]["cancellations"], 1);
    let h = holders(&app, &ws).await;
    assert_eq!(h.len(), 1, "a replacement is offered");
    assert_ne!(h[0].0, i);
    let o = app.order(&a, &s(&o, "id")).await;
    assert_eq!(o["status"], "open");
    assert_eq!(o["roles"][0]["pending_offers"], 1);
}

#[tokio::test]
async fn a_standby_promoted_after_the_grace_is_not_marked_a_no_show_at_once() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let mut body = order_json("c", 1, "assign", 1);
    body["standby"] = json!(1);
    let o = app.post_order(&a, &body).await;
    let oid = s(&o, "id");
    let backup = o["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|x| x["status"] == "standby")
        .map(|x| x["worker_id"].clone())
        .expect("a standby");
    // The first no-show fires at 09:15 and promotes the standby then; its own grace runs from 09:15.
    app.advance_to("2026-11-28T09:16:00+08:00").await;
    let o = app.order(&a, &oid).await;
    let promoted = o["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|x| x["worker_id"] == backup && x["kind"] == "shift")
        .cloned()
        .expect("a shift for the promoted standby");
    assert_eq!(promoted["status"], "confirmed", "{o}");
    assert_eq!(o["roles"][0]["filled"], 1);
    let w = app
        .get(
            &a.key,
            &format!("/v1/workers/{}", backup.as_str().expect("id")),
        )
        .await
        .expect(200);
    assert_eq!(w["stats"]["no_shows"], 0);
    // Without a check-in, the replacement's own grace ends at 09:30.
    app.advance_to("2026-11-28T09:31:00+08:00").await;
    let o = app.order(&a, &oid).await;
    let again = o["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .find(|x| x["id"] == promoted["id"])
        .cloned()
        .expect("the promoted assignment");
    assert_eq!(again["status"], "no_show", "{o}");
}
