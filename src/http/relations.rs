//! A client's favourites and blocks, managed by the agency: `/v1/clients/{client_ref}/favourites` and
//! `/v1/clients/{client_ref}/blocks` — list, add, remove.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::auth::Agency;
use super::error::ApiResult;
use super::json::Body;
use super::workers::worker_id;
use crate::engine::ClientList;

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/clients/{client_ref}/favourites",
            get(list_favourites).post(add_favourite),
        )
        .route(
            "/v1/clients/{client_ref}/favourites/{worker_id}",
            delete(remove_favourite),
        )
        .route(
            "/v1/clients/{client_ref}/blocks",
            get(list_blocks).post(add_block),
        )
        .route(
            "/v1/clients/{client_ref}/blocks/{worker_id}",
            delete(remove_block),
        )
}

/// A worker on a client's list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListedWorker {
    /// The worker.
    worker_id: String,
    /// The worker's name.
    name: String,
}

/// A client's list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientListView {
    /// The client.
    client_ref: String,
    /// `favourites` or `blocks`.
    list: &'static str,
    /// The workers on it, by id.
    items: Vec<ListedWorker>,
}

/// A worker to put on a list.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEntry {
    /// The worker (`wrk_…`), one of the agency's.
    worker_id: String,
}

/// The answer to an addition.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListEntryView {
    /// The client.
    client_ref: String,
    /// `favourites` or `blocks`.
    list: &'static str,
    /// The worker.
    worker_id: String,
}

async fn listed(
    state: &AppState,
    agency: crate::domain::AgencyId,
    client_ref: String,
    list: ClientList,
) -> ApiResult<axum::Json<ClientListView>> {
    let ids = state.engine.client_list(agency, &client_ref, list).await?;
    let items = ids
        .into_iter()
        .map(|id| ListedWorker {
            worker_id: id.to_string(),
            name: state
                .engine
                .indexed_worker(id)
                .map(|w| w.name.clone())
                .unwrap_or_default(),
        })
        .collect();
    Ok(axum::Json(ClientListView {
        client_ref,
        list: list.as_str(),
        items,
    }))
}

async fn added(
    state: &AppState,
    agency: crate::domain::AgencyId,
    client_ref: String,
    list: ClientList,
    body: ListEntry,
) -> ApiResult<impl IntoResponse + use<>> {
    let w = worker_id(&body.worker_id)?;
    let changed = state
        .engine
        .set_client_list(agency, &client_ref, list, w, true)
        .await?;
    let status = if changed {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        axum::Json(ListEntryView {
            client_ref,
            list: list.as_str(),
            worker_id: w.to_string(),
        }),
    ))
}

async fn removed(
    state: &AppState,
    agency: crate::domain::AgencyId,
    client_ref: String,
    list: ClientList,
    worker: String,
) -> ApiResult<StatusCode> {
    let w = worker_id(&worker)?;
    state
        .engine
        .set_client_list(agency, &client_ref, list, w, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/clients/{client_ref}/favourites", tag = "clients", params(("client_ref" = String, Path)),
    responses((status = 200, body = ClientListView, description = "The client's favourites: ranked first for its orders"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem, description = "An empty client_ref")),
    security(("agency" = [])))]
async fn list_favourites(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(client_ref): Path<String>,
) -> ApiResult<axum::Json<ClientListView>> {
    listed(&state, agency, client_ref, ClientList::Favourites).await
}

#[utoipa::path(post, path = "/v1/clients/{client_ref}/favourites", tag = "clients", params(("client_ref" = String, Path)),
    request_body = ListEntry,
    responses((status = 201, body = ListEntryView, description = "Added (and taken off the client's blocks)"),
              (status = 200, body = ListEntryView, description = "Already there"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No such worker of the agency"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn add_favourite(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(client_ref): Path<String>,
    Body(body): Body<ListEntry>,
) -> ApiResult<impl IntoResponse> {
    added(&state, agency, client_ref, ClientList::Favourites, body).await
}

#[utoipa::path(delete, path = "/v1/clients/{client_ref}/favourites/{worker_id}", tag = "clients",
    params(("client_ref" = String, Path), ("worker_id" = String, Path)),
    responses((status = 204, description = "Taken off"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "Not on the list"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn remove_favourite(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path((client_ref, worker)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    removed(&state, agency, client_ref, ClientList::Favourites, worker).await
}

#[utoipa::path(get, path = "/v1/clients/{client_ref}/blocks", tag = "clients", params(("client_ref" = String, Path)),
    responses((status = 200, body = ClientListView, description = "The client's blocked workers: never candidates for its orders"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem, description = "An empty client_ref")),
    security(("agency" = [])))]
async fn list_blocks(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(client_ref): Path<String>,
) -> ApiResult<axum::Json<ClientListView>> {
    listed(&state, agency, client_ref, ClientList::Blocks).await
}

#[utoipa::path(post, path = "/v1/clients/{client_ref}/blocks", tag = "clients", params(("client_ref" = String, Path)),
    request_body = ListEntry,
    responses((status = 201, body = ListEntryView, description = "Blocked (and taken off the client's favourites)"),
              (status = 200, body = ListEntryView, description = "Already blocked"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "No such worker of the agency"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn add_block(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(client_ref): Path<String>,
    Body(body): Body<ListEntry>,
) -> ApiResult<impl IntoResponse> {
    added(&state, agency, client_ref, ClientList::Blocks, body).await
}

#[utoipa::path(delete, path = "/v1/clients/{client_ref}/blocks/{worker_id}", tag = "clients",
    params(("client_ref" = String, Path), ("worker_id" = String, Path)),
    responses((status = 204, description = "The block is lifted"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem, description = "Not blocked"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn remove_block(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path((client_ref, worker)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    removed(&state, agency, client_ref, ClientList::Blocks, worker).await
}
