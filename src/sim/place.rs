//! What the generators need to know about a place, whether a metropolis or a country: areas where people
//! live (with a centre, a spread and a population weight), venues where shifts happen, and the locale that
//! decides names, languages and pay.

use chrono_tz::Tz;

use super::rng::{Rng, WeightedTable};
use crate::domain::LatLon;

/// Kilometres per degree of latitude (and of longitude at the equator), for turning offsets in km into degrees.
pub const KM_PER_DEGREE: f64 = 111.32;

/// An area where workers live: a district of a city, or a city of a country.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    /// Name, for venue names and for people reading the data.
    pub name: String,
    /// Centre.
    pub center: LatLon,
    /// Typical radius in km: homes spread around the centre with a standard deviation of half of it.
    pub radius_km: f64,
    /// Share of the population (any positive scale; only ratios matter).
    pub weight: f64,
    /// The area's timezone.
    pub tz: Tz,
}

impl Area {
    /// A point drawn around the centre: a 2-D normal with `sd_km` on each axis, converted to degrees with the
    /// cosine of the latitude so that a km is a km in every direction.
    pub fn scatter(&self, rng: &mut Rng, sd_km: f64) -> LatLon {
        offset_km(self.center, rng.normal(0.0, sd_km), rng.normal(0.0, sd_km))
    }
}

/// The point `east_km` east and `north_km` north of `p` (clamped into the valid range of coordinates), rounded
/// to six decimals (about 10 cm), which keeps generated files small and their numbers readable.
pub fn offset_km(p: LatLon, east_km: f64, north_km: f64) -> LatLon {
    let lat = (p.lat() + north_km / KM_PER_DEGREE).clamp(-89.9, 89.9);
    let cos = p.lat().to_radians().cos().max(0.01);
    let mut lon = p.lon() + east_km / (KM_PER_DEGREE * cos);
    if lon > 180.0 {
        lon -= 360.0;
    } else if lon < -180.0 {
        lon += 360.0;
    }
    let round = |x: f64| (x * 1e6).round() / 1e6;
    LatLon::new(round(lat), round(lon)).expect("clamped into range")
}

/// What kind of place a venue is; it decides which orders happen there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VenueKind {
    /// Trade fairs and exhibitions.
    ExhibitionHall,
    /// Shopping malls: retail promotions.
    Mall,
    /// Warehouses and logistics parks.
    Warehouse,
    /// Hotels and banquet halls: catering.
    Hotel,
    /// Stadiums and arenas: events and security.
    Stadium,
}

/// A place where shifts happen.
#[derive(Debug, Clone, PartialEq)]
pub struct SimVenue {
    /// Name, unique within the place.
    pub name: String,
    /// What it is.
    pub kind: VenueKind,
    /// Where it is.
    pub location: LatLon,
    /// Index of the area it lies in.
    pub area: usize,
}

/// The culture of a place: names, languages and pay. It keeps generated people plausible for where they live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    /// Shanghai: Chinese names, zh with some en/ja/ko, pay in CNY.
    Shanghai,
    /// Germany: German and immigrant names, de with en/tr/ru/ar/pl, pay in EUR.
    Germany,
    /// Anywhere else: English names, en, pay in a generic unit.
    Generic,
}

/// A place laid out for generation: areas, a table to draw areas by population, venues and the locale.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Name of the place.
    pub name: String,
    /// Locale.
    pub locale: Locale,
    /// Areas where people live.
    pub areas: Vec<Area>,
    /// Venues where shifts happen.
    pub venues: Vec<SimVenue>,
    table: WeightedTable,
}

impl Layout {
    /// Builds a layout; `areas` must not be empty and must carry positive weights.
    pub fn new(name: &str, locale: Locale, areas: Vec<Area>, venues: Vec<SimVenue>) -> Self {
        let table = WeightedTable::new(areas.iter().map(|a| a.weight));
        Self {
            name: name.to_string(),
            locale,
            areas,
            venues,
            table,
        }
    }

    /// Draws an area by population weight.
    pub fn pick_area(&self, rng: &mut Rng) -> &Area {
        &self.areas[self.table.sample(rng)]
    }

    /// The venues of one kind, in layout order.
    pub fn venues_of(&self, kind: VenueKind) -> Vec<&SimVenue> {
        self.venues.iter().filter(|v| v.kind == kind).collect()
    }

    /// The timezone of a venue's area.
    pub fn venue_tz(&self, v: &SimVenue) -> Tz {
        self.areas[v.area].tz
    }

    /// The population-weighted centre, a rough "middle of the place" for tests and reports.
    pub fn centroid(&self) -> LatLon {
        let total: f64 = self.areas.iter().map(|a| a.weight).sum();
        let lat = self
            .areas
            .iter()
            .map(|a| a.center.lat() * a.weight)
            .sum::<f64>()
            / total;
        let lon = self
            .areas
            .iter()
            .map(|a| a.center.lon() * a.weight)
            .sum::<f64>()
            / total;
        LatLon::new(lat, lon).expect("an average of valid positions")
    }
}

/// Anything the generators can place people and venues in: a metropolis, a country, or a bare layout.
pub trait Place: Sync {
    /// The layout to generate in.
    fn layout(&self) -> &Layout;
}

impl Place for Layout {
    fn layout(&self) -> &Layout {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_of_ten_km_east_is_ten_km_away_at_any_latitude() {
        for lat in [0.0, 31.2, 52.5] {
            let p = LatLon::new(lat, 10.0).unwrap();
            let d = p.distance_km(offset_km(p, 10.0, 0.0));
            assert!((d - 10.0).abs() < 0.05, "{lat}: {d}");
            let d = p.distance_km(offset_km(p, 0.0, -10.0));
            assert!((d - 10.0).abs() < 0.05, "{lat}: {d}");
        }
    }
}
