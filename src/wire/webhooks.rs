//! The JSON shapes of webhooks: the agency's requests and answers about its endpoints and their deliveries,
//! and the body of one delivery (an item of `GET /v1/events` plus what a receiver needs).

use serde::{Deserialize, Serialize};

use crate::domain::time::format_instant;
use crate::engine::from_ms;
use crate::store::events::StoredEvent;
use crate::webhooks::store::{DeliveryRow, WebhookRow};

/// `POST /v1/webhooks`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where deliveries are sent: `http` or `https`, without credentials; at most 2,048 characters.
    pub url: String,
    /// Event kinds of the agency's feed to deliver (those `GET /v1/events` shows), or `["*"]` for every kind.
    pub events: Vec<String>,
}

/// `PATCH /v1/webhooks/{id}`: any of the fields.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    /// A new URL (checked as at creation).
    pub url: Option<String>,
    /// New event kinds (or `["*"]`).
    pub events: Option<Vec<String>>,
    /// `active` (re-enables a disabled or paused webhook: it resumes where it left off) or `paused`.
    pub status: Option<String>,
}

/// A webhook as its agency sees it. The signing secret appears only in the answers that made it (creation and
/// rotation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    /// The webhook (`whk_…`).
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event kinds delivered (`["*"]`: every kind).
    pub events: Vec<String>,
    /// `active`, `paused` (by the agency) or `disabled` (by crewcall, after the endpoint kept failing).
    pub status: String,
    /// Failed attempts in a row since the last success.
    pub consecutive_failures: i64,
    /// When the current run of failures began, UTC; `null` after a success.
    pub failing_since: Option<String>,
    /// When crewcall disabled it, UTC; `null` unless `disabled`.
    pub disabled_at: Option<String>,
    /// Made, UTC.
    pub created_at: String,
    /// Last changed, UTC.
    pub updated_at: String,
    /// The signing secret (`whsec_…`), only in the answer that made it: keep it, it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl WebhookView {
    /// The view of a stored webhook, with the secret only when `with_secret`.
    pub fn of(row: &WebhookRow, with_secret: bool) -> Self {
        let t = |ms: i64| format_instant(from_ms(ms));
        WebhookView {
            id: webhook_id(row.id),
            url: row.url.clone(),
            events: row.kinds(),
            status: row.status.clone(),
            consecutive_failures: row.failures,
            failing_since: row.failing_since.map(t),
            disabled_at: row.disabled_at.map(t),
            created_at: t(row.created_at),
            updated_at: t(row.updated_at),
            secret: with_secret.then(|| row.secret.clone()),
        }
    }
}

/// One delivery: an event owed to a webhook and what became of it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    /// The event's id (`evt_<seq>`), the same in every attempt: what a receiver deduplicates on.
    pub event_id: String,
    /// The event's position in the log.
    pub seq: i64,
    /// The event's kind.
    pub kind: String,
    /// The order the event concerns (its deliveries go in log order), `null` for events of no order.
    pub order: Option<String>,
    /// `pending` (not yet delivered; retried), `delivered` or `failed` (given up after the retries).
    pub status: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// The HTTP status of the last attempt, when the endpoint answered.
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed, when it did not get an answer (timeout, connection refused, …).
    pub last_error: Option<String>,
    /// When the last attempt was made, UTC.
    pub last_attempt_at: Option<String>,
    /// When the next attempt is due, UTC (by the server's clock); `null` unless `pending`.
    pub next_attempt_at: Option<String>,
    /// When it was delivered, UTC.
    pub delivered_at: Option<String>,
}

impl From<&DeliveryRow> for DeliveryView {
    fn from(d: &DeliveryRow) -> Self {
        let t = |ms: i64| format_instant(from_ms(ms));
        DeliveryView {
            event_id: event_id(d.seq),
            seq: d.seq,
            kind: d.kind.clone(),
            order: (!d.lane.is_empty()).then(|| d.lane.clone()),
            status: d.status.clone(),
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error.clone(),
            last_attempt_at: d.last_attempt_at.map(t),
            next_attempt_at: (d.status == "pending").then(|| t(d.next_attempt_at)),
            delivered_at: d.delivered_at.map(t),
        }
    }
}

/// The body of a delivery: the event as an item of `GET /v1/events` (`seq`, `at`, `kind`, `data`), plus its id
/// and the webhook it was sent for. The same bytes in every attempt.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryBody<'a> {
    /// The event's id (`evt_<seq>`), also in the `Crewcall-Event-Id` header.
    pub id: String,
    /// The webhook (`whk_…`).
    pub webhook_id: String,
    /// The event's position in the log.
    pub seq: i64,
    /// When it happened, UTC.
    pub at: String,
    /// What happened.
    pub kind: &'a str,
    /// The event's data, as the log holds it.
    pub data: &'a serde_json::Value,
}

impl<'a> DeliveryBody<'a> {
    /// The body delivering `event` for webhook `webhook`.
    pub fn of(webhook: i64, event: &'a StoredEvent) -> Self {
        DeliveryBody {
            id: event_id(event.seq),
            webhook_id: webhook_id(webhook),
            seq: event.seq,
            at: format_instant(from_ms(event.at_ms)),
            kind: &event.kind,
            data: &event.payload,
        }
    }
}

/// The wire id of a webhook.
pub fn webhook_id(id: i64) -> String {
    format!("whk_{id:x}")
}

/// The webhook id of its wire form; `None` for anything else.
pub fn parse_webhook_id(raw: &str) -> Option<i64> {
    raw.strip_prefix("whk_")
        .filter(|h| !h.is_empty() && h.len() <= 15 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .filter(|n| *n > 0)
}

/// The wire id of an event, which receivers deduplicate on.
pub fn event_id(seq: i64) -> String {
    format!("evt_{seq}")
}
