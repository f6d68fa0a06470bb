//! `crewcall replay` on the database of an ordinary HTTP session that uses every endpoint that changes state:
//! the replayed log is the original, event for event (0 differences), from SQLite or PostgreSQL, into a fresh
//! SQLite database and (on PostgreSQL) a fresh PostgreSQL one; and a tampered log gives differences.

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

use crate::helpers::*;

/// A JPEG's first bytes are enough for the server's type check.
fn jpeg(len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.resize(len, 0x42);
    v
}

/// The standard order moved to another day of the same week (`day` of November or December 2026).
fn order_on(client: &str, headcount: u32, mode: &str, fanout: u32, date: &str) -> Value {
    let mut o = order_json(client, headcount, mode, fanout);
    o["start"] = json!(format!("{date}T09:00:00+08:00"));
    o["end"] = json!(format!("{date}T18:00:00+08:00"));
    o
}

/// Every pending offer of these workers: `(worker index, offer)`.
async fn pending(app: &TestApp, tokens: &[String]) -> Vec<(usize, Value)> {
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        for o in app.offers(t).await {
            out.push((i, o));
        }
    }
    out
}

/// The assignments of an order with a status.
async fn assignments(app: &TestApp, a: &Agency, order: &str, status: &str) -> Vec<Value> {
    app.order(a, order).await["assignments"]
        .as_array()
        .expect("assignments")
        .iter()
        .filter(|x| x["status"] == status)
        .cloned()
        .collect()
}

