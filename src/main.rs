//! The `crewcall` command: wiring only.

use clap::{Parser, Subcommand};

use crewcall::app::{Application, ClockKind, Config};
use crewcall::domain::time::parse_instant;
use crewcall::http::limits::{Limits, RateSetting, Rates};

/// Requests allocate many small, short-lived buffers on every thread (tokio's workers, SQLite's connection
/// threads, rayon's); mimalloc's per-thread free lists serve them without the contention and consolidation
/// work of the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "crewcall",
    version,
    about = "Talent-matching and dispatch engine for staffing shifts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Photo reports: where they are kept, how large, how long.
#[derive(clap::Args, Clone)]
struct PhotoArgs {
    /// Directory of photo images (shared by the nodes if there are several); by default beside the SQLite file
    /// (`crewcall.db` → `crewcall.photos/`), or in the database itself on PostgreSQL.
    #[arg(long, env = "CREWCALL_PHOTO_DIR")]
    photo_dir: Option<std::path::PathBuf>,
    /// The largest photo accepted, in bytes (at most 8 MiB).
    #[arg(long, env = "CREWCALL_PHOTO_MAX_BYTES", default_value_t = 5 * 1024 * 1024)]
    photo_max_bytes: usize,
    /// Days a photo's image is kept; then it is erased (its record stays).
    #[arg(long, env = "CREWCALL_PHOTO_RETENTION_DAYS", default_value_t = 90)]
    photo_retention_days: i64,
}

impl PhotoArgs {
    fn config(&self, database_url: &str) -> Result<crewcall::engine::PhotoConfig, String> {
        use crewcall::store::photos::PhotoStorage;
        if self.photo_max_bytes == 0 || self.photo_max_bytes > crewcall::engine::MAX_PHOTO_BYTES {
            return Err(format!(
                "CREWCALL_PHOTO_MAX_BYTES must be between 1 and {}",
                crewcall::engine::MAX_PHOTO_BYTES
            ));
        }
        if self.photo_retention_days < 1 {
            return Err("CREWCALL_PHOTO_RETENTION_DAYS must be at least 1".into());
        }
        Ok(crewcall::engine::PhotoConfig {
            storage: self.photo_dir.clone().map_or_else(
                || PhotoStorage::default_for(database_url),
                PhotoStorage::Disk,
            ),
            max_bytes: self.photo_max_bytes,
            retention: chrono::Duration::days(self.photo_retention_days),
            ..Default::default()
        })
    }
}

#[derive(clap::Args, Clone)]
struct DbArgs {
    /// `sqlite://path.db` (created on first start) or `postgres://…`.
    #[arg(
        long,
        env = "CREWCALL_DATABASE_URL",
        default_value = "sqlite://crewcall.db"
    )]
    database_url: String,
}

#[derive(clap::Args, Clone)]
struct HttpArgs {
    /// Seconds one request may take, body included (a bulk import has its own deadline).
    #[arg(long, env = "CREWCALL_REQUEST_TIMEOUT_S", default_value_t = 30)]
    request_timeout_s: u64,
    /// Seconds a bulk import may take, body included; it is one transaction, so one that runs out keeps nothing.
    #[arg(long, env = "CREWCALL_IMPORT_TIMEOUT_S", default_value_t = 600)]
    import_timeout_s: u64,
    /// Seconds a client may take to send a request's headers (408), and an idle connection stays open.
    #[arg(long, env = "CREWCALL_HEADER_TIMEOUT_S", default_value_t = 10)]
    header_timeout_s: u64,
    /// Seconds a client may take to send an ordinary request's body (408).
    #[arg(long, env = "CREWCALL_BODY_TIMEOUT_S", default_value_t = 15)]
    body_timeout_s: u64,
    /// Connections open at once; one more is answered 503 and closed.
    #[arg(long, env = "CREWCALL_MAX_CONNECTIONS", default_value_t = 4096)]
    max_connections: usize,
    /// Requests per worker app token: `<per second>:<burst>`, or `off`.
    #[arg(long, env = "CREWCALL_RATE_WORKER", default_value = "5:30")]
    rate_worker: RateSetting,
    /// Requests per agency API key: `<per second>:<burst>`, or `off`.
    #[arg(long, env = "CREWCALL_RATE_AGENCY", default_value = "200:1000")]
    rate_agency: RateSetting,
    /// Requests per client address: `<per second>:<burst>`, or `off`.
    #[arg(long, env = "CREWCALL_RATE_ADDRESS", default_value = "1000:2000")]
    rate_address: RateSetting,
    /// Requests with an unknown token per client address: `<per second>:<burst>`, or `off`.
    #[arg(long, env = "CREWCALL_RATE_AUTH_FAILURES", default_value = "1:20")]
    rate_auth_failures: RateSetting,
}

