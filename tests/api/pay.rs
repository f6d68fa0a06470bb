//! Time and money: timesheets, disputes and corrections, the weekly pay run, earnings and invoices.

use serde_json::{Value, json};

use crate::helpers::{Agency, TestApp, VENUE, near_worker, s, spawn_app};

/// `rate_minor` per hour for `minutes`, half up: the README's rounding, computed independently.
fn pay(rate_minor: i64, minutes: i64) -> i64 {
    (rate_minor * minutes + 30) / 60
}

async fn agency_with(app: &TestApp, settings: Value) -> Agency {
    let agency = app.create_agency().await;
    app.patch(&agency.key, "/v1/agency/settings", &settings)
        .await
        .expect(200);
    agency
}

/// A worker near the venue: `(id, app token)`.
async fn worker(app: &TestApp, agency: &Agency, ext: &str) -> (String, String) {
    let w = app
        .post_worker(agency, &near_worker(ext, 0, &["promoter"]))
        .await;
    (s(&w, "id"), s(&w, "app_token"))
}

/// An order of one named worker, confirmed at once: `(order id, assignment id)`.
async fn shift(
    app: &TestApp,
    agency: &Agency,
    worker: &str,
    client: &str,
    (start, end): (&str, &str),
    pay_per_hour: f64,
    bill_per_hour: Option<f64>,
) -> (String, String) {
    let mut role = json!({"name": "crew", "headcount": 1, "skills": ["promoter"],
                          "pay_per_hour": pay_per_hour, "workers": [worker]});
    if let Some(b) = bill_per_hour {
        role["bill_per_hour"] = json!(b);
    }
    let order = app
        .post_order(
            agency,
            &json!({
                "client_ref": client, "title": "Expo crew",
                "venue": {"name": "Hall 3", "lat": VENUE.0, "lon": VENUE.1},
                "start": start, "end": end, "roles": [role],
                "dispatch": {"mode": "assign"},
            }),
        )
        .await;
    let a = &order["assignments"][0];
    assert_eq!(s(a, "worker_id"), worker, "the named worker is assigned");
    (s(&order, "id"), s(a, "id"))
}

/// The worker checks in at `at` and the clock moves to `then` (the engine completes the shift at its end).
async fn work(app: &TestApp, token: &str, assignment: &str, at: &str, then: &str) {
    app.advance_to(at).await;
    app.check_in(token, assignment, VENUE).await.expect(200);
    app.advance_to(then).await;
}

/// The timesheet of an order (one worker).
async fn timesheet_of(app: &TestApp, agency: &Agency, order: &str) -> Value {
    let page = app
        .get(&agency.key, &format!("/v1/timesheets?order={order}"))
        .await
        .expect(200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    page["items"][0].clone()
}

fn minor(v: &Value) -> i64 {
    v["amount_minor"]
        .as_i64()
        .unwrap_or_else(|| panic!("no amount in {v}"))
}

fn worker_line<'a>(run: &'a Value, worker: &str) -> &'a Value {
    run["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["worker_id"] == worker)
        .unwrap_or_else(|| panic!("{worker} is not in {run}"))
}

const SHANGHAI: &str = "Asia/Shanghai";

