//! `crewcall serve` as a child process: configured only by environment variables, listening on a free
//! loopback port, ready once `GET /readyz` answers 200, killed with SIGKILL when dropped. Also a fresh
//! PostgreSQL database per test (dropped `WITH (FORCE)` at the end) and small HTTP helpers.

#![allow(dead_code)]

use std::fs::OpenOptions;
use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, Duration as Span, FixedOffset, TimeZone, Utc, Weekday};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Connection;

/// The admin token every node is started with.
pub const ADMIN_TOKEN: &str = "node-test-admin-token";
/// The venue the tests use (Hall 3, Shanghai).
pub const VENUE: (f64, f64) = (31.1912, 121.5804);
/// How long a node may take to answer `GET /readyz` 200.
const READY_WITHIN: Duration = Duration::from_secs(45);

/// The clock a node runs.
#[derive(Debug, Clone)]
pub enum Clock {
    /// The system clock; timers fire on the node's ticker.
    System,
    /// The manual clock, starting at this RFC 3339 instant.
    Manual(String),
}

/// The PostgreSQL server URL of `CREWCALL_TEST_POSTGRES`, when set.
pub fn postgres_base() -> Option<String> {
    std::env::var("CREWCALL_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// Runs a test body under a hard time limit; panics when it is exceeded (dropping the body kills its nodes).
pub async fn bounded<F: Future<Output = ()>>(limit: Duration, body: F) {
    if tokio::time::timeout(limit, body).await.is_err() {
        panic!("the test did not finish within {limit:?}");
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other test of this run or of another run uses: process id, a counter and the clock's nanos.
pub fn unique() -> String {
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

/// A fresh PostgreSQL database, dropped `WITH (FORCE)` when this value is dropped.
pub struct PgDb {
    /// The server URL it was made from (`CREWCALL_TEST_POSTGRES`).
    base: String,
    /// The database's name.
    pub name: String,
    /// Its URL.
    pub url: String,
}

impl PgDb {
    /// Makes `<prefix>_<unique>` on the server `base` names.
    pub async fn create(base: &str, prefix: &str) -> PgDb {
        let name = format!("{prefix}_{}", unique());
        let mut conn = sqlx::postgres::PgConnection::connect(base)
            .await
            .expect("connect to CREWCALL_TEST_POSTGRES");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create the test database");
        let _ = conn.close().await;
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
        PgDb {
            base: base.to_string(),
            name,
            url,
        }
    }

    /// A connection to the test database.
    pub async fn connect(&self) -> sqlx::postgres::PgConnection {
        sqlx::postgres::PgConnection::connect(&self.url)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
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

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The `idempotent-replayed` header, when sent.
    pub replayed: Option<String>,
    /// The body as sent.
    pub bytes: Vec<u8>,
    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub body: Value,
}

impl Answer {
    /// Panics unless the status is `want`, naming `what` and showing the body.
    #[track_caller]
    pub fn expect(self, want: u16, what: &str) -> Value {
        assert_eq!(
            self.status, want,
            "{what}: unexpected status; body: {}",
            self.body
        );
        self.body
    }
}

/// A client for loopback requests: no proxy, a bound on every request.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client")
}

/// Sends a request and reads the whole answer; a transport error is an `Err` naming it.
pub async fn send(rb: reqwest::RequestBuilder) -> Result<Answer, String> {
    let resp = rb.send().await.map_err(|e| format!("{e:?}"))?;
    let status = resp.status().as_u16();
    let replayed = resp
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp.bytes().await.map_err(|e| format!("{e:?}"))?.to_vec();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Answer {
        status,
        replayed,
        bytes,
        body,
    })
}

/// A server's address and a client for it: what a concurrent task takes along.
#[derive(Debug, Clone)]
pub struct Remote {
    /// A name for messages (`A`, `B`).
    pub name: String,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
}

/// A running `crewcall serve`, killed (SIGKILL) when dropped. Its HTTP helpers are those of [`Remote`].
pub struct Node {
    remote: Remote,
    child: Option<Child>,
    log: tempfile::NamedTempFile,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

impl std::ops::Deref for Node {
    type Target = Remote;

    fn deref(&self) -> &Remote {
        &self.remote
    }
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .expect("a local address")
        .port()
}

impl Node {
    /// Starts `crewcall serve` on `database_url` and waits until `GET /readyz` answers 200. A start that
    /// loses its port to another process is retried on another port.
    pub async fn start(name: &str, database_url: &str, clock: &Clock) -> Node {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut node = Node::spawn(name, database_url, clock);
            match node.wait_ready().await {
                Ok(()) => return node,
                Err(e) => {
                    let log = node.log_text();
                    node.kill();
                    if attempt < 3 && log.contains("cannot listen") {
                        continue;
                    }
                    panic!("node {name} did not become ready: {e}\n--- its log ---\n{log}");
                }
            }
        }
    }

    fn spawn(name: &str, database_url: &str, clock: &Clock) -> Node {
        let port = free_port();
        let log = tempfile::Builder::new()
            .prefix(&format!("crewcall-node-{name}-"))
            .suffix(".log")
            .tempfile()
            .expect("a log file");
        let append = || {
            OpenOptions::new()
                .append(true)
                .open(log.path())
                .expect("open the log file")
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crewcall"));
        cmd.arg("serve")
            .env("CREWCALL_LISTEN", format!("127.0.0.1:{port}"))
            .env("CREWCALL_DATABASE_URL", database_url)
            .env("CREWCALL_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            // Load and failure tests drive one client harder than the production limits allow.
            .env("CREWCALL_RATE_WORKER", "off")
            .env("CREWCALL_RATE_AGENCY", "off")
            .env("CREWCALL_RATE_ADDRESS", "off")
            .env("CREWCALL_RATE_AUTH_FAILURES", "off")
            // The tests' webhook receivers listen on loopback.
            .env("CREWCALL_WEBHOOK_ALLOW_PRIVATE", "true")
            .env_remove("CREWCALL_REST_GAP_HOURS")
            .env_remove("CREWCALL_SUSPEND_AFTER_NO_SHOWS")
            .env_remove("CREWCALL_STRIKE_WINDOW_DAYS")
            .env_remove("CREWCALL_CLEAN_SHIFTS_PER_STRIKE")
            .stdin(Stdio::null())
            .stdout(append())
            .stderr(append());
        match clock {
            Clock::System => {
                cmd.env("CREWCALL_CLOCK", "system")
                    .env_remove("CREWCALL_START");
            }
            Clock::Manual(start) => {
                cmd.env("CREWCALL_CLOCK", "manual")
                    .env("CREWCALL_START", start);
            }
        }
        let child = cmd.spawn().expect("spawn crewcall serve");
        Node {
            remote: Remote {
                name: name.to_string(),
                base: format!("http://127.0.0.1:{port}"),
                client: client(),
            },
            child: Some(child),
            log,
        }
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_WITHIN;
        let probe = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("an HTTP client");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("the process exited with {status}"));
            }
            if let Ok(r) = probe.get(format!("{}/readyz", self.base)).send().await
                && r.status().as_u16() == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no 200 from /readyz within {READY_WITHIN:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills the process with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the process wrote to stdout and stderr.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// The address and client, for a task of its own.
    pub fn remote(&self) -> Remote {
        self.remote.clone()
    }
}

impl Remote {
    /// A request with an optional bearer token and JSON body; a transport error is an `Err`.
    pub async fn try_call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let mut rb = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        send(rb).await
    }

    /// As [`Node::try_call`]; a transport error panics, naming the node.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let m = method.clone();
        match self.try_call(method, path, token, body).await {
            Ok(a) => a,
            Err(e) => panic!("node {}: {m} {path} failed: {e}", self.name),
        }
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

    /// A new agency (as the operator); its API key.
    pub async fn create_agency(&self) -> String {
        let b = self
            .post(
                ADMIN_TOKEN,
                "/v1/agencies",
                &json!({"name": format!("agency {}", unique())}),
            )
            .await
            .expect(201, &format!("POST /v1/agencies on {}", self.name));
        b["api_key"].as_str().expect("an api key").to_string()
    }

    /// Creates a worker (201); its view, `app_token` included.
    pub async fn post_worker(&self, key: &str, worker: &Value) -> Value {
        self.post(key, "/v1/workers", worker)
            .await
            .expect(201, &format!("POST /v1/workers on {}", self.name))
    }

    /// Posts an order (201); its view.
    pub async fn post_order(&self, key: &str, order: &Value) -> Value {
        self.post(key, "/v1/orders", order)
            .await
            .expect(201, &format!("POST /v1/orders on {}", self.name))
    }

    /// The order as the agency sees it now (200).
    pub async fn order(&self, key: &str, id: &str) -> Value {
        self.get(key, &format!("/v1/orders/{id}"))
            .await
            .expect(200, &format!("GET /v1/orders/{id} on {}", self.name))
    }

    /// The worker ids among the first 100 candidates of an order's role (200).
    pub async fn candidate_ids(&self, key: &str, order: &str, role: &str) -> Vec<String> {
        let c = self
            .get(
                key,
                &format!("/v1/orders/{order}/candidates?role={role}&limit=100"),
            )
            .await
            .expect(200, &format!("candidates of {order} on {}", self.name));
        c["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["worker_id"].as_str().expect("worker_id").to_string())
            .collect()
    }
}

/// The string at `key` of a JSON object.
#[track_caller]
pub fn s(v: &Value, key: &str) -> String {
    match v[key].as_str() {
        Some(x) => x.to_string(),
        None => panic!("no string `{key}` in {v}"),
    }
}

/// A worker body: always available (no windows), Shanghai timezone, at `(lat, lon)`, a promoter (level 3).
pub fn worker_json(ext_ref: &str, lat: f64, lon: f64) -> Value {
    json!({
        "external_ref": ext_ref,
        "name": format!("Worker {ext_ref}"),
        "home": {"lat": lat, "lon": lon},
        "max_travel_km": 30,
        "skills": [{"name": "promoter", "level": 3}],
        "languages": ["zh", "en"],
        "timezone": "Asia/Shanghai",
        "bio": format!("{ext_ref} works events"),
    })
}

/// A worker `i` tenths of a km north of the venue, so that lower `i` ranks closer.
pub fn near_worker(ext_ref: &str, i: usize) -> Value {
    worker_json(ext_ref, VENUE.0 + 0.0009 * (i as f64 + 1.0), VENUE.1)
}

/// An order at [`VENUE`] from `start` to `end`: one `promoter` role of `headcount`, dispatched in `mode`.
pub fn order_json(
    client_ref: &str,
    start: &str,
    end: &str,
    headcount: u32,
    mode: &str,
    fanout: u32,
    grace_min: u32,
) -> Value {
    json!({
        "client_ref": client_ref,
        "title": "Expo crew",
        "venue": {"name": "Hall 3", "lat": VENUE.0, "lon": VENUE.1, "geofence_m": 300},
        "start": start,
        "end": end,
        "roles": [{"name": "promoter", "headcount": headcount, "skills": ["promoter"], "pay_per_hour": 30}],
        "dispatch": {"mode": mode, "offer_ttl_s": 3600, "fanout": fanout},
        "no_show_grace_min": grace_min
    })
}

/// RFC 3339 with `Z`, to the second.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A shift in Shanghai time (+08:00) `days` days after today (by the system clock), from `hour` for `hours`.
pub fn shift_in_days(days: i64, hour: u32, hours: i64) -> (String, String) {
    let cst = FixedOffset::east_opt(8 * 3600).expect("+08:00");
    let day = (Utc::now().with_timezone(&cst) + Span::days(days)).date_naive();
    let start = cst
        .from_local_datetime(&day.and_hms_opt(hour, 0, 0).expect("a valid hour"))
        .single()
        .expect("a fixed offset is unambiguous");
    let end = start + Span::hours(hours);
    (start.to_rfc3339(), end.to_rfc3339())
}

/// The first Saturday at least two days ahead (system clock), 12:00–16:00 Shanghai time: a time many of the
/// bundled sample workers are available.
pub fn next_saturday_midday() -> (String, String) {
    let cst = FixedOffset::east_opt(8 * 3600).expect("+08:00");
    let today = Utc::now().with_timezone(&cst).date_naive();
    let mut days = 2;
    while (today + Span::days(days)).weekday() != Weekday::Sat {
        days += 1;
    }
    shift_in_days(days, 12, 4)
}

/// A small deterministic generator (splitmix64), so a failing run can be read again.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
