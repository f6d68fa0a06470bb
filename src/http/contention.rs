//! Runs a write again when PostgreSQL rolled it back for losing a race with a concurrent transaction.
//!
//! Commands on different orders run concurrently, and some span several orders (deleting or suspending a worker
//! releases their future shifts across orders; a crew's assignments wait on each other through the overlap
//! constraint). Two such transactions can wait on each other; PostgreSQL then aborts one of them (a deadlock,
//! `40P01`, or a serialisation failure, `40001`). Nothing of the aborted request was kept, so the server runs it
//! again — a few times, after a short random pause — rather than hand the caller a 503 for a race it could not
//! see. A request is run again only when it committed nothing before the failure (see
//! [`crate::store::counting_commits`]); otherwise the 503 goes out as it is.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng;

use super::error::Contended;
use super::{BodyDeadline, body_limit, json};

/// Runs after the first: a request that loses this many races in a row gets the 503.
const RETRIES: u32 = 4;

/// The middleware.
pub async fn layer(req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let deadline = parts.extensions.get::<BodyDeadline>().copied();
    let bytes = match json::read_body(body, body_limit(parts.uri.path()), deadline).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let mut attempt = 0;
    loop {
        let req = Request::from_parts(parts.clone(), Body::from(bytes.clone()));
        let (resp, commits) = crate::store::counting_commits(next.clone().run(req)).await;
        if resp.extensions().get::<Contended>().is_none() || commits > 0 || attempt >= RETRIES {
            return resp;
        }
        attempt += 1;
        let pause = {
            let mut rng = rand::rng();
            rng.random_range(5..=20u64) << attempt
        };
        tracing::debug!(
            attempt,
            pause_ms = pause,
            "running a write again after a lost race"
        );
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}
