//! `crewcall replay`: rebuilds a fresh database from another's event log (SQLite or PostgreSQL) by issuing its
//! INPUT events again through the engine, then compares the two logs event by event: kind, time, agency and
//! payload. The engine's decisions (offers, assignments, expiries, no-shows, promotions, statuses, records,
//! releases, reviews opened) are not issued: they must come out the same by themselves. Zero differences is the
//! proof that the engine is a deterministic function of its inputs, its configuration and the clock.
//!
//! How it goes, event by event in log order:
//! - `engine_config` (written at every start whose configuration differs from the last recorded one): the
//!   replay's engine runs under it (policy version, rest gap, no-show policy, re-offer pause, photo limits),
//!   started again over the same database when the log records another. A log without one was made before the
//!   configuration was recorded: it replays under the defaults and scoring policy version 1.
//! - `clock_set`: the manual clock moves there (firing the timers due on the way), as it did.
//! - Any other event: the clock first steps to its time (firing the timers due on the way, each at its own
//!   instant: a driver that stepped the clock, or the system clock, left no `clock_set` there). An input is then
//!   issued again (see [`issue`]); a decision is left to the engine.
//!
//! Ids: the replayed database assigns its own ids (a PostgreSQL sequence skips numbers on a rolled-back
//! insert, so the original's may have gaps). Each event that makes something (a worker, an order, an offer, a
//! key, an on-call window, …; see [`CREATED`]) maps the original's id to the replay's when the replay makes the
//! same event at the same position of the log; inputs are issued with mapped ids, and the comparison maps the
//! original's ids before it compares. Secrets (API keys, app tokens, client links' tokens, webhook secrets) are
//! never in the log: the replay's commands make new ones, and nothing compared depends on them.
//!
//! Photos: the image is read from the source store (its database, or the directory beside a SQLite file, or
//! the one given); an image no longer there (erased by retention or a worker's deletion) is issued as a
//! placeholder of the same type and size. The comparison covers what the log says of a photo (type, size,
//! caption, assignment), not the image's bytes.
//!
//! ADDING A COMMAND: a new kind of input event gets ONE arm in [`issue`] (which calls the engine's command
//! with the event's payload, its ids mapped), and, if it makes something with an id, one line in [`CREATED`].
//! The event must carry everything the command needs. A command that also writes the events of single-order
//! commands (a series' command) is issued at its own event; the events it writes for its shifts name it
//! (`"series"`) and are not issued again. A decision of the engine needs nothing here: a kind
//! [`issue`] does not know is counted as not issued (`unsupported`) and shows up as differences.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;

use crate::clock::{Clock, ManualClock};
use crate::domain::pay::PayWeek;
use crate::domain::series::parse_date;
use crate::domain::{
    AgencyId, AssignmentId, LatLon, OfferId, OrderId, PoolId, ReviewId, SeriesId, TimesheetId,
    WorkerId,
};
use crate::engine::config::CONFIG_EVENT;
use crate::engine::sim_support::{all_events, manual_clock_ms};
use crate::engine::{
    Actor, ClientList, Engine, EngineConfig, PhotoUpload, ReviewOutcome, SignalAt, from_ms,
    parse_link_id, parse_photo_id,
};
use crate::error::Error;
use crate::store::events::StoredEvent;
use crate::store::photos::PhotoStorage;
use crate::store::{Durability, Store};
use crate::webhooks::Webhooks;
use crate::wire::pay::{CorrectBody, ResolveBody, SettingsBody};
use crate::wire::webhooks::{NewWebhook, WebhookPatch, parse_webhook_id};
use crate::wire::worker::WorkerBody;

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
    /// Events of kinds the replay does not know (neither an input it issues nor a decision of the engine).
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
                format!(", {} events of unknown kinds", self.unsupported)
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

/// Events that make something with an id: the payload field that names it, and whether the id is a number
/// (then it is mapped within its kind's namespace, named by the field).
pub const CREATED: &[(&str, &str, bool)] = &[
    ("agency_created", "agency", false),
    ("agency_key_created", "key", true),
    ("worker_created", "worker", false),
    ("order_posted", "order", false),
    ("offer_sent", "offer", false),
    ("assignment_made", "assignment", false),
    ("review_opened", "review", false),
    ("photo_added", "photo", false),
    ("client_link_created", "link", false),
    ("webhook_created", "webhook", false),
    ("pool_set", "pool", false),
    ("on_call_joined", "id", true),
    ("on_call_invited", "invite", true),
    ("timesheet_submitted", "/timesheet/id", false),
    ("series_posted", "series", false),
    ("standby_pool_opened", "pool", false),
];

/// Numeric ids in payloads: the event kinds that carry one, the field, and the namespace it is mapped in.
const NUMERIC: &[(&str, &str, &str)] = &[
    ("agency_key_created", "key", "key"),
    ("agency_key_revoked", "key", "key"),
    ("on_call_joined", "id", "on_call"),
    ("on_call_left", "id", "on_call"),
    ("on_call_joined", "invite", "on_call_invite"),
    ("on_call_invited", "invite", "on_call_invite"),
    ("on_call_invite_accepted", "invite", "on_call_invite"),
    ("on_call_invite_declined", "invite", "on_call_invite"),
];

/// Events that are neither decisions nor inputs: how the original was driven (the clock, the configuration),
/// which the replay follows and does not compare.
fn is_driving(kind: &str) -> bool {
    kind == "clock_set" || kind == CONFIG_EVENT
}

