//! The read path: candidate retrieval for matching and search for the API.
//!
//! Retrieval works per segment on dense sets (see `bits.rs`, `segments.rs`, `reach.rs`): the required terms
//! (agency, skills at their level, languages, certifications) and, where it narrows them, the union of the
//! reach cells around the venue, intersected word by word; each document left is then checked on its roster
//! card (exact distance within the radius and the worker's own travel limit, rating floor, hours of the
//! week) and yields its slot. Search builds one boolean query of terms and collects the matches with
//! [`Candidates`], a collector that reads fast fields only. Neither computes a score or fetches a stored field.

use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader, Term};

use super::bits::Bits;
use super::card::{Card, CardCheck, EDGE_SLACK_KM};
use super::segments::{SegmentAux, TermSet};
use super::{RetrievalQuery, SearchQuery, State, WorkerIndex, cells, hours, reach, schema};
use crate::domain::{LatLon, Worker, WorkerId};
use crate::matching::rank::{self, prefetch};
use crate::matching::share::{self, share};
use crate::matching::{Candidate, Checked, Fast, Near, Record};

/// How many documents ahead retrieval asks for the card it will check.
const CARD_PREFETCH: usize = 12;

/// From this many documents left after the term sets, their cards are checked on every core that is awake
/// (`matching::share`): the same threshold as ranking's (from a few in tests, so that they go both ways).
const PARALLEL_DOCS: usize = if cfg!(test) {
    64
} else {
    rank::SEQUENTIAL_MAX_RECORDS
};

/// Documents per chunk when the cards are checked on both cores (`matching::share`): small enough that the
/// two threads end close together.
const DOCS_CHUNK: usize = 1024;

/// How many venues and radii keep their reach terms cached; the cache starts over when full.
const REACH_CACHE_SIZE: usize = 4096;

/// The check the search collector makes on fast fields (the distance is checked on the profiles after).
#[derive(Debug, Clone, Copy, Default)]
struct Check {
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

/// One retrieved candidate: its roster slot and the bounds of its distance to the venue, worked out on its
/// card while the card is at hand.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Hit {
    slot: u32,
    near: Near,
}

/// A retrieved candidate as ranking takes it: the profile borrowed from the roster, its ranking record,
/// the bounds of its distance to the venue and what retrieval checked of it (`matching::Fast`). It
/// dereferences to the profile.
#[derive(Debug, Clone, Copy)]
pub struct Retrieved<'a> {
    /// The candidate's roster slot, read only when the profile is: a slot retrieval hands out always holds
    /// one (an emptied slot's card passes no check, see `Card::empty`).
    profile: &'a Option<Arc<Worker>>,
    record: &'a Record,
    near: Near,
    checked: &'a Checked,
}

impl Candidate for Retrieved<'_> {
    fn profile(&self) -> &Arc<Worker> {
        self.profile
            .as_ref()
            .expect("a retrieved slot holds a profile")
    }

    fn fast(&self) -> Option<Fast<'_>> {
        Some(Fast::new(self.record, self.near, self.checked))
    }
}

impl std::ops::Deref for Retrieved<'_> {
    type Target = Arc<Worker>;

    fn deref(&self) -> &Arc<Worker> {
        self.profile()
    }
}

/// What one retrieval asks of every segment.
struct Plan {
    /// The required terms (agency, skills at their level, languages, certifications).
    terms: Vec<Term>,
    /// The reach terms of the venue and radius.
    reach: Arc<[u64]>,
    /// The hours of the week the shift touches, every one of which a worker's hours must hold.
    hours: Option<hours::Slots>,
    /// The checks on each remaining document's card.
    check: CardCheck,
}