#[tokio::test]
async fn a_weeks_settlement_equals_the_sum_of_approved_timesheets_to_the_cent_with_overtime_and_a_late_cancel_compensation()
 {
    let app = spawn_app().await;
    let agency = agency_with(
        &app,
        json!({"timezone": SHANGHAI, "currency": "CNY",
               "late_cancellation": {"notice_hours": 24, "worker_share_percent": 50}}),
    )
    .await;
    let (a, a_token) = worker(&app, &agency, "A").await;
    let (b, _) = worker(&app, &agency, "B").await;
    // Five days of 9 hours for A, Tuesday to Saturday of 2026-W48: 45 h, 5 h above the 40 h threshold.
    let mut orders = Vec::new();
    for day in 24..=28 {
        let start = format!("2026-11-{day}T09:00:00+08:00");
        let end = format!("2026-11-{day}T18:00:00+08:00");
        orders.push(shift(&app, &agency, &a, "expo", (&start, &end), 30.55, Some(45.0)).await);
    }
    // B's Sunday shift of 8 hours, cancelled by the agency 13 hours ahead.
    let (b_order, _) = shift(
        &app,
        &agency,
        &b,
        "expo",
        ("2026-11-29T09:00:00+08:00", "2026-11-29T17:00:00+08:00"),
        20.0,
        Some(30.0),
    )
    .await;
    for (day, (_, asg)) in (24..=28).zip(&orders) {
        work(
            &app,
            &a_token,
            asg,
            &format!("2026-11-{day}T08:50:00+08:00"),
            &format!("2026-11-{day}T18:05:00+08:00"),
        )
        .await;
    }
    app.advance_to("2026-11-28T20:00:00+08:00").await;
    app.post(
        &agency.key,
        &format!("/v1/orders/{b_order}/cancel"),
        &json!({}),
    )
    .await
    .expect(200);
    // Every window has ended (72 h after Saturday's shift): approved automatically.
    app.advance_to("2026-12-02T00:00:00+08:00").await;

    let sheets = app
        .get(&agency.key, "/v1/timesheets?week=2026-W48&status=approved")
        .await
        .expect(200);
    let sheets = sheets["items"].as_array().unwrap();
    assert_eq!(sheets.len(), 5);
    let mut sum = 0;
    for t in sheets {
        assert_eq!(t["worked_minutes"], 540);
        assert_eq!(minor(&t["pay_per_hour"]), 3055);
        assert_eq!(minor(&t["pay"]), pay(3055, 540));
        assert_eq!(t["pay"]["currency"], "CNY");
        sum += minor(&t["pay"]);
    }
    let run = app
        .get(&agency.key, "/v1/settlements?week=2026-W48")
        .await
        .expect(200);
    assert_eq!(run["status"], "open");
    assert_eq!(run["currency"], "CNY");
    let la = worker_line(&run, &a);
    assert_eq!(la["approved_minutes"], 2700);
    assert_eq!(minor(&la["base_pay"]), sum);
    assert_eq!(la["overtime_minutes"], 300);
    // (1.5 − 1) × 30.55 × 5 h = 76.375, half up: 76.38.
    let overtime = (3055 * 300 * 500 + 30_000) / 60_000;
    assert_eq!(overtime, 7638);
    assert_eq!(minor(&la["overtime_premium"]), overtime);
    assert_eq!(minor(&la["total"]), sum + overtime);
    let lb = worker_line(&run, &b);
    assert_eq!(lb["late_cancellations"], 1);
    assert_eq!(
        minor(&lb["late_cancellation_compensation"]),
        pay(2000, 480) / 2
    );
    assert_eq!(minor(&lb["total"]), 8000);
    assert_eq!(run["totals"]["workers"], 2);
    assert_eq!(minor(&run["totals"]["total"]), sum + overtime + 8000);
    assert_eq!(run["pending"]["submitted"], 0);

    // Closing freezes it, with the payout date; paying marks it paid.
    let closed = app
        .post(&agency.key, "/v1/settlements/2026-W48/close", &json!({}))
        .await
        .expect(200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["payout_date"], "2026-12-04");
    assert_eq!(closed["totals"], run["totals"]);
    app.post(&agency.key, "/v1/settlements/2026-W48/close", &json!({}))
        .await
        .expect(409);
    let t = &sheets[0];
    app.post(
        &agency.key,
        &format!("/v1/timesheets/{}/correct", s(t, "id")),
        &json!({"worked_minutes": 10, "reason": "too late"}),
    )
    .await
    .expect(409);
    let paid = app
        .post(&agency.key, "/v1/settlements/2026-W48/paid", &json!({}))
        .await
        .expect(200);
    assert_eq!(paid["status"], "paid");
    assert_eq!(paid["totals"], run["totals"]);
    let again = app
        .get(&agency.key, "/v1/settlements/2026-W48")
        .await
        .expect(200);
    assert_eq!(again["status"], "paid");
    assert_eq!(again["workers"], run["workers"]);
}

