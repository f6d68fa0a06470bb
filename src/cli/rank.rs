//! `crewcall rank`: ranks the candidates of every role of an order over a file of workers and prints the
//! explained top of each list and the optimal crew beside the greedy one. No database, no server: the index,
//! matching and the crew solver, as the engine uses them.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Instant;

use chrono::{DateTime, Utc};

use crate::dispatch::{candidates, plan_crew};
use crate::domain::{AgencyId, OrderId, WorkerId};
use crate::index::WorkerIndex;
use crate::matching::{Feature, LiveState, MatchContext, Policy};
use crate::wire::order::OrderBody;
use crate::wire::worker::{parse_line, parse_worker};

/// What to rank.
pub struct RankArgs {
    /// NDJSON workers, one `POST /v1/workers` body a line.
    pub workers: String,
    /// One `POST /v1/orders` body.
    pub order: String,
    /// How many candidates to show per role.
    pub top: usize,
    /// The time of the decision; a day before the order's start when absent.
    pub now: Option<DateTime<Utc>>,
}

/// Runs the ranking and returns the report to print.
pub fn run(args: &RankArgs) -> Result<String, Box<dyn std::error::Error>> {
    let agency = AgencyId::new(1);
    let text = std::fs::read_to_string(&args.workers)
        .map_err(|e| format!("cannot read {}: {e}", args.workers))?;
    let mut workers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let body = parse_line(line).map_err(|e| format!("{}:{}: {e}", args.workers, i + 1))?;
        let w = parse_worker(&body, WorkerId::new(workers.len() as u64 + 1), agency)
            .map_err(|e| format!("{}:{}: {e:?}", args.workers, i + 1))?;
        workers.push(w);
    }
    let raw = std::fs::read_to_string(&args.order)
        .map_err(|e| format!("cannot read {}: {e}", args.order))?;
    let body: OrderBody =
        crate::wire::parse(raw.as_bytes()).map_err(|e| format!("{}: {e:?}", args.order))?;
    let order = body
        .parse(OrderId::new(1), agency)
        .map_err(|e| format!("{}: {e:?}", args.order))?;
    let now = args
        .now
        .unwrap_or(order.shift.start() - chrono::Duration::days(1));

    let n = workers.len();
    let t = Instant::now();
    let index = WorkerIndex::bulk_build(workers)?;
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let live = LiveState::new();
    let policy = Policy::default();
    let exclude = HashSet::new();

    let mut out = String::new();
    let tz = order.shift.start().fixed_offset().timezone();
    writeln!(
        out,
        "{} at {} — {} to {} (UTC), priority {}",
        if order.title.is_empty() {
            "Order"
        } else {
            &order.title
        },
        order.venue.name,
        order
            .shift
            .start()
            .with_timezone(&tz)
            .format("%a %Y-%m-%d %H:%M"),
        order.shift.end().with_timezone(&tz).format("%H:%M"),
        order.priority.as_str(),
    )?;
    writeln!(
        out,
        "{n} workers indexed in {build_ms:.0} ms; policy v{}; decision time {}\n",
        policy.version,
        crate::domain::time::format_instant(now)
    )?;
    for role in &order.roles {
        let ctx = MatchContext {
            order: &order,
            role,
            live: &live,
            policy: &policy,
            now,
            exclude: &exclude,
        };
        let t = Instant::now();
        let ranking = candidates(&index, &ctx, args.top);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let excluded: Vec<String> = ranking
            .excluded
            .iter()
            .map(|(r, c)| format!("{} {c}", r.as_str()))
            .collect();
        writeln!(
            out,
            "Role \"{}\" ×{}: {} eligible ({:.2} ms); excluded: {}",
            role.name,
            role.headcount,
            ranking.eligible,
            ms,
            if excluded.is_empty() {
                "none".into()
            } else {
                excluded.join(", ")
            }
        )?;
        write!(
            out,
            "  {:>3} {:<10} {:<18} {:>6} {:>6}",
            "#", "worker", "name", "score", "km"
        )?;
        for f in Feature::ALL {
            write!(out, " {:>9}", short(f))?;
        }
        writeln!(out)?;
        for (i, s) in ranking.ranked.iter().enumerate() {
            write!(
                out,
                "  {:>3} {:<10} {:<18} {:>6.3} {:>6.1}",
                i + 1,
                s.worker.id.to_string(),
                s.worker.name.chars().take(18).collect::<String>(),
                s.score,
                s.distance_km
            )?;
            for (_, c) in s.explain.iter() {
                write!(out, " {c:>9.3}")?;
            }
            writeln!(out)?;
        }
        writeln!(out)?;
    }
    let open: Vec<u32> = order.roles.iter().map(|r| r.headcount).collect();
    let t = Instant::now();
    let plan = plan_crew(&index, &live, &policy, &order, &open, &exclude, now);
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let filled: u32 = plan.crew.filled.iter().sum();
    writeln!(
        out,
        "Crew: {filled} of {} slots filled, total score {:.3} (greedy: {:.3}, {} filled), planned in {ms:.1} ms",
        order.headcount(),
        plan.crew.total_score,
        plan.greedy.total_score,
        plan.greedy.filled.iter().sum::<u32>(),
    )?;
    for (r, role) in order.roles.iter().enumerate() {
        let ids: Vec<String> = plan
            .crew
            .picks
            .iter()
            .filter(|p| p.role == r)
            .map(|p| p.worker.to_string())
            .collect();
        writeln!(out, "  {}: {}", role.name, ids.join(" "))?;
    }
    Ok(out)
}

fn short(f: Feature) -> &'static str {
    match f {
        Feature::Proximity => "proximity",
        Feature::Rating => "rating",
        Feature::Reliability => "reliable",
        Feature::Experience => "exper.",
        Feature::ClientExperience => "client",
        Feature::PreferredSkills => "preferred",
        Feature::Fairness => "fairness",
        Feature::Favourite => "favourite",
        Feature::Pool => "pool",
        Feature::Star => "star",
    }
}
