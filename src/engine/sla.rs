//! SLA tiers per client: the agency's tier configuration, each client's tier, the SLA an order takes from its
//! client at posting, the SLA timer (timer kind 7: the at-risk alert, then the missed target) and the SLA
//! report. Every change is an event whose payload carries what a replay needs (`sla_tiers_set` the whole
//! configuration, `client_tier_set` the client and tier, `order_posted` the order's `sla`).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::json;

use super::orders::OrderState;
use super::{Engine, from_ms, ms};
use crate::domain::sla::{SlaConfig, SlaTier};
use crate::domain::time::format_instant;
use crate::domain::{AgencyId, Order};
use crate::error::{Error, FieldError};
use crate::store::orders::RiskRow;
use crate::store::sla::OrderSlaRow;
use crate::store::{self, Tx};
use crate::wire::sla::SlaConfigBody;

/// The risk reason of an order flagged before its SLA target.
pub const SLA_RISK: &str = "sla";

/// A client of the agency and its tier.
#[derive(Debug, Clone)]
pub struct ClientTier {
    /// The client.
    pub client_ref: String,
    /// Its tier: its own, else the agency's default; `None` when it has neither (its orders have no SLA).
    pub tier: Option<String>,
    /// Whether the tier is the client's own (set by the agency) rather than the default.
    pub own: bool,
    /// When its own tier was set, ms.
    pub updated_at: Option<i64>,
    /// The tier's target, minutes after posting (`None`: by the shift's start, or no tier).
    pub within_min: Option<u32>,
}

/// The SLA figures of a group of orders (a client and tier, or a tier).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SlaFigures {
    /// Orders with an SLA posted in the period, not cancelled.
    pub orders: u64,
    /// Of those, cancelled ones are counted apart.
    pub cancelled: u64,
    /// Fully staffed by the target.
    pub met: u64,
    /// Not fully staffed by the target.
    pub missed: u64,
    /// Target still ahead and not yet staffed.
    pub pending: u64,
    /// Times from posting to fully staffed, ms, of the orders that were.
    pub fill_ms: Vec<i64>,
    /// Slots of the orders that have started.
    pub slots_due: u64,
    /// Of those, the ones with a worker confirmed at the start.
    pub slots_filled_at_start: u64,
    /// Shift assignments that ended no-show.
    pub no_shows: u64,
    /// Assignments that replaced a lost one (a standby promoted, an urgent offer accepted).
    pub replacements: u64,
}

impl SlaFigures {
    /// Met over met and missed; `None` before any target has been decided.
    pub fn share_met(&self) -> Option<f64> {
        let decided = self.met + self.missed;
        (decided > 0).then(|| self.met as f64 / decided as f64)
    }

    /// The `p`-th percentile (nearest rank: the smallest time with at least `p`% of the times at or below
    /// it) of the times to fill, in whole seconds.
    pub fn fill_percentile_s(&self, p: u64) -> Option<i64> {
        if self.fill_ms.is_empty() {
            return None;
        }
        let mut v = self.fill_ms.clone();
        v.sort_unstable();
        let n = v.len() as u64;
        let rank = (p * n).div_ceil(100).max(1);
        Some(v[(rank - 1) as usize] / 1000)
    }

    /// Slots filled at the start over slots due; `None` before any order has started.
    pub fn fill_rate_at_start(&self) -> Option<f64> {
        (self.slots_due > 0).then(|| self.slots_filled_at_start as f64 / self.slots_due as f64)
    }

    fn add(&mut self, o: &SlaFigures) {
        self.orders += o.orders;
        self.cancelled += o.cancelled;
        self.met += o.met;
        self.missed += o.missed;
        self.pending += o.pending;
        self.fill_ms.extend(o.fill_ms.iter().copied());
        self.slots_due += o.slots_due;
        self.slots_filled_at_start += o.slots_filled_at_start;
        self.no_shows += o.no_shows;
        self.replacements += o.replacements;
    }
}

