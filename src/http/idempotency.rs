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
        Principal::Client { link, .. } => format!("client:{link}"),
    }
}

/// Saved answers are sealed (ChaCha20-Poly1305) under a key derived from the caller's own bearer token, the
/// principal and the idempotency key: an answer that carries a secret (a worker's app token, an agency's new API
/// key) is never kept in plaintext, and only a caller holding the same token can read it back.
struct Seal(chacha20poly1305::ChaCha20Poly1305);

const SEALED: &str = "sealed1:";

impl Seal {
    fn new(token: &str, principal: &str, key: &str) -> Self {
        use chacha20poly1305::KeyInit;
        let mut h = Sha256::new();
        h.update(b"crewcall idempotency seal v1\n");
        h.update(token.as_bytes());
        h.update(b"\n");
        h.update(principal.as_bytes());
        h.update(b"\n");
        h.update(key.as_bytes());
        Seal(chacha20poly1305::ChaCha20Poly1305::new(&h.finalize()))
    }

    fn seal(&self, body: &[u8]) -> Result<String, ApiError> {
        use base64::Engine as _;
        use chacha20poly1305::AeadCore;
        use chacha20poly1305::aead::{Aead, OsRng};
        let nonce = chacha20poly1305::ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(&nonce, body)
            .map_err(|_| ApiError::Lib(Error::Internal("sealing an answer failed".into())))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
        ))
    }

    /// The saved body in the clear; `None` when it was sealed under another token.
    fn open(&self, saved: &str) -> Option<String> {
        use base64::Engine as _;
        use chacha20poly1305::aead::Aead;
        let Some(sealed) = saved.strip_prefix(SEALED) else {
            // Kept before answers were sealed.
            return Some(saved.to_string());
        };
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed)
            .ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, ct) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        let plain = self
            .0
            .decrypt(&chacha20poly1305::Nonce::from(nonce), ct)
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

fn replay(saved: Saved, request_hash: &str, seal: &Seal) -> Response {
    if saved.request_hash != request_hash {
        return ApiError::from(vec![FieldError::new(
            "Idempotency-Key",
            "was already used with a different request",
        )])
        .into_response();
    }
    let Some(body) = seal.open(&saved.body) else {
        return ApiError::from(vec![FieldError::new(
            "Idempotency-Key",
            "was used with another of your credentials; retry with the token that sent the first request",
        )])
        .into_response();
    };
    let saved = Saved { body, ..saved };
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
    let (principal, seal) = match super::auth::bearer(&parts) {
        Some(token) => match state.engine.authenticate(token).await {
            Ok(Some(p)) => {
                let name = principal_name(p);
                let seal = Seal::new(token, &name, &key);
                (name, seal)
            }
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
        Ok(Some(saved)) => return replay(saved, &request_hash, &seal),
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
    let sealed = match seal.seal(&body) {
        Ok(s) => s,
        Err(e) => {
            idempotency::abandon(&scope);
            return e.into_response();
        }
    };
    match state
        .engine
        .finish_keyed(&scope, rparts.status.as_u16(), &sealed)
        .await
    {
        Ok(true) => Response::from_parts(rparts, Body::from(body)),
        // Another request with the same key finished first; this one's effect was rolled back.
        Ok(false) => match idempotency::lookup(&store, &principal, &key).await {
            Ok(Some(saved)) => replay(saved, &request_hash, &seal),
            Ok(None) => in_flight(),
            Err(e) => ApiError::from(e).into_response(),
        },
        // The effect did not commit: the request did nothing, and says so.
        Err(e) => ApiError::from(e).into_response(),
    }
}
