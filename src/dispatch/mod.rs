//! Dispatch: what the engine does with an order once it is posted.
//!
//! - `plan.rs`: the candidates of a role (index retrieval → matching) and the optimal crew of an order
//!   (matching → `assign`), for the slots still open.
//! - `standby.rs`: show-up probabilities and the `"auto"` standby size.
//!
//! Pure like the rest of the core: the index, the live state, the policy and `now` come in; decisions go out.

pub mod forecast;
pub mod plan;
pub mod pool;
pub mod standby;

pub use plan::{
    CrewPlan, HELD, NAMED_BONUS, OfferPicks, OfferRole, RolePlan, candidates, plan_crew,
    plan_offers, quota_met_by,
};