/// The SLA report of a period.
#[derive(Debug, Clone)]
pub struct SlaReport {
    /// Per client and tier, by client then tier.
    pub by_client: Vec<(String, String, SlaFigures)>,
    /// Per tier, in the agency's tier order (tiers no longer configured after them, by name).
    pub by_tier: Vec<(String, SlaFigures)>,
}

fn check_client(client_ref: &str) -> crate::Result<&str> {
    let c = client_ref.trim();
    if c.is_empty() || c.chars().count() > 200 || c.contains('\0') {
        return Err(vec![FieldError::new(
            "client_ref",
            "must name a client (1 to 200 characters)",
        )]
        .into());
    }
    Ok(c)
}

fn parse_config(body: &str) -> crate::Result<SlaConfig> {
    serde_json::from_str::<SlaConfigBody>(body)
        .map_err(|e| Error::Internal(format!("stored SLA tiers: {e}")))?
        .parse()
        .map_err(|e| Error::Internal(format!("stored SLA tiers: {e:?}")))
}

/// An agency's tier settings and the tiers it gave its clients, as a new order needs them.
#[derive(Debug)]
pub(super) struct AgencyTiers {
    config: SlaConfig,
    /// Tier names by `client_ref`, for the clients given one.
    own: std::collections::HashMap<String, String>,
}

impl AgencyTiers {
    /// The tier a new order of `client_ref` takes: the client's own, else the default; `None` when neither.
    fn for_client(&self, client_ref: &str) -> Option<(SlaConfig, SlaTier)> {
        let own = match client_ref.trim() {
            "" => None,
            c => self.own.get(c),
        };
        let name = own.or(self.config.default_tier.as_ref())?;
        let tier = self.config.tier(name)?.clone();
        Some((self.config.clone(), tier))
    }
}

impl Engine {
    /// The agency's tier configuration (the defaults until it sets one).
    pub async fn sla_config(&self, agency: AgencyId) -> crate::Result<SlaConfig> {
        match store::sla::settings(self.store.pool(), agency.get() as i64).await? {
            Some(body) => parse_config(&body),
            None => Ok(SlaConfig::default()),
        }
    }

    /// Replaces the agency's tier configuration (event `sla_tiers_set` with the whole of it). A tier that a
    /// client still holds cannot be dropped (409); orders already posted keep the tier and target they took.
    #[tracing::instrument(skip(self, body))]
    pub async fn set_sla_config(
        &self,
        agency: AgencyId,
        body: &SlaConfigBody,
    ) -> crate::Result<SlaConfig> {
        let config = body.parse().map_err(Error::Invalid)?;
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let old = match store::sla::settings(tx.conn().await?, agency.get() as i64).await? {
            Some(b) => parse_config(&b)?,
            None => SlaConfig::default(),
        };
        for gone in old.tiers.iter().filter(|t| config.tier(&t.name).is_none()) {
            let held =
                store::sla::clients_holding(tx.conn().await?, agency.get() as i64, &gone.name, 5)
                    .await?;
            if !held.is_empty() {
                return Err(Error::Conflict(format!(
                    "the tier {} is held by clients ({}); give them another tier first",
                    gone.name,
                    held.join(", ")
                )));
            }
        }
        let shape = SlaConfigBody::from_config(&config);
        let stored = serde_json::to_string(&shape).expect("serialises");
        store::sla::put_settings(&mut tx, agency.get() as i64, &stored, now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "sla_tiers_set",
            &json!(shape),
        )
        .await?;
        self.committed(tx).await?;
        Ok(config)
    }

    fn client_tier_of(
        config: &SlaConfig,
        client_ref: &str,
        own: Option<(String, i64)>,
    ) -> ClientTier {
        let is_own = own.is_some();
        let updated_at = own.as_ref().map(|(_, at)| *at);
        let tier = own.map(|(t, _)| t).or_else(|| config.default_tier.clone());
        ClientTier {
            client_ref: client_ref.to_string(),
            within_min: tier
                .as_deref()
                .and_then(|t| config.tier(t))
                .and_then(|t| t.within_min),
            tier,
            own: is_own,
            updated_at,
        }
    }

