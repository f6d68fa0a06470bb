//! The write path: bulk build, upsert and remove. Every call ends with one commit, a reader reload and the
//! swap of searcher and roster together, so what it wrote is visible to reads when it returns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use rayon::prelude::*;
use tantivy::indexer::NoMergePolicy;
use tantivy::{Index, IndexWriter, ReloadPolicy, Searcher, Term};

use super::{Roster, State, WorkerIndex, WriteSide, card::Card, cells, internal, schema, segments};
use crate::domain::{Worker, WorkerId};
use crate::matching::Record;

/// Memory for the indexing thread of a bulk build: large enough for a million workers to end up in one segment.
const BULK_MEMORY: usize = 1_200_000_000;
/// Indexing threads of a bulk build: one, so the whole build is one segment in slot order (each reach term's
/// documents one run, one set of per-segment work per query); the documents themselves are made in parallel.
const BULK_THREADS: usize = 1;
/// Documents made at once in a bulk build before they are handed to the indexing thread.
const BULK_BATCH: usize = 16_384;
/// Memory of the long-lived writer that takes upserts (small batches).
const UPSERT_MEMORY: usize = 40_000_000;

/// The copy of a profile the roster keeps: matching never reads the bio, which is only searched.
fn lean(mut w: Worker) -> Arc<Worker> {
    w.bio = String::new();
    Arc::new(w)
}

impl Roster {
    /// Puts a profile at a slot, replacing what was there.
    fn put(&mut self, slot: u32, w: Arc<Worker>) {
        let i = slot as usize;
        let card = Card::new(&w);
        let record = Record::new(&w);
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
            // Slots skipped over hold no document, so their cards and records are never read.
            self.cards.resize(i + 1, card);
            self.records.resize(i + 1, record);
        }
        self.cards[i] = card;
        self.records[i] = record;
        if let Some(old) = self.slots[i].take() {
            self.forget_travel(old.max_travel_km.km());
            self.count_attendance(&old, false);
        }
        *self
            .travel
            .entry(w.max_travel_km.km().to_bits())
            .or_default() += 1;
        self.count_attendance(&w, true);
        self.by_id.insert(w.id, slot);
        self.slots[i] = Some(w);
    }

    /// Empties a slot.
    fn clear(&mut self, slot: u32) {
        let i = slot as usize;
        self.cards[i] = self.cards[i].empty();
        if let Some(old) = self.slots[i].take() {
            self.by_id.remove(&old.id);
            self.forget_travel(old.max_travel_km.km());
            self.count_attendance(&old, false);
        }
    }

    /// Adds a worker's record to their agency's history, or takes it away.
    fn count_attendance(&mut self, w: &Worker, add: bool) {
        let h = self.histories.entry(w.agency).or_default();
        if add {
            h.add(&w.stats);
        } else {
            h.remove(&w.stats);
        }
    }

    fn forget_travel(&mut self, km: f64) {
        if let Some(n) = self.travel.get_mut(&km.to_bits()) {
            *n -= 1;
            if *n == 0 {
                self.travel.remove(&km.to_bits());
            }
        }
    }
}

impl WorkerIndex {
    /// An empty index in RAM.
    pub fn new() -> Self {
        let (schema, fields) = schema::build();
        Self::assemble(Index::create_in_ram(schema), fields, Roster::default())
            .expect("an empty index in RAM opens")
    }

