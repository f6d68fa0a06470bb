//! Side effects that must follow a change: suspension and deletion release a worker's future work, late
//! cancellations are graded strikes, check-out is geofenced, reviews are resolved, on-call windows are
//! listed and left, and replacements carry what they replace.

use serde_json::{Value, json};

use crate::helpers::*;

/// One confirmed promoter on the standard order (assign mode): `(worker view, order id, assignment id)`.
async fn booked(app: &TestApp, a: &Agency, client: &str) -> (Value, String, String) {
    let ws = promoters(app, a, 1).await;
    let o = app.post_order(a, &order_json(client, 1, "assign", 1)).await;
    let asg = s(&o["assignments"][0], "id");
    assert_eq!(o["assignments"][0]["worker_id"], ws[0]["id"]);
    (ws[0].clone(), s(&o, "id"), asg)
}

#[tokio::test]
async fn a_check_out_outside_the_geofence_is_422_and_one_inside_records_its_own_distance() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, oid, asg) = booked(&app, &a, "c").await;
    let token = s(&w, "app_token");
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    app.check_in(&token, &asg, VENUE).await.expect(200);
    app.advance_to("2026-11-28T17:30:00+08:00").await;
    // About 1.1 km north of the venue; the geofence is 300 m.
    let r = app.check_out(&token, &asg, (VENUE.0 + 0.01, VENUE.1)).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(
        s(&r.body, "type").ends_with("outside-geofence"),
        "{}",
        r.body
    );
    let o = app.order(&a, &oid).await;
    assert_eq!(o["assignments"][0]["status"], "checked_in");
    assert!(o["assignments"][0]["checked_out_at"].is_null(), "{o}");

    // About 110 m north: inside, and recorded apart from the check-in's distance.
    let out = app
        .check_out(&token, &asg, (VENUE.0 + 0.001, VENUE.1))
        .await
        .expect(200);
    assert_eq!(out["assignment"]["status"], "completed");
    let d = out["check_out_distance_m"].as_f64().expect("distance");
    assert!((100.0..=120.0).contains(&d), "{out}");
    assert_eq!(out["assignment"]["check_out_distance_m"], json!(d));
    let check_in_d = out["assignment"]["distance_m"].as_f64().expect("check-in");
    assert!(check_in_d < 50.0, "{out}");
    let mine = app.get(&token, "/v1/me/assignments").await.expect(200);
    assert_eq!(mine["items"][0]["check_out_distance_m"], json!(d), "{mine}");
}

/// The standard one-promoter order on `day` (`2026-11-DD` or `2026-12-DD`), assign mode: `(order, assignment)`.
async fn order_on(app: &TestApp, a: &Agency, day: &str) -> (String, String) {
    let mut o = order_json(&format!("client-{day}"), 1, "assign", 1);
    o["start"] = json!(format!("{day}T09:00:00+08:00"));
    o["end"] = json!(format!("{day}T18:00:00+08:00"));
    let o = app.post_order(a, &o).await;
    assert_eq!(o["status"], "filled", "{o}");
    (s(&o, "id"), s(&o["assignments"][0], "id"))
}

/// The worker's status as the agency sees it.
async fn status_of(app: &TestApp, a: &Agency, worker: &str) -> String {
    let w = app
        .get(&a.key, &format!("/v1/workers/{worker}"))
        .await
        .expect(200);
    s(&w, "status")
}

/// A single promoter with two no-shows (two strikes of the three that suspend) on the 24th and 25th.
async fn twice_absent(app: &TestApp, a: &Agency) -> Value {
    let w = promoters(app, a, 1).await.remove(0);
    for day in ["2026-11-24", "2026-11-25"] {
        order_on(app, a, day).await;
        app.advance_to(&format!("{day}T09:20:00+08:00")).await;
    }
    assert_eq!(status_of(app, a, &s(&w, "id")).await, "active");
    w
}

