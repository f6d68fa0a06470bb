//! What retrieval keeps beside each tantivy segment: the roster slot of every document, the posting
//! addresses of the segment's reach terms, and the dense sets of the required terms queries ask for.
//!
//! Segments are immutable, so all of it is made once per segment and reused by every searcher that holds the
//! segment (kept by [`SegmentId`] across searchers); a profile write adds a small segment and pays only for it.
//! Deletions do not change a segment's documents, only its alive set, which retrieval reads from the
//! segment reader of the current searcher.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::index::SegmentId;
use tantivy::postings::TermInfo;
use tantivy::schema::IndexRecordOption;
use tantivy::{InvertedIndexReader, Searcher, SegmentReader, Term};

use super::bits::Bits;
use super::schema::Fields;

/// How many dense term sets a segment keeps before it starts over (a few skills at a few levels, languages
/// and certifications are what queries ask for; this only bounds a pathological mix).
const MAX_TERM_SETS: usize = 512;

/// A required term of one segment as a dense set, with how many documents hold it.
pub(crate) type TermSet = (Arc<Bits>, u32);

/// Retrieval's companion of one segment.
pub(crate) struct SegmentAux {
    id: SegmentId,
    /// The roster slot of each document, by document id.
    pub(crate) slots: Vec<u32>,
    /// Where the postings of each reach term of the segment are, by the term's u64 value: a query's disk
    /// asks for hundreds of cells, most of them empty, and a hash probe answers each without the dictionary.
    pub(crate) reach: HashMap<u64, TermInfo>,
    /// Dense sets of the required terms met so far (`None`: the segment has no such term).
    terms: Mutex<HashMap<Term, Option<TermSet>>>,
}

impl SegmentAux {
    fn build(reader: &SegmentReader, fields: &Fields) -> tantivy::Result<Self> {
        let column = reader.fast_fields().u64("slot")?;
        let slots = (0..reader.max_doc())
            .map(|doc| column.first(doc).map_or(u32::MAX, |s| s as u32))
            .collect();
        let inverted = reader.inverted_index(fields.reach)?;
        let mut reach = HashMap::new();
        let mut stream = inverted.terms().stream()?;
        while stream.advance() {
            if let Ok(bytes) = <[u8; 8]>::try_from(stream.key()) {
                reach.insert(u64::from_be_bytes(bytes), stream.value().clone());
            }
        }
        Ok(Self {
            id: reader.segment_id(),
            slots,
            reach,
            terms: Mutex::default(),
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
                add_postings(&inverted, &info, &mut bits)?;
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

/// Adds the documents of one term's postings to a set.
pub(crate) fn add_postings(
    inverted: &InvertedIndexReader,
    info: &TermInfo,
    bits: &mut Bits,
) -> std::io::Result<()> {
    let mut block = inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
    loop {
        let docs = block.docs();
        if docs.is_empty() {
            return Ok(());
        }
        bits.insert_all(docs);
        block.advance();
    }
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
