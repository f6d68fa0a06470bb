//! `crewcall simulate`: a week of a city's staffing through the real engine on a fresh database, with a progress
//! bar, a KPI table, and optionally the figures as JSON and a chart as SVG. `--compare-standby` runs the same
//! seed under several standby policies, each on its own fresh database, and prints them side by side.

use std::sync::Arc;

use serde_json::json;

use crate::clock::{Clock, ManualClock};
use crate::engine::{Engine, EngineConfig};
use crate::sim::week::{self, StandbyPolicy, WeekConfig, WeekOutcome};
use crate::store::{Durability, Store};
use crate::wire::pay::SettlementView;

/// What the command was asked.
#[derive(Debug, Clone)]
pub struct SimulateArgs {
    /// Workers in the city.
    pub workers: usize,
    /// Orders over the week.
    pub orders: usize,
    /// The seed.
    pub seed: u64,
    /// The database (recreated).
    pub db: String,
    /// The standby policy of a single run.
    pub standby: StandbyPolicy,
    /// Policies to compare, if any (each on its own database).
    pub compare: Vec<StandbyPolicy>,
    /// Where to write the figures as JSON.
    pub json: Option<String>,
    /// Where to write the chart.
    pub svg: Option<String>,
    /// Whether the agency reserves on-call workers ahead of the forecast's peaks.
    pub reserve: bool,
    /// Whether to draw a progress bar.
    pub progress: bool,
    /// Whether the agency turns re-confirmation and pre-shift signals on (and the workers use them).
    pub signals: bool,
}

/// Removes a SQLite database file with its WAL and shared-memory files, so the run starts fresh.
pub fn remove_sqlite(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))
    else {
        return Err(
            "simulate and replay write a fresh SQLite database: use sqlite://file.db".into(),
        );
    };
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return Ok(());
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{path}{suffix}");
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {p}: {e}").into()),
        }
    }
    Ok(())
}

/// The database of one policy in a comparison: `sim.db` becomes `sim-auto.db`, `sim-fixed-1.db`, ….
pub fn db_for(url: &str, policy: StandbyPolicy) -> String {
    let tag = policy.name().replace(':', "-");
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let named = match base.strip_suffix(".db") {
        Some(stem) => format!("{stem}-{tag}.db"),
        None => format!("{base}-{tag}"),
    };
    match query {
        Some(q) => format!("{named}?{q}"),
        None => named,
    }
}

/// Runs one week on a fresh database, drawing its progress on `bar`.
pub async fn run_one(
    db: &str,
    cfg: WeekConfig,
    bar: indicatif::ProgressBar,
) -> Result<(WeekOutcome, Vec<SettlementView>), Box<dyn std::error::Error + Send + Sync>> {
    remove_sqlite(db).map_err(|e| e.to_string())?;
    let store = Store::connect_with(db, Durability::Relaxed).await?;
    store.migrate().await?;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(week::start_time(&cfg)));
    let engine = Engine::start(store, clock, EngineConfig::default())
        .await?
        .engine;
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>10} {bar:40} {pos}/{len} simulated minutes  {elapsed}",
        )
        .expect("a valid template"),
    );
    bar.set_prefix(cfg.standby.name());
    let outcome = week::run(&engine, cfg, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish();
    // The week's pay run: the clock moves past every dispute window, so the undisputed timesheets are approved
    // as they would be, and each pay week of the simulated agency is read.
    engine
        .advance_clock(engine.now() + chrono::Duration::days(4))
        .await?;
    let pay = engine.pay_runs(crate::domain::AgencyId::new(1)).await?;
    engine.store().close().await;
    Ok((outcome, pay))
}

/// One line per pay week: workers paid, hours, total pay, overtime, late-cancellation compensation.
pub fn pay_lines(name: &str, runs: &[SettlementView]) -> String {
    let money = |m: &crate::wire::pay::Money| {
        format!(
            "{} {}",
            crate::wire::pay::decimal(
                m.amount_minor,
                crate::domain::pay::currency_exponent(&m.currency)
            ),
            m.currency
        )
    };
    let mut text = String::new();
    for r in runs {
        let t = &r.totals;
        text.push_str(&format!(
            "{name}: pay run {}: {} workers paid, {:.1} h, total pay {} (base {}, overtime {:.1} h = {}, \
             late cancellations {}), {} timesheets pending\n",
            r.week,
            t.workers,
            t.approved_hours,
            money(&t.total),
            money(&t.base_pay),
            t.overtime_minutes as f64 / 60.0,
            money(&t.overtime_premium),
            money(&t.late_cancellation_compensation),
            r.pending.submitted + r.pending.disputed,
        ));
    }
    text
}

