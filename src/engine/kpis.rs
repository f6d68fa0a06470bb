//! The service figures an agency is judged by, for `/metrics`: how full its crews were when the shifts began,
//! how fast orders filled, how many offers a filled slot cost, no-shows and replacements. They are read from the
//! database (the projections of the one log), so every node reports the same figures.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Engine, ms};

/// The window the rates and the time-to-fill histogram look back over.
const WINDOW_DAYS: i64 = 7;
/// Time-to-fill buckets in seconds: a minute, five, a quarter, an hour, four, a day, three days.
const FILL_BUCKETS: [f64; 8] = [
    10.0, 60.0, 300.0, 900.0, 3600.0, 14_400.0, 86_400.0, 259_200.0,
];

impl Engine {
    /// Appends the service figures in Prometheus text format. A figure whose query fails is left out (the
    /// scrape still answers), and the failure is logged.
    pub async fn render_kpis(&self, out: &mut String) {
        if let Err(e) = self.kpis(out).await {
            tracing::warn!(error = %e, "service figures left out of /metrics");
        }
    }

    async fn kpis(&self, out: &mut String) -> crate::Result<()> {
        let pool = self.store.pool();
        let now = ms(self.now());
        let since = now - WINDOW_DAYS * 86_400_000;
        let db = crate::store::db_error;

        // Fill rate at start: of the slots of orders that began in the window, the share that had a worker
        // confirmed at the start (made before it, and not cancelled before it).
        let started: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, start_at FROM orders WHERE start_at > $1 AND start_at <= $2 AND status <> 'cancelled'",
        )
        .bind(since)
        .bind(now)
        .fetch_all(pool)
        .await
        .map_err(db)?;
        let filled: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT a.order_id, COUNT(*) FROM assignments a JOIN orders o ON o.id = a.order_id \
             WHERE o.start_at > $1 AND o.start_at <= $2 AND o.status <> 'cancelled' AND a.kind = 'shift' \
               AND a.created_at <= o.start_at \
               AND (a.status <> 'cancelled' OR a.updated_at > o.start_at) \
             GROUP BY a.order_id",
        )
        .bind(since)
        .bind(now)
        .fetch_all(pool)
        .await
        .map_err(db)?;
        let filled: HashMap<i64, i64> = filled.into_iter().collect();
        let (mut wanted, mut had) = (0i64, 0i64);
        for (id, _) in &started {
            let order = self.order_of(*id).await?;
            let headcount: i64 = order.roles.iter().map(|r| i64::from(r.headcount)).sum();
            wanted += headcount;
            had += filled.get(id).copied().unwrap_or(0).min(headcount);
        }
        let _ = writeln!(
            out,
            "# HELP crewcall_fill_rate_at_start Share of the slots of orders that began in the last {WINDOW_DAYS} days \
             that had a confirmed worker at the start."
        );
        let _ = writeln!(out, "# TYPE crewcall_fill_rate_at_start gauge");
        let rate = if wanted > 0 {
            had as f64 / wanted as f64
        } else {
            1.0
        };
        let _ = writeln!(out, "crewcall_fill_rate_at_start {rate}");
        let _ = writeln!(
            out,
            "# HELP crewcall_slots_due_total Slots of orders that began in the last {WINDOW_DAYS} days, by whether \
             they were filled at the start."
        );
        let _ = writeln!(out, "# TYPE crewcall_slots_due_total gauge");
        let _ = writeln!(
            out,
            "crewcall_slots_due_total{{filled=\"true\"}} {had}\ncrewcall_slots_due_total{{filled=\"false\"}} {}",
            wanted - had
        );

        // Time to fill: from an order posted in the window to the first time it was filled.
        let posted: Vec<(i64, i64)> =
            sqlx::query_as("SELECT id, created_at FROM orders WHERE created_at > $1")
                .bind(since)
                .fetch_all(pool)
                .await
                .map_err(db)?;
        let posted: HashMap<String, i64> = posted
            .into_iter()
            .map(|(id, at)| (crate::domain::OrderId::new(id as u64).to_string(), at))
            .collect();
        let changes: Vec<(i64, String)> = sqlx::query_as(
            "SELECT at, payload FROM events WHERE kind = 'order_status' AND at > $1 ORDER BY seq",
        )
        .bind(since)
        .fetch_all(pool)
        .await
        .map_err(db)?;
        let mut first_filled: HashMap<String, i64> = HashMap::new();
        for (at, payload) in changes {
            let Ok(p) = serde_json::from_str::<serde_json::Value>(&payload) else {
                continue;
            };
            if p["status"] == "filled"
                && let Some(order) = p["order"].as_str()
                && posted.contains_key(order)
            {
                first_filled.entry(order.to_owned()).or_insert(at);
            }
        }
        let mut counts = [0u64; FILL_BUCKETS.len()];
        let mut sum = 0.0;
        for (order, at) in &first_filled {
            let secs = (at - posted[order]).max(0) as f64 / 1000.0;
            sum += secs;
            for (i, b) in FILL_BUCKETS.iter().enumerate() {
                if secs <= *b {
                    counts[i] += 1;
                }
            }
        }
        let _ = writeln!(
            out,
            "# HELP crewcall_time_to_fill_seconds From posting to filled, orders posted in the last {WINDOW_DAYS} days \
             that filled."
        );
        let _ = writeln!(out, "# TYPE crewcall_time_to_fill_seconds histogram");
        for (i, b) in FILL_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "crewcall_time_to_fill_seconds_bucket{{le=\"{b}\"}} {}",
                counts[i]
            );
        }
        let n = first_filled.len();
        let _ = writeln!(
            out,
            "crewcall_time_to_fill_seconds_bucket{{le=\"+Inf\"}} {n}\ncrewcall_time_to_fill_seconds_sum {sum}\n\
             crewcall_time_to_fill_seconds_count {n}"
        );
        let _ = writeln!(
            out,
            "# HELP crewcall_orders_unfilled Orders posted in the last {WINDOW_DAYS} days that have not been filled yet."
        );
        let _ = writeln!(out, "# TYPE crewcall_orders_unfilled gauge");
        let _ = writeln!(out, "crewcall_orders_unfilled {}", posted.len() - n);

        // Offers per filled slot: shift offers sent for orders posted in the window against the shift slots
        // filled by an accepted offer.
        let (offers, accepted): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN f.status = 'accepted' THEN 1 ELSE 0 END), 0) \
             FROM offers f JOIN orders o ON o.id = f.order_id WHERE o.created_at > $1 AND f.kind = 'shift'",
        )
        .bind(since)
        .fetch_one(pool)
        .await
        .map_err(db)?;
        if accepted > 0 {
            let _ = writeln!(
                out,
                "# HELP crewcall_offers_per_filled_slot Shift offers sent per slot filled by an accepted offer, \
                 orders posted in the last {WINDOW_DAYS} days."
            );
            let _ = writeln!(out, "# TYPE crewcall_offers_per_filled_slot gauge");
            let _ = writeln!(
                out,
                "crewcall_offers_per_filled_slot {}",
                offers as f64 / accepted as f64
            );
        }

        // No-shows and replacements, all time.
        let (no_shows,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM assignments WHERE status = 'no_show'")
                .fetch_one(pool)
                .await
                .map_err(db)?;
        let _ = writeln!(
            out,
            "# HELP crewcall_no_shows_total Assignments marked no-show."
        );
        let _ = writeln!(out, "# TYPE crewcall_no_shows_total counter");
        let _ = writeln!(out, "crewcall_no_shows_total {no_shows}");
        let (by_standby,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM assignments WHERE replaces IS NOT NULL AND offer_id IS NULL",
        )
        .fetch_one(pool)
        .await
        .map_err(db)?;
        let (by_offer,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM offers WHERE urgent = 1 AND status = 'accepted'")
                .fetch_one(pool)
                .await
                .map_err(db)?;
        let _ = writeln!(
            out,
            "# HELP crewcall_replacements_total Assignments made to replace a no-show or a cancellation, by how: \
             a standby promoted or an urgent offer accepted."
        );
        let _ = writeln!(out, "# TYPE crewcall_replacements_total counter");
        let _ = writeln!(
            out,
            "crewcall_replacements_total{{via=\"standby\"}} {by_standby}\ncrewcall_replacements_total{{via=\"offer\"}} {by_offer}"
        );
        Ok(())
    }
}