#[tokio::test]
async fn a_disputed_timesheet_stays_out_of_the_pay_run_until_resolved() {
    let app = spawn_app().await;
    let agency = agency_with(&app, json!({"timezone": SHANGHAI})).await;
    let (w, token) = worker(&app, &agency, "A").await;
    let (order, asg) = shift(
        &app,
        &agency,
        &w,
        "expo",
        ("2026-11-24T09:00:00+08:00", "2026-11-24T17:00:00+08:00"),
        20.0,
        None,
    )
    .await;
    work(
        &app,
        &token,
        &asg,
        "2026-11-24T09:00:00+08:00",
        "2026-11-24T17:30:00+08:00",
    )
    .await;
    let t = timesheet_of(&app, &agency, &order).await;
    assert_eq!(t["status"], "submitted");
    let id = s(&t, "id");
    let disputed = app
        .post(
            &token,
            &format!("/v1/me/timesheets/{id}/dispute"),
            &json!({"reason": "I stayed until 18:00 to pack up"}),
        )
        .await
        .expect(200);
    assert_eq!(disputed["status"], "disputed");
    // Past the window: a disputed timesheet is not approved by the timer.
    app.advance_to("2026-11-30T00:30:00+08:00").await;
    let run = app
        .get(&agency.key, "/v1/settlements?week=2026-W48")
        .await
        .expect(200);
    assert_eq!(run["workers"], json!([]));
    assert_eq!(run["pending"]["disputed"], 1);
    assert_eq!(minor(&run["totals"]["total"]), 0);
    app.post(&agency.key, "/v1/settlements/2026-W48/close", &json!({}))
        .await
        .expect(409);
    app.post(
        &agency.key,
        &format!("/v1/timesheets/{id}/approve"),
        &json!({}),
    )
    .await
    .expect(409);
    let resolved = app
        .post(
            &agency.key,
            &format!("/v1/timesheets/{id}/resolve"),
            &json!({"resolution": "paid to 17:00, the order's end", "break_minutes": 30}),
        )
        .await
        .expect(200);
    assert_eq!(resolved["status"], "approved");
    assert_eq!(resolved["approved_by"], "resolution");
    assert_eq!(resolved["paid_minutes"], 450);
    let run = app
        .get(&agency.key, "/v1/settlements?week=2026-W48")
        .await
        .expect(200);
    assert_eq!(run["pending"]["disputed"], 0);
    assert_eq!(minor(&worker_line(&run, &w)["total"]), pay(2000, 450));
}

#[tokio::test]
async fn an_undisputed_timesheet_is_approved_when_the_window_ends_by_the_manual_clock() {
    let app = spawn_app().await;
    let agency = agency_with(
        &app,
        json!({"timezone": SHANGHAI, "dispute_window_hours": 48}),
    )
    .await;
    let (w, token) = worker(&app, &agency, "A").await;
    let (order, asg) = shift(
        &app,
        &agency,
        &w,
        "expo",
        ("2026-11-24T09:00:00+08:00", "2026-11-24T17:00:00+08:00"),
        20.0,
        None,
    )
    .await;
    work(
        &app,
        &token,
        &asg,
        "2026-11-24T08:55:00+08:00",
        "2026-11-24T12:00:00+08:00",
    )
    .await;
    app.check_out(&token, &asg, VENUE).await.expect(200);
    let t = timesheet_of(&app, &agency, &order).await;
    assert_eq!(t["worked_minutes"], 180);
    assert_eq!(t["dispute_until"], "2026-11-26T09:00:00Z");
    app.advance_to("2026-11-26T08:59:00Z").await;
    assert_eq!(
        timesheet_of(&app, &agency, &order).await["status"],
        "submitted"
    );
    app.advance_to("2026-11-26T09:00:00Z").await;
    let t = timesheet_of(&app, &agency, &order).await;
    assert_eq!(t["status"], "approved");
    assert_eq!(t["approved_by"], "automatic");
    assert_eq!(t["approved_at"], "2026-11-26T09:00:00Z");
}

