//! Talent pools: an agency's named lists of workers ("bilingual + forklift", a client's fixed crew). A role may
//! restrict its candidates to a pool or prefer it (see `matching`). Each change is a `pool_set` or
//! `pool_deleted` event, which the live state applies like every other view.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Engine, ms};
use crate::domain::{AgencyId, PoolId, WorkerId};
use crate::error::{Error, FieldError};
use crate::store::{self, Tx};

/// The most pools an agency may keep.
pub const MAX_POOLS: i64 = 100;

/// The most workers a pool may hold.
pub const MAX_POOL_WORKERS: usize = 1000;

/// A talent pool as stored.
#[derive(Debug, Clone)]
pub struct Pool {
    /// The pool.
    pub id: PoolId,
    /// What the agency calls it.
    pub name: String,
    /// Its workers, by id.
    pub workers: Vec<WorkerId>,
    /// Made, unix ms.
    pub created_at: i64,
    /// Last changed, unix ms.
    pub updated_at: i64,
}

type Row = (i64, String, String, i64, i64);

fn pool_of(r: Row) -> crate::Result<Pool> {
    let ids: Vec<u64> = serde_json::from_str(&r.2)
        .map_err(|e| Error::Internal(format!("pool {} workers: {e}", r.0)))?;
    Ok(Pool {
        id: PoolId::new(r.0 as u64),
        name: r.1,
        workers: ids.into_iter().map(WorkerId::new).collect(),
        created_at: r.3,
        updated_at: r.4,
    })
}

/// Checks a pool's name and workers (each must be a live worker of the agency); the workers, sorted.
async fn check(
    tx: &mut Tx,
    agency: AgencyId,
    name: &str,
    workers: &[String],
) -> crate::Result<(String, Vec<WorkerId>)> {
    let mut errors = Vec::new();
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new("name", "must be 1 to 100 characters"));
    }
    if workers.len() > MAX_POOL_WORKERS {
        errors.push(FieldError::new(
            "workers",
            format!("at most {MAX_POOL_WORKERS} workers"),
        ));
        return Err(errors.into());
    }
    let mut ids = BTreeSet::new();
    for (i, raw) in workers.iter().enumerate() {
        let Ok(w) = raw.parse::<WorkerId>() else {
            errors.push(FieldError::new(
                format!("workers[{i}]"),
                "must be a worker id (wrk_…)",
            ));
            continue;
        };
        if store::workers::get_tx(tx, agency, w).await?.is_none() {
            errors.push(FieldError::new(
                format!("workers[{i}]"),
                "no worker of the agency has this id",
            ));
            continue;
        }
        ids.insert(w);
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    Ok((name, ids.into_iter().collect()))
}

fn workers_json(workers: &[WorkerId]) -> String {
    serde_json::to_string(&workers.iter().map(|w| w.get()).collect::<Vec<_>>())
        .expect("ids serialise")
}

impl Engine {
    /// The agency's pools, oldest first.
    pub async fn list_pools(&self, agency: AgencyId) -> crate::Result<Vec<Pool>> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, name, workers, created_at, updated_at FROM pools \
             WHERE agency_id = $1 AND deleted_at IS NULL ORDER BY id",
        )
        .bind(agency.get() as i64)
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)?;
        rows.into_iter().map(pool_of).collect()
    }

    /// One of the agency's pools; another agency's, or a deleted one, is not found.
    pub async fn pool(&self, agency: AgencyId, id: PoolId) -> crate::Result<Pool> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, name, workers, created_at, updated_at FROM pools \
             WHERE id = $1 AND agency_id = $2 AND deleted_at IS NULL",
        )
        .bind(id.get() as i64)
        .bind(agency.get() as i64)
        .fetch_optional(self.store.pool())
        .await
        .map_err(store::db_error)?;
        pool_of(row.ok_or_else(|| Error::NotFound("pool".into()))?)
    }

    /// Makes a pool of the agency's workers.
    #[tracing::instrument(skip(self, workers))]
    pub async fn create_pool(
        &self,
        agency: AgencyId,
        name: &str,
        workers: &[String],
    ) -> crate::Result<Pool> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let (name, workers) = check(&mut tx, agency, name, workers).await?;
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pools WHERE agency_id = $1 AND deleted_at IS NULL",
        )
        .bind(agency.get() as i64)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        if count >= MAX_POOLS {
            return Err(Error::Conflict(format!(
                "an agency keeps at most {MAX_POOLS} pools"
            )));
        }
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO pools (agency_id, name, workers, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $4) RETURNING id",
        )
        .bind(agency.get() as i64)
        .bind(&name)
        .bind(workers_json(&workers))
        .bind(now)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let pool = Pool {
            id: PoolId::new(id as u64),
            name,
            workers,
            created_at: now,
            updated_at: now,
        };
        set_event(&mut tx, agency, &pool, now).await?;
        self.committed(tx).await?;
        Ok(pool)
    }

    /// Replaces a pool's name and workers.
    #[tracing::instrument(skip(self, workers))]
    pub async fn replace_pool(
        &self,
        agency: AgencyId,
        id: PoolId,
        name: &str,
        workers: &[String],
    ) -> crate::Result<Pool> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let (name, workers) = check(&mut tx, agency, name, workers).await?;
        let row: Option<(i64,)> = sqlx::query_as(
            "UPDATE pools SET name = $1, workers = $2, updated_at = $3 \
             WHERE id = $4 AND agency_id = $5 AND deleted_at IS NULL RETURNING created_at",
        )
        .bind(&name)
        .bind(workers_json(&workers))
        .bind(now)
        .bind(id.get() as i64)
        .bind(agency.get() as i64)
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let (created_at,) = row.ok_or_else(|| Error::NotFound("pool".into()))?;
        let pool = Pool {
            id,
            name,
            workers,
            created_at,
            updated_at: now,
        };
        set_event(&mut tx, agency, &pool, now).await?;
        self.committed(tx).await?;
        Ok(pool)
    }

    /// Deletes a pool: roles that name it find nobody in it from now on.
    #[tracing::instrument(skip(self))]
    pub async fn delete_pool(&self, agency: AgencyId, id: PoolId) -> crate::Result<()> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let done = sqlx::query(
            "UPDATE pools SET deleted_at = $1 WHERE id = $2 AND agency_id = $3 AND deleted_at IS NULL",
        )
        .bind(now)
        .bind(id.get() as i64)
        .bind(agency.get() as i64)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound("pool".into()));
        }
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "pool_deleted",
            &json!({"pool": id.to_string()}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(())
    }
}

async fn set_event(tx: &mut Tx, agency: AgencyId, pool: &Pool, now: i64) -> crate::Result<()> {
    store::events::append(
        tx,
        now,
        Some(agency.get()),
        "pool_set",
        &json!({
            "pool": pool.id.to_string(), "name": pool.name,
            "workers": pool.workers.iter().map(|w| w.to_string()).collect::<Vec<_>>(),
        }),
    )
    .await
}
