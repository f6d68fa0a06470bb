//! HTTP integration tests: a real server on a free port, a fresh database per test (SQLite by default,
//! PostgreSQL when `CREWCALL_TEST_POSTGRES` holds a URL) and the manual clock.

mod helpers;
#[path = "../common/mutate.rs"]
mod mutate;

mod attendance;
mod desk;
mod errors;
mod hardening;
mod idempotency;
mod offers;
mod orders;
mod stream;
mod tenancy;
mod worker_app;
mod workers;
