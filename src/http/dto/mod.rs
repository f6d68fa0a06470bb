//! The JSON shapes of the API and their conversion to and from the domain. Core types never derive serde;
//! these do. The importer and the CLI read the same shapes, so a line of `workers.ndjson` is exactly a
//! `POST /v1/workers` body.

pub mod order;
pub mod views;
pub mod worker;

use serde::{Deserialize, Serialize};

/// A point, `{"lat": .., "lon": ..}`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    /// Latitude, WGS84 degrees.
    pub lat: f64,
    /// Longitude, WGS84 degrees.
    pub lon: f64,
}

impl From<crate::domain::LatLon> for Point {
    fn from(p: crate::domain::LatLon) -> Self {
        Point {
            lat: p.lat(),
            lon: p.lon(),
        }
    }
}

/// A period of two instants with offsets.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Period {
    /// RFC 3339 with an offset.
    pub start: String,
    /// RFC 3339 with an offset.
    pub end: String,
}

impl From<&crate::domain::Interval> for Period {
    fn from(iv: &crate::domain::Interval) -> Self {
        Period {
            start: crate::domain::time::format_instant(iv.start()),
            end: crate::domain::time::format_instant(iv.end()),
        }
    }
}
