//! Attendance and ratings over HTTP with the manual clock: check-in inside and outside the geofence, late
//! arrivals, repeated check-ins, check-out, ratings and their effects, and suspension after repeated no-shows.

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

/// The worker checks in on time and out at the end of the standard shift.
async fn worked(app: &TestApp, w: &Value, asg: &str) {
    let token = s(w, "app_token");
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    app.check_in(&token, asg, VENUE).await.expect(200);
    app.advance_to("2026-11-28T18:00:00+08:00").await;
    let out = app.check_out(&token, asg, VENUE).await;
    // At the end the order may have checked the worker out already; either way the shift is completed.
    assert!(matches!(out.status.as_u16(), 200 | 409), "{}", out.body);
}

#[tokio::test]
async fn a_check_in_inside_the_geofence_is_accepted_on_time() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "c").await;
    let token = s(&w, "app_token");
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    let r = app
        .post(
            &token,
            &format!("/v1/assignments/{asg}/check-in"),
            &json!({"lat": 31.1913, "lon": 121.5802, "device_time": "2026-11-28T08:55:00+08:00"}),
        )
        .await
        .expect(200);
    assert_eq!(r["assignment"]["status"], "checked_in");
    assert_eq!(r["late_minutes"], 0);
    let d = r["distance_m"].as_f64().expect("distance");
    assert!((0.0..=50.0).contains(&d), "{r}");
}

#[tokio::test]
async fn a_check_in_outside_the_geofence_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, oid, asg) = booked(&app, &a, "c").await;
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    // About 1.1 km north of the venue; the geofence is 300 m.
    let r = app
        .check_in(&s(&w, "app_token"), &asg, (VENUE.0 + 0.01, VENUE.1))
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(
        s(&r.body, "type").ends_with("outside-geofence"),
        "{}",
        r.body
    );
    let o = app.order(&a, &oid).await;
    assert_eq!(o["assignments"][0]["status"], "confirmed");
}

#[tokio::test]
async fn a_late_check_in_counts_late_minutes_and_a_late_arrival() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "c").await;
    app.advance_to("2026-11-28T09:07:00+08:00").await;
    let r = app
        .check_in(&s(&w, "app_token"), &asg, VENUE)
        .await
        .expect(200);
    assert_eq!(r["late_minutes"], 7);
    let got = app
        .get(&a.key, &format!("/v1/workers/{}", s(&w, "id")))
        .await
        .expect(200);
    assert_eq!(got["stats"]["late_arrivals"], 1);
}

#[tokio::test]
async fn the_same_check_in_twice_answers_the_same() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "c").await;
    app.advance_to("2026-11-28T09:02:00+08:00").await;
    let first = app
        .check_in(&s(&w, "app_token"), &asg, VENUE)
        .await
        .expect(200);
    app.advance_to("2026-11-28T09:05:00+08:00").await;
    let second = app
        .check_in(&s(&w, "app_token"), &asg, VENUE)
        .await
        .expect(200);
    assert_eq!(first, second);
    let got = app
        .get(&a.key, &format!("/v1/workers/{}", s(&w, "id")))
        .await
        .expect(200);
    assert_eq!(got["stats"]["late_arrivals"], 1, "recorded once");
}

#[tokio::test]
async fn concurrent_check_ins_on_time_are_logged_once_and_answer_alike() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, oid, asg) = booked(&app, &a, "c").await;
    app.advance_to("2026-11-28T08:50:00+08:00").await;
    let token = s(&w, "app_token");
    let answers =
        futures_util::future::join_all((0..6).map(|_| app.check_in(&token, &asg, VENUE))).await;
    let bodies: Vec<Value> = answers.into_iter().map(|r| r.expect(200)).collect();
    for b in &bodies {
        assert_eq!(b, &bodies[0]);
    }
    assert_eq!(bodies[0]["assignment"]["status"], "checked_in");
    assert_eq!(bodies[0]["late_minutes"], 0);
    let o = app.order(&a, &oid).await;
    assert_eq!(o["assignments"][0]["status"], "checked_in");
    // The log holds the check-in once, with what the answer said.
    let events = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    let logged: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "checked_in")
        .collect();
    assert_eq!(logged.len(), 1, "{events}");
    assert_eq!(logged[0]["data"]["assignment"], asg.as_str());
    assert_eq!(logged[0]["data"]["distance_m"], bodies[0]["distance_m"]);
}

