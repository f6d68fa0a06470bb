//! `crewcall import FILE.ndjson`: loads workers into an agency straight into the database, with a progress
//! bar; the same upsert by `external_ref` and the same line checks as `POST /v1/workers/import`.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::domain::AgencyId;
use crate::engine::{Engine, EngineConfig, Imported};
use crate::store::Store;

/// Lines handed to the engine at a time (the progress bar moves per chunk).
const CHUNK_LINES: usize = 5_000;

/// Imports `path` into `agency`; returns what happened, with line numbers of the whole file.
pub async fn run(
    database_url: &str,
    agency: &str,
    path: &str,
) -> Result<Imported, Box<dyn std::error::Error>> {
    let agency: AgencyId = agency
        .parse()
        .map_err(|_| format!("--agency must be an agency id such as agc_1, not {agency}"))?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let store = Store::connect(database_url).await?;
    store.migrate().await?;
    let known: Option<(i64,)> = sqlx::query_as("SELECT id FROM agencies WHERE id = $1")
        .bind(agency.get() as i64)
        .fetch_optional(store.pool())
        .await
        .map_err(crate::store::db_error)?;
    if known.is_none() {
        return Err(format!("no agency {agency} in this database").into());
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Engine::start(store, clock, EngineConfig::default())
        .await?
        .engine;
    let lines: Vec<&str> = text.lines().collect();
    let bar = indicatif::ProgressBar::new(lines.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} lines  {per_sec}  eta {eta}")
            .expect("a valid template"),
    );
    let mut total = Imported::default();
    for (c, chunk) in lines.chunks(CHUNK_LINES).enumerate() {
        let r = engine.import_workers(agency, &chunk.join("\n")).await?;
        total.created += r.created;
        total.updated += r.updated;
        total
            .errors
            .extend(r.errors.into_iter().map(|(l, m)| (l + c * CHUNK_LINES, m)));
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    Ok(total)
}
