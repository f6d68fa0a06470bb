//! `Idempotency-Key` on POST: the same key with the same request answers the first response again and does
//! nothing twice; the same key with another request is a 422; a key still being processed (on this node or
//! another) is a 409. Keys are kept per principal (the caller, not the spelling of its token), at least 24 hours.
//!
//! The key, the request's fingerprint and the response are written in the same transaction as the request's
//! effect ([`crate::store::idempotency`]): the handler runs inside the key's scope, its commands share one
//! transaction whose commit waits for the response, and only then is the response sent. A failure (5xx, 429)
//! rolls everything back and keeps no key, so a retry runs again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, PROBLEM_JSON};
use crate::engine::Principal;
use crate::error::{Error, FieldError};
use crate::store::idempotency::{self, IN_FLIGHT, KeyScope, Saved};

/// The header.
pub const HEADER: &str = "idempotency-key";

/// Keys of requests being handled on this node, by principal and key.
#[derive(Default, Clone)]
pub struct InFlight(Arc<Mutex<HashSet<(String, String)>>>);

/// Removes a key from [`InFlight`] when its request is done, however it ends.
struct InFlightGuard {
    set: InFlight,
    entry: (String, String),
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.set
            .0
            .lock()
            .expect("keys in flight")
            .remove(&self.entry);
    }
}

impl InFlight {
    fn enter(&self, principal: &str, key: &str) -> Option<InFlightGuard> {
        let entry = (principal.to_string(), key.to_string());
        let fresh = self.0.lock().expect("keys in flight").insert(entry.clone());
        fresh.then(|| InFlightGuard {
            set: self.clone(),
            entry,
        })
    }
}

/// The name a principal's keys are kept under.
fn principal_name(p: Principal) -> String {
    match p {
        Principal::Admin => "admin".into(),
        Principal::Agency(a) => format!("agency:{a}"),
        Principal::Worker { worker, .. } => format!("worker:{worker}"),
    }
}

fn replay(saved: Saved, request_hash: &str) -> Response {
    if saved.request_hash != request_hash {
        return ApiError::from(vec![FieldError::new(
            "Idempotency-Key",
            "was already used with a different request",
        )])
        .into_response();
    }
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::OK);
    let ct = if status.is_success() {
        "application/json"
    } else {
        PROBLEM_JSON
    };
    let mut resp = (status, saved.body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    resp
}

fn in_flight() -> Response {
    ApiError::Lib(Error::Conflict(IN_FLIGHT.into())).into_response()
}

/// The middleware.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    let key = match key.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 => k.to_string(),
        _ => {
            return ApiError::from(vec![FieldError::new(
                "Idempotency-Key",
                "must be 1 to 255 visible characters",
            )])
            .into_response();
        }
    };
    let (parts, body) = req.into_parts();
    // Without a valid token there is nobody to keep a key for: the handler answers 401.
    let principal = match super::auth::bearer(&parts) {
        Some(token) => match state.engine.authenticate(token).await {
            Ok(Some(p)) => principal_name(p),
            Ok(None) => return next.run(Request::from_parts(parts, body)).await,
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => return next.run(Request::from_parts(parts, body)).await,
    };
    let limit = super::body_limit(parts.uri.path());
    let deadline = parts.extensions.get::<super::BodyDeadline>().copied();
    let bytes = match super::json::read_body(body, limit, deadline).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.path().as_bytes());
    h.update(b"\n");
    h.update(principal.as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    let store = state.engine.store().clone();
    match idempotency::lookup(&store, &principal, &key).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Some(saved)) => return replay(saved, &request_hash),
        Ok(None) => {}
    }
    let Some(_guard) = state.in_flight.enter(&principal, &key) else {
        return in_flight();
    };
    let scope = KeyScope::new(principal.clone(), key.clone(), request_hash.clone());
    let resp = scope
        .run(next.run(Request::from_parts(parts, Body::from(bytes))))
        .await;
    let (rparts, rbody) = resp.into_parts();
    let body = match to_bytes(rbody, 256 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            idempotency::abandon(&scope);
            return ApiError::Lib(Error::Internal("response body could not be read".into()))
                .into_response();
        }
    };
    if rparts.status.is_server_error() || rparts.status == StatusCode::TOO_MANY_REQUESTS {
        // Nothing was done; a retry must run again.
        idempotency::abandon(&scope);
        return Response::from_parts(rparts, Body::from(body));
    }
    match state
        .engine
        .finish_keyed(
            &scope,
            rparts.status.as_u16(),
            &String::from_utf8_lossy(&body),
        )
        .await
    {
        Ok(true) => Response::from_parts(rparts, Body::from(body)),
        // Another request with the same key finished first; this one's effect was rolled back.
        Ok(false) => match idempotency::lookup(&store, &principal, &key).await {
            Ok(Some(saved)) => replay(saved, &request_hash),
            Ok(None) => in_flight(),
            Err(e) => ApiError::from(e).into_response(),
        },
        // The effect did not commit: the request did nothing, and says so.
        Err(e) => ApiError::from(e).into_response(),
    }
}
