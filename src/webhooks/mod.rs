//! Webhooks: an agency's endpoints that get its events pushed as they happen. Each webhook is another reader
//! of the one log: it keeps its own cursor in the log (`webhooks.log_cursor`), the events of its kinds after
//! that cursor become delivery rows, and the sender (`sender.rs`) posts them, signed (`signing.rs`), at least
//! once, in log order per order, retrying on the engine's clock (`policy.rs`). Everything it needs to resume —
//! the cursors and the deliveries — is in the database, so a restarted node, or another node, carries on
//! where the last one stopped. One node delivers at a time (`lease.rs`).
//!
//! The agency's commands (create, change, delete, rotate the secret) are here too: they write the webhook's
//! row and an event of the agency's feed in one transaction, like every command of the engine.

pub mod address;
mod lease;
pub mod policy;
mod sender;
pub mod signing;
pub mod store;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::json;

use crate::domain::AgencyId;
use crate::engine::{Engine, ms};
use crate::error::{Error, FieldError};
use crate::wire::webhooks::{NewWebhook, WebhookPatch, webhook_id};
pub use policy::Policy;
pub use sender::spawn;
use store::{DeliveryRow, WebhookRow};

/// The event kinds of an agency's feed (those `GET /v1/events` shows) that a webhook may ask for, besides
/// `"*"` for all of them.
pub const EVENT_KINDS: &[&str] = &[
    "agency_created",
    "agency_key_created",
    "agency_key_revoked",
    "agency_settings_changed",
    "assignment_at_risk",
    "assignment_ended",
    "assignment_made",
    "assignment_reconfirmed",
    "availability_set",
    "checked_in",
    "checked_out",
    "client_link_created",
    "client_lists_set",
    "client_tier_set",
    "client_link_revoked",
    "late_cancellation",
    "offer_by_hand",
    "offer_closed",
    "offer_sent",
    "offers_reopened",
    "on_call_invite_accepted",
    "on_call_invite_declined",
    "on_call_invited",
    "on_call_invites_requested",
    "on_call_joined",
    "on_call_left",
    "order_at_risk",
    "order_patched",
    "order_posted",
    "order_risk_cleared",
    "order_status",
    "order_widened",
    "photo_added",
    "pre_shift_signal",
    "pool_deleted",
    "pool_set",
    "rated",
    "reconfirmation_requested",
    "review_opened",
    "review_overdue",
    "review_resolved",
    "series_accepted",
    "series_cancelled",
    "series_offered",
    "series_patched",
    "series_posted",
    "settlement_closed",
    "settlement_paid",
    "sla_at_risk",
    "sla_missed",
    "sla_staffed",
    "sla_tiers_set",
    "standby_promoted",
    "timesheet_approved",
    "timesheet_corrected",
    "timesheet_disputed",
    "timesheet_submitted",
    "webhook_created",
    "webhook_deleted",
    "webhook_disabled",
    "webhook_secret_rotated",
    "webhook_updated",
    "worker_created",
    "worker_deleted",
    "worker_stats",
    "worker_status",
    "worker_token_issued",
    "worker_updated",
];

/// The most webhooks an agency may have.
pub const MAX_PER_AGENCY: usize = 20;

/// What the operator decides about webhooks.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Whether URLs may point at loopback, private, link-local and other reserved addresses (for tests and
    /// receivers inside the operator's own network).
    pub allow_private: bool,
    /// Retries and disabling.
    pub policy: Policy,
}

/// What this node has done delivering, for `/metrics`.
#[derive(Default)]
struct Counters {
    succeeded: AtomicU64,
    failed: AtomicU64,
    given_up: AtomicU64,
    disabled: AtomicU64,
}

/// The webhooks of a node: its settings, its HTTP client and its counters. The sender runs over it
/// ([`spawn`]); the HTTP layer reaches it to check URLs, wake the sender and render metrics.
pub struct Webhooks {
    settings: Settings,
    client: reqwest::Client,
    kick: tokio::sync::Notify,
    counters: Counters,
}

