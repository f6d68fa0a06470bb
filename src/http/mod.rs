//! The HTTP API (axum): routes, authentication, request and response shapes, problem+json errors, OpenAPI and
//! metrics. Handlers translate between JSON and the engine's commands; they hold no business rules.

mod assignments;
pub mod auth;
pub mod error;
pub mod idempotency;
pub mod json;
mod me;
pub mod metrics;
mod openapi;
mod ops;
mod orders;
pub mod pagination;
mod query;
mod workers;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

use crate::engine::Engine;
use error::ApiError;

/// Body limit of ordinary requests.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// Body limit of bulk imports.
pub const IMPORT_BODY_LIMIT: usize = 64 * 1024 * 1024;
/// How long one request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The body limit of a path.
pub fn body_limit(path: &str) -> usize {
    if path == "/v1/workers/import" {
        IMPORT_BODY_LIMIT
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
}

impl AppState {
    /// State over an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        AppState {
            engine,
            metrics: Arc::new(metrics::Metrics::default()),
            in_flight: idempotency::InFlight::default(),
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
        .fallback(|| async { ApiError::Lib(crate::Error::NotFound("endpoint".into())) })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::layer,
        ))
        .layer(middleware::from_fn(timeout))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::layer,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn timeout(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
