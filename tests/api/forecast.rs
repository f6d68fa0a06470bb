//! The demand forecast: from the agency's past orders, slots expected per area (H3 cell) × role × hour, with the
//! history each figure rests on; exact figures, bad ranges refused, another agency's orders never counted.

use serde_json::{Value, json};

use crate::helpers::*;

/// A second venue about 15 km from [`VENUE`], in another area.
const FAR: (f64, f64) = (31.3, 121.45);

fn order_at(at: (f64, f64), start: &str, end: &str, roles: &[(&str, u32)]) -> Value {
    let roles: Vec<Value> = roles
        .iter()
        .map(|(name, n)| json!({"name": name, "headcount": n, "pay_per_hour": 30}))
        .collect();
    json!({
        "client_ref": "c",
        "title": "Evening bar",
        "venue": {"name": "Hall", "lat": at.0, "lon": at.1, "geofence_m": 300},
        "start": start,
        "end": end,
        "roles": roles,
        "dispatch": {"mode": "offer", "offer_ttl_s": 900, "fanout": 1},
    })
}

fn cell(at: (f64, f64)) -> String {
    h3o::LatLng::new(at.0, at.1)
        .unwrap()
        .to_cell(h3o::Resolution::Seven)
        .to_string()
}

/// Four Fridays of bar demand at the venue (bartenders 2, 2, 3, 3 and one runner, 18:00–22:00 UTC), one
/// Saturday of cooks far away, and a cancelled order that must not count.
async fn history(app: &TestApp, a: &Agency, bartenders: [u32; 4]) {
    for (day, n) in [27, 4, 11, 18].into_iter().zip(bartenders) {
        let month = if day == 27 { 11 } else { 12 };
        let start = format!("2026-{month}-{day:02}T18:00:00Z");
        let end = format!("2026-{month}-{day:02}T22:00:00Z");
        app.post_order(
            a,
            &order_at(VENUE, &start, &end, &[("bartender", n), ("runner", 1)]),
        )
        .await;
    }
    app.post_order(
        a,
        &order_at(
            FAR,
            "2026-12-19T10:00:00Z",
            "2026-12-19T12:00:00Z",
            &[("cook", 2)],
        ),
    )
    .await;
    let cancelled = app
        .post_order(
            a,
            &order_at(
                VENUE,
                "2026-12-16T09:00:00Z",
                "2026-12-16T17:00:00Z",
                &[("bartender", 50)],
            ),
        )
        .await;
    app.post(
        &a.key,
        &format!("/v1/orders/{}/cancel", s(&cancelled, "id")),
        &json!({}),
    )
    .await
    .expect(200);
}

fn series<'a>(f: &'a Value, area: &str, role: &str) -> &'a Value {
    f["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["area"]["cell"] == area && s["role"] == role)
        .unwrap_or_else(|| panic!("no series {area} {role} in {f}"))
}

