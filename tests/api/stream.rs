//! The agency's live events stream (`GET /v1/events/stream`): server-sent events in log order, the same items as
//! the feed, resumed after `Last-Event-ID`, scoped to the agency, and ended when the server shuts down.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// How long a read may wait for bytes before the test fails rather than hangs.
const PATIENCE: Duration = Duration::from_secs(20);

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    id: Option<String>,
    event: Option<String>,
    data: Value,
}

/// A stream being read.
struct Stream {
    resp: reqwest::Response,
    buf: String,
}

impl Stream {
    async fn open(app: &TestApp, key: &str, query: &str, last_event_id: Option<&str>) -> Stream {
        let mut rb = app.request(Method::GET, &format!("/v1/events/stream{query}"), key);
        if let Some(id) = last_event_id {
            rb = rb.header("Last-Event-ID", id);
        }
        let resp = rb.send().await.expect("the server answers");
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        Stream {
            resp,
            buf: String::new(),
        }
    }

    /// The next event, skipping comments; `None` when the server ended the stream cleanly.
    async fn next(&mut self) -> Option<Sse> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (None, None, Vec::new());
                for line in block.lines() {
                    match line.split_once(':') {
                        Some(("", _)) => {}
                        Some(("id", v)) => id = Some(v.trim_start().to_string()),
                        Some(("event", v)) => event = Some(v.trim_start().to_string()),
                        Some(("data", v)) => {
                            data.push(v.strip_prefix(' ').unwrap_or(v).to_string())
                        }
                        _ => {}
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some(Sse {
                    id,
                    event,
                    data: serde_json::from_str(&data.join("\n")).expect("JSON data"),
                });
            }
            let chunk = tokio::time::timeout(PATIENCE, self.resp.chunk())
                .await
                .expect("the stream sends something in time")
                .expect("the stream ends cleanly, not with an error");
            match chunk {
                Some(bytes) => self
                    .buf
                    .push_str(std::str::from_utf8(&bytes).expect("UTF-8")),
                None => return None,
            }
        }
    }

    async fn take(&mut self, n: usize) -> Vec<Sse> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next().await.expect("an event"));
        }
        out
    }
}

async fn feed(app: &TestApp, a: &Agency) -> Vec<Value> {
    app.get(&a.key, "/v1/events?limit=500").await.expect(200)["items"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test]
async fn the_stream_sends_the_agencys_events_in_log_order_as_the_feed_items_with_seq_as_id() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    promoters(&app, &a, 3).await;
    promoters(&app, &b, 2).await;
    app.post_order(&a, &order_json("c", 2, "offer", 2)).await;
    let items = feed(&app, &a).await;
    let mut stream = Stream::open(&app, &a.key, "?after=0", None).await;
    let events = stream.take(items.len()).await;
    for (e, item) in events.iter().zip(&items) {
        assert_eq!(e.data, *item);
        assert_eq!(e.id.as_deref(), Some(item["seq"].to_string().as_str()));
        assert_eq!(e.event.as_deref(), item["kind"].as_str());
    }
    // Then it waits, and wakes for what happens next.
    let last = items.last().unwrap()["seq"].as_i64().unwrap();
    app.post_worker(&a, &near_worker("LATER", 9, &["promoter"]))
        .await;
    let next = stream.next().await.expect("the new worker's event");
    assert_eq!(next.event.as_deref(), Some("worker_created"));
    assert!(next.data["seq"].as_i64().unwrap() > last);
}

#[tokio::test]
async fn a_stream_without_a_position_sends_only_what_happens_after_it_opened() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 2).await;
    let before = feed(&app, &a).await;
    let last = before.last().unwrap()["seq"].as_i64().unwrap();
    let mut stream = Stream::open(&app, &a.key, "", None).await;
    app.post_order(&a, &order_json("c", 1, "offer", 2)).await;
    let first = stream.next().await.expect("an event");
    assert_eq!(first.event.as_deref(), Some("order_posted"));
    assert!(first.data["seq"].as_i64().unwrap() > last);
}

#[tokio::test]
async fn a_reconnecting_stream_resumes_after_its_last_event_id() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    promoters(&app, &a, 3).await;
    app.post_order(&a, &order_json("c", 2, "offer", 2)).await;
    let items = feed(&app, &a).await;
    assert!(items.len() >= 4);
    let seen = items[1]["seq"].to_string();
    // Last-Event-ID is where the client really is; it wins over the `after` of the URL it reconnects to.
    let mut stream = Stream::open(&app, &a.key, "?after=0", Some(&seen)).await;
    let rest = stream.take(items.len() - 2).await;
    let ids: Vec<Value> = rest.iter().map(|e| e.data["seq"].clone()).collect();
    let want: Vec<Value> = items[2..].iter().map(|i| i["seq"].clone()).collect();
    assert_eq!(ids, want);
}