#[tokio::test]
async fn a_dispute_after_the_window_is_a_conflict() {
    let app = spawn_app().await;
    let agency = agency_with(&app, json!({"dispute_window_hours": 2})).await;
    let (w, token) = worker(&app, &agency, "A").await;
    let (order, asg) = shift(
        &app,
        &agency,
        &w,
        "expo",
        ("2026-11-24T09:00:00+08:00", "2026-11-24T17:00:00+08:00"),
        20.0,
        None,
    )
    .await;
    work(
        &app,
        &token,
        &asg,
        "2026-11-24T09:00:00+08:00",
        "2026-11-24T19:01:00+08:00",
    )
    .await;
    let id = s(&timesheet_of(&app, &agency, &order).await, "id");
    let late = app
        .post(
            &token,
            &format!("/v1/me/timesheets/{id}/dispute"),
            &json!({"reason": "missing an hour"}),
        )
        .await;
    assert_eq!(late.status.as_u16(), 409, "{}", late.body);
    assert_eq!(
        timesheet_of(&app, &agency, &order).await["dispute"],
        Value::Null
    );
}

#[tokio::test]
async fn a_correction_keeps_the_original_and_the_reason() {
    let app = spawn_app().await;
    let agency = agency_with(&app, json!({"timezone": SHANGHAI})).await;
    let (w, token) = worker(&app, &agency, "A").await;
    let (order, asg) = shift(
        &app,
        &agency,
        &w,
        "expo",
        ("2026-11-24T09:00:00+08:00", "2026-11-24T17:00:00+08:00"),
        20.0,
        None,
    )
    .await;
    work(
        &app,
        &token,
        &asg,
        "2026-11-24T09:12:00+08:00",
        "2026-11-24T18:00:00+08:00",
    )
    .await;
    let t = timesheet_of(&app, &agency, &order).await;
    assert_eq!(t["worked_minutes"], 468);
    assert_eq!(t["original"], Value::Null);
    let id = s(&t, "id");
    let c = app
        .post(
            &agency.key,
            &format!("/v1/timesheets/{id}/correct"),
            &json!({"checked_in_at": "2026-11-24T09:00:00+08:00", "break_minutes": 45,
                    "reason": "the supervisor let her in at 09:00; the badge reader was down"}),
        )
        .await
        .expect(200);
    assert_eq!(c["worked_minutes"], 480);
    assert_eq!(c["break_minutes"], 45);
    assert_eq!(c["paid_minutes"], 435);
    assert_eq!(minor(&c["pay"]), pay(2000, 435));
    assert_eq!(c["checked_in_at"], "2026-11-24T01:00:00Z");
    assert_eq!(c["original"]["worked_minutes"], 468);
    assert_eq!(c["original"]["checked_in_at"], "2026-11-24T01:12:00Z");
    assert_eq!(c["original"]["break_minutes"], 0);
    assert_eq!(
        c["corrections"][0]["reason"],
        "the supervisor let her in at 09:00; the badge reader was down"
    );
    assert_eq!(c["corrections"][0]["before"]["worked_minutes"], 468);
    assert_eq!(c["corrections"][0]["after"]["worked_minutes"], 480);
    assert_eq!(timesheet_of(&app, &agency, &order).await, c);
    // A second correction keeps the first original.
    let c2 = app
        .post(
            &agency.key,
            &format!("/v1/timesheets/{id}/correct"),
            &json!({"worked_minutes": 470, "reason": "ten minutes late after lunch"}),
        )
        .await
        .expect(200);
    assert_eq!(c2["original"]["worked_minutes"], 468);
    assert_eq!(c2["corrections"].as_array().unwrap().len(), 2);
    // The correction is an event of the agency's feed.
    let feed = app
        .get(&agency.key, "/v1/events?limit=500")
        .await
        .expect(200);
    let kinds: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "timesheet_corrected")
            .count(),
        2
    );
    assert!(kinds.contains(&"timesheet_submitted"));
}

