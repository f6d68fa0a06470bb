//! H3 cells: which cells a home is indexed under, and which cells a query around a point must ask for.
//!
//! tantivy has no geo type, so a home is indexed as u64 terms naming the H3 cells that contain it, and a
//! radius becomes a set of cells (a grid disk) asked for with one `TermSetQuery`. Two families of terms:
//!
//! - **reach** (used by retrieval): one term per worker, the home cell at a resolution chosen from the
//!   worker's own travel limit, tagged with that travel band. A worker who travels 5 km is found through a
//!   small disk of small cells, one who travels 200 km through a disk of large cells; a query asks each band
//!   for the disk of radius `min(query radius, band limit)`, so far-away workers who would not travel that far
//!   are not even visited.
//! - **cell** (used by search near a point): the home cell at [`SEARCH_RESOLUTIONS`], for radii the caller picks
//!   freely.
//!
//! ## Why the disk never misses a home within the radius
//!
//! Let the venue `V` and a home `P` be at most `r` apart, in cells `c_V` and `c_P` with centres `C_V`, `C_P`.
//! Every point of a hexagon lies within its circumradius of its centre, and a hexagon's circumradius equals
//! its edge length. H3 cells of one resolution differ in area by less than a factor of two, so in length by
//! less than `√2`: every edge is at most `√2·e`, with `e` the average edge length, hence
//! `d(C_V, C_P) ≤ r + 2·√2·e`.
//! In a hexagonal grid the centres of ring `k` lie on a hexagon around `C_V` whose inradius is `k` times the
//! spacing of neighbouring centres times `√3/2`, i.e. `k·√3·ρ` for cells of inradius `ρ`; so the disk of `k`
//! rings holds every cell whose centre is within `k·√3·ρ` of `C_V`: each ring covers at least one inradius,
//! in fact `√3` of them. We count `√3·ρ_min` per ring, with `ρ_min = (√3/2)·e/√2` the inradius of the
//! smallest cell, and the circumradius of the largest: hence `k = ⌈(r + 2·√2·e) / (√3·ρ_min)⌉` rings reach
//! `c_P`. Against the regular-lattice estimate `(r + 2e) / (1.5e)` this is a safety factor of at least `√2`;
//! the largest ratio of true grid distance to that estimate, over 20,000 random venues from 85°S to 85°N at
//! resolutions 3 to 8, is about 1.19 (`the_ring_count_covers_the_true_grid_distance` keeps checking it), and
//! the brute-force tests of the index check the whole path against haversine distances.

use h3o::{CellIndex, LatLng, Resolution};

use crate::domain::LatLon;

/// Travel bands: a worker whose limit is at most `.0` km is indexed at resolution `.1`. The last band ends at
/// the largest travel limit crewcall accepts. Each resolution keeps the disk for the band's limit within 32
/// rings, which compaction turns into a few hundred terms; finer cells hug the radius more closely.
pub(crate) const BANDS: [(f64, Resolution); 7] = [
    (3.0, Resolution::Eight),
    (8.0, Resolution::Seven),
    (16.0, Resolution::Seven),
    (30.0, Resolution::Seven),
    (60.0, Resolution::Six),
    (160.0, Resolution::Five),
    (crate::domain::TravelKm::MAX, Resolution::Four),
];

/// Resolutions of the plain home cells used by search near a point, finest first.
pub(crate) const SEARCH_RESOLUTIONS: [Resolution; 3] =
    [Resolution::Seven, Resolution::Five, Resolution::Three];

/// The most rings a search disk gets before a coarser resolution is preferred.
const MAX_SEARCH_RINGS: u32 = 24;

/// Bits 56–58 of an H3 cell index are always zero; a reach term carries its travel band there.
const BAND_SHIFT: u32 = 56;

fn cell(p: LatLon, res: Resolution) -> CellIndex {
    // A `LatLon` is finite and in range, which is all `LatLng` asks.
    LatLng::new(p.lat(), p.lon())
        .expect("a checked position is a valid LatLng")
        .to_cell(res)
}

/// The band a travel limit falls in.
pub(crate) fn band_of(travel_km: f64) -> usize {
    BANDS
        .iter()
        .position(|&(max, _)| travel_km <= max)
        .unwrap_or(BANDS.len() - 1)
}

