//! The worker index: narrows up to a million worker profiles to the few thousand worth checking for one role.
//!
//! Layout:
//! - `schema.rs`: the tantivy fields of a worker document, and how a profile becomes one;
//! - `cells.rs`: the H3 cells a home is indexed under, the cell disk a radius asks for, and the order a bulk
//!   build stores workers in;
//! - `hours.rs`: the UTC hours of the week a worker may be available in (a mask on its card) and the hours a
//!   shift touches;
//! - `card.rs`: what retrieval checks of each worker after the term sets, one cache line per slot;
//! - `bits.rs`: dense sets of a segment's document ids, intersected word by word;
//! - `segments.rs`: what retrieval keeps per segment (slots, reach terms' documents, term sets), made once;
//! - `write.rs`: the write path (bulk build, upsert, remove), one commit per call;
//! - `reach.rs`: the union of the reach cells, made only when it narrows the required terms;
//! - `read.rs`: the read path (candidate retrieval for matching, search for the API);
//! - `tests.rs`: behaviour tests, including a brute-force haversine oracle.
//!
//! The profiles themselves live in a *roster* beside tantivy: a vector of `Arc<Worker>` (bio dropped) indexed
//! by a *slot* that each document carries as a fast field. Tantivy finds documents; the roster turns them into
//! profiles without fetching stored fields. The searcher and the roster are swapped together under one lock,
//! so a query never pairs a document with the wrong profile: a document deleted by an update or a removal is
//! no longer alive in the searcher that comes with the roster in which its slot changed hands.
//!
//! Beside each profile the roster keeps its card (`card.rs`), and beside each segment of the searcher its
//! companion (`segments.rs`); both are swapped with the searcher and the roster.
//!
//! What changes every minute (bookings, hours, on-call, suspensions) does not live here; matching checks it.

mod bits;
mod card;
mod cells;
mod hours;
mod reach;
mod read;
mod schema;
mod segments;
mod write;

#[cfg(test)]
mod tests;

pub use read::Retrieved;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use tantivy::{Index, IndexReader, IndexWriter, Searcher};

use crate::domain::{
    AgencyId, Certification, Interval, Language, LatLon, SkillName, SkillReq, Worker, WorkerId,
};

/// The in-memory index of worker profiles that matching and search ask for candidates.
///
/// It is `Send + Sync`: reads run concurrently; writes are serialized behind the writer's mutex, and each write
/// is visible to reads when it returns.
pub struct WorkerIndex {
    index: Index,
    fields: schema::Fields,
    reader: IndexReader,
    writer: Mutex<WriteSide>,
    state: RwLock<State>,
    /// Reach terms by (venue latitude, longitude, radius) bits, for retrieval.
    reach_cache: Mutex<HashMap<ReachKey, Arc<[u64]>>>,
    /// Retrieved slots by (searcher generation, query): dispatch asks for the same role again after every
    /// answer to an offer, and until a profile's terms change (a new searcher) the answer is the same. The
    /// profiles themselves are read from the roster at each call, so counters and statuses are current.
    retrievals: moka::sync::Cache<String, Arc<Vec<read::Hit>>>,
    /// Whether retrievals are remembered (on unless a benchmark measures the cold path).
    remember: std::sync::atomic::AtomicBool,
}

/// How many retrieved slots the retrieval cache keeps, over all its entries.
const RETRIEVAL_CACHE_SLOTS: u64 = 4_000_000;

/// A venue and radius as the bits of latitude, longitude and radius, the key of the reach-term cache.
type ReachKey = (u64, u64, u64);

/// The writer and the slot allocation, which only writes touch.
struct WriteSide {
    writer: IndexWriter,
    /// Slots freed by removals, reused by new workers.
    free: Vec<u32>,
    /// The first slot never used.
    next_slot: u32,
}

/// What a query needs at once: a searcher and the roster its slots point into.
struct State {
    searcher: Searcher,
    /// Retrieval's companion of each of the searcher's segments, in the same order (see `segments.rs`).
    segments: Vec<Arc<segments::SegmentAux>>,
    /// Bumped with every new searcher: a retrieval remembered under an older generation is stale.
    generation: u64,
    roster: Roster,
}

