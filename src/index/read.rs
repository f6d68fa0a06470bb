//! The read path: candidate retrieval for matching and search for the API.
//!
//! Both build one boolean query of terms (agency, skills, languages, certifications, cells) and collect the
//! matches with [`Candidates`], a collector that reads fast fields only: it applies the exact distance, the
//! worker's own travel limit, the rating floor and the page cursor, and yields roster slots. No score is
//! computed and no stored field is fetched.

use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use super::reach::ReachQuery;
use super::{RetrievalQuery, SearchQuery, State, WorkerIndex, cells, hours, schema};
use crate::domain::{LatLon, Worker, WorkerId};

/// Slack on distance comparisons, in km (one millimetre): a worker exactly at the edge of a radius is kept
/// whatever the rounding; keeping one a millimetre outside is harmless, since matching checks again.
const EDGE_SLACK_KM: f64 = 1e-6;

/// How many venues and radii keep their reach terms cached; the cache starts over when full.
const REACH_CACHE_SIZE: usize = 4096;

/// Slack on the rating floor, so an average equal to the floor is kept whatever the rounding.
const RATING_SLACK: f64 = 1e-9;

/// Kilometres per degree of latitude on the haversine sphere (6,371.0088 km: 111.195 km), rounded down so
/// that the latitude test never drops a home the haversine would keep.
const KM_PER_DEGREE_AT_LEAST: f64 = 111.0;

/// The checks the collector makes on fast fields.
#[derive(Debug, Clone, Copy, Default)]
struct Check {
    /// The home must be within this radius (km) of this point.
    near: Option<(LatLon, f64)>,
    /// The distance must also be within the worker's own travel limit.
    travel: bool,
    /// The average rating must be at least this; unrated (0) fails any floor above 0.
    min_rating: Option<f64>,
    /// The worker id must be above this.
    after: Option<u64>,
}

/// Collects `(worker id, roster slot)` of the matching documents that pass a [`Check`]. The id comes from a
/// fast field, so the caller sorts plain numbers instead of reaching into every profile.
struct Candidates {
    check: Check,
}

struct SegmentCandidates {
    check: Check,
    slot: Column<u64>,
    id: Column<u64>,
    lat: Column<f64>,
    lon: Column<f64>,
    travel: Column<f64>,
    rating: Column<f64>,
    out: Vec<(u64, u32)>,
}

impl Collector for Candidates {
    type Fruit = Vec<(u64, u32)>;
    type Child = SegmentCandidates;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentCandidates> {
        let ff = reader.fast_fields();
        Ok(SegmentCandidates {
            check: self.check,
            slot: ff.u64("slot")?,
            id: ff.u64("id")?,
            lat: ff.f64("lat")?,
            lon: ff.f64("lon")?,
            travel: ff.f64("travel")?,
            rating: ff.f64("rating")?,
            out: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u64, u32)>>) -> tantivy::Result<Vec<(u64, u32)>> {
        Ok(fruits.concat())
    }
}

impl SegmentCandidates {
    fn passes(&self, doc: DocId) -> bool {
        let c = &self.check;
        if let Some(after) = c.after
            && self.id.first(doc).is_none_or(|id| id <= after)
        {
            return false;
        }
        if let Some(min) = c.min_rating
            && min > 0.0
            && self.rating.first(doc).unwrap_or(0.0) < min - RATING_SLACK
        {
            return false;
        }
        if let Some((center, radius)) = c.near {
            // Each fast field costs a decode: the longitude is read only for homes near enough in latitude.
            let Some(lat) = self.lat.first(doc) else {
                return false;
            };
            // The great-circle distance is at least the arc between the two parallels, so a home too far in
            // latitude alone is dropped without trigonometry.
            let lat_km = (lat - center.lat()).abs() * KM_PER_DEGREE_AT_LEAST;
            if lat_km > radius + EDGE_SLACK_KM {
                return false;
            }
            let travel = if c.travel {
                let t = self.travel.first(doc).unwrap_or(0.0) + EDGE_SLACK_KM;
                if lat_km > t {
                    return false;
                }
                t
            } else {
                f64::INFINITY
            };
            let Some(lon) = self.lon.first(doc) else {
                return false;
            };
            let Ok(home) = LatLon::new(lat, lon) else {
                return false;
            };
            // The same haversine as matching's exact check, on the same f64 values.
            let d = center.distance_km(home);
            if d > radius + EDGE_SLACK_KM || d > travel {
                return false;
            }
        }
        true
    }
}

impl SegmentCollector for SegmentCandidates {
    type Fruit = Vec<(u64, u32)>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if self.passes(doc)
            && let (Some(id), Some(slot)) = (self.id.first(doc), self.slot.first(doc))
        {
            self.out.push((id, slot as u32));
        }
    }

    fn harvest(self) -> Vec<(u64, u32)> {
        self.out
    }
}

fn must(clauses: &mut Vec<(Occur, Box<dyn Query>)>, term: Term) {
    clauses.push((
        Occur::Must,
        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
    ));
}

impl WorkerIndex {
    /// The candidates for one role, sorted by worker id: a superset of the workers that pass the exact checks
    /// on agency, skills, languages, certifications, distance (the query radius and each worker's own travel
    /// limit) and rating floor, and, given a shift, of the workers whose weekly windows reach into every UTC hour
    /// it touches. Exact availability, bookings and status are left to matching.
    pub fn retrieve(&self, q: &RetrievalQuery) -> Vec<Arc<Worker>> {
        let st = self.read_state();
        let slots = if self.remember.load(std::sync::atomic::Ordering::Relaxed) {
            // Floats print exactly in Debug form, so equal keys mean equal queries.
            let key = format!("{}|{q:?}", st.generation);
            self.retrievals
                .get_with(key, || Arc::new(self.retrieve_slots(&st, q)))
        } else {
            Arc::new(self.retrieve_slots(&st, q))
        };
        slots
            .iter()
            .filter_map(|s| st.roster.slots.get(*s as usize).cloned().flatten())
            .collect()
    }

