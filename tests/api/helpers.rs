//! The test harness: spawns the server on `127.0.0.1:0` over a fresh database with a manual clock, and
//! offers small typed helpers over reqwest.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use crewcall::app::{Application, ClockKind, Config};
use crewcall::http::limits::{Limits, Rates};
pub use crewcall::webhooks::Settings as WebhookSettings;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;

/// The admin token every test server knows.
pub const ADMIN_TOKEN: &str = "test-admin-token";
/// Where the manual clock starts.
pub const START: &str = "2026-11-23T08:00:00Z";
/// The venue most tests use (Hall 3, Shanghai).
pub const VENUE: (f64, f64) = (31.1912, 121.5804);

/// A running server over its own database.
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The database the server runs on.
    pub database_url: String,
    /// Keeps the SQLite file alive for the test's life.
    _dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database made for the test: `(server URL, database name)`, dropped with the app.
    postgres: Option<(String, String)>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let Some((base, name)) = self.postgres.take() else {
            return;
        };
        // A runtime of its own on a thread of its own: Drop cannot await on the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async move {
                if let Ok(mut conn) = sqlx::postgres::PgConnection::connect(&base).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// An agency and its API key.
#[derive(Debug, Clone)]
pub struct Agency {
    /// The agency's id.
    pub id: String,
    /// Its API key.
    pub key: String,
}

/// An HTTP answer: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The `Content-Type` header.
    pub content_type: String,
    /// The body as JSON.
    pub body: Value,
}

impl Answer {
    /// Panics unless the status is `want`, showing the body.
    #[track_caller]
    pub fn expect(self, want: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            want,
            "unexpected status; body: {}",
            self.body
        );
        self.body
    }

    /// The field paths of a 422 problem document.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|es| {
                es.iter()
                    .map(|e| e["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos % 1_000_000_000
    )
}

/// A fresh PostgreSQL database next to the one `base` names; its URL and name.
async fn fresh_postgres(base: &str) -> (String, String) {
    let name = format!("crewcall_test_{}", unique());
    let mut conn = sqlx::postgres::PgConnection::connect(base)
        .await
        .expect("connect to CREWCALL_TEST_POSTGRES");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    let (without_query, query) = match base.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (base, None),
    };
    let root = match without_query.rfind('/') {
        Some(i) if i > "postgres://".len() => &without_query[..i],
        _ => without_query,
    };
    let url = match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    };
    (url, name)
}

/// Starts a server over a fresh database with the manual clock at [`START`], its default deadlines and no rate
/// limits (the tests of other things send requests faster than any one client should).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Limits {
        rates: Rates::off(),
        ..Limits::default()
    })
    .await
}

/// [`spawn_app`] with these HTTP limits.
pub async fn spawn_app_with(limits: Limits) -> TestApp {
    // The tests' webhook receivers listen on loopback.
    let webhooks = WebhookSettings {
        allow_private: true,
        ..WebhookSettings::default()
    };
    spawn_app_configured(limits, webhooks, std::future::pending(), None)
        .await
        .0
}

/// [`spawn_app`] with `CREWCALL_REOFFER_AFTER_MIN` set to `minutes`.
pub async fn spawn_app_reoffering_after(minutes: u32) -> TestApp {
    let webhooks = WebhookSettings {
        allow_private: true,
        ..WebhookSettings::default()
    };
    let limits = Limits {
        rates: Rates::off(),
        ..Limits::default()
    };
    spawn_app_configured(limits, webhooks, std::future::pending(), Some(minutes))
        .await
        .0
}

/// [`spawn_app`] with these webhook settings.
pub async fn spawn_app_with_webhooks(settings: WebhookSettings) -> TestApp {
    spawn_app_configured(
        Limits {
            rates: Rates::off(),
            ..Limits::default()
        },
        settings,
        std::future::pending(),
        None,
    )
    .await
    .0
}