/// The profiles, by slot, and the bookkeeping around them.
#[derive(Default)]
struct Roster {
    /// Profiles by slot; `None` for a slot freed by a removal.
    slots: Vec<Option<Arc<Worker>>>,
    /// Slot of each worker.
    by_id: HashMap<WorkerId, u32>,
    /// What retrieval checks of each slot's worker, packed in one line of memory: the documents left after
    /// the term sets are checked against their cards, never against the profiles or tantivy's fast fields.
    cards: Vec<card::Card>,
    /// What ranking reads of each slot's worker (`matching::Record`), one line of memory beside the card: most
    /// candidates are filtered and bounded on it without reading their profile.
    records: Vec<crate::matching::Record>,
    /// Travel limits indexed (as f64 bits, which order like the positive numbers they encode) and how many
    /// workers have each, for [`WorkerIndex::max_travel_km`].
    travel: BTreeMap<u64, u32>,
    /// The track records of each agency's indexed workers, summed, for [`WorkerIndex::history`].
    histories: HashMap<AgencyId, crate::dispatch::standby::History>,
}

/// A request for the candidates of one role: the hard filters the index can apply.
#[derive(Debug, Clone)]
pub struct RetrievalQuery {
    /// Only workers of this agency.
    pub agency: AgencyId,
    /// The venue.
    pub center: LatLon,
    /// The search radius in km; the caller passes `min(order limit, index.max_travel_km())`. Each worker's own
    /// travel limit is applied too.
    pub radius_km: f64,
    /// Every one of these skills, at least at its level.
    pub skills: Vec<SkillReq>,
    /// Every one of these languages.
    pub languages: Vec<Language>,
    /// Every one of these certifications.
    pub certifications: Vec<Certification>,
    /// A minimum average rating; unrated workers are excluded when it is above 0.
    pub min_rating: Option<f64>,
    /// The shift: only workers whose weekly windows reach into every UTC hour it touches (a superset of
    /// those whose availability covers it). `None` asks for no availability at all.
    pub shift: Option<Interval>,
}

/// A search over an agency's workers, for the API's worker list.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// Only workers of this agency.
    pub agency: AgencyId,
    /// Words that must all appear in the name or bio.
    pub text: Option<String>,
    /// A skill the worker has, at any level.
    pub skill: Option<SkillName>,
    /// A point and a radius in km the home must be within.
    pub near: Option<(LatLon, f64)>,
    /// Only workers with an id above this one (the page cursor).
    pub after: Option<WorkerId>,
    /// At most this many ids.
    pub limit: usize,
}

impl Default for WorkerIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerIndex {
    /// Reads the state, recovering it from a poisoned lock: every write leaves it consistent before it can panic.
    fn read_state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The profile as matching sees it (the bio is dropped), if the worker is indexed.
    pub fn get(&self, id: WorkerId) -> Option<Arc<Worker>> {
        let st = self.read_state();
        let slot = *st.roster.by_id.get(&id)?;
        st.roster.slots[slot as usize].clone()
    }

    /// Every indexed profile, in id order (for comparing a node's index with one rebuilt from the database).
    pub fn workers(&self) -> Vec<Arc<Worker>> {
        let st = self.read_state();
        let mut ids: Vec<(WorkerId, u32)> =
            st.roster.by_id.iter().map(|(id, s)| (*id, *s)).collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter_map(|(_, slot)| st.roster.slots[slot as usize].clone())
            .collect()
    }

    /// How many workers are indexed.
    pub fn len(&self) -> usize {
        self.read_state().roster.by_id.len()
    }

    /// The summed track records of the agency's indexed workers: the history its show-up prior is fitted to.
    pub fn history(&self, agency: AgencyId) -> crate::dispatch::standby::History {
        self.read_state()
            .roster
            .histories
            .get(&agency)
            .copied()
            .unwrap_or_default()
    }

    /// Whether no worker is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The largest travel limit of any indexed worker (0 when empty): no worker can serve a venue farther away,
    /// so it bounds the radius a query needs.
    pub fn max_travel_km(&self) -> f64 {
        self.read_state()
            .roster
            .travel
            .keys()
            .next_back()
            .map_or(0.0, |&bits| f64::from_bits(bits))
    }
}

fn internal(e: tantivy::TantivyError) -> crate::Error {
    crate::Error::Internal(format!("worker index: {e}"))
}
