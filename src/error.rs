//! The one error type of the library. Its variants mean something to a caller; only the HTTP layer
//! turns them into status codes and problem documents.

use std::fmt;

/// One invalid field of an input, named by its path (`roles[0].headcount`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field in the input document, `roles[0].headcount` style.
    pub field: String,
    /// What is wrong with it, in words a user can act on.
    pub message: String,
}

impl FieldError {
    /// A field error for `field` saying `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error seen from one level up: `headcount` under `roles[0]` becomes `roles[0].headcount`.
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = join_path(prefix, &self.field);
        self
    }
}

/// Joins a parent path and a child path (`roles[0]` + `headcount`, `roles` + `[0]`).
pub fn join_path(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_string()
    } else if field.is_empty() {
        prefix.to_string()
    } else if field.starts_with('[') {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}.{field}")
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Errors a caller of crewcall can receive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input is well-formed but breaks a rule; every offending field is listed.
    #[error("invalid input: {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    /// The input is well-formed and valid on its own but the product refuses it for a named reason
    /// (`outside-geofence`); `problem` is a stable slug a client can branch on.
    #[error("{detail}")]
    Refused {
        /// Stable slug naming the reason.
        problem: &'static str,
        /// What happened, for people.
        detail: String,
    },
    /// The object does not exist, or it belongs to someone else.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (a full role, an offer no longer pending, a double booking).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A worker named by hand is not a candidate of the role: a hard filter of the matching excludes them.
    /// `reason` is that filter's exclusion reason code (`too_far`, `overlap`, …).
    #[error("{detail}")]
    NotEligible {
        /// The exclusion reason code, as the candidates answer counts it.
        reason: &'static str,
        /// What happened, for people.
        detail: String,
    },
    /// The caller's copy is out of date: an `If-Match` version that is no longer the current one.
    #[error("stale: {0}")]
    Stale(String),
    /// A dependency (the database, the index) cannot serve now; retrying later may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The transaction lost a race with a concurrent one (a deadlock or a serialisation failure) and was rolled
    /// back whole: running the same command again is safe and usually passes at once.
    #[error("contended: {0}")]
    Contended(String),
    /// A bug or an unexpected failure; logged, never shown to a caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// An `Invalid` error with a single field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(errors: Vec<FieldError>) -> Self {
        Error::Invalid(errors)
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
