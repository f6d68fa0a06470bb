//! Bearer-token extractors. The engine caches each token's principal (a view of the log: revoking a token on any
//! node evicts it everywhere).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::domain::{AgencyId, WorkerId};
use crate::engine::Principal;

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_of(parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The token of an `Authorization` header's value, if it is a bearer token.
pub fn bearer_of(v: &str) -> Option<&str> {
    let (scheme, token) = v.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

async fn principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let token = bearer(parts).ok_or(ApiError::Unauthorized)?;
    state
        .engine
        .authenticate(token)
        .await?
        .ok_or(ApiError::Unauthorized)
}

fn forbidden(what: &str) -> ApiError {
    ApiError::Forbidden(format!("this endpoint is for {what}"))
}

/// Any authenticated caller.
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        principal(parts, state).await.map(Caller)
    }
}

/// The operator.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            Principal::Admin => Ok(Admin),
            _ => Err(forbidden("the operator")),
        }
    }
}

/// An agency.
pub struct Agency(pub AgencyId);

impl FromRequestParts<AppState> for Agency {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            Principal::Agency(a) => Ok(Agency(a)),
            _ => Err(forbidden("agencies")),
        }
    }
}

/// One worker, through the app.
pub struct Worker {
    /// The worker.
    pub worker: WorkerId,
    /// The worker's agency.
    pub agency: AgencyId,
}

impl FromRequestParts<AppState> for Worker {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match principal(parts, state).await? {
            Principal::Worker { worker, agency } => Ok(Worker { worker, agency }),
            _ => Err(forbidden("workers")),
        }
    }
}
