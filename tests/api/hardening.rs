//! What a hostile client, a flaky network and a bad day bring: partial imports, NUL bytes, misspelt nested keys,
//! floods, slow clients, lost updates, unbounded lists. Each test runs on SQLite and, in CI, on PostgreSQL.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::mutate::mutate;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crewcall::http::limits::{Limits, Rates};

use crate::helpers::*;

fn no_rates() -> Limits {
    Limits {
        rates: Rates::off(),
        ..Limits::default()
    }
}

fn import_lines(n: usize) -> String {
    (0..n)
        .map(|i| near_worker(&format!("I-{i}"), i % 50, &["promoter"]).to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

async fn worker_count(app: &TestApp, a: &Agency) -> usize {
    let mut n = 0;
    let mut path = "/v1/workers?limit=500".to_string();
    loop {
        let page = app.get(&a.key, &path).await.expect(200);
        n += page["items"].as_array().expect("items").len();
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/workers?limit=500&cursor={c}"),
            None => return n,
        }
    }
}

#[tokio::test]
async fn an_import_that_runs_out_of_time_writes_nothing_and_says_when_to_retry() {
    let app = spawn_app_with(Limits {
        import: Duration::from_millis(250),
        ..no_rates()
    })
    .await;
    let a = app.create_agency().await;
    let body = import_lines(6000);
    for attempt in 0..2 {
        // The second attempt reuses the key: a request that failed kept no key, so it runs again (never a
        // 409 "still being processed").
        let resp = app
            .request(Method::POST, "/v1/workers/import", &a.key)
            .header("content-type", "application/x-ndjson")
            .header("idempotency-key", "import-1")
            .body(body.clone())
            .send()
            .await
            .expect("an answer");
        let status = resp.status().as_u16();
        if status != 503 {
            panic!(
                "attempt {attempt}: {status} {}",
                resp.text().await.unwrap_or_default()
            );
        }
        let retry: u64 = resp.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(retry >= 1);
        let p: Value = resp.json().await.unwrap();
        assert_eq!(p["type"], "/problems/timeout");
        assert_eq!(
            worker_count(&app, &a).await,
            0,
            "attempt {attempt} kept workers"
        );
    }
}

#[tokio::test]
async fn an_import_is_one_transaction_that_reports_bad_lines_and_keeps_good_ones() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut lines: Vec<String> = (0..300)
        .map(|i| near_worker(&format!("G-{i}"), i % 20, &["promoter"]).to_string())
        .collect();
    lines[7] = "{not json".into();
    lines[120] = json!({"external_ref": "X"}).to_string();
    let r = app.import(&a, &lines.join("\n")).await.expect(200);
    assert_eq!(r["created"], 298);
    let lines_reported: Vec<u64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines_reported, [8, 121]);
    assert_eq!(worker_count(&app, &a).await, 298);
}

#[tokio::test]
async fn a_nul_byte_in_any_text_is_refused_with_its_field_and_stores_nothing() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut w = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    w["external_ref"] = json!("W-\u{0}1");
    let r = app.upsert_worker(&a, &w).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.fields(), ["external_ref"]);
    let mut w = worker_json("W-1", 31.23, 121.47, &["promoter"]);
    w["skills"][0]["name"] = json!("pro\u{0}moter");
    let r = app.upsert_worker(&a, &w).await;
    assert_eq!(r.fields(), ["skills[0].name"], "{}", r.body);
    let mut o = order_json("client\u{0}", 1, "offer", 1);
    let r = app.try_post_order(&a, &o).await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.fields(), ["client_ref"]);
    o["client_ref"] = json!("c");
    o["roles"][0]["name"] = json!("pro\u{0}");
    assert_eq!(app.try_post_order(&a, &o).await.fields(), ["roles[0].name"]);
    let r = app
        .admin_post("/v1/agencies", &json!({"name": "Expo\u{0}"}))
        .await;
    assert_eq!(r.status.as_u16(), 422);
    assert_eq!(r.fields(), ["name"]);
    // An import line with a NUL is one bad line.
    let mut line = near_worker("N-1", 1, &["promoter"]);
    line["bio"] = json!("a\u{0}b");
    let r = app
        .import(
            &a,
            &format!("{}\n{}", line, near_worker("N-2", 2, &["promoter"])),
        )
        .await
        .expect(200);
    assert_eq!(r["created"], 1);
    assert_eq!(r["errors"][0]["line"], 1);
    assert!(
        r["errors"][0]["message"].as_str().unwrap().contains("bio"),
        "{r}"
    );
    // A patch too.
    let id = s(
        &app.post_worker(&a, &near_worker("P-1", 1, &["promoter"]))
            .await,
        "id",
    );
    let r = app
        .patch(
            &a.key,
            &format!("/v1/workers/{id}"),
            &json!({"name": "\u{0}"}),
        )
        .await;
    assert_eq!(r.fields(), ["name"], "{}", r.body);
    assert_eq!(worker_count(&app, &a).await, 2);
    let list = app.get(&a.key, "/v1/orders").await.expect(200);
    assert!(list["items"].as_array().unwrap().is_empty());
    // The escaped text `\\u0000` (a backslash, then `u0000`) is ordinary text.
    let mut ok = near_worker("B-1", 3, &["promoter"]);
    ok["bio"] = json!("\\u0000 is how JSON spells NUL");
    app.post_worker(&a, &ok).await;
}