/// The worker cancels, through the app, their assignment on `day` `minutes_before` its 09:00 start.
async fn cancel_before(app: &TestApp, a: &Agency, w: &Value, day: &str, minutes_before: i64) {
    let (_, asg) = order_on(app, a, day).await;
    let start = chrono::DateTime::parse_from_rfc3339(&format!("{day}T09:00:00+08:00")).unwrap();
    let at = start - chrono::Duration::minutes(minutes_before);
    app.advance_to(&at.to_rfc3339()).await;
    let c = app
        .post(
            &s(w, "app_token"),
            &format!("/v1/assignments/{asg}/cancel"),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(c["assignment"]["status"], "cancelled");
}

#[tokio::test]
async fn a_cancellation_under_two_hours_before_the_start_is_a_whole_strike() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = twice_absent(&app, &a).await;
    cancel_before(&app, &a, &w, "2026-11-27", 90).await;
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "suspended");
}

#[tokio::test]
async fn a_cancellation_under_eight_hours_before_the_start_is_two_thirds_of_a_strike() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = twice_absent(&app, &a).await;
    cancel_before(&app, &a, &w, "2026-11-27", 3 * 60).await;
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "active");
    cancel_before(&app, &a, &w, "2026-11-28", 7 * 60).await;
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "suspended");
}

#[tokio::test]
async fn a_cancellation_under_a_day_before_the_start_is_a_third_of_a_strike() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = twice_absent(&app, &a).await;
    for day in ["2026-11-27", "2026-11-28"] {
        cancel_before(&app, &a, &w, day, 20 * 60).await;
        assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "active");
    }
    cancel_before(&app, &a, &w, "2026-11-29", 10 * 60).await;
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "suspended");
}

#[tokio::test]
async fn a_cancellation_a_day_or_more_before_the_start_is_no_strike() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = twice_absent(&app, &a).await;
    for day in ["2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"] {
        cancel_before(&app, &a, &w, day, 24 * 60).await;
        assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "active");
    }
    let got = app
        .get(&a.key, &format!("/v1/workers/{}", s(&w, "id")))
        .await
        .expect(200);
    assert_eq!(got["stats"]["cancellations"], 4);
}

#[tokio::test]
async fn clean_shifts_after_a_strike_wipe_one_so_a_late_cancellation_no_longer_suspends() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = twice_absent(&app, &a).await;
    let token = s(&w, "app_token");
    // Five clean shifts after the first strike wipe one of the two.
    for day in [
        "2026-11-26",
        "2026-11-27",
        "2026-11-28",
        "2026-11-29",
        "2026-11-30",
    ] {
        let (_, asg) = order_on(&app, &a, day).await;
        app.advance_to(&format!("{day}T08:55:00+08:00")).await;
        app.check_in(&token, &asg, VENUE).await.expect(200);
        app.advance_to(&format!("{day}T17:55:00+08:00")).await;
        app.check_out(&token, &asg, VENUE).await.expect(200);
    }
    // One strike left: a whole strike from a cancellation makes two, under the three that suspend.
    cancel_before(&app, &a, &w, "2026-12-02", 60).await;
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "active");
    // And one more makes three.
    cancel_before(&app, &a, &w, "2026-12-03", 60).await;
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "suspended");
}

/// Every event of the agency's feed, in log order.
async fn all_events(app: &TestApp, a: &Agency) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let path = if after.is_empty() {
            "/v1/events".to_string()
        } else {
            format!("/v1/events?after={after}")
        };
        let page = app.get(&a.key, &path).await.expect(200);
        out.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => after = c.to_string(),
            None => return out,
        }
    }
}

/// The `assignment_ended` events of an assignment.
async fn endings(app: &TestApp, a: &Agency, asg: &str) -> Vec<Value> {
    all_events(app, a)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "assignment_ended" && e["data"]["assignment"] == json!(asg))
        .map(|e| e["data"].clone())
        .collect()
}

