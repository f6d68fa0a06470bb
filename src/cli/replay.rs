//! `crewcall replay`: rebuilds a database from another's event log by issuing its INPUT events again through the
//! engine (agencies, workers, orders, workers' answers, cancellations, check-ins and check-outs, ratings), each
//! after moving a manual clock to the event's time, then compares the two logs event by event: kind, time and
//! payload. The engine's decisions (offers, assignments, expiries, no-shows, promotions, statuses, records) are
//! not issued: they must come out the same by themselves. Zero differences is the proof that the engine is a
//! deterministic function of its inputs and the clock.

use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;

use crate::clock::{Clock, ManualClock};
use crate::domain::{AgencyId, AssignmentId, LatLon, OfferId, OrderId, WorkerId};
use crate::engine::sim_support::{all_events, manual_clock_ms};
use crate::engine::{Actor, Engine, EngineConfig, from_ms};
use crate::error::Error;
use crate::store::events::StoredEvent;
use crate::store::{Durability, Store};

/// Differences shown at most.
const SHOWN: usize = 10;

/// What a replay found.
#[derive(Debug, Clone, Default)]
pub struct ReplayReport {
    /// Events in the original log.
    pub events: usize,
    /// Input events issued again.
    pub inputs: usize,
    /// Events that differ (by position), or are missing on either side.
    pub differences: usize,
    /// The first differences, described.
    pub first: Vec<String>,
    /// Input events of kinds the replay cannot issue (they are counted, not issued).
    pub unsupported: usize,
}

impl std::fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "replay: {} events, {} differences ({} inputs issued again{})",
            self.events,
            self.differences,
            self.inputs,
            if self.unsupported > 0 {
                format!(", {} inputs of unsupported kinds", self.unsupported)
            } else {
                String::new()
            }
        )?;
        for d in &self.first {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

fn text<'a>(p: &'a Value, k: &str) -> &'a str {
    p.get(k).and_then(Value::as_str).unwrap_or("")
}

fn id<T: FromStr>(p: &Value, k: &str) -> crate::Result<T> {
    text(p, k)
        .parse()
        .map_err(|_| Error::Internal(format!("event payload without a valid {k}: {p}")))
}

fn agency_of(e: &StoredEvent) -> crate::Result<AgencyId> {
    e.agency
        .map(|a| AgencyId::new(a as u64))
        .ok_or_else(|| Error::Internal(format!("event {} without an agency", e.seq)))
}

/// Whether an event is an input (something a person did) that the replay issues again.
pub fn is_input(e: &StoredEvent) -> bool {
    let p = &e.payload;
    match e.kind.as_str() {
        "agency_created" | "worker_created" | "worker_updated" | "worker_deleted"
        | "order_posted" | "checked_in" | "rated" | "sla_tiers_set" | "client_tier_set" => true,
        "offer_closed" => matches!(text(p, "status"), "accepted" | "declined"),
        "assignment_ended" => matches!(
            text(p, "reason"),
            "worker_cancelled" | "agency_cancelled" | "reported"
        ),
        "checked_out" => p.get("lat").is_some_and(|v| !v.is_null()),
        "order_status" => text(p, "status") == "cancelled",
        _ => false,
    }
}

