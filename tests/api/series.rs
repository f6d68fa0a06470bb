//! Recurring and multi-day orders: a repeating order becomes a series of orders, one per shift, at the same
//! local time across DST changes; a series is read, changed and cancelled from a date on, offered whole to a
//! worker, and accepted whole or in part.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// A series body: the `order_json` role at the venue from `start` to `end`, repeating by `repeat`.
fn series_json(start: &str, end: &str, repeat: Value, headcount: u32, mode: &str) -> Value {
    let mut b = order_json("weekend-client", headcount, mode, 1);
    b["start"] = json!(start);
    b["end"] = json!(end);
    b["repeat"] = repeat;
    b
}

fn shifts(series: &Value) -> Vec<Value> {
    series["shifts"].as_array().expect("shifts").clone()
}

fn column(series: &Value, key: &str) -> Vec<String> {
    shifts(series).iter().map(|sh| s(sh, key)).collect()
}

async fn nothing_posted(app: &TestApp, a: &Agency) {
    let orders = app.get(&a.key, "/v1/orders").await.expect(200);
    assert!(
        orders["items"].as_array().expect("items").is_empty(),
        "{orders}"
    );
    let series = app.get(&a.key, "/v1/series").await.expect(200);
    assert!(
        series["items"].as_array().expect("items").is_empty(),
        "{series}"
    );
}

#[tokio::test]
async fn a_weekend_repeat_creates_the_right_shifts_across_a_dst_change() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    // Berlin moves its clocks forward on Sunday 2027-03-28: 09:00 local is 08:00Z before, 07:00Z after.
    let mut body = series_json(
        "2027-03-20T09:00:00+01:00",
        "2027-03-20T18:00:00+01:00",
        json!({"days": ["sat", "sun"], "until": "2027-04-04"}),
        2,
        "offer",
    );
    body["venue"]["timezone"] = json!("Europe/Berlin");
    let series = app.post_order(&a, &body).await;
    assert!(s(&series, "id").starts_with("ser_"), "{series}");
    assert_eq!(series["timezone"], "Europe/Berlin");
    assert_eq!(
        column(&series, "date"),
        [
            "2027-03-20",
            "2027-03-21",
            "2027-03-27",
            "2027-03-28",
            "2027-04-03",
            "2027-04-04"
        ]
    );
    assert_eq!(
        column(&series, "start"),
        [
            "2027-03-20T08:00:00Z",
            "2027-03-21T08:00:00Z",
            "2027-03-27T08:00:00Z",
            "2027-03-28T07:00:00Z",
            "2027-04-03T07:00:00Z",
            "2027-04-04T07:00:00Z"
        ]
    );
    assert_eq!(
        column(&series, "end"),
        [
            "2027-03-20T17:00:00Z",
            "2027-03-21T17:00:00Z",
            "2027-03-27T17:00:00Z",
            "2027-03-28T16:00:00Z",
            "2027-04-03T16:00:00Z",
            "2027-04-04T16:00:00Z"
        ]
    );
    // Each shift is an order that names its series, and the series reads back the same.
    for sh in shifts(&series) {
        let o = app.order(&a, &s(&sh, "order_id")).await;
        assert_eq!(o["series"], series["id"]);
        assert_eq!(o["start"], sh["start"]);
        assert_eq!(o["venue"]["timezone"], "Europe/Berlin");
    }
    let read = app
        .get(&a.key, &format!("/v1/series/{}", s(&series, "id")))
        .await
        .expect(200);
    assert_eq!(column(&read, "start"), column(&series, "start"));
    assert_eq!(read["repeat"]["days"], json!(["sat", "sun"]));

    // Without a timezone the start's offset is kept: the same wall time in +01:00, so 08:00Z all along.
    let fixed = series_json(
        "2027-03-27T09:00:00+01:00",
        "2027-03-27T18:00:00+01:00",
        json!({"days": ["sat", "sun"], "until": "2027-03-28"}),
        1,
        "offer",
    );
    let fixed = app.post_order(&a, &fixed).await;
    assert_eq!(fixed["timezone"], "+01:00");
    assert_eq!(
        column(&fixed, "start"),
        ["2027-03-27T08:00:00Z", "2027-03-28T08:00:00Z"]
    );
}

