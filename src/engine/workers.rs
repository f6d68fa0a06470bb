//! Worker commands: upsert (create or update by `external_ref`), patch, delete with anonymisation, import,
//! search. The database row is written with its event first; the index sees the change after the commit.

use serde_json::{Value, json};

use super::{Engine, ms, tokens};
use crate::domain::{AgencyId, Worker, WorkerId, WorkerStatus};
use crate::error::{Error, FieldError};
use crate::index::SearchQuery;
use crate::store;
use crate::wire::worker::{WorkerBody, parse_worker, worker_event};

/// What an upsert did.
pub struct Upserted {
    /// The worker as stored.
    pub worker: Worker,
    /// The app token, on creation only (shown once; only its hash is kept).
    pub app_token: Option<String>,
    /// The row's version after the write.
    pub version: u64,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Workers created.
    pub created: usize,
    /// Workers updated.
    pub updated: usize,
    /// Lines refused, with their 1-based line number.
    pub errors: Vec<(usize, String)>,
    /// The workers written, in line order.
    pub workers: Vec<ImportedWorker>,
}

/// One worker an import wrote.
#[derive(Debug)]
pub struct ImportedWorker {
    /// Its 1-based line.
    pub line: usize,
    /// The worker.
    pub id: WorkerId,
    /// The agency's key for it.
    pub external_ref: String,
    /// The app token of a worker the import created (shown once; only its hash is kept).
    pub app_token: Option<String>,
}

/// Rows an import writes between two yields to the scheduler.
const IMPORT_YIELD: usize = 256;

/// Rebuilds a worker from its row.
pub(super) fn from_row(r: &store::workers::WorkerRow) -> crate::Result<Worker> {
    let body: WorkerBody = serde_json::from_str(&r.profile)
        .map_err(|e| Error::Internal(format!("stored profile of {}: {e}", r.id)))?;
    let mut w = parse_worker(&body, r.id, r.agency)
        .map_err(|e| Error::Internal(format!("stored profile of {}: {e:?}", r.id)))?;
    w.status = r.status;
    w.stats = r.stats;
    Ok(w)
}

/// The stored form of a profile: the wire shape without the carried-over record (that lives in columns).
fn profile_json(w: &Worker) -> String {
    let mut body = WorkerBody::from_worker(w);
    body.history = None;
    serde_json::to_string(&body).expect("a profile serialises")
}