/// Runs a session through every command that changes state; the agency.
async fn full_session(app: &TestApp) -> Agency {
    let a = app.create_agency().await;
    // Pay settings: a day to dispute a timesheet, and a month's notice before a cancellation costs nothing.
    app.patch(
        &a.key,
        "/v1/agency/settings",
        &json!({"dispute_window_hours": 24, "payout_delay_days": 3,
                "late_cancellation": {"notice_hours": 720, "worker_min_hours": 2}}),
    )
    .await
    .expect(200);
    // The agency's keys.
    let key = app
        .post(&a.key, "/v1/agency/keys", &json!({"label": "booking tool"}))
        .await
        .expect(201);
    app.delete(&a.key, &format!("/v1/agency/keys/{}", s(&key, "id")))
        .await
        .expect(204);

    // Workers: one by one, imported, patched, a new app token.
    let ws = promoters(app, &a, 8).await;
    let id = |i: usize| s(&ws[i], "id");
    let ndjson = [
        near_worker("I-0", 9, &["promoter"]),
        near_worker("I-1", 10, &["promoter"]),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let imported = app.import(&a, &ndjson).await;
    assert!(imported.status.is_success(), "{}", imported.body);
    app.patch(
        &a.key,
        &format!("/v1/workers/{}", id(7)),
        &json!({"bio": "Forklift licence too"}),
    )
    .await
    .expect(200);
    let mut again = near_worker("P-6", 6, &["promoter"]);
    again["bio"] = json!("Upserted again by external_ref");
    app.upsert_worker(&a, &again).await.expect(200);
    let t7 = app
        .post(
            &a.key,
            &format!("/v1/workers/{}/app-token", id(7)),
            &json!({}),
        )
        .await
        .expect(201);
    let mut tokens: Vec<String> = ws.iter().map(|w| s(w, "app_token")).collect();
    tokens[7] = s(&t7, "app_token");

    // Availability and on-call windows.
    app.call(
        Method::PUT,
        "/v1/me/availability",
        Some(&tokens[6]),
        Some(&json!({"availability": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "20:00"}]})),
    )
    .await
    .expect(200);
    for day in ["28", "29"] {
        app.post(
            &tokens[6],
            "/v1/me/on-call",
            &json!({"start": format!("2026-11-{day}T06:00:00+08:00"), "end": format!("2026-11-{day}T20:00:00+08:00"),
                    "lat": VENUE.0, "lon": VENUE.1, "radius_km": 10}),
        )
        .await
        .expect(201);
    }
    let windows = app.get(&tokens[6], "/v1/me/on-call").await.expect(200);
    app.delete(
        &tokens[6],
        &format!("/v1/me/on-call/{}", s(&windows["items"][1], "id")),
    )
    .await
    .expect(204);

    // Pools, a client's lists, a client link, a webhook.
    let pool = app
        .post(
            &a.key,
            "/v1/pools",
            &json!({"name": "Bilingual crew", "workers": [id(1), id(0)]}),
        )
        .await
        .expect(201);
    app.call(
        Method::PUT,
        &format!("/v1/pools/{}", s(&pool, "id")),
        Some(&a.key),
        Some(&json!({"name": "Bilingual crew", "workers": [id(1)]})),
    )
    .await
    .expect(200);
    let spare = app
        .post(
            &a.key,
            "/v1/pools",
            &json!({"name": "Spare", "workers": [id(2)]}),
        )
        .await
        .expect(201);
    app.delete(&a.key, &format!("/v1/pools/{}", s(&spare, "id")))
        .await
        .expect(204);
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
        &json!({"worker_id": id(5)}),
    )
    .await
    .expect(201);
    app.delete(&a.key, &format!("/v1/clients/acme/blocks/{}", id(5)))
        .await
        .expect(204);
    let link = app
        .post(
            &a.key,
            "/v1/client-links",
            &json!({"client_ref": "acme", "label": "Acme desk"}),
        )
        .await
        .expect(201);
    app.delete(&a.key, &format!("/v1/client-links/{}", s(&link, "id")))
        .await
        .expect(204);
    let hook = app
        .post(
            &a.key,
            "/v1/webhooks",
            &json!({"url": "http://127.0.0.1:9/hook", "events": ["order_posted"]}),
        )
        .await
        .expect(201);
    let hook_path = format!("/v1/webhooks/{}", s(&hook, "id"));
    app.patch(&a.key, &hook_path, &json!({"status": "paused"}))
        .await
        .expect(200);
    app.post(&a.key, &format!("{hook_path}/rotate-secret"), &json!({}))
        .await
        .expect(200);

    // Offer mode: one accepts, one declines, the rest let their offers expire, and the next ones are asked.
    let o1 = app.post_order(&a, &order_json("acme", 2, "offer", 2)).await;
    let o1 = s(&o1, "id");
    let first = pending(app, &tokens).await;
    assert!(first.len() >= 2, "{first:?}");
    app.accept(&tokens[first[0].0], &s(&first[0].1, "id"))
        .await
        .expect(200);
    app.decline(&tokens[first[1].0], &s(&first[1].1, "id"))
        .await
        .expect(200);
    app.advance_to("2026-11-23T08:20:00Z").await;
    let again = pending(app, &tokens).await;
    assert!(!again.is_empty(), "nobody was asked after the expiries");
    app.accept(&tokens[again[0].0], &s(&again[0].1, "id"))
        .await
        .expect(200);

    // An offer by hand on Sunday's order, accepted.
    let o2 = app
        .post_order(&a, &order_on("beta", 2, "offer", 1, "2026-11-29"))
        .await;
    let o2 = s(&o2, "id");
    app.post(
        &a.key,
        &format!("/v1/orders/{o2}/offers"),
        &json!({"worker_id": id(7), "role": "promoter"}),
    )
    .await
    .expect(201);
    let by_hand = app.offers(&tokens[7]).await;
    let by_hand = by_hand
        .iter()
        .find(|o| o["order_id"] == json!(o2))
        .expect("the offer by hand");
    app.accept(&tokens[7], &s(by_hand, "id")).await.expect(200);
    // Offer mode too: the headcount patched down (pending offers withdrawn), another order cancelled.
    app.patch(
        &a.key,
        &format!("/v1/orders/{o2}"),
        &json!({"roles": [{"name": "promoter", "headcount": 1}]}),
    )
    .await
    .expect(200);
    let o5 = app
        .post_order(&a, &order_on("epsilon", 2, "offer", 2, "2026-12-03"))
        .await;
    app.post(
        &a.key,
        &format!("/v1/orders/{}/cancel", s(&o5, "id")),
        &json!({}),
    )
    .await
    .expect(200);

    // Assign mode on Monday: a headcount patch, a worker's cancellation and its replacement.
    let o3 = app
        .post_order(&a, &order_on("gamma", 1, "assign", 1, "2026-11-30"))
        .await;
    let o3 = s(&o3, "id");
    app.patch(
        &a.key,
        &format!("/v1/orders/{o3}"),
        &json!({"roles": [{"name": "promoter", "headcount": 2}]}),
    )
    .await
    .expect(200);
    let booked = assignments(app, &a, &o3, "confirmed").await;
    assert_eq!(booked.len(), 2, "{booked:?}");
    let who = ws
        .iter()
        .position(|w| w["id"] == booked[0]["worker_id"])
        .expect("a promoter");
    app.post(
        &tokens[who],
        &format!("/v1/assignments/{}/cancel", s(&booked[0], "id")),
        &json!({}),
    )
    .await
    .expect(200);
    // Tuesday's order is cancelled.
    let o4 = app
        .post_order(&a, &order_on("delta", 1, "assign", 1, "2026-12-01"))
        .await;
    app.post(
        &a.key,
        &format!("/v1/orders/{}/cancel", s(&o4, "id")),
        &json!({}),
    )
    .await
    .expect(200);

    // A suspension and a reinstatement; an imported worker deleted.
    for status in ["suspended", "active"] {
        app.patch(
            &a.key,
            &format!("/v1/workers/{}", id(4)),
            &json!({"status": status}),
        )
        .await
        .expect(200);
    }
    let listed = app
        .get(&a.key, "/v1/workers?q=I-1&limit=50")
        .await
        .expect(200);
    if let Some(i1) = listed["items"]
        .as_array()
        .and_then(|items| items.iter().find(|w| w["external_ref"] == "I-1"))
    {
        app.delete(&a.key, &format!("/v1/workers/{}", s(i1, "id")))
            .await
            .expect(204);
    }

    // Whoever the suspension released is replaced: the crew of Saturday's order is completed.
    for (i, o) in pending(app, &tokens).await {
        if o["order_id"] == json!(o1) && assignments(app, &a, &o1, "confirmed").await.len() < 2 {
            app.accept(&tokens[i], &s(&o, "id")).await.expect(200);
        }
    }

    // Saturday: the first crew member checks in and sends a photo; the other is reported a no-show and
    // replaced; check-out, ratings, a review resolved.
    app.advance_to("2026-11-28T08:55:00+08:00").await;
    let crew = assignments(app, &a, &o1, "confirmed").await;
    assert_eq!(crew.len(), 2, "{crew:?}");
    let token_of = |asg: &Value| {
        let i = ws
            .iter()
            .position(|w| w["id"] == asg["worker_id"])
            .expect("a promoter");
        tokens[i].clone()
    };
    let (here, absent) = (&crew[0], &crew[1]);
    let here_asg = s(here, "id");
    app.check_in(&token_of(here), &here_asg, VENUE)
        .await
        .expect(200);
    let photo = app
        .request(
            Method::POST,
            &format!("/v1/assignments/{here_asg}/photos?caption=Stand%20ready"),
            &token_of(here),
        )
        .header("content-type", "image/jpeg")
        .body(jpeg(2_000));
    assert_eq!(app.send(photo).await.status.as_u16(), 201);
    app.advance_to("2026-11-28T09:05:00+08:00").await;
    app.post(
        &a.key,
        &format!("/v1/assignments/{}/no-show", s(absent, "id")),
        &json!({}),
    )
    .await
    .expect(200);
    for (i, o) in pending(app, &tokens).await {
        if o["order_id"] == json!(o1) {
            app.accept(&tokens[i], &s(&o, "id")).await.expect(200);
            break;
        }
    }
    app.advance_to("2026-11-28T17:55:00+08:00").await;
    app.check_out(&token_of(here), &here_asg, VENUE)
        .await
        .expect(200);
    app.advance_to("2026-11-28T19:00:00+08:00").await;
    let rated = app
        .post(
            &a.key,
            &format!("/v1/assignments/{here_asg}/rating"),
            &json!({"stars": 2, "comment": "late from the break"}),
        )
        .await
        .expect(201);
    app.post(
        &a.key,
        &format!("/v1/reviews/{}/resolve", s(&rated["review"], "id")),
        &json!({"outcome": "warning", "note": "talked it through"}),
    )
    .await
    .expect(200);
    // Saturday's timesheet is corrected and approved by the agency.
    let sheets = app
        .get(&a.key, "/v1/timesheets?week=2026-W48&limit=50")
        .await
        .expect(200);
    let sheets: Vec<Value> = sheets["items"].as_array().expect("items").clone();
    assert_eq!(sheets.len(), 1, "{sheets:?}");
    let kept_path = format!("/v1/timesheets/{}", s(&sheets[0], "id"));
    app.post(
        &a.key,
        &format!("{kept_path}/correct"),
        &json!({"break_minutes": 30, "reason": "Lunch break not recorded"}),
    )
    .await
    .expect(200);
    app.post(&a.key, &format!("{kept_path}/approve"), &json!({}))
        .await
        .expect(200);

    // Sunday: the worker offered by hand checks in, is checked out when the shift ends, disputes the
    // timesheet, and the agency resolves the dispute with a correction.
    app.advance_to("2026-11-29T08:55:00+08:00").await;
    let sunday = assignments(app, &a, &o2, "confirmed").await;
    assert_eq!(sunday.len(), 1, "{sunday:?}");
    app.check_in(&tokens[7], &s(&sunday[0], "id"), VENUE)
        .await
        .expect(200);
    app.advance_to("2026-11-29T19:00:00+08:00").await;
    let mine = app.get(&tokens[7], "/v1/me/timesheets").await.expect(200);
    let disputed = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["order_id"] == json!(o2))
        .cloned()
        .expect("Sunday's timesheet");
    app.post(
        &tokens[7],
        &format!("/v1/me/timesheets/{}/dispute", s(&disputed, "id")),
        &json!({"reason": "I stayed until the stand was packed"}),
    )
    .await
    .expect(200);
    app.post(
        &a.key,
        &format!("/v1/timesheets/{}/resolve", s(&disputed, "id")),
        &json!({"resolution": "Packing time added", "checked_out_at": "2026-11-29T18:30:00+08:00"}),
    )
    .await
    .expect(200);

    // Monday: the crew checks in. One timesheet is approved by the clock when its window ends; the other is
    // disputed and the dispute resolved as it stands.
    app.advance_to("2026-11-30T08:55:00+08:00").await;
    let monday = assignments(app, &a, &o3, "confirmed").await;
    assert_eq!(monday.len(), 2, "{monday:?}");
    for m in &monday {
        app.check_in(&token_of(m), &s(m, "id"), VENUE)
            .await
            .expect(200);
    }
    app.advance_to("2026-11-30T19:00:00+08:00").await;
    let second = token_of(&monday[1]);
    let theirs = app.get(&second, "/v1/me/timesheets").await.expect(200);
    let theirs = theirs["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["order_id"] == json!(o3))
        .cloned()
        .expect("Monday's timesheet");
    app.post(
        &second,
        &format!("/v1/me/timesheets/{}/dispute", s(&theirs, "id")),
        &json!({"reason": "The break was shorter"}),
    )
    .await
    .expect(200);
    app.post(
        &a.key,
        &format!("/v1/timesheets/{}/resolve", s(&theirs, "id")),
        &json!({"resolution": "The times stand as recorded"}),
    )
    .await
    .expect(200);

    // The week runs out; its pay run is closed and paid.
    app.advance_to("2026-12-02T00:00:00Z").await;
    let auto = app
        .get(&a.key, "/v1/timesheets?status=approved&limit=50")
        .await
        .expect(200);
    assert_eq!(auto["items"].as_array().expect("items").len(), 4, "{auto}");
    assert!(
        auto["items"]
            .as_array()
            .expect("items")
            .iter()
            .any(|t| t["approved_by"] == "automatic"),
        "{auto}"
    );
    app.post(&a.key, "/v1/settlements/2026-W48/close", &json!({}))
        .await
        .expect(200);
    app.post(&a.key, "/v1/settlements/2026-W48/paid", &json!({}))
        .await
        .expect(200);
    app.delete(&a.key, &hook_path).await.expect(204);

    // SLA tiers: a client given one; its order passes its at-risk alert and misses its target.
    app.call(
        Method::PUT,
        "/v1/agency/sla-tiers",
        Some(&a.key),
        Some(
            &json!({"tiers": [{"name": "P0", "within_minutes": 120, "fanout": 2}, {"name": "P2"}],
                     "default_tier": "P2", "at_risk_lead_pct": 25}),
        ),
    )
    .await
    .expect(200);
    app.call(
        Method::PUT,
        "/v1/clients/zeta",
        Some(&a.key),
        Some(&json!({"tier": "P0"})),
    )
    .await
    .expect(200);
    let tiered = app
        .post_order(&a, &order_on("zeta", 3, "offer", 1, "2026-12-10"))
        .await;
    assert_eq!(tiered["sla"]["tier"], "P0", "{tiered}");
    app.advance_to("2026-12-02T02:30:00Z").await;

    // A series: every weekend of December with the same crew; one worker accepts a shift (and is offered the
    // rest), the headcount is raised from a date, another worker is offered the series and accepts two of
    // its shifts at once, and the last weekend is cancelled.
    let mut weekly = order_on("omega", 1, "offer", 1, "2026-12-05");
    weekly["repeat"] = json!({"days": ["sat", "sun"], "until": "2026-12-20", "same_crew": true});
    let series = app.post_order(&a, &weekly).await;
    let sid = s(&series, "id");
    assert!(sid.starts_with("ser_"), "{series}");
    let shift_ids: Vec<String> = series["shifts"]
        .as_array()
        .expect("shifts")
        .iter()
        .map(|sh| s(sh, "order_id"))
        .collect();
    assert_eq!(shift_ids.len(), 6, "{series}");
    // Workers not yet asked for any shift of the series (the one free only on weekdays aside).
    let unasked = |offered: Vec<(usize, Value)>| {
        let asked: Vec<usize> = offered
            .into_iter()
            .filter(|(_, o)| shift_ids.contains(&s(o, "order_id")))
            .map(|(i, _)| i)
            .collect();
        (0..tokens.len()).find(|i| *i != 6 && !asked.contains(i))
    };
    let crew = unasked(pending(app, &tokens).await).expect("a worker not yet asked");
    app.post(
        &a.key,
        &format!("/v1/orders/{}/offers", shift_ids[0]),
        &json!({"worker_id": id(crew), "role": "promoter"}),
    )
    .await
    .expect(201);
    let first_offer = app
        .offers(&tokens[crew])
        .await
        .into_iter()
        .find(|o| o["order_id"] == json!(shift_ids[0]))
        .expect("the offer of the first shift");
    app.accept(&tokens[crew], &s(&first_offer, "id"))
        .await
        .expect(200);
    let rest = app.offers(&tokens[crew]).await;
    assert!(
        rest.iter()
            .any(|o| shift_ids[1..].contains(&s(o, "order_id"))),
        "{rest:?}"
    );
    app.patch(
        &a.key,
        &format!("/v1/series/{sid}"),
        &json!({"from": "2026-12-12", "roles": [{"name": "promoter", "headcount": 3}]}),
    )
    .await
    .expect(200);
    let named = unasked(pending(app, &tokens).await).expect("another worker not yet asked");
    let offered = app
        .post(
            &a.key,
            &format!("/v1/series/{sid}/offers"),
            &json!({"worker_id": id(named), "role": "promoter"}),
        )
        .await
        .expect(201);
    let offered: Vec<String> = offered["offered"]
        .as_array()
        .expect("offered")
        .iter()
        .map(|o| s(o, "order_id"))
        .collect();
    assert!(offered.len() >= 2, "{offered:?}");
    let took = app
        .post(
            &tokens[named],
            &format!("/v1/me/series/{sid}/accept"),
            &json!({"orders": [offered[0], offered[1]]}),
        )
        .await
        .expect(200);
    assert_eq!(
        took["accepted"].as_array().expect("accepted").len(),
        2,
        "{took}"
    );
    app.post(
        &a.key,
        &format!("/v1/series/{sid}/cancel"),
        &json!({"from": "2026-12-19"}),
    )
    .await
    .expect(200);
    app.advance_to("2026-12-02T06:00:00Z").await;
    a
}