#[tokio::test]
async fn an_overnight_shift_keeps_its_local_end_across_the_autumn_change() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    // Berlin goes back an hour in the night of 2027-10-30 to 31: that night's 22:00–06:00 lasts 9 hours.
    let mut body = series_json(
        "2027-10-29T22:00:00+02:00",
        "2027-10-30T06:00:00+02:00",
        json!({"days": "daily", "until": "2027-10-31"}),
        1,
        "offer",
    );
    body["venue"]["timezone"] = json!("Europe/Berlin");
    let series = app.post_order(&a, &body).await;
    assert_eq!(
        column(&series, "start"),
        [
            "2027-10-29T20:00:00Z",
            "2027-10-30T20:00:00Z",
            "2027-10-31T21:00:00Z"
        ]
    );
    assert_eq!(
        column(&series, "end"),
        [
            "2027-10-30T04:00:00Z",
            "2027-10-31T05:00:00Z",
            "2027-11-01T05:00:00Z"
        ]
    );
}

#[tokio::test]
async fn an_explicit_list_of_dates_creates_one_shift_per_date() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let body = series_json(
        "2026-12-05T09:00:00+08:00",
        "2026-12-05T18:00:00+08:00",
        json!({"dates": ["2026-12-12", "2026-12-06", "2026-12-05"]}),
        1,
        "offer",
    );
    let series = app.post_order(&a, &body).await;
    assert_eq!(
        column(&series, "date"),
        ["2026-12-05", "2026-12-06", "2026-12-12"]
    );
    assert_eq!(
        column(&series, "start"),
        [
            "2026-12-05T01:00:00Z",
            "2026-12-06T01:00:00Z",
            "2026-12-12T01:00:00Z"
        ]
    );
    let all = app.get(&a.key, "/v1/series").await.expect(200);
    assert_eq!(all["items"].as_array().expect("items").len(), 1);
    assert_eq!(all["items"][0]["id"], series["id"]);
}

#[tokio::test]
async fn a_three_day_event_is_a_series_of_daily_shifts_and_a_three_day_shift_is_still_refused() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let long = series_json(
        "2026-12-05T08:00:00+08:00",
        "2026-12-08T08:00:00+08:00",
        json!({"days": "daily", "until": "2026-12-07"}),
        1,
        "offer",
    );
    let r = app.try_post_order(&a, &long).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(r.fields().contains(&"end".to_string()), "{}", r.body);
    let mut single = long.clone();
    single.as_object_mut().expect("object").remove("repeat");
    let r = app.try_post_order(&a, &single).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.fields(), ["end"]);
    nothing_posted(&app, &a).await;

    let event = series_json(
        "2026-12-05T08:00:00+08:00",
        "2026-12-05T20:00:00+08:00",
        json!({"days": "daily", "until": "2026-12-07"}),
        1,
        "offer",
    );
    let series = app.post_order(&a, &event).await;
    assert_eq!(
        column(&series, "date"),
        ["2026-12-05", "2026-12-06", "2026-12-07"]
    );
    assert_eq!(
        column(&series, "end"),
        [
            "2026-12-05T12:00:00Z",
            "2026-12-06T12:00:00Z",
            "2026-12-07T12:00:00Z"
        ]
    );
}

#[tokio::test]
async fn each_shift_of_a_series_dispatches_as_its_own_order() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    let body = series_json(
        "2026-12-05T09:00:00+08:00",
        "2026-12-05T18:00:00+08:00",
        json!({"days": ["sat", "sun"], "until": "2026-12-06"}),
        1,
        "offer",
    );
    let series = app.post_order(&a, &body).await;
    for sh in shifts(&series) {
        assert_eq!(sh["roles"][0]["pending_offers"], 1, "{sh}");
        assert_eq!(sh["status"], "open");
    }
    // The closest promoter is offered each shift, each offer naming the series.
    let offers = app.offers(&s(&ws[0], "app_token")).await;
    assert_eq!(offers.len(), 2, "{offers:?}");
    assert!(offers.iter().all(|o| o["series"] == series["id"]));
    let mut orders: Vec<String> = offers.iter().map(|o| s(o, "order_id")).collect();
    orders.sort();
    let mut want = column(&series, "order_id");
    want.sort();
    assert_eq!(orders, want);
    // Accepting one of them fills that shift alone.
    let first = offers
        .iter()
        .find(|o| o["order_id"] == shifts(&series)[0]["order_id"])
        .expect("the first shift's offer");
    app.accept(&s(&ws[0], "app_token"), &s(first, "id"))
        .await
        .expect(200);
    let read = app
        .get(&a.key, &format!("/v1/series/{}", s(&series, "id")))
        .await
        .expect(200);
    assert_eq!(column(&read, "status"), ["filled", "open"]);
    assert_eq!(read["filled"], 1);
    assert_eq!(read["headcount"], 2);

    // In assign mode each shift gets its own crew at once.
    let assigned = series_json(
        "2026-12-12T09:00:00+08:00",
        "2026-12-12T18:00:00+08:00",
        json!({"dates": ["2026-12-13"]}),
        2,
        "assign",
    );
    let assigned = app.post_order(&a, &assigned).await;
    assert_eq!(column(&assigned, "status"), ["filled", "filled"]);
}

