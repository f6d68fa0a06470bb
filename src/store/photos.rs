//! Photo reports from the venue. Their metadata is a row; the image lives on disk (a directory beside the SQLite
//! file by default, or one the operator names — shared by the nodes if there are several) or, by default on
//! PostgreSQL, in the database itself so that every node can serve every photo.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{Tx, db_error};
use crate::error::Error;

/// Where photo images are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoStorage {
    /// One file a photo in this directory, named by the photo's id.
    Disk(PathBuf),
    /// In the `photos` table's `data` column.
    Database,
}

impl PhotoStorage {
    /// The default for a database URL: a directory beside a SQLite file (`crewcall.db` → `crewcall.photos/`),
    /// the database itself for PostgreSQL or an in-memory SQLite database.
    pub fn default_for(database_url: &str) -> PhotoStorage {
        let Some(rest) = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
        else {
            return PhotoStorage::Database;
        };
        let file = rest.split('?').next().unwrap_or(rest);
        if file.is_empty() || file.contains(":memory:") {
            return PhotoStorage::Database;
        }
        let path = Path::new(file);
        let stem = path
            .file_stem()
            .map_or_else(|| "crewcall".into(), |s| s.to_string_lossy().into_owned());
        PhotoStorage::Disk(path.with_file_name(format!("{stem}.photos")))
    }

    fn name(&self) -> &'static str {
        match self {
            PhotoStorage::Disk(_) => "disk",
            PhotoStorage::Database => "database",
        }
    }
}

/// A photo's row (its image is read separately).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PhotoRow {
    /// The photo's id.
    pub id: i64,
    /// The agency.
    pub agency_id: i64,
    /// The order.
    pub order_id: i64,
    /// The assignment it reports on.
    pub assignment_id: i64,
    /// The worker of the assignment.
    pub worker_id: i64,
    /// `image/jpeg`, `image/png` or `image/webp`.
    pub content_type: String,
    /// Its size.
    pub bytes: i64,
    /// SHA-256 of the image, hex.
    pub sha256: String,
    /// What the sender wrote about it.
    pub caption: String,
    /// When the server received it, unix ms.
    pub taken_at: i64,
    /// `disk` or `database`.
    pub stored: String,
    /// When its image was erased (retention, or the worker deleted), unix ms.
    pub deleted_at: Option<i64>,
}

const COLUMNS: &str = "id, agency_id, order_id, assignment_id, worker_id, content_type, bytes, sha256, caption, \
                       taken_at, stored, deleted_at";

/// What a new photo is.
pub struct NewPhoto<'a> {
    /// The agency.
    pub agency_id: i64,
    /// The order.
    pub order_id: i64,
    /// The assignment.
    pub assignment_id: i64,
    /// The worker.
    pub worker_id: i64,
    /// Its media type.
    pub content_type: &'a str,
    /// Its caption.
    pub caption: &'a str,
    /// When it was received, unix ms.
    pub taken_at: i64,
    /// The image.
    pub data: &'a [u8],
}

/// An image written to disk but not yet named by its photo's id: it becomes the photo's file in the transaction
/// that records the photo, and is removed if that never happens.
pub struct Staged {
    path: Option<PathBuf>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(p) = self.path.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::Internal(format!("photo storage: {what}: {e}"))
}

/// Writes an image durably under a temporary name, before the transaction that records it begins (so that the
/// transaction never waits on a large write).
pub fn stage(storage: &PhotoStorage, data: &[u8]) -> crate::Result<Staged> {
    let PhotoStorage::Disk(dir) = storage else {
        return Ok(Staged { path: None });
    };
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| io_error("creating the directory", e))?;
    let name = format!("{:016x}", rand::random::<u64>());
    let path = tmp.join(name);
    let mut f = std::fs::File::create(&path).map_err(|e| io_error("creating a file", e))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .map_err(|e| io_error("writing", e))?;
    Ok(Staged { path: Some(path) })
}

fn file_of(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id}"))
}

/// Records a photo in `tx`, and with disk storage names its staged file by the new id (durably, before the
/// transaction commits: a committed photo always has its image). Answers the new row's id.
pub async fn insert(
    tx: &mut Tx,
    storage: &PhotoStorage,
    staged: &mut Staged,
    p: &NewPhoto<'_>,
) -> crate::Result<i64> {
    use sha2::Digest as _;
    let sha = hex::encode(sha2::Sha256::digest(p.data));
    let data: Option<&[u8]> = match storage {
        PhotoStorage::Database => Some(p.data),
        PhotoStorage::Disk(_) => None,
    };
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO photos (agency_id, order_id, assignment_id, worker_id, content_type, bytes, sha256, caption, \
         taken_at, stored, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(p.agency_id)
    .bind(p.order_id)
    .bind(p.assignment_id)
    .bind(p.worker_id)
    .bind(p.content_type)
    .bind(p.data.len() as i64)
    .bind(&sha)
    .bind(p.caption)
    .bind(p.taken_at)
    .bind(storage.name())
    .bind(data)
    .fetch_one(tx.conn().await?)
    .await
    .map_err(db_error)?;
    if let (PhotoStorage::Disk(dir), Some(from)) = (storage, staged.path.take()) {
        let to = file_of(dir, id);
        // A transaction that rolled back may have left a file under this id; the new photo replaces it.
        std::fs::rename(&from, &to).map_err(|e| io_error("naming the file", e))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("syncing the directory", e))?;
    }
    Ok(id)
}

