//! What retrieval keeps beside each tantivy segment: the roster slot of every document, the documents of each
//! reach term (a run of ids, or a list), the dense sets of the required terms queries ask for, and the dense
//! sets of the documents by hour of the week.
//!
//! Segments are immutable, so all of it is made once per segment and reused by every searcher that holds the
//! segment (kept by [`SegmentId`] across searchers); a profile write adds a small segment and pays only for it.
//! Deletions do not change a segment's documents, only its alive set, which retrieval reads from the
//! segment reader of the current searcher.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use tantivy::index::SegmentId;
use tantivy::postings::TermInfo;
use tantivy::schema::IndexRecordOption;
use tantivy::{InvertedIndexReader, Searcher, SegmentReader, Term};

use super::bits::Bits;
use super::hours;
use super::schema::Fields;
use crate::domain::Worker;

/// How many dense term sets a segment keeps before it starts over (a few skills at a few levels, languages
/// and certifications are what queries ask for; this only bounds a pathological mix).
const MAX_TERM_SETS: usize = 512;

/// A required term of one segment as a dense set, with how many documents hold it.
pub(crate) type TermSet = (Arc<Bits>, u32);

/// Where a reach term's documents are.
#[derive(Debug, Clone, Copy)]
enum Docs {
    /// The run of document ids `.0..1`.
    Run(u32, u32),
    /// The ids in `reach_docs[.0...1]`.
    List(u32, u32),
}

/// A reach term's documents.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReachDocs<'a> {
    /// The run of document ids `.0..1`.
    Run(u32, u32),
    /// These ids.
    List(&'a [u32]),
}

impl ReachDocs<'_> {
    /// How many documents.
    pub(crate) fn len(&self) -> u64 {
        match self {
            ReachDocs::Run(a, b) => u64::from(b - a),
            ReachDocs::List(d) => d.len() as u64,
        }
    }
}

/// Retrieval's companion of one segment.
pub(crate) struct SegmentAux {
    id: SegmentId,
    /// The roster slot of each document, by document id.
    pub(crate) slots: Vec<u32>,
    /// The documents of each reach term of the segment, by the term's u64 value: a query's disk asks for
    /// hundreds of cells, most of them empty, and a hash probe answers each without the dictionary; the
    /// postings are decoded once here rather than at every query, and hashed fast (SipHash took most of the
    /// probes' time). In a bulk-built segment, stored by travel band and then along H3's hierarchy, every
    /// reach term's documents are one run of ids.
    reach: HashMap<u64, Docs, foldhash::fast::RandomState>,
    /// The documents of the reach terms that are not one run, term after term.
    reach_docs: Vec<u32>,
    /// Dense sets of the required terms met so far (`None`: the segment has no such term).
    terms: Mutex<HashMap<Term, Option<TermSet>>>,
    /// For each UTC hour of the week, the documents whose worker may be available in it (from the cards,
    /// see `hours.rs`), made at the first query that needs them: a shift's hours are intersected like terms,
    /// so the workers who cannot be available never reach the card check.
    hours: OnceLock<Vec<Bits>>,
}

impl SegmentAux {
    fn build(reader: &SegmentReader, fields: &Fields) -> tantivy::Result<Self> {
        let column = reader.fast_fields().u64("slot")?;
        let slots = (0..reader.max_doc())
            .map(|doc| column.first(doc).map_or(u32::MAX, |s| s as u32))
            .collect();
        let inverted = reader.inverted_index(fields.reach)?;
        let mut reach = HashMap::default();
        let mut reach_docs = Vec::new();
        let mut stream = inverted.terms().stream()?;
        while stream.advance() {
            let Ok(bytes) = <[u8; 8]>::try_from(stream.key()) else {
                continue;
            };
            let start = reach_docs.len();
            for_each_block(&inverted, stream.value(), |d| {
                reach_docs.extend_from_slice(d)
            })?;
            let docs = &reach_docs[start..];
            let (Some(&first), Some(&last)) = (docs.first(), docs.last()) else {
                continue;
            };
            let entry = if (last - first) as usize + 1 == docs.len() {
                reach_docs.truncate(start);
                Docs::Run(first, last + 1)
            } else {
                Docs::List(start as u32, reach_docs.len() as u32)
            };
            reach.insert(u64::from_be_bytes(bytes), entry);
        }
        reach_docs.shrink_to_fit();
        Ok(Self {
            id: reader.segment_id(),
            slots,
            reach,
            reach_docs,
            terms: Mutex::default(),
            hours: OnceLock::new(),
        })
    }