#[tokio::test]
async fn patching_a_series_from_a_date_changes_only_later_shifts() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 4).await;
    let body = series_json(
        "2026-12-05T09:00:00+08:00",
        "2026-12-05T18:00:00+08:00",
        json!({"days": ["sat", "sun"], "until": "2026-12-13"}),
        2,
        "assign",
    );
    let series = app.post_order(&a, &body).await;
    let id = s(&series, "id");
    let changed = app
        .patch(
            &a.key,
            &format!("/v1/series/{id}"),
            &json!({"from": "2026-12-12", "roles": [{"name": "promoter", "headcount": 1}]}),
        )
        .await
        .expect(200);
    let later: Vec<String> = column(&series, "order_id")[2..].to_vec();
    assert_eq!(changed["orders"], json!(later));
    let heads: Vec<u64> = shifts(&changed["series"])
        .iter()
        .map(|sh| sh["roles"][0]["headcount"].as_u64().expect("headcount"))
        .collect();
    assert_eq!(heads, [2, 2, 1, 1]);
    // Lowering the headcount released a worker of each later shift, as an order patch does.
    for (i, oid) in column(&series, "order_id").iter().enumerate() {
        let o = app.order(&a, oid).await;
        let confirmed = o["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .filter(|x| x["status"] == "confirmed")
            .count();
        let released = o["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .filter(|x| x["status"] == "released")
            .count();
        if i < 2 {
            assert_eq!((confirmed, released), (2, 0), "{o}");
        } else {
            assert_eq!((confirmed, released), (1, 1), "{o}");
        }
    }
    // A bad change is a 422 and changes nothing; a date after the last shift is a 409.
    let r = app
        .patch(
            &a.key,
            &format!("/v1/series/{id}"),
            &json!({"from": "2026-12-05", "roles": [{"name": "nobody", "headcount": 3}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.fields(), ["roles[0].name"]);
    let r = app
        .patch(
            &a.key,
            &format!("/v1/series/{id}"),
            &json!({"from": "12/05/2026", "roles": [{"name": "promoter", "headcount": 3}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.fields(), ["from"]);
    app.patch(
        &a.key,
        &format!("/v1/series/{id}"),
        &json!({"from": "2026-12-14", "roles": [{"name": "promoter", "headcount": 3}]}),
    )
    .await
    .expect(409);
    let read = app
        .get(&a.key, &format!("/v1/series/{id}"))
        .await
        .expect(200);
    let heads: Vec<u64> = shifts(&read)
        .iter()
        .map(|sh| sh["roles"][0]["headcount"].as_u64().expect("headcount"))
        .collect();
    assert_eq!(heads, [2, 2, 1, 1]);
}

#[tokio::test]
async fn cancelling_a_series_from_a_date_cancels_only_later_shifts() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 2).await;
    let body = series_json(
        "2026-12-05T09:00:00+08:00",
        "2026-12-05T18:00:00+08:00",
        json!({"days": ["sat", "sun"], "until": "2026-12-13"}),
        1,
        "offer",
    );
    let series = app.post_order(&a, &body).await;
    let id = s(&series, "id");
    let orders = column(&series, "order_id");
    // The closest promoter takes the first and third shifts; the other offers stay pending.
    let token = s(&ws[0], "app_token");
    for o in app.offers(&token).await {
        if o["order_id"] == json!(orders[0]) || o["order_id"] == json!(orders[2]) {
            app.accept(&token, &s(&o, "id")).await.expect(200);
        }
    }
    let changed = app
        .post(
            &a.key,
            &format!("/v1/series/{id}/cancel"),
            &json!({"from": "2026-12-12"}),
        )
        .await
        .expect(200);
    assert_eq!(changed["orders"], json!(orders[2..].to_vec()));
    assert_eq!(
        column(&changed["series"], "status"),
        ["filled", "open", "cancelled", "cancelled"]
    );
    // The third shift's worker is released; the fourth shift's pending offer withdrawn; the first untouched.
    let third = app.order(&a, &orders[2]).await;
    assert_eq!(third["assignments"][0]["status"], "released");
    let first = app.order(&a, &orders[0]).await;
    assert_eq!(first["assignments"][0]["status"], "confirmed");
    let offers = app
        .get(&a.key, &format!("/v1/orders/{}/offers", orders[3]))
        .await
        .expect(200);
    assert!(
        offers["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|o| o["status"] == "withdrawn"),
        "{offers}"
    );
    let pending: Vec<String> = app
        .offers(&token)
        .await
        .iter()
        .map(|o| s(o, "order_id"))
        .collect();
    assert_eq!(pending, [orders[1].clone()]);
    // Cancelling again from that date finds nothing to come there; without a date, the rest goes.
    app.post(
        &a.key,
        &format!("/v1/series/{id}/cancel"),
        &json!({"from": "2026-12-12"}),
    )
    .await
    .expect(409);
    let all = app
        .post(&a.key, &format!("/v1/series/{id}/cancel"), &json!({}))
        .await
        .expect(200);
    assert_eq!(all["series"]["status"], "cancelled");
}

#[tokio::test]
async fn a_worker_offered_the_series_accepts_some_shifts_and_is_told_why_not_the_others() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 3).await;
    let named = &ws[2];
    let body = series_json(
        "2026-12-05T09:00:00+08:00",
        "2026-12-05T18:00:00+08:00",
        json!({"dates": ["2026-12-06", "2026-12-12"]}),
        1,
        "offer",
    );
    let series = app.post_order(&a, &body).await;
    let id = s(&series, "id");
    let orders = column(&series, "order_id");
    // The named worker is booked elsewhere during the second shift.
    let mut elsewhere = order_json("other-client", 1, "assign", 1);
    elsewhere["start"] = json!("2026-12-06T10:00:00+08:00");
    elsewhere["end"] = json!("2026-12-06T14:00:00+08:00");
    elsewhere["roles"][0]["workers"] = json!([s(named, "id")]);
    let other = app.post_order(&a, &elsewhere).await;
    assert_eq!(other["assignments"][0]["worker_id"], named["id"]);

    let offered = app
        .post(
            &a.key,
            &format!("/v1/series/{id}/offers"),
            &json!({"worker_id": s(named, "id"), "role": "promoter"}),
        )
        .await
        .expect(201);
    let offered_orders: Vec<String> = offered["offered"]
        .as_array()
        .expect("offered")
        .iter()
        .map(|o| s(o, "order_id"))
        .collect();
    assert_eq!(offered_orders, [orders[0].clone(), orders[2].clone()]);
    assert_eq!(offered["skipped"][0]["order_id"], json!(orders[1]));
    assert_eq!(offered["skipped"][0]["reason"], "overlap");
    let token = s(named, "app_token");
    let mine = app.offers(&token).await;
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|o| o["series"] == series["id"]));
    // Offering again: the worker is already in every shift still open to them.
    app.post(
        &a.key,
        &format!("/v1/series/{id}/offers"),
        &json!({"worker_id": s(named, "id"), "role": "promoter"}),
    )
    .await
    .expect(409);

    // The closest promoter takes the third shift first, which withdraws the named worker's offer there.
    for o in app.offers(&s(&ws[0], "app_token")).await {
        if o["order_id"] == json!(orders[2]) {
            app.accept(&s(&ws[0], "app_token"), &s(&o, "id"))
                .await
                .expect(200);
        }
    }
    let answer = app
        .post(
            &token,
            &format!("/v1/me/series/{id}/accept"),
            &json!({"orders": [orders[0], orders[2]]}),
        )
        .await
        .expect(200);
    assert_eq!(answer["accepted"].as_array().expect("accepted").len(), 1);
    assert_eq!(answer["accepted"][0]["order_id"], json!(orders[0]));
    assert!(
        s(&answer["accepted"][0], "assignment_id").starts_with("asg_"),
        "{answer}"
    );
    assert_eq!(answer["refused"][0]["order_id"], json!(orders[2]));
    assert_eq!(answer["refused"][0]["reason"], "no_pending_offer");
    let first = app.order(&a, &orders[0]).await;
    assert!(
        first["assignments"]
            .as_array()
            .expect("assignments")
            .iter()
            .any(|x| x["worker_id"] == named["id"] && x["status"] == "confirmed"),
        "{first}"
    );
    // Nothing pending is left in the series for them.
    app.post(&token, &format!("/v1/me/series/{id}/accept"), &json!({}))
        .await
        .expect(409);
}

#[tokio::test]
async fn a_worker_accepts_every_shift_of_a_series_at_once() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let ws = promoters(&app, &a, 1).await;
    let body = series_json(
        "2026-12-05T09:00:00+08:00",
        "2026-12-05T18:00:00+08:00",
        json!({"days": ["sat", "sun"], "until": "2026-12-13"}),
        1,
        "offer",
    );
    let series = app.post_order(&a, &body).await;
    let id = s(&series, "id");
    let token = s(&ws[0], "app_token");
    // An empty body accepts every pending offer of the series.
    let rb = app.request(Method::POST, &format!("/v1/me/series/{id}/accept"), &token);
    let answer = app.send(rb).await.expect(200);
    assert_eq!(answer["accepted"].as_array().expect("accepted").len(), 4);
    assert!(answer["refused"].as_array().expect("refused").is_empty());
    let read = app
        .get(&a.key, &format!("/v1/series/{id}"))
        .await
        .expect(200);
    assert_eq!(column(&read, "status"), ["filled"; 4]);
    let assignments = app.get(&token, "/v1/me/assignments").await.expect(200);
    assert_eq!(assignments["items"].as_array().expect("items").len(), 4);
}

#[tokio::test]
async fn another_agency_or_worker_cannot_reach_a_series() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    promoters(&app, &a, 1).await;
    let other = app
        .post_worker(&b, &near_worker("B-0", 0, &["promoter"]))
        .await;
    let series = app
        .post_order(
            &a,
            &series_json(
                "2026-12-05T09:00:00+08:00",
                "2026-12-05T18:00:00+08:00",
                json!({"dates": ["2026-12-06"]}),
                1,
                "offer",
            ),
        )
        .await;
    let id = s(&series, "id");
    let path = format!("/v1/series/{id}");
    app.get(&b.key, &path).await.expect(404);
    app.patch(
        &b.key,
        &path,
        &json!({"from": "2026-12-05", "roles": [{"name": "promoter", "headcount": 2}]}),
    )
    .await
    .expect(404);
    app.post(&b.key, &format!("{path}/cancel"), &json!({}))
        .await
        .expect(404);
    app.post(
        &b.key,
        &format!("{path}/offers"),
        &json!({"worker_id": s(&other, "id"), "role": "promoter"}),
    )
    .await
    .expect(404);
    // A's series offered to B's worker: no such worker for A.
    app.post(
        &a.key,
        &format!("{path}/offers"),
        &json!({"worker_id": s(&other, "id"), "role": "promoter"}),
    )
    .await
    .expect(404);
    let list = app.get(&b.key, "/v1/series").await.expect(200);
    assert!(list["items"].as_array().expect("items").is_empty());
    app.post(
        &s(&other, "app_token"),
        &format!("/v1/me/series/{id}/accept"),
        &json!({}),
    )
    .await
    .expect(404);
    app.get(&a.key, "/v1/series/ser_zz").await.expect(404);
    // Nothing changed for the owner.
    let read = app.get(&a.key, &path).await.expect(200);
    assert_eq!(column(&read, "status"), ["open", "open"]);
}

