//! Coordinates and distances.

use crate::error::FieldError;

/// A WGS84 position in decimal degrees. NaN and out-of-range values cannot be built.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

/// Mean Earth radius in kilometres (IUGG), the one the haversine distances use.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

impl LatLon {
    /// Checks and builds a position: latitude in [-90, 90], longitude in [-180, 180], both finite.
    pub fn new(lat: f64, lon: f64) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            errors.push(FieldError::new(
                "lat",
                "must be a number between -90 and 90",
            ));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            errors.push(FieldError::new(
                "lon",
                "must be a number between -180 and 180",
            ));
        }
        if errors.is_empty() {
            Ok(Self { lat, lon })
        } else {
            Err(errors)
        }
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Great-circle distance in kilometres (haversine, via `geo`).
    pub fn distance_km(self, other: LatLon) -> f64 {
        use geo::{Distance, Haversine, Point};
        Haversine.distance(
            Point::new(self.lon, self.lat),
            Point::new(other.lon, other.lat),
        ) / 1000.0
    }
}

/// A travel limit in kilometres: finite, positive, at most 500 km.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TravelKm(f64);

impl TravelKm {
    /// The largest travel limit crewcall accepts.
    pub const MAX: f64 = 500.0;

    /// Checks and builds a travel limit.
    pub fn new(km: f64) -> Result<Self, FieldError> {
        if km.is_finite() && km > 0.0 && km <= Self::MAX {
            Ok(Self(km))
        } else {
            Err(FieldError::new(
                "",
                format!("must be a distance in km above 0 and at most {}", Self::MAX),
            ))
        }
    }

    /// The limit in kilometres.
    pub fn km(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_out_of_range_or_nan_are_rejected() {
        assert!(LatLon::new(91.0, 0.0).is_err());
        assert!(LatLon::new(0.0, -180.5).is_err());
        assert!(LatLon::new(f64::NAN, 0.0).is_err());
        assert!(LatLon::new(0.0, f64::INFINITY).is_err());
        assert_eq!(LatLon::new(f64::NAN, f64::NAN).unwrap_err().len(), 2);
        assert!(LatLon::new(-90.0, 180.0).is_ok());
    }

    #[test]
    fn haversine_distance_between_two_shanghai_points() {
        let people_square = LatLon::new(31.2304, 121.4737).unwrap();
        let expo = LatLon::new(31.1912, 121.5804).unwrap();
        let d = people_square.distance_km(expo);
        assert!((d - 11.04).abs() < 0.01, "{d}");
    }

    #[test]
    fn travel_limits_must_be_positive_and_bounded() {
        assert!(TravelKm::new(0.0).is_err());
        assert!(TravelKm::new(-3.0).is_err());
        assert!(TravelKm::new(f64::NAN).is_err());
        assert!(TravelKm::new(501.0).is_err());
        assert_eq!(TravelKm::new(15.0).unwrap().km(), 15.0);
    }
}
