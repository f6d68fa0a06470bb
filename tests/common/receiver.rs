//! A webhook receiver for tests: an axum server on `127.0.0.1:0` that records every request it gets and
//! answers with the status a test chooses per request (so it can fail the first deliveries, or those of one
//! order), and an independent check of the signature as the README tells receivers to make it.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    /// `Crewcall-Event-Id`.
    pub event_id: String,
    /// `Crewcall-Delivery-Attempt`.
    pub attempt: u32,
    /// `Crewcall-Signature`.
    pub signature: String,
    /// The raw body.
    pub body: Vec<u8>,
    /// The body as JSON.
    pub json: Value,
    /// What the receiver answered.
    pub answered: u16,
}

impl Got {
    /// The event's position in the log.
    pub fn seq(&self) -> i64 {
        self.json["seq"].as_i64().expect("a seq")
    }

    /// The event's kind.
    pub fn kind(&self) -> String {
        self.json["kind"].as_str().expect("a kind").to_string()
    }

    /// The order the event concerns, or `""`.
    pub fn order(&self) -> String {
        self.json["data"]["order"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

type Answer = Box<dyn Fn(&Value) -> u16 + Send + Sync>;

#[derive(Clone)]
struct Shared {
    answer: Arc<Mutex<Answer>>,
    /// How long each answer takes.
    delay: Duration,
    tx: tokio::sync::mpsc::UnboundedSender<Got>,
}

/// A running receiver.
pub struct Receiver {
    /// Where it listens (`http://127.0.0.1:port/hook`).
    pub url: String,
    rx: tokio::sync::mpsc::UnboundedReceiver<Got>,
    answer: Arc<Mutex<Answer>>,
}

async fn handle(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answered = (s.answer.lock().expect("the answer"))(&json);
    tokio::time::sleep(s.delay).await;
    let _ = s.tx.send(Got {
        event_id: header("crewcall-event-id"),
        attempt: header("crewcall-delivery-attempt").parse().unwrap_or(0),
        signature: header("crewcall-signature"),
        body: body.to_vec(),
        json,
        answered,
    });
    StatusCode::from_u16(answered).expect("a status")
}

impl Receiver {
    /// Starts a receiver that answers each request with `answer(body)`.
    pub async fn start(answer: impl Fn(&Value) -> u16 + Send + Sync + 'static) -> Receiver {
        Self::slow(Duration::ZERO, answer).await
    }

    /// A receiver that takes `delay` to answer each request (recording it when it arrives).
    pub async fn slow(
        delay: Duration,
        answer: impl Fn(&Value) -> u16 + Send + Sync + 'static,
    ) -> Receiver {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let answer: Arc<Mutex<Answer>> = Arc::new(Mutex::new(Box::new(answer)));
        let shared = Shared {
            answer: answer.clone(),
            delay,
            tx,
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(handle))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("an address"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, rx, answer }
    }

    /// Answers from now on with `answer(body)`.
    pub fn answer_with(&self, answer: impl Fn(&Value) -> u16 + Send + Sync + 'static) {
        *self.answer.lock().expect("the answer") = Box::new(answer);
    }

    /// The next request, waiting at most `within`; panics when none comes.
    pub async fn next_within(&mut self, within: Duration) -> Got {
        match tokio::time::timeout(within, self.rx.recv()).await {
            Ok(Some(g)) => g,
            _ => panic!("the receiver got no request within {within:?}"),
        }
    }

    /// The next request (within 20 s).
    pub async fn next(&mut self) -> Got {
        self.next_within(Duration::from_secs(20)).await
    }

    /// Whatever arrives within `wait`.
    pub async fn drain(&mut self, wait: Duration) -> Vec<Got> {
        let mut out = Vec::new();
        let until = tokio::time::Instant::now() + wait;
        while let Ok(Some(g)) = tokio::time::timeout_at(until, self.rx.recv()).await {
            out.push(g);
        }
        out
    }

    /// Requests until `done(all so far)` holds, within `within`; panics otherwise, showing what came.
    pub async fn until(&mut self, within: Duration, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let until = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        while !done(&out) {
            match tokio::time::timeout_at(until, self.rx.recv()).await {
                Ok(Some(g)) => out.push(g),
                _ => panic!(
                    "the receiver did not get what was expected within {within:?}; it got: {:?}",
                    out.iter()
                        .map(|g| (g.seq(), g.kind(), g.attempt))
                        .collect::<Vec<_>>()
                ),
            }
        }
        out
    }
}

/// Whether `header` (`t=<unix>,v1=<hex>`) is the HMAC-SHA256 under `secret` of `"<t>.<body>"`: the check the
/// README's recipe makes, written here independently of the server's code.
pub fn signed(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        if let Some(v) = part.strip_prefix("t=") {
            t = Some(v.to_string());
        } else if let Some(v) = part.strip_prefix("v1=") {
            sigs.push(v.to_string());
        }
    }
    let Some(t) = t else { return false };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("a key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    let want = hex::encode(mac.finalize().into_bytes());
    sigs.contains(&want)
}

/// Whether, for every order, the events of that order first arrived in log order (later arrivals of an event
/// already received are retries, which at-least-once delivery allows).
pub fn in_order_per_order(got: &[Got]) -> Result<(), String> {
    let mut last: std::collections::HashMap<String, i64> = Default::default();
    let mut seen = std::collections::HashSet::new();
    for g in got {
        if !seen.insert(g.seq()) {
            continue;
        }
        let lane = g.order();
        if let Some(prev) = last.get(&lane)
            && *prev > g.seq()
        {
            return Err(format!(
                "event {} of order {lane:?} arrived after event {prev}",
                g.seq()
            ));
        }
        last.insert(lane, g.seq());
    }
    Ok(())
}