#[tokio::test]
async fn bad_repeat_bodies_are_422_and_create_nothing() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 1).await;
    let start = "2026-12-05T09:00:00+08:00"; // a Saturday
    let end = "2026-12-05T18:00:00+08:00";
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"days": ["sat", "someday"], "until": "2026-12-31"}),
            vec!["repeat.days[1]"],
        ),
        (json!({"days": ["sat"]}), vec!["repeat.until"]),
        (
            json!({"days": "weekly", "until": "2026-12-31"}),
            vec!["repeat.days"],
        ),
        (
            json!({"days": ["sun"], "until": "2026-12-31"}),
            vec!["repeat.days"],
        ),
        (
            json!({"days": ["sat"], "until": "2026-12-01"}),
            vec!["repeat.until"],
        ),
        (
            json!({"days": "daily", "until": "2028-01-01"}),
            vec!["repeat.until"],
        ),
        (
            json!({"days": ["sat"], "until": "2026-12-31", "dates": ["2026-12-06"]}),
            vec!["repeat"],
        ),
        (json!({}), vec!["repeat"]),
        (json!({"dates": []}), vec!["repeat.dates"]),
        (json!({"dates": ["2026-13-01"]}), vec!["repeat.dates[0]"]),
        (json!({"dates": ["2026-12-04"]}), vec!["repeat.dates[0]"]),
        (
            json!({"dates": ["2026-12-06", "2026-12-06"]}),
            vec!["repeat.dates[1]"],
        ),
        (json!({"dates": ["2026-12-05"]}), vec!["repeat"]),
        (
            json!({"dates": ["2026-12-06"], "until": "2026-12-31"}),
            vec!["repeat.until"],
        ),
    ];
    for (repeat, fields) in cases {
        let r = app
            .try_post_order(&a, &series_json(start, end, repeat.clone(), 1, "offer"))
            .await;
        assert_eq!(r.status.as_u16(), 422, "{repeat}: {}", r.body);
        assert_eq!(r.fields(), fields, "{repeat}: {}", r.body);
    }
    // An unknown field, a bad timezone and a bad role are refused too, together with the rule's errors.
    let r = app
        .try_post_order(
            &a,
            &series_json(
                start,
                end,
                json!({"dates": ["2026-12-06"], "every": 2}),
                1,
                "offer",
            ),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    for repeat in [
        json!({"days": 5, "until": "2026-12-31"}),
        json!({"days": [1, 2], "until": "2026-12-31"}),
        json!({"dates": "2026-12-06"}),
        json!({"dates": ["2026-12-06"], "same_crew": "yes"}),
    ] {
        let r = app
            .try_post_order(&a, &series_json(start, end, repeat.clone(), 1, "offer"))
            .await;
        assert_eq!(r.status.as_u16(), 422, "{repeat}: {}", r.body);
    }
    let mut body = series_json(start, end, json!({"days": ["xyz"]}), 0, "offer");
    body["venue"]["timezone"] = json!("Mars/Olympus");
    let r = app.try_post_order(&a, &body).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    let fields = r.fields();
    for f in [
        "venue.timezone",
        "roles[0].headcount",
        "repeat.days[0]",
        "repeat.until",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
    }
    nothing_posted(&app, &a).await;
}

