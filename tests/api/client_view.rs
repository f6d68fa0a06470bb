//! The client view and photo reports: an agency's client link reads that client's orders (fill, crew,
//! check-ins with lateness, no-shows and replacements, photos) and nothing else; workers send photos from the
//! venue while checked in; the service figures on /metrics.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The smallest valid PNG: a 1×1 transparent pixel.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// A JPEG's first bytes are enough for the server's type check.
fn jpeg(len: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.resize(len, 0x11);
    v
}

async fn send_photo(
    app: &TestApp,
    token: &str,
    assignment: &str,
    content_type: &str,
    body: Vec<u8>,
    caption: &str,
) -> Answer {
    let rb = app
        .request(
            Method::POST,
            &format!("/v1/assignments/{assignment}/photos?caption={caption}"),
            token,
        )
        .header("content-type", content_type)
        .body(body);
    app.send(rb).await
}

async fn get_bytes(app: &TestApp, token: &str, path: &str) -> (u16, Option<String>, Vec<u8>) {
    let r = app
        .request(Method::GET, path, token)
        .send()
        .await
        .expect("the server answers");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (status, ct, r.bytes().await.unwrap().to_vec())
}

/// An agency, two promoters with tokens, and an assign-mode order of two for `client` — both confirmed.
async fn staffed(app: &TestApp, client: &str) -> (Agency, Vec<Value>, Value) {
    let a = app.create_agency().await;
    let workers = promoters(app, &a, 2).await;
    let order = app
        .post_order(&a, &order_json(client, 2, "assign", 1))
        .await;
    assert_eq!(order["status"], "filled", "{order}");
    (a, workers, order)
}

fn assignment_of<'a>(order: &'a Value, worker: &Value) -> &'a Value {
    order["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["worker_id"] == worker["id"])
        .expect("the worker's assignment")
}

#[tokio::test]
async fn a_checked_in_worker_sends_a_photo_that_the_agency_and_the_worker_read_back() {
    let app = spawn_app().await;
    let (a, workers, order) = staffed(&app, "expo-organizer-42").await;
    let w = &workers[0];
    let token = s(w, "app_token");
    let asg = s(assignment_of(&order, w), "id");

    // Before check-in there is no shift to report on.
    send_photo(&app, &token, &asg, "image/png", PNG.to_vec(), "early")
        .await
        .expect(409);
    app.advance_to("2026-11-28T08:50:00+08:00").await;
    app.check_in(&token, &asg, VENUE).await.expect(200);

    let p = send_photo(
        &app,
        &token,
        &asg,
        "image/png",
        PNG.to_vec(),
        "stand%20ready",
    )
    .await
    .expect(201);
    assert_eq!(p["assignment_id"], asg);
    assert_eq!(p["content_type"], "image/png");
    assert_eq!(p["bytes"], PNG.len());
    assert_eq!(p["caption"], "stand ready");
    let url = s(&p, "url");

    for t in [&token, &a.key] {
        let list = app
            .get(t, &format!("/v1/assignments/{asg}/photos"))
            .await
            .expect(200);
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert_eq!(list["items"][0]["id"], p["id"]);
        let (status, ct, bytes) = get_bytes(&app, t, &url).await;
        assert_eq!(status, 200);
        assert_eq!(ct.as_deref(), Some("image/png"));
        assert_eq!(bytes, PNG);
    }
    // The agency's feed says so.
    let events = app.get(&a.key, "/v1/events?limit=500").await.expect(200);
    let added: Vec<&Value> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "photo_added")
        .collect();
    assert_eq!(added.len(), 1, "{events}");
    assert_eq!(added[0]["data"]["photo"], p["id"]);

    // Another worker, another agency: not theirs.
    let other = s(&workers[1], "app_token");
    app.get(&other, &format!("/v1/assignments/{asg}/photos"))
        .await
        .expect(404);
    assert_eq!(get_bytes(&app, &other, &url).await.0, 404);
    let stranger = app.create_agency().await;
    assert_eq!(get_bytes(&app, &stranger.key, &url).await.0, 404);
    send_photo(&app, &other, &asg, "image/png", PNG.to_vec(), "")
        .await
        .expect(404);
}

