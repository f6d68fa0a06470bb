//! `crewcall simulate`: a week of a city's staffing through the real engine on a fresh database, with a progress
//! bar, a KPI table, and optionally the figures as JSON and a chart as SVG. `--compare-standby` runs the same
//! seed under several standby policies, each on its own fresh database, and prints them side by side; `--seeds`
//! runs every policy on each of several seeds and adds a summary of each figure's mean and spread.

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
    /// The seed (of a run over one seed).
    pub seed: u64,
    /// Seeds to run each policy on, when more than one; empty for `seed` alone.
    pub seeds: Vec<u64>,
    /// Weeks run at once (0: one per core).
    pub jobs: usize,
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
    /// Whether to draw a progress bar.
    pub progress: bool,
    /// Whether the agency reserves on-call workers ahead of the forecast's peaks (the pooled policy always does).
    pub reserve: bool,
    /// Whether the agency turns re-confirmation and pre-shift signals on, and the workers use them (the pooled
    /// policy always does).
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

/// The database of one run: with several seeds, each seed's runs get their own files too (`sim-auto-seed43.db`,
/// or `sim-seed43.db` for a single policy).
pub fn db_for_run(args: &SimulateArgs, policy: StandbyPolicy, seed: u64) -> String {
    let db = if args.compare.is_empty() {
        args.db.clone()
    } else {
        db_for(&args.db, policy)
    };
    if args.seeds.len() <= 1 {
        return db;
    }
    let (base, query) = db
        .split_once('?')
        .map_or((db.as_str(), None), |(b, q)| (b, Some(q)));
    let named = match base.strip_suffix(".db") {
        Some(stem) => format!("{stem}-seed{seed}.db"),
        None => format!("{base}-seed{seed}"),
    };
    match query {
        Some(q) => format!("{named}?{q}"),
        None => named,
    }
}

/// How many weeks run at once: one per core, since each week keeps about one core busy (its engine and its
/// database's connection thread hand work to each other rather than run side by side); more would only make
/// them take turns.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// One finished week.
type Finished = (
    StandbyPolicy,
    u64,
    String,
    (WeekOutcome, Vec<SettlementView>),
    std::time::Duration,
);

