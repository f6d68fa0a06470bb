//! The figures of a simulated week, computed from the engine's event log and the fill of each order measured
//! at `start + grace`. The log is the truth: every figure can be recomputed from a database after the fact.
//!
//! - fill rate at start: slots held by a worker checked in or confirmed at `start + grace`, over slots;
//! - time to fill: from posting to each slot's first confirmation (median, p95);
//! - no-shows, standby promotions, cancellations by workers, workers at risk replaced ahead of the start;
//! - time to replace: from a lost slot (no-show, cancellation) to the next confirmation in that order (median);
//! - standby overhead: hours of the standbys held over the hours booked (an order's standby for its shift, a
//!   pool's floater from the start of the pool's window until promoted or released);
//! - offers per filled slot;
//! - show-up calibration: predicted at booking against observed at start (`calibration.rs`).
//! - SLA compliance per tier (from the engine's SLA report): orders staffed within their tier's target, and
//!   the median time to fill.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Value, json};

use crate::store::events::StoredEvent;

/// What the simulation measured of one order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderMeasure {
    /// The order's id in the database.
    pub order_id: i64,
    /// Posted, unix ms.
    pub posted_ms: i64,
    /// Shift start, unix ms.
    pub start_ms: i64,
    /// Shift end, unix ms.
    pub end_ms: i64,
    /// Headcount over all roles.
    pub slots: u32,
    /// Slots held at `start + grace`.
    pub filled_at_start: u32,
    /// Slots that had no eligible worker when the order was posted (the pool was too thin for them).
    pub short_at_post: u32,
}

/// The figures of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Kpis {
    /// Orders posted.
    pub orders: usize,
    /// Slots wanted over all orders.
    pub slots: u64,
    /// Slots held at `start + grace`.
    pub filled_at_start: u64,
    /// `filled_at_start / slots`.
    pub fill_rate_at_start: f64,
    /// Slots that had no eligible worker at all when their order was posted.
    pub short_at_post: u64,
    /// Median minutes from posting to a slot's first confirmation.
    pub fill_median_min: Option<f64>,
    /// 95th percentile of the same.
    pub fill_p95_min: Option<f64>,
    /// Assignments that ended as no-shows.
    pub no_shows: u64,
    /// Confirmed shifts cancelled by their workers.
    pub cancellations: u64,
    /// Workers at risk replaced ahead of the start (a missed re-confirmation, a pre-shift signal too far away).
    pub at_risk_replaced: u64,
    /// Standbys promoted into a lost slot.
    pub standby_promotions: u64,
    /// Median minutes from a lost slot to its replacement's confirmation.
    pub replace_median_min: Option<f64>,
    /// Lost slots that were replaced.
    pub replaced: u64,
    /// Lost slots (no-shows and cancellations).
    pub lost: u64,
    /// Standby assignments held.
    pub standbys: u64,
    /// Hours of standbys held over hours booked.
    pub standby_overhead: f64,
    /// Offers sent.
    pub offers: u64,
    /// Offers sent per slot held at start.
    pub offers_per_filled_slot: f64,
    /// Shifts completed.
    pub completed: u64,
    /// Events in the log.
    pub events: u64,
    /// Show-up probabilities as predicted at booking against who came.
    pub calibration: super::calibration::Calibration,
    /// SLA compliance per tier, in the agency's tier order.
    pub sla: Vec<SlaTierKpi>,
}

/// The SLA figures of one tier over a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SlaTierKpi {
    /// The tier.
    pub tier: String,
    /// Orders of the tier (not cancelled).
    pub orders: u64,
    /// Fully staffed by their target.
    pub met: u64,
    /// Not fully staffed by their target.
    pub missed: u64,
    /// Median minutes from posting to fully staffed, over the orders that were.
    pub fill_median_min: Option<f64>,
}

