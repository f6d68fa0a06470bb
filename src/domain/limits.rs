//! How much one document may hold. Every list and text an outside party sends has a cap, so a single request
//! cannot make the server parse, store and index without bound; beyond a cap the document is refused (422) with
//! the list's path. The README's Security section lists these figures.

use crate::error::FieldError;

/// Skills of a worker.
pub const WORKER_SKILLS: usize = 64;
/// Languages of a worker.
pub const WORKER_LANGUAGES: usize = 20;
/// Certifications of a worker.
pub const WORKER_CERTIFICATIONS: usize = 50;
/// Weekly availability windows of a worker.
pub const AVAILABILITY_WINDOWS: usize = 50;
/// Days named in one availability window.
pub const WINDOW_DAYS: usize = 7;
/// Blackout periods of a worker.
pub const BLACKOUTS: usize = 200;
/// Roles of an order.
pub const ORDER_ROLES: usize = 50;
/// Skills, languages, certifications or preferred skills asked for by one role or one quota, each.
pub const ROLE_TERMS: usize = 20;

/// The largest `min_completed_shifts` a role may ask for (a worker's count is kept exactly up to here).
pub const MAX_MIN_COMPLETED_SHIFTS: i64 = 10_000;

/// Workers a role may name: a client's fixed team, not a roster.
pub const ROLE_WORKERS: usize = 200;
/// Roles named in one headcount patch.
pub const PATCH_ROLES: usize = ORDER_ROLES;

/// Whether a list of `len` items fits under `max`; if not, says so at `field`.
pub fn within(field: &str, len: usize, max: usize, errors: &mut Vec<FieldError>) -> bool {
    if len > max {
        errors.push(FieldError::new(field, format!("at most {max} items")));
        false
    } else {
        true
    }
}
