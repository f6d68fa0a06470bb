//! The JSON shapes of standby pools (`GET /v1/standby-pools`, `GET /v1/standby-pools/{id}`).

use serde::Serialize;

/// An area's on-call pool: the floaters held for the pooled orders of one area, block of the day and skills.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StandbyPoolView {
    /// The pool (`spl_…`).
    pub id: String,
    /// `open` until its window ends, then `closed` (floaters not promoted are released).
    pub status: String,
    /// Its area: an H3 cell at resolution 6 (about 7 km across), hexadecimal.
    pub cell: String,
    /// The cell's centre.
    pub centre: CentreView,
    /// The start of the block of the day (six hours, in the agency's timezone) its orders start in.
    pub block_start: String,
    /// Its window: the union of its orders' shifts.
    pub start: String,
    /// The window's end.
    pub end: String,
    /// When its floaters not promoted are released: a few minutes after its orders' last no-show check
    /// (`start + grace`), when no loss at the start is left to cover.
    pub release_at: String,
    /// The required skills of its roles, sorted: every floater fits every role.
    pub skills: Vec<String>,
    /// The probability that every order of the pool is full at start it aims for.
    pub target: f64,
    /// Floaters wanted, as last sized.
    pub wanted: u32,
    /// Floaters held.
    pub held: u32,
    /// The floaters held.
    pub floaters: Vec<FloaterView>,
    /// Its orders.
    pub orders: Vec<String>,
    /// The probability, now, that every order of the pool still ahead or running is full at start with the
    /// floaters held.
    pub p_all_full: f64,
}

/// A point.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CentreView {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// A floater held by a pool.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FloaterView {
    /// Their standby assignment.
    pub assignment_id: String,
    /// The worker.
    pub worker_id: String,
    /// The window they are booked for.
    pub start: String,
    /// Its end.
    pub end: String,
}