    /// Turns the memory of retrievals on or off (and forgets what it held): benchmarks of one role query
    /// measure the cold path, which every new order and every profile write goes through.
    pub fn remember_retrievals(&self, on: bool) {
        self.remember
            .store(on, std::sync::atomic::Ordering::Relaxed);
        self.retrievals.invalidate_all();
    }

    fn retrieve_slots(&self, st: &State, q: &RetrievalQuery) -> Vec<u32> {
        let f = &self.fields;
        let agency = Term::from_field_u64(f.agency, q.agency.get());
        // An agency that holds every document (the common single-agency node) narrows nothing: its term
        // would only add a dense posting list to every seek of the intersection.
        let docs: u64 = st
            .searcher
            .segment_readers()
            .iter()
            .map(|r| u64::from(r.max_doc()))
            .sum();
        let mut terms = Vec::new();
        if st.searcher.doc_freq(&agency).unwrap_or(0) < docs {
            terms.push(agency);
        }
        for s in &q.skills {
            let t = schema::skill_term(&s.name, s.min_level.get());
            terms.push(Term::from_field_text(f.skill, &t));
        }
        for l in &q.languages {
            terms.push(Term::from_field_text(f.language, l.as_str()));
        }
        for c in &q.certifications {
            terms.push(Term::from_field_text(f.certification, c.as_str()));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() + 1);
        for t in &terms {
            must(&mut clauses, t.clone());
        }
        clauses.push((
            Occur::Must,
            Box::new(ReachQuery {
                field: f.reach,
                terms: self.reach_terms(q.center, q.radius_km),
                lead: terms,
            }),
        ));
        let check = Check {
            near: Some((q.center, q.radius_km)),
            travel: true,
            min_rating: q.min_rating,
            after: None,
        };
        let need = q.shift.as_ref().map(hours::shift_slots);
        Self::run(st, BooleanQuery::new(clauses), check)
            .into_iter()
            .map(|(_, s)| s)
            .filter(|&s| {
                need.is_none_or(|need| {
                    st.roster
                        .hours
                        .get(s as usize)
                        .is_some_and(|h| h.contains(&need))
                })
            })
            .collect()
    }

    /// The reach terms of a venue and radius, sorted, from a small cache: the same venues come back order
    /// after order, and computing the disks of every travel band is a good part of a query.
    fn reach_terms(&self, center: LatLon, radius_km: f64) -> Arc<[u64]> {
        let key = (
            center.lat().to_bits(),
            center.lon().to_bits(),
            radius_km.to_bits(),
        );
        if let Some(t) = self
            .reach_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Arc::clone(t);
        }
        let mut terms = cells::reach_terms(center, radius_km);
        terms.sort_unstable();
        terms.dedup();
        let terms: Arc<[u64]> = terms.into();
        let mut cache = self.reach_cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= REACH_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&terms));
        terms
    }

    /// Ids of the agency's workers that match all the given criteria, sorted, above the cursor, at most
    /// `limit` of them.
    pub fn search(&self, q: &SearchQuery) -> Vec<WorkerId> {
        let f = &self.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        must(&mut clauses, Term::from_field_u64(f.agency, q.agency.get()));
        if let Some(text) = &q.text {
            for word in self.words(text) {
                must(&mut clauses, Term::from_field_text(f.text, &word));
            }
        }
        if let Some(skill) = &q.skill {
            must(
                &mut clauses,
                Term::from_field_text(f.skill, &schema::skill_term(skill, 1)),
            );
        }
        if let Some((center, radius)) = q.near {
            let terms = cells::search_cells(center, radius);
            clauses.push((
                Occur::Must,
                Box::new(TermSetQuery::new(
                    terms.into_iter().map(|c| Term::from_field_u64(f.cell, c)),
                )),
            ));
        }
        let check = Check {
            near: q.near,
            travel: false,
            min_rating: None,
            after: q.after.map(WorkerId::get),
        };
        let st = self.read_state();
        let mut ids: Vec<WorkerId> = Self::run(&st, BooleanQuery::new(clauses), check)
            .into_iter()
            .filter(|&(_, s)| st.roster.slots.get(s as usize).is_some_and(Option::is_some))
            .map(|(id, _)| WorkerId::new(id))
            .collect();
        drop(st);
        ids.truncate(q.limit);
        ids
    }

    /// The words of a search text, as the text field's tokenizer makes them.
    fn words(&self, text: &str) -> Vec<String> {
        let Ok(mut analyzer) = self.index.tokenizer_for_field(self.fields.text) else {
            return Vec::new();
        };
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// Runs a query against the searcher: `(worker id, slot)` of every match, sorted by id. Sorting the plain
    /// pairs, before any profile is touched, keeps the sort in cache even for a hundred thousand matches.
    fn run(st: &State, query: BooleanQuery, check: Check) -> Vec<(u64, u32)> {
        let mut found = match st.searcher.search(&query, &Candidates { check }) {
            Ok(found) => found,
            Err(e) => {
                tracing::error!(error = %e, "worker index query failed");
                return Vec::new();
            }
        };
        found.sort_unstable();
        found
    }
}
