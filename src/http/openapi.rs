//! The OpenAPI 3 document, generated from the handlers and shapes in this module tree.

use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        for name in ["admin", "agency", "worker"] {
            c.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "crewcall", description = "Talent-matching and dispatch engine for staffing shifts."),
    paths(
        super::ops::healthz, super::ops::readyz, super::ops::metrics, super::ops::create_agency,
        super::ops::get_clock, super::ops::set_clock,
        super::workers::upsert, super::workers::read, super::workers::patch, super::workers::delete,
        super::workers::search, super::workers::import,
        super::orders::create, super::orders::read, super::orders::patch, super::orders::cancel,
        super::orders::list, super::orders::candidates,
        super::me::me, super::me::offers, super::me::assignments, super::me::accept, super::me::decline,
        super::me::availability, super::me::on_call,
        super::assignments::cancel, super::assignments::check_in, super::assignments::check_out,
        super::assignments::no_show, super::assignments::rating, super::assignments::reviews,
    ),
    modifiers(&Security)
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/openapi.json",
        get(|| async { axum::Json(ApiDoc::openapi()) }),
    )
}
