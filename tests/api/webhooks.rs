//! Webhooks: an agency's endpoints get its events pushed, signed, retried on the server's clock, in order per
//! order, with an id to deduplicate on; a failing endpoint is disabled and can be re-enabled; URLs inside the
//! operator's network are refused unless allowed; another agency's webhook is a 404.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::receiver::{Receiver, in_order_per_order, signed};

/// `START` plus `secs` seconds, RFC 3339.
fn at(secs: i64) -> String {
    let start: DateTime<Utc> = START.parse().expect("a valid start");
    (start + chrono::Duration::seconds(secs)).to_rfc3339()
}

/// Makes a webhook (201); its view, secret included.
async fn create_webhook(app: &TestApp, agency: &Agency, url: &str, events: &[&str]) -> Value {
    app.post(
        &agency.key,
        "/v1/webhooks",
        &json!({"url": url, "events": events}),
    )
    .await
    .expect(201)
}

/// A webhook's deliveries (200).
async fn deliveries(app: &TestApp, agency: &Agency, webhook: &str) -> Vec<Value> {
    app.get(
        &agency.key,
        &format!("/v1/webhooks/{webhook}/deliveries?limit=500"),
    )
    .await
    .expect(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// Waits until the delivery of event `seq` has made `attempts` attempts; the delivery.
async fn delivery_after(
    app: &TestApp,
    agency: &Agency,
    webhook: &str,
    seq: i64,
    attempts: i64,
) -> Value {
    for _ in 0..200 {
        if let Some(d) = deliveries(app, agency, webhook)
            .await
            .into_iter()
            .find(|d| d["seq"] == seq && d["attempts"].as_i64() >= Some(attempts))
        {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the delivery of event {seq} never made {attempts} attempts");
}

#[tokio::test]
async fn a_failed_delivery_is_retried_on_the_servers_clock_signed_and_with_the_same_event_id() {
    let app = spawn_app().await;
    let agency = app.create_agency().await;
    let mut rx = Receiver::start(|_| 500).await;
    let hook = create_webhook(&app, &agency, &rx.url, &["order_posted"]).await;
    let (id, secret) = (s(&hook, "id"), s(&hook, "secret"));
    assert!(secret.starts_with("whsec_"));
    assert_eq!(hook["status"], "active");

    let order = app
        .post_order(&agency, &order_json("retried", 1, "offer", 1))
        .await;

    // The first attempt, at once; answered 500.
    let first = rx.next().await;
    assert_eq!(first.attempt, 1);
    assert_eq!(first.kind(), "order_posted");
    assert_eq!(first.json["data"]["order"], order["id"]);
    assert_eq!(first.event_id, format!("evt_{}", first.seq()));
    assert_eq!(first.json["id"], first.event_id.as_str());
    assert_eq!(first.json["webhook_id"], id.as_str());
    assert!(
        signed(&secret, &first.signature, &first.body),
        "{}",
        first.signature
    );
    assert!(!signed("whsec_other", &first.signature, &first.body));

    let d = delivery_after(&app, &agency, &id, first.seq(), 1).await;
    assert_eq!(d["status"], "pending");
    assert_eq!(d["last_status_code"], 500);
    assert_eq!(d["event_id"], first.event_id.as_str());
    assert_eq!(d["next_attempt_at"], "2026-11-23T08:00:10Z");

    // Nothing more until the server's clock reaches the retry (the sender wakes every second meanwhile).
    assert!(rx.drain(Duration::from_millis(2500)).await.is_empty());
    let metrics = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(metrics.contains("crewcall_webhook_attempts_total{outcome=\"failure\"} 1"));
    assert!(metrics.contains("crewcall_webhook_delivery_lag_seconds"));

    // 10 s later the second attempt (500 again); 20 s after that the third, answered 200.
    app.advance_to(&at(10)).await;
    let second = rx.next().await;
    assert_eq!(second.attempt, 2);
    rx.answer_with(|_| 200);
    app.advance_to(&at(25)).await;
    assert!(rx.drain(Duration::from_millis(1500)).await.is_empty());
    app.advance_to(&at(30)).await;
    let third = rx.next().await;
    assert_eq!(third.attempt, 3);
    for g in [&second, &third] {
        assert_eq!(g.event_id, first.event_id);
        assert_eq!(g.body, first.body, "the body is the same in every attempt");
        assert!(signed(&secret, &g.signature, &g.body));
    }

    let d = delivery_after(&app, &agency, &id, first.seq(), 3).await;
    assert_eq!(d["status"], "delivered");
    assert_eq!(d["last_status_code"], 200);
    assert_eq!(d["delivered_at"], "2026-11-23T08:00:30Z");
    assert_eq!(d["next_attempt_at"], Value::Null);
    let delivered = app
        .get(
            &agency.key,
            &format!("/v1/webhooks/{id}/deliveries?status=delivered"),
        )
        .await
        .expect(200);
    assert_eq!(delivered["items"].as_array().map(Vec::len), Some(1));
    let w = app
        .get(&agency.key, &format!("/v1/webhooks/{id}"))
        .await
        .expect(200);
    assert_eq!(w["consecutive_failures"], 0);
    assert!(w.get("secret").is_none(), "the secret is shown only once");
}

#[tokio::test]
async fn an_orders_events_arrive_in_log_order_and_a_stuck_order_holds_up_no_other() {
    let app = spawn_app().await;
    let agency = app.create_agency().await;
    promoters(&app, &agency, 4).await;
    // Every event of the stuck order fails until `healed`; everything else is taken.
    let stuck = Arc::new(std::sync::Mutex::new(String::new()));
    let healed = Arc::new(AtomicBool::new(false));
    let (o, h) = (stuck.clone(), healed.clone());
    let mut rx = Receiver::start(move |body| {
        let order = body["data"]["order"].as_str().unwrap_or_default();
        if !h.load(Ordering::SeqCst) && *o.lock().unwrap() == order {
            503
        } else {
            200
        }
    })
    .await;
    let hook = create_webhook(&app, &agency, &rx.url, &["*"]).await;
    let id = s(&hook, "id");
    let path = format!("/v1/webhooks/{id}");
    // Paused while the orders are posted, so the receiver knows which order is stuck before anything is sent.
    app.patch(&agency.key, &path, &json!({"status": "paused"}))
        .await
        .expect(200);
    let a = app
        .post_order(&agency, &order_json("stuck", 2, "assign", 1))
        .await;
    let b = app
        .post_order(&agency, &order_json("flowing", 2, "assign", 1))
        .await;
    let (a, b) = (s(&a, "id"), s(&b, "id"));
    *stuck.lock().unwrap() = a.clone();
    app.patch(&agency.key, &path, &json!({"status": "active"}))
        .await
        .expect(200);

    // Order b's events all arrive though order a's first event fails; of order a only that event is tried.
    let got = rx
        .until(Duration::from_secs(20), |got| {
            got.iter().filter(|g| g.order() == b).count() >= 3 && got.iter().any(|g| g.order() == a)
        })
        .await;
    let got: Vec<_> = got
        .into_iter()
        .chain(rx.drain(Duration::from_millis(1500)).await)
        .collect();
    let tried_of_a: std::collections::BTreeSet<i64> = got
        .iter()
        .filter(|g| g.order() == a)
        .map(|g| g.seq())
        .collect();
    assert_eq!(tried_of_a.len(), 1, "only order a's first event is tried");
    assert!(
        got.iter()
            .filter(|g| g.order() == b)
            .all(|g| g.answered == 200)
    );

    // Healed: the retry falls due and order a's events follow, in log order.
    healed.store(true, Ordering::SeqCst);
    app.advance_to(&at(60)).await;
    let rest = rx
        .until(Duration::from_secs(20), |more| {
            more.iter().filter(|g| g.order() == a).count() >= 3
        })
        .await;
    let all: Vec<_> = got.into_iter().chain(rest).collect();
    in_order_per_order(&all).unwrap();
    let a_order: Vec<i64> = all
        .iter()
        .filter(|g| g.order() == a && g.answered == 200)
        .map(|g| g.seq())
        .collect();
    assert!(a_order.windows(2).all(|w| w[0] < w[1]), "{a_order:?}");
    for _ in 0..100 {
        let all = deliveries(&app, &agency, &id).await;
        for d in all.iter().filter(|d| d["kind"] == "assignment_made") {
            assert!(d["order"] == a.as_str() || d["order"] == b.as_str(), "{d}");
        }
        if all.iter().all(|d| d["status"] == "delivered") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "deliveries still pending: {:?}",
        deliveries(&app, &agency, &id).await
    );
}

#[tokio::test]
async fn a_failing_endpoint_is_disabled_after_the_threshold_and_resumes_where_it_left_off_when_re_enabled()
 {
    let app = spawn_app_with_webhooks(WebhookSettings {
        allow_private: true,
        policy: crewcall::webhooks::Policy {
            disable_after_failures: 3,
            disable_after: chrono::Duration::hours(1),
            ..Default::default()
        },
    })
    .await;
    let agency = app.create_agency().await;
    let mut rx = Receiver::start(|_| 500).await;
    let hook = create_webhook(&app, &agency, &rx.url, &["order_posted"]).await;
    let id = s(&hook, "id");
    app.post_order(&agency, &order_json("first", 1, "offer", 1))
        .await;

    // Three failures within a minute do not disable it: the failures must also span an hour.
    assert_eq!(rx.next().await.attempt, 1);
    app.advance_to(&at(10)).await;
    assert_eq!(rx.next().await.attempt, 2);
    app.advance_to(&at(30)).await;
    let third = rx.next().await;
    assert_eq!(third.attempt, 3);
    delivery_after(&app, &agency, &id, third.seq(), 3).await;
    let w = app
        .get(&agency.key, &format!("/v1/webhooks/{id}"))
        .await
        .expect(200);
    assert_eq!(w["status"], "active");
    assert_eq!(w["consecutive_failures"], 3);

    // The fourth, over an hour after the first, disables it: visible on the webhook and in the feed.
    app.advance_to(&at(3700)).await;
    assert_eq!(rx.next().await.attempt, 4);
    let mut disabled = Value::Null;
    for _ in 0..100 {
        disabled = app
            .get(&agency.key, &format!("/v1/webhooks/{id}"))
            .await
            .expect(200);
        if disabled["status"] == "disabled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(disabled["status"], "disabled");
    assert_eq!(disabled["disabled_at"], "2026-11-23T09:01:40Z");
    let feed = app
        .get(&agency.key, "/v1/events?limit=500")
        .await
        .expect(200);
    let event = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "webhook_disabled")
        .cloned()
        .expect("a webhook_disabled event in the agency's feed");
    assert_eq!(event["data"]["webhook"], id.as_str());
    assert_eq!(event["data"]["consecutive_failures"], 4);

    // Disabled: nothing is sent, whatever the clock says, and new events wait.
    app.post_order(&agency, &order_json("second", 1, "offer", 1))
        .await;
    app.advance_to(&at(20_000)).await;
    assert!(rx.drain(Duration::from_millis(2500)).await.is_empty());

    // Re-enabled: both orders' events arrive, the first again, in log order.
    rx.answer_with(|_| 200);
    let w = app
        .patch(
            &agency.key,
            &format!("/v1/webhooks/{id}"),
            &json!({"status": "active"}),
        )
        .await
        .expect(200);
    assert_eq!(w["status"], "active");
    assert_eq!(w["consecutive_failures"], 0);
    assert_eq!(w["disabled_at"], Value::Null);
    let got = rx
        .until(Duration::from_secs(20), |g| {
            g.iter().filter(|g| g.answered == 200).count() >= 2
        })
        .await;
    // The two orders' events go independently; each its own attempt number.
    let first = got
        .iter()
        .find(|g| g.seq() == third.seq())
        .expect("the first again");
    assert_eq!(first.attempt, 5);
    let second = got
        .iter()
        .find(|g| g.seq() != third.seq())
        .expect("the second");
    assert!(second.seq() > third.seq());
    assert_eq!(second.attempt, 1);
}

#[tokio::test]
async fn a_paused_webhook_sends_nothing_until_it_is_active_again() {
    let app = spawn_app().await;
    let agency = app.create_agency().await;
    let mut rx = Receiver::start(|_| 200).await;
    let hook = create_webhook(&app, &agency, &rx.url, &["order_posted"]).await;
    let id = s(&hook, "id");
    let paused = app
        .patch(
            &agency.key,
            &format!("/v1/webhooks/{id}"),
            &json!({"status": "paused"}),
        )
        .await
        .expect(200);
    assert_eq!(paused["status"], "paused");
    app.post_order(&agency, &order_json("while-paused", 1, "offer", 1))
        .await;
    assert!(rx.drain(Duration::from_millis(2500)).await.is_empty());
    app.patch(
        &agency.key,
        &format!("/v1/webhooks/{id}"),
        &json!({"status": "active"}),
    )
    .await
    .expect(200);
    assert_eq!(rx.next().await.kind(), "order_posted");
}

#[tokio::test]
async fn a_webhook_is_listed_changed_rotated_and_deleted_and_its_secret_is_shown_only_when_made() {
    let app = spawn_app().await;
    let agency = app.create_agency().await;
    let mut rx = Receiver::start(|_| 200).await;
    let hook = create_webhook(&app, &agency, &rx.url, &["order_posted", "order_posted"]).await;
    let id = s(&hook, "id");
    assert_eq!(hook["events"], json!(["order_posted"]));

    let list = app.get(&agency.key, "/v1/webhooks").await.expect(200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert!(list["items"][0].get("secret").is_none());

    let changed = app
        .patch(
            &agency.key,
            &format!("/v1/webhooks/{id}"),
            &json!({"events": ["order_status", "*"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed["events"], json!(["*"]));
    assert!(changed.get("secret").is_none());

    let rotated = app
        .post(
            &agency.key,
            &format!("/v1/webhooks/{id}/rotate-secret"),
            &json!({}),
        )
        .await
        .expect(200);
    let new_secret = s(&rotated, "secret");
    assert_ne!(new_secret, s(&hook, "secret"));
    app.post_order(&agency, &order_json("rotated", 1, "offer", 1))
        .await;
    let got = rx
        .until(Duration::from_secs(20), |g| {
            g.iter().any(|g| g.kind() == "order_posted")
        })
        .await;
    let posted = got.iter().find(|g| g.kind() == "order_posted").unwrap();
    assert!(signed(&new_secret, &posted.signature, &posted.body));
    assert!(!signed(
        &s(&hook, "secret"),
        &posted.signature,
        &posted.body
    ));

    let feed = app
        .get(&agency.key, "/v1/events?limit=500")
        .await
        .expect(200);
    let kinds: Vec<&str> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "webhook_created",
        "webhook_updated",
        "webhook_secret_rotated",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert!(
        !feed.to_string().contains(&new_secret),
        "no secret in the feed"
    );

    assert_eq!(
        app.delete(&agency.key, &format!("/v1/webhooks/{id}"))
            .await
            .status,
        204
    );
    app.get(&agency.key, &format!("/v1/webhooks/{id}"))
        .await
        .expect(404);
}

#[tokio::test]
async fn urls_to_loopback_or_private_addresses_are_refused_unless_the_operator_allows_them() {
    let strict = spawn_app_with_webhooks(WebhookSettings::default()).await;
    let agency = strict.create_agency().await;
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://192.168.1.20/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "ftp://example.com/hook",
    ] {
        let a = strict
            .post(
                &agency.key,
                "/v1/webhooks",
                &json!({"url": url, "events": ["*"]}),
            )
            .await;
        assert_eq!(a.status.as_u16(), 422, "{url}: {}", a.body);
        assert_eq!(a.fields(), ["url"], "{url}");
    }
    assert!(
        strict.get(&agency.key, "/v1/webhooks").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let allowing = spawn_app().await;
    let agency = allowing.create_agency().await;
    create_webhook(&allowing, &agency, "http://127.0.0.1:8080/hook", &["*"]).await;
}

#[tokio::test]
async fn another_agencys_webhook_is_a_404() {
    let app = spawn_app().await;
    let owner = app.create_agency().await;
    let other = app.create_agency().await;
    let hook = create_webhook(&app, &owner, "http://127.0.0.1:9/hook", &["*"]).await;
    let id = s(&hook, "id");
    let base = format!("/v1/webhooks/{id}");
    let calls = [
        (Method::GET, base.clone(), None),
        (
            Method::PATCH,
            base.clone(),
            Some(json!({"status": "paused"})),
        ),
        (Method::DELETE, base.clone(), None),
        (
            Method::POST,
            format!("{base}/rotate-secret"),
            Some(json!({})),
        ),
        (Method::GET, format!("{base}/deliveries"), None),
    ];
    for (method, path, body) in calls {
        let a = app
            .call(method.clone(), &path, Some(&other.key), body.as_ref())
            .await;
        assert_eq!(a.status.as_u16(), 404, "{method} {path}");
        assert_eq!(a.content_type, "application/problem+json");
    }
    let list = app.get(&other.key, "/v1/webhooks").await.expect(200);
    assert!(list["items"].as_array().unwrap().is_empty());
    // The owner's webhook is untouched.
    let w = app.get(&owner.key, &base).await.expect(200);
    assert_eq!(w["status"], "active");
    app.get(&owner.key, "/v1/webhooks/whk_zz").await.expect(404);
}

#[tokio::test]
async fn bad_webhook_input_is_422_problem_json_naming_the_field() {
    let app = spawn_app().await;
    let agency = app.create_agency().await;
    let url = "http://127.0.0.1:9/hook";
    let cases = [
        (
            json!({"url": url, "events": ["order_posted", "no_such_kind"]}),
            "events[1]",
        ),
        (json!({"url": url, "events": []}), "events"),
        (json!({"url": "not a url", "events": ["*"]}), "url"),
        (
            json!({"url": "https://user:pw@example.com/", "events": ["*"]}),
            "url",
        ),
        (json!({"events": ["*"]}), ""),
        (json!({"url": url, "events": ["*"], "extra": 1}), ""),
    ];
    for (body, field) in cases {
        let a = app.post(&agency.key, "/v1/webhooks", &body).await;
        assert_eq!(a.status.as_u16(), 422, "{body}: {}", a.body);
        assert_eq!(a.content_type, "application/problem+json");
        if !field.is_empty() {
            assert_eq!(a.fields(), [field], "{body}");
        }
    }
    let hook = create_webhook(&app, &agency, url, &["*"]).await;
    let id = s(&hook, "id");
    let a = app
        .patch(
            &agency.key,
            &format!("/v1/webhooks/{id}"),
            &json!({"status": "disabled"}),
        )
        .await;
    assert_eq!(a.status.as_u16(), 422);
    assert_eq!(a.fields(), ["status"]);
    let a = app
        .get(
            &agency.key,
            &format!("/v1/webhooks/{id}/deliveries?status=lost"),
        )
        .await;
    assert_eq!(a.status.as_u16(), 422);
    assert_eq!(a.fields(), ["status"]);
}

#[tokio::test]
async fn a_check_in_is_delivered_in_its_orders_lane() {
    let app = spawn_app().await;
    let agency = app.create_agency().await;
    let workers = promoters(&app, &agency, 1).await;
    let mut rx = Receiver::start(|_| 200).await;
    let hook = create_webhook(&app, &agency, &rx.url, &["checked_in"]).await;
    let order = app
        .post_order(&agency, &order_json("check-in", 1, "assign", 1))
        .await;
    let assignment = s(&order["assignments"][0], "id");
    app.advance_to("2026-11-28T00:30:00Z").await;
    app.check_in(&s(&workers[0], "app_token"), &assignment, VENUE)
        .await
        .expect(200);
    let got = rx.next().await;
    assert_eq!(got.kind(), "checked_in");
    let d = delivery_after(&app, &agency, &s(&hook, "id"), got.seq(), 1).await;
    assert_eq!(d["order"], order["id"], "{d}");
}
