//! Photo reports from the venue: a worker (or the agency's supervisor on site) attaches photos to an assignment
//! while it is checked in; the agency's console and the client view show them. Each photo is an event in the
//! log (`photo_added`); its image is kept by the store (on disk beside the SQLite file by default) for the
//! retention period and erased with the worker's other personal data when the worker is deleted.

use serde_json::json;

use super::{Actor, Engine, Principal, ms};
use crate::domain::AssignmentId;
use crate::error::{Error, FieldError};
use crate::store::photos::{NewPhoto, PhotoRow, PhotoStorage};
use crate::store::{self};

/// What the operator decides about photos.
#[derive(Debug, Clone)]
pub struct PhotoConfig {
    /// Where images are kept.
    pub storage: PhotoStorage,
    /// The largest image accepted, in bytes.
    pub max_bytes: usize,
    /// How long an image is kept after it was taken; then it is erased (its row stays).
    pub retention: chrono::Duration,
    /// The most photos one assignment may have.
    pub per_assignment: i64,
}

/// The largest image the server can be configured to accept (the HTTP body limit of the photo route).
pub const MAX_PHOTO_BYTES: usize = 8 * 1024 * 1024;

impl Default for PhotoConfig {
    fn default() -> Self {
        PhotoConfig {
            storage: PhotoStorage::Database,
            max_bytes: 5 * 1024 * 1024,
            retention: chrono::Duration::days(90),
            per_assignment: 20,
        }
    }
}

/// The media types a photo may have.
pub const PHOTO_TYPES: [&str; 3] = ["image/jpeg", "image/png", "image/webp"];

/// The image type its bytes say, by the bytes its files begin with.
fn sniff(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if data.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// A photo to attach.
pub struct PhotoUpload<'a> {
    /// The media type the sender declared (one of [`PHOTO_TYPES`], as the HTTP layer checked it).
    pub content_type: &'a str,
    /// What the sender says about it (at most 500 characters).
    pub caption: &'a str,
    /// The image.
    pub data: &'a [u8],
}

impl Engine {
    /// The photo settings.
    pub fn photo_config(&self) -> &PhotoConfig {
        &self.photos
    }

    /// Attaches a photo to an assignment that is checked in: its worker sends it from the venue, or the agency
    /// does for its supervisor on site.
    #[tracing::instrument(skip(self, upload), fields(bytes = upload.data.len()))]
    pub async fn add_photo(
        &self,
        actor: Actor,
        id: AssignmentId,
        upload: PhotoUpload<'_>,
    ) -> crate::Result<PhotoRow> {
        // The HTTP layer has refused other media types and oversized bodies with their own statuses.
        let declared = upload.content_type;
        if upload.data.len() > self.photos.max_bytes {
            return Err(vec![FieldError::new(
                "body",
                format!("a photo is at most {} bytes", self.photos.max_bytes),
            )]
            .into());
        }
        if sniff(upload.data) != Some(declared) {
            return Err(vec![FieldError::new(
                "body",
                format!("the body is not an image of type {declared}"),
            )]
            .into());
        }
        let caption = upload.caption.trim();
        if caption.chars().count() > 500 || caption.contains('\0') {
            return Err(vec![FieldError::new("caption", "at most 500 characters, no NUL")].into());
        }
        let during_shift = |status: &str| {
            if status == "checked_in" {
                Ok(())
            } else {
                Err(Error::Conflict(format!(
                    "photos are sent during the shift, after check-in; the assignment is {status}"
                )))
            }
        };
        // Checked before the image is written, and again in the transaction that records it.
        let a = super::offers::actor_assignment(self.store.pool(), actor, id).await?;
        during_shift(&a.status)?;
        // The image is written before the writer's turn; the transaction only names it.
        let mut staged = store::photos::stage(&self.photos.storage, upload.data)?;
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let current = store::orders::assignment(tx.conn().await?, a.id)
            .await?
            .ok_or_else(|| Error::NotFound("assignment".into()))?;
        during_shift(&current.status)?;
        if store::photos::count_of_assignment(&mut tx, a.id).await? >= self.photos.per_assignment {
            return Err(Error::Conflict(format!(
                "an assignment holds at most {} photos",
                self.photos.per_assignment
            )));
        }
        let photo = NewPhoto {
            agency_id: a.agency_id,
            order_id: a.order_id,
            assignment_id: a.id,
            worker_id: a.worker_id,
            content_type: declared,
            caption,
            taken_at: now,
            data: upload.data,
        };
        let pid = store::photos::insert(&mut tx, &self.photos.storage, &mut staged, &photo).await?;
        store::events::append(
            &mut tx,
            now,
            Some(a.agency_id as u64),
            "photo_added",
            &json!({
                "photo": photo_id(pid), "assignment": AssignmentId::new(a.id as u64).to_string(),
                "order": crate::domain::OrderId::new(a.order_id as u64).to_string(),
                "worker": crate::domain::WorkerId::new(a.worker_id as u64).to_string(),
                "content_type": declared, "bytes": upload.data.len(), "caption": caption,
            }),
        )
        .await?;
        self.committed(tx).await?;
        store::photos::get(self.store.pool(), pid)
            .await?
            .ok_or_else(|| Error::Internal("a photo just recorded is missing".into()))
    }

