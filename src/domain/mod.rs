//! The vocabulary of crewcall: ids, positions, skills, time windows, workers and orders. Every value here is
//! built through a constructor that checks it, so the rest of the code never meets an invalid one.
//! Nothing here does I/O or knows JSON or SQL.

pub mod availability;
pub mod geo;
pub mod ids;
pub mod limits;
pub mod order;
pub mod pay;
pub mod series;
pub mod sla;
pub mod terms;
pub mod time;
pub mod worker;

pub use availability::{Availability, Days, LocalShift, WeeklyWindow};
pub use geo::{LatLon, TravelKm};
pub use ids::{
    AgencyId, AssignmentId, OfferId, OrderId, PoolId, ReviewId, SeriesId, StandbyPoolId,
    TimesheetId, WorkerId,
};
pub use order::{
    DispatchMode, DispatchSpec, Order, OrderInput, Priority, Quota, Role, StandbySpec, Venue, Widen,
};
pub use terms::{Certification, Language, Level, MinStars, Skill, SkillName, SkillReq, Stars};
pub use time::Interval;
pub use worker::{Tier, Worker, WorkerInput, WorkerStats, WorkerStatus};