#[tokio::test]
async fn another_agencys_events_never_reach_a_stream() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let b = app.create_agency().await;
    let mut stream = Stream::open(&app, &b.key, "?after=0", None).await;
    let own = stream.next().await.expect("the agency's creation");
    assert_eq!(own.event.as_deref(), Some("agency_created"));
    assert_eq!(own.data["data"]["agency"], b.id.as_str());
    promoters(&app, &a, 2).await;
    app.post_order(&a, &order_json("c", 1, "offer", 2)).await;
    app.post_worker(&b, &near_worker("B-0", 0, &["promoter"]))
        .await;
    let next = stream.next().await.expect("b's worker");
    assert_eq!(next.event.as_deref(), Some("worker_created"));
    assert_eq!(next.data["data"]["profile"]["external_ref"], "B-0");
}

#[tokio::test]
async fn the_stream_refuses_a_bad_position_a_worker_token_and_no_token() {
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let w = promoters(&app, &a, 1).await.remove(0);
    let r = app
        .send(
            app.request(Method::GET, "/v1/events/stream", &a.key)
                .header("Last-Event-ID", "yesterday"),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.fields(), ["Last-Event-ID"]);
    let r = app.get(&a.key, "/v1/events/stream?after=-1").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.fields(), ["after"]);
    app.get(&s(&w, "app_token"), "/v1/events/stream")
        .await
        .expect(403);
    app.call(Method::GET, "/v1/events/stream", None, None)
        .await
        .expect(401);
}

#[tokio::test]
async fn an_open_stream_ends_cleanly_when_the_server_shuts_down() {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (app, running) = spawn_app_until(
        crewcall::http::limits::Limits {
            rates: crewcall::http::limits::Rates::off(),
            ..Default::default()
        },
        async {
            let _ = stopped.await;
        },
    )
    .await;
    let a = app.create_agency().await;
    let mut stream = Stream::open(&app, &a.key, "?after=0", None).await;
    stream.next().await.expect("the agency's creation");
    stop.send(()).expect("the server is running");
    // Keep-alive comments would keep an unended stream going for ever: the whole wait is bounded.
    let end = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("the stream ends at shutdown");
    assert!(end.is_none(), "the stream ends without an error");
    tokio::time::timeout(PATIENCE, running)
        .await
        .expect("the server shuts down without waiting for the stream")
        .expect("the server task")
        .expect("the server shuts down cleanly");
}

#[tokio::test]
async fn texts_with_quotes_backslashes_and_any_script_read_back_from_the_log_exactly_as_posted() {
    // On PostgreSQL the last events of a commit travel as literals beside the `COMMIT`: every character that
    // means something inside one must come back as sent.
    let app = spawn_app().await;
    let a = app.create_agency().await;
    let tricky = [
        r#"O'Brien's "Hall" 3"#,
        r"C:\venues\new\t\x41 \' \\",
        "$$ $tag$ '; DROP TABLE events; -- E'x'",
        "東京ビッグサイト 🎪 Zürich\u{200b}\ttab\nline",
    ];
    let mut posted = Vec::new();
    for (i, text) in tricky.iter().enumerate() {
        let mut order = order_json(&format!("tricky-{i}"), 1, "offer", 1);
        order["title"] = json!(text);
        order["venue"]["name"] = json!(format!("{text} (venue)"));
        posted.push(app.post_order(&a, &order).await);
    }
    let w = app
        .post_worker(&a, &near_worker(r"W'\x", 0, &["promoter"]))
        .await;
    assert_eq!(w["external_ref"], r"W'\x");
    let items = feed(&app, &a).await;
    for (i, text) in tricky.iter().enumerate() {
        let item = items
            .iter()
            .find(|e| e["kind"] == "order_posted" && e["data"]["order"] == posted[i]["id"])
            .expect("the order's event");
        assert_eq!(item["data"]["body"]["title"], json!(text), "{item}");
        assert_eq!(
            item["data"]["body"]["venue"]["name"],
            json!(format!("{text} (venue)"))
        );
        // The order as stored says the same.
        let order = app.order(&a, &s(&posted[i], "id")).await;
        assert_eq!(order["title"], json!(text));
    }
    let created = items
        .iter()
        .find(|e| e["kind"] == "worker_created")
        .expect("the worker's event");
    assert!(
        created.to_string().contains(&json!(r"W'\x").to_string()),
        "{created}"
    );
}
