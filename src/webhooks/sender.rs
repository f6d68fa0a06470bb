//! The sender: on the node holding the lease, it reads the log after each active webhook's cursor, turns the
//! events of the webhook's kinds into delivery rows, and posts the first due delivery of each lane (an order,
//! or `''` for events without one). A lane's next delivery waits until its first is delivered or given up, so
//! an order's events never overtake each other while one stuck order holds up no other.
//!
//! Every outcome is written before the lane moves on; a node that dies between a send and its record leaves
//! the delivery pending, and whoever delivers next sends it again (at least once; receivers deduplicate on the
//! event id). It wakes when this node applies more of the log, when asked (a webhook made or re-enabled here),
//! when an attempt finishes, and every second for retries that fall due.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tokio::task::JoinSet;

use super::lease::Lease;
use super::store::{self, Attempt, DeliveryRow, NewDelivery, WebhookRow};
use super::{Webhooks, address, signing};
use crate::domain::{AssignmentId, OrderId};
use crate::engine::{Engine, ms};
use crate::wire::webhooks::{DeliveryBody, event_id, webhook_id};

/// How often a node that does not deliver tries to take over.
const LEASE_RETRY: Duration = Duration::from_secs(1);
/// How often the sender looks for retries that fell due, and checks it still holds the lease.
const TICK: Duration = Duration::from_secs(1);
/// Attempts in flight at once, over every webhook.
const MAX_IN_FLIGHT: usize = 32;
/// The least time between two passes woken by the log: under a stream of commits one pass takes in many of
/// them, instead of one pass (and its reads of the webhooks) per commit.
const LOG_PASS_GAP: Duration = Duration::from_millis(20);
/// Events read from the log per query while scheduling.
const PAGE: i64 = 500;
/// How much of an answer's body is read (the rest is dropped).
const BODY_CAP: usize = 4096;
/// How long deliveries that are done are kept for `GET /v1/webhooks/{id}/deliveries`.
const KEPT: chrono::Duration = chrono::Duration::days(30);

/// Starts the sender of this node: it delivers while this node holds the lease, and keeps trying to take it
/// while another node does.
pub fn spawn(engine: Arc<Engine>, hooks: Arc<Webhooks>, database_url: String) {
    tokio::spawn(async move {
        let mut lease: Option<Lease> = None;
        loop {
            if lease.is_none() {
                match Lease::open(&database_url, engine.store().backend()).await {
                    Ok(l) => lease = Some(l),
                    Err(e) => {
                        tracing::warn!(error = %e, "opening the webhook delivery lease failed")
                    }
                }
            }
            if let Some(l) = lease.as_mut() {
                match l.try_take().await {
                    Ok(true) => {
                        tracing::info!("this node delivers webhooks");
                        deliver(&engine, &hooks, l).await;
                        tracing::warn!("this node no longer delivers webhooks");
                        lease = None;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "taking the webhook delivery lease failed");
                        lease = None;
                    }
                }
            }
            tokio::time::sleep(LEASE_RETRY).await;
        }
    });
}

/// Delivers until the lease is lost.
async fn deliver(engine: &Arc<Engine>, hooks: &Arc<Webhooks>, lease: &mut Lease) {
    let mut log = engine.watch_log();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut inflight: JoinSet<()> = JoinSet::new();
    // The lane each attempt in flight holds, by task.
    let mut busy: HashMap<tokio::task::Id, (i64, String)> = HashMap::new();
    let mut purged_at = i64::MIN;
    loop {
        let passed_at = tokio::time::Instant::now();
        if let Err(e) = pass(engine, hooks, &mut inflight, &mut busy).await {
            tracing::warn!(error = %e, "a webhook delivery pass failed");
        }
        tokio::select! {
            changed = log.changed() => {
                if changed.is_err() {
                    return;
                }
                tokio::time::sleep_until(passed_at + LOG_PASS_GAP).await;
            }
            _ = hooks.kick.notified() => {}
            _ = tick.tick() => {
                if !lease.alive().await {
                    inflight.abort_all();
                    return;
                }
                let now = ms(engine.now());
                if now.saturating_sub(purged_at) > chrono::Duration::hours(1).num_milliseconds() {
                    purged_at = now;
                    purge(engine, now).await;
                }
            }
            Some(done) = inflight.join_next_with_id() => {
                let id = match done { Ok((id, ())) => id, Err(e) => e.id() };
                busy.remove(&id);
            }
        }
        while let Some(done) = inflight.try_join_next_with_id() {
            let id = match done {
                Ok((id, ())) => id,
                Err(e) => e.id(),
            };
            busy.remove(&id);
        }
    }
}