#[tokio::test]
async fn a_crew_checking_in_at_once_is_logged_once_each_and_answered_alike() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 8).await;
    let o = app.post_order(&a, &order_json("c", 8, "assign", 1)).await;
    let booked: Vec<(String, String)> = o["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|asg| {
            let w = ws
                .iter()
                .find(|w| w["id"] == asg["worker_id"])
                .expect("a promoter of ours");
            (s(w, "app_token"), s(asg, "id"))
        })
        .collect();
    assert_eq!(booked.len(), 8, "{o}");
    app.advance_to("2026-11-28T08:50:00+08:00").await;
    // Every worker twice, all at once: the writes of one turn on the writer mix check-ins that change their row
    // with repeats that find it changed.
    let answers = futures_util::future::join_all(
        booked
            .iter()
            .chain(booked.iter())
            .map(|(token, asg)| app.check_in(token, asg, VENUE)),
    )
    .await;
    let bodies: Vec<Value> = answers.into_iter().map(|r| r.expect(200)).collect();
    for (i, (_, asg)) in booked.iter().enumerate() {
        assert_eq!(bodies[i], bodies[i + booked.len()], "{asg}");
        assert_eq!(bodies[i]["assignment"]["id"], asg.as_str());
        assert_eq!(bodies[i]["assignment"]["status"], "checked_in");
    }
    let o = app.order(&a, &s(&o, "id")).await;
    for asg in o["assignments"].as_array().unwrap() {
        assert_eq!(asg["status"], "checked_in", "{o}");
    }
    let events = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    let mut logged: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "checked_in")
        .map(|e| e["data"]["assignment"].as_str().unwrap())
        .collect();
    logged.sort_unstable();
    let mut expected: Vec<&str> = booked.iter().map(|(_, asg)| asg.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(logged, expected, "{events}");
}

#[tokio::test]
async fn a_check_out_before_check_in_is_409() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, oid, asg) = booked(&app, &a, "c").await;
    app.advance_to("2026-11-28T09:00:00+08:00").await;
    app.check_out(&s(&w, "app_token"), &asg, VENUE)
        .await
        .expect(409);
    let o = app.order(&a, &oid).await;
    assert_eq!(o["assignments"][0]["status"], "confirmed");
}

#[tokio::test]
async fn a_check_out_reports_worked_minutes_and_completes_the_shift() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "c").await;
    let token = s(&w, "app_token");
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    app.check_in(&token, &asg, VENUE).await.expect(200);
    app.advance_to("2026-11-28T17:30:00+08:00").await;
    let out = app.check_out(&token, &asg, VENUE).await.expect(200);
    assert_eq!(out["assignment"]["status"], "completed");
    let worked = out["worked_minutes"].as_i64().expect("worked_minutes");
    assert!((510..=515).contains(&worked), "{out}");
    let got = app
        .get(&a.key, &format!("/v1/workers/{}", s(&w, "id")))
        .await
        .expect(200);
    assert_eq!(got["stats"]["completed_shifts"], 1);
}

#[tokio::test]
async fn five_stars_make_a_favourite_offered_first_on_the_clients_next_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    // The favourite-to-be lives farther away than two other promoters.
    let fav = app
        .post_worker(&a, &near_worker("FAV", 8, &["promoter"]))
        .await;
    let o = app
        .post_order(&a, &order_json("client-x", 1, "assign", 1))
        .await;
    let asg = s(&o["assignments"][0], "id");
    worked(&app, &fav, &asg).await;
    app.post(
        &a.key,
        &format!("/v1/assignments/{asg}/rating"),
        &json!({"stars": 5}),
    )
    .await
    .expect(201);
    let others = promoters(&app, &a, 2).await;
    let mut next = order_json("client-x", 1, "offer", 1);
    next["start"] = json!("2026-12-05T09:00:00+08:00");
    next["end"] = json!("2026-12-05T18:00:00+08:00");
    let next = app.post_order(&a, &next).await;
    assert_eq!(
        app.offers(&s(&fav, "app_token")).await.len(),
        1,
        "the favourite is offered first"
    );
    for w in &others {
        assert!(app.offers(&s(w, "app_token")).await.is_empty());
    }
    let offers = app.offers(&s(&fav, "app_token")).await;
    assert_eq!(offers[0]["order_id"], next["id"]);
    // The holder is left out of the live candidates; the two closer workers follow it.
    let ranked = app.candidate_ids(&a, &s(&next, "id"), "promoter").await;
    let others: Vec<String> = others.iter().map(|w| s(w, "id")).collect();
    assert_eq!(ranked, others);
}

