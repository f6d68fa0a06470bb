//! Cursor pagination: `?limit=` (default 50, max 500) and `?cursor=`; answers `{"items", "next_cursor"}`.
//! A cursor is the opaque form of the last id of the page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::FieldError;

/// Default page size.
pub const DEFAULT_LIMIT: i64 = 50;
/// Largest page size.
pub const MAX_LIMIT: i64 = 500;

/// Checks `limit`.
pub fn limit(raw: Option<i64>) -> Result<i64, FieldError> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(FieldError::new(
            "limit",
            format!("must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// Encodes a cursor after the item with key `after`.
pub fn encode(after: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{after}"))
}

/// Decodes a cursor.
pub fn decode(raw: Option<&str>) -> Result<Option<u64>, FieldError> {
    let Some(raw) = raw else { return Ok(None) };
    let bad = || FieldError::new("cursor", "is not a cursor this server gave out");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    s.strip_prefix("after:")
        .and_then(|n| n.parse().ok())
        .map(Some)
        .ok_or_else(bad)
}

/// Checks `limit` and `cursor` together, collecting problems into `errors` (so a list endpoint reports them
/// beside its own filters); falls back to the defaults where they are invalid.
pub fn params(
    limit_raw: Option<i64>,
    cursor: Option<&str>,
    errors: &mut Vec<FieldError>,
) -> (i64, Option<u64>) {
    let l = limit(limit_raw)
        .map_err(|e| errors.push(e))
        .unwrap_or(DEFAULT_LIMIT);
    let after = decode(cursor).map_err(|e| errors.push(e)).unwrap_or(None);
    (l, after)
}

/// A page of items.
#[derive(Serialize)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next page, `null` on the last.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items: the extra one only tells that there is more.
    pub fn from_fetched(mut items: Vec<T>, limit: i64, key: impl Fn(&T) -> u64) -> Self {
        let more = items.len() as i64 > limit;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(|i| encode(key(i)))
        } else {
            None
        };
        Page { items, next_cursor }
    }

    /// [`Self::from_fetched`] over items fetched with their keys.
    pub fn from_keyed(items: Vec<(u64, T)>, limit: i64) -> Self {
        let page = Page::from_fetched(items, limit, |(k, _)| *k);
        Page {
            items: page.items.into_iter().map(|(_, v)| v).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode(Some(&encode(42))).unwrap(), Some(42));
        assert!(decode(Some("zzz")).is_err());
        assert_eq!(decode(None).unwrap(), None);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(501)).is_err());
        assert_eq!(limit(None).unwrap(), 50);
    }
}