#[tokio::test]
async fn suspending_a_worker_releases_their_future_work_withdraws_their_offers_and_promotes_a_standby()
 {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let mut body = order_json("c", 1, "assign", 1);
    body["standby"] = json!(1);
    let o = app.post_order(&a, &body).await;
    let list = o["assignments"].as_array().expect("assignments").clone();
    let confirmed = list
        .iter()
        .find(|x| x["status"] == "confirmed")
        .expect("confirmed")
        .clone();
    let standby = list
        .iter()
        .find(|x| x["status"] == "standby")
        .expect("standby")
        .clone();
    let worker = s(&confirmed, "worker_id");
    // Another day, offered to all three.
    let mut other = order_json("d", 1, "offer", 3);
    other["start"] = json!("2026-11-29T09:00:00+08:00");
    other["end"] = json!("2026-11-29T18:00:00+08:00");
    let other = app.post_order(&a, &other).await;
    let offers = app
        .get(&a.key, &format!("/v1/orders/{}/offers", s(&other, "id")))
        .await
        .expect(200);
    let mine = |offers: &Value| {
        offers["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|x| x["worker_id"] == json!(worker))
            .cloned()
            .expect("the worker's offer")
    };
    assert_eq!(mine(&offers)["status"], "pending", "{offers}");

    app.patch(
        &a.key,
        &format!("/v1/workers/{worker}"),
        &json!({"status": "suspended"}),
    )
    .await
    .expect(200);

    let o = app.order(&a, &s(&o, "id")).await;
    let list = o["assignments"].as_array().expect("assignments");
    let gone = list
        .iter()
        .find(|x| x["id"] == confirmed["id"])
        .expect("kept");
    assert_eq!(gone["status"], "released", "{o}");
    assert!(
        list.iter()
            .any(|x| x["worker_id"] == standby["worker_id"] && x["status"] == "confirmed"),
        "the standby is promoted: {o}"
    );
    assert_eq!(o["roles"][0]["filled"], 1);
    let ended = endings(&app, &a, &s(&confirmed, "id")).await;
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["reason"], "worker_suspended");

    let offers = app
        .get(&a.key, &format!("/v1/orders/{}/offers", s(&other, "id")))
        .await
        .expect(200);
    assert_eq!(mine(&offers)["status"], "withdrawn", "{offers}");
    let closed = all_events(&app, &a).await.into_iter().any(|e| {
        e["kind"] == "offer_closed"
            && e["data"]["worker"] == json!(worker)
            && e["data"]["status"] == "withdrawn"
    });
    assert!(closed);
    assert!(ws.iter().any(|w| w["id"] == json!(worker)));
}

#[tokio::test]
async fn deleting_a_worker_releases_their_future_assignment_and_books_a_replacement() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let o = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    let first = o["assignments"][0].clone();
    app.delete(&a.key, &format!("/v1/workers/{}", s(&first, "worker_id")))
        .await
        .expect(204);
    let o = app.order(&a, &s(&o, "id")).await;
    let list = o["assignments"].as_array().expect("assignments");
    assert_eq!(list[0]["status"], "released", "{o}");
    let replacement = list
        .iter()
        .find(|x| x["status"] == "confirmed")
        .expect("a replacement");
    assert_ne!(replacement["worker_id"], first["worker_id"]);
    assert_eq!(o["status"], "filled");
    let ended = endings(&app, &a, &s(&first, "id")).await;
    assert_eq!(ended[0]["reason"], "worker_deleted", "{ended:?}");
}

#[tokio::test]
async fn a_worker_suspended_by_strikes_loses_their_future_assignments() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = twice_absent(&app, &a).await;
    let (later, asg) = order_on(&app, &a, "2026-12-05").await;
    cancel_before(&app, &a, &w, "2026-11-27", 90).await;
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "suspended");
    let o = app.order(&a, &later).await;
    assert_eq!(o["assignments"][0]["status"], "released", "{o}");
    assert_eq!(o["status"], "open");
    let ended = endings(&app, &a, &asg).await;
    assert_eq!(ended[0]["reason"], "worker_suspended", "{ended:?}");
}

/// The worker checks in on time and out before the end of the standard shift.
async fn worked(app: &TestApp, w: &Value, asg: &str) {
    let token = s(w, "app_token");
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    app.check_in(&token, asg, VENUE).await.expect(200);
    app.advance_to("2026-11-28T17:55:00+08:00").await;
    app.check_out(&token, asg, VENUE).await.expect(200);
}

