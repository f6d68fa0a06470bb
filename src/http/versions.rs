//! Versions of orders and workers on the wire: each answer carries the resource's version as a strong `ETag`
//! (`"7"`), and a `PATCH` with `If-Match: "7"` changes the resource only if it is still at that version (412
//! otherwise). Without `If-Match` the last write wins, as before.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::error::FieldError;

/// The `ETag` of a version.
pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes are a valid header")
}

/// `resp` with the version as its `ETag`.
pub fn tagged(version: u64, resp: impl IntoResponse) -> Response {
    let mut r = resp.into_response();
    r.headers_mut().insert(header::ETAG, etag(version));
    r
}

/// The version an `If-Match` header asks for: `None` without the header or with `*` (the resource exists,
/// which the handler checks anyway). A weak tag never matches (strong comparison), nor does a list of tags
/// unless one of them is `*`; anything else than one quoted version is a 422.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(v) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::from(vec![FieldError::new(
            "If-Match",
            "must be one entity tag as the ETag header gave it (\"7\"), or *",
        )])
    };
    let v = v.to_str().map_err(|_| bad())?.trim();
    if v == "*" {
        return Ok(None);
    }
    let tag = v
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(bad)?;
    if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_digit()) || tag.len() > 19 {
        return Err(bad());
    }
    tag.parse::<u64>().map(Some).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn if_match_reads_one_strong_tag_or_a_star() {
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), None);
        assert_eq!(if_match(&with("*")).unwrap(), None);
        assert_eq!(if_match(&with("\"7\"")).unwrap(), Some(7));
        for bad in [
            "7",
            "W/\"7\"",
            "\"7\", \"8\"",
            "\"x\"",
            "\"\"",
            "\"99999999999999999999\"",
        ] {
            assert!(if_match(&with(bad)).is_err(), "{bad}");
        }
    }
}
