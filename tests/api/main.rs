//! HTTP integration tests: a real server on a free port, a fresh database per test (SQLite by default,
//! PostgreSQL when `CREWCALL_TEST_POSTGRES` holds a URL) and the manual clock.

mod helpers;
#[path = "../common/mutate.rs"]
mod mutate;
#[path = "../common/receiver.rs"]
mod receiver;

mod attendance;
mod client_view;
mod contention;
mod desk;
mod effects;
mod errors;
mod forecast;
mod hardening;
mod idempotency;
mod import_client;
mod offer_plan;
mod offers;
mod on_call_invites;
mod orders;
mod pay;
mod pools;
mod pre_shift;
mod reconfirm;
mod relations;
mod replay;
mod series;
mod sla;
mod standby_pool;
mod steering;
mod stream;
mod tenancy;
mod webhooks;
mod worker_app;
mod workers;