    /// A client's tier (any `client_ref` is a client; one without a tier of its own has the default).
    pub async fn client_tier(
        &self,
        agency: AgencyId,
        client_ref: &str,
    ) -> crate::Result<ClientTier> {
        let client = check_client(client_ref)?;
        let config = self.sla_config(agency).await?;
        let own = store::sla::client_tier(self.store.pool(), agency.get() as i64, client).await?;
        Ok(Self::client_tier_of(&config, client, own))
    }

    /// Gives a client a tier of the agency's, or (`None`) takes its own away so the default applies (event
    /// `client_tier_set`). Its orders posted from now on take the tier; those posted before keep theirs.
    #[tracing::instrument(skip(self))]
    pub async fn set_client_tier(
        &self,
        agency: AgencyId,
        client_ref: &str,
        tier: Option<&str>,
    ) -> crate::Result<ClientTier> {
        let client = check_client(client_ref)?.to_string();
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let config = match store::sla::settings(tx.conn().await?, agency.get() as i64).await? {
            Some(b) => parse_config(&b)?,
            None => SlaConfig::default(),
        };
        if let Some(t) = tier
            && config.tier(t).is_none()
        {
            let names: Vec<&str> = config.tiers.iter().map(|t| t.name.as_str()).collect();
            return Err(Error::Invalid(vec![FieldError::new(
                "tier",
                format!(
                    "must name one of the agency's tiers ({}), or be null",
                    names.join(", ")
                ),
            )]));
        }
        let own = store::sla::client_tier(tx.conn().await?, agency.get() as i64, &client).await?;
        if own.as_ref().map(|(t, _)| t.as_str()) == tier {
            // Nothing changes, and no event says otherwise.
            return Ok(Self::client_tier_of(&config, &client, own));
        }
        store::sla::set_client_tier(&mut tx, agency.get() as i64, &client, tier, now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "client_tier_set",
            &json!({"client_ref": client, "tier": tier}),
        )
        .await?;
        self.committed(tx).await?;
        let own = tier.map(|t| (t.to_string(), now));
        Ok(Self::client_tier_of(&config, &client, own))
    }

    /// The agency's clients after `after` (by `client_ref`): those given a tier and those its orders name.
    pub async fn list_clients(
        &self,
        agency: AgencyId,
        after: &str,
        limit: i64,
    ) -> crate::Result<Vec<ClientTier>> {
        let config = self.sla_config(agency).await?;
        let rows =
            store::sla::clients(self.store.pool(), agency.get() as i64, after, limit).await?;
        Ok(rows
            .into_iter()
            .map(|(c, tier, at)| {
                let own = tier.zip(at);
                Self::client_tier_of(&config, &c, own)
            })
            .collect())
    }

    /// The tier a new order of `client_ref` takes, with the agency's configuration: the client's own, else
    /// the default; `None` when neither (no SLA).
    pub(super) async fn tier_for_new_order(
        &self,
        agency: AgencyId,
        client_ref: &str,
    ) -> crate::Result<Option<(SlaConfig, SlaTier)>> {
        Ok(self.agency_tiers(agency).await?.for_client(client_ref))
    }

    /// The agency's tier settings and its clients' own tiers, from the view (read from the tables the first
    /// time after they changed).
    async fn agency_tiers(&self, agency: AgencyId) -> crate::Result<std::sync::Arc<AgencyTiers>> {
        use std::sync::atomic::Ordering::SeqCst;
        if let Some(tiers) = self.tiers.get(&agency.get()) {
            return Ok(tiers);
        }
        let generation = self.tier_generation.load(SeqCst);
        let config = self.sla_config(agency).await?;
        let own = store::sla::client_tiers(self.store.pool(), agency.get() as i64)
            .await?
            .into_iter()
            .collect();
        let tiers = std::sync::Arc::new(AgencyTiers { config, own });
        if self.tier_generation.load(SeqCst) == generation {
            self.tiers.insert(agency.get(), tiers.clone());
        }
        Ok(tiers)
    }

