//! Load over HTTP: one or two `crewcall serve` processes on loopback, driven by a bounded number of
//! connections for a bounded time per scenario.
//!
//! ```sh
//! cargo bench --bench load                                   # SQLite, one node, 100,000 workers, 10 s each
//! cargo bench --bench load -- --backend sqlite --workers 20000 --seconds 5
//! cargo bench --bench load -- --backend postgres --nodes 2 --json load.json
//! cargo bench --bench load -- --only candidates --connections 4
//! ```
//!
//! Options (after `--`): `--backend sqlite|postgres` (PostgreSQL: a fresh database `crewcall_load_<pid>` next
//! to `CREWCALL_BENCH_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/test`, dropped at the end),
//! `--nodes 1|2` (two servers on one PostgreSQL database; timed requests alternate between them),
//! `--workers N` (100000), `--seconds S` per scenario (10), `--connections C` (8), `--only <scenario>`,
//! `--json <file>`, `--clock manual|system` (manual: every node starts at `--start`, default
//! 2026-11-25T02:00:00Z, a Wednesday 10:00 in Shanghai, and stays there), `--app-workers N` (3000),
//! `--chunk N` (import lines per request, 20000), `--seed N` (7), `--node-cpus LIST/LIST` (node `i` pinned to
//! the `i`-th CPU list with `taskset -c`, e.g. `0/1`: each node gets a core of its own).
//!
//! Set-up, untimed: an agency (`POST /v1/agencies`), the generated Shanghai-like population
//! (`crewcall::sim::workers`, as NDJSON through `POST /v1/workers/import`, in chunks). All set-up goes to the
//! first node; only the timed requests are spread over the nodes (request `i` goes to node `i mod nodes`).
//!
//! Scenarios, each timed for `--seconds` with `--connections` concurrent keep-alive connections (one client
//! per connection):
//! - `orders`: `POST /v1/orders` in assign mode, one role of headcount 10; orders cycle over five venues near
//!   the city centre, the five commonest skills of the population, two shifts a day and 120 days, so they do not
//!   compete for the same workers. Reports the mean number of confirmed assignments per order and checks the
//!   answers for one worker confirmed twice at overlapping times.
//! - `accepts`: `--app-workers` workers created one by one with `POST /v1/workers` (for their app tokens), in
//!   groups of 30, each group with a certification no other worker has, homes around a venue far from the
//!   others; each day one offer-mode order per group (headcount 10, fanout 3: the whole group gets offers);
//!   each worker's pending offers read with `GET /v1/me/offers`; then, timed, `POST /v1/offers/{id}/accept`
//!   with the worker's token — at most one offer per worker and day and at most the headcount per order, so
//!   every accept can succeed (a role's tenth accept withdraws its other offers).
//! - `checkins`: assign-mode orders starting 30 minutes after the server's clock at venues around the centre;
//!   then, timed, `POST /v1/assignments/{id}/check-in` by the agency at the venue, each assignment once.
//! - `candidates`: `GET /v1/orders/{id}/candidates?role=<skill>&limit=50` over 60 offer-mode orders; with the
//!   server's `Server-Timing: match;dur=<ms>`, the engine's share of each answer is reported too.
//!
//! A scenario whose prepared requests run out before its time is up stops there and says so. Counts and rates
//! are of successful (2xx) answers; latencies are of those, measured from sending the request to the end of
//! the body; failed answers are counted by status (`io` for a transport error). The servers and the client
//! share the machine: its cores and load are printed before each scenario, and after it where the CPU time of
//! its timed window went (Linux `/proc`), in milliseconds per successful answer: the servers' threads by their
//! part of the work (ranking, SQLite's connections, the runtime, the rest), the load generator, every other
//! process (PostgreSQL's among them), and the share of the machine's cores that was busy, idle, and stolen by
//! the host of a virtual machine. Rates differ from machine to machine and from hour to hour on a shared host;
//! the CPU time per answer says what the work costs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use crewcall::domain::{AgencyId, LatLon};
use crewcall::sim::ndjson::{local_time, worker_line};
use crewcall::sim::place::offset_km;
use crewcall::sim::{City, Rng, workers};
use reqwest::Method;
use serde_json::{Value, json};

const SCENARIOS: [&str; 4] = ["orders", "accepts", "checkins", "candidates"];
const ADMIN_TOKEN_PREFIX: &str = "load-admin";
/// The certifications only the app workers of `accepts` hold: one per group of `ACCEPT_HEADCOUNT *
/// ACCEPT_FANOUT` workers (`load_bench_<group>`), so each order of a day offers to its own group.
const APP_CERT: &str = "load_bench";
const ACCEPT_HEADCOUNT: usize = 10;
const ACCEPT_FANOUT: usize = 3;
/// Where the app workers live (Jinshan, ~55 km from the centre: out of reach of the other scenarios' venues).
const APP_HOME: (f64, f64) = (30.7419, 121.3418);
/// The first day (after the server's clock) of each scenario's orders, so scenarios do not share days.
const ORDERS_DAY0: u64 = 2;
const ORDERS_DAYS: u64 = 120;
const CANDIDATES_DAY0: u64 = 130;
const ACCEPTS_DAY0: u64 = 200;

// ---------------------------------------------------------------------------------------------------------
// Options

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
struct Opts {
    backend: Backend,
    nodes: usize,
    workers: usize,
    seconds: f64,
    connections: usize,
    only: Option<String>,
    json: Option<PathBuf>,
    clock: String,
    start: String,
    app_workers: usize,
    chunk: usize,
    seed: u64,
    /// CPU lists the nodes are pinned to (`taskset -c`), by node.
    node_cpus: Vec<String>,
}

const USAGE: &str = "usage: cargo bench --bench load -- [--backend sqlite|postgres] [--nodes 1|2] \
[--workers N] [--seconds S] [--connections C] [--only orders|accepts|checkins|candidates] [--json FILE] \
[--clock manual|system] [--start RFC3339] [--app-workers N] [--chunk N] [--seed N]";

