//! The JSON shapes of SLA tiers: an agency's tier configuration (`/v1/agency/sla-tiers`, the `sla_tiers_set`
//! event), a client's tier (`/v1/clients/{client_ref}`), an order's SLA, and the SLA report.

use serde::{Deserialize, Serialize};

use crate::domain::sla::{SlaConfig, SlaTier};
use crate::domain::time::format_instant;
use crate::error::FieldError;

/// One tier as sent and answered.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaTierBody {
    /// The tier's name (`P0`): 1 to 32 letters, digits, `_` or `-`, unique.
    pub name: String,
    /// Fully staffed within this many minutes of posting (1 to 43200), never later than the shift's start;
    /// `null` (the default): by the shift's start.
    #[serde(default)]
    pub within_minutes: Option<i64>,
    /// The order's fanout is raised to at least this (1 to 50; default 1: the order's own).
    #[serde(default)]
    pub fanout: Option<i64>,
    /// The order's offer TTL is lowered to at most this many seconds (30 to 604800); `null`: the order's own.
    #[serde(default)]
    pub offer_ttl_s: Option<i64>,
    /// `star` workers take precedence on the tier's orders (dispatched at `high` priority at least);
    /// default false.
    #[serde(default)]
    pub stars_first: Option<bool>,
}

/// An agency's tier configuration as sent (`PUT`) and answered (`GET`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaConfigBody {
    /// The tiers, 1 to 10, most urgent first.
    pub tiers: Vec<SlaTierBody>,
    /// The tier of clients without one of their own; `null`: their orders have no SLA.
    #[serde(default)]
    pub default_tier: Option<String>,
    /// An unstaffed order is flagged at risk when this percentage (1 to 90) of the span from its posting to its
    /// target is left; default 25.
    #[serde(default)]
    pub at_risk_lead_pct: Option<i64>,
}

fn narrow(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

impl SlaConfigBody {
    /// Checks the configuration; problems name their fields.
    pub fn parse(&self) -> Result<SlaConfig, Vec<FieldError>> {
        let tiers = self
            .tiers
            .iter()
            .map(|t| SlaTier {
                name: t.name.clone(),
                within_min: t.within_minutes.map(narrow),
                fanout: t.fanout.map_or(1, narrow),
                offer_ttl_s: t.offer_ttl_s.map(narrow),
                stars_first: t.stars_first.unwrap_or(false),
            })
            .collect();
        SlaConfig::new(
            tiers,
            self.default_tier.clone(),
            self.at_risk_lead_pct.unwrap_or(25),
        )
    }

    /// The shape of a configuration.
    pub fn from_config(c: &SlaConfig) -> Self {
        SlaConfigBody {
            tiers: c
                .tiers
                .iter()
                .map(|t| SlaTierBody {
                    name: t.name.clone(),
                    within_minutes: t.within_min.map(i64::from),
                    fanout: Some(i64::from(t.fanout)),
                    offer_ttl_s: t.offer_ttl_s.map(i64::from),
                    stars_first: Some(t.stars_first),
                })
                .collect(),
            default_tier: c.default_tier.clone(),
            at_risk_lead_pct: Some(i64::from(c.at_risk_lead_pct)),
        }
    }
}

/// An order's SLA, fixed when it was posted.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrderSlaView {
    /// The client's tier at posting.
    pub tier: String,
    /// Fully staffed by this instant, UTC.
    pub target_at: String,
    /// Flagged at risk (reason `sla`) at this instant if not fully staffed by then, UTC.
    pub at_risk_at: String,
    /// `pending` (target ahead, not yet staffed), `met` (fully staffed by the target), `missed`, or
    /// `cancelled` (the order was cancelled before either).
    pub status: String,
    /// When the order was first fully staffed, UTC.
    pub staffed_at: Option<String>,
    /// When the target passed unstaffed, UTC.
    pub missed_at: Option<String>,
}