    /// Forgets every agency's tiers (the log changed an agency's tier settings or a client's tier).
    pub(super) fn forget_tiers(&self) {
        self.tier_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.tiers.invalidate_all();
    }

    /// Records a new order's SLA from its tier (the order's row exists; its dispatch is raised already).
    pub(super) async fn record_order_sla(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        config: &SlaConfig,
        tier: &SlaTier,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let target = tier.target(now, st.order.shift.start());
        let alert = config.alert_at(now, target);
        let row = OrderSlaRow {
            order_id: st.row.id,
            tier: tier.name.clone(),
            posted_at: ms(now),
            target_at: ms(target),
            alert_at: ms(alert),
            alerted_at: None,
            staffed_at: None,
            missed_at: None,
            due_at: Some(ms(alert)),
        };
        store::sla::insert_order_sla(tx, st.row.agency_id, &st.order.client_ref, &row).await?;
        st.sla = Some(row);
        Ok(())
    }

    /// After a change to an order: the first time it is fully staffed (every headcount and quota), its SLA
    /// records it (`sla_staffed`, with whether the target was met) and an SLA risk is cleared.
    pub(super) async fn watch_sla(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        if st.sla.as_ref().is_none_or(|s| s.staffed_at.is_some())
            || !matches!(st.row.status.as_str(), "open" | "filled" | "in_progress")
            || !st.all_filled()
            || !self.quotas_hold(st)
        {
            return Ok(());
        }
        let agency = Some(st.order.agency.get());
        let order = st.order.id.to_string();
        let client_ref = st.order.client_ref.clone();
        let Some(sla) = st.sla.as_mut() else {
            return Ok(());
        };
        sla.staffed_at = Some(ms(now));
        sla.due_at = None;
        store::sla::update_order_sla(tx, sla).await?;
        store::events::append(
            tx,
            ms(now),
            agency,
            "sla_staffed",
            &json!({
                "order": order, "client_ref": client_ref, "tier": sla.tier,
                "target_at": format_instant(from_ms(sla.target_at)),
                "staffed_at": format_instant(now),
                "met": ms(now) <= sla.target_at,
                "time_to_fill_s": (ms(now) - sla.posted_at) / 1000,
            }),
        )
        .await?;
        if st.at_risk.as_ref().is_some_and(|r| r.reason == SLA_RISK) {
            store::orders::set_risk(tx, st.row.id, None).await?;
            store::events::append(
                tx,
                ms(now),
                agency,
                "order_risk_cleared",
                &json!({"order": order}),
            )
            .await?;
            st.at_risk = None;
        }
        Ok(())
    }

    /// Stops watching an order's SLA (the order was cancelled).
    pub(super) async fn end_sla(&self, tx: &mut Tx, st: &mut OrderState) -> crate::Result<()> {
        if let Some(sla) = st.sla.as_mut().filter(|s| s.due_at.is_some()) {
            sla.due_at = None;
            store::sla::update_order_sla(tx, sla).await?;
        }
        Ok(())
    }