#[tokio::test]
async fn a_misspelt_key_inside_a_role_skill_or_a_quota_skill_is_refused() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let mut o = order_json("c", 2, "offer", 1);
    o["roles"][0]["skills"] = json!([{"name": "promoter", "levle": 5}]);
    let r = app.try_post_order(&a, &o).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(
        r.fields()[0].starts_with("roles[0].skills[0]"),
        "{}",
        r.body
    );
    assert!(
        r.body["detail"].as_str().unwrap().contains("levle"),
        "{}",
        r.body
    );
    let mut o = order_json("c", 2, "offer", 1);
    o["roles"][0]["quotas"] =
        json!([{"at_least": 1, "skills": [{"name": "promoter", "level": 2, "x": 1}]}]);
    let r = app.try_post_order(&a, &o).await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert!(
        r.fields()[0].starts_with("roles[0].quotas[0].skills[0]"),
        "{}",
        r.body
    );
    // Spelt right, the level is kept.
    let mut o = order_json("c", 2, "offer", 1);
    o["roles"][0]["skills"] = json!([{"name": "promoter", "level": 4}]);
    let posted = app.post_order(&a, &o).await;
    assert_eq!(posted["roles"][0]["skills"][0]["level"], 4, "{posted}");
    assert_eq!(
        app.get(&a.key, "/v1/orders").await.expect(200)["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn status_counts(answers: &[u16]) -> (usize, usize) {
    let limited = answers.iter().filter(|s| **s == 429).count();
    (answers.len() - limited, limited)
}

#[tokio::test]
async fn a_thousand_accepts_from_one_worker_token_are_limited_and_other_clients_are_served() {
    let app = spawn_app_with(Limits::default()).await;
    let a = app.create_agency().await;
    let noisy = s(
        &app.post_worker(&a, &near_worker("P-0", 0, &["promoter"]))
            .await,
        "app_token",
    );
    let quiet = s(
        &app.post_worker(&a, &near_worker("P-1", 1, &["promoter"]))
            .await,
        "app_token",
    );
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..1000 {
        let resp = app
            .request(Method::POST, "/v1/offers/ofr_999999/accept", &noisy)
            .send()
            .await
            .unwrap();
        if resp.status().as_u16() == 429 && retry_after.is_none() {
            retry_after = Some(resp.headers()["retry-after"].to_str().unwrap().to_string());
            let p: Value = resp.json().await.unwrap();
            assert_eq!(p["type"], "/problems/rate-limited");
            statuses.push(429);
        } else {
            statuses.push(resp.status().as_u16());
        }
    }
    let (served, limited) = status_counts(&statuses);
    assert!(limited >= 900, "served {served}, limited {limited}");
    assert!(retry_after.unwrap().parse::<u64>().unwrap() >= 1);
    // Everyone else is served as usual.
    app.get(&quiet, "/v1/me").await.expect(200);
    app.get(&a.key, "/v1/workers").await.expect(200);
}

#[tokio::test]
async fn guessing_tokens_from_one_address_is_answered_429_and_valid_tokens_still_work() {
    let app = spawn_app_with(Limits::default()).await;
    let a = app.create_agency().await;
    let mut statuses = Vec::new();
    for i in 0..1000 {
        let r = app.get(&format!("cc_agency_guess{i}"), "/v1/workers").await;
        statuses.push(r.status.as_u16());
    }
    assert!(
        statuses[..20].iter().all(|s| *s == 401),
        "{:?}",
        &statuses[..20]
    );
    let (_, limited) = status_counts(&statuses);
    assert!(limited >= 950, "only {limited} of 1000 guesses limited");
    app.get(&a.key, "/v1/workers").await.expect(200);
}

/// Reads what the server sends until it closes the connection or `within` passes.
async fn read_all(tcp: &mut TcpStream, within: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(within, tcp.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

#[tokio::test]
async fn a_trickled_body_gets_408() {
    let app = spawn_app_with(Limits {
        body: Duration::from_millis(500),
        ..no_rates()
    })
    .await;
    let a = app.create_agency().await;
    let mut tcp = TcpStream::connect(addr(&app)).await.unwrap();
    let head = format!(
        "POST /v1/workers HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"external_ref\":",
        a.key
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let answer = read_all(&mut tcp, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("/problems/body-timeout"), "{answer}");
    assert_eq!(worker_count(&app, &a).await, 0);
}

#[tokio::test]
async fn trickled_headers_get_408_and_the_connection_is_closed() {
    let app = spawn_app_with(Limits {
        header: Duration::from_millis(500),
        ..no_rates()
    })
    .await;
    let mut tcp = TcpStream::connect(addr(&app)).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let answer = read_all(&mut tcp, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("/problems/timeout"), "{answer}");
    // Closed: read_to_end returned before its own 5 s limit.
    assert!(started.elapsed() < Duration::from_secs(4));
    // An idle connection is closed too, without an answer.
    let mut idle = TcpStream::connect(addr(&app)).await.unwrap();
    assert_eq!(read_all(&mut idle, Duration::from_secs(5)).await, "");
}

#[tokio::test]
async fn connections_over_the_limit_are_answered_503_and_closed() {
    let app = spawn_app_with(Limits {
        max_connections: 4,
        ..no_rates()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr(&app)).await.unwrap());
    }
    // Give the server a moment to accept the four.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(addr(&app)).await.unwrap();
    extra
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_all(&mut extra, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after: 1"),
        "{answer}"
    );
    // One held connection goes away: its place is free again.
    drop(held.pop());
    let mut served = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let r = reqwest::Client::new()
            .get(format!("{}/healthz", app.base))
            .send()
            .await;
        if matches!(r, Ok(r) if r.status().as_u16() == 200) {
            served = true;
            break;
        }
    }
    assert!(served, "a freed connection slot was never reused");
}

async fn patch_with(
    app: &TestApp,
    key: &str,
    path: &str,
    if_match: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut rb = app.request(Method::PATCH, path, key).json(body);
    if let Some(tag) = if_match {
        rb = rb.header("if-match", tag);
    }
    rb.send().await.unwrap()
}

fn etag(r: &reqwest::Response) -> String {
    r.headers()["etag"].to_str().unwrap().to_string()
}

#[tokio::test]
async fn two_agents_patching_one_order_with_if_match_cannot_both_win() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let order = app.post_order(&a, &order_json("c", 3, "offer", 1)).await;
    let path = format!("/v1/orders/{}", s(&order, "id"));
    let read = app
        .request(Method::GET, &path, &a.key)
        .send()
        .await
        .unwrap();
    let tag = etag(&read);
    let body: Value = read.json().await.unwrap();
    assert_eq!(tag, format!("\"{}\"", body["version"]));
    // Both agents read the same version; the first patch wins, the second is told its copy is stale.
    let first = patch_with(
        &app,
        &a.key,
        &path,
        Some(&tag),
        &json!({"roles": [{"name": "promoter", "headcount": 5}]}),
    )
    .await;
    assert_eq!(first.status().as_u16(), 200);
    let new_tag = etag(&first);
    assert_ne!(new_tag, tag);
    let second = patch_with(
        &app,
        &a.key,
        &path,
        Some(&tag),
        &json!({"roles": [{"name": "promoter", "headcount": 8}]}),
    )
    .await;
    assert_eq!(second.status().as_u16(), 412);
    let p: Value = second.json().await.unwrap();
    assert_eq!(p["type"], "/problems/precondition-failed");
    let now = app.order(&a, &s(&order, "id")).await;
    assert_eq!(now["roles"][0]["headcount"], 5);
    // With the fresh tag the second agent succeeds; without If-Match the last write wins, as before.
    let again = patch_with(
        &app,
        &a.key,
        &path,
        Some(&new_tag),
        &json!({"roles": [{"name": "promoter", "headcount": 8}]}),
    )
    .await;
    assert_eq!(again.status().as_u16(), 200);
    let plain = patch_with(
        &app,
        &a.key,
        &path,
        None,
        &json!({"roles": [{"name": "promoter", "headcount": 2}]}),
    )
    .await;
    assert_eq!(plain.status().as_u16(), 200);
    let bad = patch_with(
        &app,
        &a.key,
        &path,
        Some("W/\"1\""),
        &json!({"roles": [{"name": "promoter", "headcount": 9}]}),
    )
    .await;
    assert_eq!(bad.status().as_u16(), 422);
    assert_eq!(
        app.order(&a, &s(&order, "id")).await["roles"][0]["headcount"],
        2
    );
}

#[tokio::test]
async fn a_stale_if_match_on_a_worker_patch_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let created = app
        .request(Method::POST, "/v1/workers", &a.key)
        .json(&near_worker("W-1", 1, &["promoter"]))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let tag = etag(&created);
    let w: Value = created.json().await.unwrap();
    let path = format!("/v1/workers/{}", s(&w, "id"));
    let first = patch_with(&app, &a.key, &path, Some(&tag), &json!({"name": "First"})).await;
    assert_eq!(first.status().as_u16(), 200);
    let second = patch_with(&app, &a.key, &path, Some(&tag), &json!({"name": "Second"})).await;
    assert_eq!(second.status().as_u16(), 412);
    let now = app.get(&a.key, &path).await.expect(200);
    assert_eq!(now["name"], "First");
    assert_eq!(
        patch_with(&app, &a.key, &path, Some("*"), &json!({"name": "Any"}))
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn every_list_of_a_worker_or_a_role_has_a_cap() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let many = |item: Value, n: usize| Value::Array(vec![item; n]);
    let cases = [
        ("languages", many(json!("en"), 10_000)),
        ("certifications", many(json!("food_safety"), 10_000)),
        (
            "availability",
            many(
                json!({"days": ["sat"], "from": "08:00", "to": "22:00"}),
                10_000,
            ),
        ),
        (
            "blackouts",
            many(
                json!({"start": "2026-12-24T00:00:00+08:00", "end": "2026-12-26T00:00:00+08:00"}),
                10_000,
            ),
        ),
        ("skills", many(json!({"name": "promoter"}), 1_000)),
    ];
    for (field, list) in cases {
        let mut w = near_worker("W-1", 1, &["promoter"]);
        w[field] = list;
        let r = app.upsert_worker(&a, &w).await;
        assert_eq!(r.status.as_u16(), 422, "{field}: {}", r.body);
        assert_eq!(r.fields(), [field]);
    }
    let mut w = near_worker("W-1", 1, &["promoter"]);
    w["availability"] = json!([{"days": vec!["sat"; 100], "from": "08:00", "to": "22:00"}]);
    assert_eq!(
        app.upsert_worker(&a, &w).await.fields(),
        ["availability[0].days"]
    );
    assert_eq!(worker_count(&app, &a).await, 0);
    for field in ["skills", "languages", "certifications", "preferred_skills"] {
        let mut o = order_json("c", 1, "offer", 1);
        o["roles"][0][field] = many(json!("promoter"), 1_000);
        let r = app.try_post_order(&a, &o).await;
        assert_eq!(r.status.as_u16(), 422, "{field}: {}", r.body);
        assert_eq!(r.fields(), [format!("roles[0].{field}")]);
    }
    let mut o = order_json("c", 1, "offer", 1);
    o["roles"] = many(o["roles"][0].clone(), 51);
    assert_eq!(app.try_post_order(&a, &o).await.fields(), ["roles"]);
}

#[tokio::test]
async fn a_headcount_patch_naming_a_role_twice_is_refused() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let order = app.post_order(&a, &order_json("c", 3, "offer", 1)).await;
    let path = format!("/v1/orders/{}", s(&order, "id"));
    let r = app
        .patch(
            &a.key,
            &path,
            &json!({"roles": [{"name": "promoter", "headcount": 5}, {"name": "promoter", "headcount": 1}]}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.body);
    assert_eq!(r.fields(), ["roles[1].name"]);
    assert_eq!(
        app.order(&a, &s(&order, "id")).await["roles"][0]["headcount"],
        3
    );
}

#[tokio::test]
async fn mutated_bodies_and_queries_never_get_a_server_error() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = app
        .post_worker(&a, &near_worker("W-0", 0, &["promoter"]))
        .await;
    let order = app.post_order(&a, &order_json("c", 2, "offer", 1)).await;
    let oid = s(&order, "id");
    let wid = s(&w, "id");
    let mut rng = StdRng::seed_from_u64(14);
    let worker_doc = near_worker("W-9", 3, &["promoter"]).to_string();
    let order_doc = order_json("c", 2, "offer", 1).to_string();
    let cases: Vec<(Method, String, String)> = vec![
        (Method::POST, "/v1/workers".into(), worker_doc.clone()),
        (
            Method::POST,
            "/v1/workers/import".into(),
            format!("{worker_doc}\n{worker_doc}"),
        ),
        (
            Method::PATCH,
            format!("/v1/workers/{wid}"),
            r#"{"name": "x", "skills": [{"name": "a", "level": 2}]}"#.into(),
        ),
        (Method::POST, "/v1/orders".into(), order_doc),
        (
            Method::PATCH,
            format!("/v1/orders/{oid}"),
            r#"{"roles": [{"name": "promoter", "headcount": 3}]}"#.into(),
        ),
        (
            Method::POST,
            "/v1/agencies".into(),
            r#"{"name": "An agency"}"#.into(),
        ),
    ];
    let queries = [
        "/v1/workers?q=promoter&skill=promoter&near=31.2,121.5&radius_km=10&limit=5",
        "/v1/orders?status=open&from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&limit=5",
        "/v1/reviews?status=open&limit=5",
    ];
    let mut sent = 0;
    for round in 0..60 {
        for (method, path, doc) in &cases {
            let body = mutate(doc, &mut rng);
            let token = if path == "/v1/agencies" {
                ADMIN_TOKEN
            } else {
                &a.key
            };
            let ct = if path.ends_with("/import") {
                "application/x-ndjson"
            } else {
                "application/json"
            };
            let resp = app
                .request(method.clone(), path, token)
                .header("content-type", ct)
                .body(body.clone())
                .send()
                .await
                .expect("an answer");
            assert!(
                resp.status().as_u16() < 500,
                "round {round}: {method} {path} with {body:?} answered {}",
                resp.status()
            );
            sent += 1;
        }
        for q in queries {
            let mutated = mutate(q, &mut rng).replace(['#', ' '], "%20");
            let oid_path = format!(
                "/v1/orders/{oid}/candidates?role=promo%00ter&limit={}",
                rng.random_range(-5..1000)
            );
            for path in [
                mutated.as_str(),
                oid_path.as_str(),
                &format!("{mutated}&cursor={}", mutate("MTIz", &mut rng)),
            ] {
                let Ok(url) = reqwest::Url::parse(&format!("{}{}", app.base, path)) else {
                    continue;
                };
                let resp = app
                    .client
                    .get(url)
                    .bearer_auth(&a.key)
                    .send()
                    .await
                    .expect("an answer");
                assert!(
                    resp.status().as_u16() < 500,
                    "{path} answered {}",
                    resp.status()
                );
                sent += 1;
            }
        }
    }
    assert!(sent > 500);
}
