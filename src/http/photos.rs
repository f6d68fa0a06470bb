//! Photo reports: a worker (or the agency for its supervisor on site) sends photos of a checked-in assignment;
//! the agency, the worker and the order's client read them.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Caller;
use super::error::{ApiError, ApiResult};
use super::query::Query;
use crate::domain::time::format_instant;
use crate::domain::{AssignmentId, OrderId};
use crate::engine::{MAX_PHOTO_BYTES, PHOTO_TYPES, PhotoUpload, from_ms, parse_photo_id, photo_id};
use crate::store::photos::PhotoRow;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/assignments/{id}/photos",
            post(add)
                .layer(DefaultBodyLimit::max(MAX_PHOTO_BYTES))
                .get(list),
        )
        .route("/v1/photos/{id}", get(image))
        .route("/v1/client/photos/{id}", get(client_image))
}

/// Whether a path is the photo upload's (its body limit is the photo's, not a JSON body's).
pub fn is_upload_path(path: &str) -> bool {
    path.strip_prefix("/v1/assignments/")
        .and_then(|rest| rest.strip_suffix("/photos"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'))
}

/// A photo report (its image at `url`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct PhotoView {
    /// The photo's id (`pho_…`).
    id: String,
    /// The assignment it reports on.
    assignment_id: String,
    /// The order.
    order_id: String,
    /// `image/jpeg`, `image/png` or `image/webp`.
    content_type: String,
    /// Its size in bytes.
    bytes: i64,
    /// What the sender wrote about it.
    caption: String,
    /// When the server received it, UTC.
    taken_at: String,
    /// Where its image is read, with the same bearer token; `null` once erased (retention, or the worker's
    /// data deleted).
    url: Option<String>,
}

/// The view of a photo whose image is read under `base` (`/v1/photos` or `/v1/client/photos`).
pub fn photo_view(p: &PhotoRow, base: &str) -> PhotoView {
    let id = photo_id(p.id);
    PhotoView {
        url: p.deleted_at.is_none().then(|| format!("{base}/{id}")),
        id,
        assignment_id: AssignmentId::new(p.assignment_id as u64).to_string(),
        order_id: OrderId::new(p.order_id as u64).to_string(),
        content_type: p.content_type.clone(),
        bytes: p.bytes,
        caption: p.caption.clone(),
        taken_at: format_instant(from_ms(p.taken_at)),
    }
}

/// Options of a photo upload.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// What the photo shows ("stand set up, Hall 2 east"); at most 500 characters.
    caption: Option<String>,
}

#[utoipa::path(post, path = "/v1/assignments/{id}/photos", tag = "attendance",
    params(("id" = String, Path), UploadParams),
    request_body(description = "The image itself (at most CREWCALL_PHOTO_MAX_BYTES, 5 MiB by default)",
        content((Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"))),
    responses((status = 201, body = PhotoView, description = "Kept; the agency's feed has a `photo_added` event"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "The assignment is not checked in, or holds the most photos allowed"),
              (status = 413, body = super::error::Problem), (status = 415, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "The body is not an image of the declared type")),
    security(("worker" = []), ("agency" = [])))]
async fn add(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
    Query(p): Query<UploadParams>,
    req: Request,
) -> ApiResult<Response> {
    let actor = super::assignments::actor(caller)?;
    let id = super::assignments::assignment_id(&id)?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !PHOTO_TYPES.contains(&content_type.as_str()) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let max = state.engine.photo_config().max_bytes;
    let deadline = req.extensions().get::<super::BodyDeadline>().copied();
    let data = super::json::read_body(req.into_body(), max, deadline).await?;
    let row = state
        .engine
        .add_photo(
            actor,
            id,
            PhotoUpload {
                content_type: &content_type,
                caption: p.caption.as_deref().unwrap_or(""),
                data: &data,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(photo_view(&row, "/v1/photos")),
    )
        .into_response())
}

/// The photos of an assignment.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PhotoList {
    items: Vec<PhotoView>,
}

#[utoipa::path(get, path = "/v1/assignments/{id}/photos", tag = "attendance", params(("id" = String, Path)),
    responses((status = 200, body = PhotoList, description = "Oldest first"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem)),
    security(("worker" = []), ("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<PhotoList>> {
    let actor = super::assignments::actor(caller)?;
    let id = super::assignments::assignment_id(&id)?;
    let rows = state.engine.assignment_photos(actor, id).await?;
    Ok(axum::Json(PhotoList {
        items: rows.iter().map(|p| photo_view(p, "/v1/photos")).collect(),
    }))
}

#[utoipa::path(get, path = "/v1/photos/{id}", tag = "attendance", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>, description = "The image (its media type as sent: image/jpeg, image/png or image/webp)"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No such photo of the caller's, or its image was erased")),
    security(("agency" = []), ("worker" = []), ("client" = [])))]
async fn image(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (row, bytes) = state.engine.photo(caller, parse_photo_id(&id)?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, row.content_type),
            (header::CACHE_CONTROL, "private, max-age=3600".to_string()),
            (header::ETAG, format!("\"{}\"", row.sha256)),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/client/photos/{id}", tag = "clients", params(("id" = String, Path)),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>, description = "The image of a photo report of the link's client's orders (its media type as sent)"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No such photo of the client's orders, or its image was erased")),
    security(("client" = [])))]
async fn client_image(
    state: State<AppState>,
    caller: Caller,
    id: Path<String>,
) -> ApiResult<Response> {
    image(state, caller, id).await
}