    /// The documents of a reach term in this segment, if any home is in that cell.
    pub(crate) fn reach_docs(&self, term: u64) -> Option<ReachDocs<'_>> {
        self.reach.get(&term).map(|d| match *d {
            Docs::Run(a, b) => ReachDocs::Run(a, b),
            Docs::List(a, b) => ReachDocs::List(&self.reach_docs[a as usize..b as usize]),
        })
    }

    /// The sets of documents by hour of the week, made from the profiles at the documents' slots on first
    /// use (`hours::worker_slots`, on every core for a big segment). A live document's hours never change (a
    /// profile write that changes availability makes a new document), so the sets stay right for as long as
    /// the segment lives; a deleted document's bits do not matter.
    pub(crate) fn hour_sets(&self, profiles: &[Option<Arc<Worker>>]) -> &[Bits] {
        self.hours.get_or_init(|| {
            let max_doc = self.slots.len() as u32;
            let of = |slot: u32| {
                profiles
                    .get(slot as usize)
                    .and_then(Option::as_ref)
                    .map(|w| hours::worker_slots(&w.availability))
            };
            let by_doc: Vec<Option<hours::Slots>> = if self.slots.len() >= 1 << 14 {
                self.slots.par_iter().map(|&s| of(s)).collect()
            } else {
                self.slots.iter().map(|&s| of(s)).collect()
            };
            let mut sets = vec![Bits::empty(max_doc); hours::SLOTS];
            for (doc, h) in by_doc.iter().enumerate() {
                if let Some(h) = h {
                    h.for_each(|h| sets[h].insert(doc as u32));
                }
            }
            sets
        })
    }

    /// The dense set of a required term in this segment, made from its postings on first use; `None` when no
    /// document of the segment has the term.
    pub(crate) fn term_set(
        &self,
        reader: &SegmentReader,
        term: &Term,
    ) -> tantivy::Result<Option<TermSet>> {
        if let Some(found) = self
            .terms
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(term)
        {
            return Ok(found.clone());
        }
        // Made outside the lock: two queries meeting a new term at once both make it, and one copy stays.
        let inverted = reader.inverted_index(term.field())?;
        let made = match inverted.get_term_info(term)? {
            Some(info) => {
                let mut bits = Bits::empty(reader.max_doc());
                for_each_block(&inverted, &info, |d| bits.insert_all(d))?;
                Some((Arc::new(bits), info.doc_freq))
            }
            None => None,
        };
        let mut terms = self.terms.lock().unwrap_or_else(|e| e.into_inner());
        if terms.len() >= MAX_TERM_SETS {
            terms.clear();
        }
        terms.insert(term.clone(), made.clone());
        Ok(made)
    }
}

/// Calls `f` with each block of one term's postings, in document order.
fn for_each_block(
    inverted: &InvertedIndexReader,
    info: &TermInfo,
    mut f: impl FnMut(&[u32]),
) -> std::io::Result<()> {
    let mut block = inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
    while !block.docs().is_empty() {
        f(block.docs());
        block.advance();
    }
    Ok(())
}

/// The companions of a searcher's segments, in the searcher's segment order: those of segments `previous`
/// already had are reused, the others made.
pub(crate) fn for_searcher(
    searcher: &Searcher,
    fields: &Fields,
    previous: &[Arc<SegmentAux>],
) -> tantivy::Result<Vec<Arc<SegmentAux>>> {
    searcher
        .segment_readers()
        .iter()
        .map(
            |reader| match previous.iter().find(|a| a.id == reader.segment_id()) {
                Some(kept) => Ok(Arc::clone(kept)),
                None => SegmentAux::build(reader, fields).map(Arc::new),
            },
        )
        .collect()
}