/// The original's ids mapped to the replay's.
#[derive(Debug, Default)]
pub struct Ids {
    /// By external form (`wrk_1f` → `wrk_20`), or `namespace#n` for numbers.
    map: HashMap<String, String>,
}

impl Ids {
    /// Learns what the original event made from the replay's event at the same position.
    pub fn learn(&mut self, original: &StoredEvent, replayed: &StoredEvent) {
        if original.kind != replayed.kind {
            return;
        }
        for (kind, field, numeric) in CREATED {
            if *kind != original.kind {
                continue;
            }
            // A field starting with `/` is a JSON pointer into the payload.
            let at = |p: &'_ Value| -> Option<Value> {
                if field.starts_with('/') {
                    p.pointer(field).cloned()
                } else {
                    p.get(*field).cloned()
                }
            };
            let (a, b) = (at(&original.payload), at(&replayed.payload));
            let key = |v: &Value| -> Option<String> {
                if *numeric {
                    let ns = NUMERIC
                        .iter()
                        .find(|(k, f, _)| k == kind && f == field)
                        .map_or(*field, |(_, _, ns)| ns);
                    v.as_i64().map(|n| format!("{ns}#{n}"))
                } else {
                    v.as_str().map(str::to_string)
                }
            };
            if let (Some(a), Some(b)) = (a.as_ref().and_then(key), b.as_ref().and_then(key)) {
                self.map.entry(a).or_insert(b);
            }
        }
    }

    /// Whether the replay has made what an original id names.
    fn knows(&self, original: &str) -> bool {
        self.map.contains_key(original)
    }

    /// A string id mapped (itself when unknown).
    fn string<'a>(&'a self, s: &'a str) -> &'a str {
        self.map.get(s).map_or(s, String::as_str)
    }

    /// A numeric id of a namespace mapped (itself when unknown).
    fn number(&self, ns: &str, n: i64) -> i64 {
        self.map
            .get(&format!("{ns}#{n}"))
            .and_then(|m| m.rsplit('#').next()?.parse().ok())
            .unwrap_or(n)
    }

    /// A JSON value with every id string in it mapped.
    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.string(s).to_string()),
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, x)| (k.clone(), self.value(x))).collect())
            }
            other => other.clone(),
        }
    }

    /// An original event as the replay should have written it: its ids mapped.
    pub fn event(&self, e: &StoredEvent) -> StoredEvent {
        let mut payload = self.value(&e.payload);
        for (kind, field, ns) in NUMERIC {
            if *kind == e.kind
                && let Some(n) = payload.get(*field).and_then(Value::as_i64)
            {
                payload[*field] = Value::from(self.number(ns, n));
            }
        }
        StoredEvent {
            seq: e.seq,
            at_ms: e.at_ms,
            agency: e.agency.map(|a| {
                self.string(&AgencyId::new(a as u64).to_string())
                    .parse::<AgencyId>()
                    .map_or(a, |m| m.get() as i64)
            }),
            kind: e.kind.clone(),
            payload,
        }
    }
}

fn text<'a>(p: &'a Value, k: &str) -> &'a str {
    p.get(k).and_then(Value::as_str).unwrap_or("")
}

fn bad(e: &StoredEvent, what: &str) -> Error {
    Error::Internal(format!("event {} ({}): {what}", e.seq, e.kind))
}

fn id<T: FromStr>(e: &StoredEvent, k: &str) -> crate::Result<T> {
    text(&e.payload, k)
        .parse()
        .map_err(|_| bad(e, &format!("no valid {k} in {}", e.payload)))
}

fn int(e: &StoredEvent, k: &str) -> crate::Result<i64> {
    e.payload
        .get(k)
        .and_then(Value::as_i64)
        .ok_or_else(|| bad(e, &format!("no number {k}")))
}

fn agency_of(e: &StoredEvent) -> crate::Result<AgencyId> {
    e.agency
        .map(|a| AgencyId::new(a as u64))
        .ok_or_else(|| bad(e, "no agency"))
}

fn json<T: serde::de::DeserializeOwned>(e: &StoredEvent, k: &str) -> crate::Result<T> {
    serde_json::from_value(e.payload.get(k).cloned().unwrap_or(Value::Null))
        .map_err(|err| bad(e, &format!("{k}: {err}")))
}

/// A replay in progress: the engine it drives and what it knows of the source.
struct Replay {
    engine: Arc<Engine>,
    store: Store,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    /// The configuration as last recorded by the original, if any.
    recorded: Option<Value>,
    hooks: Webhooks,
    source: Store,
    photos: PhotoStorage,
    ids: Ids,
    /// Timesheets (original ids) whose dispute was resolved with a correction: the resolution was issued at
    /// its `timesheet_corrected`, so its `timesheet_approved` is part of it.
    resolved: HashSet<String>,
}

/// What issuing an event did.
#[derive(Debug, PartialEq, Eq)]
enum Issued {
    /// An input, issued again.
    Input,
    /// A decision of the engine, or how the original was driven: nothing to issue.
    Not,
    /// A kind this replay does not know.
    Unknown,
}