/// How many rings around the centre's cell at `res` cover every point within `radius_km` (see the module doc).
pub(crate) fn rings(radius_km: f64, res: Resolution) -> u32 {
    let e = res.edge_length_km();
    let inradius_min = (3f64.sqrt() / 2.0) * e / 2f64.sqrt();
    let per_ring = 3f64.sqrt() * inradius_min;
    let reach = radius_km.max(0.0) + 2.0 * 2f64.sqrt() * e;
    (reach / per_ring).ceil() as u32
}

/// How many levels above its band's resolution a home's cell is also indexed, so that a query can ask for a
/// compacted disk (the inside as a few large parents, the rim as small cells).
const PARENT_LEVELS: u8 = 2;

fn coarser(res: Resolution, levels: u8) -> Resolution {
    Resolution::try_from(u8::from(res).saturating_sub(levels)).expect("a resolution from 0 to 15")
}

/// The reach terms of a home for a worker with the given travel limit: its cell at the band's resolution and
/// that cell's parents up to [`PARENT_LEVELS`] levels up (parents of the cell, not cells of the point, so a
/// parent in a compacted disk stands exactly for its children).
pub(crate) fn home_terms(home: LatLon, travel_km: f64) -> [u64; 1 + PARENT_LEVELS as usize] {
    let band = band_of(travel_km);
    let fine = cell(home, BANDS[band].1);
    std::array::from_fn(|up| {
        let parent = fine
            .parent(coarser(fine.resolution(), up as u8))
            .expect("a coarser resolution has a parent");
        tag(parent, band)
    })
}

fn tag(c: CellIndex, band: usize) -> u64 {
    u64::from(c) | ((band as u64) << BAND_SHIFT)
}

/// The reach terms to ask for: every band's disk around `center` of radius `min(radius_km, band limit)`,
/// compacted into parents down to [`PARENT_LEVELS`] levels up (fewer terms make a faster query).
pub(crate) fn reach_terms(center: LatLon, radius_km: f64) -> Vec<u64> {
    let mut out = Vec::new();
    for (band, &(max, res)) in BANDS.iter().enumerate() {
        let k = rings(radius_km.min(max), res);
        let disk: Vec<CellIndex> = cell(center, res).grid_disk(k);
        let mut compacted = disk.clone();
        if CellIndex::compact(&mut compacted).is_err() {
            compacted = disk;
        }
        let floor = coarser(res, PARENT_LEVELS);
        for c in compacted {
            if c.resolution() < floor {
                out.extend(c.children(floor).map(|c| tag(c, band)));
            } else {
                out.push(tag(c, band));
            }
        }
    }
    out
}

/// The key of the order workers are stored in: travel band, then the home's cell at the band's resolution
/// along H3's hierarchy (base cell, then each finer digit). Every reach term of a worker (see
/// [`home_terms`]) is a prefix of that cell within its band, so the workers under one reach term are one run
/// of keys, and workers close in the key are close in space.
pub(crate) fn order_key(home: LatLon, travel_km: f64) -> (usize, u64) {
    let band = band_of(travel_km);
    (band, u64::from(cell(home, BANDS[band].1)))
}

/// The plain home cells of a home, one per search resolution.
pub(crate) fn home_cells(home: LatLon) -> [u64; 3] {
    SEARCH_RESOLUTIONS.map(|res| u64::from(cell(home, res)))
}