#[tokio::test]
async fn the_same_key_posts_one_series() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let body = series_json(
        "2026-12-05T09:00:00+08:00",
        "2026-12-05T18:00:00+08:00",
        json!({"days": ["sat", "sun"], "until": "2026-12-13"}),
        1,
        "offer",
    );
    let post = || {
        app.request(Method::POST, "/v1/orders", &a.key)
            .header("Idempotency-Key", "series-1")
            .json(&body)
    };
    let first = app.send(post()).await;
    let second = app.send(post()).await;
    assert_eq!(first.status.as_u16(), 201, "{}", first.body);
    assert_eq!(second.status, first.status);
    assert_eq!(second.body, first.body);
    let all = app.get(&a.key, "/v1/series").await.expect(200);
    assert_eq!(all["items"].as_array().expect("items").len(), 1);
    let orders = app.get(&a.key, "/v1/orders").await.expect(200);
    assert_eq!(orders["items"].as_array().expect("items").len(), 4);
}

#[tokio::test]
async fn the_openapi_document_describes_series() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let doc = app.get(&a.key, "/v1/openapi.json").await.expect(200);
    for (path, method) in [
        ("/v1/series", "get"),
        ("/v1/series/{id}", "get"),
        ("/v1/series/{id}", "patch"),
        ("/v1/series/{id}/cancel", "post"),
        ("/v1/series/{id}/offers", "post"),
        ("/v1/me/series/{id}/accept", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not described"
        );
    }
    let schemas = &doc["components"]["schemas"];
    for name in [
        "RepeatBody",
        "SeriesView",
        "SeriesPatch",
        "SeriesOffered",
        "SeriesAccepted",
        "Posted",
    ] {
        assert!(schemas[name].is_object(), "no schema {name}");
    }
    assert!(schemas["OrderBody"]["properties"]["repeat"].is_object());
    assert!(schemas["VenueBody"]["properties"]["timezone"].is_object());
    assert!(schemas["OfferView"]["properties"]["series"].is_object());
    assert!(schemas["OrderView"]["properties"]["series"].is_object());
    let created = &doc["paths"]["/v1/orders"]["post"]["responses"]["201"];
    assert_eq!(
        created["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Posted"
    );
}