    /// Builds the index of many workers at once: several indexing threads, one commit. Later entries win over
    /// earlier ones with the same id.
    pub fn bulk_build(workers: Vec<Worker>) -> crate::Result<Self> {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        let mut last: HashMap<WorkerId, usize> = HashMap::with_capacity(workers.len());
        for (i, w) in workers.iter().enumerate() {
            last.insert(w.id, i);
        }
        let mut kept: Vec<Worker> = workers
            .into_iter()
            .enumerate()
            .filter(|(i, w)| last[&w.id] == *i)
            .map(|(_, w)| w)
            .collect();
        drop(last);
        // Workers are stored by travel band, then along H3's hierarchy: every reach term's documents are then
        // one run of ids (a cell of a band holds a run of the finer cells under it), which retrieval adds to
        // its set as a run of words, and neighbours in space get neighbouring slots, so the cards retrieval
        // checks lie close together in memory.
        kept.par_sort_by_cached_key(|w| cells::order_key(w.home, w.max_travel_km.km()));
        let mut writer: IndexWriter = index
            .writer_with_num_threads(BULK_THREADS, BULK_MEMORY)
            .map_err(internal)?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
        // Documents are made in parallel a batch at a time and handed to the indexing thread in slot order, so
        // the segment holds its documents in that order.
        for (b, batch) in kept.chunks(BULK_BATCH).enumerate() {
            let docs: Vec<_> = batch
                .par_iter()
                .enumerate()
                .map(|(i, w)| schema::document(&fields, w, (b * BULK_BATCH + i) as u32))
                .collect();
            for doc in docs {
                writer.add_document(doc).map_err(internal)?;
            }
        }
        writer.commit().map_err(internal)?;
        writer.wait_merging_threads().map_err(internal)?;
        let mut roster = Roster {
            slots: Vec::with_capacity(kept.len()),
            by_id: HashMap::with_capacity(kept.len()),
            ..Roster::default()
        };
        for (slot, w) in kept.into_iter().enumerate() {
            roster.put(slot as u32, lean(w));
        }
        let built = Self::assemble(index, fields, roster)?;
        {
            // The hour sets of the big segment are made now rather than by the first query.
            let st = built.read_state();
            for aux in &st.segments {
                aux.hour_sets(&st.roster.slots);
            }
        }
        Ok(built)
    }

