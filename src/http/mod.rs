//! The HTTP API (axum): routes, authentication, request and response shapes, problem+json errors, OpenAPI and
//! metrics. Handlers translate between JSON and the engine's commands; they hold no business rules.

mod assignments;
pub mod auth;
mod clients;
mod console;
mod contention;
mod desk;
pub mod error;
mod forecast;
pub mod idempotency;
mod invites;
pub mod json;
pub mod limits;
mod me;
pub mod metrics;
mod openapi;
mod ops;
mod orders;
pub mod pagination;
mod pay;
mod photos;
mod pools;
mod query;
mod relations;
mod series;
pub mod server;
mod sla;
mod standby_pools;
mod stream;
pub mod versions;
mod webhooks;
mod workers;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::engine::{Engine, Principal};
use error::ApiError;
use limits::{Limiters, Limits, Subject};

/// Body limit of ordinary requests.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Body limit of bulk imports.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// The bulk import, which has its own body limit and deadline.
pub const IMPORT_PATH: &str = "/v1/workers/import";

/// The body limit of a path.
pub fn body_limit(path: &str) -> usize {
    if path == IMPORT_PATH {
        IMPORT_BODY_LIMIT
    } else if photos::is_upload_path(path) {
        crate::engine::MAX_PHOTO_BYTES
    } else {
        BODY_LIMIT
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// Request metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// Idempotency keys of requests being handled on this node.
    pub in_flight: idempotency::InFlight,
    /// Deadlines, the connection limit and the rate limits.
    pub limits: Arc<Limits>,
    /// The rate limiters of this node.
    pub limiters: Arc<Limiters>,
    /// This node's webhooks: their settings, client and sender's counters.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// Turns true when the server begins to shut down: long-lived answers (the events stream) end on it, so
    /// that the graceful shutdown is not held open by them.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    /// State over an engine, with default limits.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self::with_limits(engine, Limits::default())
    }

    /// State over an engine with these limits.
    pub fn with_limits(engine: Arc<Engine>, limits: Limits) -> Self {
        AppState {
            engine,
            metrics: Arc::new(metrics::Metrics::default()),
            in_flight: idempotency::InFlight::default(),
            limiters: Arc::new(Limiters::new(&limits.rates)),
            limits: Arc::new(limits),
            webhooks: Arc::new(crate::webhooks::Webhooks::new(Default::default())),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(ops::router())
        .merge(openapi::router())
        .merge(workers::router())
        .merge(orders::router())
        .merge(me::router())
        .merge(assignments::router())
        .merge(desk::router())
        .merge(clients::router())
        .merge(photos::router())
        .merge(relations::router())
        .merge(pools::router())
        .merge(standby_pools::router())
        .merge(series::router())
        .merge(pay::router())
        .merge(sla::router())
        .merge(forecast::router())
        .merge(invites::router())
        .merge(webhooks::router())
        .merge(stream::router())
        .merge(console::router())
        .fallback(|| async { ApiError::Lib(crate::Error::NotFound("endpoint".into())) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(middleware::from_fn(contention::layer))
        .layer(middleware::from_fn_with_state(state.clone(), deadlines))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::layer,
        ))
        // Spans name the route, never the URI: query strings can hold coordinates (`near=`).
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route = req
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or("unmatched", |m| m.as_str())
                .to_owned();
            tracing::debug_span!("request", method = %req.method(), route = %route)
        }))
        .with_state(state)
}

/// When the body of a request must have arrived (see [`json::read_body`]).
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline(pub Instant);

/// Each request gets its path's deadline; its body a deadline of its own, shorter, so a client trickling a
/// body gets a 408 rather than the 503 of a request the server could not finish in time.
async fn deadlines(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let whole = state.limits.request_deadline(path);
    let body = state.limits.body_deadline(path);
    req.extensions_mut()
        .insert(BodyDeadline(Instant::now() + body));
    match tokio::time::timeout(whole, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Rate limits: every request counts against its address, and a request with a valid token against the token's
/// owner (the operator is not limited). Requests with a token that is refused 401 count against their address a
/// second time, on a much smaller budget: past it, guessing tokens from that address is answered 429.
async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip
        && let Err(wait) = state.limiters.address(ip)
    {
        return ApiError::RateLimited(wait).into_response();
    }
    let token = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::bearer_of);
    if let Some(token) = token
        && let Ok(Some(p)) = state.engine.authenticate(token).await
    {
        let subject = match p {
            Principal::Admin => None,
            Principal::Agency(a) | Principal::Client { agency: a, .. } => {
                Some(Subject::Agency(a.get()))
            }
            Principal::Worker { worker, .. } => Some(Subject::Worker(worker.get())),
        };
        if let Some(s) = subject
            && let Err(wait) = state.limiters.subject(s)
        {
            return ApiError::RateLimited(wait).into_response();
        }
    }
    let guessed = token.is_some();
    let resp = next.run(req).await;
    // A request without a token is simply unauthenticated; one with a token nobody holds is a guess.
    if guessed
        && resp.status() == StatusCode::UNAUTHORIZED
        && let Some(ip) = ip
        && let Err(wait) = state.limiters.auth_failure(ip)
    {
        return ApiError::RateLimited(wait).into_response();
    }
    resp
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits.clone();
    let limiters = state.limiters.clone();
    let closing = state.closing.clone();
    let shutdown = async move {
        shutdown.await;
        closing.send_replace(true);
    };
    // Buckets that are full again say nothing; forgetting them keeps the maps as small as the active clients.
    let forget = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            limiters.forget_idle();
        }
    });
    let r = server::serve(listener, router(state), limits, shutdown).await;
    forget.abort();
    r
}