fn usage(msg: &str) -> ! {
    eprintln!("load: {msg}\n{USAGE}");
    std::process::exit(2);
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        backend: Backend::Sqlite,
        nodes: 1,
        workers: 100_000,
        seconds: 10.0,
        connections: 8,
        only: None,
        json: None,
        clock: "manual".into(),
        start: "2026-11-25T02:00:00Z".into(),
        app_workers: 3_000,
        chunk: 20_000,
        seed: 7,
        node_cpus: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--bench" {
            continue;
        }
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        fn num<T: std::str::FromStr>(flag: &str, v: &str) -> T {
            v.parse()
                .unwrap_or_else(|_| usage(&format!("{flag}: not a number: {v}")))
        }
        match a.as_str() {
            "--backend" => {
                o.backend = match value().as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" => Backend::Postgres,
                    other => usage(&format!("unknown backend {other}")),
                }
            }
            "--nodes" => o.nodes = num(&a, &value()),
            "--workers" => o.workers = num(&a, &value()),
            "--seconds" => o.seconds = num(&a, &value()),
            "--connections" => o.connections = num(&a, &value()),
            "--only" => o.only = Some(value()),
            "--json" => o.json = Some(PathBuf::from(value())),
            "--clock" => o.clock = value(),
            "--start" => o.start = value(),
            "--app-workers" => o.app_workers = num(&a, &value()),
            "--chunk" => o.chunk = num(&a, &value()),
            "--seed" => o.seed = num(&a, &value()),
            "--node-cpus" => o.node_cpus = value().split('/').map(str::to_string).collect(),
            "-h" | "--help" => usage("options"),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if !(1..=2).contains(&o.nodes) {
        usage("--nodes is 1 or 2");
    }
    if o.nodes == 2 && o.backend != Backend::Postgres {
        usage("--nodes 2 needs --backend postgres (two servers share one PostgreSQL database)");
    }
    if let Some(s) = &o.only
        && !SCENARIOS.contains(&s.as_str())
    {
        usage(&format!("unknown scenario {s}"));
    }
    if !["manual", "system"].contains(&o.clock.as_str()) {
        usage("--clock is manual or system");
    }
    if o.workers == 0 || o.connections == 0 || o.chunk == 0 || o.app_workers < 30 {
        usage("--workers, --connections and --chunk must be positive, --app-workers at least 30");
    }
    if !(o.seconds > 0.0 && o.seconds <= 3600.0) {
        usage("--seconds must be between 0 and 3600");
    }
    o
}

// ---------------------------------------------------------------------------------------------------------
// The machine

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The process ids of the servers under load, for [`CpuSnapshot`].
static SERVER_PIDS: std::sync::OnceLock<Vec<u32>> = std::sync::OnceLock::new();

/// CPU time so far (Linux `/proc`, in clock ticks): the whole machine's, and each thread of the servers and
/// of this process by the thread's name.
struct CpuSnapshot {
    /// `/proc/stat`'s first line: user, nice, system, idle, iowait, irq, softirq, steal.
    machine: Vec<u64>,
    /// Per (process, thread id): which part of the work the thread does, and its user + system ticks.
    threads: HashMap<(u32, u32), (&'static str, u64)>,
    /// Per other process (PostgreSQL's among them): its user + system ticks.
    others: HashMap<u32, u64>,
}

/// The parts of the work the CPU time is told in: a server thread's part follows from its name.
const CPU_PARTS: [&str; 6] = [
    "ranking",
    "SQLite",
    "runtime",
    "other server threads",
    "load generator",
    "other processes",
];

/// User + system ticks of a `/proc/.../stat` line: fields 14 and 15, counted after the name in parentheses
/// (which may hold spaces); with the name.
fn stat_ticks(line: &str) -> Option<(&str, u64)> {
    let (open, close) = (line.find('(')?, line.rfind(')')?);
    let fields: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Some((&line[open + 1..close], ticks(11) + ticks(12)))
}

fn server_part(thread: &str) -> &'static str {
    if thread.starts_with("crewcall-rank") || thread.starts_with("crewcall-helper") {
        CPU_PARTS[0]
    } else if thread.starts_with("sqlx-sqlite") {
        CPU_PARTS[1]
    } else if thread.starts_with("tokio-rt-worker") {
        CPU_PARTS[2]
    } else {
        CPU_PARTS[3]
    }
}

impl CpuSnapshot {
    fn take() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let machine: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .take(8)
            .filter_map(|v| v.parse().ok())
            .collect();
        if machine.len() < 8 {
            return None;
        }
        let mut threads = HashMap::new();
        let mut processes: Vec<(u32, bool)> = SERVER_PIDS
            .get()
            .map(|p| p.iter().map(|p| (*p, true)).collect())
            .unwrap_or_default();
        processes.push((std::process::id(), false));
        let mut others = HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if processes.iter().any(|(p, _)| *p == pid) {
                continue;
            }
            if let Some((_, ticks)) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .as_deref()
                .and_then(stat_ticks)
            {
                others.insert(pid, ticks);
            }
        }
        for (pid, server) in processes {
            let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for t in tasks.flatten() {
                let Some(tid) = t.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else {
                    continue;
                };
                let Ok(line) = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
                else {
                    continue;
                };
                let Some((name, ticks)) = stat_ticks(&line) else {
                    continue;
                };
                let part = if server {
                    server_part(name)
                } else {
                    CPU_PARTS[4]
                };
                threads.insert((pid, tid), (part, ticks));
            }
        }
        Some(Self {
            machine,
            threads,
            others,
        })
    }

    /// What was spent between `before` and this snapshot.
    fn since(self, before: &Option<Self>) -> Option<CpuUse> {
        let before = before.as_ref()?;
        // SAFETY: `sysconf` reads a constant of the system.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let mut parts: BTreeMap<&'static str, f64> = BTreeMap::new();
        for (key, (part, ticks)) in &self.threads {
            let was = before.threads.get(key).map_or(0, |(_, t)| *t);
            *parts.entry(part).or_default() += ticks.saturating_sub(was) as f64 / hz;
        }
        // Processes that started in the window count from nothing; those that ended in it are not counted.
        let others: u64 = self
            .others
            .iter()
            .map(|(pid, t)| t.saturating_sub(before.others.get(pid).copied().unwrap_or(0)))
            .sum();
        parts.insert(CPU_PARTS[5], others as f64 / hz);
        let d: Vec<f64> = self
            .machine
            .iter()
            .zip(&before.machine)
            .map(|(a, b)| a.saturating_sub(*b) as f64 / hz)
            .collect();
        let total: f64 = d.iter().sum();
        // Busy: user, nice, system, irq, softirq; idle and iowait are idle; steal is the host's.
        let busy = d[0] + d[1] + d[2] + d[5] + d[6];
        Some(CpuUse {
            parts,
            busy_s: busy,
            idle_s: d[3] + d[4],
            steal_s: d[7],
            total_s: total,
        })
    }
}

/// CPU seconds spent during a timed window.
struct CpuUse {
    /// By part of the work (see [`CPU_PARTS`]).
    parts: BTreeMap<&'static str, f64>,
    /// The whole machine's busy, idle and stolen time, and all of it (cores × seconds).
    busy_s: f64,
    idle_s: f64,
    steal_s: f64,
    total_s: f64,
}

impl CpuUse {
    /// CPU milliseconds per successful answer, by part, in [`CPU_PARTS`] order.
    fn ms_per_answer(&self, answers: usize) -> Vec<(&'static str, f64)> {
        CPU_PARTS
            .iter()
            .filter_map(|p| {
                let s = self.parts.get(p)?;
                Some((*p, 1000.0 * s / answers.max(1) as f64))
            })
            .collect()
    }

    /// The shares of the machine's cores that were busy, idle and stolen, in percent.
    fn busy_idle_stolen_pct(&self) -> [f64; 3] {
        [self.busy_s, self.idle_s, self.steal_s].map(|s| 100.0 * s / self.total_s.max(1e-9))
    }

    fn text(&self, answers: usize) -> String {
        let parts: Vec<String> = self
            .ms_per_answer(answers)
            .iter()
            .map(|(p, ms)| format!("{p} {ms:.3}"))
            .collect();
        let [busy, idle, stolen] = self.busy_idle_stolen_pct();
        format!(
            "CPU ms per answer: {}; the machine's cores {busy:.0}% busy, {idle:.0}% idle, {stolen:.0}% stolen by \
             the host (a thread's time can hold some of what was stolen while it ran)",
            parts.join(", ")
        )
    }