impl Webhooks {
    /// The webhooks of a node with these settings.
    pub fn new(settings: Settings) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            // A proxy would resolve the host itself, past the address checks.
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(address::GuardedResolver {
                allow_private: settings.allow_private,
            }))
            .user_agent(concat!("crewcall-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the webhook HTTP client builds");
        Webhooks {
            settings,
            client,
            kick: tokio::sync::Notify::new(),
            counters: Counters::default(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Wakes this node's sender (after a webhook was made or changed here; other nodes' senders wake on the
    /// event in the log).
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Appends the webhook metrics in Prometheus text format: the delivery lag (by the engine's clock), the
    /// deliveries by status, and this node's attempts by outcome.
    pub async fn render_metrics(&self, engine: &Engine, out: &mut String) {
        use std::fmt::Write as _;
        let pool = engine.store().pool();
        let lag = match store::oldest_undelivered(pool).await {
            Ok(Some(at)) => ((ms(engine.now()) - at).max(0) as f64) / 1000.0,
            Ok(None) => 0.0,
            Err(e) => {
                tracing::warn!(error = %e, "reading the webhook delivery lag failed");
                return;
            }
        };
        let _ = writeln!(
            out,
            "# HELP crewcall_webhook_delivery_lag_seconds Age of the oldest event an active webhook has not yet delivered (0 when none)."
        );
        let _ = writeln!(out, "# TYPE crewcall_webhook_delivery_lag_seconds gauge");
        let _ = writeln!(out, "crewcall_webhook_delivery_lag_seconds {lag}");
        let _ = writeln!(
            out,
            "# HELP crewcall_webhook_deliveries Webhook deliveries kept, by status."
        );
        let _ = writeln!(out, "# TYPE crewcall_webhook_deliveries gauge");
        for (status, n) in store::counts(pool).await.unwrap_or_default() {
            let _ = writeln!(
                out,
                "crewcall_webhook_deliveries{{status=\"{status}\"}} {n}"
            );
        }
        let c = &self.counters;
        let _ = writeln!(
            out,
            "# HELP crewcall_webhook_attempts_total Delivery attempts made by this node, by outcome."
        );
        let _ = writeln!(out, "# TYPE crewcall_webhook_attempts_total counter");
        for (outcome, n) in [("success", &c.succeeded), ("failure", &c.failed)] {
            let _ = writeln!(
                out,
                "crewcall_webhook_attempts_total{{outcome=\"{outcome}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP crewcall_webhook_deliveries_given_up_total Deliveries this node gave up after a day of retries."
        );
        let _ = writeln!(
            out,
            "# TYPE crewcall_webhook_deliveries_given_up_total counter"
        );
        let _ = writeln!(
            out,
            "crewcall_webhook_deliveries_given_up_total {}",
            c.given_up.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP crewcall_webhooks_disabled_total Webhooks this node disabled because their endpoint kept failing."
        );
        let _ = writeln!(out, "# TYPE crewcall_webhooks_disabled_total counter");
        let _ = writeln!(
            out,
            "crewcall_webhooks_disabled_total {}",
            c.disabled.load(Ordering::Relaxed)
        );
    }
}

/// Checks a list of event kinds; the list as stored (`["*"]` when it names every kind), or its errors.
fn check_kinds(kinds: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if kinds.is_empty() {
        errors.push(FieldError::new(
            "events",
            "must name at least one event kind, or \"*\"",
        ));
    }
    if kinds.len() > EVENT_KINDS.len() + 1 {
        errors.push(FieldError::new(
            "events",
            format!("at most {} entries", EVENT_KINDS.len() + 1),
        ));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        if k != "*" && !EVENT_KINDS.contains(&k.as_str()) {
            errors.push(FieldError::new(
                format!("events[{i}]"),
                "is not an event kind of the agency's feed (see GET /v1/events), nor \"*\"",
            ));
        } else if !out.contains(k) {
            out.push(k.clone());
        }
    }
    if out.iter().any(|k| k == "*") {
        return vec!["*".into()];
    }
    out.sort();
    out
}

/// The payload of a webhook's events in the feed (never its secret).
fn event_payload(w: &WebhookRow) -> serde_json::Value {
    json!({"webhook": webhook_id(w.id), "url": w.url, "events": w.kinds(), "status": w.status})
}

/// Commits a webhook command's transaction and applies its events to this node's views.
async fn commit(engine: &Engine, tx: crate::store::Tx) -> crate::Result<()> {
    let events = tx.commit().await?;
    engine.absorb(events).await;
    Ok(())
}

/// Makes a webhook for the agency; its row, secret included (shown once).
#[tracing::instrument(skip_all, fields(agency = %agency))]
pub async fn create(
    engine: &Engine,
    hooks: &Webhooks,
    agency: AgencyId,
    req: &NewWebhook,
) -> crate::Result<WebhookRow> {
    let mut errors = Vec::new();
    let kinds = check_kinds(&req.events, &mut errors);
    let url = address::check(&req.url, hooks.settings.allow_private)
        .await
        .map_err(|e| errors.push(e))
        .ok();
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let url = url.map(|u| u.to_string()).unwrap_or_default();
    let events = serde_json::to_string(&kinds).expect("a list of strings");
    let secret = signing::new_secret();
    let now = ms(engine.now());
    let a = agency.get() as i64;
    if store::list(engine.store().pool(), a, 0, MAX_PER_AGENCY as i64)
        .await?
        .len()
        >= MAX_PER_AGENCY
    {
        return Err(Error::Conflict(format!(
            "the agency already has {MAX_PER_AGENCY} webhooks; delete one first"
        )));
    }
    let mut tx = engine.store().begin().await?;
    // Events committed before the webhook existed are not delivered; everything after is.
    let cursor = store::log_head(&mut tx).await?;
    let id = store::insert(&mut tx, a, &url, &events, &secret, cursor, now).await?;
    let row = store::get(tx.conn().await?, a, id)
        .await?
        .ok_or_else(|| Error::Internal("a webhook just made is missing".into()))?;
    crate::store::events::append(
        &mut tx,
        now,
        Some(agency.get()),
        "webhook_created",
        &event_payload(&row),
    )
    .await?;
    commit(engine, tx).await?;
    hooks.kick();
    Ok(row)
}

/// An agency's webhook (404 for another's).
pub async fn get(engine: &Engine, agency: AgencyId, id: i64) -> crate::Result<WebhookRow> {
    store::get(engine.store().pool(), agency.get() as i64, id)
        .await?
        .ok_or_else(|| Error::NotFound("webhook".into()))
}

/// A page of an agency's webhooks after id `after`.
pub async fn list(
    engine: &Engine,
    agency: AgencyId,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<WebhookRow>> {
    store::list(engine.store().pool(), agency.get() as i64, after, limit).await
}

/// Changes a webhook's URL, kinds or status. Setting `active` re-enables a disabled or paused webhook: its run
/// of failures is forgotten and its pending deliveries are due at once, each with a fresh day of retries.
#[tracing::instrument(skip_all, fields(agency = %agency, webhook = id))]
pub async fn patch(
    engine: &Engine,
    hooks: &Webhooks,
    agency: AgencyId,
    id: i64,
    req: &WebhookPatch,
) -> crate::Result<WebhookRow> {
    let mut errors = Vec::new();
    let kinds = req.events.as_ref().map(|k| check_kinds(k, &mut errors));
    if let Some(s) = &req.status
        && !matches!(s.as_str(), "active" | "paused")
    {
        errors.push(FieldError::new(
            "status",
            "must be active or paused (only crewcall disables a webhook)",
        ));
    }
    let url = match &req.url {
        Some(u) => address::check(u, hooks.settings.allow_private)
            .await
            .map_err(|e| errors.push(e))
            .ok()
            .map(|u| u.to_string()),
        None => None,
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let now = ms(engine.now());
    let a = agency.get() as i64;
    let mut tx = engine.store().begin().await?;
    let Some(mut w) = store::get(tx.conn().await?, a, id).await? else {
        return Err(Error::NotFound("webhook".into()));
    };
    if let Some(u) = url {
        w.url = u;
    }
    if let Some(k) = kinds {
        w.events = serde_json::to_string(&k).expect("a list of strings");
    }
    let resumed = match req.status.as_deref() {
        Some("active") if w.status != "active" => {
            w.status = "active".into();
            w.failures = 0;
            w.failing_since = None;
            w.disabled_at = None;
            true
        }
        Some("paused") => {
            w.status = "paused".into();
            w.disabled_at = None;
            false
        }
        _ => false,
    };
    w.updated_at = now;
    store::update(&mut tx, &w).await?;
    if resumed {
        store::resume(&mut tx, id, now).await?;
    }
    crate::store::events::append(
        &mut tx,
        now,
        Some(agency.get()),
        "webhook_updated",
        &event_payload(&w),
    )
    .await?;
    commit(engine, tx).await?;
    hooks.kick();
    Ok(w)
}

/// Gives a webhook a new signing secret (shown once); the old one stops signing at once.
#[tracing::instrument(skip_all, fields(agency = %agency, webhook = id))]
pub async fn rotate_secret(
    engine: &Engine,
    agency: AgencyId,
    id: i64,
) -> crate::Result<WebhookRow> {
    let now = ms(engine.now());
    let mut tx = engine.store().begin().await?;
    let Some(mut w) = store::get(tx.conn().await?, agency.get() as i64, id).await? else {
        return Err(Error::NotFound("webhook".into()));
    };
    w.secret = signing::new_secret();
    w.updated_at = now;
    store::update(&mut tx, &w).await?;
    crate::store::events::append(
        &mut tx,
        now,
        Some(agency.get()),
        "webhook_secret_rotated",
        &json!({"webhook": webhook_id(id)}),
    )
    .await?;
    commit(engine, tx).await?;
    Ok(w)
}

/// Deletes a webhook and the deliveries it still owed.
#[tracing::instrument(skip_all, fields(agency = %agency, webhook = id))]
pub async fn delete(engine: &Engine, agency: AgencyId, id: i64) -> crate::Result<()> {
    let now = ms(engine.now());
    let mut tx = engine.store().begin().await?;
    if !store::delete(&mut tx, agency.get() as i64, id).await? {
        return Err(Error::NotFound("webhook".into()));
    }
    crate::store::events::append(
        &mut tx,
        now,
        Some(agency.get()),
        "webhook_deleted",
        &json!({"webhook": webhook_id(id)}),
    )
    .await?;
    commit(engine, tx).await
}

/// Disables a webhook as a log recorded it (`crewcall replay` issues the disabling again: an endpoint's
/// failures happened outside, and a replay sends nothing). The event carries what the recorded one did, with
/// this database's webhook id and URL.
pub async fn disable_as_recorded(
    engine: &Engine,
    agency: AgencyId,
    id: i64,
    recorded: &serde_json::Value,
) -> crate::Result<()> {
    let now = ms(engine.now());
    let mut tx = engine.store().begin().await?;
    let Some(w) = store::get(tx.conn().await?, agency.get() as i64, id).await? else {
        return Err(Error::NotFound("webhook".into()));
    };
    if !store::disable(&mut tx, id, now).await? {
        return Err(Error::Conflict(format!(
            "the webhook is {}, not active",
            w.status
        )));
    }
    let mut payload = recorded.clone();
    payload["webhook"] = json!(webhook_id(id));
    payload["url"] = json!(w.url);
    payload["status"] = json!("disabled");
    crate::store::events::append(
        &mut tx,
        now,
        Some(agency.get()),
        "webhook_disabled",
        &payload,
    )
    .await?;
    commit(engine, tx).await
}

/// Statuses of a delivery.
pub const DELIVERY_STATUSES: &[&str] = &["pending", "delivered", "failed"];

/// A page of a webhook's deliveries after event position `after`, in log order (404 for another agency's
/// webhook).
pub async fn deliveries(
    engine: &Engine,
    agency: AgencyId,
    id: i64,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> crate::Result<Vec<DeliveryRow>> {
    get(engine, agency, id).await?;
    store::deliveries(engine.store().pool(), id, status, after, limit).await
}