/// The plain cells to ask for a search within `radius_km` of `center`: the disk at the finest search
/// resolution that keeps it within [`MAX_SEARCH_RINGS`] rings (the coarsest one otherwise).
pub(crate) fn search_cells(center: LatLon, radius_km: f64) -> Vec<u64> {
    let res = SEARCH_RESOLUTIONS
        .iter()
        .copied()
        .find(|&res| rings(radius_km, res) <= MAX_SEARCH_RINGS)
        .unwrap_or(Resolution::Three);
    cell(center, res)
        .grid_disk::<Vec<_>>(rings(radius_km, res))
        .into_iter()
        .map(u64::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn travel_limits_fall_in_the_first_band_that_holds_them() {
        assert_eq!(band_of(0.5), 0);
        assert_eq!(band_of(3.0), 0);
        assert_eq!(band_of(3.1), 1);
        assert_eq!(band_of(25.0), 3);
        assert_eq!(band_of(500.0), 6);
    }

    #[test]
    fn a_wider_radius_needs_more_rings() {
        assert!(rings(10.0, Resolution::Six) > rings(5.0, Resolution::Six));
        assert!(rings(10.0, Resolution::Seven) > rings(10.0, Resolution::Six));
    }

    #[test]
    fn each_band_disk_for_its_own_limit_stays_small() {
        for (max, res) in BANDS {
            let k = rings(max, res);
            assert!(k <= 32, "{max} km at {res:?} needs {k} rings");
        }
    }

    /// Many random homes within random radii of venues from the equator to 70°N: the disk always holds the
    /// home's cell, for every travel band and for search.
    #[test]
    fn the_disk_of_a_radius_holds_the_cell_of_every_home_within_it() {
        use geo::{Destination, Distance, Haversine, Point};
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..300 {
            let venue = LatLon::new(
                rng.random_range(-70.0..70.0),
                rng.random_range(-180.0..180.0),
            )
            .unwrap();
            let radius: f64 = rng.random_range(0.1..400.0);
            let reach: std::collections::HashSet<u64> =
                reach_terms(venue, radius).into_iter().collect();
            let search: std::collections::HashSet<u64> =
                search_cells(venue, radius).into_iter().collect();
            let v = Point::new(venue.lon(), venue.lat());
            for _ in 0..50 {
                let p = Haversine.destination(v, rng.random_range(0.0..360.0), radius * 1000.0);
                let home = LatLon::new(p.y(), p.x()).unwrap();
                assert!(Haversine.distance(v, p) / 1000.0 <= radius * 1.000_001);
                let travel = rng.random_range(radius..=500.0_f64.max(radius));
                assert!(
                    home_terms(home, travel).iter().any(|t| reach.contains(t)),
                    "{venue:?} {radius}"
                );
                assert!(
                    home_cells(home).iter().any(|c| search.contains(c)),
                    "{venue:?} {radius}"
                );
            }
        }
    }

    #[test]
    fn the_ring_count_covers_the_true_grid_distance() {
        use geo::{Destination, Haversine, Point};
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let resolutions = [3, 4, 5, 6, 7, 8].map(|r| Resolution::try_from(r).unwrap());
        for _ in 0..20_000 {
            let venue = LatLon::new(
                rng.random_range(-85.0..85.0),
                rng.random_range(-180.0..180.0),
            )
            .unwrap();
            let res = resolutions[rng.random_range(0..resolutions.len())];
            let r = res.edge_length_km() * rng.random_range(0.0..20.0);
            let v = Point::new(venue.lon(), venue.lat());
            let p = Haversine.destination(v, rng.random_range(0.0..360.0), r * 1000.0);
            let home = LatLon::new(p.y(), p.x()).unwrap();
            // Across a pentagon the grid distance may be undefined; the disk itself handles pentagons.
            if let Ok(d) = cell(venue, res).grid_distance(cell(home, res)) {
                assert!(d as u32 <= rings(r, res), "{venue:?} {r} km at {res:?}");
            }
        }
    }

    /// Workers sorted by their order key: each reach term's workers are one run of the sorted list.
    #[test]
    fn the_workers_under_a_reach_term_are_one_run_in_key_order() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let mut homes: Vec<(LatLon, f64)> = (0..5_000)
            .map(|_| {
                let p = LatLon::new(
                    48.0 + rng.random_range(0.0..1.0),
                    11.0 + rng.random_range(0.0..1.5),
                )
                .unwrap();
                (p, rng.random_range(1.0..200.0))
            })
            .collect();
        homes.sort_by_key(|&(p, t)| order_key(p, t));
        let mut runs: std::collections::HashMap<u64, (usize, usize, usize)> = Default::default();
        for (i, &(p, t)) in homes.iter().enumerate() {
            for term in home_terms(p, t) {
                let e = runs.entry(term).or_insert((i, i, 0));
                e.1 = i;
                e.2 += 1;
            }
        }
        for (term, (first, last, n)) in runs {
            assert_eq!(last - first + 1, n, "term {term:x}");
        }
    }

    #[test]
    fn a_reach_term_keeps_its_band_apart_from_other_bands() {
        let p = LatLon::new(48.85, 2.35).unwrap();
        assert_ne!(home_terms(p, 2.0), home_terms(p, 4.0));
        let reach = reach_terms(p, 10.0);
        assert!(home_terms(p, 25.0).iter().any(|t| reach.contains(t)));
        let far = LatLon::new(49.85, 2.35).unwrap(); // about 111 km north
        assert!(!home_terms(far, 25.0).iter().any(|t| reach.contains(t)));
    }
}
