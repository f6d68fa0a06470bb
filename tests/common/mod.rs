//! Shared helpers of the black-box tests that run `crewcall serve` as child processes.

pub mod nodes;
