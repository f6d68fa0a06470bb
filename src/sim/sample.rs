//! The bundled sample in `data/`: 2,000 workers of the metropolis (seed 42) and one exhibition order near a
//! venue, regenerated in memory by a test that fails when the files are stale (`CREWCALL_BLESS=1` rewrites
//! them).

use super::City;
use super::ndjson::{order_value, worker_line};
use super::orders::{OrderKind, order_of_kind};
use super::workers::{default_week_start, workers};
use crate::domain::AgencyId;

/// The seed of the sample.
pub const SAMPLE_SEED: u64 = 42;

/// How many workers the sample holds.
pub const SAMPLE_WORKERS: usize = 2000;

/// `data/workers-sample.ndjson`: one worker a line, newline-terminated.
pub fn sample_workers_ndjson() -> String {
    let city = City::metropolis(SAMPLE_SEED);
    let mut out = String::new();
    for w in workers(&city, SAMPLE_WORKERS, SAMPLE_SEED, AgencyId::new(1)) {
        out.push_str(&worker_line(&w));
        out.push('\n');
    }
    out
}

/// `data/order-sample.json`: one exhibition order, pretty-printed for people to read.
pub fn sample_order_json() -> String {
    let city = City::metropolis(SAMPLE_SEED);
    let o = order_of_kind(
        &city,
        OrderKind::Exhibition,
        1,
        SAMPLE_SEED,
        AgencyId::new(1),
        default_week_start(),
    );
    let mut s = serde_json::to_string_pretty(&order_value(&o.order, o.tz)).expect("JSON");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_file(name: &str, fresh: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join(name);
        if std::env::var("CREWCALL_BLESS").as_deref() == Ok("1") {
            std::fs::write(&path, fresh).expect("write the sample");
            return;
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == fresh,
            "{} is stale; regenerate with CREWCALL_BLESS=1 cargo test --lib data_sample_is_fresh",
            path.display()
        );
    }

    #[test]
    fn data_sample_is_fresh() {
        let workers = sample_workers_ndjson();
        assert_eq!(workers.lines().count(), SAMPLE_WORKERS);
        check_file("workers-sample.ndjson", &workers);
        check_file("order-sample.json", &sample_order_json());
    }
}