/// Runs the command; returns the text to print. Compared policies run side by side, each on its own engine
/// and database.
pub async fn run(args: &SimulateArgs) -> Result<String, Box<dyn std::error::Error>> {
    let policies = if args.compare.is_empty() {
        vec![args.standby]
    } else {
        args.compare.clone()
    };
    let bars = indicatif::MultiProgress::with_draw_target(if args.progress {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    });
    let mut tasks = Vec::new();
    for policy in &policies {
        let cfg = WeekConfig {
            workers: args.workers,
            orders: args.orders,
            seed: args.seed,
            standby: *policy,
            signals: args.signals,
            reserve: args.reserve,
        };
        let db = if args.compare.is_empty() {
            args.db.clone()
        } else {
            db_for(&args.db, *policy)
        };
        let bar = bars.add(indicatif::ProgressBar::new(1));
        tasks.push((
            *policy,
            db.clone(),
            // Each week runs on a thread of its own with a single-threaded runtime: its engine, its
            // database's worker thread and nothing else wake each other, instead of every run's tasks
            // hopping between the shared runtime's threads.
            tokio::task::spawn_blocking(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                let started = std::time::Instant::now();
                runtime
                    .block_on(run_one(&db, cfg, bar))
                    .map(|o| (o, started.elapsed()))
            }),
        ));
    }
    let mut runs = Vec::new();
    for (policy, db, task) in tasks {
        let (outcome, took) = task
            .await
            .map_err(|e| format!("the {} run failed: {e}", policy.name()))?
            .map_err(|e| format!("the {} run failed: {e}", policy.name()))?;
        runs.push((policy, db, outcome, took));
    }
    let _ = bars.clear();
    let named: Vec<(String, &crate::sim::kpi::Kpis)> = runs
        .iter()
        .map(|(p, _, (o, _), _)| (format!("standby {}", p.name()), &o.kpis))
        .collect();
    let mut text = format!(
        "simulated week: {} workers, {} orders, seed {}{}\n",
        args.workers,
        args.orders,
        args.seed,
        if args.reserve {
            ", on-call reservation ahead of forecast peaks"
        } else {
            ""
        }
    );
    text.push_str(&crate::sim::kpi::table(&named));
    // The forecast is the same for every policy (same seed, same history).
    if let Some((_, _, (o, _), _)) = runs.first() {
        text.push_str(&o.forecast.line());
    }
    if args.reserve {
        for (p, _, (o, _), _) in &runs {
            text.push_str(&format!("standby {}: {}", p.name(), o.reserve.line()));
        }
    }
    for (p, _, (_, pay), _) in &runs {
        text.push_str(&pay_lines(&format!("standby {}", p.name()), pay));
    }
    // Who is booked differs between the policies little; the first run's calibration stands for them.
    if let Some((_, _, (o, _), _)) = runs.first() {
        text.push_str(&o.kpis.calibration.table());
    }
    for (p, db, _, took) in &runs {
        text.push_str(&format!(
            "standby {}: {:.1} s, event log in {db}\n",
            p.name(),
            took.as_secs_f64()
        ));
    }
    if let Some(path) = &args.json {
        let doc = json!({
            "workers": args.workers, "orders": args.orders, "seed": args.seed, "reserve": args.reserve,
            "forecast": runs.first().map(|(_, _, (o, _), _)| o.forecast.to_json()),
            "runs": runs.iter().map(|(p, db, (o, pay), took)| json!({
                "standby": p.name(), "db": db, "seconds": took.as_secs_f64(), "kpis": o.kpis.to_json(),
                "reserve": o.reserve.to_json(),
                "pay_runs": pay.iter().map(|r| json!({"week": r.week, "totals": r.totals,
                                                       "pending": r.pending})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    // The chart shows the auto policy's week when it ran, else the first policy's.
    let charted = runs
        .iter()
        .find(|r| r.0 == StandbyPolicy::Auto)
        .or(runs.first());
    if let Some(path) = &args.svg
        && let Some((p, _, (o, _), _)) = charted
    {
        let title = format!(
            "Slots filled vs wanted, {} workers, {} orders, seed {}, standby {}",
            args.workers,
            args.orders,
            args.seed,
            p.name()
        );
        std::fs::write(path, crate::sim::svg::chart(&title, &o.samples))
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_compared_policy_gets_its_own_database() {
        assert_eq!(
            db_for("sqlite://sim.db", StandbyPolicy::Fixed(1)),
            "sqlite://sim-fixed-1.db"
        );
        assert_eq!(
            db_for("sqlite://x/sim.db?mode=rwc", StandbyPolicy::Auto),
            "sqlite://x/sim-auto.db?mode=rwc"
        );
    }
}
