//! A synthetic metropolis modelled on Shanghai: sixteen districts with their real centres and population
//! shares, and venues (exhibition halls, malls, warehouses, hotels, stadiums) placed in them by seed.

use super::place::{Area, Layout, Locale, Place, SimVenue, VenueKind};
use super::rng::Rng;
use crate::domain::LatLon;

/// The centre of the metropolis (People's Square).
pub const SHANGHAI_CENTER: (f64, f64) = (31.2304, 121.4737);

/// A district: name, centre, radius in km, population in millions, and how many venues of each kind it
/// tends to hold (exhibition halls, malls, warehouses, hotels, stadiums).
struct District {
    name: &'static str,
    lat: f64,
    lon: f64,
    radius_km: f64,
    population_m: f64,
    venues: [u8; 5],
}

const DISTRICTS: [District; 16] = [
    d("Huangpu", 31.2317, 121.4846, 3.5, 0.66, [0, 6, 0, 8, 0]),
    d("Xuhui", 31.1885, 121.4365, 5.0, 1.11, [1, 6, 0, 5, 1]),
    d("Changning", 31.2204, 121.4241, 4.5, 0.69, [1, 4, 0, 5, 0]),
    d("Jing'an", 31.2290, 121.4480, 4.5, 0.98, [1, 6, 0, 7, 0]),
    d("Putuo", 31.2494, 121.3956, 5.0, 1.24, [0, 4, 1, 2, 0]),
    d("Hongkou", 31.2646, 121.5052, 4.0, 0.76, [0, 3, 0, 3, 1]),
    d("Yangpu", 31.2595, 121.5260, 5.0, 1.24, [0, 4, 1, 2, 1]),
    d("Minhang", 31.1128, 121.3816, 10.0, 2.65, [0, 6, 4, 3, 1]),
    d("Baoshan", 31.4045, 121.4894, 9.0, 2.23, [0, 4, 5, 2, 0]),
    d("Jiading", 31.3747, 121.2655, 10.0, 1.83, [0, 3, 5, 2, 1]),
    d("Pudong", 31.2215, 121.5447, 15.0, 5.68, [3, 10, 8, 8, 2]),
    d("Jinshan", 30.7419, 121.3418, 10.0, 0.82, [0, 1, 3, 1, 0]),
    d("Songjiang", 31.0323, 121.2277, 10.0, 1.91, [0, 3, 5, 2, 0]),
    d("Qingpu", 31.1497, 121.1242, 11.0, 1.27, [2, 2, 4, 2, 0]),
    d("Fengxian", 30.9180, 121.4741, 11.0, 1.14, [0, 2, 4, 1, 0]),
    d("Chongming", 31.6229, 121.3974, 14.0, 0.64, [0, 1, 1, 1, 0]),
];

const fn d(
    name: &'static str,
    lat: f64,
    lon: f64,
    radius_km: f64,
    population_m: f64,
    venues: [u8; 5],
) -> District {
    District {
        name,
        lat,
        lon,
        radius_km,
        population_m,
        venues,
    }
}

const KINDS: [VenueKind; 5] = [
    VenueKind::ExhibitionHall,
    VenueKind::Mall,
    VenueKind::Warehouse,
    VenueKind::Hotel,
    VenueKind::Stadium,
];

/// A metropolis to generate workers and orders in.
#[derive(Debug, Clone)]
pub struct City {
    layout: Layout,
}

impl City {
    /// The Shanghai-like metropolis. The districts are fixed; the venues are placed by `seed`.
    pub fn metropolis(seed: u64) -> Self {
        let tz = chrono_tz::Asia::Shanghai;
        let areas: Vec<Area> = DISTRICTS
            .iter()
            .map(|d| Area {
                name: d.name.to_string(),
                center: LatLon::new(d.lat, d.lon).expect("a district centre is a valid position"),
                radius_km: d.radius_km,
                weight: d.population_m,
                tz,
            })
            .collect();
        let mut rng = Rng::new(seed ^ 0xc17e);
        let mut venues = Vec::new();
        for (ai, (district, area)) in DISTRICTS.iter().zip(&areas).enumerate() {
            for (kind, count) in KINDS.iter().zip(district.venues) {
                for k in 1..=count {
                    // Venues sit closer to the centre than homes do, warehouses further out.
                    let sd = match kind {
                        VenueKind::Warehouse => area.radius_km * 0.6,
                        _ => area.radius_km * 0.3,
                    };
                    venues.push(SimVenue {
                        name: venue_name(&area.name, *kind, k),
                        kind: *kind,
                        location: area.scatter(&mut rng, sd),
                        area: ai,
                    });
                }
            }
        }
        Self {
            layout: Layout::new("Shanghai", Locale::Shanghai, areas, venues),
        }
    }

    /// The centre of the metropolis.
    pub fn center(&self) -> LatLon {
        LatLon::new(SHANGHAI_CENTER.0, SHANGHAI_CENTER.1).expect("a valid position")
    }
}

impl Place for City {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// A venue's name from its area, kind and number within the area (`Pudong Expo Hall 2`).
pub fn venue_name(area: &str, kind: VenueKind, k: u8) -> String {
    let base = match kind {
        VenueKind::ExhibitionHall => "Expo Hall",
        VenueKind::Mall => "Plaza Mall",
        VenueKind::Warehouse => "Logistics Park",
        VenueKind::Hotel => "Grand Hotel",
        VenueKind::Stadium => "Arena",
    };
    format!("{area} {base} {k}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_metropolis_has_sixteen_districts_and_venues_of_every_kind() {
        let c = City::metropolis(1);
        let l = c.layout();
        assert_eq!(l.areas.len(), 16);
        for kind in KINDS {
            assert!(!l.venues_of(kind).is_empty(), "{kind:?}");
        }
        let names: std::collections::BTreeSet<&str> =
            l.venues.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names.len(), l.venues.len(), "venue names are unique");
    }

    #[test]
    fn venues_lie_inside_the_metropolis_and_move_with_the_seed() {
        let a = City::metropolis(1);
        let b = City::metropolis(2);
        let centre = a.center();
        for v in &a.layout().venues {
            assert!(v.location.distance_km(centre) < 90.0, "{}", v.name);
        }
        assert_eq!(a.layout().venues.len(), b.layout().venues.len());
        assert_ne!(a.layout().venues[0].location, b.layout().venues[0].location);
        assert_eq!(
            City::metropolis(1).layout().venues,
            a.layout().venues,
            "same seed, same venues"
        );
    }
}