/// [`spawn_app_with`], serving until `shutdown` resolves; the handle ends when the server has shut down.
pub async fn spawn_app_until(
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (TestApp, tokio::task::JoinHandle<std::io::Result<()>>) {
    let webhooks = WebhookSettings {
        allow_private: true,
        ..WebhookSettings::default()
    };
    spawn_app_configured(limits, webhooks, shutdown, None).await
}

async fn spawn_app_configured(
    limits: Limits,
    webhooks: WebhookSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    reoffer_after_min: Option<u32>,
) -> (TestApp, tokio::task::JoinHandle<std::io::Result<()>>) {
    let (database_url, dir, postgres) = match std::env::var("CREWCALL_TEST_POSTGRES") {
        Ok(base) if !base.is_empty() => {
            let (url, name) = fresh_postgres(&base).await;
            (url, None, Some((base, name)))
        }
        _ => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let url = format!("sqlite://{}", dir.path().join("crewcall.db").display());
            (url, Some(dir), None)
        }
    };
    let start: DateTime<Utc> = START.parse().expect("a valid start");
    let app = Application::build(Config {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        admin_token: Some(ADMIN_TOKEN.into()),
        clock: ClockKind::Manual,
        start: Some(start),
        rest_gap: None,
        no_show_policy: Default::default(),
        reoffer_after_min,
        log_poll: std::time::Duration::from_secs(2),
        http: limits,
        photos: crewcall::engine::PhotoConfig {
            storage: crewcall::store::photos::PhotoStorage::default_for(&database_url),
            ..Default::default()
        },
        webhooks,
    })
    .await
    .expect("the server builds");
    let base = format!("http://{}", app.local_addr());
    let running = tokio::spawn(app.run(shutdown));
    (
        TestApp {
            base,
            client: reqwest::Client::new(),
            database_url,
            _dir: dir,
            postgres,
        },
        running,
    )
}