/// Forgets deliveries done for longer than they are kept.
async fn purge(engine: &Engine, now: i64) {
    let r = async {
        let mut tx = engine.store().begin().await?;
        store::purge(&mut tx, now - KEPT.num_milliseconds()).await?;
        tx.commit().await
    };
    if let Err(e) = r.await {
        tracing::warn!(error = %e, "forgetting old webhook deliveries failed");
    }
}

/// One pass: schedules what each active webhook has not yet scheduled, and starts an attempt for each lane
/// whose first delivery is due and not already in flight.
async fn pass(
    engine: &Arc<Engine>,
    hooks: &Arc<Webhooks>,
    inflight: &mut JoinSet<()>,
    busy: &mut HashMap<tokio::task::Id, (i64, String)>,
) -> crate::Result<()> {
    let pool = engine.store().pool();
    let head = engine.applied_seq();
    let now = ms(engine.now());
    for w in store::active(pool).await? {
        schedule(engine, &w, head, now).await?;
        if inflight.len() >= MAX_IN_FLIGHT {
            continue;
        }
        let heads = store::due_heads(pool, w.id, now, MAX_IN_FLIGHT as i64).await?;
        let w = Arc::new(w);
        for d in heads {
            let lane = (w.id, d.lane.clone());
            if inflight.len() >= MAX_IN_FLIGHT || busy.values().any(|b| *b == lane) {
                continue;
            }
            let task = inflight.spawn(attempt(engine.clone(), hooks.clone(), w.clone(), d));
            busy.insert(task.id(), lane);
        }
    }
    Ok(())
}

/// Turns the events of a webhook's kinds between its cursor and `head` (what this node has applied, so
/// nothing a crash could take back) into deliveries, moving the cursor in the same transaction.
async fn schedule(engine: &Engine, w: &WebhookRow, head: i64, now: i64) -> crate::Result<()> {
    let kinds = w.kinds();
    let wants = |kind: &str| kinds.iter().any(|k| k == "*" || k == kind);
    let mut cursor = w.log_cursor;
    while cursor < head {
        let page =
            crate::store::events::read_agency(engine.store().pool(), w.agency_id, cursor, PAGE)
                .await?;
        let full = page.len() as i64 == PAGE;
        let seen: Vec<_> = page.into_iter().filter(|e| e.seq <= head).collect();
        let to = match seen.last() {
            Some(last) if full => last.seq,
            _ => head,
        };
        // Nothing of the agency's yet: the cursor stays where it is (reading past it again is an index
        // lookup), rather than writing a row on every event of every other agency.
        if seen.is_empty() && head - cursor < 10_000 {
            return Ok(());
        }
        let mut deliveries = Vec::new();
        for e in seen.iter().filter(|e| wants(&e.kind)) {
            deliveries.push(NewDelivery {
                seq: e.seq,
                event_at: e.at_ms,
                kind: e.kind.clone(),
                lane: lane_of(engine, e).await?,
            });
        }
        let mut tx = engine.store().begin().await?;
        if !store::schedule(&mut tx, w.id, cursor, to, &deliveries, now).await? {
            // Changed meanwhile (deleted, or scheduled by a node that held the lease before): next pass.
            tx.rollback().await?;
            return Ok(());
        }
        tx.commit().await?;
        cursor = to;
    }
    Ok(())
}

/// The lane of an event: the order it concerns (`ord_…`), named by its payload or through the assignment it
/// names (check-ins, check-outs, ratings and reviews name only their assignment); `""` for events of no order.
async fn lane_of(engine: &Engine, e: &crate::store::events::StoredEvent) -> crate::Result<String> {
    let text = |k: &str| e.payload.get(k).and_then(|v| v.as_str());
    if let Some(order) = text("order") {
        return Ok(order.to_string());
    }
    let Some(assignment) = text("assignment").and_then(|a| a.parse::<AssignmentId>().ok()) else {
        return Ok(String::new());
    };
    Ok(
        store::order_of_assignment(engine.store().pool(), assignment.get() as i64)
            .await?
            .map(|o| OrderId::new(o as u64).to_string())
            .unwrap_or_default(),
    )
}

/// How one attempt ended.
enum Sent {
    /// The endpoint answered with this status.
    Answered(u16),
    /// It did not answer: why.
    Failed(String),
}

/// Makes one attempt of a delivery and records it.
async fn attempt(engine: Arc<Engine>, hooks: Arc<Webhooks>, w: Arc<WebhookRow>, d: DeliveryRow) {
    if let Err(e) = attempt_and_record(&engine, &hooks, &w, &d).await {
        tracing::warn!(webhook = w.id, seq = d.seq, error = %e, "recording a webhook delivery failed");
    }
    hooks.kick();
}