    /// The photos of an assignment the caller may see, oldest first.
    pub async fn assignment_photos(
        &self,
        actor: Actor,
        id: AssignmentId,
    ) -> crate::Result<Vec<PhotoRow>> {
        super::offers::actor_assignment(self.store.pool(), actor, id).await?;
        store::photos::of_assignment(self.store.pool(), id.get() as i64).await
    }

    /// A photo and its image, if the caller may see it: the agency, the worker it was taken for, or a client
    /// link of the order's client. An erased image is a 404 (`gone` says so).
    pub async fn photo(&self, caller: Principal, id: i64) -> crate::Result<(PhotoRow, Vec<u8>)> {
        let missing = || Error::NotFound("photo".into());
        let row = store::photos::get(self.store.pool(), id)
            .await?
            .ok_or_else(missing)?;
        let allowed = match caller {
            Principal::Agency(a) => row.agency_id == a.get() as i64,
            Principal::Worker { worker, .. } => row.worker_id == worker.get() as i64,
            Principal::Client { agency, link, .. } => {
                row.agency_id == agency.get() as i64 && {
                    let client = self.client_ref_of(agency, link).await?;
                    let order = self.order_of(row.order_id).await?;
                    !client.is_empty() && order.client_ref == client
                }
            }
            Principal::Admin => false,
        };
        if !allowed {
            return Err(missing());
        }
        let image = store::photos::image(self.store.pool(), &self.photos.storage, &row)
            .await?
            .ok_or_else(|| {
                Error::NotFound(
                    "photo image (erased after the retention period, or with the worker's data)"
                        .into(),
                )
            })?;
        Ok((row, image))
    }

    /// Erases the images of photos older than the retention period (their rows stay, marked erased). Runs with
    /// the timers; any node may run it, erasing twice is harmless.
    pub(super) async fn expire_photos(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> crate::Result<()> {
        let cutoff = ms(now - self.photos.retention);
        if !store::photos::any_older_than(self.store.pool(), cutoff).await? {
            return Ok(());
        }
        let mut tx = self.store.begin().await?;
        let files = store::photos::erase_older_than(&mut tx, cutoff, ms(now)).await?;
        store::events::append(
            &mut tx,
            ms(now),
            None,
            "photos_expired",
            &json!({"before": cutoff}),
        )
        .await?;
        self.committed(tx).await?;
        store::photos::remove_files(&self.photos.storage, &files);
        Ok(())
    }
}

/// A photo's public id.
pub fn photo_id(id: i64) -> String {
    format!("pho_{id:x}")
}

/// The row id of a public photo id.
pub fn parse_photo_id(raw: &str) -> crate::Result<i64> {
    raw.strip_prefix("pho_")
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::NotFound("photo".into()))
}
