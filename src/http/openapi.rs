//! The OpenAPI 3 document, generated from the handlers and shapes in this module tree.

use axum::Router;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;
use super::error::PROBLEM_JSON;

struct Security;

impl Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let c = api.components.get_or_insert_with(Default::default);
        for name in ["admin", "agency", "worker", "client"] {
            c.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// Error answers are RFC 9457 problem documents, and some can come from any operation: a malformed body or
/// query (400), a missing token (401), a body too slow (408), too large (413) or not JSON (415), invalid input
/// (422), a rate limit (429), an overloaded or timed-out request (503). This fills them in everywhere so the document is true to the server.
struct Problems;

impl Modify for Problems {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        };
        for item in api.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                let has_body = op.request_body.is_some();
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let mut extra = vec![
                    ("400", "Malformed request"),
                    ("422", "Invalid input"),
                    (
                        "429",
                        "Rate limited; retry after the Retry-After header's seconds",
                    ),
                    (
                        "503",
                        "Busy or timed out, nothing changed; retry after Retry-After",
                    ),
                ];
                if secured {
                    extra.push(("401", "No or unknown bearer token"));
                    extra.push(("403", "A token of another kind than the endpoint is for"));
                }
                if has_body {
                    extra.push(("408", "The body did not arrive in time"));
                    extra.push(("413", "Body too large"));
                    extra.push(("415", "Body is not JSON"));
                }
                for (code, description) in extra {
                    op.responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(description)
                                .content(PROBLEM_JSON, problem())
                                .build()
                                .into()
                        });
                }
                for (code, r) in op.responses.responses.iter_mut() {
                    if code.as_str() >= "400"
                        && let utoipa::openapi::RefOr::T(r) = r
                        && let Some(c) = r.content.shift_remove("application/json")
                    {
                        r.content.insert(PROBLEM_JSON.to_string(), c);
                    }
                }
            }
        }
    }
}

/// The bulk import's body is NDJSON text of any shape: a line that is not a worker is reported in the answer's
/// `errors`, not refused with the request, so no body is "invalid" as a whole. Its schema says so (any value).
struct NdjsonBody;

impl Modify for NdjsonBody {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType};
        if let Some(body) = api
            .paths
            .paths
            .get_mut("/v1/workers/import")
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
        {
            for content in body.content.values_mut() {
                content.schema = Some(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::AnyValue)
                        .description(Some(
                            "NDJSON: one POST /v1/workers body a line; bad lines are reported, good ones kept",
                        ))
                        .into(),
                );
            }
        }
    }
}

/// The API document.
#[derive(OpenApi)]
#[openapi(
    info(title = "crewcall", description = "Talent-matching and dispatch engine for staffing shifts."),
    paths(
        super::ops::healthz, super::ops::readyz, super::ops::metrics, super::ops::create_agency,
        super::ops::get_clock, super::ops::set_clock, super::ops::views,
        super::workers::upsert, super::workers::read, super::workers::patch, super::workers::delete,
        super::workers::search, super::workers::import,
        super::orders::create, super::orders::read, super::orders::patch, super::orders::cancel,
        super::orders::list, super::orders::candidates,
        super::me::me, super::me::offers, super::me::assignments, super::me::accept, super::me::decline,
        super::me::availability, super::me::on_call, super::me::on_call_list, super::me::leave_on_call,
        super::me::reconfirm, super::me::on_my_way, super::me::location,
        super::assignments::cancel, super::assignments::check_in, super::assignments::check_out,
        super::assignments::no_show, super::assignments::rating, super::assignments::reviews,
        super::assignments::resolve_review,
        super::desk::app_token, super::desk::order_offers, super::desk::offer_by_hand, super::desk::assignments, super::desk::events,
        super::desk::my_events, super::desk::list_keys, super::desk::create_key, super::desk::revoke_key,
        super::clients::create_link, super::clients::list_links, super::clients::revoke_link,
        super::clients::client_orders, super::clients::client_order,
        super::photos::add, super::photos::list, super::photos::image, super::photos::client_image,
        super::relations::list_favourites, super::relations::add_favourite, super::relations::remove_favourite,
        super::relations::list_blocks, super::relations::add_block, super::relations::remove_block,
        super::webhooks::create, super::webhooks::list, super::webhooks::read, super::webhooks::patch,
        super::webhooks::delete, super::webhooks::rotate_secret, super::webhooks::deliveries,
        super::stream::stream,
        super::pools::list, super::pools::create, super::pools::read, super::pools::replace, super::pools::delete,
        super::series::list, super::series::read, super::series::patch, super::series::cancel,
        super::series::offer, super::series::accept,
        super::pay::settings, super::pay::patch_settings, super::pay::list, super::pay::read, super::pay::approve,
        super::pay::correct, super::pay::resolve, super::pay::my_list, super::pay::dispute, super::pay::earnings,
        super::pay::settlement_by_query, super::pay::settlement, super::pay::close, super::pay::paid,
        super::pay::invoices, super::pay::invoice,
        super::sla::read_tiers, super::sla::set_tiers, super::sla::list_clients, super::sla::read_client,
        super::sla::set_client, super::sla::report,
        super::forecast::forecast,
        super::standby_pools::list, super::standby_pools::read,
        super::invites::invite, super::invites::list, super::invites::mine, super::invites::accept,
        super::invites::decline,
    ),
    components(schemas(super::error::Problem, super::error::ProblemField)),
    modifiers(&Security, &Problems, &NdjsonBody)
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/v1/openapi.json",
        get(|| async { axum::Json(ApiDoc::openapi()) }),
    )
}
