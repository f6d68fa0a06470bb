//! `Idempotency-Key` on POST: the same key with the same body answers the first response again and does
//! nothing twice; the same key with another body is a 422; a key still being processed is a 409. Keys are kept
//! per token, at least 24 hours.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::{ApiError, PROBLEM_JSON};
use crate::error::{Error, FieldError};
use crate::store::idempotency::{self, KeyState};

/// The header.
pub const HEADER: &str = "idempotency-key";

/// The middleware.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(key) = req.headers().get(HEADER).cloned() else {
        return next.run(req).await;
    };
    let Some(auth) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
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
    let limit = super::body_limit(parts.uri.path());
    let bytes = match to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => return ApiError::TooLarge.into_response(),
    };
    let token_hash = hex::encode(Sha256::digest(auth.as_bytes()));
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b" ");
    h.update(parts.uri.path().as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());
    let store = state.engine.store().clone();
    let now = state.engine.now().timestamp_millis();
    match idempotency::claim(&store, &token_hash, &key, &request_hash, now).await {
        Err(e) => ApiError::from(e).into_response(),
        Ok(KeyState::InFlight { .. }) => ApiError::Lib(Error::Conflict(
            "a request with this Idempotency-Key is still being processed".into(),
        ))
        .into_response(),
        Ok(KeyState::Done {
            request_hash: rh,
            status,
            body,
        }) => {
            if rh != request_hash {
                return ApiError::from(vec![FieldError::new(
                    "Idempotency-Key",
                    "was already used with a different request",
                )])
                .into_response();
            }
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let ct = if status.is_success() {
                "application/json"
            } else {
                PROBLEM_JSON
            };
            let mut resp = (status, body).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            resp.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            resp
        }
        Ok(KeyState::Claimed) => {
            let resp = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (rparts, rbody) = resp.into_parts();
            let body = match to_bytes(rbody, 256 * 1024 * 1024).await {
                Ok(b) => b,
                Err(_) => {
                    let _ = idempotency::release(&store, &token_hash, &key).await;
                    return ApiError::Lib(Error::Internal(
                        "response body could not be read".into(),
                    ))
                    .into_response();
                }
            };
            let outcome = if rparts.status.is_server_error()
                || rparts.status == StatusCode::TOO_MANY_REQUESTS
            {
                // Nothing was done; a retry must run again.
                idempotency::release(&store, &token_hash, &key).await
            } else {
                idempotency::finish(
                    &store,
                    &token_hash,
                    &key,
                    rparts.status.as_u16(),
                    &String::from_utf8_lossy(&body),
                )
                .await
            };
            if let Err(e) = outcome {
                tracing::error!(error = %e, "could not record an idempotency key");
            }
            Response::from_parts(rparts, Body::from(body))
        }
    }
}
