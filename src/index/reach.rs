//! The reach step of retrieval: "the home is in one of these cells" as a dense set of one segment's
//! documents, or nothing when the cells would not narrow anything.
//!
//! The cells' documents are found through the segment's reach-term table (a hash probe per cell of the disk,
//! most cells of a disk holding nobody; see `segments.rs`) and counted first: how many documents the cells hold is compared with
//! the most selective required term (skill, language, certification). When the cells hold nearly every
//! document anyway — a venue in the middle of a metropolis — the union is not made: the required terms lead,
//! and the exact distance check on each remaining document's card, which runs in any case, does what the cells
//! would have done. Either way the result is the same superset.

use super::bits::Bits;
use super::segments::{ReachDocs, SegmentAux};

/// How much more a document costs in the card check than in the union of the cells' postings (decoding a
/// posting and setting a bit); the cells are skipped when unioning them costs more than checking the extra
/// documents their absence lets through.
const CHECK_COST: u64 = 4;

/// Whether the cells are worth a union in this segment: they hold `total` documents, the rarest required term
/// `lead`. Skipping lets through about `lead × (1 − total / max_doc)` documents outside the cells.
fn narrows(total: u64, lead: u64, max_doc: u64) -> bool {
    let max_doc = max_doc.max(1);
    let outside =
        u128::from(lead) * u128::from(max_doc.saturating_sub(total)) / u128::from(max_doc);
    u128::from(total) <= outside * u128::from(CHECK_COST)
}

/// The documents of the segment whose reach term is one of `terms`, or `None` when that would not narrow the
/// required terms, whose rarest holds `lead` documents.
pub(crate) fn cells(aux: &SegmentAux, max_doc: u32, terms: &[u64], lead: u64) -> Option<Bits> {
    let lists: Vec<ReachDocs<'_>> = terms.iter().filter_map(|&t| aux.reach_docs(t)).collect();
    let total: u64 = lists.iter().map(ReachDocs::len).sum();
    if !narrows(total, lead, u64::from(max_doc)) {
        return None;
    }
    let mut bits = Bits::empty(max_doc);
    for docs in lists {
        match docs {
            ReachDocs::Run(a, b) => bits.insert_range(a, b),
            ReachDocs::List(d) => bits.insert_all(d),
        }
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_holding_nearly_every_document_are_skipped_and_a_few_cells_are_not() {
        // A metropolis: the cells hold 95% of a million documents, the skill 200,000.
        assert!(!narrows(950_000, 200_000, 1_000_000));
        // A city in a country: the cells hold 60,000, the skill 200,000.
        assert!(narrows(60_000, 200_000, 1_000_000));
        // A rare certification leads: 500 documents, not worth unioning 300,000 cells' postings.
        assert!(!narrows(300_000, 500, 1_000_000));
        // An empty segment.
        assert!(narrows(0, 0, 0));
    }
}