/// Rates the assignment 2 stars (a review opens, the worker is not blocked): the review's id.
async fn poorly_rated(app: &TestApp, a: &Agency, asg: &str) -> String {
    let rated = app
        .post(
            &a.key,
            &format!("/v1/assignments/{asg}/rating"),
            &json!({"stars": 2, "comment": "late from the break"}),
        )
        .await
        .expect(201);
    s(&rated["review"], "id")
}

#[tokio::test]
async fn a_review_resolved_with_a_block_blocks_the_worker_for_the_client_and_cannot_be_resolved_twice()
 {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "client-y").await;
    worked(&app, &w, &asg).await;
    let review = poorly_rated(&app, &a, &asg).await;
    let r = app
        .post(
            &a.key,
            &format!("/v1/reviews/{review}/resolve"),
            &json!({"outcome": "block", "note": "second complaint this month"}),
        )
        .await
        .expect(200);
    assert_eq!(r["review"]["status"], "resolved");
    assert_eq!(r["review"]["outcome"], "block");
    assert_eq!(r["review"]["note"], "second complaint this month");
    let blocks = app
        .get(&a.key, "/v1/clients/client-y/blocks")
        .await
        .expect(200);
    assert!(blocks.to_string().contains(&s(&w, "id")), "{blocks}");
    let events = all_events(&app, &a).await;
    assert!(events.iter().any(|e| e["kind"] == "client_lists_set"
        && e["data"]["worker"] == w["id"]
        && e["data"]["blocked"] == true));
    assert!(events.iter().any(|e| e["kind"] == "review_resolved"
        && e["data"]["review"] == json!(review)
        && e["data"]["outcome"] == "block"));
    let mut same = order_json("client-y", 1, "offer", 1);
    same["start"] = json!("2026-12-05T09:00:00+08:00");
    same["end"] = json!("2026-12-05T18:00:00+08:00");
    let same = app.post_order(&a, &same).await;
    let ranked = app.candidate_ids(&a, &s(&same, "id"), "promoter").await;
    assert!(!ranked.contains(&s(&w, "id")), "blocked for client-y");

    let again = app
        .post(
            &a.key,
            &format!("/v1/reviews/{review}/resolve"),
            &json!({"outcome": "dismissed"}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 409, "{}", again.body);
    let resolved = app
        .get(&a.key, "/v1/reviews?status=resolved")
        .await
        .expect(200);
    assert_eq!(resolved["items"][0]["outcome"], "block", "{resolved}");
    app.post(
        &a.key,
        &format!("/v1/reviews/{review}/resolve"),
        &json!({"outcome": "fired"}),
    )
    .await
    .expect(422);
}

#[tokio::test]
async fn a_review_resolved_with_a_suspension_suspends_the_worker_and_releases_their_future_work() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "client-y").await;
    worked(&app, &w, &asg).await;
    let (later, later_asg) = order_on(&app, &a, "2026-12-05").await;
    let review = poorly_rated(&app, &a, &asg).await;
    app.post(
        &a.key,
        &format!("/v1/reviews/{review}/resolve"),
        &json!({"outcome": "suspension"}),
    )
    .await
    .expect(200);
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "suspended");
    let o = app.order(&a, &later).await;
    assert_eq!(o["assignments"][0]["status"], "released", "{o}");
    let ended = endings(&app, &a, &later_asg).await;
    assert_eq!(ended[0]["reason"], "worker_suspended", "{ended:?}");
}

/// The agency's reviews listed as overdue.
async fn overdue_reviews(app: &TestApp, a: &Agency) -> Vec<Value> {
    let page = app
        .get(&a.key, "/v1/reviews?status=overdue")
        .await
        .expect(200);
    page["items"].as_array().expect("items").clone()
}

