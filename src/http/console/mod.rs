//! The dispatcher's console (`/`) and the client's read-only view (`/client`): static pages and plain scripts
//! embedded in the binary, so the one `crewcall serve` serves them with no build step and nothing fetched from
//! the network. Everything they show comes from the public API, called from the browser with the caller's own
//! token; these routes hold no data and no business rules.

use axum::Router;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// A file served as it is.
struct Asset {
    /// Where it is served.
    path: &'static str,
    /// Its media type.
    content_type: &'static str,
    /// Its bytes.
    body: &'static str,
}

/// Every page and asset. The sample order is the bundled one, which the console offers as a starting point
/// for posting an order.
const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../assets/console/console.html"),
    },
    Asset {
        path: "/client",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../assets/console/client.html"),
    },
    Asset {
        path: "/console/console.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../assets/console/console.js"),
    },
    Asset {
        path: "/console/client.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../assets/console/client.js"),
    },
    Asset {
        path: "/console/common.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../assets/console/common.js"),
    },
    Asset {
        path: "/console/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../assets/console/style.css"),
    },
    Asset {
        path: "/console/order-sample.json",
        content_type: "application/json",
        body: include_str!("../../../data/order-sample.json"),
    },
];

/// The pages may load only their own scripts and styles and talk only to this server; photos are shown from
/// blobs the script fetched with its token. No page may be framed (clickjacking), and no referrer leaves.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The routes of this module.
pub fn router() -> Router<AppState> {
    ASSETS.iter().fold(Router::new(), |r, a| {
        r.route(a.path, get(move || async move { serve(a) }))
    })
}

fn serve(a: &'static Asset) -> Response {
    let mut resp = a.body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    // The assets change with the binary; a browser revalidates rather than keeping an old script.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_path_and_a_body() {
        let mut paths: Vec<_> = ASSETS.iter().map(|a| a.path).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), ASSETS.len());
        assert!(ASSETS.iter().all(|a| !a.body.trim().is_empty()));
    }

    #[test]
    fn the_pages_load_only_scripts_that_are_served() {
        for page in ASSETS
            .iter()
            .filter(|a| a.content_type.starts_with("text/html"))
        {
            for src in page.body.split("src=\"").skip(1) {
                let src = &src[..src.find('"').expect("a closing quote")];
                assert!(
                    ASSETS.iter().any(|a| a.path == src),
                    "{} loads {src}, which is not served",
                    page.path
                );
            }
        }
    }
}