    /// The SLA timer of an order, under its row lock: at the alert, an order not fully staffed is marked at
    /// risk with reason `sla` (`order_at_risk`, and `sla_at_risk`); at the target, one still not fully staffed
    /// has missed it (`sla_missed`).
    pub(super) async fn fire_sla(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let Some(mut sla) = st
            .sla
            .clone()
            .filter(|s| s.due_at.is_some_and(|d| d <= ms(now)))
        else {
            return Ok(());
        };
        if !matches!(st.row.status.as_str(), "open" | "filled" | "in_progress") {
            return self.end_sla(tx, st).await;
        }
        if st.all_filled() && self.quotas_hold(st) {
            return self.watch_sla(tx, st, now).await;
        }
        let agency = Some(st.order.agency.get());
        let order = st.order.id.to_string();
        let open_slots: u32 = (0..st.order.roles.len())
            .map(|r| st.order.roles[r].headcount.saturating_sub(st.filled(r)))
            .sum::<u32>()
            .max(1);
        let payload = json!({
            "order": order, "client_ref": st.order.client_ref, "tier": sla.tier,
            "target_at": format_instant(from_ms(sla.target_at)), "open_slots": open_slots,
        });
        let missed = ms(now) >= sla.target_at;
        if missed {
            sla.missed_at = Some(ms(now));
            sla.due_at = None;
        } else {
            sla.alerted_at = Some(ms(now));
            sla.due_at = Some(sla.target_at);
        }
        store::sla::update_order_sla(tx, &sla).await?;
        st.sla = Some(sla);
        if st.at_risk.as_ref().is_none_or(|r| r.reason != SLA_RISK) {
            let risk = RiskRow {
                since: st.at_risk.as_ref().map_or(ms(now), |r| r.since),
                reason: SLA_RISK.to_string(),
                open_slots: i64::from(open_slots),
            };
            store::orders::set_risk(tx, st.row.id, Some(&risk)).await?;
            store::events::append(
                tx,
                ms(now),
                agency,
                "order_at_risk",
                &json!({"order": order, "since": format_instant(from_ms(risk.since)),
                        "reason": SLA_RISK, "open_slots": open_slots}),
            )
            .await?;
            st.at_risk = Some(risk);
        }
        let kind = if missed { "sla_missed" } else { "sla_at_risk" };
        store::events::append(tx, ms(now), agency, kind, &payload).await
    }

    /// The SLA report of the agency's orders posted in `[from, to)`: per client and tier, and per tier.
    pub async fn sla_report(
        &self,
        agency: AgencyId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> crate::Result<SlaReport> {
        let pool = self.store.pool();
        let a = agency.get() as i64;
        let now = ms(self.now());
        let rows = store::sla::report_rows(pool, a, ms(from), ms(to)).await?;
        let counts: HashMap<i64, (i64, i64, i64)> =
            store::sla::report_assignments(pool, a, ms(from), ms(to))
                .await?
                .into_iter()
                .map(|(o, at_start, no_shows, replacements)| {
                    (o, (at_start, no_shows, replacements))
                })
                .collect();
        let mut groups: BTreeMap<(String, String), SlaFigures> = BTreeMap::new();
        for r in rows {
            let f = groups
                .entry((r.client_ref.clone(), r.tier.clone()))
                .or_default();
            if r.status == "cancelled" && r.staffed_at.is_none() && r.missed_at.is_none() {
                f.cancelled += 1;
                continue;
            }
            f.orders += 1;
            match (r.staffed_at, r.missed_at) {
                (Some(at), _) if at <= r.target_at => f.met += 1,
                (Some(_), _) | (None, Some(_)) => f.missed += 1,
                (None, None) => f.pending += 1,
            }
            if let Some(at) = r.staffed_at {
                f.fill_ms.push(at - r.posted_at);
            }
            let (at_start, no_shows, replacements) =
                counts.get(&r.order_id).copied().unwrap_or_default();
            f.no_shows += no_shows as u64;
            f.replacements += replacements as u64;
            if r.start_at <= now && r.status != "cancelled" {
                let order: std::sync::Arc<Order> = self.order_of(r.order_id).await?;
                let headcount: i64 = order.roles.iter().map(|x| i64::from(x.headcount)).sum();
                f.slots_due += headcount as u64;
                f.slots_filled_at_start += at_start.min(headcount) as u64;
            }
        }
        let config = self.sla_config(agency).await?;
        let mut tiers: BTreeMap<String, SlaFigures> = BTreeMap::new();
        for ((_, tier), f) in &groups {
            tiers.entry(tier.clone()).or_default().add(f);
        }
        let mut by_tier: Vec<(String, SlaFigures)> = Vec::new();
        for t in &config.tiers {
            if let Some(f) = tiers.remove(&t.name) {
                by_tier.push((t.name.clone(), f));
            }
        }
        by_tier.extend(tiers);
        Ok(SlaReport {
            by_client: groups.into_iter().map(|((c, t), f)| (c, t, f)).collect(),
            by_tier,
        })
    }
}