fn hours(s: &Value) -> Vec<(String, u64, f64, f64)> {
    s["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["start"].as_str().unwrap().to_string(),
                h["hour_of_week"].as_u64().unwrap(),
                h["seasonal_mean"].as_f64().unwrap(),
                h["forecast"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_forecast_recovers_the_weekly_pattern_and_trend_of_past_orders() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    history(&app, &a, [2, 2, 3, 3]).await;
    app.advance_to("2026-12-21T00:20:00Z").await;

    let f = app
        .get(&a.key, "/v1/forecast?from=2026-12-21&to=2026-12-28")
        .await
        .expect(200);
    assert_eq!(f["as_of"], "2026-12-21T00:00:00Z");
    assert_eq!(f["from"], "2026-12-21T00:00:00Z");
    assert_eq!(f["to"], "2026-12-28T00:00:00Z");
    assert_eq!(
        f["model"],
        json!({"h3_resolution": 7, "weeks": 8, "trend_weeks": 2, "trend_min": 0.5, "trend_max": 2.0,
               "timezone": "UTC"})
    );
    assert_eq!(f["series"].as_array().unwrap().len(), 3);

    // Bartenders: 2, 2, 3, 3 over four weeks: mean 2.5 a Friday hour, 12 slot-hours a week lately against 8
    // before, a trend of 1.5, hence 3.75 each hour of next Friday 18:00–22:00 UTC (hour of week 114–117).
    let bar = series(&f, &cell(VENUE), "bartender");
    let centre = h3o::LatLng::from(cell(VENUE).parse::<h3o::CellIndex>().unwrap());
    assert!((bar["area"]["lat"].as_f64().unwrap() - centre.lat()).abs() < 1e-6);
    assert!((bar["area"]["lon"].as_f64().unwrap() - centre.lng()).abs() < 1e-6);
    assert_eq!(bar["weeks_seen"], 4);
    assert_eq!(bar["recent_weekly_slot_hours"], 12.0);
    assert_eq!(bar["earlier_weekly_slot_hours"], 8.0);
    assert_eq!(bar["trend"], 1.5);
    let want: Vec<(String, u64, f64, f64)> = (18..22)
        .map(|h| (format!("2026-12-25T{h}:00:00Z"), 96 + h, 2.5, 3.75))
        .collect();
    assert_eq!(hours(bar), want);

    // The runner, steady: 1 slot, trend 1.
    let runner = series(&f, &cell(VENUE), "runner");
    assert_eq!(
        (runner["weeks_seen"].clone(), runner["trend"].clone()),
        (json!(4), json!(1.0))
    );
    assert_eq!(
        hours(runner).iter().map(|h| h.3).collect::<Vec<_>>(),
        vec![1.0; 4]
    );

    // Cooks in the other area, seen one week: its figures as they were.
    assert_ne!(cell(FAR), cell(VENUE));
    let cook = series(&f, &cell(FAR), "cook");
    assert_eq!(cook["weeks_seen"], 1);
    assert_eq!(cook["earlier_weekly_slot_hours"], 0.0);
    assert_eq!(cook["trend"], 1.0);
    assert_eq!(
        hours(cook),
        vec![
            ("2026-12-26T10:00:00Z".to_string(), 130, 2.0, 2.0),
            ("2026-12-26T11:00:00Z".to_string(), 131, 2.0, 2.0)
        ]
    );

    // Deterministic; a narrower range keeps only its hours; the default range is the coming week.
    let again = app
        .get(
            &a.key,
            "/v1/forecast?from=2026-12-21T00:00:00Z&to=2026-12-28T00:00:00Z",
        )
        .await
        .expect(200);
    assert_eq!(again, f);
    let friday = app
        .get(
            &a.key,
            "/v1/forecast?from=2026-12-25T19:30:00%2B00:00&to=2026-12-25T21:00:00Z",
        )
        .await
        .expect(200);
    assert_eq!(friday["from"], "2026-12-25T19:00:00Z");
    assert_eq!(friday["series"].as_array().unwrap().len(), 2);
    assert_eq!(hours(series(&friday, &cell(VENUE), "bartender")).len(), 2);
    let default = app.get(&a.key, "/v1/forecast").await.expect(200);
    assert_eq!(default, f);
}

#[tokio::test]
async fn a_bad_range_is_refused_with_a_422() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    app.advance_to("2026-12-01T10:30:00Z").await;
    for (query, field) in [
        ("from=yesterday", "from"),
        ("to=2026-12-01T10:00:00", "to"),
        ("from=2026-11-30", "from"),
        ("from=2026-12-03&to=2026-12-02", "to"),
        ("from=2026-12-03&to=2026-12-03", "to"),
        ("to=2026-12-15T10:31:00Z", "to"),
        ("weeks=4", "weeks"),
        ("from=%2B262143-12-31", "from"),
        ("from=2026-12-20", "to"),
    ] {
        let answer = app.get(&a.key, &format!("/v1/forecast?{query}")).await;
        assert_eq!(answer.status, 422, "{query}");
        assert!(
            answer.fields().contains(&field.to_string()),
            "{query}: {:?}",
            answer.fields()
        );
    }
    // The current hour and exactly 14 days ahead are fine.
    app.get(
        &a.key,
        "/v1/forecast?from=2026-12-01T10:00:00Z&to=2026-12-15T10:30:00Z",
    )
    .await
    .expect(200);
    assert_eq!(app.get("nope", "/v1/forecast").await.status, 401);
}

#[tokio::test]
async fn another_agencys_orders_never_count_in_the_forecast() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    history(&app, &a, [2, 2, 3, 3]).await;
    history(&app, &b, [10, 10, 10, 10]).await;
    let c = app.create_agency().await;
    app.advance_to("2026-12-21T00:00:00Z").await;

    let fa = app.get(&a.key, "/v1/forecast").await.expect(200);
    assert_eq!(
        series(&fa, &cell(VENUE), "bartender")["hours"][0]["forecast"],
        3.75
    );
    let fb = app.get(&b.key, "/v1/forecast").await.expect(200);
    let bar = series(&fb, &cell(VENUE), "bartender");
    assert_eq!(
        (bar["trend"].clone(), bar["hours"][0]["forecast"].clone()),
        (json!(1.0), json!(10.0))
    );
    let fc = app.get(&c.key, "/v1/forecast").await.expect(200);
    assert_eq!(fc["series"], json!([]));
}