/// Runs the command; returns the text to print. Every (seed, policy) pair runs on its own engine and database;
/// at most `jobs` of them at once, each on a thread of its own with a single-threaded runtime.
pub async fn run(args: &SimulateArgs) -> Result<String, Box<dyn std::error::Error>> {
    let policies = if args.compare.is_empty() {
        vec![args.standby]
    } else {
        args.compare.clone()
    };
    let seeds = if args.seeds.is_empty() {
        vec![args.seed]
    } else {
        args.seeds.clone()
    };
    let several_seeds = seeds.len() > 1;
    let bars = indicatif::MultiProgress::with_draw_target(if args.progress {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    });
    let mut queue = std::collections::VecDeque::new();
    for &seed in &seeds {
        for policy in &policies {
            let cfg = WeekConfig {
                workers: args.workers,
                orders: args.orders,
                seed,
                standby: *policy,
                // The pooled policy is the whole of what the agency can do before a shift: a pool sized for
                // the area, re-confirmation and pre-shift signals, and on-call workers reserved ahead of the
                // forecast's peaks.
                signals: args.signals || *policy == StandbyPolicy::Pooled,
                reserve: args.reserve || *policy == StandbyPolicy::Pooled,
            };
            let db = db_for_run(args, *policy, seed);
            let bar = bars.add(indicatif::ProgressBar::new(1));
            queue.push_back((cfg, db, bar));
        }
    }
    let total = queue.len();
    let queue = Arc::new(std::sync::Mutex::new(queue));
    let jobs = if args.jobs == 0 {
        default_jobs()
    } else {
        args.jobs
    }
    .clamp(1, total.max(1));
    // The ranking's thread pool starts here, unpinned, before any week pins its thread (threads inherit the
    // core of the thread that starts them): dense rankings of every week share both cores.
    rayon::current_num_threads();
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let mut workers = Vec::new();
    for slot in 0..jobs {
        let queue = queue.clone();
        let core = (!cores.is_empty()).then(|| cores[slot % cores.len()]);
        // Each week runs on a thread of its own with a single-threaded runtime: its engine, its database's
        // worker thread and nothing else wake each other, instead of every run's tasks hopping between the
        // shared runtime's threads. A thread takes the next week when its last one is done.
        workers.push(tokio::task::spawn_blocking(
            move || -> Result<Vec<(usize, Finished)>, String> {
                // The week's thread and the database connection threads it starts (which inherit its core)
                // stay on one core. Every statement hands work to a connection thread and back; across cores
                // each hand-off wakes the other core (an interrupt, and on a virtual machine an exit to the
                // host), which cost more than the statements themselves: pinned, the default week runs in
                // less than half the time.
                if let Some(core) = core {
                    core_affinity::set_for_current(core);
                }
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| format!("cannot start a runtime: {e}"))?;
                let mut done = Vec::new();
                loop {
                    let next = {
                        let mut q = queue.lock().map_err(|_| "a run panicked".to_string())?;
                        let i = total - q.len();
                        q.pop_front().map(|job| (i, job))
                    };
                    let Some((i, (cfg, db, bar))) = next else {
                        return Ok(done);
                    };
                    if several_seeds {
                        bar.set_message(format!("seed {}", cfg.seed));
                    }
                    let started = std::time::Instant::now();
                    let outcome = runtime.block_on(run_one(&db, cfg, bar)).map_err(|e| {
                        format!(
                            "the {} run of seed {} failed: {e}",
                            cfg.standby.name(),
                            cfg.seed
                        )
                    })?;
                    done.push((i, (cfg.standby, cfg.seed, db, outcome, started.elapsed())));
                }
            },
        ));
    }
    let mut runs: Vec<(usize, Finished)> = Vec::new();
    for w in workers {
        runs.extend(w.await.map_err(|e| format!("a run failed: {e}"))??);
    }
    runs.sort_by_key(|(i, _)| *i);
    let runs: Vec<Finished> = runs.into_iter().map(|(_, r)| r).collect();
    let _ = bars.clear();
    let mut text = String::new();
    for &seed in &seeds {
        let of_seed: Vec<&Finished> = runs.iter().filter(|r| r.1 == seed).collect();
        let named: Vec<(String, &crate::sim::kpi::Kpis)> = of_seed
            .iter()
            .map(|(p, _, _, (o, _), _)| (format!("standby {}", p.name()), &o.kpis))
            .collect();
        text.push_str(&format!(
            "simulated week: {} workers, {} orders, seed {seed}{}{}\n",
            args.workers,
            args.orders,
            if args.signals {
                ", re-confirmation and pre-shift signals"
            } else {
                ""
            },
            if args.reserve {
                ", on-call reservation ahead of forecast peaks"
            } else {
                ""
            },
        ));
        text.push_str(&crate::sim::kpi::table(&named));
        // The forecast is the same for every policy (same seed, same history).
        if let Some((_, _, _, (o, _), _)) = of_seed.first() {
            text.push_str(&o.forecast.line());
        }
        for (p, _, _, (o, _), _) in &of_seed {
            if o.reserve.rounds > 0 {
                text.push_str(&format!("standby {}: {}", p.name(), o.reserve.line()));
            }
        }
        for (p, _, _, (_, pay), _) in &of_seed {
            text.push_str(&pay_lines(&format!("standby {}", p.name()), pay));
        }
        // Who is booked differs between the policies little; the first run's calibration stands for them.
        if let Some((_, _, _, (o, _), _)) = of_seed.first() {
            text.push_str(&o.kpis.calibration.table());
        }
        text.push('\n');
    }
    if several_seeds {
        let columns: Vec<(String, Vec<&crate::sim::kpi::Kpis>)> = policies
            .iter()
            .map(|p| {
                (
                    format!("standby {}", p.name()),
                    runs.iter()
                        .filter(|r| r.0 == *p)
                        .map(|r| &r.3.0.kpis)
                        .collect(),
                )
            })
            .collect();
        text.push_str(&format!(
            "over {} seeds ({}): mean ± standard deviation (min–max)\n",
            seeds.len(),
            seeds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        text.push_str(&crate::sim::kpi::summary(&columns));
    }
    for (p, seed, db, _, took) in &runs {
        text.push_str(&format!(
            "standby {}, seed {seed}: {:.1} s, event log in {db}\n",
            p.name(),
            took.as_secs_f64()
        ));
    }
    if let Some(path) = &args.json {
        let doc = json!({
            "workers": args.workers, "orders": args.orders, "seed": seeds[0], "seeds": seeds,
            "signals": args.signals, "reserve": args.reserve,
            "forecast": runs.first().map(|(_, _, _, (o, _), _)| o.forecast.to_json()),
            "runs": runs.iter().map(|(p, seed, db, (o, pay), took)| json!({
                "standby": p.name(), "seed": seed, "db": db, "seconds": took.as_secs_f64(),
                "kpis": o.kpis.to_json(), "reserve": o.reserve.to_json(),
                "pay_runs": pay.iter().map(|r| json!({"week": r.week, "totals": r.totals,
                                                       "pending": r.pending})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        std::fs::write(path, serde_json::to_string_pretty(&doc)? + "\n")
            .map_err(|e| format!("cannot write {path}: {e}"))?;
    }
    // The chart shows every policy of the first seed.
    if let Some(path) = &args.svg {
        let charted: Vec<&Finished> = runs.iter().filter(|r| r.1 == seeds[0]).collect();
        let names: Vec<String> = charted
            .iter()
            .map(|r| format!("standby {}", r.0.name()))
            .collect();
        let series: Vec<crate::sim::svg::Series<'_>> = charted
            .iter()
            .zip(&names)
            .map(|(r, name)| crate::sim::svg::Series {
                name,
                samples: &r.3.0.samples,
            })
            .collect();
        let from = charted
            .first()
            .map_or_else(chrono::Utc::now, |r| r.3.0.samples_from);
        let title = format!(
            "Slots filled vs wanted, {} workers, {} orders, seed {}",
            args.workers, args.orders, seeds[0],
        );
        std::fs::write(path, crate::sim::svg::chart(&title, from, &series))
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

    #[test]
    fn each_seed_of_several_gets_its_own_database_and_one_seed_keeps_the_plain_names() {
        let mut args = SimulateArgs {
            workers: 10,
            orders: 1,
            seed: 42,
            seeds: vec![42, 43],
            jobs: 0,
            db: "sqlite://sim.db?mode=rwc".into(),
            standby: StandbyPolicy::Auto,
            compare: vec![StandbyPolicy::None, StandbyPolicy::Auto],
            json: None,
            svg: None,
            progress: false,
            reserve: false,
            signals: false,
        };
        assert_eq!(
            db_for_run(&args, StandbyPolicy::None, 43),
            "sqlite://sim-none-seed43.db?mode=rwc"
        );
        args.compare.clear();
        assert_eq!(
            db_for_run(&args, StandbyPolicy::Auto, 42),
            "sqlite://sim-seed42.db?mode=rwc"
        );
        args.seeds = vec![42];
        assert_eq!(
            db_for_run(&args, StandbyPolicy::Auto, 42),
            "sqlite://sim.db?mode=rwc"
        );
    }
}
