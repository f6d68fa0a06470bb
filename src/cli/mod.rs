//! The command-line tools behind `main.rs` that do more than wiring: reading files, printing tables.
//! They use the library like any client would.

pub mod import;
pub mod import_client;
pub mod rank;
pub mod replay;
pub mod simulate;