/// Issues one input event (the clock already stands at its time). A refusal is returned as the error it is.
async fn issue(engine: &Engine, e: &StoredEvent) -> crate::Result<()> {
    let p = &e.payload;
    match e.kind.as_str() {
        "agency_created" => {
            engine.create_agency(text(p, "name")).await?;
        }
        "worker_created" | "worker_updated" => {
            let line = p.get("profile").map(Value::to_string).unwrap_or_default();
            let r = engine.import_workers(agency_of(e)?, &line).await?;
            if let Some((_, m)) = r.errors.first() {
                return Err(Error::Internal(format!("worker of event {}: {m}", e.seq)));
            }
        }
        "worker_deleted" => {
            engine
                .delete_worker(agency_of(e)?, id::<WorkerId>(p, "worker")?)
                .await?
        }
        "order_posted" => {
            let body = serde_json::from_value(p.get("body").cloned().unwrap_or(Value::Null))
                .map_err(|err| Error::Internal(format!("order of event {}: {err}", e.seq)))?;
            engine.post_order(agency_of(e)?, body).await?;
        }
        "offer_closed" => {
            let (w, o) = (id::<WorkerId>(p, "worker")?, id::<OfferId>(p, "offer")?);
            if text(p, "status") == "accepted" {
                engine.accept_offer(w, o).await?;
            } else {
                engine.decline_offer(w, o).await?;
            }
        }
        "assignment_ended" => {
            let a = id::<AssignmentId>(p, "assignment")?;
            match text(p, "reason") {
                "worker_cancelled" => {
                    engine
                        .cancel_assignment(Actor::Worker(id(p, "worker")?), a)
                        .await?;
                }
                "agency_cancelled" => {
                    engine
                        .cancel_assignment(Actor::Agency(agency_of(e)?), a)
                        .await?;
                }
                _ => {
                    engine.report_no_show(agency_of(e)?, a).await?;
                }
            }
        }
        "checked_in" | "checked_out" => {
            let a = id::<AssignmentId>(p, "assignment")?;
            let (worker, _) = engine
                .assignment_status(a.get() as i64)
                .await?
                .ok_or_else(|| Error::Internal(format!("event {}: no assignment {a}", e.seq)))?;
            let actor = Actor::Worker(WorkerId::new(worker as u64));
            let coord = |k: &str| p.get(k).and_then(Value::as_f64);
            let at = match (coord("lat"), coord("lon")) {
                (Some(lat), Some(lon)) => LatLon::new(lat, lon)
                    .map_err(|_| Error::Internal(format!("event {}: bad location", e.seq)))?,
                _ => {
                    return Err(Error::Internal(format!(
                        "event {} has no location (an event log from before locations were recorded)",
                        e.seq
                    )));
                }
            };
            if e.kind == "checked_in" {
                engine.check_in(actor, a, at, None).await?;
            } else {
                engine.check_out(actor, a, at, None).await?;
            }
        }
        "rated" => {
            let stars = p.get("stars").and_then(Value::as_i64).unwrap_or(0);
            engine
                .rate(agency_of(e)?, id(p, "assignment")?, stars, String::new())
                .await?;
        }
        "order_status" => {
            engine
                .cancel_order(agency_of(e)?, id::<OrderId>(p, "order")?)
                .await?;
        }
        "sla_tiers_set" => {
            let body = serde_json::from_value(p.clone())
                .map_err(|err| Error::Internal(format!("tiers of event {}: {err}", e.seq)))?;
            engine.set_sla_config(agency_of(e)?, &body).await?;
        }
        "client_tier_set" => {
            let tier = p.get("tier").and_then(Value::as_str);
            engine
                .set_client_tier(agency_of(e)?, text(p, "client_ref"), tier)
                .await?;
        }
        _ => {}
    }
    Ok(())
}

/// Replays the log of `from` into the fresh database `into` and compares the logs.
pub async fn run(from: &str, into: &str) -> Result<ReplayReport, Box<dyn std::error::Error>> {
    let source = Store::connect(from).await?;
    let log = all_events(&source).await?;
    let events = log.len();
    let original = decisions_and_inputs(log);
    let final_ms = manual_clock_ms(&source).await?;
    super::simulate::remove_sqlite(into)?;
    let store = Store::connect_with(into, Durability::Relaxed).await?;
    store.migrate().await?;
    let start = original
        .first()
        .map_or_else(chrono::Utc::now, |e| from_ms(e.at_ms));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
    let engine = Engine::start(store, clock, EngineConfig::default())
        .await?
        .engine;
    let mut report = ReplayReport {
        events,
        ..ReplayReport::default()
    };
    let mut i = 0;
    while i < original.len() {
        let e = &original[i];
        if !is_input(e) {
            i += 1;
            continue;
        }
        let at = from_ms(e.at_ms);
        if at > engine.now() {
            engine.advance_clock(at).await?;
        }
        // Consecutive worker creations of one import go in again as one import.
        if e.kind == "worker_created" {
            let mut j = i;
            let mut lines = Vec::new();
            while j < original.len()
                && original[j].kind == "worker_created"
                && original[j].at_ms == e.at_ms
                && original[j].agency == e.agency
            {
                lines.push(
                    original[j]
                        .payload
                        .get("profile")
                        .map(Value::to_string)
                        .unwrap_or_default(),
                );
                j += 1;
            }
            let r = engine
                .import_workers(agency_of(e)?, &lines.join("\n"))
                .await?;
            if let Some((line, m)) = r.errors.first() {
                return Err(format!("worker of event {}: {m}", original[i + line - 1].seq).into());
            }
            report.inputs += j - i;
            i = j;
            continue;
        }
        match issue(&engine, e).await {
            Ok(()) => report.inputs += 1,
            Err(Error::Internal(m)) => return Err(m.into()),
            // A refused input is a difference: the original accepted it.
            Err(err) => {
                report.inputs += 1;
                if report.first.len() < SHOWN {
                    report.first.push(format!(
                        "event {} ({}) was refused on replay: {err}",
                        e.seq, e.kind
                    ));
                }
            }
        }
        i += 1;
    }
    if let Some(end) = final_ms.map(from_ms)
        && end > engine.now()
    {
        engine.advance_clock(end).await?;
    }
    let replayed = decisions_and_inputs(all_events(engine.store()).await?);
    let (differences, first) = compare(&original, &replayed, SHOWN - report.first.len());
    report.differences = differences;
    report.first.extend(first);
    Ok(report)
}