async fn attempt_and_record(
    engine: &Engine,
    hooks: &Webhooks,
    w: &WebhookRow,
    d: &DeliveryRow,
) -> crate::Result<()> {
    let number = d.attempts + 1;
    let event = crate::store::events::read(engine.store().pool(), d.seq - 1, 1)
        .await?
        .into_iter()
        .find(|e| e.seq == d.seq);
    let sent = match &event {
        Some(e) => {
            let body = serde_json::to_vec(&DeliveryBody::of(w.id, e))
                .map_err(|e| crate::Error::Internal(format!("a delivery's body: {e}")))?;
            send(hooks, w, e, number, &body).await
        }
        None => Sent::Failed("the event is no longer in the log".into()),
    };
    let policy = &hooks.settings.policy;
    let now = ms(engine.now());
    let (code, error, ok) = match &sent {
        Sent::Answered(s) => (Some(i64::from(*s)), None, (200..300).contains(s)),
        Sent::Failed(why) => (None, Some(why.as_str()), false),
    };
    let gives_up =
        !ok && (event.is_none() || policy.gives_up(d.first_attempt_at.unwrap_or(now), now));
    let outcome = if ok {
        "delivered"
    } else if gives_up {
        "failed"
    } else {
        "pending"
    };
    let mut tx = engine.store().begin().await?;
    let recorded = store::record(
        &mut tx,
        d.id,
        &Attempt {
            at: now,
            status_code: code,
            error,
            outcome,
            next_at: now + policy.backoff(number).num_milliseconds(),
        },
    )
    .await?;
    if !recorded {
        // Deleted meanwhile, or recorded by a node that held the lease before this one.
        return tx.rollback().await;
    }
    let mut disabled = false;
    if ok {
        store::count_success(&mut tx, w.id).await?;
    } else if let Some((failures, since, status)) = store::count_failure(&mut tx, w.id, now).await?
        && status == "active"
        && policy.disables(failures, since, now)
        && store::disable(&mut tx, w.id, now).await?
    {
        disabled = true;
        crate::store::events::append(
            &mut tx,
            now,
            Some(w.agency_id as u64),
            "webhook_disabled",
            &json!({
                "webhook": webhook_id(w.id), "url": w.url, "status": "disabled",
                "consecutive_failures": failures,
                "failing_since": crate::domain::time::format_instant(crate::engine::from_ms(since)),
                "last_status_code": code, "last_error": error,
            }),
        )
        .await?;
    }
    let events = tx.commit().await?;
    engine.absorb(events).await;
    let c = &hooks.counters;
    if ok {
        c.succeeded.fetch_add(1, Ordering::Relaxed);
    } else {
        c.failed.fetch_add(1, Ordering::Relaxed);
    }
    if gives_up {
        c.given_up.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            webhook = w.id,
            seq = d.seq,
            "a webhook delivery was given up"
        );
    }
    if disabled {
        c.disabled.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            webhook = w.id,
            "a webhook was disabled after failing repeatedly"
        );
    }
    Ok(())
}

/// Posts one event to a webhook's URL, signed.
async fn send(
    hooks: &Webhooks,
    w: &WebhookRow,
    event: &crate::store::events::StoredEvent,
    number: i64,
    body: &[u8],
) -> Sent {
    let url = match address::parse(&w.url) {
        Ok(u) => u,
        Err(e) => return Sent::Failed(format!("the URL {}", e.message)),
    };
    if !hooks.settings.allow_private
        && let Some(ip) = address::literal_ip(&url)
        && address::forbidden(ip)
    {
        return Sent::Failed(format!(
            "{ip} is a loopback, private, link-local or reserved address"
        ));
    }
    // The signature's time is the wall clock's: receivers compare it with theirs to refuse replays.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let request = hooks
        .client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("crewcall-event-id", event_id(event.seq))
        .header("crewcall-event-kind", &event.kind)
        .header("crewcall-webhook-id", webhook_id(w.id))
        .header("crewcall-delivery-attempt", number.to_string())
        .header(signing::HEADER, signing::header_value(&w.secret, t, body))
        .body(body.to_vec());
    match request.send().await {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let mut read = 0;
            while read < BODY_CAP {
                match resp.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    Ok(None) | Err(_) => break,
                }
            }
            Sent::Answered(status)
        }
        Err(e) => Sent::Failed(describe(&e)),
    }
}

/// Why a request got no answer, in a few words (the innermost cause; never the URL).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    let what = if e.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    format!("{what}: {cause}").chars().take(300).collect()
}
