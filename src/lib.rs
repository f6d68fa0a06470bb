//! crewcall: a talent-matching and dispatch engine for staffing shifts.
//!
//! The layout follows the architecture in the README: a pure core (`domain`, `index`, `matching`,
//! `assign`) that takes `now` as an argument and does no I/O, and edges that talk to the world.
#![warn(missing_docs)]

pub mod domain;
pub mod error;

pub use error::{Error, Result};