impl Plan {
    /// Adds the slots of one segment's candidates to `out`: the required terms' sets intersected word by
    /// word (with the reach cells' union when it narrows them, and the shift's hour sets), then each
    /// remaining live document checked on its card.
    fn segment(
        &self,
        reader: &SegmentReader,
        aux: &SegmentAux,
        cards: &[Card],
        profiles: &[Option<Arc<Worker>>],
        out: &mut Vec<Hit>,
    ) -> tantivy::Result<()> {
        let max_doc = reader.max_doc();
        let mut sets: Vec<TermSet> = Vec::with_capacity(self.terms.len());
        for t in &self.terms {
            match aux.term_set(reader, t)? {
                // A term every document holds (the agency of a single-agency node) narrows nothing.
                Some(set) if set.1 >= max_doc => {}
                Some(set) => sets.push(set),
                None => return Ok(()),
            }
        }
        sets.sort_by_key(|s| s.1);
        let lead = sets.first().map_or(u64::from(max_doc), |s| u64::from(s.1));
        let mut rest = sets.iter();
        let mut set = match reach::cells(aux, max_doc, &self.reach, lead) {
            Some(cells) => cells,
            None => match rest.next() {
                Some(first) => Bits::clone(&first.0),
                None => Bits::full(max_doc),
            },
        };
        for s in rest {
            set.and(&s.0);
        }
        if let Some(need) = &self.hours {
            let by_hour = aux.hour_sets(profiles);
            need.for_each(|h| set.and(&by_hour[h]));
        }
        let alive = reader.alive_bitset();
        // The documents first, then their cards, each asked for a few documents ahead: the cards of a
        // skill's holders are scattered lines of memory, and waiting for each in turn would cost most of the
        // time. Many documents (a dense venue) are listed and checked on both cores, in pieces of the set, in
        // order, unless a ranking is running already (the cores are busy with it).
        let count = set.count() as usize;
        if count >= PARALLEL_DOCS {
            // Enough to share, in the card checks below or in the ranking after: the helpers are woken now,
            // to be awake by then.
            share::wake();
        }
        out.reserve(count);
        let check = |docs: &[u32], out: &mut Vec<Hit>| {
            for (i, &doc) in docs.iter().enumerate() {
                if let Some(&ahead) = docs.get(i + CARD_PREFETCH)
                    && let Some(&s) = aux.slots.get(ahead as usize)
                {
                    prefetch(cards.as_ptr().wrapping_add(s as usize));
                }
                if alive.is_some_and(|a| a.is_deleted(doc)) {
                    continue;
                }
                let slot = aux.slots[doc as usize];
                if let Some(card) = cards.get(slot as usize)
                    && let Some(near) = self.check.near(card)
                {
                    out.push(Hit { slot, near });
                }
            }
        };
        if count < PARALLEL_DOCS || rank::busy() {
            let mut docs = Vec::with_capacity(count);
            set.for_each(|doc| docs.push(doc));
            check(&docs, out);
        } else {
            // Pieces of the set's words holding about `DOCS_CHUNK` documents each, listed and checked on
            // whichever core takes them.
            let words = set.span_words() * DOCS_CHUNK / count;
            let parts: Vec<Vec<Hit>> = share(set.pieces(words), |piece| {
                let mut docs = Vec::with_capacity(2 * DOCS_CHUNK);
                set.for_each_in(piece, |doc| docs.push(doc));
                let mut found = Vec::with_capacity(docs.len());
                check(&docs, &mut found);
                found
            });
            for p in parts {
                out.extend(p);
            }
        }
        Ok(())
    }
}

/// The key a retrieval is remembered under: the searcher's generation and every part of the query that
/// retrieval reads. The shift enters only as the UTC hours of the week it touches, all retrieval checks of
/// it, so the orders of a venue posted for the same hours week after week (a series, a regular client) share
/// one retrieval. Floats print exactly in Debug form, so equal keys mean equal retrievals.
fn retrieval_key(generation: u64, q: &RetrievalQuery) -> String {
    // Destructured, so that a field added to the query cannot be left out of the key.
    let RetrievalQuery {
        agency,
        center,
        radius_km,
        skills,
        languages,
        certifications,
        min_rating,
        shift,
    } = q;
    let hours = shift.as_ref().map(hours::shift_slots);
    format!(
        "{generation}|{agency:?}|{center:?}|{radius_km:?}|{skills:?}|{languages:?}|{certifications:?}|{min_rating:?}|{hours:?}"
    )
}

fn must(clauses: &mut Vec<(Occur, Box<dyn Query>)>, term: Term) {
    clauses.push((
        Occur::Must,
        Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
    ));
}