#[tokio::test]
async fn an_overnight_shift_across_a_dst_change_counts_real_minutes() {
    let app = spawn_app().await;
    let agency = agency_with(
        &app,
        json!({"timezone": "Europe/Berlin",
               "night_premium": {"from": "22:00", "to": "06:00", "extra_percent": 25}}),
    )
    .await;
    let (w, token) = worker(&app, &agency, "A").await;
    // 22:00 to 06:00 on the night clocks go forward in Berlin: 7 real hours, not 8.
    let (order, asg) = shift(
        &app,
        &agency,
        &w,
        "night-club",
        ("2027-03-27T22:00:00+01:00", "2027-03-28T06:00:00+02:00"),
        24.0,
        None,
    )
    .await;
    work(
        &app,
        &token,
        &asg,
        "2027-03-27T21:50:00+01:00",
        "2027-03-28T06:10:00+02:00",
    )
    .await;
    let t = timesheet_of(&app, &agency, &order).await;
    assert_eq!(t["worked_minutes"], 420);
    assert_eq!(t["week"], "2027-W12");
    assert_eq!(minor(&t["pay"]), pay(2400, 420));
    app.post(
        &agency.key,
        &format!("/v1/timesheets/{}/approve", s(&t, "id")),
        &json!({}),
    )
    .await
    .expect(200);
    let run = app
        .get(&agency.key, "/v1/settlements?week=2027-W12")
        .await
        .expect(200);
    let line = worker_line(&run, &w);
    assert_eq!(line["night_minutes"], 420);
    assert_eq!(
        minor(&line["night_premium"]),
        (2400 * 420 * 250 + 30_000) / 60_000
    );
}

#[tokio::test]
async fn the_worker_sees_the_expected_payout_date_in_earnings() {
    let app = spawn_app().await;
    let agency = agency_with(&app, json!({"timezone": SHANGHAI, "payout_delay_days": 3})).await;
    let (w, token) = worker(&app, &agency, "A").await;
    let (_, asg) = shift(
        &app,
        &agency,
        &w,
        "expo",
        ("2026-11-25T09:00:00+08:00", "2026-11-25T17:00:00+08:00"),
        25.0,
        Some(40.0),
    )
    .await;
    work(
        &app,
        &token,
        &asg,
        "2026-11-25T09:00:00+08:00",
        "2026-11-25T17:00:00+08:00",
    )
    .await;
    let e = app.get(&token, "/v1/me/earnings").await.expect(200);
    let week = &e["weeks"][0];
    assert_eq!(week["week"], "2026-W48");
    assert_eq!(week["status"], "open");
    // Sunday 29 November, the week's last day, plus 3 days.
    assert_eq!(week["payout_date"], "2026-12-02");
    assert_eq!(week["shifts"][0]["status"], "submitted");
    assert_eq!(minor(&week["shifts"][0]["amount"]), 20000);
    assert_eq!(minor(&week["pending_amount"]), 20000);
    // The worker never sees the client's bill rate.
    let mine = app.get(&token, "/v1/me/timesheets").await.expect(200);
    assert!(mine["items"][0].get("bill_per_hour").is_none());

    app.advance_to("2026-11-30T00:00:00+08:00").await;
    app.post(&agency.key, "/v1/settlements/2026-W48/close", &json!({}))
        .await
        .expect(200);
    let e = app.get(&token, "/v1/me/earnings").await.expect(200);
    let week = &e["weeks"][0];
    assert_eq!(week["status"], "closed");
    assert_eq!(week["payout_date"], "2026-12-02");
    assert_eq!(week["shifts"][0]["status"], "closed");
    assert_eq!(minor(&week["approved_total"]), 20000);
    app.post(&agency.key, "/v1/settlements/2026-W48/paid", &json!({}))
        .await
        .expect(200);
    let e = app.get(&token, "/v1/me/earnings").await.expect(200);
    assert_eq!(e["weeks"][0]["shifts"][0]["status"], "paid");
}

