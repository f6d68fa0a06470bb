//! Small key–value settings (the admin token's hash, the manual clock's last reading).

use super::db_error;
use sqlx::AnyPool;

/// Reads a setting.
pub async fn get(pool: &AnyPool, key: &str) -> crate::Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db_error)?;
    Ok(row.map(|r| r.0))
}

/// Writes a setting, replacing any earlier value.
pub async fn put(
    e: impl sqlx::Executor<'_, Database = sqlx::Any>,
    key: &str,
    value: &str,
) -> crate::Result<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(e)
        .await
        .map_err(db_error)?;
    Ok(())
}
