//! Cards: what retrieval checks of each worker once the term sets have narrowed the documents, one cache line
//! per roster slot, and the check itself.
//!
//! ## The distance test without trigonometry
//!
//! The haversine distance `d` between two points is `2R·asin(√a)` with
//! `a = sin²(Δφ/2) + cos φ₁·cos φ₂·sin²(Δλ/2)`, and `d ≤ L` exactly when `a ≤ sin²(L/2R)` (for `L ≤ πR`,
//! far above crewcall's 500 km). A card keeps `cos φ` and `sin²(travel/2R)`; the query computes its own
//! `cos φ₁` and `sin²(radius/2R)` once. Since `sin x ≥ x − x³/6` for `0 ≤ x ≤ π`, replacing each sine by that
//! bound gives `a_low ≤ a`: a home with `a_low` above the limit is farther than the limit for sure and is
//! dropped, any other is kept. The kept set is a superset of the exact one (what it wrongly keeps lies within
//! a few metres of the edge at these distances, and matching's exact check drops it); no home within the
//! limit is ever dropped. `a_home_within_the_limit_is_never_dropped` checks this against the haversine
//! matching uses, on random homes near the edge.

use crate::domain::geo::EARTH_RADIUS_KM;
use crate::domain::{LatLon, Worker};
use crate::matching::Near;

/// Slack on distance comparisons, in km (one millimetre): a worker exactly at the edge of a radius is kept
/// whatever the rounding; keeping one a millimetre outside is harmless, since matching checks again.
pub(crate) const EDGE_SLACK_KM: f64 = 1e-6;

/// Slack on the rating floor, so an average equal to the floor is kept whatever the rounding.
const RATING_SLACK: f32 = 1e-6;

/// `sin²(L/2R)`: the haversine term `a` of a distance of `km` (plus the edge slack).
fn limit_term(km: f64) -> f64 {
    ((km + EDGE_SLACK_KM) / (2.0 * EARTH_RADIUS_KM))
        .min(std::f64::consts::FRAC_PI_2)
        .sin()
        .powi(2)
}

/// A lower bound of `sin²(x)` for `|x| ≤ π`.
#[inline]
fn sin2_low(x: f64) -> f64 {
    let x = x.abs();
    let s = (x - x * x * x / 6.0).max(0.0);
    s * s
}

/// What retrieval checks of one worker: half a line of memory.
#[derive(Debug, Clone, Copy)]
#[repr(align(32))]
pub(crate) struct Card {
    /// Home latitude, radians.
    lat: f64,
    /// Home longitude, radians.
    lon: f64,
    /// The haversine term of the worker's own travel limit.
    travel: f64,
    /// Cosine of the home latitude, rounded down to an `f32` (so the lower bound of the haversine term stays
    /// one; the upper bound allows for the rounding).
    cos_lat: f32,
    /// Average rating, 0 when unrated.
    rating: f32,
}

const _: () = assert!(std::mem::size_of::<Card>() == 32);

/// How much an `f32` rounded down may lie below the value, relatively (one unit in the last place, twice).
const F32_BELOW: f64 = 2.4e-7;

impl Card {
    /// The card of an empty slot: no query's check passes it (its travel limit is below any distance), so
    /// retrieval never hands out a slot without a profile.
    pub(crate) fn empty(mut self) -> Self {
        self.travel = f64::NEG_INFINITY;
        self
    }

    /// The card of a profile.
    pub(crate) fn new(w: &Worker) -> Self {
        let lat = w.home.lat().to_radians();
        let cos = lat.cos();
        let mut cos_lat = cos as f32;
        if f64::from(cos_lat) > cos {
            cos_lat = cos_lat.next_down();
        }
        Self {
            lat,
            lon: w.home.lon().to_radians(),
            cos_lat: cos_lat.max(0.0),
            travel: limit_term(w.max_travel_km.km()),
            rating: w.stats.rating_avg().unwrap_or(0.0) as f32,
        }
    }
}

/// A retrieval's checks on cards, prepared once per query.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CardCheck {
    lat: f64,
    lon: f64,
    cos_lat: f64,
    /// The haversine term of the query radius.
    radius: f64,
    /// A floor above 0 on the average rating; unrated (0) fails it.
    min_rating: Option<f32>,
}