/// THE one place that re-issues commands: one arm per kind of input event (with the payload's ids already
/// mapped to the replay's), one list of the engine's decisions. The clock already stands at the event's time.
async fn issue(r: &mut Replay, original: &StoredEvent) -> crate::Result<Issued> {
    let e = &r.ids.event(original);
    let engine = r.engine.clone();
    let p = &e.payload;
    match e.kind.as_str() {
        // How the original was driven.
        "clock_set" => {
            let to = from_ms(int(e, "now")?);
            if to > engine.now() {
                engine.advance_clock(to).await?;
            }
            return Ok(Issued::Not);
        }
        CONFIG_EVENT => {
            // The clock stood at the event's time when that engine started.
            let at = from_ms(e.at_ms);
            if at > engine.now() {
                engine.advance_clock(at).await?;
            }
            r.restart_with(p).await?;
            return Ok(Issued::Not);
        }
        // Agencies and their keys.
        "agency_created" => {
            engine.create_agency(text(p, "name")).await?;
        }
        "agency_key_created" => {
            engine
                .create_agency_key(agency_of(e)?, text(p, "label"))
                .await?;
        }
        "agency_key_revoked" => {
            engine
                .revoke_agency_key(agency_of(e)?, int(e, "key")?)
                .await?;
        }
        // Workers (creations are issued in imports by `run`, consecutive ones together).
        "worker_created" => {
            r.import(agency_of(e)?, std::slice::from_ref(e)).await?;
        }
        "worker_updated" => {
            let (agency, worker) = (agency_of(e)?, id::<WorkerId>(e, "worker")?);
            let mut patch: serde_json::Map<String, Value> = json(e, "profile")?;
            patch.remove("history");
            // The event carries the whole profile: a field it leaves out was removed (an upsert without it).
            let now = serde_json::to_value(WorkerBody::from_worker(
                &engine.worker(agency, worker).await?,
            ))
            .unwrap_or(Value::Null);
            for k in now.as_object().into_iter().flat_map(|o| o.keys()) {
                if k != "history" && !patch.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            let record: Value = p.get("record").cloned().unwrap_or(Value::Null);
            if let Some(status) = record.get("status").filter(|s| s.is_string()) {
                patch.insert("status".into(), status.clone());
            }
            engine.patch_worker(agency, worker, patch, None).await?;
        }
        "worker_deleted" => {
            engine
                .delete_worker(agency_of(e)?, id(e, "worker")?)
                .await?;
        }
        "worker_token_issued" => {
            engine
                .issue_app_token(agency_of(e)?, id(e, "worker")?)
                .await?;
        }
        "availability_set" => {
            engine
                .set_availability(
                    agency_of(e)?,
                    id(e, "worker")?,
                    json(e, "availability")?,
                    json(e, "blackouts")?,
                )
                .await?;
        }
        // An accepted invitation joins the pool: issued at its `on_call_invite_accepted`.
        "on_call_joined" if p.get("invite").is_some_and(|i| !i.is_null()) => {
            return Ok(Issued::Not);
        }
        "on_call_joined" => {
            let center = LatLon::new(
                p.get("lat").and_then(Value::as_f64).unwrap_or(f64::NAN),
                p.get("lon").and_then(Value::as_f64).unwrap_or(f64::NAN),
            )
            .map_err(|_| bad(e, "bad location"))?;
            engine
                .join_on_call(
                    agency_of(e)?,
                    id(e, "worker")?,
                    from_ms(int(e, "start")?),
                    from_ms(int(e, "end")?),
                    center,
                    p.get("radius_km").and_then(Value::as_f64).unwrap_or(0.0),
                )
                .await?;
        }
        // On-call invitations: the request carries its peaks; the invitations are the engine's decisions.
        crate::engine::REQUESTED_EVENT => {
            let params = crate::engine::InviteParams {
                from_ms: int(e, "from")?,
                to_ms: int(e, "to")?,
                min_expected: p
                    .get("min_expected")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| bad(e, "no min_expected"))?,
                share: p
                    .get("share")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| bad(e, "no share"))?,
                ttl_h: int(e, "ttl_h")? as u32,
                radius_km: p
                    .get("radius_km")
                    .and_then(Value::as_f64)
                    .ok_or_else(|| bad(e, "no radius_km"))?,
                pad_h: int(e, "pad_h")? as u32,
            };
            let peaks = p
                .get("peaks")
                .and_then(Value::as_array)
                .ok_or_else(|| bad(e, "no peaks"))?
                .iter()
                .map(|v| crate::engine::PeakNeed::from_json(v).ok_or_else(|| bad(e, "a bad peak")))
                .collect::<crate::Result<Vec<_>>>()?;
            engine
                .invite_for_peaks(agency_of(e)?, &params, &peaks)
                .await?;
        }
        "on_call_invite_accepted" => {
            engine
                .accept_invite(id(e, "worker")?, int(e, "invite")?)
                .await?;
        }
        "on_call_invite_declined" => {
            engine
                .decline_invite(id(e, "worker")?, int(e, "invite")?)
                .await?;
        }
        "on_call_left" => {
            engine
                .leave_on_call(agency_of(e)?, id(e, "worker")?, int(e, "id")?)
                .await?;
        }
        // Orders.
        // A shift of a series is posted by the series' command.
        "order_posted" if p.get("series").is_some_and(|s| !s.is_null()) => return Ok(Issued::Not),
        "order_posted" => {
            engine.post_order(agency_of(e)?, json(e, "body")?).await?;
        }
        // Events that name a series were written by the series' command, issued at its own event.
        "order_patched" | "order_status" | "offer_by_hand" | "offer_closed"
            if p.get("series").is_some_and(|s| !s.is_null()) =>
        {
            return Ok(Issued::Not);
        }
        "order_patched" => {
            let roles: Vec<Value> = json(e, "roles")?;
            let changes = roles
                .iter()
                .map(|r| {
                    (
                        text(r, "name").to_string(),
                        r.get("headcount").and_then(Value::as_i64).unwrap_or(0),
                    )
                })
                .collect();
            engine
                .patch_order(agency_of(e)?, id(e, "order")?, changes, None)
                .await?;
        }
        "order_status" if text(p, "status") == "cancelled" => {
            engine
                .cancel_order(agency_of(e)?, id::<OrderId>(e, "order")?)
                .await?;
        }
        "offer_by_hand" => {
            engine
                .offer_by_hand(
                    agency_of(e)?,
                    id(e, "order")?,
                    id(e, "worker")?,
                    text(p, "role"),
                )
                .await?;
        }
        // Workers' answers.
        "offer_closed" if matches!(text(p, "status"), "accepted" | "declined") => {
            let (w, o) = (id::<WorkerId>(e, "worker")?, id::<OfferId>(e, "offer")?);
            if text(p, "status") == "accepted" {
                engine.accept_offer(w, o).await?;
            } else {
                engine.decline_offer(w, o).await?;
            }
        }
        "assignment_ended"
            if matches!(
                text(p, "reason"),
                "worker_cancelled" | "agency_cancelled" | "reported"
            ) =>
        {
            let a = id::<AssignmentId>(e, "assignment")?;
            match text(p, "reason") {
                "worker_cancelled" => {
                    engine
                        .cancel_assignment(Actor::Worker(id(e, "worker")?), a)
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
        // Re-confirmation and pre-shift signals. A signal's event carries the rounded distance, never the
        // coordinates: the verdict is worked out from that distance, so it is re-issued with it.
        "assignment_reconfirmed" => {
            engine
                .reconfirm(id(e, "worker")?, id(e, "assignment")?)
                .await?;
        }
        "pre_shift_signal" => {
            let d = p
                .get("distance_km")
                .and_then(Value::as_f64)
                .ok_or_else(|| bad(e, "no distance_km"))?;
            engine
                .pre_shift_signal(
                    id(e, "worker")?,
                    id(e, "assignment")?,
                    text(p, "kind"),
                    SignalAt::DistanceKm(d),
                )
                .await?;
        }
        // Attendance, photos, ratings and reviews.
        "checked_in" | "checked_out" if p.get("lat").is_some_and(|v| !v.is_null()) => {
            let a = id::<AssignmentId>(e, "assignment")?;
            let actor = Actor::Agency(agency_of(e)?);
            let coord = |k: &str| p.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            let at = LatLon::new(coord("lat"), coord("lon")).map_err(|_| bad(e, "bad location"))?;
            if e.kind == "checked_in" {
                engine.check_in(actor, a, at, None).await?;
            } else {
                engine.check_out(actor, a, at, None).await?;
            }
        }
        "checked_in" => {
            return Err(bad(
                e,
                "no location (a log from before locations were recorded)",
            ));
        }
        "photo_added" => {
            let data = r.photo_bytes(original).await?;
            engine
                .add_photo(
                    Actor::Agency(agency_of(e)?),
                    id(e, "assignment")?,
                    PhotoUpload {
                        content_type: text(p, "content_type"),
                        caption: text(p, "caption"),
                        data: &data,
                    },
                )
                .await?;
        }
        "rated" => {
            let stars = p.get("stars").and_then(Value::as_i64).unwrap_or(0);
            engine
                .rate(
                    agency_of(e)?,
                    id(e, "assignment")?,
                    stars,
                    text(p, "comment").to_string(),
                )
                .await?;
        }
        "review_resolved" => {
            let outcome =
                ReviewOutcome::parse(text(p, "outcome")).ok_or_else(|| bad(e, "bad outcome"))?;
            engine
                .resolve_review(
                    agency_of(e)?,
                    id::<ReviewId>(e, "review")?,
                    outcome,
                    text(p, "note").to_string(),
                )
                .await?;
        }
        // The agency's lists, pools and client links.
        "client_lists_set" if p.get("review").is_none_or(Value::is_null) => {
            let list = match text(p, "list") {
                "favourites" => ClientList::Favourites,
                "blocks" => ClientList::Blocks,
                _ => return Err(bad(e, "bad list")),
            };
            let on = p.get("on").and_then(Value::as_bool).unwrap_or(false);
            engine
                .set_client_list(
                    agency_of(e)?,
                    text(p, "client_ref"),
                    list,
                    id(e, "worker")?,
                    on,
                )
                .await?;
        }
        "pool_set" => {
            let workers: Vec<String> = json(e, "workers")?;
            let pool = id::<PoolId>(e, "pool")?;
            let agency = agency_of(e)?;
            if r.ids.knows(text(&original.payload, "pool")) {
                engine
                    .replace_pool(agency, pool, text(p, "name"), &workers)
                    .await?;
            } else {
                engine
                    .create_pool(agency, text(p, "name"), &workers)
                    .await?;
            }
        }
        "pool_deleted" => {
            engine.delete_pool(agency_of(e)?, id(e, "pool")?).await?;
        }
        "client_link_created" => {
            let expires = p.get("expires_at").and_then(Value::as_i64).map(from_ms);
            engine
                .create_client_link(
                    agency_of(e)?,
                    text(p, "client_ref"),
                    text(p, "label"),
                    expires,
                )
                .await?;
        }
        "client_link_revoked" => {
            engine
                .revoke_client_link(agency_of(e)?, parse_link_id(text(p, "link"))?)
                .await?;
        }
        // Webhooks (the replay sends nothing; an endpoint's failures are outside facts, issued as recorded).
        "webhook_created" => {
            let req = NewWebhook {
                url: text(p, "url").to_string(),
                events: json(e, "events")?,
            };
            crate::webhooks::create(&engine, &r.hooks, agency_of(e)?, &req).await?;
        }
        "webhook_updated" => {
            let status = text(p, "status");
            let req = WebhookPatch {
                url: Some(text(p, "url").to_string()),
                events: Some(json(e, "events")?),
                status: matches!(status, "active" | "paused").then(|| status.to_string()),
            };
            crate::webhooks::patch(&engine, &r.hooks, agency_of(e)?, webhook(e)?, &req).await?;
        }
        "webhook_secret_rotated" => {
            crate::webhooks::rotate_secret(&engine, agency_of(e)?, webhook(e)?).await?;
        }
        "webhook_deleted" => {
            crate::webhooks::delete(&engine, agency_of(e)?, webhook(e)?).await?;
        }
        "webhook_disabled" => {
            crate::webhooks::disable_as_recorded(&engine, agency_of(e)?, webhook(e)?, p).await?;
        }
        // SLA tiers and clients' tiers.
        "sla_tiers_set" => {
            let body = serde_json::from_value(p.clone())
                .map_err(|err| bad(e, &format!("tiers: {err}")))?;
            engine.set_sla_config(agency_of(e)?, &body).await?;
        }
        "client_tier_set" => {
            let tier = p.get("tier").and_then(Value::as_str);
            engine
                .set_client_tier(agency_of(e)?, text(p, "client_ref"), tier)
                .await?;
        }
        // Pay: the agency's settings, timesheets and weekly pay runs.
        "agency_settings_changed" => {
            let change: SettingsBody = json(e, "change")?;
            engine.patch_agency_settings(agency_of(e)?, &change).await?;
        }
        "timesheet_disputed" => {
            engine
                .dispute_timesheet(
                    agency_of(e)?,
                    id(e, "worker")?,
                    id::<TimesheetId>(e, "timesheet")?,
                    text(p, "reason"),
                )
                .await?;
        }
        "timesheet_corrected" if text(p, "by") == "resolution" => {
            // A dispute resolved with a correction: its approval follows in the same command.
            let change: CorrectBody = json(e, "change")?;
            let body = ResolveBody {
                resolution: change.reason.clone(),
                checked_in_at: change.checked_in_at,
                checked_out_at: change.checked_out_at,
                worked_minutes: change.worked_minutes,
                break_minutes: change.break_minutes,
            };
            r.resolved
                .insert(text(&original.payload, "timesheet").to_string());
            engine
                .resolve_timesheet(agency_of(e)?, id(e, "timesheet")?, &body)
                .await?;
        }
        "timesheet_corrected" => {
            let change: CorrectBody = json(e, "change")?;
            engine
                .correct_timesheet(agency_of(e)?, id(e, "timesheet")?, &change)
                .await?;
        }
        "timesheet_approved" if text(p, "by") == "agency" => {
            engine
                .approve_timesheet(agency_of(e)?, id(e, "timesheet")?)
                .await?;
        }
        "timesheet_approved" if text(p, "by") == "resolution" => {
            if r.resolved.remove(text(&original.payload, "timesheet")) {
                return Ok(Issued::Not);
            }
            let body = ResolveBody {
                resolution: text(p, "resolution").to_string(),
                ..ResolveBody::default()
            };
            engine
                .resolve_timesheet(agency_of(e)?, id(e, "timesheet")?, &body)
                .await?;
        }
        "settlement_closed" => {
            engine.close_settlement(agency_of(e)?, week(e)?).await?;
        }
        "settlement_paid" => {
            engine.pay_settlement(agency_of(e)?, week(e)?).await?;
        }
        // Series: each command's event carries the whole request; the events of its shifts name the series.
        "series_posted" => {
            engine.post_series(agency_of(e)?, json(e, "body")?).await?;
        }
        "series_patched" => {
            let roles: Vec<Value> = json(e, "roles")?;
            let changes = roles
                .iter()
                .map(|r| {
                    (
                        text(r, "name").to_string(),
                        r.get("headcount").and_then(Value::as_i64).unwrap_or(0),
                    )
                })
                .collect();
            engine
                .patch_series(
                    agency_of(e)?,
                    id::<SeriesId>(e, "series")?,
                    date(e, "from")?.ok_or_else(|| bad(e, "no from"))?,
                    changes,
                )
                .await?;
        }
        "series_cancelled" => {
            engine
                .cancel_series(agency_of(e)?, id(e, "series")?, date(e, "from")?)
                .await?;
        }
        // Offers a worker gets after accepting a shift of a same-crew series are the accept's.
        "series_offered" if p.get("after_accepting").is_some_and(|s| !s.is_null()) => {
            return Ok(Issued::Not);
        }
        "series_offered" => {
            engine
                .offer_series(
                    agency_of(e)?,
                    id(e, "series")?,
                    id(e, "worker")?,
                    text(p, "role"),
                )
                .await?;
        }
        "series_accepted" => {
            let only: Option<Vec<String>> = json(e, "orders")?;
            let only = only
                .map(|l| {
                    l.iter()
                        .map(|o| o.parse::<OrderId>().map_err(|_| bad(e, "bad order")))
                        .collect::<crate::Result<Vec<_>>>()
                })
                .transpose()?;
            engine
                .accept_series(id(e, "worker")?, id(e, "series")?, only)
                .await?;
        }
        // The engine's decisions.
        "timesheet_submitted" | "timesheet_approved" | "late_cancellation" => {
            return Ok(Issued::Not);
        }
        "sla_at_risk" | "sla_missed" | "sla_staffed" => return Ok(Issued::Not),
        "offer_sent"
        | "offer_closed"
        | "assignment_made"
        | "assignment_ended"
        | "standby_promoted"
        | "worker_stats"
        | "worker_status"
        | "order_status"
        | "order_widened"
        | "order_at_risk"
        | "order_risk_cleared"
        | "offers_reopened"
        | "review_opened"
        | "review_overdue"
        | "photos_expired"
        | "checked_out"
        | "client_lists_set"
        | "standby_pool_opened"
        | "standby_pool_joined"
        | "standby_pool_sized"
        | "standby_pool_closed" => return Ok(Issued::Not),
        "reconfirmation_requested" | "assignment_at_risk" => return Ok(Issued::Not),
        "on_call_invited" => return Ok(Issued::Not),
        _ => return Ok(Issued::Unknown),
    }
    Ok(Issued::Input)
}

fn week(e: &StoredEvent) -> crate::Result<PayWeek> {
    PayWeek::parse(text(&e.payload, "week")).map_err(|_| bad(e, "no valid week"))
}

/// An optional local date (`null` for none).
fn date(e: &StoredEvent, k: &str) -> crate::Result<Option<chrono::NaiveDate>> {
    match e.payload.get(k).and_then(Value::as_str) {
        Some(raw) => parse_date(k, raw)
            .map(Some)
            .map_err(|_| bad(e, &format!("no valid {k}"))),
        None => Ok(None),
    }
}

fn webhook(e: &StoredEvent) -> crate::Result<i64> {
    parse_webhook_id(text(&e.payload, "webhook")).ok_or_else(|| bad(e, "no valid webhook"))
}

impl Replay {
    /// Starts the engine again over the same database when the log records another configuration.
    async fn restart_with(&mut self, recorded: &Value) -> crate::Result<()> {
        if self.recorded.as_ref() == Some(recorded) {
            return Ok(());
        }
        self.config = self.config.clone().with_recorded(recorded)?;
        self.recorded = Some(recorded.clone());
        self.engine = Engine::start(self.store.clone(), self.clock.clone(), self.config.clone())
            .await?
            .engine;
        Ok(())
    }

    /// Imports workers as their creation events carry them.
    async fn import(&self, agency: AgencyId, events: &[StoredEvent]) -> crate::Result<()> {
        let lines: Vec<String> = events
            .iter()
            .map(|e| {
                e.payload
                    .get("profile")
                    .map(Value::to_string)
                    .unwrap_or_default()
            })
            .collect();
        let imported = self
            .engine
            .import_workers(agency, &lines.join("\n"))
            .await?;
        if let Some((line, m)) = imported.errors.first() {
            let e = &events[line.saturating_sub(1).min(events.len() - 1)];
            return Err(bad(e, m));
        }
        Ok(())
    }

    /// A photo's image from the source store, or a placeholder of its type and size when it is gone.
    async fn photo_bytes(&self, e: &StoredEvent) -> crate::Result<Vec<u8>> {
        // `e` is the original event: the photo's id in the source.
        let found = match parse_photo_id(text(&e.payload, "photo")) {
            Ok(pid) => match crate::store::photos::get(self.source.pool(), pid).await? {
                Some(row) => crate::store::photos::image(self.source.pool(), &self.photos, &row)
                    .await
                    .ok()
                    .flatten(),
                None => None,
            },
            _ => None,
        };
        let size = e.payload.get("bytes").and_then(Value::as_u64).unwrap_or(0) as usize;
        Ok(found.unwrap_or_else(|| placeholder(text(&e.payload, "content_type"), size)))
    }
}

/// Bytes that pass as an image of a type, of a size (at least its signature).
pub fn placeholder(content_type: &str, size: usize) -> Vec<u8> {
    let mut data: Vec<u8> = match content_type {
        "image/png" => b"\x89PNG\r\n\x1a\n".to_vec(),
        "image/webp" => b"RIFF\0\0\0\0WEBP".to_vec(),
        _ => vec![0xFF, 0xD8, 0xFF],
    };
    if data.len() < size {
        data.resize(size, 0);
    }
    data
}

/// Replays the log of `from` into the fresh database `into` and compares the logs; photos of a SQLite source
/// are read beside its file.
pub async fn run(from: &str, into: &str) -> Result<ReplayReport, Box<dyn std::error::Error>> {
    run_with(from, into, None).await
}

/// [`run`], with the source's photo directory when it is not the default.
pub async fn run_with(
    from: &str,
    into: &str,
    photo_dir: Option<PathBuf>,
) -> Result<ReplayReport, Box<dyn std::error::Error>> {
    let source = Store::connect(from).await?;
    let log = all_events(&source).await?;
    let final_ms = manual_clock_ms(&source).await?;
    let photos = photo_dir.map_or_else(|| PhotoStorage::default_for(from), PhotoStorage::Disk);
    if into.starts_with("sqlite:") {
        super::simulate::remove_sqlite(into)?;
    }
    let store = Store::connect_with(into, Durability::Relaxed).await?;
    store.migrate().await?;
    if crate::store::events::head(store.pool()).await? > 0 {
        return Err(format!("{into} is not empty: a replay builds a fresh database").into());
    }
    replay(log, final_ms, source, photos, store)
        .await
        .map_err(Into::into)
}

/// Replays a log into a migrated, empty store.
async fn replay(
    log: Vec<StoredEvent>,
    final_ms: Option<i64>,
    source: Store,
    photos: PhotoStorage,
    store: Store,
) -> crate::Result<ReplayReport> {
    let mut report = ReplayReport {
        events: log.len(),
        ..ReplayReport::default()
    };
    let start = log
        .first()
        .map_or_else(chrono::Utc::now, |e| from_ms(e.at_ms));
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
    // A log that never recorded its configuration was made under the defaults and the first policy.
    let first_config = log.iter().find(|e| e.kind == CONFIG_EVENT);
    let (config, recorded) = match first_config {
        Some(c) => (
            EngineConfig::default().with_recorded(&c.payload)?,
            Some(c.payload.clone()),
        ),
        None => (
            EngineConfig {
                policy_version: Some(1),
                ..EngineConfig::default()
            },
            None,
        ),
    };
    let engine = Engine::start(store.clone(), clock.clone(), config.clone())
        .await?
        .engine;
    let mut r = Replay {
        engine,
        store: store.clone(),
        clock,
        config,
        recorded,
        hooks: Webhooks::new(crate::webhooks::Settings {
            allow_private: true,
            ..Default::default()
        }),
        source,
        photos,
        ids: Ids::default(),
        resolved: HashSet::new(),
    };
    let original: Vec<&StoredEvent> = log.iter().filter(|e| !is_driving(&e.kind)).collect();
    let mut replayed: Vec<StoredEvent> = Vec::new();
    let mut cursor = 0;
    let mut i = 0;
    while i < log.len() {
        let e = &log[i];
        let at = from_ms(e.at_ms);
        // The clock moves to each event's time, firing the timers due on the way each at its own instant (a
        // driver that stepped the clock, or the system clock, wrote no `clock_set` for it). It is not recorded:
        // only the log's own `clock_set` events are issued as clock moves.
        if !is_driving(&e.kind) && at > r.engine.now() {
            while r.engine.step_clock(at).await?.is_some() {}
            sync(&r.engine, &mut cursor, &original, &mut replayed, &mut r.ids).await?;
        }
        // Consecutive worker creations of one import go in again as one import.
        let n = if e.kind == "worker_created" {
            let mut j = i;
            while j < log.len()
                && log[j].kind == "worker_created"
                && log[j].at_ms == e.at_ms
                && log[j].agency == e.agency
            {
                j += 1;
            }
            let batch: Vec<StoredEvent> = log[i..j].iter().map(|x| r.ids.event(x)).collect();
            let outcome = match batch[0].agency {
                Some(a) => r.import(AgencyId::new(a as u64), &batch).await,
                None => Err(bad(e, "no agency")),
            };
            note(&mut report, e, outcome.map(|()| Issued::Input), j - i)?;
            j - i
        } else {
            let outcome = issue(&mut r, e).await;
            note(&mut report, e, outcome, 1)?;
            1
        };
        sync(&r.engine, &mut cursor, &original, &mut replayed, &mut r.ids).await?;
        i += n;
    }
    if let Some(end) = final_ms.map(from_ms)
        && end > r.engine.now()
    {
        r.engine.advance_clock(end).await?;
    }
    sync(&r.engine, &mut cursor, &original, &mut replayed, &mut r.ids).await?;
    let original: Vec<StoredEvent> = original.iter().map(|e| r.ids.event(e)).collect();
    let (differences, first) = compare(
        &original,
        &replayed,
        SHOWN.saturating_sub(report.first.len()),
    );
    report.differences += differences;
    report.first.extend(first);
    Ok(report)
}

/// Counts what issuing an event did. A refused input is a difference (the original accepted it); an error
/// of the replay itself (a malformed event, the database) ends it.
fn note(
    report: &mut ReplayReport,
    e: &StoredEvent,
    outcome: crate::Result<Issued>,
    n: usize,
) -> crate::Result<()> {
    match outcome {
        Ok(Issued::Input) => report.inputs += n,
        Ok(Issued::Not) => {}
        Ok(Issued::Unknown) => {
            report.unsupported += n;
            if report.first.len() < SHOWN {
                report.first.push(format!(
                    "event {} ({}) is of a kind the replay does not know",
                    e.seq, e.kind
                ));
            }
        }
        Err(Error::Internal(m)) => return Err(Error::Internal(m)),
        Err(err) => {
            report.inputs += n;
            report.differences += 1;
            if report.first.len() < SHOWN {
                report.first.push(format!(
                    "event {} ({}) was refused on replay: {err}",
                    e.seq, e.kind
                ));
            }
        }
    }
    Ok(())
}

/// Reads the replay's new events (without those that drive it) and learns the ids they make, each against
/// the original's event at the same position.
async fn sync(
    engine: &Engine,
    cursor: &mut i64,
    original: &[&StoredEvent],
    replayed: &mut Vec<StoredEvent>,
    ids: &mut Ids,
) -> crate::Result<()> {
    // The engine applies its own commits before it answers: nothing new below its position.
    if engine.applied_seq() <= *cursor {
        return Ok(());
    }
    loop {
        let page = crate::store::events::read(engine.store().pool(), *cursor, 10_000).await?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        *cursor = last.seq;
        for e in page.into_iter().filter(|e| !is_driving(&e.kind)) {
            if let Some(o) = original.get(replayed.len()) {
                ids.learn(o, &e);
            }
            replayed.push(e);
        }
    }
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
    fn ids_made_at_the_same_position_map_the_originals_to_the_replays() {
        let mut ids = Ids::default();
        ids.learn(
            &ev(
                1,
                "offer_sent",
                json!({"offer": "ofr_7", "worker": "wrk_1"}),
            ),
            &ev(
                1,
                "offer_sent",
                json!({"offer": "ofr_5", "worker": "wrk_1"}),
            ),
        );
        ids.learn(
            &ev(2, "on_call_joined", json!({"id": 9})),
            &ev(2, "on_call_joined", json!({"id": 4})),
        );
        // Another kind at the same position teaches nothing.
        ids.learn(
            &ev(3, "assignment_made", json!({"assignment": "asg_9"})),
            &ev(3, "offer_sent", json!({"offer": "ofr_9"})),
        );
        let closed = ids.event(&ev(
            4,
            "offer_closed",
            json!({"offer": "ofr_7", "n": ["ofr_7"]}),
        ));
        assert_eq!(closed.payload, json!({"offer": "ofr_5", "n": ["ofr_5"]}));
        let left = ids.event(&ev(5, "on_call_left", json!({"id": 9})));
        assert_eq!(left.payload, json!({"id": 4}));
        let other = ids.event(&ev(6, "offer_closed", json!({"offer": "ofr_9"})));
        assert_eq!(other.payload, json!({"offer": "ofr_9"}));
    }

    #[test]
    fn a_timesheet_is_mapped_from_the_id_inside_the_submitted_timesheet() {
        let mut ids = Ids::default();
        ids.learn(
            &ev(
                1,
                "timesheet_submitted",
                json!({"timesheet": {"id": "tms_9"}}),
            ),
            &ev(
                1,
                "timesheet_submitted",
                json!({"timesheet": {"id": "tms_4"}}),
            ),
        );
        let approved = ids.event(&ev(
            2,
            "timesheet_approved",
            json!({"timesheet": "tms_9", "by": "agency"}),
        ));
        assert_eq!(approved.payload["timesheet"], "tms_4");
    }

    fn promoter(i: usize) -> String {
        json!({
            "external_ref": format!("P-{i}"), "name": format!("Promoter {i}"),
            "home": {"lat": 31.2 + 0.009 * i as f64, "lon": 121.58}, "max_travel_km": 30,
            "skills": [{"name": "promoter", "level": 3}], "languages": ["zh", "en"],
            "timezone": "Asia/Shanghai",
        })
        .to_string()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_log_whose_configuration_changed_at_a_restart_replays_under_each() {
        let dir = tempfile::tempdir().unwrap();
        let url = |n: &str| format!("sqlite://{}", dir.path().join(n).display());
        let (from, into) = (url("a.db"), url("b.db"));
        let store = Store::connect(&from).await.unwrap();
        store.migrate().await.unwrap();
        let start = from_ms(1_795_420_800_000); // 2026-11-23T08:00:00Z
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(start));
        let first = Engine::start(store.clone(), clock.clone(), EngineConfig::default())
            .await
            .unwrap()
            .engine;
        let agency = first.create_agency("a").await.unwrap().id;
        first
            .import_workers(agency, &format!("{}\n{}", promoter(0), promoter(1)))
            .await
            .unwrap();
        drop(first);
        // Started again, never asking again a worker whose offer expired.
        let engine = Engine::start(
            store,
            clock,
            EngineConfig {
                reoffer_after_min: Some(0),
                ..EngineConfig::default()
            },
        )
        .await
        .unwrap()
        .engine;
        let order = json!({
            "client_ref": "acme", "title": "Expo",
            "venue": {"name": "Hall 3", "lat": 31.1912, "lon": 121.5804, "geofence_m": 300},
            "start": "2026-11-28T09:00:00+08:00", "end": "2026-11-28T18:00:00+08:00",
            "roles": [{"name": "promoter", "headcount": 2, "skills": ["promoter"], "pay_per_hour": 30}],
            "dispatch": {"mode": "offer", "offer_ttl_s": 900, "fanout": 2},
        });
        engine
            .post_order(agency, serde_json::from_value(order).unwrap())
            .await
            .unwrap();
        engine
            .advance_clock(start + chrono::Duration::minutes(20))
            .await
            .unwrap();
        engine
            .advance_clock(start + chrono::Duration::minutes(90))
            .await
            .unwrap();
        let log = all_events(engine.store()).await.unwrap();
        let configs = log.iter().filter(|e| e.kind == CONFIG_EVENT).count();
        assert_eq!(configs, 2);
        assert!(log.iter().any(|e| e.kind == "order_at_risk"));
        assert!(log.iter().all(|e| e.kind != "offers_reopened"));
        let report = run(&from, &into).await.unwrap();
        assert_eq!(report.differences, 0, "{report}");
        assert_eq!(report.unsupported, 0, "{report}");
    }

    #[test]
    fn a_placeholder_passes_for_its_type_at_its_size() {
        assert!(placeholder("image/png", 100).starts_with(b"\x89PNG"));
        assert_eq!(placeholder("image/png", 100).len(), 100);
        assert_eq!(&placeholder("image/webp", 40)[8..12], b"WEBP");
        assert!(placeholder("image/jpeg", 1).starts_with(&[0xFF, 0xD8, 0xFF]));
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