/// Two clients' shifts and a late cancellation of a third, approved: `(agency, worker ids)`.
async fn billed_week(app: &TestApp) -> Agency {
    let agency = agency_with(
        app,
        json!({"timezone": SHANGHAI, "late_cancellation": {"client_fee_percent": 100}}),
    )
    .await;
    let (a, a_token) = worker(app, &agency, "A").await;
    let (b, _) = worker(app, &agency, "B").await;
    let (o1, s1) = shift(
        app,
        &agency,
        &a,
        "north, \"hall\"",
        ("2026-11-24T09:00:00+08:00", "2026-11-24T16:30:00+08:00"),
        20.0,
        Some(33.33),
    )
    .await;
    let (o2, s2) = shift(
        app,
        &agency,
        &a,
        "south",
        ("2026-11-25T09:00:00+08:00", "2026-11-25T13:00:00+08:00"),
        20.0,
        Some(50.0),
    )
    .await;
    let (o3, _) = shift(
        app,
        &agency,
        &b,
        "south",
        ("2026-11-26T09:00:00+08:00", "2026-11-26T15:00:00+08:00"),
        20.0,
        Some(40.0),
    )
    .await;
    work(
        app,
        &a_token,
        &s1,
        "2026-11-24T09:00:00+08:00",
        "2026-11-24T17:00:00+08:00",
    )
    .await;
    work(
        app,
        &a_token,
        &s2,
        "2026-11-25T09:00:00+08:00",
        "2026-11-25T13:30:00+08:00",
    )
    .await;
    app.post(&agency.key, &format!("/v1/orders/{o3}/cancel"), &json!({}))
        .await
        .expect(200);
    for o in [o1, o2] {
        let t = timesheet_of(app, &agency, &o).await;
        app.post(
            &agency.key,
            &format!("/v1/timesheets/{}/approve", s(&t, "id")),
            &json!({}),
        )
        .await
        .expect(200);
    }
    agency
}

#[tokio::test]
async fn invoice_totals_use_the_roles_bill_rates_and_late_cancellation_fees() {
    let app = spawn_app().await;
    let agency = billed_week(&app).await;
    let list = app
        .get(&agency.key, "/v1/invoices?week=2026-W48")
        .await
        .expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["client_ref"], "north, \"hall\"");
    // 7.5 h at 33.33 = 249.975, half up 249.98.
    assert_eq!(minor(&items[0]["totals"]["total"]), 24998);
    assert_eq!(minor(&items[0]["totals"]["total"]), pay(3333, 450));
    let south = app
        .get(&agency.key, "/v1/invoices/2026-W48/south")
        .await
        .expect(200);
    assert_eq!(minor(&south["totals"]["hours_amount"]), pay(5000, 240));
    // Cancelled the day before with under 24 h notice: the whole planned bill (6 h at 40.00).
    assert_eq!(
        minor(&south["totals"]["late_cancellation_fees"]),
        pay(4000, 360)
    );
    assert_eq!(
        minor(&south["totals"]["total"]),
        pay(5000, 240) + pay(4000, 360)
    );
    assert_eq!(south["lines"][0]["billed_minutes"], 240);
    assert_eq!(items[1]["totals"], south["totals"]);
}

/// Splits CSV text into rows of fields (RFC 4180: quoted fields, doubled quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

async fn text(app: &TestApp, key: &str, path: &str) -> (String, String) {
    let r = app
        .request(reqwest::Method::GET, path, key)
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 200, "{path}");
    let ct = r.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_string();
    (ct, r.text().await.unwrap())
}

#[tokio::test]
async fn csv_exports_parse_and_match_the_json() {
    let app = spawn_app().await;
    let agency = billed_week(&app).await;
    let run = app
        .get(&agency.key, "/v1/settlements?week=2026-W48")
        .await
        .expect(200);
    let (ct, body) = text(&app, &agency.key, "/v1/settlements/2026-W48.csv").await;
    assert!(ct.starts_with("text/csv"), "{ct}");
    let (_, same) = text(
        &app,
        &agency.key,
        "/v1/settlements?week=2026-W48&format=csv",
    )
    .await;
    assert_eq!(body, same);
    let rows = parse_csv(&body);
    let head = &rows[0];
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let workers = run["workers"].as_array().unwrap();
    assert_eq!(rows.len(), workers.len() + 2);
    for (row, w) in rows[1..].iter().zip(workers) {
        assert_eq!(row[col("worker_id")], s(w, "worker_id"));
        assert_eq!(
            row[col("approved_minutes")],
            w["approved_minutes"].to_string()
        );
        assert_eq!(
            row[col("base_pay_minor")],
            minor(&w["base_pay"]).to_string()
        );
        assert_eq!(
            row[col("late_cancellation_compensation_minor")],
            minor(&w["late_cancellation_compensation"]).to_string()
        );
        assert_eq!(row[col("total_minor")], minor(&w["total"]).to_string());
        assert_eq!(row[col("currency")], "EUR");
    }
    let total = rows.last().unwrap();
    assert_eq!(total[col("worker_id")], "TOTAL");
    assert_eq!(
        total[col("total_minor")],
        minor(&run["totals"]["total"]).to_string()
    );

    let inv = app
        .get(&agency.key, "/v1/invoices/2026-W48/north%2C%20%22hall%22")
        .await
        .expect(200);
    let (ct, body) = text(
        &app,
        &agency.key,
        "/v1/invoices/2026-W48/north%2C%20%22hall%22.csv",
    )
    .await;
    assert!(ct.starts_with("text/csv"));
    let rows = parse_csv(&body);
    assert_eq!(rows.len(), 3, "{body}");
    let head = &rows[0];
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    assert_eq!(rows[1][col("client_ref")], "north, \"hall\"");
    assert_eq!(
        rows[1][col("amount_minor")],
        minor(&inv["lines"][0]["amount"]).to_string()
    );
    assert_eq!(
        rows[2][col("amount_minor")],
        minor(&inv["totals"]["total"]).to_string()
    );
}