/// One photo's row.
pub async fn get(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    id: i64,
) -> crate::Result<Option<PhotoRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM photos WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
    .map_err(db_error)
}

/// The photos of an assignment, oldest first.
pub async fn of_assignment(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    assignment: i64,
) -> crate::Result<Vec<PhotoRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM photos WHERE assignment_id = $1 ORDER BY id"
    )))
    .bind(assignment)
    .fetch_all(conn)
    .await
    .map_err(db_error)
}

/// The photos of an order, oldest first.
pub async fn of_order(
    conn: impl sqlx::Executor<'_, Database = sqlx::Any>,
    order: i64,
) -> crate::Result<Vec<PhotoRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM photos WHERE order_id = $1 ORDER BY id"
    )))
    .bind(order)
    .fetch_all(conn)
    .await
    .map_err(db_error)
}

/// A photo's image (`None` once erased, or if its file is missing).
pub async fn image(
    pool: &sqlx::AnyPool,
    storage: &PhotoStorage,
    row: &PhotoRow,
) -> crate::Result<Option<Vec<u8>>> {
    if row.deleted_at.is_some() {
        return Ok(None);
    }
    match row.stored.as_str() {
        "database" => {
            let r: Option<(Option<Vec<u8>>,)> =
                sqlx::query_as("SELECT data FROM photos WHERE id = $1")
                    .bind(row.id)
                    .fetch_optional(pool)
                    .await
                    .map_err(db_error)?;
            Ok(r.and_then(|r| r.0))
        }
        _ => {
            let PhotoStorage::Disk(dir) = storage else {
                return Err(Error::Unavailable(
                    "this photo is on disk but the server has no photo directory configured".into(),
                ));
            };
            match tokio::fs::read(file_of(dir, row.id)).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error("reading", e)),
            }
        }
    }
}

/// Erases the images of the photos chosen by `condition` (an SQL condition over `photos` with `$1` bound to
/// `arg`), keeping their rows; answers the ids of those on disk, whose files the caller removes after commit.
async fn erase_where(
    tx: &mut Tx,
    condition: &str,
    arg: i64,
    at_ms: i64,
) -> crate::Result<Vec<i64>> {
    let on_disk: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM photos WHERE deleted_at IS NULL AND stored = 'disk' AND {condition}"
    )))
    .bind(arg)
    .fetch_all(tx.conn().await?)
    .await
    .map_err(db_error)?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE photos SET deleted_at = $2, data = NULL WHERE deleted_at IS NULL AND {condition}"
    )))
    .bind(arg)
    .bind(at_ms)
    .execute(tx.conn().await?)
    .await
    .map_err(db_error)?;
    Ok(on_disk.into_iter().map(|r| r.0).collect())
}

/// Erases the images of a worker's photos (the worker's personal data is being removed).
pub async fn erase_of_worker(tx: &mut Tx, worker: i64, at_ms: i64) -> crate::Result<Vec<i64>> {
    erase_where(tx, "worker_id = $1", worker, at_ms).await
}

/// Erases the images of photos taken before `cutoff_ms` (the retention period has passed).
pub async fn erase_older_than(tx: &mut Tx, cutoff_ms: i64, at_ms: i64) -> crate::Result<Vec<i64>> {
    erase_where(tx, "taken_at < $1", cutoff_ms, at_ms).await
}

/// Whether any photo older than `cutoff_ms` still has its image (a cheap check before a retention sweep).
pub async fn any_older_than(pool: &sqlx::AnyPool, cutoff_ms: i64) -> crate::Result<bool> {
    let r: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM photos WHERE deleted_at IS NULL AND taken_at < $1 LIMIT 1")
            .bind(cutoff_ms)
            .fetch_optional(pool)
            .await
            .map_err(db_error)?;
    Ok(r.is_some())
}

/// Removes the files of erased photos (after the transaction that erased them committed). A file already gone
/// is no error: another node may have removed it.
pub fn remove_files(storage: &PhotoStorage, ids: &[i64]) {
    let PhotoStorage::Disk(dir) = storage else {
        return;
    };
    for id in ids {
        if let Err(e) = std::fs::remove_file(file_of(dir, *id))
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(photo = id, error = %e, "a photo's file could not be removed");
        }
    }
}

/// How many photos an assignment has.
pub async fn count_of_assignment(tx: &mut Tx, assignment: i64) -> crate::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM photos WHERE assignment_id = $1")
        .bind(assignment)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(db_error)?;
    Ok(n)
}