#[tokio::test]
async fn with_same_crew_a_worker_who_accepts_a_shift_is_offered_the_rest() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    // Two promoters are offered every shift's two slots by dispatch; the third, farthest, is asked by hand.
    let ws = promoters(&app, &a, 3).await;
    let third = &ws[2];
    let token = s(third, "app_token");
    for (start, end, until, same_crew, want) in [
        (
            "2026-12-05T09:00:00+08:00",
            "2026-12-05T18:00:00+08:00",
            "2026-12-07",
            true,
            2,
        ),
        (
            "2026-12-19T09:00:00+08:00",
            "2026-12-19T18:00:00+08:00",
            "2026-12-21",
            false,
            0,
        ),
    ] {
        let repeat = json!({"days": "daily", "until": until, "same_crew": same_crew});
        let series = app
            .post_order(&a, &series_json(start, end, repeat, 2, "offer"))
            .await;
        let orders = column(&series, "order_id");
        assert_eq!(orders.len(), 3);
        let offer = app
            .post(
                &a.key,
                &format!("/v1/orders/{}/offers", orders[0]),
                &json!({"worker_id": s(third, "id"), "role": "promoter"}),
            )
            .await
            .expect(201);
        app.accept(&token, &s(&offer, "id")).await.expect(200);
        let rest: Vec<Value> = app
            .offers(&token)
            .await
            .into_iter()
            .filter(|o| o["series"] == series["id"])
            .collect();
        assert_eq!(rest.len(), want, "same_crew {same_crew}: {rest:?}");
        let mut got: Vec<String> = rest.iter().map(|o| s(o, "order_id")).collect();
        got.sort();
        if same_crew {
            assert_eq!(got, orders[1..].to_vec());
        }
    }
}