impl CardCheck {
    /// The checks for a venue and radius and an optional rating floor. (The shift's hours are not checked
    /// here: retrieval intersects them as hour sets, made from the profiles, before any card is read.)
    pub(crate) fn new(center: LatLon, radius_km: f64, min_rating: Option<f64>) -> Self {
        let lat = center.lat().to_radians();
        Self {
            lat,
            lon: center.lon().to_radians(),
            cos_lat: lat.cos(),
            radius: limit_term(radius_km),
            min_rating: min_rating.filter(|&m| m > 0.0).map(|m| m as f32),
        }
    }

    /// Whether the card may pass matching's exact checks: rating floor, and a home within both the
    /// radius and the worker's own travel limit (see the module doc).
    #[cfg(test)]
    pub(crate) fn passes(&self, c: &Card) -> bool {
        self.near(c).is_some()
    }

    /// The same check as [`Self::passes`]; for a card that passes, bounds of the distance from home to the
    /// venue, for ranking: the haversine term `a` lies between `a_low` (each sine replaced by its lower bound,
    /// as above) and `a_high` (each sine replaced by its argument, `sin x ≤ x`), and the distance with it.
    #[inline]
    pub(crate) fn near(&self, c: &Card) -> Option<Near> {
        if let Some(min) = self.min_rating
            && c.rating < min - RATING_SLACK
        {
            return None;
        }
        let limit = self.radius.min(c.travel);
        let dlat = (c.lat - self.lat) * 0.5;
        let low = sin2_low(dlat);
        if low > limit {
            return None;
        }
        let mut dlon = c.lon - self.lon;
        if dlon > std::f64::consts::PI {
            dlon -= std::f64::consts::TAU;
        } else if dlon < -std::f64::consts::PI {
            dlon += std::f64::consts::TAU;
        }
        let half = dlon * 0.5;
        let cos2 = self.cos_lat * f64::from(c.cos_lat);
        let a_low = low + cos2 * sin2_low(half);
        if a_low > limit {
            return None;
        }
        let a_high = dlat * dlat + cos2 * (1.0 + F32_BELOW) * half * half;
        Some(Near::from_haversine(a_low, a_high, EARTH_RADIUS_KM))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TravelKm;
    use crate::matching::fixtures::worker;
    use geo::{Destination, Haversine, Point};
    use rand::{Rng, SeedableRng};

    fn card_at(home: LatLon, travel: f64) -> Card {
        let mut w = worker(1);
        w.home = home;
        w.max_travel_km = TravelKm::new(travel).unwrap();
        Card::new(&w)
    }

    /// Homes just inside and just outside the radius or the travel limit, all over the globe and across the
    /// antimeridian: every home the exact haversine keeps is kept, and homes clearly outside are dropped.
    #[test]
    fn a_home_within_the_limit_is_never_dropped() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut dropped_outside = 0;
        for _ in 0..20_000 {
            let venue = LatLon::new(
                rng.random_range(-80.0..80.0),
                rng.random_range(-180.0..180.0),
            )
            .unwrap();
            let radius: f64 = rng.random_range(0.5..500.0);
            let travel: f64 = rng.random_range(0.5..500.0);
            let limit = radius.min(travel);
            let dist = limit * rng.random_range(0.9..1.1);
            let v = Point::new(venue.lon(), venue.lat());
            let p = Haversine.destination(v, rng.random_range(0.0..360.0), dist * 1000.0);
            let home = LatLon::new(p.y(), p.x()).unwrap();
            let exact = venue.distance_km(home);
            let kept = CardCheck::new(venue, radius, None).passes(&card_at(home, travel));
            if exact <= limit {
                assert!(kept, "{venue:?} {home:?} {exact} <= {limit}");
            } else if exact > limit * 1.001 {
                assert!(!kept, "{venue:?} {home:?} {exact} > {limit}");
                dropped_outside += 1;
            }
        }
        assert!(dropped_outside > 5_000);
    }

    #[test]
    fn the_rating_floor_is_checked_on_the_card() {
        let home = LatLon::new(31.23, 121.47).unwrap();
        let mut w = worker(1);
        w.home = home;
        let card = Card::new(&w);
        assert!(CardCheck::new(home, 5.0, None).passes(&card));
        assert!(CardCheck::new(home, 5.0, Some(4.0)).passes(&card));
        assert!(!CardCheck::new(home, 5.0, Some(4.1)).passes(&card));
    }
}