#[tokio::test]
async fn one_star_blocks_the_worker_for_that_client_and_opens_a_review() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, _, asg) = booked(&app, &a, "client-y").await;
    worked(&app, &w, &asg).await;
    let rated = app
        .post(
            &a.key,
            &format!("/v1/assignments/{asg}/rating"),
            &json!({"stars": 1, "comment": "left early"}),
        )
        .await
        .expect(201);
    assert_eq!(rated["stars"], 1);
    // A second rating conflicts.
    app.post(
        &a.key,
        &format!("/v1/assignments/{asg}/rating"),
        &json!({"stars": 4}),
    )
    .await
    .expect(409);
    let reviews = app.get(&a.key, "/v1/reviews?status=open").await.expect(200);
    let items = reviews["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{reviews}");
    assert_eq!(items[0]["assignment_id"], json!(asg));
    assert_eq!(items[0]["worker_id"], w["id"]);
    assert_eq!(items[0]["due_at"], "2026-11-30T10:00:00Z");

    let mut same = order_json("client-y", 1, "offer", 1);
    same["start"] = json!("2026-12-05T09:00:00+08:00");
    same["end"] = json!("2026-12-05T18:00:00+08:00");
    let same = app.post_order(&a, &same).await;
    let ranked = app.candidate_ids(&a, &s(&same, "id"), "promoter").await;
    assert!(!ranked.contains(&s(&w, "id")), "blocked for client-y");
    assert!(app.offers(&s(&w, "app_token")).await.is_empty());

    let mut other = order_json("client-z", 1, "offer", 1);
    other["start"] = json!("2026-12-06T09:00:00+08:00");
    other["end"] = json!("2026-12-06T18:00:00+08:00");
    let other = app.post_order(&a, &other).await;
    // Another client still sees the worker: the only promoter holds its offer.
    let offers = app.offers(&s(&w, "app_token")).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0]["order_id"], other["id"]);
}

#[tokio::test]
async fn three_no_shows_in_thirty_days_suspend_the_worker() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 1).await;
    let id = s(&ws[0], "id");
    for day in [24, 25, 26] {
        let mut o = order_json(&format!("c{day}"), 1, "assign", 1);
        o["start"] = json!(format!("2026-11-{day}T09:00:00+08:00"));
        o["end"] = json!(format!("2026-11-{day}T18:00:00+08:00"));
        let o = app.post_order(&a, &o).await;
        assert_eq!(o["status"], "filled", "{o}");
        app.advance_to(&format!("2026-11-{day}T09:20:00+08:00"))
            .await;
        let o = app.order(&a, &s(&o, "id")).await;
        assert_eq!(o["assignments"][0]["status"], "no_show", "{o}");
        let w = app
            .get(&a.key, &format!("/v1/workers/{id}"))
            .await
            .expect(200);
        let want = if day == 26 { "suspended" } else { "active" };
        assert_eq!(w["status"], want, "after the no-show of the {day}th");
    }
    let w = app
        .get(&a.key, &format!("/v1/workers/{id}"))
        .await
        .expect(200);
    assert_eq!(w["stats"]["no_shows"], 3);
}

#[tokio::test]
async fn a_check_in_more_than_an_hour_before_the_start_is_409_and_changes_nothing() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (w, oid, asg) = booked(&app, &a, "c").await;
    app.advance_to("2026-11-28T07:59:00+08:00").await;
    app.check_in(&s(&w, "app_token"), &asg, VENUE)
        .await
        .expect(409);
    let o = app.order(&a, &oid).await;
    assert_eq!(o["assignments"][0]["status"], "confirmed");
    // One minute later the window is open.
    app.advance_to("2026-11-28T08:00:00+08:00").await;
    app.check_in(&s(&w, "app_token"), &asg, VENUE)
        .await
        .expect(200);
}

#[tokio::test]
async fn the_agency_checks_in_for_a_worker_as_an_on_site_supervisor() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let (_, _, asg) = booked(&app, &a, "c").await;
    app.advance_to("2026-11-28T08:50:00+08:00").await;
    let r = app.check_in(&a.key, &asg, VENUE).await.expect(200);
    assert_eq!(r["assignment"]["status"], "checked_in");
}