#[tokio::test]
async fn the_openapi_document_describes_the_forecast() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let doc = app.get(&a.key, "/v1/openapi.json").await.expect(200);
    let op = &doc["paths"]["/v1/forecast"]["get"];
    assert!(op.is_object(), "GET /v1/forecast is not described");
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["from", "to"]);
    assert_eq!(
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ForecastView"
    );
    assert!(op["responses"]["422"].is_object());
    assert_eq!(op["security"], json!([{"agency": []}]));
    let schemas = &doc["components"]["schemas"];
    for name in [
        "ForecastView",
        "ForecastModel",
        "ForecastSeries",
        "ForecastArea",
        "ForecastHour",
    ] {
        assert!(schemas[name].is_object(), "no schema {name}");
    }
}

#[tokio::test]
async fn hours_of_the_week_follow_the_agencys_timezone_across_daylight_saving() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    app.patch(
        &a.key,
        "/v1/agency/settings",
        &json!({"timezone": "Europe/Berlin"}),
    )
    .await
    .expect(200);
    // Fridays 19:00–20:00 Berlin time, 4 hosts: 18:00 UTC in winter, 17:00 UTC once summer time starts on
    // Sunday 2027-03-28.
    for (day, offset) in [
        ("2027-03-12", "+01:00"),
        ("2027-03-19", "+01:00"),
        ("2027-03-26", "+01:00"),
        ("2027-04-02", "+02:00"),
        ("2027-04-09", "+02:00"),
    ] {
        app.post_order(
            &a,
            &order_at(
                VENUE,
                &format!("{day}T19:00:00{offset}"),
                &format!("{day}T20:00:00{offset}"),
                &[("host", 4)],
            ),
        )
        .await;
    }
    app.advance_to("2027-04-12T00:00:00Z").await;
    let f = app
        .get(&a.key, "/v1/forecast?from=2027-04-12&to=2027-04-19")
        .await
        .expect(200);
    assert_eq!(f["model"]["timezone"], "Europe/Berlin");
    // One hour of the week, Friday 19:00 local (hour 115), seen all five weeks: 4 slots next Friday 17:00 UTC.
    let host = series(&f, &cell(VENUE), "host");
    assert_eq!(
        hours(host),
        vec![("2027-04-16T17:00:00Z".to_string(), 115, 4.0, 4.0)]
    );
}