/// A fresh PostgreSQL database beside the test's own: its URL and a connection to drop it with.
async fn fresh_postgres_beside(url: &str) -> (String, String) {
    let base = std::env::var("CREWCALL_TEST_POSTGRES").expect("a PostgreSQL test server");
    let name = format!(
        "crewcall_replay_{}_{}",
        std::process::id(),
        url.len() + chrono::Utc::now().timestamp_subsec_nanos() as usize
    );
    let mut conn = sqlx::postgres::PgConnection::connect(&base)
        .await
        .expect("connect");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create the replay's database");
    let root = &url[..url.rfind('/').expect("a database name")];
    (format!("{root}/{name}"), name)
}

async fn drop_postgres(name: &str) {
    let base = std::env::var("CREWCALL_TEST_POSTGRES").expect("a PostgreSQL test server");
    if let Ok(mut conn) = sqlx::postgres::PgConnection::connect(&base).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

/// Changes the source's log with one statement.
async fn tamper(url: &str, sql: &str) {
    let store = crewcall::store::Store::connect(url).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(store.pool())
        .await
        .expect("tampered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_http_session_replays_into_a_fresh_database_with_zero_differences() {
    let app = spawn_app().await;
    full_session(&app).await;
    // The session went through every pay, SLA and series command, and the decisions that follow them.
    let store = crewcall::store::Store::connect(&app.database_url)
        .await
        .expect("connect");
    let log = crewcall::engine::sim_support::all_events(&store)
        .await
        .expect("the log");
    let has = |kind: &str, pred: &dyn Fn(&Value) -> bool| {
        log.iter().any(|e| e.kind == kind && pred(&e.payload))
    };
    let any = |_: &Value| true;
    for kind in [
        "agency_settings_changed",
        "timesheet_submitted",
        "timesheet_corrected",
        "timesheet_disputed",
        "late_cancellation",
        "settlement_closed",
        "settlement_paid",
        "sla_tiers_set",
        "client_tier_set",
        "sla_at_risk",
        "sla_missed",
        "series_posted",
        "series_patched",
        "series_cancelled",
        "series_accepted",
    ] {
        assert!(has(kind, &any), "no {kind} in the session");
    }
    for by in ["agency", "automatic", "resolution"] {
        assert!(
            has("timesheet_approved", &|p| p["by"] == by),
            "no approval by {by}"
        );
    }
    let resolved = log
        .iter()
        .filter(|e| e.kind == "timesheet_approved" && e.payload["by"] == "resolution")
        .count();
    assert_eq!(
        resolved, 2,
        "a dispute resolved with a correction, one without"
    );
    assert!(has("timesheet_corrected", &|p| p["by"] == "resolution"));
    assert!(has("timesheet_corrected", &|p| p["by"] == "agency"));
    assert!(has("series_offered", &|p| p["after_accepting"].is_string()));
    assert!(has("series_offered", &|p| p
        .get("after_accepting")
        .is_none()));
    assert!(has("offer_closed", &|p| p["series"].is_string()
        && p["status"] == "accepted"));
    assert!(has("offer_closed", &|p| p.get("series").is_none()
        && p["status"] == "accepted"));
    let dir = tempfile::tempdir().unwrap();
    let into = format!("sqlite://{}", dir.path().join("replay.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert_eq!(report.differences, 0, "{report}");
    assert_eq!(report.unsupported, 0, "{report}");
    assert!(report.inputs >= 40, "{report}");
    assert!(report.events > report.inputs, "{report}");

    if app.database_url.starts_with("postgres") {
        let (url, name) = fresh_postgres_beside(&app.database_url).await;
        let report = crewcall::cli::replay::run(&app.database_url, &url).await;
        drop_postgres(&name).await;
        let report = report.expect("the replay into PostgreSQL runs");
        assert_eq!(report.differences, 0, "{report}");
    }

    // A replay builds a fresh database: the original is refused as a target.
    if app.database_url.starts_with("postgres") {
        assert!(
            crewcall::cli::replay::run(&app.database_url, &app.database_url)
                .await
                .is_err()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_log_replays_with_differences() {
    let app = spawn_app().await;
    full_session(&app).await;
    let dir = tempfile::tempdir().unwrap();
    // A decision the engine did not make: the first offer said to be a standby offer.
    tamper(
        &app.database_url,
        "UPDATE events SET payload = REPLACE(payload, '\"kind\":\"shift\"', '\"kind\":\"standby\"') \
         WHERE seq = (SELECT MIN(seq) FROM events WHERE kind = 'offer_sent')",
    )
    .await;
    let into = format!("sqlite://{}", dir.path().join("a.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert_eq!(report.differences, 1, "{report}");
    assert!(report.first[0].contains("offer_sent"), "{report}");

    // An input gone from the log: the first accepted offer was never accepted.
    tamper(
        &app.database_url,
        "DELETE FROM events WHERE seq = (SELECT MIN(seq) FROM events WHERE kind = 'offer_closed' \
         AND payload LIKE '%\"accepted\"%')",
    )
    .await;
    let into = format!("sqlite://{}", dir.path().join("b.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert!(report.differences > 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_made_under_another_configuration_replays_under_it() {
    // Workers whose offers expired are never asked again: the log says so, and the replay follows it (under
    // the default pause of 30 minutes both would be asked again at 08:45).
    let app = spawn_app_reoffering_after(0).await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    app.post_order(&a, &order_json("acme", 2, "offer", 2)).await;
    app.advance_to("2026-11-23T08:20:00Z").await;
    app.advance_to("2026-11-23T09:30:00Z").await;
    let store = crewcall::store::Store::connect(&app.database_url)
        .await
        .expect("connect");
    let log = crewcall::engine::sim_support::all_events(&store)
        .await
        .expect("the log");
    let configs: Vec<&Value> = log
        .iter()
        .filter(|e| e.kind == "engine_config")
        .map(|e| &e.payload)
        .collect();
    assert_eq!(configs.len(), 1, "{configs:?}");
    assert_eq!(configs[0]["reoffer_after_min"], 0);
    assert_eq!(configs[0]["policy_version"], 2);
    assert_eq!(configs[0]["clock"], "manual");
    assert!(log.iter().any(|e| e.kind == "order_at_risk"));
    assert!(log.iter().all(|e| e.kind != "offers_reopened"));
    let dir = tempfile::tempdir().unwrap();
    let into = format!("sqlite://{}", dir.path().join("replay.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert_eq!(report.differences, 0, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_disabled_by_its_failing_endpoint_replays_as_recorded() {
    let app = spawn_app_with_webhooks(WebhookSettings {
        allow_private: true,
        policy: crewcall::webhooks::Policy {
            disable_after_failures: 3,
            disable_after: chrono::Duration::hours(1),
            ..Default::default()
        },
    })
    .await;
    let a = app.create_agency().await;
    let mut rx = crate::receiver::Receiver::start(|_| 500).await;
    let hook = app
        .post(
            &a.key,
            "/v1/webhooks",
            &json!({"url": rx.url, "events": ["order_posted"]}),
        )
        .await
        .expect(201);
    let path = format!("/v1/webhooks/{}", s(&hook, "id"));
    app.post_order(&a, &order_json("first", 1, "offer", 1))
        .await;
    rx.next().await;
    for now in [
        "2026-11-23T08:00:10Z",
        "2026-11-23T08:00:30Z",
        "2026-11-23T09:01:40Z",
    ] {
        // The failure is recorded before the clock moves on.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.advance_to(now).await;
        rx.next().await;
    }
    let mut status = Value::Null;
    for _ in 0..100 {
        status = app.get(&a.key, &path).await.expect(200)["status"].clone();
        if status == "disabled" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "disabled");
    // The agency re-enables it.
    app.patch(&a.key, &path, &json!({"status": "active"}))
        .await
        .expect(200);

    let dir = tempfile::tempdir().unwrap();
    let into = format!("sqlite://{}", dir.path().join("replay.db").display());
    let report = crewcall::cli::replay::run(&app.database_url, &into)
        .await
        .expect("the replay runs");
    assert_eq!(report.differences, 0, "{report}");
    let replayed = crewcall::store::Store::connect(&into)
        .await
        .expect("connect");
    let log = crewcall::engine::sim_support::all_events(&replayed)
        .await
        .expect("the log");
    let kinds: Vec<&str> = log
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| k.starts_with("webhook_"))
        .collect();
    assert_eq!(
        kinds,
        ["webhook_created", "webhook_disabled", "webhook_updated"]
    );
}
