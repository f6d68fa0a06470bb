//! Crew assignment: the optimal crew for an order with several roles, and for a batch of orders that
//! compete for the same workers. Pure: scores come in as numbers computed by the matching module; nothing
//! here reads the clock, the store or the index.
//!
//! Layout:
//! - `flow.rs` — a small general min-cost max-flow (successive shortest paths, Dijkstra with potentials).
//! - `crew.rs` — the problem types, the network for one or several orders, and the exact solver `solve`.
//! - `greedy.rs` — the greedy baseline, kept for benchmarks and as a yardstick in tests.
//! - `batch.rs` — conflict components of a batch of orders and `solve_batch`.
//! - `tests.rs` — hand cases and the property test against brute force.

pub mod batch;
pub mod crew;
pub mod flow;
pub mod greedy;

#[cfg(test)]
mod tests;

pub use batch::{BatchOrder, conflict_components, solve_batch};
pub use crew::{Candidate, Crew, CrewProblem, Pick, RoleOption, RoleSlots, solve, solve_unpruned};
pub use flow::{EdgeId, FlowResult, MinCostFlow};
pub use greedy::greedy;