    fn json(&self, answers: usize) -> Value {
        let mut o: serde_json::Map<String, Value> = self
            .ms_per_answer(answers)
            .into_iter()
            .map(|(p, ms)| (p.to_string(), json!(ms)))
            .collect();
        o.insert(
            "machine_busy_idle_steal_pct".into(),
            json!(self.busy_idle_stolen_pct()),
        );
        Value::Object(o)
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn mem_total_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

/// Resident memory of a process, in MiB.
fn rss_mb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = s
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024)
}

// ---------------------------------------------------------------------------------------------------------
// The servers and the database, killed and dropped at the end (also when a panic unwinds)

struct Node {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let state = match self.child.try_wait() {
                Ok(Some(status)) => format!("had exited with {status}"),
                _ => "was running".into(),
            };
            eprintln!(
                "node {} {state}; its log ends:\n{}",
                self.base,
                tail(&self.log, 3000)
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The run's directory (SQLite database, node logs): removed at the end, kept when a panic unwinds.
struct RunDir(Option<tempfile::TempDir>);

impl RunDir {
    fn path(&self) -> &Path {
        self.0.as_ref().expect("the run directory").path()
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if let Some(d) = self.0.take()
            && std::thread::panicking()
        {
            eprintln!("kept {} (node logs)", d.keep().display());
        }
    }
}

/// The last `n` bytes of a log.
fn tail(path: &Path, n: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(n)));
    let mut s = String::new();
    let _ = f.read_to_string(&mut s);
    s
}