impl WorkerIndex {
    /// The candidates for one role, in index order (the same index gives the same order; ranking does not
    /// depend on it): a superset of the workers that pass the exact checks on agency, skills, languages,
    /// certifications, distance (the query radius and each worker's own travel limit) and rating floor, and,
    /// given a shift, of the workers whose weekly windows reach into every UTC hour it touches. Exact
    /// availability, bookings and status are left to matching.
    pub fn retrieve(&self, q: &RetrievalQuery) -> Vec<Arc<Worker>> {
        self.with_retrieved(q, |pool| {
            pool.iter().map(|c| Arc::clone(c.profile())).collect()
        })
    }

    /// Calls `f` with the candidates [`Self::retrieve`] would return, borrowed from the roster: no profile is
    /// touched before `f` reads it. Each comes with its ranking record and the bounds of its distance to the
    /// venue, for `matching::rank`. Profile writes wait until `f` returns, so `f` must not write to this index.
    pub fn with_retrieved<R>(
        &self,
        q: &RetrievalQuery,
        f: impl FnOnce(&[Retrieved<'_>]) -> R,
    ) -> R {
        let st = self.read_state();
        // Helpers woken by retrieval (see `Plan::segment`) spin until the ranking in `f` is done.
        let _query = share::Query::begin();
        let hits = self.slots_for(&st, q);
        let checked = Checked {
            center: q.center,
            skills: q.skills.clone(),
            languages: q.languages.clone(),
            certifications: q.certifications.clone(),
        };
        let mut found: Vec<Retrieved<'_>> = Vec::with_capacity(hits.len());
        // Only the addresses of each candidate's slot and record: neither is read here.
        let (slots, records) = (&st.roster.slots, &st.roster.records);
        found.extend(hits.iter().filter_map(|h| {
            let i = h.slot as usize;
            Some(Retrieved {
                profile: slots.get(i)?,
                record: records.get(i)?,
                near: h.near,
                checked: &checked,
            })
        }));
        f(&found)
    }

    /// Turns the memory of retrievals on or off (and forgets what it held): benchmarks of one role query
    /// measure the cold path, which every new order and every profile write goes through.
    pub fn remember_retrievals(&self, on: bool) {
        self.remember
            .store(on, std::sync::atomic::Ordering::Relaxed);
        self.retrievals.invalidate_all();
    }

    /// The slots of a query's candidates, from the memory of retrievals when it is on.
    fn slots_for(&self, st: &State, q: &RetrievalQuery) -> Arc<Vec<Hit>> {
        if self.remember.load(std::sync::atomic::Ordering::Relaxed) {
            let key = retrieval_key(st.generation, q);
            self.retrievals
                .get_with(key, || Arc::new(self.retrieve_slots(st, q)))
        } else {
            Arc::new(self.retrieve_slots(st, q))
        }
    }

    fn retrieve_slots(&self, st: &State, q: &RetrievalQuery) -> Vec<Hit> {
        let f = &self.fields;
        let mut terms = vec![Term::from_field_u64(f.agency, q.agency.get())];
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
        let plan = Plan {
            terms,
            reach: self.reach_terms(q.center, q.radius_km),
            hours: q.shift.as_ref().map(hours::shift_slots),
            check: CardCheck::new(q.center, q.radius_km, q.min_rating),
        };
        let mut found = Vec::new();
        for (reader, aux) in st.searcher.segment_readers().iter().zip(&st.segments) {
            if let Err(e) =
                plan.segment(reader, aux, &st.roster.cards, &st.roster.slots, &mut found)
            {
                tracing::error!(error = %e, "worker index retrieval failed");
                return Vec::new();
            }
        }
        found
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
            after: q.after.map(WorkerId::get),
        };
        let st = self.read_state();
        let mut ids: Vec<WorkerId> = Self::run(&st, BooleanQuery::new(clauses), check)
            .into_iter()
            .filter(|&(_, s)| {
                st.roster
                    .slots
                    .get(s as usize)
                    .and_then(Option::as_ref)
                    .is_some_and(|w| {
                        // The same haversine as matching, with the same slack for a home exactly at the edge.
                        q.near.is_none_or(|(center, radius)| {
                            center.distance_km(w.home) <= radius + EDGE_SLACK_KM
                        })
                    })
            })
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