impl SlaTierKpi {
    /// A tier's figures from the engine's SLA report.
    pub fn of(tier: &str, f: &crate::engine::SlaFigures) -> Self {
        SlaTierKpi {
            tier: tier.to_string(),
            orders: f.orders,
            met: f.met,
            missed: f.missed,
            fill_median_min: f.fill_percentile_s(50).map(|s| s as f64 / 60.0),
        }
    }

    /// `met / (met + missed)`.
    pub fn share_met(&self) -> Option<f64> {
        let decided = self.met + self.missed;
        (decided > 0).then(|| self.met as f64 / decided as f64)
    }
}

/// The table's label of a tier's row (the simulation's tiers are the default P0, P1 and P2).
fn sla_label(tier: &str) -> &'static str {
    match tier {
        "P0" => "SLA P0 within target (median fill)",
        "P1" => "SLA P1 within target (median fill)",
        "P2" => "SLA P2 within target (median fill)",
        _ => "SLA other tier within target",
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The `q` quantile (0..=1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Computes the figures from the log and the measures.
pub fn compute(events: &[StoredEvent], measures: &[OrderMeasure]) -> Kpis {
    let by_order: BTreeMap<String, &OrderMeasure> = measures
        .iter()
        .map(|m| {
            (
                crate::domain::OrderId::new(m.order_id as u64).to_string(),
                m,
            )
        })
        .collect();
    let mut k = Kpis {
        orders: measures.len(),
        slots: measures.iter().map(|m| u64::from(m.slots)).sum(),
        filled_at_start: measures.iter().map(|m| u64::from(m.filled_at_start)).sum(),
        short_at_post: measures.iter().map(|m| u64::from(m.short_at_post)).sum(),
        events: events.len() as u64,
        calibration: super::calibration::calibrate(events, &crate::matching::Policy::default()),
        ..Kpis::default()
    };
    let mut first_fills: BTreeMap<i64, u32> = BTreeMap::new();
    let mut fill_min = Vec::new();
    let mut replace_min = Vec::new();
    let mut shift_kind: BTreeMap<String, bool> = BTreeMap::new();
    let mut lost: BTreeMap<String, VecDeque<i64>> = BTreeMap::new();
    let mut standby_h = 0.0;
    // Floaters held and not yet ended: their window (start, end), unix ms.
    let mut floaters: HashMap<String, (i64, i64)> = HashMap::new();
    for e in events {
        let p = &e.payload;
        match e.kind.as_str() {
            "offer_sent" => k.offers += 1,
            "standby_promoted" => k.standby_promotions += 1,
            "checked_out" => k.completed += 1,
            "assignment_made" => {
                let order = str_of(p, "order");
                let Some(m) = by_order.get(order) else {
                    continue;
                };
                let shift = str_of(p, "kind") == "shift";
                shift_kind.insert(str_of(p, "assignment").to_string(), shift);
                if !shift {
                    k.standbys += 1;
                    // A pool's floater is held from the start of the pool's window, which its event carries,
                    // until it is promoted or released (counted then); an order's standby for the shift.
                    match (p.get("pool"), p.get("start"), p.get("end")) {
                        (Some(_), Some(s), Some(e)) => {
                            floaters.insert(
                                str_of(p, "assignment").to_string(),
                                (s.as_i64().unwrap_or(0), e.as_i64().unwrap_or(0)),
                            );
                        }
                        _ => standby_h += (m.end_ms - m.start_ms) as f64 / 3_600_000.0,
                    }
                    continue;
                }
                if let Some(t) = lost.get_mut(order).and_then(VecDeque::pop_front) {
                    replace_min.push((e.at_ms - t) as f64 / 60_000.0);
                    k.replaced += 1;
                    continue;
                }
                let n = first_fills.entry(m.order_id).or_insert(0);
                if *n < m.slots {
                    *n += 1;
                    fill_min.push((e.at_ms - m.posted_ms) as f64 / 60_000.0);
                }
            }
            "assignment_ended" => {
                if let Some((from, to)) = floaters.remove(str_of(p, "assignment")) {
                    standby_h += (e.at_ms.clamp(from, to) - from) as f64 / 3_600_000.0;
                }
                let status = str_of(p, "status");
                let was_shift = shift_kind
                    .get(str_of(p, "assignment"))
                    .copied()
                    .unwrap_or(false);
                let lost_slot = match status {
                    "no_show" => {
                        k.no_shows += 1;
                        true
                    }
                    "cancelled" if str_of(p, "reason") == "worker_cancelled" && was_shift => {
                        k.cancellations += 1;
                        true
                    }
                    "cancelled"
                        if matches!(str_of(p, "reason"), "not_reconfirmed" | "cannot_arrive")
                            && was_shift =>
                    {
                        k.at_risk_replaced += 1;
                        true
                    }
                    _ => false,
                };
                if lost_slot && was_shift {
                    k.lost += 1;
                    lost.entry(str_of(p, "order").to_string())
                        .or_default()
                        .push_back(e.at_ms);
                }
            }
            _ => {}
        }
    }
    // A floater still held when the log ends is counted for its whole window.
    standby_h += floaters
        .values()
        .map(|(from, to)| (to - from) as f64 / 3_600_000.0)
        .sum::<f64>();
    fill_min.sort_by(f64::total_cmp);
    replace_min.sort_by(f64::total_cmp);
    k.fill_median_min = quantile(&fill_min, 0.5);
    k.fill_p95_min = quantile(&fill_min, 0.95);
    k.replace_median_min = quantile(&replace_min, 0.5);
    let booked_h: f64 = measures
        .iter()
        .map(|m| f64::from(m.slots) * (m.end_ms - m.start_ms) as f64 / 3_600_000.0)
        .sum();
    k.standby_overhead = if booked_h > 0.0 {
        standby_h / booked_h
    } else {
        0.0
    };
    k.fill_rate_at_start = if k.slots > 0 {
        k.filled_at_start as f64 / k.slots as f64
    } else {
        0.0
    };
    k.offers_per_filled_slot = if k.filled_at_start > 0 {
        k.offers as f64 / k.filled_at_start as f64
    } else {
        0.0
    };
    k
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |x| format!("{x:.1}"))
}

impl Kpis {
    /// The rows of the KPI table: a label and the value as printed.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("orders", self.orders.to_string()),
            ("slots", self.slots.to_string()),
            (
                "fill rate at start",
                format!("{:.2}%", 100.0 * self.fill_rate_at_start),
            ),
            (
                "slots without candidates at posting",
                self.short_at_post.to_string(),
            ),
            ("time to fill, median (min)", opt(self.fill_median_min)),
            ("time to fill, p95 (min)", opt(self.fill_p95_min)),
            ("no-shows", self.no_shows.to_string()),
            ("cancellations by workers", self.cancellations.to_string()),
            ("at risk, replaced ahead", self.at_risk_replaced.to_string()),
            ("standby promotions", self.standby_promotions.to_string()),
            (
                "replaced / lost slots",
                format!("{} / {}", self.replaced, self.lost),
            ),
            (
                "time to replace, median (min)",
                opt(self.replace_median_min),
            ),
            ("standbys held", self.standbys.to_string()),
            (
                "standby overhead (h/h)",
                format!("{:.1}%", 100.0 * self.standby_overhead),
            ),
            (
                "offers per filled slot",
                format!("{:.2}", self.offers_per_filled_slot),
            ),
            ("shifts completed", self.completed.to_string()),
            (
                "show-up predicted / observed",
                format!(
                    "{:.1}% / {:.1}%",
                    100.0 * self.calibration.predicted,
                    100.0 * self.calibration.observed
                ),
            ),
            (
                "show-up Brier score",
                format!("{:.4}", self.calibration.brier),
            ),
            (
                "show-up Brier, constant prior",
                format!("{:.4}", self.calibration.brier_constant_prior),
            ),
            ("events", self.events.to_string()),
        ]
        .into_iter()
        .chain(self.sla.iter().map(|t| {
            (
                sla_label(&t.tier),
                format!(
                    "{} of {} ({} min)",
                    t.share_met()
                        .map_or_else(|| "–".to_string(), |s| format!("{:.1}%", 100.0 * s)),
                    t.met + t.missed,
                    opt(t.fill_median_min)
                ),
            )
        }))
        .collect()
    }

    /// The figures as JSON (the CLI's `--json`).
    pub fn to_json(&self) -> Value {
        json!({
            "orders": self.orders,
            "slots": self.slots,
            "filled_at_start": self.filled_at_start,
            "fill_rate_at_start": self.fill_rate_at_start,
            "slots_without_candidates_at_posting": self.short_at_post,
            "time_to_fill_median_min": self.fill_median_min,
            "time_to_fill_p95_min": self.fill_p95_min,
            "no_shows": self.no_shows,
            "cancellations": self.cancellations,
            "at_risk_replaced": self.at_risk_replaced,
            "standby_promotions": self.standby_promotions,
            "lost_slots": self.lost,
            "replaced_slots": self.replaced,
            "time_to_replace_median_min": self.replace_median_min,
            "standbys": self.standbys,
            "standby_overhead": self.standby_overhead,
            "offers": self.offers,
            "offers_per_filled_slot": self.offers_per_filled_slot,
            "completed": self.completed,
            "events": self.events,
            "calibration": self.calibration.to_json(),
            "sla": self.sla.iter().map(|t| json!({
                "tier": t.tier, "orders": t.orders, "met": t.met, "missed": t.missed,
                "staffed_within_target": t.share_met(), "time_to_fill_median_min": t.fill_median_min,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Prints runs side by side: one column per named run.
pub fn table(runs: &[(String, &Kpis)]) -> String {
    let columns: Vec<(String, Vec<(&'static str, String)>)> =
        runs.iter().map(|(n, k)| (n.clone(), k.rows())).collect();
    grid(&columns)
}

/// The mean and spread of one figure over several runs (seeds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Runs that had the figure.
    pub n: usize,
    /// Their mean.
    pub mean: f64,
    /// The sample standard deviation (divided by `n − 1`; 0 for a single run).
    pub sd: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

/// The mean, standard deviation and range of `values`, or `None` when there are none.
pub fn spread(values: &[f64]) -> Option<Spread> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = if n > 1 {
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Some(Spread {
        n,
        mean,
        sd,
        min: values.iter().copied().fold(f64::INFINITY, f64::min),
        max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// How a summarised figure is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A share, printed as a percentage.
    Percent,
    /// A count of things.
    Count,
    /// Minutes.
    Minutes,
    /// A ratio with two decimals.
    Ratio,
    /// A score with four decimals (Brier).
    Score,
}

impl Unit {
    fn show(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{:.2}", 100.0 * v),
            Unit::Count | Unit::Minutes => format!("{v:.1}"),
            Unit::Ratio => format!("{v:.2}"),
            Unit::Score => format!("{v:.4}"),
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Unit::Percent => "%",
            _ => "",
        }
    }
}

impl Kpis {
    /// The figures that can be averaged over runs: a label, how it is printed, and the value (if the run had
    /// one; a week without lost slots has no time to replace).
    pub fn figures(&self) -> Vec<(&'static str, Unit, Option<f64>)> {
        let n = |v: u64| Some(v as f64);
        vec![
            (
                "fill rate at start",
                Unit::Percent,
                Some(self.fill_rate_at_start),
            ),
            (
                "slots without candidates at posting",
                Unit::Count,
                n(self.short_at_post),
            ),
            (
                "time to fill, median (min)",
                Unit::Minutes,
                self.fill_median_min,
            ),
            ("time to fill, p95 (min)", Unit::Minutes, self.fill_p95_min),
            ("no-shows", Unit::Count, n(self.no_shows)),
            (
                "cancellations by workers",
                Unit::Count,
                n(self.cancellations),
            ),
            (
                "standby promotions",
                Unit::Count,
                n(self.standby_promotions),
            ),
            ("lost slots", Unit::Count, n(self.lost)),
            ("replaced slots", Unit::Count, n(self.replaced)),
            (
                "time to replace, median (min)",
                Unit::Minutes,
                self.replace_median_min,
            ),
            ("standbys held", Unit::Count, n(self.standbys)),
            (
                "standby overhead (h/h)",
                Unit::Percent,
                Some(self.standby_overhead),
            ),
            (
                "offers per filled slot",
                Unit::Ratio,
                Some(self.offers_per_filled_slot),
            ),
            ("shifts completed", Unit::Count, n(self.completed)),
            (
                "show-up predicted",
                Unit::Percent,
                (self.calibration.shifts > 0).then_some(self.calibration.predicted),
            ),
            (
                "show-up observed",
                Unit::Percent,
                (self.calibration.shifts > 0).then_some(self.calibration.observed),
            ),
            (
                "show-up Brier score",
                Unit::Score,
                (self.calibration.shifts > 0).then_some(self.calibration.brier),
            ),
            (
                "show-up Brier, constant prior",
                Unit::Score,
                (self.calibration.shifts > 0).then_some(self.calibration.brier_constant_prior),
            ),
            ("events", Unit::Count, n(self.events)),
        ]
    }
}

/// One cell of the summary: `mean ± sd (min–max)`, with the unit after the mean.
fn spread_cell(unit: Unit, s: Option<Spread>) -> String {
    match s {
        None => "–".to_string(),
        Some(s) => format!(
            "{}{} ± {} ({}–{})",
            unit.show(s.mean),
            unit.suffix(),
            unit.show(s.sd),
            unit.show(s.min),
            unit.show(s.max)
        ),
    }
}

/// The summary over seeds: one column per named policy, each cell the mean ± standard deviation of the
/// figure over that policy's runs, with its range.
pub fn summary(runs: &[(String, Vec<&Kpis>)]) -> String {
    let columns: Vec<(String, Vec<(&'static str, String)>)> = runs
        .iter()
        .map(|(name, ks)| {
            let per_run: Vec<_> = ks.iter().map(|k| k.figures()).collect();
            let labels = Kpis::default().figures();
            let cells = labels
                .iter()
                .enumerate()
                .map(|(i, (label, unit, _))| {
                    let values: Vec<f64> = per_run.iter().filter_map(|f| f[i].2).collect();
                    (*label, spread_cell(*unit, spread(&values)))
                })
                .collect();
            (name.clone(), cells)
        })
        .collect();
    grid(&columns)
}

/// Prints named columns of (label, value) rows side by side, labels on the left.
fn grid(columns: &[(String, Vec<(&'static str, String)>)]) -> String {
    use std::fmt::Write as _;
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    let label_w = columns.first().map_or(0, |(_, c)| {
        c.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0)
    });
    let col_w: Vec<usize> = columns
        .iter()
        .map(|(name, c)| {
            c.iter()
                .map(|(_, v)| v.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:label_w$}", "");
    for ((name, _), w) in columns.iter().zip(&col_w) {
        let _ = write!(out, "  {name:>w$}");
    }
    out.push('\n');
    for i in 0..rows {
        let _ = write!(out, "{:label_w$}", columns[0].1[i].0);
        for ((_, c), w) in columns.iter().zip(&col_w) {
            let _ = write!(out, "  {:>w$}", c[i].1);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, at_min: i64, kind: &str, payload: Value) -> StoredEvent {
        StoredEvent {
            seq,
            at_ms: at_min * 60_000,
            agency: Some(1),
            kind: kind.into(),
            payload,
        }
    }

    fn made(seq: i64, at: i64, a: &str, kind: &str) -> StoredEvent {
        ev(
            seq,
            at,
            "assignment_made",
            json!({"assignment": a, "order": "ord_1", "kind": kind}),
        )
    }

    #[test]
    fn a_no_show_replaced_by_a_standby_counts_as_lost_replaced_and_promoted() {
        let m = OrderMeasure {
            order_id: 1,
            posted_ms: 0,
            start_ms: 600 * 60_000,
            end_ms: 1080 * 60_000,
            slots: 2,
            filled_at_start: 2,
            short_at_post: 0,
        };
        let events = vec![
            ev(1, 0, "offer_sent", json!({})),
            ev(2, 0, "offer_sent", json!({})),
            made(3, 10, "asg_1", "shift"),
            made(4, 30, "asg_2", "shift"),
            made(5, 40, "asg_3", "standby"),
            ev(
                6,
                615,
                "assignment_ended",
                json!({"assignment": "asg_1", "order": "ord_1", "status": "no_show"}),
            ),
            ev(
                7,
                615,
                "assignment_ended",
                json!({"assignment": "asg_3", "order": "ord_1", "status": "promoted"}),
            ),
            made(8, 615, "asg_4", "shift"),
            ev(9, 615, "standby_promoted", json!({})),
        ];
        let k = compute(&events, &[m]);
        assert_eq!(k.fill_rate_at_start, 1.0);
        assert_eq!(k.fill_median_min, Some(10.0));
        assert_eq!(k.fill_p95_min, Some(30.0));
        assert_eq!((k.no_shows, k.lost, k.replaced), (1, 1, 1));
        assert_eq!(k.replace_median_min, Some(0.0));
        assert_eq!(k.standby_promotions, 1);
        assert_eq!(k.standbys, 1);
        assert!((k.standby_overhead - 0.5).abs() < 1e-9);
        assert_eq!(k.offers_per_filled_slot, 1.0);
    }

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile(&v, 0.5), Some(2.0));
        assert_eq!(quantile(&v, 0.95), Some(4.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn the_spread_over_runs_is_the_mean_the_sample_deviation_and_the_range() {
        let s = spread(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.n, 8);
        assert!((s.mean - 5.0).abs() < 1e-12);
        // Sum of squared deviations 32, over n − 1 = 7.
        assert!((s.sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
        let one = spread(&[0.25]).unwrap();
        assert_eq!(
            (one.mean, one.sd, one.min, one.max),
            (0.25, 0.0, 0.25, 0.25)
        );
        assert_eq!(spread(&[]), None);
    }

    #[test]
    fn the_summary_shows_mean_and_spread_per_policy_and_skips_missing_figures() {
        let run = |fill: f64, no_shows: u64, replace: Option<f64>| Kpis {
            fill_rate_at_start: fill,
            no_shows,
            replace_median_min: replace,
            ..Kpis::default()
        };
        let (a, b, c) = (
            run(0.99, 10, Some(1.0)),
            run(0.97, 14, None),
            run(0.98, 12, Some(3.0)),
        );
        let (d, e) = (run(0.90, 20, None), run(0.90, 20, None));
        let text = summary(&[
            ("standby auto".into(), vec![&a, &b, &c]),
            ("standby none".into(), vec![&d, &e]),
        ]);
        let line = |label: &str| {
            text.lines()
                .find(|l| l.starts_with(label))
                .unwrap_or_else(|| panic!("no {label} row in\n{text}"))
                .to_string()
        };
        assert!(text.lines().next().unwrap().contains("standby auto"));
        assert!(line("fill rate at start").contains("98.00% ± 1.00 (97.00–99.00)"));
        assert!(line("fill rate at start").contains("90.00% ± 0.00 (90.00–90.00)"));
        assert!(line("no-shows").contains("12.0 ± 2.0 (10.0–14.0)"));
        // The run without a replacement is left out of the mean, and a policy with none at all shows a dash.
        let replace = line("time to replace, median (min)");
        assert!(replace.contains("2.0 ± 1.4 (1.0–3.0)"), "{replace}");
        assert!(replace.trim_end().ends_with('–'), "{replace}");
    }
}
