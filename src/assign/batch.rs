//! Batch assignment: several orders whose shifts compete for the same workers, solved together.
//!
//! Two orders conflict when their shifts come within the rest gap of each other
//! ([`Interval::within_gap`]). The conflict graph splits into connected components; each component is
//! solved as ONE flow in which a worker fills at most one slot in the whole component, and components are
//! solved independently, in parallel.
//!
//! Within a component the objective is the crew objective summed over its orders: slots filled, then quota
//! units, then total score — a slot in one order is worth as much as a slot in another.
//!
//! This is exact when a component's orders pairwise conflict — the usual case of one day's events at the
//! same hours. For a chain A–B–C where A and C do not conflict with each other, it is conservative: a
//! worker could in principle work both A and C, but the joint flow gives them to at most one of the three.
//!
//! Components are found with a sweep: orders sorted by (start, index); an order joins the current
//! component when it starts before the latest `end + rest_gap` seen in it. For orders sorted by start this
//! is exactly connectivity in the conflict graph (an interval graph).

use chrono::Duration;
use rayon::prelude::*;

use crate::assign::crew::{Crew, CrewProblem, solve_joint};
use crate::domain::Interval;

/// An order's shift and its crew problem, as one entry of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOrder {
    /// When the order's crew works; used to find the orders that compete for the same workers.
    pub shift: Interval,
    /// The order's roles and candidates.
    pub problem: CrewProblem,
}

/// Groups orders into the connected components of the conflict graph, each a list of indices in ascending
/// order; the components come in order of their earliest start.
pub fn conflict_components(orders: &[BatchOrder], rest_gap: Duration) -> Vec<Vec<usize>> {
    let mut by_start: Vec<usize> = (0..orders.len()).collect();
    by_start.sort_by_key(|&i| (orders[i].shift.start(), i));
    let mut components: Vec<Vec<usize>> = Vec::new();
    let mut reach = None;
    for i in by_start {
        let shift = orders[i].shift;
        match (components.last_mut(), reach) {
            (Some(current), Some(r)) if shift.start() < r => {
                current.push(i);
                reach = Some(r.max(shift.end() + rest_gap));
            }
            _ => {
                components.push(vec![i]);
                reach = Some(shift.end() + rest_gap);
            }
        }
    }
    for c in &mut components {
        c.sort_unstable();
    }
    components
}

/// Solves a batch of orders: one crew per order, in the same order as given. No worker gets two slots in
/// orders of the same conflict component; orders in different components may share workers.
pub fn solve_batch(orders: &[BatchOrder], rest_gap: Duration) -> Vec<Crew> {
    let components = conflict_components(orders, rest_gap);
    let solved: Vec<(Vec<usize>, Vec<Crew>)> = components
        .into_par_iter()
        .map(|component| {
            let problems: Vec<&CrewProblem> =
                component.iter().map(|&i| &orders[i].problem).collect();
            let crews = solve_joint(&problems, true);
            (component, crews)
        })
        .collect();
    let mut out: Vec<Option<Crew>> = vec![None; orders.len()];
    for (component, crews) in solved {
        for (i, crew) in component.into_iter().zip(crews) {
            out[i] = Some(crew);
        }
    }
    out.into_iter()
        .map(|c| c.expect("every order is in one component"))
        .collect()
}