#[tokio::test]
async fn an_unresolved_review_past_its_due_time_is_flagged_overdue_once() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "client-y").await;
    worked(&app, &w, &asg).await;
    let review = poorly_rated(&app, &a, &asg).await;
    assert!(overdue_reviews(&app, &a).await.is_empty());
    let open = app.get(&a.key, "/v1/reviews?status=open").await.expect(200);
    assert_eq!(open["items"][0]["overdue"], false, "{open}");
    // Due 48 h after the rating (2026-11-28 17:55 +08:00).
    app.advance_to("2026-11-30T18:00:00+08:00").await;
    let items = overdue_reviews(&app, &a).await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["id"], json!(review));
    assert_eq!(items[0]["overdue"], true);
    app.advance_to("2026-12-01T18:00:00+08:00").await;
    let flagged: Vec<Value> = all_events(&app, &a)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "review_overdue")
        .collect();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert_eq!(flagged[0]["data"]["review"], json!(review));
    assert_eq!(flagged[0]["at"], "2026-11-30T09:55:00Z");

    let r = app
        .post(
            &a.key,
            &format!("/v1/reviews/{review}/resolve"),
            &json!({"outcome": "dismissed", "note": "the client withdrew the complaint"}),
        )
        .await
        .expect(200);
    assert_eq!(r["review"]["overdue"], false);
    assert!(overdue_reviews(&app, &a).await.is_empty());
    assert_eq!(status_of(&app, &a, &s(&w, "id")).await, "active");
}

/// Three promoters; the farthest (P-2) works weekdays only but declares itself on call near the venue for
/// Saturday 2026-11-28 06:00–20:00: `(workers, P-2's token, the window's id)`.
async fn weekday_worker_on_call(app: &TestApp, a: &Agency) -> (Vec<Value>, String, String) {
    let ws = promoters(app, a, 3).await;
    let token = s(&ws[2], "app_token");
    app.call(
        reqwest::Method::PUT,
        "/v1/me/availability",
        Some(&token),
        Some(&json!({"availability": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "20:00"}]})),
    )
    .await
    .expect(200);
    let joined = app
        .post(
            &token,
            "/v1/me/on-call",
            &json!({"start": "2026-11-28T06:00:00+08:00", "end": "2026-11-28T20:00:00+08:00",
                    "lat": 31.1912, "lon": 121.5804, "radius_km": 10}),
        )
        .await
        .expect(201);
    (ws, token, s(&joined, "id"))
}

#[tokio::test]
async fn an_on_call_window_counts_as_availability_for_an_urgent_replacement_inside_it() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (ws, on_call, _) = weekday_worker_on_call(&app, &a).await;
    let o = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    assert_eq!(o["assignments"][0]["worker_id"], ws[0]["id"], "{o}");
    // Nobody checks in: the no-show fires at 09:15 and, with no standby, the on-call worker is asked first
    // although their weekly availability does not cover Saturday.
    app.advance_to("2026-11-28T09:16:00+08:00").await;
    let offers = app.offers(&on_call).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["urgent"], true);
    assert!(app.offers(&s(&ws[1], "app_token")).await.is_empty());
}

