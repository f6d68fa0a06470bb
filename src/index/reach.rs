//! The reach step of retrieval: "the home is in one of these cells" as a dense set of one segment's
//! documents, or nothing when the cells would not narrow anything.
//!
//! The cells' documents are found through the segment's reach-term table (a hash probe per cell of the disk,
//! most cells of a disk holding nobody; see `segments.rs`). What writing their union costs (a few words per
//! run of a bulk-built segment, a write per document of a list) is compared with what it saves: the documents
//! of the most selective required term (skill, language, certification) outside the cells, each of which would
//! otherwise be checked on its card. When the union would not pay — cells holding nearly every document of an
//! updated segment, or a rare certification leading — it is not made, and the card check, which runs in any
//! case, does what the cells would have done. Either way the result is the same superset.

use super::bits::Bits;
use super::segments::{ReachDocs, SegmentAux};

/// How much more a document costs in the card check than a word written by the union of the cells (a run of
/// documents fills whole words; a list of them costs a write per document).
const CHECK_COST: u64 = 4;

/// What writing one more run costs beside its words, in words.
const RUN_COST: u64 = 4;

/// Whether the cells are worth a union in this segment: writing it costs `union` words, the cells hold
/// `total` documents and the rarest required term `lead`. Skipping lets through about
/// `lead × (1 − total / max_doc)` documents outside the cells, each checked on its card.
fn narrows(union: u64, total: u64, lead: u64, max_doc: u64) -> bool {
    let max_doc = max_doc.max(1);
    let outside =
        u128::from(lead) * u128::from(max_doc.saturating_sub(total)) / u128::from(max_doc);
    u128::from(union) <= outside * u128::from(CHECK_COST)
}

/// The documents of the segment whose reach term is one of `terms`, or `None` when that would not narrow the
/// required terms, whose rarest holds `lead` documents.
pub(crate) fn cells(aux: &SegmentAux, max_doc: u32, terms: &[u64], lead: u64) -> Option<Bits> {
    let lists: Vec<ReachDocs<'_>> = terms.iter().filter_map(|&t| aux.reach_docs(t)).collect();
    let total: u64 = lists.iter().map(ReachDocs::len).sum();
    let union: u64 = lists
        .iter()
        .map(|d| match d {
            ReachDocs::Run(a, b) => u64::from(b - a) / 64 + RUN_COST,
            ReachDocs::List(d) => d.len() as u64,
        })
        .sum();
    if !narrows(union, total, lead, u64::from(max_doc)) {
        return None;
    }
    let mut bits = Bits::empty(max_doc);
    let mut runs = Vec::with_capacity(lists.len());
    for docs in lists {
        match docs {
            ReachDocs::Run(a, b) => {
                bits.insert_range(a, b);
                if a < b {
                    runs.push((a as usize / 64, (b as usize - 1) / 64 + 1));
                }
            }
            ReachDocs::List(d) => {
                bits.insert_all(d);
                // The list is sorted: neighbouring documents share a run of words.
                for &x in d {
                    let w = x as usize / 64;
                    match runs.last_mut() {
                        Some((start, end)) if *start <= w && w <= *end => *end = w + 1,
                        _ => runs.push((w, w + 1)),
                    }
                }
            }
        }
    }
    bits.set_runs(runs);
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_skipped_when_writing_them_costs_more_than_checking_what_they_would_drop() {
        // A metropolis in lists (an updated segment): the cells hold 95% of a million documents, the skill
        // 200,000; writing 950,000 documents one by one costs more than checking 10,000 more cards.
        assert!(!narrows(950_000, 950_000, 200_000, 1_000_000));
        // The same cells as runs of a bulk-built segment: about 15,000 words, worth it.
        assert!(narrows(15_000, 950_000, 200_000, 1_000_000));
        // A city in a country: the cells hold 60,000, the skill 200,000.
        assert!(narrows(60_000, 60_000, 200_000, 1_000_000));
        // A rare certification leads: 500 documents, not worth unioning 300,000 cells' documents.
        assert!(!narrows(300_000, 300_000, 500, 1_000_000));
        // An empty segment.
        assert!(narrows(0, 0, 0, 0));
    }
}
