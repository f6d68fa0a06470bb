//! crewcall: a talent-matching and dispatch engine for staffing shifts.
//!
//! The layout follows the architecture in the README: a pure core (`domain`, `index`, `matching`, `assign`)
//! that takes `now` as an argument and does no I/O; the `engine` that ties it to the `store`; and the edges
//! (`wire`, `http`, `clock`, `telemetry`, the CLI in `main.rs`).
#![warn(missing_docs)]

pub mod app;
pub mod assign;
pub mod cli;
pub mod clock;
pub mod dispatch;
pub mod domain;
pub mod engine;
pub mod error;
pub mod http;
pub mod index;
pub mod matching;
pub mod sim;
pub mod store;
pub mod telemetry;
pub mod webhooks;
pub mod wire;

pub use error::{Error, Result};