impl HttpArgs {
    fn limits(&self) -> Result<Limits, String> {
        let secs = |name: &str, v: u64| {
            if v == 0 {
                Err(format!("{name} must be at least 1 second"))
            } else {
                Ok(std::time::Duration::from_secs(v))
            }
        };
        if self.max_connections == 0 {
            return Err("CREWCALL_MAX_CONNECTIONS must be at least 1".into());
        }
        Ok(Limits {
            request: secs("CREWCALL_REQUEST_TIMEOUT_S", self.request_timeout_s)?,
            import: secs("CREWCALL_IMPORT_TIMEOUT_S", self.import_timeout_s)?,
            header: secs("CREWCALL_HEADER_TIMEOUT_S", self.header_timeout_s)?,
            body: secs("CREWCALL_BODY_TIMEOUT_S", self.body_timeout_s)?,
            max_connections: self.max_connections,
            rates: Rates {
                worker: self.rate_worker.0,
                agency: self.rate_agency.0,
                address: self.rate_address.0,
                auth_failures: self.rate_auth_failures.0,
            },
        })
    }
}

#[derive(clap::Args, Clone)]
struct WebhookArgs {
    /// Lets webhook URLs point at loopback, private, link-local and other reserved addresses.
    #[arg(long, env = "CREWCALL_WEBHOOK_ALLOW_PRIVATE")]
    webhook_allow_private: bool,
    /// Failed delivery attempts in a row after which a webhook is disabled (with the hours below).
    #[arg(
        long,
        env = "CREWCALL_WEBHOOK_DISABLE_AFTER_FAILURES",
        default_value_t = 20
    )]
    webhook_disable_after_failures: i64,
    /// Hours those failures must span before a webhook is disabled.
    #[arg(
        long,
        env = "CREWCALL_WEBHOOK_DISABLE_AFTER_HOURS",
        default_value_t = 24
    )]
    webhook_disable_after_hours: i64,
}