#[tokio::test]
async fn a_worker_lists_its_on_call_windows_and_leaves_one_which_then_brings_no_urgent_offer() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (ws, on_call, id) = weekday_worker_on_call(&app, &a).await;
    let sunday = app
        .post(
            &on_call,
            "/v1/me/on-call",
            &json!({"start": "2026-11-29T06:00:00+08:00", "end": "2026-11-29T20:00:00+08:00",
                    "lat": 31.1912, "lon": 121.5804, "radius_km": 10}),
        )
        .await
        .expect(201);
    let listed = app.get(&on_call, "/v1/me/on-call").await.expect(200);
    let ids: Vec<&Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| &w["id"])
        .collect();
    assert_eq!(ids, vec![&json!(id), &sunday["id"]], "{listed}");
    assert_eq!(listed["items"][0]["start"], "2026-11-27T22:00:00Z");
    assert_eq!(listed["items"][0]["radius_km"], 10.0);

    app.delete(&on_call, &format!("/v1/me/on-call/{id}"))
        .await
        .expect(204);
    app.delete(&on_call, &format!("/v1/me/on-call/{id}"))
        .await
        .expect(404);
    // Another worker cannot leave someone else's window.
    app.delete(
        &s(&ws[1], "app_token"),
        &format!("/v1/me/on-call/{}", s(&sunday, "id")),
    )
    .await
    .expect(404);
    let listed = app.get(&on_call, "/v1/me/on-call").await.expect(200);
    assert_eq!(listed["items"].as_array().expect("items").len(), 1);
    assert_eq!(listed["items"][0]["id"], sunday["id"]);
    assert!(
        all_events(&app, &a)
            .await
            .iter()
            .any(|e| e["kind"] == "on_call_left")
    );
    // The live state dropped the window as a rebuild from the database does.
    let views = app.get(ADMIN_TOKEN, "/v1/admin/views").await.expect(200);
    assert_eq!(views["equal"], true, "{views}");

    app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    app.advance_to("2026-11-28T09:16:00+08:00").await;
    assert!(app.offers(&on_call).await.is_empty(), "left the window");
    assert_eq!(app.offers(&s(&ws[1], "app_token")).await.len(), 1);
}

#[tokio::test]
async fn an_urgent_replacement_offer_and_the_assignment_it_creates_carry_what_they_replace() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (ws, on_call, _) = weekday_worker_on_call(&app, &a).await;
    let o = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    let lost = s(&o["assignments"][0], "id");
    assert_eq!(o["assignments"][0]["worker_id"], ws[0]["id"], "{o}");
    app.advance_to("2026-11-28T09:16:00+08:00").await;
    let offers = app.offers(&on_call).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["urgent"], true);
    assert_eq!(offers[0]["replaces"], json!(lost), "{offers:?}");
    let acc = app.accept(&on_call, &s(&offers[0], "id")).await.expect(200);
    assert_eq!(acc["assignment"]["replaces"], json!(lost), "{acc}");
    let mine = app.get(&on_call, "/v1/me/assignments").await.expect(200);
    assert_eq!(mine["items"][0]["replaces"], json!(lost), "{mine}");
    let events = all_events(&app, &a).await;
    assert!(
        events.iter().any(|e| e["kind"] == "offer_sent"
            && e["data"]["urgent"] == true
            && e["data"]["replaces"] == json!(lost)),
        "the offer's event"
    );
    assert!(
        events.iter().any(|e| e["kind"] == "assignment_made"
            && e["data"]["worker"] == ws[2]["id"]
            && e["data"]["replaces"] == json!(lost)),
        "the assignment's event"
    );
}

#[tokio::test]
async fn an_order_that_ends_with_no_one_staffed_ends_unfilled_and_a_staffed_one_completed() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    let empty = app.post_order(&a, &order_json("c", 1, "assign", 1)).await;
    let mut other = order_json("d", 1, "assign", 1);
    other["venue"]["name"] = json!("Hall 4");
    let staffed = app.post_order(&a, &other).await;
    let asg = s(&staffed["assignments"][0], "id");
    let worker = ws
        .iter()
        .find(|w| w["id"] == staffed["assignments"][0]["worker_id"])
        .expect("a promoter")
        .clone();
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    app.check_in(&s(&worker, "app_token"), &asg, VENUE)
        .await
        .expect(200);
    app.advance_to("2026-11-28T18:05:00+08:00").await;
    let empty = app.order(&a, &s(&empty, "id")).await;
    assert_eq!(empty["status"], "unfilled", "{empty}");
    let staffed = app.order(&a, &s(&staffed, "id")).await;
    assert_eq!(staffed["status"], "completed", "{staffed}");
    let listed = app
        .get(&a.key, "/v1/orders?status=unfilled")
        .await
        .expect(200);
    let ids: Vec<&Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| &o["id"])
        .collect();
    assert_eq!(ids, vec![&empty["id"]], "{listed}");
    // An ended order cannot be cancelled.
    app.post(
        &a.key,
        &format!("/v1/orders/{}/cancel", s(&empty, "id")),
        &json!({}),
    )
    .await
    .expect(409);
}