#[tokio::test]
async fn another_agency_can_neither_see_nor_touch_timesheets_pay_runs_or_invoices() {
    let app = spawn_app().await;
    let agency = billed_week(&app).await;
    let other = app.create_agency().await;
    let mine = app.get(&agency.key, "/v1/timesheets").await.expect(200);
    let id = s(&mine["items"][0], "id");
    app.get(&other.key, &format!("/v1/timesheets/{id}"))
        .await
        .expect(404);
    for action in ["approve", "resolve"] {
        app.post(
            &other.key,
            &format!("/v1/timesheets/{id}/{action}"),
            &json!({"resolution": "mine now"}),
        )
        .await
        .expect(404);
    }
    app.post(
        &other.key,
        &format!("/v1/timesheets/{id}/correct"),
        &json!({"worked_minutes": 1, "reason": "x"}),
    )
    .await
    .expect(404);
    let theirs = app.get(&other.key, "/v1/timesheets").await.expect(200);
    assert_eq!(theirs["items"], json!([]));
    let run = app
        .get(&other.key, "/v1/settlements?week=2026-W48")
        .await
        .expect(200);
    assert_eq!(run["workers"], json!([]));
    let inv = app
        .get(&other.key, "/v1/invoices?week=2026-W48")
        .await
        .expect(200);
    assert_eq!(inv["items"], json!([]));
    // Another agency's worker cannot dispute it either.
    let (_, stranger) = worker(&app, &other, "S").await;
    app.post(
        &stranger,
        &format!("/v1/me/timesheets/{id}/dispute"),
        &json!({"reason": "not mine"}),
    )
    .await
    .expect(404);
    // Nothing changed.
    assert_eq!(
        app.get(&agency.key, "/v1/timesheets").await.expect(200),
        mine
    );
}

