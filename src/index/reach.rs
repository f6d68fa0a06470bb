//! The reach clause of retrieval: "the home is in one of these cells", as a tantivy query that costs nothing
//! when it would not narrow anything.
//!
//! tantivy's `TermSetQuery` builds an FST of the terms on every query and unions the postings of every cell
//! into a bitset. [`ReachQuery`] looks each term up directly in the segment's dictionary (no FST), adds up
//! how many documents the cells hold, and compares that with the most selective of the query's other
//! required terms (skill, language, hours...). When the cells hold nearly every document anyway — a venue in
//! the middle of a metropolis — it matches every document instead of building the bitset: the other terms
//! lead the intersection, and the collector's exact distance check on fast fields, which runs on every match
//! in any case, does what the cells would have done. Either way the result is the same superset.

use std::sync::Arc;

use tantivy::query::{
    AllScorer, BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{BitSet, DocId, DocSet, Score, SegmentReader, TantivyError, Term};

/// How much more a document costs in the collector's distance check than in the bitset union (decoding a
/// posting and setting a bit); the cells are skipped when unioning them costs more than checking the extra
/// documents their absence lets through.
const COLLECTOR_COST: u64 = 12;

/// Documents whose reach term is one of `terms`, or every document when the cells would not narrow the
/// intersection with `lead` (see the module doc).
#[derive(Debug, Clone)]
pub(crate) struct ReachQuery {
    /// The reach field.
    pub field: Field,
    /// The reach terms, as u64 values.
    pub terms: Arc<[u64]>,
    /// The other required terms of the query, whose rarest bounds the intersection.
    pub lead: Vec<Term>,
}

impl Query for ReachQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ReachWeight(self.clone())))
    }
}

struct ReachWeight(ReachQuery);

impl ReachWeight {
    /// Whether the cells are worth a bitset in this segment: they hold `total` documents, the rarest other
    /// term `lead`. Skipping lets through about `lead × (1 − total / max_doc)` documents outside the cells.
    fn narrows(total: u64, lead: u64, max_doc: u64) -> bool {
        let max_doc = max_doc.max(1);
        let outside =
            u128::from(lead) * u128::from(max_doc.saturating_sub(total)) / u128::from(max_doc);
        u128::from(total) <= outside * u128::from(COLLECTOR_COST)
    }
}

impl Weight for ReachWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let q = &self.0;
        let max_doc = reader.max_doc();
        let inverted = reader.inverted_index(q.field)?;
        let mut infos = Vec::with_capacity(q.terms.len());
        let mut total = 0u64;
        for &t in q.terms.iter() {
            if let Some(info) = inverted.get_term_info(&Term::from_field_u64(q.field, t))? {
                total += u64::from(info.doc_freq);
                infos.push(info);
            }
        }
        let mut lead = u64::from(max_doc);
        for term in &q.lead {
            lead = lead.min(u64::from(
                reader.inverted_index(term.field())?.doc_freq(term)?,
            ));
        }
        if !Self::narrows(total, lead, u64::from(max_doc)) {
            return Ok(Box::new(ConstScorer::new(AllScorer::new(max_doc), boost)));
        }
        let mut bits = BitSet::with_max_value(max_doc);
        for info in &infos {
            let mut block =
                inverted.read_block_postings_from_terminfo(info, IndexRecordOption::Basic)?;
            loop {
                let docs = block.docs();
                if docs.is_empty() {
                    break;
                }
                for &doc in docs {
                    bits.insert(doc);
                }
                block.advance();
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(bits), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) == doc {
            Ok(Explanation::new("reach", 1.0))
        } else {
            Err(TantivyError::InvalidArgument(format!(
                "document {doc} is not within reach"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_holding_nearly_every_document_are_skipped_and_a_few_cells_are_not() {
        // A metropolis: the cells hold 95% of a million documents, the skill 200,000.
        assert!(!ReachWeight::narrows(950_000, 200_000, 1_000_000));
        // A city in a country: the cells hold 60,000, the skill 200,000.
        assert!(ReachWeight::narrows(60_000, 200_000, 1_000_000));
        // A rare certification leads: 500 documents, not worth unioning 300,000 cells' postings.
        assert!(!ReachWeight::narrows(300_000, 500, 1_000_000));
        // An empty segment.
        assert!(ReachWeight::narrows(0, 0, 0));
    }
}