#[tokio::test]
async fn a_photo_that_is_not_an_image_of_its_type_or_too_large_is_refused_and_nothing_is_kept() {
    let app = spawn_app().await;
    let (a, workers, order) = staffed(&app, "expo-organizer-42").await;
    let token = s(&workers[0], "app_token");
    let asg = s(assignment_of(&order, &workers[0]), "id");
    app.advance_to("2026-11-28T08:50:00+08:00").await;
    app.check_in(&token, &asg, VENUE).await.expect(200);

    // Declared PNG, sent JPEG bytes.
    let r = send_photo(&app, &token, &asg, "image/png", jpeg(100), "")
        .await
        .expect(422);
    assert!(r["type"].as_str().unwrap().ends_with("validation"), "{r}");
    // Not an image type at all.
    send_photo(&app, &token, &asg, "text/plain", b"hello".to_vec(), "")
        .await
        .expect(415);
    // Larger than the 5 MiB default.
    let r = send_photo(
        &app,
        &token,
        &asg,
        "image/jpeg",
        jpeg(5 * 1024 * 1024 + 1),
        "",
    )
    .await
    .expect(413);
    assert_eq!(r["status"], 413);
    // Exactly at the limit is fine.
    send_photo(&app, &token, &asg, "image/jpeg", jpeg(5 * 1024 * 1024), "")
        .await
        .expect(201);
    let list = app
        .get(&a.key, &format!("/v1/assignments/{asg}/photos"))
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn photo_images_are_erased_after_the_retention_period_and_with_a_deleted_worker() {
    let app = spawn_app().await;
    let (a, workers, order) = staffed(&app, "expo-organizer-42").await;
    app.advance_to("2026-11-28T08:50:00+08:00").await;
    let mut urls = Vec::new();
    for w in &workers {
        let token = s(w, "app_token");
        let asg = s(assignment_of(&order, w), "id");
        app.check_in(&token, &asg, VENUE).await.expect(200);
        let p = send_photo(&app, &token, &asg, "image/png", PNG.to_vec(), "")
            .await
            .expect(201);
        urls.push((asg, s(&p, "url")));
    }
    // Deleting the first worker erases its photo's image; the record stays, without a url.
    app.delete(&a.key, &format!("/v1/workers/{}", s(&workers[0], "id")))
        .await
        .expect(204);
    assert_eq!(get_bytes(&app, &a.key, &urls[0].1).await.0, 404);
    let list = app
        .get(&a.key, &format!("/v1/assignments/{}/photos", urls[0].0))
        .await
        .expect(200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list["items"][0]["url"].is_null(), "{list}");
    assert_eq!(get_bytes(&app, &a.key, &urls[1].1).await.0, 200);

    // 90 days (the default retention) later the other one is erased too.
    app.advance_to("2027-02-25T09:00:00+08:00").await;
    assert_eq!(get_bytes(&app, &a.key, &urls[1].1).await.0, 200);
    app.advance_to("2027-02-26T09:00:00+08:00").await;
    assert_eq!(get_bytes(&app, &a.key, &urls[1].1).await.0, 404);
}

#[tokio::test]
async fn a_client_link_shows_its_clients_orders_with_crew_attendance_and_photos_and_nothing_else() {
    let app = spawn_app().await;
    let (a, workers, order) = staffed(&app, "expo-organizer-42").await;
    // Another order of the same agency for another client.
    let other_order = app
        .post_order(&a, &order_json("someone-else", 1, "offer", 1))
        .await;
    let link = app
        .post(
            &a.key,
            "/v1/client-links",
            &json!({"client_ref": "expo-organizer-42", "label": "Expo ops desk"}),
        )
        .await
        .expect(201);
    let token = s(&link, "token");
    assert!(token.starts_with("cc_client_"));
    assert_eq!(s(&link, "url"), format!("/client#token={token}"));
    assert_eq!(link["client_ref"], "expo-organizer-42");

    let list = app.get(&token, "/v1/client/orders").await.expect(200);
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["id"], order["id"]);
    app.get(
        &token,
        &format!("/v1/client/orders/{}", s(&other_order, "id")),
    )
    .await
    .expect(404);

    // The shift: one worker checks in 10 minutes late and sends a photo, the other never comes.
    app.advance_to("2026-11-28T09:10:00+08:00").await;
    let w0 = &workers[0];
    let asg0 = s(assignment_of(&order, w0), "id");
    let t0 = s(w0, "app_token");
    app.check_in(&t0, &asg0, VENUE).await.expect(200);
    let photo = send_photo(&app, &t0, &asg0, "image/png", PNG.to_vec(), "ready")
        .await
        .expect(201);
    app.advance_to("2026-11-28T09:20:00+08:00").await;

    let view = app
        .get(&token, &format!("/v1/client/orders/{}", s(&order, "id")))
        .await
        .expect(200);
    assert_eq!(view["order"]["id"], order["id"]);
    let crew = view["crew"].as_array().unwrap();
    let member = |asg: &str| {
        crew.iter()
            .find(|m| m["assignment_id"] == asg)
            .unwrap_or_else(|| panic!("{asg} in {view}"))
            .clone()
    };
    let m0 = member(&asg0);
    assert_eq!(m0["status"], "checked_in");
    assert_eq!(m0["late_minutes"], 10);
    assert_eq!(m0["worker_name"], "Worker P.");
    assert_eq!(m0["photos"][0]["id"], photo["id"]);
    let purl = s(&m0["photos"][0], "url");
    assert!(purl.starts_with("/v1/client/photos/"), "{purl}");
    let (status, _, bytes) = get_bytes(&app, &token, &purl).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, PNG);
    let asg1 = s(assignment_of(&order, &workers[1]), "id");
    assert_eq!(member(&asg1)["status"], "no_show");

    // Reads only: the client's token does nothing else.
    app.get(&token, "/v1/orders").await.expect(403);
    app.get(&token, &format!("/v1/orders/{}", s(&order, "id")))
        .await
        .expect(403);
    app.post(
        &token,
        "/v1/orders",
        &order_json("expo-organizer-42", 1, "offer", 1),
    )
    .await
    .expect(403);
    app.get(&token, &format!("/v1/assignments/{asg0}/photos"))
        .await
        .expect(403);
    // A client link of another agency sees none of this.
    let b = app.create_agency().await;
    let foreign = app
        .post(
            &b.key,
            "/v1/client-links",
            &json!({"client_ref": "expo-organizer-42"}),
        )
        .await
        .expect(201);
    let ft = s(&foreign, "token");
    let none = app.get(&ft, "/v1/client/orders").await.expect(200);
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    app.get(&ft, &format!("/v1/client/orders/{}", s(&order, "id")))
        .await
        .expect(404);
    assert_eq!(get_bytes(&app, &ft, &purl).await.0, 404);
}