#[tokio::test]
async fn bad_input_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let agency = app.create_agency().await;
    let before = app
        .get(&agency.key, "/v1/agency/settings")
        .await
        .expect(200);
    assert_eq!(before["timezone"], "UTC");
    assert_eq!(before["currency"], "EUR");
    assert_eq!(before["dispute_window_hours"], 72);
    assert_eq!(before["overtime"]["weekly_threshold_hours"], 40.0);
    let bad = app
        .patch(
            &agency.key,
            "/v1/agency/settings",
            &json!({"timezone": "Mars/Olympus", "currency": "euro", "dispute_window_hours": 0,
                    "overtime": {"multiplier": 0.5},
                    "night_premium": {"from": "22:00", "to": "6am", "multiplier": 1.2, "extra_percent": 20}}),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.body);
    let fields = bad.fields();
    for f in [
        "timezone",
        "currency",
        "dispute_window_hours",
        "overtime.multiplier",
        "night_premium.to",
        "night_premium",
    ] {
        assert!(fields.contains(&f.to_string()), "{f} in {fields:?}");
    }
    app.patch(
        &agency.key,
        "/v1/agency/settings",
        &json!({"payroll": true}),
    )
    .await
    .expect(422);
    app.patch(&agency.key, "/v1/agency/settings", &json!([null, null]))
        .await
        .expect(422);
    assert_eq!(
        app.get(&agency.key, "/v1/agency/settings")
            .await
            .expect(200),
        before
    );

    for q in [
        "week=2026-48",
        "week=2026-W60",
        "",
        "week=2026-W48&format=xml",
    ] {
        app.get(&agency.key, &format!("/v1/settlements?{q}"))
            .await
            .expect(422);
    }
    app.get(&agency.key, "/v1/settlements/W48")
        .await
        .expect(422);
    app.get(&agency.key, "/v1/timesheets?status=lost")
        .await
        .expect(422);
    app.get(&agency.key, "/v1/invoices?week=nope")
        .await
        .expect(422);
    app.post(&agency.key, "/v1/settlements/2026-W48/close", &json!({}))
        .await
        .expect(409);

    let (w, token) = worker(&app, &agency, "A").await;
    let (order, asg) = shift(
        &app,
        &agency,
        &w,
        "expo",
        ("2026-11-24T09:00:00+08:00", "2026-11-24T17:00:00+08:00"),
        20.0,
        None,
    )
    .await;
    work(
        &app,
        &token,
        &asg,
        "2026-11-24T09:00:00+08:00",
        "2026-11-24T17:30:00+08:00",
    )
    .await;
    let t = timesheet_of(&app, &agency, &order).await;
    let id = s(&t, "id");
    for body in [
        json!({"worked_minutes": -5, "reason": "x"}),
        json!({"worked_minutes": 60, "reason": ""}),
        json!({"reason": "nothing to change"}),
        json!({"checked_in_at": "2026-11-24T09:00:00", "reason": "no offset"}),
        json!({"checked_in_at": "2026-11-24T12:00:00+08:00", "checked_out_at": "2026-11-24T11:00:00+08:00", "reason": "backwards"}),
        json!({"worked_minutes": 60, "checked_in_at": "2026-11-24T12:00:00+08:00", "reason": "both"}),
        json!({"break_minutes": 600, "reason": "longer than the shift"}),
    ] {
        app.post(&agency.key, &format!("/v1/timesheets/{id}/correct"), &body)
            .await
            .expect(422);
    }
    app.post(
        &token,
        &format!("/v1/me/timesheets/{id}/dispute"),
        &json!({"reason": " "}),
    )
    .await
    .expect(422);
    app.post(
        &token,
        &format!("/v1/me/timesheets/{id}/dispute"),
        &json!(["an array of the fields"]),
    )
    .await
    .expect(422);
    assert_eq!(timesheet_of(&app, &agency, &order).await, t);
}

#[tokio::test]
async fn the_openapi_document_describes_every_pay_endpoint_with_its_csv_answers() {
    let app = spawn_app().await;
    let doc = app
        .client
        .get(format!("{}/v1/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let paths = &doc["paths"];
    for (path, method) in [
        ("/v1/agency/settings", "get"),
        ("/v1/agency/settings", "patch"),
        ("/v1/timesheets", "get"),
        ("/v1/timesheets/{id}", "get"),
        ("/v1/timesheets/{id}/approve", "post"),
        ("/v1/timesheets/{id}/correct", "post"),
        ("/v1/timesheets/{id}/resolve", "post"),
        ("/v1/me/timesheets", "get"),
        ("/v1/me/timesheets/{id}/dispute", "post"),
        ("/v1/me/earnings", "get"),
        ("/v1/settlements", "get"),
        ("/v1/settlements/{week}", "get"),
        ("/v1/settlements/{week}/close", "post"),
        ("/v1/settlements/{week}/paid", "post"),
        ("/v1/invoices", "get"),
        ("/v1/invoices/{week}/{client_ref}", "get"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not described");
        assert!(op["security"].is_array(), "{method} {path} has no security");
    }
    for path in [
        "/v1/settlements",
        "/v1/settlements/{week}",
        "/v1/invoices/{week}/{client_ref}",
    ] {
        let content = &paths[path]["get"]["responses"]["200"]["content"];
        assert!(content["text/csv"].is_object(), "{path}: {content}");
        assert!(content["application/json"].is_object(), "{path}: {content}");
    }
    let money = &doc["components"]["schemas"]["Money"]["properties"];
    assert_eq!(money["amount_minor"]["type"], "integer");
}
