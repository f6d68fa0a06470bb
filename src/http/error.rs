//! The only place where errors become HTTP: status codes and RFC 9457 problem documents. A 500 is logged with
//! its cause and answered with a bland message; its cause is never echoed.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::{Error, FieldError};

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error on its way to becoming a problem document.
#[derive(Debug)]
pub enum ApiError {
    /// An error from the library.
    Lib(Error),
    /// No token, or a token that is not known.
    Unauthorized,
    /// The body is not JSON, or not the JSON a request needs at all.
    Malformed(String),
    /// The body is larger than the limit.
    TooLarge,
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// A valid token of the wrong kind for this endpoint (an agency key on an admin endpoint, say).
    Forbidden(String),
    /// Too many requests; retry after the duration.
    RateLimited(std::time::Duration),
    /// The request took longer than the limit.
    Timeout,
    /// The client did not send the request's body in time.
    BodyTimeout,
    /// An `If-Match` precondition failed.
    PreconditionFailed(String),
}

/// Sets `Retry-After` to `secs` (at least 1).
fn retry_after(mut r: Response, secs: u64) -> Response {
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    r
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Lib(e)
    }
}

impl From<Vec<FieldError>> for ApiError {
    fn from(e: Vec<FieldError>) -> Self {
        ApiError::Lib(Error::Invalid(e))
    }
}

/// An invalid field in a problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    /// Path of the field, `roles[0].headcount`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem; its last segment is a stable slug.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// Invalid fields, for 422 validation problems.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// For a worker who is not a candidate (`/problems/not-eligible`), the matching's exclusion reason code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn problem(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: String,
    errors: Vec<FieldError>,
) -> Response {
    problem_with_reason(status, slug, title, detail, errors, None)
}

/// [`problem`], with a reason code for the problems that carry one.
fn problem_with_reason(
    status: StatusCode,
    slug: &str,
    title: &str,
    detail: String,
    errors: Vec<FieldError>,
    reason: Option<&str>,
) -> Response {
    let body = Problem {
        kind: format!("/problems/{slug}"),
        title: title.to_string(),
        status: status.as_u16(),
        detail,
        errors: errors
            .into_iter()
            .map(|e| ProblemField {
                field: e.field,
                message: e.message,
            })
            .collect(),
        reason: reason.map(String::from),
    };
    let mut resp = (status, axum::Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

/// Marks an answer whose request was rolled back whole by a concurrent transaction, so the server may run it
/// again (see `http::contention`).
#[derive(Debug, Clone, Copy)]
pub struct Contended;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Lib(Error::Invalid(errors)) => {
                let detail = match errors.first() {
                    Some(e) if errors.len() == 1 => e.to_string(),
                    _ => format!("{} fields are invalid", errors.len()),
                };
                problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Invalid input",
                    detail,
                    errors,
                )
            }
            ApiError::Lib(Error::Refused {
                problem: slug,
                detail,
            }) => problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                slug,
                "Request refused",
                detail,
                vec![],
            ),
            ApiError::Lib(Error::NotFound(what)) => problem(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("{what} not found"),
                vec![],
            ),
            ApiError::Lib(Error::Conflict(detail)) => problem(
                StatusCode::CONFLICT,
                "conflict",
                "Conflict with the current state",
                detail,
                vec![],
            ),
            ApiError::Lib(Error::NotEligible { reason, detail }) => problem_with_reason(
                StatusCode::CONFLICT,
                "not-eligible",
                "Not a candidate",
                detail,
                vec![],
                Some(reason),
            ),
            ApiError::Lib(Error::Unavailable(detail)) => {
                tracing::warn!(%detail, "service unavailable");
                retry_after(
                    problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "Service unavailable",
                        "the service cannot answer now; retry later".into(),
                        vec![],
                    ),
                    1,
                )
            }
            ApiError::Lib(Error::Stale(detail)) | ApiError::PreconditionFailed(detail) => problem(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
                detail,
                vec![],
            ),
            ApiError::Lib(Error::Contended(detail)) => {
                tracing::debug!(%detail, "transaction rolled back by a concurrent one");
                let mut r = retry_after(
                    problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "Service unavailable",
                        "the service cannot answer now; retry later".into(),
                        vec![],
                    ),
                    1,
                );
                r.extensions_mut().insert(Contended);
                r
            }
            ApiError::Lib(Error::Internal(cause)) => {
                tracing::error!(%cause, "internal error");
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "something went wrong on our side; it has been logged".into(),
                    vec![],
                )
            }
            ApiError::Unauthorized => {
                let mut r = problem(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "Unauthorized",
                    "a valid bearer token is required".into(),
                    vec![],
                );
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
            ApiError::Malformed(detail) => problem(
                StatusCode::BAD_REQUEST,
                "malformed",
                "Malformed request",
                detail,
                vec![],
            ),
            ApiError::TooLarge => problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                "Body too large",
                "the request body is larger than the limit".into(),
                vec![],
            ),
            ApiError::UnsupportedMediaType => problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                "send the body as application/json".into(),
                vec![],
            ),
            ApiError::Forbidden(detail) => problem(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                detail,
                vec![],
            ),
            ApiError::RateLimited(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                retry_after(
                    problem(
                        StatusCode::TOO_MANY_REQUESTS,
                        "rate-limited",
                        "Too many requests",
                        format!("slow down; retry in {} s", secs.max(1)),
                        vec![],
                    ),
                    secs,
                )
            }
            ApiError::Timeout => retry_after(
                problem(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    "Request timed out",
                    "the request took too long and changed nothing; retry later".into(),
                    vec![],
                ),
                1,
            ),
            ApiError::BodyTimeout => {
                let mut r = problem(
                    StatusCode::REQUEST_TIMEOUT,
                    "body-timeout",
                    "Request body timed out",
                    "the request's body did not arrive in time".into(),
                    vec![],
                );
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            }
        }
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