impl OrderSlaView {
    /// The view of a stored SLA of an order in `order_status`.
    pub fn of(s: &crate::store::sla::OrderSlaRow, order_status: &str) -> Self {
        let at = |v: i64| format_instant(crate::engine::from_ms(v));
        let status = match (s.staffed_at, s.missed_at) {
            (Some(t), _) if t <= s.target_at => "met",
            (Some(_), _) | (None, Some(_)) => "missed",
            (None, None) if order_status == "cancelled" => "cancelled",
            (None, None) => "pending",
        };
        OrderSlaView {
            tier: s.tier.clone(),
            target_at: at(s.target_at),
            at_risk_at: at(s.alert_at),
            status: status.into(),
            staffed_at: s.staffed_at.map(at),
            missed_at: s.missed_at.map(at),
        }
    }
}

/// The SLA figures of a client and tier, or of a tier over all its clients.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaReportRow {
    /// The client (`""` for orders without one); absent in the per-tier totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<String>,
    /// The tier the orders took at posting.
    pub tier: String,
    /// Orders with this tier posted in the period, not cancelled before their target was decided.
    pub orders: u64,
    /// Orders cancelled before their target was met or missed (not counted in `orders`).
    pub cancelled: u64,
    /// Orders fully staffed by their target.
    pub met: u64,
    /// Orders not fully staffed by their target.
    pub missed: u64,
    /// Orders whose target is still ahead, not yet fully staffed.
    pub pending: u64,
    /// `met / (met + missed)`; `null` while no target has been decided.
    pub staffed_within_target: Option<f64>,
    /// Median time from posting to fully staffed, whole seconds, over the orders that were (nearest rank:
    /// the lower of the two middle times for an even count); `null` if none was.
    pub median_time_to_fill_s: Option<i64>,
    /// 95th percentile (nearest rank) of the same times, whole seconds.
    pub p95_time_to_fill_s: Option<i64>,
    /// Slots (headcounts) of the orders that have started.
    pub slots_due: u64,
    /// Of those, the slots that had a worker confirmed at the start.
    pub slots_filled_at_start: u64,
    /// `slots_filled_at_start / slots_due`; `null` before any order has started.
    pub fill_rate_at_start: Option<f64>,
    /// Shift assignments of the orders marked no-show.
    pub no_shows: u64,
    /// Assignments made to replace a lost worker (a standby promoted or an urgent offer accepted).
    pub replacements: u64,
}

impl SlaReportRow {
    /// The row of a group's figures.
    pub fn of(client_ref: Option<String>, tier: String, f: &crate::engine::SlaFigures) -> Self {
        SlaReportRow {
            client_ref,
            tier,
            orders: f.orders,
            cancelled: f.cancelled,
            met: f.met,
            missed: f.missed,
            pending: f.pending,
            staffed_within_target: f.share_met(),
            median_time_to_fill_s: f.fill_percentile_s(50),
            p95_time_to_fill_s: f.fill_percentile_s(95),
            slots_due: f.slots_due,
            slots_filled_at_start: f.slots_filled_at_start,
            fill_rate_at_start: f.fill_rate_at_start(),
            no_shows: f.no_shows,
            replacements: f.replacements,
        }
    }
}

/// The SLA report of a period.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaReportView {
    /// The period's start (orders posted at or after it), UTC.
    pub from: String,
    /// The period's end (orders posted before it), UTC.
    pub to: String,
    /// Per client and tier, by client then tier.
    pub items: Vec<SlaReportRow>,
    /// Per tier over all clients, in the agency's tier order.
    pub tiers: Vec<SlaReportRow>,
}

impl SlaReportView {
    /// The view of a report.
    pub fn of(
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
        r: &crate::engine::SlaReport,
    ) -> Self {
        SlaReportView {
            from: format_instant(from),
            to: format_instant(to),
            items: r
                .by_client
                .iter()
                .map(|(c, t, f)| SlaReportRow::of(Some(c.clone()), t.clone(), f))
                .collect(),
            tiers: r
                .by_tier
                .iter()
                .map(|(t, f)| SlaReportRow::of(None, t.clone(), f))
                .collect(),
        }
    }
}