impl TestApp {
    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        self.send(rb).await
    }

    /// Sends a prepared request and reads the answer.
    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Answer {
        let resp = rb.send().await.expect("the server answers");
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let bytes = resp.bytes().await.expect("a body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            body,
        }
    }

    /// A request builder with a bearer token, for unusual requests.
    pub fn request(&self, method: Method, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
    }

    /// `GET` with a token.
    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// `POST` of JSON with a token.
    pub async fn post(&self, token: &str, path: &str, body: &Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    /// `PATCH` of JSON with a token.
    pub async fn patch(&self, token: &str, path: &str, body: &Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// `DELETE` with a token.
    pub async fn delete(&self, token: &str, path: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// `POST` as the operator.
    pub async fn admin_post(&self, path: &str, body: &Value) -> Answer {
        self.post(ADMIN_TOKEN, path, body).await
    }

    /// A new agency.
    pub async fn create_agency(&self) -> Agency {
        let b = self
            .admin_post(
                "/v1/agencies",
                &json!({"name": format!("agency {}", unique())}),
            )
            .await
            .expect(201);
        Agency {
            id: b["id"].as_str().expect("an id").into(),
            key: b["api_key"].as_str().expect("an api key").into(),
        }
    }

    /// Creates or updates a worker; the raw answer.
    pub async fn upsert_worker(&self, agency: &Agency, worker: &Value) -> Answer {
        self.post(&agency.key, "/v1/workers", worker).await
    }

    /// Creates a worker (201) and returns its view, `app_token` included.
    pub async fn post_worker(&self, agency: &Agency, worker: &Value) -> Value {
        self.upsert_worker(agency, worker).await.expect(201)
    }

    /// NDJSON import.
    pub async fn import(&self, agency: &Agency, ndjson: &str) -> Answer {
        let rb = self
            .request(Method::POST, "/v1/workers/import", &agency.key)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(ndjson.to_string());
        self.send(rb).await
    }

    /// Posts an order; the raw answer.
    pub async fn try_post_order(&self, agency: &Agency, order: &Value) -> Answer {
        self.post(&agency.key, "/v1/orders", order).await
    }

    /// Posts an order (201) and returns its view.
    pub async fn post_order(&self, agency: &Agency, order: &Value) -> Value {
        self.try_post_order(agency, order).await.expect(201)
    }

    /// The order as the agency sees it now.
    pub async fn order(&self, agency: &Agency, id: &str) -> Value {
        self.get(&agency.key, &format!("/v1/orders/{id}"))
            .await
            .expect(200)
    }

    /// Moves the manual clock (every due timer fires before the answer).
    pub async fn advance_to(&self, now: &str) {
        self.admin_post("/v1/admin/clock", &json!({ "now": now }))
            .await
            .expect(200);
    }

    /// A worker's pending offers.
    pub async fn offers(&self, token: &str) -> Vec<Value> {
        self.get(token, "/v1/me/offers").await.expect(200)["items"]
            .as_array()
            .expect("items")
            .clone()
    }

    /// A worker accepts an offer; the raw answer.
    pub async fn accept(&self, token: &str, offer: &str) -> Answer {
        self.post(token, &format!("/v1/offers/{offer}/accept"), &json!({}))
            .await
    }

    /// A worker declines an offer; the raw answer.
    pub async fn decline(&self, token: &str, offer: &str) -> Answer {
        self.post(token, &format!("/v1/offers/{offer}/decline"), &json!({}))
            .await
    }

    /// Check-in at a position.
    pub async fn check_in(&self, token: &str, assignment: &str, at: (f64, f64)) -> Answer {
        self.post(
            token,
            &format!("/v1/assignments/{assignment}/check-in"),
            &json!({"lat": at.0, "lon": at.1}),
        )
        .await
    }

    /// Check-out at a position.
    pub async fn check_out(&self, token: &str, assignment: &str, at: (f64, f64)) -> Answer {
        self.post(
            token,
            &format!("/v1/assignments/{assignment}/check-out"),
            &json!({"lat": at.0, "lon": at.1}),
        )
        .await
    }

    /// Ranked candidate worker ids of an order's role.
    pub async fn candidate_ids(&self, agency: &Agency, order: &str, role: &str) -> Vec<String> {
        let c = self
            .get(
                &agency.key,
                &format!("/v1/orders/{order}/candidates?role={role}&limit=100"),
            )
            .await
            .expect(200);
        c["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["worker_id"].as_str().expect("worker_id").to_string())
            .collect()
    }
}

/// A worker body: Shanghai timezone, always available, at `(lat, lon)`, with `skills` (level 3).
pub fn worker_json(ext_ref: &str, lat: f64, lon: f64, skills: &[&str]) -> Value {
    json!({
        "external_ref": ext_ref,
        "name": format!("Worker {ext_ref}"),
        "home": {"lat": lat, "lon": lon},
        "max_travel_km": 30,
        "skills": skills.iter().map(|s| json!({"name": s, "level": 3})).collect::<Vec<_>>(),
        "languages": ["zh", "en"],
        "timezone": "Asia/Shanghai",
        "bio": format!("{ext_ref} works events"),
    })
}

/// A worker `i` km-ish north of the venue (0.009° of latitude ≈ 1 km), so that lower `i` ranks closer.
pub fn near_worker(ext_ref: &str, i: usize, skills: &[&str]) -> Value {
    worker_json(ext_ref, VENUE.0 + 0.009 * (i as f64 + 1.0), VENUE.1, skills)
}

/// An order body at [`VENUE`] on Saturday 2026-11-28 09:00–18:00 +08:00, one `promoter` role of `headcount`,
/// in dispatch `mode` with `fanout`.
pub fn order_json(client_ref: &str, headcount: u32, mode: &str, fanout: u32) -> Value {
    json!({
        "client_ref": client_ref,
        "title": "Weekend expo crew",
        "venue": {"name": "Hall 3", "lat": VENUE.0, "lon": VENUE.1, "geofence_m": 300},
        "start": "2026-11-28T09:00:00+08:00",
        "end": "2026-11-28T18:00:00+08:00",
        "roles": [{"name": "promoter", "headcount": headcount, "skills": ["promoter"], "pay_per_hour": 30}],
        "dispatch": {"mode": mode, "offer_ttl_s": 900, "fanout": fanout},
        "no_show_grace_min": 15
    })
}

/// Posts `n` promoters near the venue (`ext_ref` `P-0`, `P-1`, …, closest first); their views.
pub async fn promoters(app: &TestApp, agency: &Agency, n: usize) -> Vec<Value> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(
            app.post_worker(agency, &near_worker(&format!("P-{i}"), i, &["promoter"]))
                .await,
        );
    }
    out
}

/// The string at `key` of a JSON object.
#[track_caller]
pub fn s(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
        .to_string()
}