#[tokio::test]
async fn a_revoked_or_expired_client_link_is_refused_at_once() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let link = app
        .post(
            &a.key,
            "/v1/client-links",
            &json!({"client_ref": "c-1", "expires_at": "2026-11-30T00:00:00Z"}),
        )
        .await
        .expect(201);
    let token = s(&link, "token");
    app.get(&token, "/v1/client/orders").await.expect(200);
    app.advance_to("2026-11-30T00:00:00Z").await;
    app.get(&token, "/v1/client/orders").await.expect(401);

    let link = app
        .post(&a.key, "/v1/client-links", &json!({"client_ref": "c-1"}))
        .await
        .expect(201);
    let token = s(&link, "token");
    app.get(&token, "/v1/client/orders").await.expect(200);
    let listed = app.get(&a.key, "/v1/client-links").await.expect(200);
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], link["id"], "newest first");
    assert!(items.iter().all(|l| l.get("token").is_none()), "{listed}");
    let path = format!("/v1/client-links/{}", s(&link, "id"));
    let b = app.create_agency().await;
    app.delete(&b.key, &path).await.expect(404);
    app.delete(&a.key, &path).await.expect(204);
    app.get(&token, "/v1/client/orders").await.expect(401);
    app.delete(&a.key, &path).await.expect(409);
}

#[tokio::test]
async fn a_client_link_needs_a_client_and_a_future_expiry() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    for (body, field) in [
        (json!({"client_ref": ""}), "client_ref"),
        (json!({"client_ref": "   "}), "client_ref"),
        (
            json!({"client_ref": "c", "expires_at": "2020-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"client_ref": "c", "expires_at": "2027-01-01T00:00:00"}),
            "expires_at",
        ),
        (json!({"client_ref": "c", "extra": 1}), "extra"),
    ] {
        let r = app.post(&a.key, "/v1/client-links", &body).await;
        assert_eq!(r.status.as_u16(), 422, "{body} → {:?}", r.body);
        assert!(
            r.fields().iter().any(|f| f.starts_with(field)),
            "{body} → {r:?}"
        );
    }
    let listed = app.get(&a.key, "/v1/client-links").await.expect(200);
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn metrics_report_fill_at_start_time_to_fill_offers_per_slot_no_shows_and_replacements() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let workers = promoters(&app, &a, 3).await;
    // Offer mode, one slot, fan-out 1: the closest promoter declines, the next accepts.
    let order = app.post_order(&a, &order_json("c-1", 1, "offer", 1)).await;
    app.advance_to("2026-11-23T08:10:00Z").await;
    let first = app.offers(&s(&workers[0], "app_token")).await;
    app.decline(&s(&workers[0], "app_token"), &s(&first[0], "id"))
        .await
        .expect(200);
    let second = app.offers(&s(&workers[1], "app_token")).await;
    app.accept(&s(&workers[1], "app_token"), &s(&second[0], "id"))
        .await
        .expect(200);
    assert_eq!(app.order(&a, &s(&order, "id")).await["status"], "filled");
    let metrics = || async {
        app.client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let text = metrics().await;
    assert_eq!(value(&text, "crewcall_time_to_fill_seconds_count"), 1.0);
    assert_eq!(value(&text, "crewcall_time_to_fill_seconds_sum"), 600.0);
    assert_eq!(value(&text, "crewcall_offers_per_filled_slot"), 2.0);
    assert_eq!(value(&text, "crewcall_no_shows_total"), 0.0);
    // Nothing has started yet: no slot was due.
    assert_eq!(
        value(&text, "crewcall_slots_due_total{filled=\"true\"}"),
        0.0
    );
    // The shift starts; nobody checks in: a no-show after the grace.
    app.advance_to("2026-11-28T09:20:00+08:00").await;
    let text = metrics().await;
    assert_eq!(value(&text, "crewcall_fill_rate_at_start"), 1.0);
    assert_eq!(
        value(&text, "crewcall_slots_due_total{filled=\"true\"}"),
        1.0
    );
    assert_eq!(value(&text, "crewcall_no_shows_total"), 1.0);
    assert_eq!(
        value(&text, "crewcall_replacements_total{via=\"standby\"}"),
        0.0
    );
}

/// The value of the metric line `name` (with its labels) in Prometheus text.
fn value(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .unwrap_or_else(|| panic!("{name} in\n{text}"))
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}