    /// Opens the reader and the long-lived writer over a committed index and its roster.
    fn assemble(index: Index, fields: schema::Fields, roster: Roster) -> crate::Result<Self> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(internal)?;
        let writer: IndexWriter = index
            .writer_with_num_threads(1, UPSERT_MEMORY)
            .map_err(internal)?;
        let next_slot = roster.slots.len() as u32;
        let searcher = reader.searcher();
        let segments = segments::for_searcher(&searcher, &fields, &[]).map_err(internal)?;
        Ok(Self {
            state: RwLock::new(State {
                searcher,
                segments,
                generation: 0,
                roster,
            }),
            retrievals: moka::sync::Cache::builder()
                .weigher(|_k: &String, v: &Arc<Vec<super::read::Hit>>| {
                    v.len().min(u32::MAX as usize) as u32 + 1
                })
                .max_capacity(super::RETRIEVAL_CACHE_SLOTS)
                .build(),
            remember: std::sync::atomic::AtomicBool::new(true),
            index,
            fields,
            reader,
            reach_cache: Mutex::default(),
            writer: Mutex::new(WriteSide {
                writer,
                free: Vec::new(),
                next_slot,
            }),
        })
    }

    /// Adds a worker, or replaces the profile with the same id; visible to retrieval when it returns.
    pub fn upsert(&self, worker: Worker) -> crate::Result<()> {
        self.upsert_many(vec![worker])
    }

    /// Adds or replaces many workers with one commit (imports). Later entries win over earlier ones with the
    /// same id.
    pub fn upsert_many(&self, workers: Vec<Worker>) -> crate::Result<()> {
        if workers.is_empty() {
            return Ok(());
        }
        let mut ws = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut free = ws.free.clone();
        let mut next_slot = ws.next_slot;
        let mut planned: HashMap<WorkerId, u32> = HashMap::new();
        let mut plan = Vec::with_capacity(workers.len());
        {
            // Writes are serialized by the writer's lock, so the roster cannot change under this read.
            let st = self.read_state();
            for w in workers {
                let slot = match st.roster.by_id.get(&w.id).or_else(|| planned.get(&w.id)) {
                    Some(&slot) => slot,
                    None => {
                        let slot = free.pop().unwrap_or_else(|| {
                            next_slot += 1;
                            next_slot - 1
                        });
                        planned.insert(w.id, slot);
                        slot
                    }
                };
                // The same id always keeps the same slot, so the old document and the new one never yield two
                // profiles; deleting by id removes the old document (and an earlier one of this batch).
                ws.writer
                    .delete_term(Term::from_field_u64(self.fields.id, w.id.get()));
                let doc = schema::document(&self.fields, &w, slot);
                if let Err(e) = ws.writer.add_document(doc) {
                    drop(st);
                    let _ = ws.writer.rollback();
                    return Err(internal(e));
                }
                plan.push((slot, lean(w)));
            }
        }
        let (searcher, segs) = self.commit(&mut ws)?;
        ws.free = free;
        ws.next_slot = next_slot;
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        st.install(searcher, segs);
        for (slot, w) in plan {
            st.roster.put(slot, w);
        }
        Ok(())
    }

    /// Replaces the profiles of workers whose record or status changed but whose indexed terms did not
    /// (a completed shift, a rating, a no-show, a suspension): the roster is swapped at once, without a tantivy
    /// commit, so that attendance does not pay for a segment write per event. A worker whose skills,
    /// languages, certifications, home, travel limit or agency changed goes through [`Self::upsert_many`].
    /// The record's fast fields (rating, reliability, completed shifts) catch up at the worker's next profile
    /// write; matching reads the record from the roster, so rankings are never stale.
    pub fn update_records(&self, workers: Vec<Worker>) -> crate::Result<()> {
        let mut full = Vec::new();
        {
            let _ws = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
            for w in workers {
                let same_terms = st
                    .roster
                    .by_id
                    .get(&w.id)
                    .and_then(|slot| st.roster.slots[*slot as usize].as_ref())
                    .is_some_and(|old| {
                        old.agency == w.agency
                            && old.home == w.home
                            && old.max_travel_km == w.max_travel_km
                            && old.skills == w.skills
                            && old.languages == w.languages
                            && old.certifications == w.certifications
                            && old.availability == w.availability
                    });
                if same_terms {
                    let slot = st.roster.by_id[&w.id];
                    st.roster.put(slot, lean(w));
                } else {
                    full.push(w);
                }
            }
        }
        self.upsert_many(full)
    }

    /// Removes a worker; tells whether it was indexed. Its slot is reused only after the searcher that no
    /// longer holds its document is in place.
    pub fn remove(&self, id: WorkerId) -> crate::Result<bool> {
        let mut ws = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let Some(slot) = self.read_state().roster.by_id.get(&id).copied() else {
            return Ok(false);
        };
        ws.writer
            .delete_term(Term::from_field_u64(self.fields.id, id.get()));
        let (searcher, segs) = self.commit(&mut ws)?;
        {
            let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
            st.install(searcher, segs);
            st.roster.clear(slot);
        }
        ws.free.push(slot);
        Ok(true)
    }

    /// Commits, reloads the reader and makes the companions of the new searcher's segments (outside the state
    /// lock: reads go on meanwhile); on failure, drops what was pending so the index stays as it was.
    fn commit(
        &self,
        ws: &mut WriteSide,
    ) -> crate::Result<(Searcher, Vec<Arc<segments::SegmentAux>>)> {
        let res = ws
            .writer
            .commit()
            .and_then(|_| self.reader.reload())
            .and_then(|_| {
                let searcher = self.reader.searcher();
                let segs =
                    segments::for_searcher(&searcher, &self.fields, &self.read_state().segments)?;
                Ok((searcher, segs))
            })
            .map_err(internal);
        if res.is_err() {
            let _ = ws.writer.rollback();
        }
        res
    }
}

impl State {
    /// Puts a new searcher and its segments' companions in place; retrievals remembered under the old one
    /// are stale from now on.
    fn install(&mut self, searcher: Searcher, segments: Vec<Arc<segments::SegmentAux>>) {
        self.searcher = searcher;
        self.segments = segments;
        self.generation += 1;
    }
}
