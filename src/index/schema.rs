//! The tantivy schema of a worker document and the one function that turns a profile into a document.
//!
//! The document is lean on purpose: nothing is stored (the profile lives in the roster), terms serve the
//! hard filters, fast fields give the search collector ids and slots without touching stored fields, and
//! no field keeps norms (nothing is scored).

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};

use super::cells;
use crate::domain::{SkillName, Worker};

/// The fields of a worker document, looked up once when the schema is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The worker id: indexed so an update can delete the old document by term, fast for search order.
    pub id: tantivy::schema::Field,
    /// The position of the worker in the roster; the collector maps documents to profiles through it.
    pub slot: tantivy::schema::Field,
    /// The agency, as a raw u64 term.
    pub agency: tantivy::schema::Field,
    /// `name@level` for every level from 1 to the worker's level, so `name@3` matches level 3 and above.
    pub skill: tantivy::schema::Field,
    /// Language tags, raw.
    pub language: tantivy::schema::Field,
    /// Certifications, raw.
    pub certification: tantivy::schema::Field,
    /// The home cell and its parents, tagged with the worker's travel band (see `cells`).
    pub reach: tantivy::schema::Field,
    /// The plain home cells at the search resolutions (see `cells`).
    pub cell: tantivy::schema::Field,
    /// Name and bio, tokenized, doc ids only (no positions: searches are all-words, never phrases).
    pub text: tantivy::schema::Field,
}

/// Builds the schema and names its fields.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // No field keeps norms: nothing is ever scored, and norms cost a byte per document and field.
    let text = |tokenizer: &str| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_fieldnorms(false)
                .set_index_option(IndexRecordOption::Basic),
        )
    };
    let indexed = || NumericOptions::default().set_indexed();
    let fields = Fields {
        id: b.add_u64_field("id", indexed().set_fast()),
        slot: b.add_u64_field("slot", FAST),
        agency: b.add_u64_field("agency", indexed()),
        skill: b.add_text_field("skill", text("raw")),
        language: b.add_text_field("language", text("raw")),
        certification: b.add_text_field("certification", text("raw")),
        reach: b.add_u64_field("reach", indexed()),
        cell: b.add_u64_field("cell", indexed()),
        text: b.add_text_field("text", text("default")),
    };
    (b.build(), fields)
}

/// The indexed term for "has `name` at level `level` or above".
pub(crate) fn skill_term(name: &SkillName, level: u8) -> String {
    format!("{}@{}", name.as_str(), level)
}

/// The document of one worker at one roster slot.
pub(crate) fn document(f: &Fields, worker: &Worker, slot: u32) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_u64(f.id, worker.id.get());
    doc.add_u64(f.slot, u64::from(slot));
    doc.add_u64(f.agency, worker.agency.get());
    for s in &worker.skills {
        for level in 1..=s.level.get() {
            doc.add_text(f.skill, skill_term(&s.name, level));
        }
    }
    for l in &worker.languages {
        doc.add_text(f.language, l.as_str());
    }
    for c in &worker.certifications {
        doc.add_text(f.certification, c.as_str());
    }
    for t in cells::home_terms(worker.home, worker.max_travel_km.km()) {
        doc.add_u64(f.reach, t);
    }
    for c in cells::home_cells(worker.home) {
        doc.add_u64(f.cell, c);
    }
    doc.add_text(f.text, &worker.name);
    if !worker.bio.is_empty() {
        doc.add_text(f.text, &worker.bio);
    }
    doc
}
