//! Building and running the server: configuration in, a bound listener and a running engine out. Tests use the
//! same path with port 0 and a manual clock.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::net::TcpListener;

use crate::clock::{Clock, ManualClock, SystemClock};
use crate::engine::{Engine, EngineConfig};
use crate::http::{self, AppState};
use crate::store::{self, Store};

/// Which clock drives the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockKind {
    /// The wall clock.
    System,
    /// A manual clock, moved by `POST /v1/admin/clock`.
    Manual,
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    /// The admin token, if set by the operator.
    pub admin_token: Option<String>,
    /// The clock.
    pub clock: ClockKind,
    /// Where a manual clock starts.
    pub start: Option<DateTime<Utc>>,
    /// Minimum rest between two shifts of a worker (default 8 hours).
    pub rest_gap: Option<chrono::Duration>,
    /// When repeated no-shows suspend a worker.
    pub no_show_policy: crate::engine::NoShowPolicy,
    /// Minutes after an expiry before its worker may be asked again on an order out of candidates (`None`:
    /// the default, 30; 0: never).
    pub reoffer_after_min: Option<u32>,
    /// How often each node polls the log for other nodes' events, besides PostgreSQL's notifications (the
    /// safety net for a lost notification; on SQLite it only matters for a `crewcall import` run beside the
    /// server).
    pub log_poll: std::time::Duration,
    /// Deadlines, the connection limit and rate limits of the HTTP server.
    pub http: http::limits::Limits,
    /// Where photo reports are kept, how large and for how long.
    pub photos: crate::engine::PhotoConfig,
    /// Webhooks: whether URLs may point at private addresses, retries and disabling.
    pub webhooks: crate::webhooks::Settings,
}

/// A built server, bound but not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// An admin token generated at first start, to print once.
    pub generated_admin_token: Option<String>,
    /// Where the log is tailed from.
    database_url: String,
    /// How often the log is polled besides notifications.
    log_poll: std::time::Duration,
}

impl Application {
    /// Connects and migrates the database, starts the engine and binds the listener.
    pub async fn build(config: Config) -> crate::Result<Application> {
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let clock: Arc<dyn Clock> = match config.clock {
            ClockKind::System => Arc::new(SystemClock),
            ClockKind::Manual => {
                // After a restart the manual clock resumes where it stood, never earlier.
                let saved = store::settings::get(store.pool(), "manual_clock_ms")
                    .await?
                    .and_then(|v| v.parse::<i64>().ok())
                    .and_then(DateTime::<Utc>::from_timestamp_millis);
                let start = config.start.unwrap_or_else(Utc::now);
                Arc::new(ManualClock::new(saved.map_or(start, |s| s.max(start))))
            }
        };
        let started = Engine::start(
            store,
            clock,
            EngineConfig {
                admin_token: config.admin_token.clone(),
                rest_gap: config.rest_gap,
                no_show_policy: config.no_show_policy,
                reoffer_after_min: config.reoffer_after_min,
                photos: config.photos.clone(),
                policy_version: None,
            },
        )
        .await?;
        let listener = TcpListener::bind(&config.listen).await.map_err(|e| {
            crate::Error::Unavailable(format!("cannot listen on {}: {e}", config.listen))
        })?;
        let mut state = AppState::with_limits(started.engine, config.http.clone());
        state.webhooks = Arc::new(crate::webhooks::Webhooks::new(config.webhooks.clone()));
        Ok(Application {
            listener,
            state,
            generated_admin_token: started.generated_admin_token,
            database_url: config.database_url.clone(),
            log_poll: config.log_poll,
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The engine.
    pub fn engine(&self) -> Arc<Engine> {
        self.state.engine.clone()
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let engine = self.state.engine.clone();
        crate::engine::spawn_tailer(engine.clone(), self.database_url.clone(), self.log_poll);
        crate::webhooks::spawn(
            engine.clone(),
            self.state.webhooks.clone(),
            self.database_url.clone(),
        );
        if !engine.clock().is_manual() {
            // With the system clock, timers are fired by a ticker; with the manual clock, by moving it. Every
            // node ticks; each timer is claimed by the node that fires it.
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut ticks: u64 = 0;
                loop {
                    every.tick().await;
                    if let Err(e) = engine.tick().await {
                        tracing::error!(error = %e, "firing timers failed");
                    }
                    if ticks.is_multiple_of(3600) {
                        let before = engine.now() - store::idempotency::KEPT;
                        if let Err(e) =
                            store::idempotency::purge(engine.store(), before.timestamp_millis())
                                .await
                        {
                            tracing::warn!(error = %e, "forgetting old idempotency keys failed");
                        }
                    }
                    ticks += 1;
                }
            });
        }
        http::serve(self.listener, self.state, shutdown).await
    }
}