/// A log without its `clock_set` events: moving a manual clock is how the original was driven and how the
/// replay drives itself (before every input), not a decision of the engine.
fn decisions_and_inputs(log: Vec<StoredEvent>) -> Vec<StoredEvent> {
    log.into_iter().filter(|e| e.kind != "clock_set").collect()
}

/// Compares two logs position by position: kind, time, agency and payload. Returns the number of differing
/// positions and the first `shown` of them described.
pub fn compare(a: &[StoredEvent], b: &[StoredEvent], shown: usize) -> (usize, Vec<String>) {
    let mut n = 0;
    let mut first = Vec::new();
    for k in 0..a.len().max(b.len()) {
        let describe = |e: Option<&StoredEvent>| {
            e.map_or_else(
                || "nothing".to_string(),
                |e| format!("{} at {} {}", e.kind, e.at_ms, e.payload),
            )
        };
        let (x, y) = (a.get(k), b.get(k));
        let same = match (x, y) {
            (Some(x), Some(y)) => {
                x.kind == y.kind
                    && x.at_ms == y.at_ms
                    && x.agency == y.agency
                    && x.payload == y.payload
            }
            _ => false,
        };
        if !same {
            n += 1;
            if first.len() < shown {
                first.push(format!(
                    "#{}: original {} / replay {}",
                    k + 1,
                    describe(x),
                    describe(y)
                ));
            }
        }
    }
    (n, first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(seq: i64, kind: &str, payload: Value) -> StoredEvent {
        StoredEvent {
            seq,
            at_ms: 1_000 * seq,
            agency: Some(1),
            kind: kind.into(),
            payload,
        }
    }

    #[test]
    fn workers_answers_are_inputs_and_the_engines_closures_are_decisions() {
        let closed = |status: &str| ev(1, "offer_closed", json!({"status": status}));
        assert!(is_input(&closed("accepted")));
        assert!(is_input(&closed("declined")));
        assert!(!is_input(&closed("expired")));
        assert!(!is_input(&closed("withdrawn")));
        let out = |lat: Value| ev(1, "checked_out", json!({"lat": lat}));
        assert!(is_input(&out(json!(31.2))));
        assert!(!is_input(&out(Value::Null)), "the shift's end checked out");
        assert!(!is_input(&ev(1, "offer_sent", json!({}))));
    }

    #[test]
    fn a_changed_payload_and_a_missing_tail_are_differences() {
        let a = vec![
            ev(1, "offer_sent", json!({"offer": "ofr_1"})),
            ev(2, "offer_sent", json!({"offer": "ofr_2"})),
            ev(3, "offer_sent", json!({"offer": "ofr_3"})),
        ];
        let mut b = a.clone();
        b[1].payload = json!({"offer": "ofr_9"});
        b.pop();
        let (n, first) = compare(&a, &b, 1);
        assert_eq!(n, 2);
        assert_eq!(first.len(), 1);
        assert!(first[0].starts_with("#2"), "{}", first[0]);
        assert_eq!(compare(&a, &a, 10).0, 0);
    }
}