/// How many lines of a node's log are errors or warnings, and the first `keep` of them.
fn log_problems(path: &Path, keep: usize) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut first = Vec::new();
    let mut count = 0;
    for line in text.lines() {
        if line.contains("ERROR") || line.contains(" WARN") {
            count += 1;
            if first.len() < keep {
                first.push(line.chars().take(400).collect());
            }
        }
    }
    (count, first)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn spawn_node(i: usize, database_url: &str, admin: &str, opts: &Opts, dir: &Path) -> Node {
    let port = free_port();
    let log = dir.join(format!("node{i}.log"));
    let out = File::create(&log).expect("the node's log file");
    let err = out.try_clone().expect("the node's log file");
    // `--node-cpus 0/1` pins node 0 to CPU 0 and node 1 to CPU 1 (`taskset -c`), so that two nodes can be
    // compared with one on a machine whose cores they would otherwise share.
    let mut cmd = match opts.node_cpus.get(i) {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpus).arg(env!("CARGO_BIN_EXE_crewcall"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_crewcall")),
    };
    cmd.arg("serve")
        .env("CREWCALL_LISTEN", format!("127.0.0.1:{port}"))
        .env("CREWCALL_DATABASE_URL", database_url)
        .env("CREWCALL_ADMIN_TOKEN", admin)
        // Load and failure tests drive one client harder than the production limits allow.
        .env("CREWCALL_RATE_WORKER", "off")
        .env("CREWCALL_RATE_AGENCY", "off")
        .env("CREWCALL_RATE_ADDRESS", "off")
        .env("CREWCALL_RATE_AUTH_FAILURES", "off")
        .env("CREWCALL_CLOCK", &opts.clock)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    if opts.clock == "manual" {
        cmd.env("CREWCALL_START", &opts.start);
    } else {
        cmd.env_remove("CREWCALL_START");
    }
    let child = cmd.spawn().expect("the crewcall binary starts");
    Node {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

/// Waits until the node answers `GET /readyz` with 200.
fn wait_ready(node: &mut Node) {
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = node.child.try_wait() {
            panic!(
                "the node at {} exited with {status} before it was ready; its log ends:\n{}",
                node.base,
                tail(&node.log, 4000)
            );
        }
        if ready(&node.base) {
            eprintln!(
                "node {} ready in {:.1} s (log {})",
                node.base,
                started.elapsed().as_secs_f64(),
                node.log.display()
            );
            return;
        }
        if started.elapsed() > Duration::from_secs(300) {
            panic!(
                "the node at {} was not ready after 300 s; its log ends:\n{}",
                node.base,
                tail(&node.log, 4000)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET /readyz` answers 200: a bare HTTP/1.1 request over a std socket (no async runtime needed).
fn ready(base: &str) -> bool {
    use std::io::Write;
    let host = base.trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let req = format!("GET /readyz HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    buf[..n].starts_with(b"HTTP/1.1 200")
}

/// A PostgreSQL database made for this run, dropped at the end.
struct Database {
    base: String,
    name: String,
}

impl Database {
    fn create(rt: &tokio::runtime::Runtime, base: &str) -> (Database, String) {
        use sqlx::Connection;
        let name = format!("crewcall_load_{}", std::process::id());
        rt.block_on(async {
            let mut conn = sqlx::postgres::PgConnection::connect(base)
                .await
                .unwrap_or_else(|e| panic!("connect to {base} (CREWCALL_BENCH_POSTGRES): {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await
            .expect("drop a leftover database");
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .expect("create the database");
        });
        let (without_query, query) = match base.split_once('?') {
            Some((u, q)) => (u, Some(q)),
            None => (base, None),
        };
        let root = match without_query.rfind('/') {
            Some(i) if i > "postgres://".len() => &without_query[..i],
            _ => without_query,
        };
        let url = match query {
            Some(q) => format!("{root}/{name}?{q}"),
            None => format!("{root}/{name}"),
        };
        (
            Database {
                base: base.to_string(),
                name,
            },
            url,
        )
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Its own thread and runtime: this may run while a panic unwinds out of another runtime.
        let (base, name) = (self.base.clone(), self.name.clone());
        let done = std::thread::spawn(move || {
            use sqlx::Connection;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            rt.block_on(async {
                let mut conn = sqlx::postgres::PgConnection::connect(&base).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut conn)
                .await
                .map(|_| ())
            })
        })
        .join();
        match done {
            Ok(Ok(())) => eprintln!("dropped database {}", self.name),
            _ => eprintln!("could not drop database {}; drop it by hand", self.name),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(900))
        .build()
        .expect("an HTTP client")
}

/// The set-up side: plain calls that must succeed.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    bases: Arc<Vec<String>>,
    admin: String,
    key: String,
}

impl Api {
    /// A call to the first node; the status and the JSON body (`Null` when there is none).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut rb = self
            .client
            .request(method, format!("{}{path}", self.bases[0]))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: no answer: {e}"));
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// `POST /v1/orders` as the agency.
    async fn post_order(&self, body: &Value) -> (u16, Value) {
        self.call(Method::POST, "/v1/orders", &self.key, Some(body))
            .await
    }
}

/// Runs `f` over `items` with `n` tasks; the answers in the items' order.
async fn concurrently<T, R, F, Fut>(items: Vec<T>, n: usize, f: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = R> + Send,
{
    let len = items.len();
    let queue = Arc::new(Mutex::new(
        items.into_iter().enumerate().collect::<Vec<_>>(),
    ));
    queue.lock().unwrap().reverse();
    let f = Arc::new(f);
    let mut handles = Vec::new();
    for _ in 0..n.max(1) {
        let (queue, f) = (queue.clone(), f.clone());
        handles.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let next = queue.lock().unwrap().pop();
                let Some((i, item)) = next else { break };
                out.push((i, f(item).await));
            }
            out
        }));
    }
    let mut all: Vec<Option<R>> = (0..len).map(|_| None).collect();
    for h in handles {
        for (i, r) in h.await.expect("a set-up task") {
            all[i] = Some(r);
        }
    }
    all.into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

// ---------------------------------------------------------------------------------------------------------
// The timed phase

/// One prepared request.
struct Req {
    method: Method,
    path: String,
    token: Arc<str>,
    body: Option<String>,
}

/// What to read from a successful answer besides its status.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extract {
    Nothing,
    /// The confirmed crew of an order answer.
    Crew,
    /// `Server-Timing: match;dur=<ms>`.
    ServerTiming,
}

/// The confirmed crew of one posted order.
struct Crew {
    node: usize,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    workers: Vec<String>,
}

#[derive(Default)]
struct Measured {
    elapsed_s: f64,
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, usize>,
    error_examples: BTreeMap<String, String>,
    crews: Vec<Crew>,
    core_ms: Vec<f64>,
    ok_by_node: Vec<usize>,
    exhausted: bool,
    /// Where the machine's time went during the timed window.
    cpu: Option<CpuUse>,
}

type Make = Arc<dyn Fn(usize) -> Option<Req> + Send + Sync>;

/// Sends the requests `make(0)`, `make(1)`, … over `connections` connections until `seconds` have passed or
/// `make` has none left; request `i` goes to node `i mod nodes`.
async fn timed(
    bases: Arc<Vec<String>>,
    connections: usize,
    seconds: f64,
    make: Make,
    extract: Extract,
) -> Measured {
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = CpuSnapshot::take();
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let mut handles = Vec::new();
    for _ in 0..connections {
        let (bases, make, next) = (bases.clone(), make.clone(), next.clone());
        handles.push(tokio::spawn(async move {
            let client = client();
            let mut m = Measured {
                ok_by_node: vec![0; bases.len()],
                ..Measured::default()
            };
            while Instant::now() < deadline {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                let Some(req) = make(seq) else {
                    m.exhausted = true;
                    break;
                };
                let node = seq % bases.len();
                let mut rb = client
                    .request(req.method, format!("{}{}", bases[node], req.path))
                    .bearer_auth(&*req.token);
                if let Some(b) = req.body {
                    rb = rb
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(b);
                }
                let t0 = Instant::now();
                let answer = match rb.send().await {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let timing = resp
                            .headers()
                            .get("server-timing")
                            .and_then(|v| v.to_str().ok())
                            .and_then(match_dur);
                        resp.bytes()
                            .await
                            .map(|b| (status, timing, b))
                            .map_err(|e| e.to_string())
                    }
                    Err(e) => Err(e.to_string()),
                };
                let us = t0.elapsed().as_micros() as u64;
                match answer {
                    Ok((status, timing, bytes)) if (200..300).contains(&status) => {
                        m.latencies_us.push(us);
                        m.ok_by_node[node] += 1;
                        match extract {
                            Extract::Nothing => {}
                            Extract::ServerTiming => m.core_ms.extend(timing),
                            Extract::Crew => {
                                let v: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                                m.crews.push(crew(node, &v));
                            }
                        }
                    }
                    Ok((status, _, bytes)) => {
                        let k = status.to_string();
                        *m.errors.entry(k.clone()).or_default() += 1;
                        m.error_examples
                            .entry(k)
                            .or_insert_with(|| String::from_utf8_lossy(&bytes).into_owned());
                    }
                    Err(e) => {
                        *m.errors.entry("io".into()).or_default() += 1;
                        m.error_examples.entry("io".into()).or_insert(e);
                    }
                }
            }
            m
        }));
    }
    let mut all = Measured {
        ok_by_node: vec![0; bases.len()],
        ..Measured::default()
    };
    for h in handles {
        let m = h.await.expect("a load task");
        all.latencies_us.extend(m.latencies_us);
        for (k, n) in m.errors {
            *all.errors.entry(k).or_default() += n;
        }
        for (k, e) in m.error_examples {
            all.error_examples.entry(k).or_insert(e);
        }
        all.crews.extend(m.crews);
        all.core_ms.extend(m.core_ms);
        for (a, b) in all.ok_by_node.iter_mut().zip(m.ok_by_node) {
            *a += b;
        }
        all.exhausted |= m.exhausted;
    }
    all.elapsed_s = started.elapsed().as_secs_f64();
    all.cpu = CpuSnapshot::take().and_then(|now| now.since(&cpu_before));
    all
}

/// The `match` duration of a `Server-Timing` header, in ms.
fn match_dur(h: &str) -> Option<f64> {
    h.split(',').find_map(|metric| {
        let mut parts = metric.split(';').map(str::trim);
        if parts.next()? != "match" {
            return None;
        }
        parts.find_map(|p| p.strip_prefix("dur=")?.parse().ok())
    })
}

fn crew(node: usize, v: &Value) -> Crew {
    let time = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    Crew {
        node,
        start: time("start"),
        end: time("end"),
        workers: v
            .get("assignments")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter(|x| x.get("status").and_then(Value::as_str) == Some("confirmed"))
                    .filter_map(|x| x.get("worker_id").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A shift's start and end.
type Span = (DateTime<Utc>, DateTime<Utc>);

/// Workers confirmed for two of the crews at overlapping times.
fn double_bookings(crews: &[Crew]) -> usize {
    let mut by_worker: HashMap<&str, Vec<Span>> = HashMap::new();
    for c in crews {
        if let (Some(s), Some(e)) = (c.start, c.end) {
            for w in &c.workers {
                by_worker.entry(w.as_str()).or_default().push((s, e));
            }
        }
    }
    let mut n = 0;
    for shifts in by_worker.values_mut() {
        shifts.sort();
        if shifts.windows(2).any(|p| p[1].0 < p[0].1) {
            n += 1;
        }
    }
    n
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

// ---------------------------------------------------------------------------------------------------------
// Places, times and bodies

fn centre() -> LatLon {
    City::metropolis(0).center()
}

/// Venue `k` near the centre: on a spiral within about `radius_km`.
fn venue(k: usize, radius_km: f64) -> LatLon {
    if k == 0 {
        return centre();
    }
    let angle = k as f64 * 2.399_963; // the golden angle: consecutive venues are far apart
    let r = radius_km * (0.25 + 0.75 * ((k % 8) as f64 + 1.0) / 8.0);
    offset_km(centre(), r * angle.cos(), r * angle.sin())
}

/// Day `day` after the server's clock, from `from` to `to` (hours, local time in Shanghai).
fn shift(now: DateTime<Utc>, day: u64, from: u32, to: u32) -> (DateTime<Utc>, DateTime<Utc>) {
    let date = now.with_timezone(&Shanghai).date_naive() + chrono::Days::new(day);
    let at = |h: u32| {
        Shanghai
            .from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(h, 0, 0).expect("an hour")))
            .single()
            .expect("Shanghai has no DST")
            .with_timezone(&Utc)
    };
    (at(from), at(to))
}

fn order_body(
    client_ref: &str,
    venue_name: &str,
    at: LatLon,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    role: Value,
    dispatch: Value,
) -> Value {
    json!({
        "client_ref": client_ref,
        "title": format!("Load {client_ref}"),
        "venue": {"name": venue_name, "lat": at.lat(), "lon": at.lon()},
        "start": local_time(start, Shanghai),
        "end": local_time(end, Shanghai),
        "roles": [role],
        "dispatch": dispatch,
    })
}

fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut rng = Rng::new(seed);
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

/// What a scenario reports.
struct Row {
    scenario: &'static str,
    measured: Measured,
    prepared: Option<usize>,
    notes: Vec<String>,
    extra: serde_json::Map<String, Value>,
}

struct Ctx {
    api: Api,
    opts: Opts,
    now: DateTime<Utc>,
    /// Skills of the generated population, commonest first.
    skills: Vec<String>,
}

impl Ctx {
    fn bases(&self) -> Arc<Vec<String>> {
        self.api.bases.clone()
    }
}

async fn scenario_orders(ctx: &Ctx) -> Row {
    let venues: Vec<LatLon> = (0..5).map(|k| venue(k, 5.0)).collect();
    let skills: Vec<String> = ctx.skills.iter().take(5).cloned().collect();
    let (nv, ns) = (venues.len(), skills.len());
    let key: Arc<str> = ctx.api.key.as_str().into();
    let now = ctx.now;
    let slots = [(10, 16), (18, 22)];
    let make: Make = Arc::new(move |i| {
        let v = i % nv;
        let s = (i / nv) % ns;
        let slot = (i / (nv * ns)) % slots.len();
        let day = ORDERS_DAY0 + (i / (nv * ns * slots.len())) as u64 % ORDERS_DAYS;
        let (start, end) = shift(now, day, slots[slot].0, slots[slot].1);
        let skill = &skills[s];
        let body = order_body(
            &format!("orders-{i}"),
            &format!("Centre venue {v}"),
            venues[v],
            start,
            end,
            json!({"name": skill, "headcount": 10, "skills": [skill]}),
            json!({"mode": "assign"}),
        );
        Some(Req {
            method: Method::POST,
            path: "/v1/orders".into(),
            token: key.clone(),
            body: Some(body.to_string()),
        })
    });
    let m = timed(
        ctx.bases(),
        ctx.opts.connections,
        ctx.opts.seconds,
        make,
        Extract::Crew,
    )
    .await;
    let mut notes = Vec::new();
    let mut extra = serde_json::Map::new();
    let total: usize = m.crews.iter().map(|c| c.workers.len()).sum();
    let avg = total as f64 / m.crews.len().max(1) as f64;
    notes.push(format!(
        "mean confirmed assignments per order: {avg:.2} of 10 ({total} in {} orders)",
        m.crews.len()
    ));
    extra.insert("assignments_per_order".into(), json!(avg));
    if ctx.opts.nodes > 1 {
        let per_node: Vec<f64> = (0..ctx.opts.nodes)
            .map(|n| {
                let cs: Vec<&Crew> = m.crews.iter().filter(|c| c.node == n).collect();
                cs.iter().map(|c| c.workers.len()).sum::<usize>() as f64 / cs.len().max(1) as f64
            })
            .collect();
        notes.push(format!(
            "mean assignments per order by node: {}",
            per_node
                .iter()
                .enumerate()
                .map(|(n, a)| format!("node {n}: {a:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        extra.insert("assignments_per_order_by_node".into(), json!(per_node));
    }
    let doubled = double_bookings(&m.crews);
    notes.push(format!(
        "workers confirmed twice at overlapping times (from the answers): {doubled}"
    ));
    extra.insert("double_booked_workers".into(), json!(doubled));
    Row {
        scenario: "orders",
        measured: m,
        prepared: None,
        notes,
        extra,
    }
}

/// How many accepts or check-ins to prepare: enough for `per_s` a second for the whole time, within bounds.
fn pool_target(opts: &Opts, per_s: f64) -> usize {
    ((opts.seconds * per_s) as usize).clamp(1_000, 50_000)
}

async fn scenario_accepts(ctx: &Ctx) -> Row {
    let t = ctx.opts.app_workers;
    let group_size = ACCEPT_HEADCOUNT * ACCEPT_FANOUT;
    let groups = (t / group_size).max(1);
    let home = LatLon::new(APP_HOME.0, APP_HOME.1).expect("a valid position");
    // App workers, one POST each (only a single create answers the app token).
    let t0 = Instant::now();
    let api = ctx.api.clone();
    let created = concurrently((0..t).collect(), ctx.opts.connections, move |i| {
        let api = api.clone();
        async move {
            let angle = i as f64 * 2.399_963;
            let r = 3.0 * ((i % 97) as f64 / 97.0).sqrt();
            let at = offset_km(home, r * angle.cos(), r * angle.sin());
            let group = (i / group_size).min(groups - 1);
            let body = json!({
                "external_ref": format!("APP-{i:06}"),
                "name": format!("App Worker {i}"),
                "home": {"lat": at.lat(), "lon": at.lon()},
                "max_travel_km": 10,
                "skills": [{"name": "promoter", "level": 3}],
                "languages": ["zh"],
                "certifications": [format!("{APP_CERT}_{group}")],
                "timezone": "Asia/Shanghai",
                "availability": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                  "from": "06:00", "to": "23:00"}],
            });
            let (status, v) = api
                .call(Method::POST, "/v1/workers", &api.key, Some(&body))
                .await;
            assert!(
                status == 201 || status == 200,
                "POST /v1/workers: {status} {v}"
            );
            v.get("app_token")
                .and_then(Value::as_str)
                .map(str::to_string)
        }
    })
    .await;
    let tokens: Vec<String> = created.into_iter().flatten().collect();
    eprintln!(
        "accepts: {} app workers created in {:.1} s ({:.0}/s)",
        tokens.len(),
        t0.elapsed().as_secs_f64(),
        tokens.len() as f64 / t0.elapsed().as_secs_f64()
    );
    // Offer-mode orders for them: each day one order for each group (headcount 10, fanout 3: every worker
    // of the group gets an offer, a third of them can take the slots), as many days as the target needs.
    let (headcount, fanout) = (ACCEPT_HEADCOUNT, ACCEPT_FANOUT);
    let per_day = groups;
    let accepts_per_day = per_day * headcount;
    let target = pool_target(&ctx.opts, 1_000.0);
    let days = target.div_ceil(accepts_per_day.max(1));
    let mut bodies = Vec::new();
    for d in 0..days as u64 {
        let (start, end) = shift(ctx.now, ACCEPTS_DAY0 + d, 10, 16);
        for k in 0..per_day {
            bodies.push(order_body(
                &format!("accepts-{d}-{k}"),
                "Jinshan load venue",
                home,
                start,
                end,
                json!({"name": "promoter", "headcount": headcount, "skills": ["promoter"],
                       "certifications": [format!("{APP_CERT}_{k}")]}),
                json!({"mode": "offer", "offer_ttl_s": 7 * 86_400, "fanout": fanout}),
            ));
        }
    }
    let t0 = Instant::now();
    let n_orders = bodies.len();
    let api = ctx.api.clone();
    let posted = concurrently(bodies, ctx.opts.connections, move |b| {
        let api = api.clone();
        async move { api.post_order(&b).await }
    })
    .await;
    let mut refused: BTreeMap<u16, usize> = BTreeMap::new();
    for (s, _) in &posted {
        if *s != 201 {
            *refused.entry(*s).or_default() += 1;
        }
    }
    eprintln!(
        "accepts: {n_orders} offer-mode orders over {days} days posted in {:.1} s{}",
        t0.elapsed().as_secs_f64(),
        if refused.is_empty() {
            String::new()
        } else {
            format!(" (refused: {refused:?})")
        }
    );
    // Each worker's pending offers.
    let api = ctx.api.clone();
    let offers = concurrently(tokens.clone(), ctx.opts.connections, move |tok| {
        let api = api.clone();
        async move {
            let (status, v) = api
                .call(Method::GET, "/v1/me/offers?limit=500", &tok, None)
                .await;
            assert_eq!(status, 200, "GET /v1/me/offers: {v}");
            let items = v
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            (tok, items)
        }
    })
    .await;
    let total_offers: usize = offers.iter().map(|(_, o)| o.len()).sum();
    // At most one offer per worker and day, at most the headcount per order.
    let mut per_order: HashMap<String, usize> = HashMap::new();
    let mut plan: Vec<(String, Arc<str>)> = Vec::new();
    for (tok, items) in &offers {
        let tok: Arc<str> = tok.as_str().into();
        let mut days_taken = HashSet::new();
        let mut items: Vec<&Value> = items
            .iter()
            .filter(|o| o.get("status").and_then(Value::as_str) == Some("pending"))
            .collect();
        items.sort_by_key(|o| {
            o.get("start")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        });
        for o in items {
            let (Some(id), Some(order), Some(start)) = (
                o.get("id").and_then(Value::as_str),
                o.get("order_id").and_then(Value::as_str),
                o.get("start").and_then(Value::as_str),
            ) else {
                continue;
            };
            let day = start.get(..10).unwrap_or(start).to_string();
            let taken = per_order.entry(order.to_string()).or_default();
            if *taken >= headcount || days_taken.contains(&day) {
                continue;
            }
            *taken += 1;
            days_taken.insert(day);
            plan.push((id.to_string(), tok.clone()));
        }
    }
    shuffle(&mut plan, ctx.opts.seed);
    eprintln!(
        "accepts: {total_offers} pending offers, {} planned accepts",
        plan.len()
    );
    let prepared = plan.len();
    let plan = Arc::new(plan);
    let make: Make = Arc::new(move |i| {
        let (id, tok) = plan.get(i)?;
        Some(Req {
            method: Method::POST,
            path: format!("/v1/offers/{id}/accept"),
            token: tok.clone(),
            body: None,
        })
    });
    let m = timed(
        ctx.bases(),
        ctx.opts.connections,
        ctx.opts.seconds,
        make,
        Extract::Nothing,
    )
    .await;
    let mut extra = serde_json::Map::new();
    extra.insert("app_workers".into(), json!(tokens.len()));
    extra.insert("offer_orders".into(), json!(n_orders));
    extra.insert("pending_offers".into(), json!(total_offers));
    Row {
        scenario: "accepts",
        measured: m,
        prepared: Some(prepared),
        notes: vec![format!(
            "{} app workers, {n_orders} orders (headcount {headcount}, fanout {fanout}), \
             {total_offers} pending offers, {prepared} accepts prepared",
            tokens.len()
        )],
        extra,
    }
}

async fn scenario_checkins(ctx: &Ctx) -> Row {
    // Orders starting 30 minutes after the server's clock (rounded up to the minute), six hours long.
    let start = {
        let t = ctx.now + chrono::Duration::minutes(30);
        let s = t.timestamp();
        DateTime::from_timestamp(s + (60 - s.rem_euclid(60)) % 60, 0).expect("a valid time")
    };
    let end = start + chrono::Duration::hours(6);
    let skills: Vec<String> = ctx.skills.iter().take(8).cloned().collect();
    let headcount = 50usize;
    let target = pool_target(&ctx.opts, 2_000.0);
    let mut pool: Vec<(String, LatLon)> = Vec::new();
    let mut k = 0usize;
    let round = ctx.opts.connections * 4;
    let t0 = Instant::now();
    let mut posted = 0;
    let mut refused: BTreeMap<u16, usize> = BTreeMap::new();
    while pool.len() < target && k < 4_000 {
        let bodies: Vec<(LatLon, Value)> = (k..k + round)
            .map(|i| {
                let at = venue(1 + i / skills.len(), 10.0);
                let skill = &skills[i % skills.len()];
                (
                    at,
                    order_body(
                        &format!("checkins-{i}"),
                        &format!("Check-in venue {}", i / skills.len()),
                        at,
                        start,
                        end,
                        json!({"name": skill, "headcount": headcount, "skills": [skill]}),
                        json!({"mode": "assign"}),
                    ),
                )
            })
            .collect();
        k += round;
        let api = ctx.api.clone();
        let answers = concurrently(bodies, ctx.opts.connections, move |(at, b)| {
            let api = api.clone();
            async move { (at, api.post_order(&b).await) }
        })
        .await;
        let before = pool.len();
        for (at, (status, v)) in answers {
            posted += 1;
            if status != 201 {
                if refused.is_empty() {
                    eprintln!("checkins: an order was refused: {status} {v}");
                }
                *refused.entry(status).or_default() += 1;
                continue;
            }
            for a in v
                .get("assignments")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if a.get("status").and_then(Value::as_str) == Some("confirmed")
                    && let Some(id) = a.get("id").and_then(Value::as_str)
                {
                    pool.push((id.to_string(), at));
                }
            }
        }
        // The workers free at that hour are running out.
        if pool.len() - before < round * headcount / 10 {
            break;
        }
    }
    pool.truncate(target);
    shuffle(&mut pool, ctx.opts.seed ^ 0xc4ec);
    eprintln!(
        "checkins: {posted} orders starting {} posted in {:.1} s, {} assignments",
        start,
        t0.elapsed().as_secs_f64(),
        pool.len()
    );
    let prepared = pool.len();
    let key: Arc<str> = ctx.api.key.as_str().into();
    let pool = Arc::new(pool);
    let make: Make = Arc::new(move |i| {
        let (id, at) = pool.get(i)?;
        Some(Req {
            method: Method::POST,
            path: format!("/v1/assignments/{id}/check-in"),
            token: key.clone(),
            body: Some(json!({"lat": at.lat(), "lon": at.lon()}).to_string()),
        })
    });
    let m = timed(
        ctx.bases(),
        ctx.opts.connections,
        ctx.opts.seconds,
        make,
        Extract::Nothing,
    )
    .await;
    let mut extra = serde_json::Map::new();
    extra.insert("checkin_orders".into(), json!(posted));
    extra.insert(
        "checkin_orders_refused".into(),
        json!(refused.values().sum::<usize>()),
    );
    Row {
        scenario: "checkins",
        measured: m,
        prepared: Some(prepared),
        notes: vec![format!(
            "{posted} orders (headcount {headcount}) starting at {start}, {prepared} assignments prepared{}",
            if refused.is_empty() {
                String::new()
            } else {
                format!("; orders refused in set-up by status: {refused:?}")
            }
        )],
        extra,
    }
}

async fn scenario_candidates(ctx: &Ctx) -> Row {
    let skills: Vec<String> = ctx.skills.iter().take(6).cloned().collect();
    let mut bodies = Vec::new();
    for i in 0..60usize {
        let v = i % 5;
        let skill = &skills[(i / 5) % skills.len()];
        let (from, to) = if i % 2 == 0 { (10, 16) } else { (18, 22) };
        let (start, end) = shift(ctx.now, CANDIDATES_DAY0 + (i / 10) as u64, from, to);
        bodies.push((
            skill.clone(),
            order_body(
                &format!("candidates-{i}"),
                &format!("Centre venue {v}"),
                venue(v, 5.0),
                start,
                end,
                json!({"name": skill, "headcount": 10, "skills": [skill]}),
                json!({"mode": "offer", "fanout": 1}),
            ),
        ));
    }
    let api = ctx.api.clone();
    let answers = concurrently(bodies, ctx.opts.connections, move |(skill, b)| {
        let api = api.clone();
        async move { (skill, api.post_order(&b).await) }
    })
    .await;
    let queries: Vec<(String, String)> = answers
        .into_iter()
        .filter_map(|(skill, (status, v))| {
            if status != 201 {
                eprintln!("candidates: an order was refused: {status} {v}");
            }
            Some((v.get("id")?.as_str()?.to_string(), skill))
        })
        .collect();
    assert!(!queries.is_empty(), "no order for the candidates scenario");
    let key: Arc<str> = ctx.api.key.as_str().into();
    let queries = Arc::new(queries);
    let make: Make = Arc::new(move |i| {
        let (id, skill) = &queries[i % queries.len()];
        Some(Req {
            method: Method::GET,
            path: format!("/v1/orders/{id}/candidates?role={skill}&limit=50"),
            token: key.clone(),
            body: None,
        })
    });
    let m = timed(
        ctx.bases(),
        ctx.opts.connections,
        ctx.opts.seconds,
        make,
        Extract::ServerTiming,
    )
    .await;
    let mut notes = Vec::new();
    let mut extra = serde_json::Map::new();
    if m.core_ms.is_empty() {
        notes.push("no Server-Timing header: the server's matching time is not known".into());
    } else {
        let mut core = m.core_ms.clone();
        core.sort_by(f64::total_cmp);
        let mut http: Vec<f64> = m.latencies_us.iter().map(|u| *u as f64 / 1000.0).collect();
        http.sort_by(f64::total_cmp);
        let (c50, c99, h50) = (
            percentile(&core, 0.5),
            percentile(&core, 0.99),
            percentile(&http, 0.5),
        );
        notes.push(format!(
            "server-side matching (Server-Timing): p50 {c50:.2} ms, p99 {c99:.2} ms; \
             HTTP p50 / matching p50 = {:.2}",
            h50 / c50
        ));
        extra.insert("match_p50_ms".into(), json!(c50));
        extra.insert("match_p99_ms".into(), json!(c99));
        extra.insert("http_over_match_p50".into(), json!(h50 / c50));
    }
    Row {
        scenario: "candidates",
        measured: m,
        prepared: None,
        notes,
        extra,
    }
}

// ---------------------------------------------------------------------------------------------------------
// The run

/// Agency, clock, population; then the scenarios.
async fn run(opts: &Opts, bases: Vec<String>, admin: String, pids: Vec<u32>) -> Vec<(Row, Value)> {
    let _ = SERVER_PIDS.set(pids.clone());
    let bases = Arc::new(bases);
    let mut api = Api {
        client: client(),
        bases: bases.clone(),
        admin,
        key: String::new(),
    };
    let (status, v) = api
        .call(
            Method::POST,
            "/v1/agencies",
            &api.admin,
            Some(&json!({"name": "Load Bench Staffing"})),
        )
        .await;
    assert_eq!(status, 201, "POST /v1/agencies: {v}");
    api.key = v["api_key"].as_str().expect("an api_key").to_string();
    let (status, v) = api
        .call(Method::GET, "/v1/admin/clock", &api.admin, None)
        .await;
    let now = if status == 200 {
        v["now"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .expect("the clock's reading")
    } else {
        Utc::now()
    };
    eprintln!("server clock: {now} ({})", opts.clock);

    // The population.
    let t0 = Instant::now();
    let city = City::metropolis(opts.seed);
    let population = workers(&city, opts.workers, opts.seed, AgencyId::new(1));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for w in &population {
        for s in &w.skills {
            *counts.entry(s.name.as_str().to_string()).or_default() += 1;
        }
    }
    let mut skills: Vec<(String, usize)> = counts.into_iter().collect();
    skills.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let lines: Vec<String> = population.iter().map(worker_line).collect();
    drop(population);
    eprintln!(
        "generated {} workers in {:.1} s; commonest skills: {}",
        lines.len(),
        t0.elapsed().as_secs_f64(),
        skills
            .iter()
            .take(8)
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let t0 = Instant::now();
    let (mut created, mut updated, mut refused) = (0u64, 0u64, 0usize);
    for (c, chunk) in lines.chunks(opts.chunk).enumerate() {
        let mut body = chunk.join("\n");
        body.push('\n');
        let tc = Instant::now();
        let resp = api
            .client
            .post(format!("{}/v1/workers/import", bases[0]))
            .bearer_auth(&api.key)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(body)
            .send()
            .await
            .expect("the import answers");
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or_default();
        assert_eq!(status, 200, "POST /v1/workers/import chunk {c}: {v}");
        created += v["created"].as_u64().unwrap_or(0);
        updated += v["updated"].as_u64().unwrap_or(0);
        let errors = v["errors"].as_array().cloned().unwrap_or_default();
        refused += errors.len();
        if let Some(e) = errors.first() {
            eprintln!(
                "import chunk {c}: {} lines refused, first: {e}",
                errors.len()
            );
        }
        eprintln!(
            "import chunk {c}: {} lines in {:.1} s",
            chunk.len(),
            tc.elapsed().as_secs_f64()
        );
    }
    let import_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "imported {created} workers ({updated} updated, {refused} refused) in {import_s:.1} s \
         ({:.0} workers/s)",
        created as f64 / import_s
    );
    drop(lines);

    let ctx = Ctx {
        api,
        opts: opts.clone(),
        now,
        skills: skills.into_iter().map(|(s, _)| s).collect(),
    };
    let mut rows = Vec::new();
    for name in SCENARIOS {
        if opts.only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let before = loadavg();
        eprintln!("\n== {name}: {} cores, load average {before} ==", cores());
        let row = match name {
            "orders" => scenario_orders(&ctx).await,
            "accepts" => scenario_accepts(&ctx).await,
            "checkins" => scenario_checkins(&ctx).await,
            "candidates" => scenario_candidates(&ctx).await,
            _ => unreachable!(),
        };
        let rss: Vec<Option<u64>> = pids.iter().map(|p| rss_mb(*p)).collect();
        for (n, r) in rss.iter().enumerate() {
            if r.is_none() {
                eprintln!("node {n} is gone (exited during {name})");
            }
        }
        let mut info = json!({
            "load_average_before": before,
            "node_rss_mb_after": rss,
            "import_s": import_s,
            "imported": created,
        });
        if let Some(cpu) = &row.measured.cpu {
            info["cpu_ms_per_answer"] = cpu.json(figures(&row.measured).count);
        }
        if let Some(o) = info.as_object_mut() {
            for (k, v) in &row.extra {
                o.insert(k.clone(), v.clone());
            }
        }
        report_row(&row, opts);
        rows.push((row, info));
    }
    rows
}

fn errors_text(errors: &BTreeMap<String, usize>) -> String {
    if errors.is_empty() {
        "0".into()
    } else {
        errors
            .iter()
            .map(|(k, n)| format!("{k}:{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

struct Figures {
    count: usize,
    per_s: f64,
    p50: f64,
    p99: f64,
}

fn figures(m: &Measured) -> Figures {
    let mut ms: Vec<f64> = m.latencies_us.iter().map(|u| *u as f64 / 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    Figures {
        count: ms.len(),
        per_s: ms.len() as f64 / m.elapsed_s.max(1e-9),
        p50: percentile(&ms, 0.5),
        p99: percentile(&ms, 0.99),
    }
}

fn report_row(row: &Row, opts: &Opts) {
    let m = &row.measured;
    let f = figures(m);
    eprintln!(
        "{}: {} ok in {:.2} s = {:.1}/s, p50 {:.2} ms, p99 {:.2} ms, errors {}",
        row.scenario,
        f.count,
        m.elapsed_s,
        f.per_s,
        f.p50,
        f.p99,
        errors_text(&m.errors)
    );
    if opts.nodes > 1 {
        eprintln!("  ok by node: {:?}", m.ok_by_node);
    }
    if m.exhausted {
        eprintln!(
            "  the {} prepared requests ran out before the time was up",
            row.prepared.unwrap_or(0)
        );
    }
    for n in &row.notes {
        eprintln!("  {n}");
    }
    if let Some(cpu) = &m.cpu {
        eprintln!("  {}", cpu.text(f.count));
    }
    for (k, e) in &m.error_examples {
        let e: String = e.chars().take(300).collect();
        eprintln!("  first {k}: {e}");
    }
}

fn main() {
    let opts = parse_opts();
    println!(
        "machine: {} cores (available_parallelism), {}, {} MiB; load average {}",
        cores(),
        cpu_model(),
        mem_total_mb(),
        loadavg()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Declared in this order so that, on the way out (or while a panic unwinds), the servers are killed first,
    // then the database is dropped, then the directory removed.
    let dir = RunDir(Some(
        tempfile::Builder::new()
            .prefix("crewcall-load-")
            .tempdir()
            .expect("a temporary directory"),
    ));
    let mut _database: Option<Database> = None;
    let database_url = match opts.backend {
        Backend::Sqlite => format!("sqlite://{}", dir.path().join("crewcall.db").display()),
        Backend::Postgres => {
            let base = std::env::var("CREWCALL_BENCH_POSTGRES")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
            let (db, url) = Database::create(&rt, &base);
            eprintln!("database {}", db.name);
            _database = Some(db);
            url
        }
    };
    let admin = format!("{ADMIN_TOKEN_PREFIX}-{}", std::process::id());
    let mut nodes: Vec<Node> = Vec::new();
    // One after the other: the first migrates the fresh database, the second finds it migrated.
    for i in 0..opts.nodes {
        nodes.push(spawn_node(i, &database_url, &admin, &opts, dir.path()));
        let last = nodes.len() - 1;
        wait_ready(&mut nodes[last]);
    }
    let bases: Vec<String> = nodes.iter().map(|n| n.base.clone()).collect();
    let pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
    let rows = rt.block_on(run(&opts, bases, admin, pids));
    for (i, n) in nodes.iter_mut().enumerate() {
        let (count, first) = log_problems(&n.log, 5);
        if count > 0 {
            eprintln!("node {i} logged {count} ERROR/WARN lines; the first:");
            for l in first {
                eprintln!("  {l}");
            }
        }
        if let Ok(Some(status)) = n.child.try_wait() {
            eprintln!(
                "node {} exited during the run with {status}; its log ends:\n{}",
                n.base,
                tail(&n.log, 4000)
            );
        }
    }

    // The table.
    println!();
    println!(
        "{:<11} {:<8} {:>5} {:>8} {:>5} {:>8} {:>9} {:>8} {:>8}  errors",
        "scenario", "backend", "nodes", "workers", "conns", "count", "per s", "p50 ms", "p99 ms"
    );
    let mut json_rows = Vec::new();
    for (row, info) in &rows {
        let f = figures(&row.measured);
        println!(
            "{:<11} {:<8} {:>5} {:>8} {:>5} {:>8} {:>9.1} {:>8.2} {:>8.2}  {}{}",
            row.scenario,
            opts.backend.name(),
            opts.nodes,
            opts.workers,
            opts.connections,
            f.count,
            f.per_s,
            f.p50,
            f.p99,
            errors_text(&row.measured.errors),
            if row.measured.exhausted {
                "  (ran out of prepared requests)"
            } else {
                ""
            }
        );
        json_rows.push(json!({
            "scenario": row.scenario,
            "backend": opts.backend.name(),
            "nodes": opts.nodes,
            "workers": opts.workers,
            "connections": opts.connections,
            "seconds": row.measured.elapsed_s,
            "count": f.count,
            "per_s": f.per_s,
            "p50_ms": f.p50,
            "p99_ms": f.p99,
            "errors": row.measured.errors,
            "ok_by_node": row.measured.ok_by_node,
            "prepared": row.prepared,
            "ran_out": row.measured.exhausted,
            "notes": row.notes,
            "info": info,
        }));
    }
    for (row, _) in &rows {
        for n in &row.notes {
            println!("{}: {n}", row.scenario);
        }
    }
    if let Some(path) = &opts.json {
        let doc = json!({
            "machine": {
                "cores": cores(),
                "cpu": cpu_model(),
                "mem_mb": mem_total_mb(),
            },
            "options": {
                "backend": opts.backend.name(),
                "nodes": opts.nodes,
                "workers": opts.workers,
                "seconds": opts.seconds,
                "connections": opts.connections,
                "clock": opts.clock,
                "start": if opts.clock == "manual" { Some(&opts.start) } else { None },
                "app_workers": opts.app_workers,
                "seed": opts.seed,
            },
            "rows": json_rows,
        });
        std::fs::write(
            path,
            serde_json::to_string_pretty(&doc).expect("JSON") + "\n",
        )
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        println!("wrote {}", path.display());
    }
    drop(nodes);
}