#[tokio::test]
async fn a_shift_that_has_started_is_neither_patched_nor_cancelled_with_its_series() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let series = app
        .post_order(
            &a,
            &series_json(
                "2026-12-05T09:00:00+08:00",
                "2026-12-05T18:00:00+08:00",
                json!({"days": "daily", "until": "2026-12-06"}),
                1,
                "assign",
            ),
        )
        .await;
    let id = s(&series, "id");
    app.advance_to("2026-12-05T10:00:00+08:00").await;
    let patched = app
        .patch(
            &a.key,
            &format!("/v1/series/{id}"),
            &json!({"from": "2026-12-05", "roles": [{"name": "promoter", "headcount": 2}]}),
        )
        .await
        .expect(200);
    assert_eq!(
        patched["orders"],
        json!([column(&series, "order_id")[1].clone()])
    );
    let cancelled = app
        .post(&a.key, &format!("/v1/series/{id}/cancel"), &json!({}))
        .await
        .expect(200);
    assert_eq!(
        column(&cancelled["series"], "status"),
        ["in_progress", "cancelled"]
    );
    let heads: Vec<u64> = shifts(&cancelled["series"])
        .iter()
        .map(|sh| sh["roles"][0]["headcount"].as_u64().expect("headcount"))
        .collect();
    assert_eq!(heads, [1, 2]);
    assert_eq!(cancelled["series"]["status"], "active");
}
