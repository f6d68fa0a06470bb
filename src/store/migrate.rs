//! Embedded migrations: the SQL files under `migrations/<backend>/` are compiled into the binary and applied in
//! order, each in its own transaction, recorded in `_migrations`.

use sqlx::AnyPool;

use super::{Backend, db_error};

const SQLITE: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/sqlite/0002_timer_indexes.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_log_views.sql"),
    ),
    (4, include_str!("../../migrations/sqlite/0004_versions.sql")),
    (5, include_str!("../../migrations/sqlite/0005_desk.sql")),
    (
        6,
        include_str!("../../migrations/sqlite/0006_agency_keys.sql"),
    ),
    (7, include_str!("../../migrations/sqlite/0007_webhooks.sql")),
    (
        8,
        include_str!("../../migrations/sqlite/0008_client_view.sql"),
    ),
    (
        9,
        include_str!("../../migrations/sqlite/0009_order_risks.sql"),
    ),
    (
        10,
        include_str!("../../migrations/sqlite/0010_side_effects.sql"),
    ),
    (
        11,
        include_str!("../../migrations/sqlite/0011_reoffers_pools.sql"),
    ),
    (
        12,
        include_str!("../../migrations/sqlite/0012_timesheets_pay.sql"),
    ),
    (
        13,
        include_str!("../../migrations/sqlite/0013_sla_tiers.sql"),
    ),
    (14, include_str!("../../migrations/sqlite/0014_series.sql")),
    (
        15,
        include_str!("../../migrations/sqlite/0015_standby_pools.sql"),
    ),
    (
        16,
        include_str!("../../migrations/sqlite/0016_reconfirm_signals.sql"),
    ),
    (
        17,
        include_str!("../../migrations/sqlite/0017_on_call_invites.sql"),
    ),
    (
        18,
        include_str!("../../migrations/sqlite/0018_reconfirm_request_index.sql"),
    ),
    (
        19,
        include_str!("../../migrations/sqlite/0019_assignments_by_worker_covering.sql"),
    ),
    (
        20,
        include_str!("../../migrations/sqlite/0020_assignments_by_pool_partial.sql"),
    ),
];
const POSTGRES: &[(i64, &str)] = &[
    (1, include_str!("../../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../../migrations/postgres/0002_timer_indexes.sql"),
    ),
    (
        3,
        include_str!("../../migrations/postgres/0003_log_views.sql"),
    ),
    (
        4,
        include_str!("../../migrations/postgres/0004_versions.sql"),
    ),
    (5, include_str!("../../migrations/postgres/0005_desk.sql")),
    (
        6,
        include_str!("../../migrations/postgres/0006_agency_keys.sql"),
    ),
    (
        7,
        include_str!("../../migrations/postgres/0007_webhooks.sql"),
    ),
    (
        8,
        include_str!("../../migrations/postgres/0008_client_view.sql"),
    ),
    (
        9,
        include_str!("../../migrations/postgres/0009_order_risks.sql"),
    ),
    (
        10,
        include_str!("../../migrations/postgres/0010_side_effects.sql"),
    ),
    (
        11,
        include_str!("../../migrations/postgres/0011_reoffers_pools.sql"),
    ),
    (
        12,
        include_str!("../../migrations/postgres/0012_timesheets_pay.sql"),
    ),
    (
        13,
        include_str!("../../migrations/postgres/0013_sla_tiers.sql"),
    ),
    (
        14,
        include_str!("../../migrations/postgres/0014_series.sql"),
    ),
    (
        15,
        include_str!("../../migrations/postgres/0015_standby_pools.sql"),
    ),
    (
        16,
        include_str!("../../migrations/postgres/0016_reconfirm_signals.sql"),
    ),
    (
        17,
        include_str!("../../migrations/postgres/0017_on_call_invites.sql"),
    ),
    (
        18,
        include_str!("../../migrations/postgres/0018_reconfirm_request_index.sql"),
    ),
    (
        19,
        include_str!("../../migrations/postgres/0019_assignments_by_worker_covering.sql"),
    ),
    (
        20,
        include_str!("../../migrations/postgres/0020_assignments_by_pool_partial.sql"),
    ),
];

pub(super) async fn run(pool: &AnyPool, backend: Backend) -> crate::Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS _migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(pool)
        .await
        .map_err(db_error)?;
    let steps = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    for (version, sql) in steps {
        let mut tx = match backend {
            Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => pool.begin().await,
        }
        .map_err(db_error)?;
        if backend == Backend::Postgres {
            // Several nodes may start at once: one migrates, the others wait here.
            sqlx::query("SELECT pg_advisory_xact_lock(7310021)")
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM _migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_error)?;
        if done.is_some() {
            continue;
        }
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let now = chrono::Utc::now().timestamp_millis();
        sqlx::query("INSERT INTO _migrations (version, applied_at) VALUES ($1, $2)")
            .bind(version)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}
