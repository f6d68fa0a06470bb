//! The agency's events as a live stream of server-sent events (`GET /v1/events/stream`): the same items as
//! `GET /v1/events`, pushed as they are committed. A stream waits on the node's position in the log
//! ([`Engine::watch_log`]) rather than polling the database, and ends when the server shuts down so that a
//! graceful shutdown is not held open by listeners that never leave.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tokio::sync::watch;

use super::AppState;
use super::auth::Agency;
use super::desk::event_view;
use super::error::ApiResult;
use super::query::Query;
use crate::domain::AgencyId;
use crate::engine::Engine;
use crate::error::FieldError;
use crate::store::events::StoredEvent;

/// Events read from the database at a time; a stream that starts far behind catches up in pages of this size.
const BATCH: i64 = 200;
/// How often an idle stream sends a comment, so that proxies and browsers do not take it for dead.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/events/stream", get(stream))
}

/// Where a stream starts.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StreamParams {
    /// Send the events after this log position (an event's `seq`, which is its SSE `id`); `0` sends the whole
    /// log first. Without it, and without `Last-Event-ID`, the stream sends only what happens from now on.
    #[param(minimum = 0)]
    after: Option<i64>,
}

#[utoipa::path(get, path = "/v1/events/stream", tag = "events",
    params(StreamParams,
        ("Last-Event-ID" = Option<String>, Header,
         description = "The `id` of the last event received; a reconnecting client resumes after it (it takes precedence over `after`)")),
    responses((status = 200, content_type = "text/event-stream", body = String,
               description = "Server-sent events of the agency in log order, without end: each has `id:` its seq, `event:` its kind and `data:` the JSON of an item of GET /v1/events; comment lines keep an idle stream alive. The stream ends when the server shuts down; reconnect with Last-Event-ID."),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn stream(
    State(state): State<AppState>,
    Agency(agency): Agency,
    headers: HeaderMap,
    Query(p): Query<StreamParams>,
) -> ApiResult<Response> {
    let mut errors = Vec::new();
    let last_event_id = match headers.get("last-event-id") {
        None => None,
        Some(v) => {
            let seq = v
                .to_str()
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| *n >= 0);
            if seq.is_none() {
                errors.push(FieldError::new(
                    "Last-Event-ID",
                    "must be the id of an event of this stream",
                ));
            }
            seq
        }
    };
    if p.after.is_some_and(|a| a < 0) {
        errors.push(FieldError::new("after", "must be 0 or more"));
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    // Subscribing before the head is read means an event committed in between still wakes the stream.
    let log = state.engine.watch_log();
    let cursor = last_event_id
        .or(p.after)
        .unwrap_or_else(|| state.engine.applied_seq());
    let feed = Feed {
        engine: state.engine.clone(),
        agency,
        cursor,
        pending: VecDeque::new(),
        log,
        closing: state.closing.subscribe(),
    };
    let events = futures_util::stream::unfold(feed, |mut feed| async move {
        let e = feed.next().await?;
        let id = e.seq.to_string();
        let kind = e.kind.clone();
        let item = Event::default().id(id).event(kind).json_data(event_view(e));
        Some((item, feed))
    });
    let mut resp = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Buffering proxies (nginx) would otherwise hold events back until a buffer fills.
    resp.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// One listener's place in the log.
struct Feed {
    engine: Arc<Engine>,
    agency: AgencyId,
    /// The seq of the last event read.
    cursor: i64,
    /// Events read and not yet sent.
    pending: VecDeque<StoredEvent>,
    /// Moves when this node has applied more of the log.
    log: watch::Receiver<i64>,
    /// Turns true when the server begins to shut down.
    closing: watch::Receiver<bool>,
}

impl Feed {
    /// The next event of the agency, waiting for one as long as it takes; `None` ends the stream (the server is
    /// shutting down, or the log cannot be read: the client reconnects with `Last-Event-ID`).
    async fn next(&mut self) -> Option<StoredEvent> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some(e);
            }
            if *self.closing.borrow() {
                return None;
            }
            // Marked seen before reading, so a commit after the read wakes the wait below.
            self.log.borrow_and_update();
            match self
                .engine
                .agency_events(self.agency, self.cursor, BATCH)
                .await
            {
                Ok(events) if !events.is_empty() => {
                    self.cursor = events.last().map_or(self.cursor, |e| e.seq);
                    self.pending.extend(events);
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reading the log for an events stream failed; ending it");
                    return None;
                }
            }
            tokio::select! {
                moved = self.log.changed() => if moved.is_err() { return None },
                _ = self.closing.wait_for(|c| *c) => return None,
            }
        }
    }
}