impl Engine {
    /// Creates or updates a worker by `external_ref`.
    #[tracing::instrument(skip(self, body), fields(external_ref = %body.external_ref))]
    pub async fn upsert_worker(
        &self,
        agency: AgencyId,
        body: WorkerBody,
    ) -> crate::Result<Upserted> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let out = self.upsert_in(&mut tx, agency, &body, now).await?;
        self.committed(tx).await?;
        Ok(out)
    }

    async fn upsert_in(
        &self,
        tx: &mut store::Tx,
        agency: AgencyId,
        body: &WorkerBody,
        now: i64,
    ) -> crate::Result<Upserted> {
        let existing = store::workers::id_by_ref(tx, agency, body.external_ref.trim()).await?;
        match existing {
            Some(id) => {
                let old = store::workers::get_tx(tx, agency, id)
                    .await?
                    .ok_or_else(|| Error::NotFound("worker".into()))?;
                // `history` seeds the record of a new worker only; a re-import of the same file keeps the
                // record crewcall has kept since.
                let mut w = parse_worker(body, id, agency).map_err(Error::Invalid)?;
                w.status = old.status;
                w.stats = old.stats;
                store::workers::update_profile(
                    tx,
                    id,
                    &w.external_ref,
                    &profile_json(&w),
                    w.status,
                    now,
                )
                .await?;
                store::events::append(
                    tx,
                    now,
                    Some(agency.get()),
                    "worker_updated",
                    &worker_event(&w),
                )
                .await?;
                Ok(Upserted {
                    worker: w,
                    app_token: None,
                    version: old.version + 1,
                })
            }
            None => {
                let mut w = parse_worker(body, WorkerId::new(0), agency).map_err(Error::Invalid)?;
                let token = tokens::generate("cc_worker_");
                let id = store::workers::insert(
                    tx,
                    agency,
                    &w.external_ref,
                    &profile_json(&w),
                    &w.stats,
                    &tokens::hash(&token),
                    now,
                )
                .await?;
                w.id = id;
                store::events::append(
                    tx,
                    now,
                    Some(agency.get()),
                    "worker_created",
                    &worker_event(&w),
                )
                .await?;
                Ok(Upserted {
                    worker: w,
                    app_token: Some(token),
                    version: 1,
                })
            }
        }
    }

    /// A worker of the agency (404 for another agency's).
    pub async fn worker(&self, agency: AgencyId, id: WorkerId) -> crate::Result<Worker> {
        Ok(self.worker_versioned(agency, id).await?.0)
    }

    /// A worker of the agency with its row's version.
    pub async fn worker_versioned(
        &self,
        agency: AgencyId,
        id: WorkerId,
    ) -> crate::Result<(Worker, u64)> {
        let r = store::workers::get(self.store.pool(), agency, id)
            .await?
            .ok_or_else(|| Error::NotFound("worker".into()))?;
        Ok((from_row(&r)?, r.version))
    }

    /// Changes some fields of a profile (any field of the upsert body, and `status`); with `if_match`, only if
    /// the row is still at that version. Answers the worker and its new version.
    #[tracing::instrument(skip(self, patch))]
    pub async fn patch_worker(
        &self,
        agency: AgencyId,
        id: WorkerId,
        patch: serde_json::Map<String, Value>,
        if_match: Option<u64>,
    ) -> crate::Result<(Worker, u64)> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        if self.store.backend() == store::Backend::Postgres {
            // Two patches of one worker on two nodes: the second reads the first's version.
            sqlx::query("SELECT id FROM workers WHERE id = $1 FOR UPDATE")
                .bind(id.get() as i64)
                .execute(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
        }
        let row = store::workers::get_tx(&mut tx, agency, id)
            .await?
            .ok_or_else(|| Error::NotFound("worker".into()))?;
        if let Some(v) = if_match
            && v != row.version
        {
            return Err(Error::Stale(format!(
                "the worker is at version {}, not {v}; read it again",
                row.version
            )));
        }
        let old = from_row(&row)?;
        let mut status = old.status;
        let mut merged = serde_json::to_value(WorkerBody::from_worker(&old)).expect("serialises");
        let obj = merged.as_object_mut().expect("an object");
        obj.remove("history");
        for (k, v) in patch {
            match k.as_str() {
                "status" => {
                    status = v
                        .as_str()
                        .ok_or_else(|| FieldError::new("status", "must be active or suspended"))
                        .and_then(WorkerStatus::parse)
                        .map_err(|e| Error::Invalid(vec![e]))?;
                }
                "history" => {
                    return Err(Error::Invalid(vec![FieldError::new(
                        "history",
                        "is read only when a worker is created",
                    )]));
                }
                _ => {
                    obj.insert(k, v);
                }
            }
        }
        let body: WorkerBody = serde_path_to_error::deserialize(merged).map_err(|e| {
            let path = e.path().to_string();
            Error::Invalid(vec![FieldError::new(path, e.into_inner().to_string())])
        })?;
        let mut w = parse_worker(&body, id, agency).map_err(Error::Invalid)?;
        if w.external_ref != old.external_ref
            && store::workers::id_by_ref(&mut tx, agency, &w.external_ref)
                .await?
                .is_some()
        {
            return Err(Error::Conflict(
                "another worker of the agency has this external_ref".into(),
            ));
        }
        w.status = status;
        w.stats = old.stats;
        if status == WorkerStatus::Suspended && old.status != WorkerStatus::Suspended {
            // Orders' rows are locked before the worker's, as every command on an order does (no deadlock).
            self.release_worker(&mut tx, id, "worker_suspended", self.now())
                .await?;
        }
        store::workers::update_profile(
            &mut tx,
            id,
            &w.external_ref,
            &profile_json(&w),
            status,
            now,
        )
        .await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "worker_updated",
            &worker_event(&w),
        )
        .await?;
        self.committed(tx).await?;
        Ok((w, row.version + 1))
    }

    /// Removes a worker's personal data; history stays, anonymised. The worker's app token stops working.
    #[tracing::instrument(skip(self))]
    pub async fn delete_worker(&self, agency: AgencyId, id: WorkerId) -> crate::Result<()> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        if store::workers::get_tx(&mut tx, agency, id).await?.is_none() {
            return Err(Error::NotFound("worker".into()));
        }
        // Orders' rows are locked before the worker's, as every command on an order does (no deadlock).
        self.release_worker(&mut tx, id, "worker_deleted", self.now())
            .await?;
        store::workers::anonymise(&mut tx, id, now).await?;
        // Photos show the worker: their images go with the rest of the personal data.
        let files = store::photos::erase_of_worker(&mut tx, id.get() as i64, now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "worker_deleted",
            &json!({"worker": id.to_string()}),
        )
        .await?;
        self.committed(tx).await?;
        store::photos::remove_files(&self.photos.storage, &files);
        Ok(())
    }

    /// Imports NDJSON, one worker a line, upserting by `external_ref`. Bad lines are reported and skipped; the
    /// good lines are written in one transaction, so an import that fails (or runs out of time, or loses its
    /// client) changes nothing. Lines are checked before the transaction begins, so the writer is held only
    /// for the writes.
    #[tracing::instrument(skip(self, text))]
    pub async fn import_workers(&self, agency: AgencyId, text: &str) -> crate::Result<Imported> {
        let mut out = Imported::default();
        let mut good: Vec<(usize, WorkerBody)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let checked = crate::wire::worker::parse_line(line).and_then(|b| {
                parse_worker(&b, WorkerId::new(0), agency)
                    .map(|_| b)
                    .map_err(|es| {
                        es.iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    })
            });
            match checked {
                Ok(b) => good.push((i + 1, b)),
                Err(e) => out.errors.push((i + 1, e)),
            }
        }
        if good.is_empty() {
            return Ok(out);
        }
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let (mut created, mut updated) = (0, 0);
        for (n, (line, body)) in good.into_iter().enumerate() {
            match self.upsert_in(&mut tx, agency, &body, now).await {
                Ok(u) => {
                    if u.app_token.is_some() {
                        created += 1;
                    } else {
                        updated += 1;
                    }
                    out.workers.push(ImportedWorker {
                        line,
                        id: u.worker.id,
                        external_ref: u.worker.external_ref,
                        app_token: u.app_token,
                    });
                }
                Err(Error::Invalid(es)) => out.errors.push((
                    line,
                    es.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
                Err(e) => return Err(e),
            }
            if n % IMPORT_YIELD == IMPORT_YIELD - 1 {
                // A long import shares its thread with the other requests of the node.
                tokio::task::yield_now().await;
            }
        }
        self.committed(tx).await?;
        out.created = created;
        out.updated = updated;
        out.errors.sort_by_key(|e| e.0);
        Ok(out)
    }

    /// Workers of the agency by id, in the order given; ids that are gone are skipped.
    pub async fn workers_by_ids(
        &self,
        agency: AgencyId,
        ids: &[WorkerId],
    ) -> crate::Result<Vec<(Worker, u64)>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(r) = store::workers::get(self.store.pool(), agency, *id).await? {
                out.push((from_row(&r)?, r.version));
            }
        }
        Ok(out)
    }

    /// Searches the agency's workers by text, skill and distance; ids in order, a page after `after`.
    pub fn search_workers(&self, q: &SearchQuery) -> Vec<WorkerId> {
        self.index.search(q)
    }
}