impl WebhookArgs {
    fn settings(&self) -> Result<crewcall::webhooks::Settings, String> {
        if self.webhook_disable_after_failures < 1 || self.webhook_disable_after_hours < 0 {
            return Err(
                "CREWCALL_WEBHOOK_DISABLE_AFTER_FAILURES must be at least 1 and the hours at least 0"
                    .into(),
            );
        }
        Ok(crewcall::webhooks::Settings {
            allow_private: self.webhook_allow_private,
            policy: crewcall::webhooks::Policy {
                disable_after_failures: self.webhook_disable_after_failures,
                disable_after: chrono::Duration::hours(self.webhook_disable_after_hours),
                ..Default::default()
            },
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serves the HTTP API.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "CREWCALL_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        #[command(flatten)]
        db: DbArgs,
        /// The admin token; when unset, one is generated at first start, printed once and stored.
        #[arg(long, env = "CREWCALL_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// `system` or `manual`.
        #[arg(long, env = "CREWCALL_CLOCK", default_value = "system")]
        clock: String,
        /// Where a manual clock starts (RFC 3339).
        #[arg(long, env = "CREWCALL_START")]
        start: Option<String>,
        /// Minimum rest between two shifts of a worker, in hours.
        #[arg(long, env = "CREWCALL_REST_GAP_HOURS", default_value_t = 8.0)]
        rest_gap_hours: f64,
        /// No-shows within the strike window that suspend a worker.
        #[arg(long, env = "CREWCALL_SUSPEND_AFTER_NO_SHOWS", default_value_t = 3)]
        suspend_after_no_shows: usize,
        /// Days in which no-shows count as strikes.
        #[arg(long, env = "CREWCALL_STRIKE_WINDOW_DAYS", default_value_t = 30)]
        strike_window_days: i64,
        /// Shifts completed after a no-show that wipe one strike.
        #[arg(long, env = "CREWCALL_CLEAN_SHIFTS_PER_STRIKE", default_value_t = 5)]
        clean_shifts_per_strike: usize,
        /// Minutes after an offer expired before its worker may be asked again, once, when the order has run
        /// out of candidates (0: never).
        #[arg(long, env = "CREWCALL_REOFFER_AFTER_MIN", default_value_t = 30)]
        reoffer_after_min: u32,
        /// How often the log is polled for other nodes' events besides PostgreSQL's notifications, in ms.
        #[arg(long, env = "CREWCALL_LOG_POLL_MS", default_value_t = 2000)]
        log_poll_ms: u64,
        #[command(flatten)]
        http: HttpArgs,
        #[command(flatten)]
        photos: PhotoArgs,
        #[command(flatten)]
        webhooks: WebhookArgs,
    },
    /// Ranks the candidates of an order over a file of workers and prints the explained top and the crew.
    Rank {
        /// Workers, NDJSON (one `POST /v1/workers` body a line).
        #[arg(long, default_value = "data/workers-sample.ndjson")]
        workers: String,
        /// The order, one `POST /v1/orders` body.
        #[arg(long, default_value = "data/order-sample.json")]
        order: String,
        /// Candidates shown per role.
        #[arg(long, default_value_t = 10)]
        top: usize,
        /// The time of the decision (RFC 3339); a day before the order's start when absent.
        #[arg(long)]
        now: Option<String>,
    },
    /// Imports workers from NDJSON (one `POST /v1/workers` body a line) into an agency, with a progress bar.
    Import {
        /// The NDJSON file.
        file: String,
        /// A running server to send the file to (`http://127.0.0.1:8080`), with `--key`; without it, the file
        /// is written straight into the database of `--database-url` for `--agency`.
        #[arg(long, env = "CREWCALL_URL")]
        url: Option<String>,
        /// The agency's API key, with `--url`.
        #[arg(long, env = "CREWCALL_API_KEY", hide_env_values = true)]
        key: Option<String>,
        /// Lines a batch sent to the server holds at most; each batch lands whole or not at all.
        #[arg(long, default_value_t = 5000)]
        batch_lines: usize,
        /// With `--url`: have the server issue an app token to every worker it creates, written to
        /// `--tokens-out`.
        #[arg(long)]
        issue_tokens: bool,
        /// Where the issued tokens go (NDJSON: line, external_ref, id, app_token); `-` for standard output.
        #[arg(long)]
        tokens_out: Option<String>,
        /// Where the refused lines go, all of them (NDJSON: line, message); the summary shows the first 20.
        #[arg(long)]
        report: Option<String>,
        /// The agency's id (`agc_…`, as `POST /v1/agencies` answered), without `--url`.
        #[arg(long, env = "CREWCALL_AGENCY")]
        agency: Option<String>,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Simulates a week of a city's staffing through the real engine with a manual clock, and prints its KPIs.
    Simulate {
        /// Workers in the city.
        #[arg(long, default_value_t = 20000)]
        workers: usize,
        /// Orders over the week.
        #[arg(long, default_value_t = 150)]
        orders: usize,
        /// The seed of everything.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Runs every policy on each of these seeds (comma-separated, e.g. `42,43,44`) and prints, after each
        /// seed's table, each figure's mean and spread over the seeds; overrides `--seed`.
        #[arg(long, value_delimiter = ',')]
        seeds: Vec<u64>,
        /// Weeks simulated at once (default: one per core).
        #[arg(long, default_value_t = 0)]
        jobs: usize,
        /// The database, recreated for the run (`sqlite://…`).
        #[arg(long, default_value = "sqlite://sim.db")]
        db: String,
        /// The standby policy of every order: `auto`, `none`, `fixed:N` or `generated` (as drawn per order).
        #[arg(long, default_value = "auto")]
        standby: String,
        /// Runs the same seed under each policy (comma-separated), each on its own database, side by side.
        #[arg(long)]
        compare_standby: Option<String>,
        /// Writes the figures as JSON.
        #[arg(long)]
        json: Option<String>,
        /// Writes a chart of slots filled vs wanted over the week as SVG.
        #[arg(long)]
        svg: Option<String>,
        /// Turns the agency's re-confirmation (a day ahead) and pre-shift signals on; the simulated workers
        /// answer and send them by the behaviour model.
        #[arg(long)]
        signals: bool,
        /// Reserves on-call workers ahead of the forecast's peaks: each morning at 08:00 local the agency invites
        /// workers for the peaks of the next 36 hours, and urgent replacements reach those who accepted first.
        #[arg(long)]
        reserve: bool,
    },
    /// Rebuilds a database from another's event log through the engine and compares the two logs.
    Replay {
        /// The database whose log is replayed.
        #[arg(long, default_value = "sqlite://sim.db")]
        from: String,
        /// The fresh database built by the replay (a SQLite file is recreated; a PostgreSQL database must be
        /// empty).
        #[arg(long, default_value = "sqlite://replay.db")]
        into: String,
        /// Where the source's photo images are, when not beside its SQLite file or in its database.
        #[arg(long)]
        photo_dir: Option<std::path::PathBuf>,
    },
    /// Creates or updates the database schema, then exits.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    crewcall::telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crewcall: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve {
            listen,
            db,
            admin_token,
            clock,
            start,
            rest_gap_hours,
            suspend_after_no_shows,
            strike_window_days,
            clean_shifts_per_strike,
            reoffer_after_min,
            log_poll_ms,
            http,
            photos,
            webhooks,
        } => {
            let limits = http.limits()?;
            let photos = photos.config(&db.database_url)?;
            let webhooks = webhooks.settings()?;
            if !(rest_gap_hours.is_finite() && (0.0..=48.0).contains(&rest_gap_hours)) {
                return Err("--rest-gap-hours must be between 0 and 48".into());
            }
            if suspend_after_no_shows == 0 || strike_window_days < 1 || clean_shifts_per_strike == 0
            {
                return Err("the no-show policy values must be at least 1".into());
            }
            let clock = match clock.as_str() {
                "system" => ClockKind::System,
                "manual" => ClockKind::Manual,
                other => {
                    return Err(
                        format!("CREWCALL_CLOCK must be system or manual, not {other}").into(),
                    );
                }
            };
            let start = start
                .map(|s| parse_instant(&s))
                .transpose()
                .map_err(|e| format!("CREWCALL_START {}", e.message))?;
            let app = Application::build(Config {
                listen,
                database_url: db.database_url,
                admin_token,
                clock,
                start,
                rest_gap: Some(chrono::Duration::minutes(
                    (rest_gap_hours * 60.0).round() as i64
                )),
                no_show_policy: crewcall::engine::NoShowPolicy {
                    strikes_to_suspend: suspend_after_no_shows,
                    strike_window: chrono::Duration::days(strike_window_days),
                    clean_shifts_per_strike,
                },
                reoffer_after_min: Some(reoffer_after_min),
                log_poll: std::time::Duration::from_millis(log_poll_ms.max(10)),
                http: limits,
                photos,
                webhooks,
            })
            .await?;
            if let Some(token) = &app.generated_admin_token {
                println!("Generated admin token (shown once, stored hashed): {token}");
            }
            tracing::info!(address = %app.local_addr(), "crewcall listening");
            app.run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
            Ok(())
        }
        Command::Rank {
            workers,
            order,
            top,
            now,
        } => {
            let now = now
                .map(|s| parse_instant(&s))
                .transpose()
                .map_err(|e| format!("--now {}", e.message))?;
            let report = crewcall::cli::rank::run(&crewcall::cli::rank::RankArgs {
                workers,
                order,
                top,
                now,
            })?;
            print!("{report}");
            Ok(())
        }
        Command::Import {
            file,
            url,
            key,
            batch_lines,
            issue_tokens,
            tokens_out,
            report,
            agency,
            db,
        } => {
            let (created, updated, refused) = if let Some(url) = url {
                let key = key.ok_or("--url needs --key, the agency's API key")?;
                if issue_tokens && tokens_out.is_none() {
                    return Err(
                        "--issue-tokens needs --tokens-out: the tokens are shown once".into(),
                    );
                }
                let opts = crewcall::cli::import_client::Options {
                    url,
                    key,
                    file,
                    batch_lines,
                    issue_tokens,
                    tokens_out,
                    progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
                };
                let sent = crewcall::cli::import_client::run(&opts).await?;
                println!(
                    "{} lines in {} batches, each landed whole",
                    sent.lines, sent.batches
                );
                if sent.tokens > 0 {
                    println!("{} app tokens written", sent.tokens);
                }
                (sent.created, sent.updated, sent.refused)
            } else {
                let agency = agency.ok_or("give --agency (straight into the database) or --url and --key (to a running server)")?;
                if issue_tokens {
                    return Err("--issue-tokens works with --url; without it, issue tokens with POST /v1/workers/{id}/app-token".into());
                }
                let r = crewcall::cli::import::run(&db.database_url, &agency, &file).await?;
                (r.created, r.updated, r.errors)
            };
            println!(
                "created {created}, updated {updated}, refused {}",
                refused.len()
            );
            for (line, message) in refused.iter().take(20) {
                println!("  line {line}: {message}");
            }
            if refused.len() > 20 {
                println!(
                    "  … and {} more{}",
                    refused.len() - 20,
                    if report.is_some() {
                        ""
                    } else {
                        " (--report FILE keeps them all)"
                    }
                );
            }
            if let Some(path) = report {
                let mut out = String::new();
                for (line, message) in &refused {
                    out.push_str(
                        &serde_json::json!({"line": line, "message": message}).to_string(),
                    );
                    out.push('\n');
                }
                std::fs::write(&path, out).map_err(|e| format!("cannot write {path}: {e}"))?;
            }
            Ok(())
        }
        Command::Simulate {
            workers,
            orders,
            seed,
            seeds,
            jobs,
            db,
            standby,
            compare_standby,
            json,
            svg,
            signals,
            reserve,
        } => {
            use crewcall::sim::week::StandbyPolicy;
            let standby = StandbyPolicy::parse(&standby)?;
            let compare = compare_standby
                .map(|c| c.split(',').map(StandbyPolicy::parse).collect())
                .transpose()?
                .unwrap_or_default();
            let text = crewcall::cli::simulate::run(&crewcall::cli::simulate::SimulateArgs {
                workers,
                orders,
                seed,
                seeds,
                jobs,
                db,
                standby,
                compare,
                json,
                svg,
                reserve,
                progress: true,
                signals,
            })
            .await?;
            print!("{text}");
            Ok(())
        }
        Command::Replay {
            from,
            into,
            photo_dir,
        } => {
            let report = crewcall::cli::replay::run_with(&from, &into, photo_dir).await?;
            print!("{report}");
            if report.differences > 0 {
                return Err("the replay differs from the original".into());
            }
            Ok(())
        }
        Command::Migrate { db } => {
            let store = crewcall::store::Store::connect(&db.database_url).await?;
            store.migrate().await?;
            println!("database is up to date");
            Ok(())
        }
    }
}
