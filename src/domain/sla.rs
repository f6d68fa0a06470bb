//! SLA tiers: the service levels an agency sells its clients. A tier promises that an order is fully staffed
//! within a span of its posting (capped by the shift's start), or by the shift's start, and raises the
//! order's dispatch urgency (a floor on the fanout, a cap on the offer TTL, `star` workers first). An order
//! takes its client's tier when it is posted and keeps it.

use chrono::{DateTime, Duration, Utc};

use super::order::{Order, Priority};
use crate::error::FieldError;

/// At most this many tiers an agency.
pub const MAX_TIERS: usize = 10;
/// The longest target, in minutes (30 days).
pub const MAX_WITHIN_MIN: u32 = 43_200;

/// One tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaTier {
    /// Its name (`P0`), 1 to 32 letters, digits, `_` or `-`; unique within the agency.
    pub name: String,
    /// Fully staffed within this many minutes of posting (never later than the shift's start); `None`: by the
    /// shift's start.
    pub within_min: Option<u32>,
    /// The order's fanout is at least this (offers per open slot).
    pub fanout: u32,
    /// The order's offer TTL is at most this many seconds, if set.
    pub offer_ttl_s: Option<u32>,
    /// `star` workers take precedence (the order is dispatched at `high` priority at least).
    pub stars_first: bool,
}

impl SlaTier {
    /// The instant an order of this tier posted at `posted` and starting at `start` must be staffed by.
    pub fn target(&self, posted: DateTime<Utc>, start: DateTime<Utc>) -> DateTime<Utc> {
        match self.within_min {
            Some(m) => (posted + Duration::minutes(i64::from(m))).min(start),
            None => start,
        }
    }

    /// Raises an order's dispatch to the tier's urgency: fanout at least the tier's, offer TTL at most the
    /// tier's, and `high` priority when `star` workers go first. An order already more urgent keeps its own.
    pub fn raise(&self, order: &mut Order) {
        order.dispatch.fanout = order.dispatch.fanout.max(self.fanout);
        if let Some(ttl) = self.offer_ttl_s {
            order.dispatch.offer_ttl_s = order.dispatch.offer_ttl_s.min(ttl);
        }
        if self.stars_first && order.priority == Priority::Normal {
            order.priority = Priority::High;
        }
    }
}

/// An agency's tiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaConfig {
    /// The tiers, most urgent first (as the agency lists them).
    pub tiers: Vec<SlaTier>,
    /// The tier of clients the agency has not given one; `None`: such clients' orders have no SLA.
    pub default_tier: Option<String>,
    /// An unstaffed order is flagged at risk when this share (percent) of the span from posting to target is
    /// left.
    pub at_risk_lead_pct: u32,
}

impl Default for SlaConfig {
    /// P0: staffed within 2 hours of posting (fanout ≥ 3, offers open ≤ 5 minutes, stars first); P1: within
    /// 24 hours (fanout ≥ 2, offers ≤ 10 minutes, stars first); P2: by the shift's start (dispatch as posted).
    /// No default tier; the at-risk alert at 25% of the span left.
    fn default() -> Self {
        let tier = |name: &str, within_min, fanout, offer_ttl_s, stars_first| SlaTier {
            name: name.into(),
            within_min,
            fanout,
            offer_ttl_s,
            stars_first,
        };
        SlaConfig {
            tiers: vec![
                tier("P0", Some(120), 3, Some(300), true),
                tier("P1", Some(1440), 2, Some(600), true),
                tier("P2", None, 1, None, false),
            ],
            default_tier: None,
            at_risk_lead_pct: 25,
        }
    }
}

impl SlaConfig {
    /// The tier of this name.
    pub fn tier(&self, name: &str) -> Option<&SlaTier> {
        self.tiers.iter().find(|t| t.name == name)
    }

    /// When an order posted at `posted` with target `target` is flagged at risk if still unstaffed:
    /// `at_risk_lead_pct` of the span before the target (at the target itself for an empty span).
    pub fn alert_at(&self, posted: DateTime<Utc>, target: DateTime<Utc>) -> DateTime<Utc> {
        let span = (target - posted).num_milliseconds().max(0);
        let lead = span * i64::from(self.at_risk_lead_pct) / 100;
        target - Duration::milliseconds(lead)
    }

    /// A configuration as sent, checked: 1 to 10 tiers with unique names, targets of 1 minute to 30 days,
    /// fanouts of 1 to 50, TTLs of 30 seconds to a week, a default tier among them, a lead of 1 to 90%.
    pub fn new(
        tiers: Vec<SlaTier>,
        default_tier: Option<String>,
        at_risk_lead_pct: i64,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if tiers.is_empty() || tiers.len() > MAX_TIERS {
            errors.push(FieldError::new(
                "tiers",
                format!("must hold 1 to {MAX_TIERS} tiers"),
            ));
        }
        for (i, t) in tiers.iter().enumerate() {
            let at = |f: &str| format!("tiers[{i}].{f}");
            if !valid_name(&t.name) {
                errors.push(FieldError::new(
                    at("name"),
                    "must be 1 to 32 letters, digits, '_' or '-'",
                ));
            } else if tiers[..i].iter().any(|u| u.name == t.name) {
                errors.push(FieldError::new(at("name"), "names a tier a second time"));
            }
            if t.within_min
                .is_some_and(|m| !(1..=MAX_WITHIN_MIN).contains(&m))
            {
                errors.push(FieldError::new(
                    at("within_minutes"),
                    format!(
                        "must be between 1 and {MAX_WITHIN_MIN}, or null for the shift's start"
                    ),
                ));
            }
            if !(1..=50).contains(&t.fanout) {
                errors.push(FieldError::new(at("fanout"), "must be between 1 and 50"));
            }
            if t.offer_ttl_s
                .is_some_and(|s| !(30..=7 * 86_400).contains(&s))
            {
                errors.push(FieldError::new(
                    at("offer_ttl_s"),
                    "must be between 30 and 604800 seconds, or null for the order's own",
                ));
            }
        }
        if let Some(d) = &default_tier
            && !tiers.iter().any(|t| &t.name == d)
        {
            errors.push(FieldError::new(
                "default_tier",
                "must name one of the tiers, or be null",
            ));
        }
        if !(1..=90).contains(&at_risk_lead_pct) {
            errors.push(FieldError::new(
                "at_risk_lead_pct",
                "must be between 1 and 90",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(SlaConfig {
            tiers,
            default_tier,
            at_risk_lead_pct: at_risk_lead_pct as u32,
        })
    }
}

/// Whether a tier name is 1 to 32 ASCII letters, digits, `_` or `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_instant;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    #[test]
    fn targets_are_capped_by_the_shift_start_and_alerts_come_a_quarter_of_the_span_before() {
        let c = SlaConfig::default();
        let posted = t("2026-11-23T08:00:00Z");
        let start = t("2026-11-24T01:00:00Z");
        let p0 = c.tier("P0").unwrap().target(posted, start);
        assert_eq!(p0, t("2026-11-23T10:00:00Z"));
        assert_eq!(c.alert_at(posted, p0), t("2026-11-23T09:30:00Z"));
        assert_eq!(c.tier("P1").unwrap().target(posted, start), start);
        assert_eq!(c.tier("P2").unwrap().target(posted, start), start);
    }

    #[test]
    fn a_default_tier_must_be_one_of_the_tiers() {
        let c = SlaConfig::default();
        let e = SlaConfig::new(c.tiers.clone(), Some("gold".into()), 25).unwrap_err();
        assert_eq!(e[0].field, "default_tier");
    }
}
